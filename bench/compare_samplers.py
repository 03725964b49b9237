#!/usr/bin/env python3
"""Side by side with Optuna on problems `../shared/bench/compare.py` lacks.

compare.py knows the continuous ZDT/DTLZ2 problems and runs our samplers
with their defaults only. This script reuses its hypervolume routine
(Optuna's, computed here from the objective vectors each side reports) and
its problems, and adds:

* ``cells``  six edges of a cell, five operations each (none, skip, conv1,
  conv3, pool), interactions between edges; minimise error, latency, size
  (as ``crates/samplers/examples/quality.rs``);
* ``cells2`` the same space, error and latency only;
* ``arch``   eight categorical choices of 3-6 options each, with pairwise
  interactions from an integer hash (error, latency, size);
* ``dtlz2_5``, ``dtlz2_8`` DTLZ2 with 5 and 8 objectives (m + 3 variables,
  scored by Monte-Carlo hypervolume against the analytic true value and by
  IGD against points of the true front (the unit sphere's positive
  orthant).

For the categorical problems the true front is found by enumerating the
space; the loose reference is the true front's nadir plus 10 % of its
range, the tight one half-way between its ideal and nadir points. Our side
runs the `bench` contract (``--bin target/release/examples/quality``);
its reported choices are re-evaluated here and must give the same
objectives. A sampler may carry options: ``tpe:gamma=0.1;n_startup_trials=10``.

    python3 bench/compare_samplers.py --bin target/release/examples/quality \\
        --trials 100 --seeds 5 --problems cells,cells2,arch \\
        --ours tpe,gp --optuna tpe
"""
import argparse, itertools, json, math, os, statistics, subprocess, sys, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "shared", "bench"))
import compare as C  # noqa: E402  (../shared/bench/compare.py)

OPS = ["none", "skip", "conv1", "conv3", "pool"]
OP_ACC = [0.0, 0.25, 0.55, 0.85, 0.35]
OP_LAT = [0.0, 0.05, 0.4, 1.2, 0.2]
OP_SIZE = [0.0, 0.0, 1.0, 3.0, 0.0]
EDGE_WEIGHT = [1.0, 0.8, 0.6, 1.0, 0.7, 0.5]


def cells(o):
    score = sum(EDGE_WEIGHT[e] * OP_ACC[o[e]] for e in range(6))
    score += 0.3 * sum(1 for e in range(5) if o[e] == 3 and o[e + 1] == 1)
    if o[0] == 0 and o[1] == 0:
        score -= 0.4
    if o[2] == 4 and o[5] == 2:
        score += 0.2
    latency = sum(OP_LAT[k] for k in o)
    if o[3] == 3 and o[4] == 3:
        latency += 0.3
    return (math.exp(-score), latency, sum(OP_SIZE[k] for k in o))


ARCH_CHOICES = [3, 4, 5, 6, 3, 4, 5, 6]


def arch_hash(a, b, c):
    """A number in [0, 1) from three small integers (as quality.rs)."""
    h = (a * 73856093 ^ b * 19349663 ^ c * 83492791) & 0xFFFFFFFF
    h = (h * 2654435761) & 0xFFFFFFFF
    h ^= h >> 15
    return h / 4294967296.0


def arch(o):
    score, latency, size = 0.0, 0.0, 0.0
    for k, j in enumerate(o):
        level = j / (ARCH_CHOICES[k] - 1)
        score += 0.5 * level + 0.5 * arch_hash(k, j, 1)
        latency += level + 0.3 * arch_hash(k, j, 2)
        size += level * level
    for k in range(7):
        if arch_hash(k, o[k], 10 + o[k + 1]) > 0.8:
            score += 0.6
    return (math.exp(-score / 2.0), latency, size)


CATEGORICAL = {
    "cells": ([len(OPS)] * 6, cells),
    "cells2": ([len(OPS)] * 6, lambda o: cells(o)[:2]),
    "arch": (ARCH_CHOICES, arch),
}


def dtlz2_m(m):
    return lambda x: C.dtlz2(x, m)


MANY = {"dtlz2_5": 5, "dtlz2_8": 8}
_FRONTS = {}


def categorical_front(name):
    if name not in _FRONTS:
        sizes, fn = CATEGORICAL[name]
        vals = np.array([fn(o) for o in itertools.product(*[range(n) for n in sizes])])
        front = vals[pareto_mask(vals)]
        ideal, nadir = front.min(axis=0), front.max(axis=0)
        loose = (nadir + 0.1 * (nadir - ideal)).tolist()
        tight = (ideal + 0.5 * (nadir - ideal)).tolist()
        _FRONTS[name] = (front, loose, tight, C.hv(front.tolist(), loose), C.hv(front.tolist(), tight))
    return _FRONTS[name]


def pareto_mask(vals):
    order = np.lexsort(vals.T[::-1])
    keep = np.zeros(len(vals), dtype=bool)
    front = np.empty((0, vals.shape[1]))
    for i in order:
        v = vals[i]
        if len(front) and np.any(np.all(front <= v, axis=1) & np.any(front < v, axis=1)):
            continue
        keep[i] = True
        front = np.vstack([front, v])
    return keep


