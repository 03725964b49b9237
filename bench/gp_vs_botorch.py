#!/usr/bin/env python3
"""Our `gp` against BoTorch's qLogNEHVI, side by side in one run (issue 14).

For every problem and seed, our sampler runs first (through the `bench`
contract of `--bin`), then `../shared/bench/botorch_mo.py` on the same
problem and seed, so both sides see the same machine load. Both are scored
as `../shared/bench/compare.py` scores them (hypervolume as a ratio to the
true front's, loose and tight reference). Prints one row per problem:
medians over the seeds, the worst seed, and the ratio of time per trial.

Usage (a venv with optuna==5.0.0, pymoo, botorch==0.18.1 and its
dependencies; torch from the project's wheel):
  PYTHONPATH=.deps/pytorch VENV/bin/python bench/gp_vs_botorch.py \
      --bin target/release/examples/quality --trials 100 --seeds 3 \
      --problems zdt1,zdt3,dtlz2 [--first-seed 0] [--jsonl runs.jsonl]
"""
import argparse, json, os, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("SHARED_BENCH", os.path.join(HERE, "..", "..", "shared", "bench"))
sys.path.insert(0, SHARED)
import compare as C  # noqa: E402


def ours(binary, problem, sampler, trials, seed):
    vals, secs = C.run_ours(binary, problem, sampler, trials, seed)
    _, _, loose, tight = C.PROBLEMS[problem]
    return {"problem": problem, "side": "paretosearch", "sampler": sampler, "seed": seed,
            "n": len(vals), "hv_loose": C.hv(vals, loose) / C.true_hv(problem, loose),
            "hv_tight": C.hv(vals, tight) / C.true_hv(problem, tight),
            "ms_per_trial": 1000 * secs / max(1, trials)}


def botorch(problem, trials, seed):
    out = subprocess.run([sys.executable, os.path.join(SHARED, "botorch_mo.py"), problem,
                          str(trials), str(seed)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/examples/quality")
    ap.add_argument("--sampler", default="gp")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--problems", default="zdt1,zdt3,dtlz2")
    ap.add_argument("--jsonl")
    a = ap.parse_args()
    rows = []
    for p in a.problems.split(","):
        for seed in range(a.first_seed, a.first_seed + a.seeds):
            for r in (ours(a.bin, p, a.sampler, a.trials, seed), botorch(p, a.trials, seed)):
                rows.append(r)
                print(json.dumps(r), file=sys.stderr, flush=True)
                if a.jsonl:
                    with open(a.jsonl, "a") as f:
                        f.write(json.dumps(r) + "\n")
    print(f"{'problem':8} {'side':13} {'loose':>8} {'tight':>8} {'worst tight':>12} {'ms/trial':>10}")
    for p in a.problems.split(","):
        med = {}
        for side in ("paretosearch", "botorch"):
            rs = [r for r in rows if r["problem"] == p and r["side"] == side]
            m = lambda k: statistics.median(r[k] for r in rs)
            med[side] = m("ms_per_trial")
            print(f"{p:8} {side:13} {m('hv_loose'):8.4f} {m('hv_tight'):8.4f} "
                  f"{min(r['hv_tight'] for r in rs):12.4f} {m('ms_per_trial'):10.1f}")
        print(f"{p:8} {'time ratio':13} {med['botorch'] / med['paretosearch']:>40.0f}x")


if __name__ == "__main__":
    main()
