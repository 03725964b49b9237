#!/usr/bin/env bash
# Measure what pruning saves: run each study once per arm and seed, side by
# side (same sampler, same seeds, so the same configurations are proposed),
# and print a table of trainings, epochs trained, wall time and final
# hypervolume per arm.
#
#   scripts/measure-pruning.sh                  # all three studies, seeds 1 2 3
#   STUDIES="quickstart-pruned" SEEDS="1" TRIALS=20 ARMS="none dominated" \
#       scripts/measure-pruning.sh
#   SAMPLER=tpe ...                             # the study's sampler replaced
#   SCHEDULE=step ...                           # its learning-rate schedule replaced
#                                               # (constant, cosine, step, onecycle)
#
# Arms (the study's [pruner] table is rewritten per arm, keeping its options):
#   none, none2        no pruning (none2 repeats none: the noise floor of
#                      latency measurements and of the hypervolume)
#   dominated          kind = "dominated" with the study's early-stopping options
#   dominated-default  kind = "dominated" with the library's defaults
#   dominated-saturating, dominated-noextrap
#                      the study's options with extrapolate = "saturating" / "none"
#   partial-order      kind = "none", partial_order = true (and its margin)
#   both               early stopping and partial-order pruning
#   mo-asha            kind = "mo-asha" with its defaults (max_resource: the
#                      epochs a trial of the torch study reports)
#   ARM+key=value      an arm with one more option, e.g. dominated+z=1.0,
#                      dominated-default+extrapolate=peers (bare words are strings)
# Default arms: quickstart-pruned: none, dominated, dominated-default, and the
# defaults with extrapolate = saturating / peers, and peers at the study's z;
# mlp-monotone: none, none2, partial-order, partial-order with a margin of
# 0.003; cnn-digits: none, dominated (the defaults), the saturating bound at
# z = 0 (the study's earlier tuned setting), partial-order.
#
# Hypervolume uses one fixed reference per study: objectives are normalised
# by the ideal and nadir of the COMPLETE trials of all arms and seeds
# together, and the reference is 1.1 in every normalised objective. Runs use
# one worker, so wall times are comparable.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PS=${PS:-$ROOT/target/release/paretosearch}
STUDIES=${STUDIES:-"quickstart-pruned mlp-monotone cnn-digits"}
SEEDS=${SEEDS:-"1 2 3"}
ARMS=${ARMS:-default}
TRIALS=${TRIALS:-}
WORK=${WORK:-$(mktemp -d /tmp/measure-pruning.XXXXXX)}
if [ ! -x "$PS" ]; then
    echo "build first: cargo build --release (or set PS=path/to/paretosearch)" >&2
    exit 1
fi
echo "work folder: $WORK" >&2
exec python3 - "$PS" "$ROOT" "$WORK" "$STUDIES" "$SEEDS" "$ARMS" "$TRIALS" <<'PY'
import json, os, re, shutil, subprocess, sys, time

ps, root, work, studies, seeds, arms, trials = sys.argv[1:8]
studies, seeds = studies.split(), seeds.split()
DEFAULT_ARMS = {
    "quickstart-pruned": ["none", "dominated", "dominated-default",
                          "dominated-default+extrapolate=saturating",
                          "dominated-default+extrapolate=peers", "dominated+extrapolate=peers"],
    "mlp-monotone": ["none", "none2", "partial-order", "partial-order+partial_order_margin=0.003"],
    "cnn-digits": ["none", "dominated", "dominated+extrapolate=saturating+z=0.0",
                   "partial-order"],
}
arms_of = lambda study: (DEFAULT_ARMS.get(study, ["none", "dominated", "partial-order"])
                         if arms == "default" else arms.split())
os.makedirs(f"{work}/studies", exist_ok=True)
shutil.copytree(f"{root}/search_spaces", f"{work}/search_spaces", dirs_exist_ok=True)

def pruner_table(text, arm):
    """The [pruner] table of `arm`, from the study's own table; `arm+key=value`
    adds an option (e.g. dominated+z=1.0)."""
    arm, *extra = arm.split("+")
    alias = {"dominated-saturating": "extrapolate=saturating", "dominated-noextrap": "extrapolate=none"}
    if arm in alias:
        arm, extra = "dominated", [alias[arm]] + extra
    t = pruner_base(text, arm)
    for e in extra:
        key, _, value = (x.strip() for x in e.partition("="))
        if not re.fullmatch(r"-?[0-9.eE+-]+|true|false|\".*\"", value):
            value = f'"{value}"'  # a bare word is a string: extrapolate=peers
        t = "".join(l + "\n" for l in t.splitlines() if l.split("=")[0].strip() != key)
        t += f"{key} = {value}\n"
    return t

def slug(arm):
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", arm)