def mc_hv(points, ref, samples=400_000, seed=0):
    """Monte-Carlo hypervolume of `points` below `ref` (box [0, ref])."""
    pts = np.array([p for p in points if all(a < r for a, r in zip(p, ref))])
    if len(pts) == 0:
        return 0.0
    pts = pts[pareto_mask(pts)]
    rng = np.random.default_rng(seed)
    ref = np.array(ref)
    hit = 0
    for _ in range(samples // 20_000):
        u = rng.random((20_000, len(ref))) * ref
        dom = np.zeros(len(u), dtype=bool)
        for p in pts:
            dom |= np.all(u >= p, axis=1)
        hit += dom.sum()
    return float(np.prod(ref) * hit / samples)


def sphere_hv(m, r):
    """True DTLZ2 hypervolume for reference (r, ..., r), r >= 1."""
    ball = math.pi ** (m / 2) / math.gamma(m / 2 + 1) / 2 ** m
    return r ** m - ball


def igd_sphere(points, m, n_ref=5000, seed=1):
    rng = np.random.default_rng(seed)
    z = np.abs(rng.standard_normal((n_ref, m)))
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    pts = np.array(points)
    pts = pts[pareto_mask(pts)]
    d = np.sqrt(((z[:, None, :] - pts[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return float(d.mean())


def parse_sampler(spec):
    kind, _, opts = spec.partition(":")
    return kind, [o for o in opts.split(";") if o]


def run_ours(binary, problem, spec, trials, seed):
    kind, opts = parse_sampler(spec)
    cmd = [binary, "bench", "--problem", problem, "--sampler", kind,
           "--trials", str(trials), "--seed", str(seed)]
    for o in opts:
        cmd += ["--option", o]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rec = json.loads(out.strip().splitlines()[-1])
    if problem in CATEGORICAL:
        fn = CATEGORICAL[problem][1]
        for x, v in zip(rec["x"], rec["values"]):
            want = fn([int(a) for a in x])
            assert all(abs(a - b) < 1e-9 for a, b in zip(want, v)), (problem, x, v, want)
    return rec["values"], rec["seconds"]


def run_optuna(problem, spec, trials, seed):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    kind, opts = parse_sampler(spec)
    kwargs = {k: json.loads(v) for k, v in (o.split("=", 1) for o in opts)}
    s = {"tpe": optuna.samplers.TPESampler, "nsga2": optuna.samplers.NSGAIISampler,
         "random": optuna.samplers.RandomSampler, "gp": optuna.samplers.GPSampler}[kind]
    sampler = s(seed=seed, **kwargs)
    if problem in CATEGORICAL:
        sizes, fn = CATEGORICAL[problem]
        m = len(fn([0] * len(sizes)))
        obj = lambda t: fn([t.suggest_categorical(f"x{i}", list(range(n))) for i, n in enumerate(sizes)])
    elif problem in MANY:
        m = MANY[problem]
        n = m + 3
        obj = lambda t: C.dtlz2([t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(n)], m)
    else:
        fn, n, ref, _ = C.PROBLEMS[problem]
        m = len(ref)
        obj = lambda t: fn([t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(n)])
    st = optuna.create_study(directions=["minimize"] * m, sampler=sampler)
    t0 = time.perf_counter()
    st.optimize(obj, n_trials=trials)
    return [list(t.values) for t in st.trials if t.values is not None], time.perf_counter() - t0


def score(problem, vals):
    """(first indicator, second indicator) of one run."""
    if problem in CATEGORICAL:
        _, loose, tight, hl, ht = categorical_front(problem)
        return C.hv(vals, loose) / hl, C.hv(vals, tight) / ht
    if problem in MANY:
        m = MANY[problem]
        return mc_hv(vals, [1.1] * m) / sphere_hv(m, 1.1), igd_sphere(vals, m)
    _, _, loose, tight = C.PROBLEMS[problem]
    return C.hv(vals, loose) / C.true_hv(problem, loose), C.hv(vals, tight) / C.true_hv(problem, tight)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/examples/quality")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--problems", default="cells,cells2,arch")
    ap.add_argument("--ours", default="tpe")
    ap.add_argument("--optuna", default="tpe")
    ap.add_argument("--jsonl", help="also append every run as a JSON line here")
    a = ap.parse_args()
    rows = []
    for p in a.problems.split(","):
        for side, samplers in (("paretosearch", a.ours), ("optuna", a.optuna)):
            for s in filter(None, samplers.split(",")):
                for seed in range(a.first_seed, a.first_seed + a.seeds):
                    vals, secs = (run_ours(a.bin, p, s, a.trials, seed) if side == "paretosearch"
                                  else run_optuna(p, s, a.trials, seed))
                    first, second = score(p, vals)
                    r = {"problem": p, "side": side, "sampler": s, "seed": seed, "n": len(vals),
                         "first": first, "second": second,
                         "ms_per_trial": 1000 * secs / max(1, a.trials)}
                    rows.append(r)
                    if a.jsonl:
                        with open(a.jsonl, "a") as f:
                            f.write(json.dumps(r) + "\n")
                    print(json.dumps(r), file=sys.stderr, flush=True)
    print("indicators: HV/true loose and tight; for dtlz2_5/8 Monte-Carlo HV/true (ref 1.1) and IGD")
    print(f"{'problem':8} {'side':13} {'sampler':34} {'first':>8} {'second':>8} {'ms/trial':>9}")
    groups = {}
    for r in rows:
        groups.setdefault((r["problem"], r["side"], r["sampler"]), []).append(r)
    for (p, side, s), rs in groups.items():
        med = lambda k: statistics.median(x[k] for x in rs)
        print(f"{p:8} {side:13} {s:34} {med('first'):8.4f} {med('second'):8.4f} {med('ms_per_trial'):9.2f}")


if __name__ == "__main__":
    main()
