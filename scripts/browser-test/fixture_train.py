#!/usr/bin/env python3
"""The browser tests' training stand-in: three objectives that span decades.

Speaks paretosearch's command protocol (one JSON line per epoch with a
"step" key, then the final values). Accuracy grows with width and a good
learning rate; latency and size grow with width and depth over three orders
of magnitude; a learning rate above 0.05 "diverges" (exit status 1) so the
study has failed trials, and the latency constraint makes some infeasible.
"""
import argparse, json, math, os, random, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--lr", type=float, required=True)
ap.add_argument("--width", type=int, required=True)
ap.add_argument("--layers", type=int, required=True)
ap.add_argument("--optimizer", required=True)
ap.add_argument("--momentum", default="")
ap.add_argument("--sleep", type=float, default=0.01)
a = ap.parse_args()
rng = random.Random(int(os.environ.get("PARETOSEARCH_SEED", "0")))
print(f"trial {os.environ.get('PARETOSEARCH_TRIAL')} <script>alert('not markup')</script>", file=sys.stderr)
if a.lr > 0.05:
    print("loss is NaN: diverged", file=sys.stderr)
    sys.exit(1)
best = 1e-2 if a.optimizer == "sgd" else 1e-3
penalty = (math.log10(a.lr) - math.log10(best)) ** 2 / 6
final = max(0.05, min(0.995, 0.5 + 0.45 * (1 - math.exp(-a.width * a.layers / 400)) - penalty))
acc = 0.0
# Latency and size are known from the start: reported with every epoch.
latency = 0.001 * a.width ** 1.5 * a.layers * (1 + rng.random() * 0.1)
size = 40.0 * a.width * a.width * a.layers
for epoch in range(1, 9):
    time.sleep(a.sleep)
    acc = final * (1 - math.exp(-0.6 * epoch)) + rng.gauss(0, 0.004)
    print(json.dumps({"step": epoch, "accuracy": acc, "latency_ms": latency, "size_bytes": size}), flush=True)
    print(f"epoch {epoch}: accuracy {acc:.4f}")
print(json.dumps({"accuracy": acc, "latency_ms": latency, "size_bytes": size}))
