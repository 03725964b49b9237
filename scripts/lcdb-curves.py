#!/usr/bin/env python3
"""Public learning curves for the pruning benchmark, from the LCDB package.

LCDB (Mohr et al., "LCDB 1.0: An Extensive Learning Curves Database for
Classification Tasks", MIT licence) ships its curves inside its PyPI
package: validation accuracy and training time of 20 scikit-learn learners
at training-set sizes 16, 23, 32, 45, ... (a factor of sqrt 2 per anchor),
for many OpenML datasets and seeds. Each dataset becomes one workload for
`paretosearch bench-pruning`: a trial is one learner and seed, its steps are
the anchors, it reports `accuracy` (maximise) and `train_seconds`
(minimise, the time to fit at that anchor) at every anchor, and its time
per step is the recorded fit time, so "time saved" is real seconds.

    scripts/lcdb-curves.py [OUT_DIR]      # default target/pruning-workloads

The package (68 MB) is downloaded once with pip into target/lcdb/ (PyPI is
the only network this needs); the package is not committed, but the eight
workloads this writes are, gzip-compressed, in bench/curves/ (with LCDB's
licence), so the benchmark runs offline; this script regenerates them.
"""
import csv
import json
import os
import subprocess
import sys
import tarfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "target", "lcdb")
# Datasets with long curves (many anchors) and several learner families.
DATASETS = {
    6: "letter", 26: "nursery", 28: "optdigits", 32: "pendigits",
    44: "spambase", 182: "satimage", 184: "kropt", 24: "mushroom",
}
OUTER_SEEDS = range(5)
INNER_SEEDS = range(2)


def csv_path():
    target = os.path.join(CACHE, "database-accuracy.csv")
    if os.path.exists(target):
        return target
    os.makedirs(CACHE, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
         "lcdb==0.1.0", "-d", CACHE],
        check=True, stdout=subprocess.DEVNULL,
    )
    tgz = os.path.join(CACHE, "lcdb-0.1.0.tar.gz")
    with tarfile.open(tgz) as tar:
        member = tar.getmember("lcdb-0.1.0/lcdb/database-accuracy.csv")
        with tar.extractfile(member) as src, open(target + ".part", "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
    os.replace(target + ".part", target)
    return target


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "pruning-workloads")
    os.makedirs(out, exist_ok=True)
    curves = {}  # (openmlid, learner, outer, inner) -> {size: (acc, seconds)}
    with open(csv_path(), newline="") as f:
        for row in csv.DictReader(f):
            oid = int(row["openmlid"])
            if oid not in DATASETS:
                continue
            outer, inner = int(row["outer_seed"]), int(row["inner_seed"])
            if outer not in OUTER_SEEDS or inner not in INNER_SEEDS:
                continue
            try:
                acc, secs = float(row["score_valid"]), float(row["traintime"])
            except ValueError:
                continue
            if acc != acc or secs != secs:
                continue
            key = (oid, row["learner"], outer, inner)
            curves.setdefault(key, {})[int(row["size_train"])] = (acc, secs)
    for oid, name in DATASETS.items():
        mine = {k: v for k, v in curves.items() if k[0] == oid}
        if not mine:
            continue
        sizes = sorted({s for v in mine.values() for s in v})
        # Trials that reached the largest anchor, with every anchor.
        full = {k: v for k, v in mine.items() if all(s in v for s in sizes)}
        trials = []
        for (_, learner, outer, inner), v in sorted(full.items()):
            reports = [
                {"step": i + 1, "values": {"accuracy": v[s][0], "train_seconds": v[s][1]}}
                for i, s in enumerate(sizes)
            ]
            last = v[sizes[-1]]
            trials.append({
                "reports": reports,
                "values": {"accuracy": last[0], "train_seconds": last[1]},
                "seconds_per_step": sum(v[s][1] for s in sizes) / len(sizes),
                "profile_seconds": 0.0,
                "learner": learner.rsplit(".", 1)[-1],
            })
        workload = {
            "name": f"lcdb-{name}",
            "objectives": [
                {"name": "accuracy", "direction": "maximize"},
                {"name": "train_seconds", "direction": "minimize"},
            ],
            "trials": trials,
        }
        path = os.path.join(out, f"lcdb-{name}.json")
        with open(path, "w") as f:
            json.dump(workload, f)
        print(f"{path}: {len(trials)} curves of {len(sizes)} anchors", file=sys.stderr)


if __name__ == "__main__":
    main()
