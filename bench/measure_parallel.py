#!/usr/bin/env python3
"""Parallel quality: the front after N trials with 1, 4 and 8 workers.

Every study goes through `paretosearch run` with the builtin runner, each
trial taking a fixed time (`[runner] delay`), so that workers overlap as
they do on real trials. For every problem, sampler, worker count and seed
it records the hypervolume of the trials' front against a fixed reference
per problem, the wall time of the run, and how many other trials were in
flight when each trial was claimed (read from the study's SQLite file);
then prints one table: the median hypervolume at W workers over the median
at 1 worker (the acceptance figure), the worst seed's own ratio, and the
medians of wall time and trials in flight.

Standard library only. Example (what `scripts/measure-parallel.sh` runs):

    python3 bench/measure_parallel.py --bin target/release/paretosearch \\
        --problems zdt1,dtlz2,mixed --samplers auto,gp,tpe,nsga2 \\
        --workers 1,4,8 --seeds 5 --trials 100

Results are cached per run in OUT/results.jsonl (keyed by problem,
sampler, workers, seed, trials and delay); `--fresh` starts over.
"""

import argparse
import concurrent.futures as cf
import json
import math
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

ZDT_SPACE = "\n".join(f'x{i} = {{ type = "float", low = 0.0, high = 1.0 }}' for i in range(10))
DTLZ2_SPACE = "\n".join(f'x{i} = {{ type = "float", low = 0.0, high = 1.0 }}' for i in range(6))
MIXED_SPACE = """x0 = { type = "float", low = 0.0, high = 1.0 }
x1 = { type = "float", low = 0.0, high = 1.0 }
x2 = { type = "float", low = 0.0, high = 1.0 }
layers = { type = "int", low = 1, high = 16 }
width = { type = "int", low = 8, high = 512, log = true }
lr = { type = "float", low = 1e-5, high = 1e-1, log = true }
act = { type = "categorical", choices = ["relu", "tanh", "gelu", "sigmoid"] }"""

# name: (objectives, search space, tight reference, loose reference,
#        hypervolume of the true front against the tight reference)
PROBLEMS = {
    # ZDT1's front f2 = 1 - sqrt(f1): 1.1^2 - (1 - 2/3) - 0 = 0.1 + 2/3 + 0.11.
    "zdt1": (2, ZDT_SPACE, [1.1, 1.1], [1.1, 11.0], 0.1 + 2.0 / 3.0 + 0.11),
    # The unit sphere's octant: 1.1^3 - pi / 6.
    "dtlz2": (3, DTLZ2_SPACE, [1.1, 1.1, 1.1], [2.5, 2.5, 2.5], 1.1**3 - math.pi / 6.0),
    # ZDT1's front behind a mixed space (crates/runner/src/problems/mixed.rs).
    "mixed": (2, MIXED_SPACE, [1.1, 1.1], [1.1, 11.0], 0.1 + 2.0 / 3.0 + 0.11),
}


def hv2(points, ref):
    """Area dominated by `points` (minimised) within the box below `ref`."""
    pts = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    area, best = 0.0, ref[1]
    # Sweeping x upwards, a point below every earlier one adds the strip
    # between its f2 and the lowest earlier f2, from its x to the reference.
    for x, y in pts:
        if y < best:
            area += (ref[0] - x) * (best - y)
            best = y
    return area


def hv3(points, ref):
    """Volume dominated by `points` within the box below `ref`: slices along f3."""
    pts = sorted((p for p in points if all(a < r for a, r in zip(p, ref))), key=lambda p: p[2])
    vol = 0.0
    for i, p in enumerate(pts):
        top = pts[i + 1][2] if i + 1 < len(pts) else ref[2]
        if top > p[2]:
            vol += hv2([q[:2] for q in pts[: i + 1]], ref[:2]) * (top - p[2])
    return vol


def hypervolume(points, ref):
    return hv2(points, ref) if len(ref) == 2 else hv3(points, ref)