def pruner_base(text, arm):
    m = re.search(r"(?ms)^\[pruner\]\n(.*?)(?=^\[)", text)
    body = m.group(1) if m else ""
    lines = [l for l in body.splitlines() if l.strip() and not l.startswith("#")]
    kind = next((l for l in lines if l.startswith("kind")), 'kind = "none"')
    lines = [l for l in lines if not l.startswith("kind")]
    po = [l for l in lines if l.startswith("partial_order") and not l.startswith("partial_order =")]
    early = [l for l in lines if not l.startswith("partial_order")] if '"dominated"' in kind else []
    if arm.startswith("none"):
        return ""
    if arm == "dominated":
        return "\n".join(['[pruner]', 'kind = "dominated"'] + early) + "\n"
    if arm == "dominated-default":
        return '[pruner]\nkind = "dominated"\n'
    if arm == "partial-order":
        return "\n".join(['[pruner]', 'kind = "none"', 'partial_order = true'] + po) + "\n"
    if arm == "both":
        return "\n".join(['[pruner]', 'kind = "dominated"', 'partial_order = true'] + early + po) + "\n"
    if arm == "mo-asha":
        # Its defaults alone: a torch study implies max_resource (the
        # epochs a trial reports, fine-tuning included).
        return '[pruner]\nkind = "mo-asha"\n'
    sys.exit(f"unknown arm {arm}")

def arm_file(study, arm, seed):
    text = open(f"{root}/studies/{study}.toml").read()
    text = re.sub(r'(?m)^name = ".*"$', f'name = "{study}-{slug(arm)}-s{seed}"', text, count=1)
    text = re.sub(r"(?m)^seed = \d+$", f"seed = {seed}", text, count=1)
    sampler = os.environ.get("SAMPLER")
    if sampler:
        text = re.sub(r'(?ms)(^\[sampler\]\n)kind = "[^"]*"', lambda m: f'{m.group(1)}kind = "{sampler}"', text, count=1)
    schedule = os.environ.get("SCHEDULE")
    if schedule:
        # The learning-rate schedule of a torch train study, wherever the
        # study sets it ([runner] or [runner.params]).
        text, n = re.subn(r'(?m)^schedule = "[^"]*"', f'schedule = "{schedule}"', text)
        if n == 0:
            sys.exit(f"SCHEDULE: studies/{study}.toml sets no schedule to replace")
    table = pruner_table(text, arm)
    if re.search(r"(?m)^\[pruner\]", text):
        text = re.sub(r"(?ms)^\[pruner\]\n.*?(?=^\[)", lambda _: table + "\n", text)
    else:
        text = text.replace("[runner]", table + "\n[runner]", 1)
    path = f"{work}/studies/{study}-{slug(arm)}-s{seed}.toml"
    open(path, "w").write(text)
    return path

def objectives(path):
    import tomllib
    spec = tomllib.load(open(path, "rb"))
    return [(o["name"], o["direction"]) for o in spec["objectives"]]

def hv2(points, ref):
    pts = sorted(p for p in points if p[0] < ref[0] and p[1] < ref[1])
    area, best_y = 0.0, ref[1]
    for i, (x, y) in enumerate(pts):
        nx = pts[i + 1][0] if i + 1 < len(pts) else ref[0]
        best_y = min(best_y, y)
        area += (nx - x) * (ref[1] - best_y)
    return area

def hv3(points, ref):
    pts = sorted((p for p in points if all(a < r for a, r in zip(p, ref))), key=lambda p: p[2])
    vol = 0.0
    for i, p in enumerate(pts):
        nz = pts[i + 1][2] if i + 1 < len(pts) else ref[2]
        vol += (nz - p[2]) * hv2([q[:2] for q in pts[: i + 1]], ref[:2])
    return vol

runs = []
for study in studies:
    for seed in seeds:
        for arm in arms_of(study):
            path = arm_file(study, arm, seed)
            cmd = [ps, "run", path, "--plain", "--quiet", "--workers", "1"]
            if trials:
                cmd += ["--trials", trials]
            t0 = time.time()
            r = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.time() - t0
            if r.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
            out = subprocess.run([ps, "export", path, "--format", "json"],
                                 capture_output=True, text=True, check=True).stdout
            exported = json.loads(out)
            objs = objectives(path)
            trained = [t for t in exported
                       if not (t["state"] == "PRUNED" and (t.get("reason") or "").startswith("partial-order"))]
            epochs = sum((t["intermediate"][-1]["step"] if t["intermediate"] else 0) for t in trained)
            points = [[(-1 if d == "maximize" else 1) * t["values"][n] for n, d in objs]
                      for t in exported if t["state"] == "COMPLETE"]
            ceiling = None
            if arm == "none":
                # The clairvoyant ceiling: a rule that knew every final value
                # and stopped at step 2 (the default warm-up) each trial
                # ending dominated by one finished before it.
                done, saved = [], 0
                for t in sorted(exported, key=lambda t: t["number"]):
                    if t["state"] != "COMPLETE":
                        continue
                    p = [(-1 if d == "maximize" else 1) * t["values"][n] for n, d in objs]
                    steps = t["intermediate"][-1]["step"] if t["intermediate"] else 0
                    if any(all(a <= b for a, b in zip(q, p)) and q != p for q in done):
                        saved += max(steps - 2, 0)
                    done.append(p)
                ceiling = saved / max(epochs, 1)
            runs.append(dict(study=study, seed=seed, arm=arm, wall=wall, trials=len(exported), ceiling=ceiling,
                             trainings=len(trained), epochs=epochs, points=points,
                             early=sum(1 for t in trained if t["state"] == "PRUNED")))
            print(f"{study} seed {seed} {arm}: {len(trained)} trainings, {epochs} epochs, "
                  f"{wall:.1f} s", file=sys.stderr)

