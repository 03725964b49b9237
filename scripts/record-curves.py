#!/usr/bin/env python3
"""A study run without pruning, as a workload for `paretosearch bench-pruning`.

    scripts/record-curves.py STUDY.toml OUT.json [--storage URL] [--ps BIN]

Reads the study's objectives from its file (includes are not needed: only
[[objectives]] is read) and its COMPLETE trials with their learning curves
from `paretosearch export --format json`; each trial's cheap measurements
come from its `cheap` attribute, its time per step from its duration over
its steps. Trials that were pruned or failed are left out (a workload must
be a study whose every trial ran to the end).
"""
import argparse
import json
import os
import subprocess
import sys
import tomllib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("study")
    ap.add_argument("out")
    ap.add_argument("--storage")
    ap.add_argument("--ps", default=os.path.join(os.path.dirname(__file__), "..", "target", "release", "paretosearch"))
    ap.add_argument("--name")
    a = ap.parse_args()
    with open(a.study, "rb") as f:
        spec = tomllib.load(f)
    objectives = [
        {"name": o["name"], "direction": o.get("direction", "minimize"), "cheap": bool(o.get("cheap", False))}
        for o in spec.get("objectives", [])
    ]
    if not objectives:
        sys.exit(f"{a.study}: no [[objectives]]")
    cmd = [a.ps, "export", a.study, "--format", "json"]
    if a.storage:
        cmd += ["--storage", a.storage]
    trials = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    out = []
    for t in trials:
        if t["state"] != "COMPLETE" or not t["intermediate"]:
            continue
        steps = len(t["intermediate"])
        cheap = (t.get("attrs") or {}).get("cheap") or {}
        if not cheap:
            # Run without pruning, the profile phase did not run: the final
            # values of the cheap objectives are the same measurements.
            cheap = {o["name"]: t["values"][o["name"]] for o in objectives
                     if o["cheap"] and o["name"] in t["values"]}
        out.append({
            "reports": t["intermediate"],
            "values": t["values"],
            "cheap": cheap,
            "seconds_per_step": (t.get("duration_s") or 0.0) / steps,
            "profile_seconds": 0.0,
        })
    name = a.name or spec.get("study", {}).get("name", os.path.basename(a.study))
    with open(a.out, "w") as f:
        json.dump({"name": name, "objectives": objectives, "trials": out}, f)
    print(f"{a.out}: {len(out)} curves", file=sys.stderr)


if __name__ == "__main__":
    main()