def study_file(path, name, problem, sampler, workers, seed, trials, delay):
    n_obj, space, tight, _, _ = PROBLEMS[problem]
    objectives = "\n".join(
        f'[[objectives]]\nname = "f{j + 1}"\ndirection = "minimize"\n' for j in range(n_obj)
    )
    reference = ", ".join(f"f{j + 1} = {r}" for j, r in enumerate(tight))
    text = f"""# Written by bench/measure_parallel.py.
[study]
name = "{name}"
seed = {seed}
storage = "sqlite://{name}.db"

{objectives}
[search_space]
{space}

[sampler]
kind = "{sampler}"

[runner]
kind = "builtin"
problem = "{problem}"
delay = "{delay}"

[budget]
trials = {trials}
workers = {workers}

[hypervolume]
reference = {{ {reference} }}
"""
    with open(path, "w") as f:
        f.write(text)


def read_trials(db):
    con = sqlite3.connect(db)
    try:
        rows = con.execute(
            "SELECT number, state, objective_values, started_at, finished_at FROM trials"
        ).fetchall()
    finally:
        con.close()
    return rows


def in_flight(rows):
    """Mean number of other trials running when each trial was claimed."""
    spans = [(s, f) for _, _, _, s, f in rows if s is not None and f is not None]
    if not spans:
        return 0.0
    counts = [
        sum(1 for j, (s2, f2) in enumerate(spans) if j != i and s2 <= s < f2)
        for i, (s, _) in enumerate(spans)
    ]
    return sum(counts) / len(counts)


def run_one(args, problem, sampler, workers, seed):
    delay = delay_for(args.delay, sampler)
    name = f"{problem}-{sampler}-w{workers}-s{seed}"
    folder = os.path.join(args.out, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    path = os.path.join(folder, "study.toml")
    study_file(path, name, problem, sampler, workers, seed, args.trials, delay)
    t0 = time.monotonic()
    with open(os.path.join(folder, "run.log"), "w") as log:
        rc = subprocess.run(
            [args.bin, "run", path, "--plain"], stdout=log, stderr=subprocess.STDOUT
        ).returncode
    wall = time.monotonic() - t0
    if rc != 0:
        raise RuntimeError(f"{name}: run exited {rc}; see {folder}/run.log")
    rows = read_trials(os.path.join(folder, f"{name}.db"))
    n_obj, _, tight, loose, true_hv = PROBLEMS[problem]
    names = [f"f{j + 1}" for j in range(n_obj)]
    points = []
    for _, state, values, _, _ in rows:
        if state == "COMPLETE":
            v = json.loads(values)
            points.append([v[k] for k in names])
    hv_tight = hypervolume(points, tight)
    # The study's own hypervolume (crates/core) against the same reference:
    # the two computations must agree.
    status = subprocess.run(
        [args.bin, "status", path, "--json"], capture_output=True, text=True, check=True
    )
    theirs = json.loads(status.stdout)["hypervolume"] or 0.0
    if abs(theirs - hv_tight) > 1e-9 * max(1.0, abs(hv_tight)):
        raise RuntimeError(f"{name}: hypervolume {hv_tight} here, {theirs} from status")
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "problem": problem,
        "sampler": sampler,
        "workers": workers,
        "seed": seed,
        "trials": args.trials,
        "delay": delay,
        "complete": len(points),
        "hv_tight": hv_tight / true_hv,
        "hv_loose": hypervolume(points, loose),
        "wall_s": wall,
        "in_flight": in_flight(rows),
    }


def delay_for(spec, sampler):
    """`--delay 1s` or `--delay gp=1s,auto=1s,default=100ms`."""
    if "=" not in spec:
        return spec
    table = dict(kv.split("=", 1) for kv in spec.split(","))
    return table.get(sampler, table.get("default", "100ms"))