table = []
for study in studies:
    rs = [r for r in runs if r["study"] == study]
    allp = [p for r in rs for p in r["points"]]
    m = len(allp[0])
    lo = [min(p[j] for p in allp) for j in range(m)]
    hi = [max(p[j] for p in allp) for j in range(m)]
    norm = lambda p: [(p[j] - lo[j]) / ((hi[j] - lo[j]) or 1.0) for j in range(m)]
    ref = [1.1] * m
    hvf = hv3 if m == 3 else (lambda ps, r: hv2(ps, r))
    for r in rs:
        r["hv"] = hvf([norm(p) for p in r["points"]], ref)
    for arm in arms_of(study):
        a = [r for r in rs if r["arm"] == arm]
        base = {r["seed"]: r for r in rs if r["arm"] == "none"}
        mean = lambda k: sum(r[k] for r in a) / len(a)
        # Relative to the unpruned run of the same seed; without a `none`
        # arm (or where it did not run) there is nothing to compare with.
        rel = lambda k: (sum(r[k] / base[r["seed"]][k] for r in a) / len(a)
                         if all(r["seed"] in base and base[r["seed"]][k] for r in a) else None)
        table.append(dict(study=study, arm=arm, trials=mean("trials"), trainings=mean("trainings"),
                          early=mean("early"), epochs=mean("epochs"), wall=mean("wall"),
                          hv=mean("hv"), epochs_rel=rel("epochs"), trainings_rel=rel("trainings"),
                          wall_rel=rel("wall"), hv_rel=rel("hv"),
                          hv_seeds=[round(r["hv"], 4) for r in a]))
json.dump(dict(runs=runs, table=table), open(f"{work}/results.json", "w"), indent=1)
print(f"| study | arm | trials | trainings | stopped early | epochs trained | wall s | HV | "
      "epochs vs none | trainings vs none | wall vs none | HV vs none |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
fmt = lambda x, f: "—" if x is None else format(x, f)
for t in table:
    print(f"| {t['study']} | {t['arm']} | {t['trials']:.0f} | {t['trainings']:.1f} | {t['early']:.1f} | "
          f"{t['epochs']:.0f} | {t['wall']:.1f} | {t['hv']:.4f} | {fmt(t['epochs_rel'], '.2f')} | "
          f"{fmt(t['trainings_rel'], '.2f')} | {fmt(t['wall_rel'], '.2f')} | {fmt(t['hv_rel'], '.3f')} |")
print(f"\nper-seed HV: " + "; ".join(f"{t['study']}/{t['arm']} {t['hv_seeds']}" for t in table))
# Per seed against the unpruned run of the same seed: what the README quotes
# (the medians of these, and the worst seed), not the ratio of the means.
median = lambda xs: sorted(xs)[len(xs) // 2] if len(xs) % 2 else sum(sorted(xs)[len(xs) // 2 - 1:len(xs) // 2 + 1]) / 2
for study in studies:
    base = {r["seed"]: r for r in runs if r["study"] == study and r["arm"] == "none"}
    for arm in arms_of(study):
        a = [r for r in runs if r["study"] == study and r["arm"] == arm and r["seed"] in base]
        if arm == "none" or not a:
            continue
        saved = [100 * (1 - r["epochs"] / max(base[r["seed"]]["epochs"], 1)) for r in a]
        hv = [r["hv"] / base[r["seed"]]["hv"] for r in a]
        print(f"{study}/{arm} per seed {', '.join(str(r['seed']) for r in a)}: epochs saved "
              + ", ".join(f"{x:.1f}" for x in saved) + f" % (median {median(saved):.1f}, worst {min(saved):.1f}); "
              "HV ratio " + ", ".join(f"{x:.3f}" for x in hv) + f" (median {median(hv):.3f}, worst {min(hv):.3f})")
for study in studies:
    c = [r for r in runs if r["study"] == study and r["ceiling"] is not None]
    if c:
        print(f"{study}: a clairvoyant rule (every final value known, stopping at step 2 each trial "
              f"ending dominated by an earlier one) would save, per seed: "
              + ", ".join(f"{100 * r['ceiling']:.1f} %" for r in c))
PY
