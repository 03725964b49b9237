#!/usr/bin/env python3
"""A stand-in for a training script, speaking paretosearch's command protocol.

It "trains" for a few epochs, printing one JSON line per epoch (an
intermediate report, with a "step" key) and a final JSON line with the
objective values. Accuracy grows with width, depth and a well-chosen
learning rate; latency grows with width x depth. Needs only python3.
"""
import argparse, json, math, os, random, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--lr", type=float, required=True)
ap.add_argument("--layers", type=int, required=True)
ap.add_argument("--width", type=int, required=True)
ap.add_argument("--optimizer", required=True)
ap.add_argument("--momentum", default="")
ap.add_argument("--epochs", type=int, default=5)
ap.add_argument("--sleep", type=float, default=0.02)
a = ap.parse_args()

params = json.loads(os.environ["PARETOSEARCH_PARAMS"])
rng = random.Random(int(os.environ.get("PARETOSEARCH_SEED", "0")))
print(f"training trial {os.environ['PARETOSEARCH_TRIAL']} with {params}", file=sys.stderr)

# Best learning rate near 1e-2 for sgd, 1e-3 for adam.
best_lr = 1e-2 if a.optimizer == "sgd" else 1e-3
lr_penalty = (math.log10(a.lr) - math.log10(best_lr)) ** 2 / 8
mom = float(a.momentum) if a.momentum else 0.0
capacity = 1 - math.exp(-(a.width * a.layers) / 600)
final_acc = max(0.05, min(0.995, 0.55 + 0.42 * capacity - lr_penalty + 0.03 * mom))
for epoch in range(1, a.epochs + 1):
    time.sleep(a.sleep)
    acc = final_acc * (1 - math.exp(-1.2 * epoch)) + rng.gauss(0, 0.003)
    print(json.dumps({"step": epoch, "accuracy": acc}), flush=True)
    print(f"epoch {epoch} done")  # not JSON: kept in the trial's log
latency = 0.05 + a.layers * a.width * 2e-4 + rng.gauss(0, 0.002)
print(json.dumps({"accuracy": acc, "latency_ms": latency}))
