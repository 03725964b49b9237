#!/usr/bin/env python3
"""The whole study loop, side by side: `paretosearch run` against Optuna's
ask + tell, both on a SQLite file, one process, random sampler, ZDT1
(10 variables, 2 objectives) evaluated in-process, so all the time is the
engine's (claim, sample, store, finish, bookkeeping) and none the problem's.

    python3 bench/run_loop.py --bin target/release/paretosearch [--bin OTHER] \
        --trials 1000 --repeats 5

Each repeat runs every side once, in turn, on a fresh database; the table
gives the median (min-max) milliseconds per trial over the repeats and the
ratio of Optuna's median to each binary's. Several `--bin` compare builds
(before/after a change) in the same run. Needs `pip install optuna`; with
`--no-optuna` only the binaries are timed.
"""
import argparse, math, os, statistics, subprocess, sys, tempfile, time

STUDY = """[study]
name = "loop"
seed = 1

[[objectives]]
name = "f1"
direction = "minimize"

[[objectives]]
name = "f2"
direction = "minimize"

[search_space]
{space}

[sampler]
kind = "random"

[runner]
kind = "builtin"
problem = "zdt1"

[budget]
trials = {trials}
workers = 1
"""


def run_ours(binary, trials, workdir):
    space = "\n".join(f'x{i} = {{ type = "float", low = 0.0, high = 1.0 }}' for i in range(10))
    path = os.path.join(workdir, "loop.toml")
    with open(path, "w") as f:
        f.write(STUDY.format(space=space, trials=trials))
    t0 = time.perf_counter()
    subprocess.run([binary, "run", path, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000 / trials


def zdt1(x):
    g = 1 + 9 * sum(x[1:]) / (len(x) - 1)
    return x[0], g * (1 - math.sqrt(x[0] / g))


def run_optuna(trials, workdir):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t0 = time.perf_counter()
    study = optuna.create_study(
        directions=["minimize", "minimize"],
        sampler=optuna.samplers.RandomSampler(seed=1),
        storage=f"sqlite:///{os.path.join(workdir, 'optuna.db')}",
        study_name="loop",
    )
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(10)}
    for _ in range(trials):
        t = study.ask(dists)
        x = [t.params[f"x{i}"] for i in range(10)]
        study.tell(t, list(zdt1(x)))
    return (time.perf_counter() - t0) * 1000 / trials


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", action="append", required=True, help="a paretosearch binary (repeatable)")
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-optuna", action="store_true")
    a = ap.parse_args()
    sides = [(b, lambda d, b=b: run_ours(b, a.trials, d)) for b in a.bin]
    if not a.no_optuna:
        import optuna

        sides.append((f"optuna {optuna.__version__}", lambda d: run_optuna(a.trials, d)))
    times = {name: [] for name, _ in sides}
    for r in range(a.repeats):
        for name, fn in sides:
            with tempfile.TemporaryDirectory() as d:
                times[name].append(fn(d))
        print(f"repeat {r + 1}/{a.repeats} done", file=sys.stderr)
    print(f"whole loop, {a.trials} trials, random sampler, ZDT1, SQLite file, one process; {a.repeats} repeats")
    print(f"{'side':<48} {'ms/trial median':>16} {'(min-max)':>16} {'optuna/this':>12}")
    opt = None if a.no_optuna else statistics.median(times[sides[-1][0]])
    for name, _ in sides:
        xs = times[name]
        med = statistics.median(xs)
        ratio = f"{opt / med:.1f}x" if opt else "-"
        print(f"{name:<48} {med:>16.3f} {f'({min(xs):.3f}-{max(xs):.3f})':>16} {ratio:>12}")


if __name__ == "__main__":
    main()