def key(r):
    return (r["problem"], r["sampler"], r["workers"], r["seed"], r["trials"], r["delay"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default="target/release/paretosearch")
    ap.add_argument("--problems", default="zdt1,dtlz2,mixed")
    ap.add_argument("--samplers", default="auto,gp,tpe,nsga2")
    ap.add_argument("--workers", default="1,4,8")
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument(
        "--delay",
        default="auto=1s,gp=1s,default=100ms",
        help="trial duration, one for all or per sampler (SAMPLER=D,...,default=D)",
    )
    ap.add_argument("--jobs", type=int, default=4, help="studies run at once")
    ap.add_argument("--out", default="target/measure-parallel")
    ap.add_argument("--fresh", action="store_true", help="forget cached results")
    ap.add_argument("--keep", action="store_true", help="keep study files and databases")
    args = ap.parse_args()
    args.bin = os.path.abspath(args.bin)
    os.makedirs(args.out, exist_ok=True)
    cache_path = os.path.join(args.out, "results.jsonl")
    if args.fresh and os.path.exists(cache_path):
        os.remove(cache_path)
    done = {}
    if os.path.exists(cache_path):
        with open(cache_path) as f:
            for line in f:
                r = json.loads(line)
                done[key(r)] = r
    problems = args.problems.split(",")
    samplers = args.samplers.split(",")
    workers = [int(w) for w in args.workers.split(",")]
    todo = []
    for p in problems:
        for s in samplers:
            for w in workers:
                for seed in range(args.seeds):
                    k = (p, s, w, seed, args.trials, delay_for(args.delay, s))
                    if k not in done:
                        todo.append((p, s, w, seed))
    # The longest runs (one worker, slow delays) first, for better packing.
    todo.sort(key=lambda t: (t[2], t[1] not in ("gp", "auto")))
    print(f"{len(todo)} runs to do, {len(done)} cached; {args.jobs} at once", file=sys.stderr)
    with cf.ThreadPoolExecutor(args.jobs) as pool, open(cache_path, "a") as cache:
        futures = {pool.submit(run_one, args, *t): t for t in todo}
        for fut in cf.as_completed(futures):
            r = fut.result()
            done[key(r)] = r
            cache.write(json.dumps(r) + "\n")
            cache.flush()
            print(
                f"  {r['problem']} {r['sampler']} w{r['workers']} s{r['seed']}: "
                f"hv {r['hv_tight']:.4f} wall {r['wall_s']:.1f}s in flight {r['in_flight']:.1f}",
                file=sys.stderr,
            )
    print_table(args, problems, samplers, workers, done)


def print_table(args, problems, samplers, workers, done):
    print(
        f"{args.trials} trials, seeds 0-{args.seeds - 1}, trial time {args.delay}. "
        "hv: the front's hypervolume over the true front's (tight reference); "
        "ratio: median hv at W workers / median hv at 1 worker; worst: the "
        "lowest of the seeds' own ratios; loose: the same with the loose reference"
    )
    print(
        "| problem | sampler | workers | trial time | median hv | ratio | worst seed "
        "| loose ratio | loose worst | in flight | wall s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in problems:
        for s in samplers:
            d = delay_for(args.delay, s)

            def runs(w):
                return [done.get((p, s, w, seed, args.trials, d)) for seed in range(args.seeds)]

            base = runs(1)
            if any(r is None for r in base):
                continue
            for w in workers:
                rs = runs(w)
                if any(r is None for r in rs):
                    continue
                cells = []
                for field in ("hv_tight", "hv_loose"):
                    m1 = statistics.median(r[field] for r in base)
                    m = statistics.median(r[field] for r in rs)
                    own = [r[field] / b[field] for r, b in zip(rs, base) if b[field] > 0]
                    cells.append(
                        (m, m / m1 if m1 > 0 else float("nan"), min(own, default=float("nan")))
                    )
                (m, ratio, worst), (_, lratio, lworst) = cells
                print(
                    f"| {p} | {s} | {w} | {d} | {m:.4f} | {ratio:.4f} | {worst:.4f} "
                    f"| {lratio:.4f} | {lworst:.4f} "
                    f"| {statistics.median(r['in_flight'] for r in rs):.1f} "
                    f"| {statistics.median(r['wall_s'] for r in rs):.1f} |"
                )


if __name__ == "__main__":
    main()
