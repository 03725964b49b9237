"""The GPU check of paretosearch-torch (run by scripts/gpu-check.sh).

Prints one line per check: `ok`, `FAIL` or `skip`, its name and what it
measured. The CPU part runs everywhere (CI runs it with --cpu-only); the
CUDA part runs where torch sees a CUDA device. It needs only python3 with
PyTorch, so it runs on a GPU machine without a Rust toolchain:

* the low-bit formats: a reference written here decodes every code of
  fp8 e4m3/e5m2, fp6 e3m2/e2m3, fp4 e2m1 and int2..8 from its bit layout
  and rounds to nearest, ties to even, saturating; the same tensor
  operations paretosearch-torch uses (frexp, exp2, round, clamp: see
  crates/torch/src/lowbit.rs) must agree with it on CPU and bit for bit
  between CPU and CUDA, and with PyTorch's own float8 casts;
* a TorchScript module: the same outputs on CUDA as on the CPU;
* training on CUDA in fp32, bf16 and fp16 (autocast, loss scaling), two
  trainings at once on one GPU, synchronised latency timing, the energy
  counter through nvidia-smi;
* the paretosearch binary, when one is given (PARETOSEARCH_BIN): doctor
  (which must see the GPUs PyTorch sees), two quickstart trials on
  device = "cpu" (also with --cpu-only) and three on device = "cuda".
"""

import math
import os
import subprocess
import sys
import tempfile
import threading
import time

import torch

RESULTS = []


def report(status, name, detail):
    RESULTS.append(status)
    print(f"{status:4} {name}: {detail}", flush=True)


def check(name, fn):
    try:
        detail = fn()
        report("ok", name, detail)
    except Skip as s:
        report("skip", name, str(s))
    except Exception as e:  # a failed check is reported, the others still run
        report("FAIL", name, f"{type(e).__name__}: {e}")


class Skip(Exception):
    pass


# (name, exponent bits, mantissa bits, bias, largest finite value)
FLOATS = [
    ("fp8_e4m3", 4, 3, 7, 448.0),
    ("fp8_e5m2", 5, 2, 15, 57344.0),
    ("fp6_e3m2", 3, 2, 3, 28.0),
    ("fp6_e2m3", 2, 3, 1, 7.5),
    ("fp4_e2m1", 2, 1, 1, 6.0),
]


def float_grid(e_bits, m_bits, bias, fmax):
    """Ascending (value, even) of every finite code, one zero."""
    out = {}
    for code in range(1 << (1 + e_bits + m_bits)):
        sign = (code >> (e_bits + m_bits)) & 1
        e = (code >> m_bits) & ((1 << e_bits) - 1)
        m = (code & ((1 << m_bits) - 1)) / (1 << m_bits)
        mag = m * 2.0 ** (1 - bias) if e == 0 else (1 + m) * 2.0 ** (e - bias)
        if mag > fmax:
            continue
        v = -mag if sign else mag
        out.setdefault(v, code & 1 == 0)
    return sorted(out.items())


def int_grid(bits):
    q = 2 ** (bits - 1) - 1
    return [(float(v), v % 2 == 0) for v in range(-q, q + 1)]


def reference_round(grid, x):
    if x <= grid[0][0]:
        return grid[0][0]
    if x >= grid[-1][0]:
        return grid[-1][0]
    lo = max(i for i, (v, _) in enumerate(grid) if v <= x)
    (a, a_even), (b, _) = grid[lo], grid[lo + 1]
    if x - a < b - x or (x - a == b - x and a_even):
        return a
    return b


def torch_round_float(x, e_bits, m_bits, bias, fmax):
    """lowbit.rs's round_float, in the same tensor operations."""
    a = x.abs()
    _, e = torch.frexp(a)
    exp = (e - 1).clamp_min(1 - bias)
    step = torch.exp2((exp - m_bits).to(torch.float32))
    q = torch.round(a / step) * step
    return q.clamp_max(fmax) * torch.sign(x)


def torch_round_int(x, bits):
    q = 2 ** (bits - 1) - 1
    return torch.round(x).clamp(-q, q)


def probes(grid):
    xs = []
    for (a, _), (b, _) in zip(grid, grid[1:]):
        d = b - a
        xs += [a, b, (a + b) / 2, a + d / 4, a + 3 * d / 4, (a + b) / 2 - d / 1024, (a + b) / 2 + d / 1024]
    top = grid[-1][0]
    xs += [top * 1.25, -top * 1.25, 1e30, -1e30]
    return xs


def formats():
    out = []
    for name, e, m, b, fmax in FLOATS:
        grid = float_grid(e, m, b, fmax)
        out.append((name, grid, lambda t, e=e, m=m, b=b, f=fmax: torch_round_float(t, e, m, b, f)))
    for bits in range(2, 9):
        out.append((f"int{bits}", int_grid(bits), lambda t, k=bits: torch_round_int(t, k)))
    return out


def formats_on(device):
    n = 0
    for name, grid, fn in formats():
        xs = probes(grid)
        got = fn(torch.tensor(xs, dtype=torch.float32, device=device)).cpu().tolist()
        for x, y in zip(xs, got):
            want = reference_round(grid, float(torch.tensor(x, dtype=torch.float32)))
            if y != want:
                raise AssertionError(f"{name} on {device}: round({x}) = {y}, reference {want}")
            n += 1
    return f"{n} probes at and between every code of 12 formats round as the reference"


def formats_cuda_equals_cpu():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1 << 16, generator=g) * 10
    n = 0
    for name, _, fn in formats():
        a, b = fn(x), fn(x.cuda()).cpu()
        if not torch.equal(a, b):
            i = (a != b).nonzero()[0].item()
            raise AssertionError(f"{name}: cpu {a[i].item()} vs cuda {b[i].item()} at {x[i].item()}")
        n += x.numel()
    return f"{n} values identical bit for bit"


def fp8_matches_torch(device):
    g = torch.Generator().manual_seed(2)
    n = 0
    for name, dtype in [("fp8_e4m3", torch.float8_e4m3fn), ("fp8_e5m2", torch.float8_e5m2)]:
        e, m, b, fmax = next((e, m, b, f) for (nm, e, m, b, f) in FLOATS if nm == name)
        x = (torch.randn(1 << 16, generator=g) * fmax / 8).clamp(-fmax, fmax).to(device)
        ours = torch_round_float(x, e, m, b, fmax)
        theirs = x.to(dtype).to(torch.float32)
        if not torch.equal(ours, theirs):
            i = (ours != theirs).nonzero()[0].item()
            raise AssertionError(f"{name}: {x[i].item()} -> ours {ours[i].item()}, torch {theirs[i].item()}")
        n += x.numel()
    return f"{n} in-range values equal PyTorch's float8 casts"


def tiny_cnn():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 10),
    ).eval()


def torchscript(device):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.pt")
        torch.jit.save(torch.jit.script(tiny_cnn()), path)
        cpu = torch.jit.load(path, map_location="cpu")
        x = torch.randn(16, 1, 8, 8)
        y = cpu(x)
        if device == "cpu":
            return f"scripted, saved, loaded: output {tuple(y.shape)}"
        gpu = torch.jit.load(path, map_location=device)
        diff = (gpu(x.to(device)).cpu() - y).abs().max().item()
        if diff > 1e-4:
            raise AssertionError(f"CUDA and CPU outputs differ by {diff}")
        return f"CUDA output within {diff:.1e} of the CPU's"


def need_cuda():
    if not torch.cuda.is_available():
        raise Skip("no CUDA device")


def train_steps(dtype, steps=60, device="cuda"):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10)).to(device)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    x = torch.randn(512, 64, device=device)
    y = (x[:, :10].argmax(1)).to(device)
    first = last = None
    for _ in range(steps):
        with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        first = loss.item() if first is None else first
        last = loss.item()
    if not (math.isfinite(last) and last < first * 0.7):
        raise AssertionError(f"loss {first:.3f} -> {last:.3f}")
    return f"loss {first:.3f} -> {last:.3f} in {steps} steps"


def two_at_once():
    need_cuda()
    out, errors = [], []

    def run():
        try:
            out.append(train_steps(torch.float32, steps=40))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return "two trainings shared the GPU: " + "; ".join(out)


def latency():
    need_cuda()
    m = tiny_cnn().cuda()
    x = torch.randn(256, 1, 8, 8, device="cuda")
    times = []
    with torch.no_grad():
        for i in range(60):
            torch.cuda.synchronize()
            t = time.perf_counter()
            m(x)
            torch.cuda.synchronize()
            if i >= 10:
                times.append(time.perf_counter() - t)
    times.sort()
    med = times[len(times) // 2] * 1e3
    if not med > 0:
        raise AssertionError("zero latency")
    return f"median {med:.3f} ms per batch of 256 (50 synchronised passes)"


def energy():
    need_cuda()
    q = ["nvidia-smi", "--query-gpu=total_energy_consumption", "--format=csv,noheader,nounits", "-i", "0"]
    try:
        before = float(subprocess.check_output(q, text=True).split()[0])
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        raise Skip(f"nvidia-smi cannot read the energy counter ({e})")
    train_steps(torch.float32, steps=400)
    torch.cuda.synchronize()
    time.sleep(0.2)
    after = float(subprocess.check_output(q, text=True).split()[0])
    if not after > before:
        raise AssertionError(f"counter did not advance ({before} -> {after} mJ)")
    return f"training used {(after - before) / 1e3:.1f} J by the GPU's counter"


def binary(args):
    exe = os.environ.get("PARETOSEARCH_BIN")
    if not exe:
        raise Skip("no paretosearch binary (set PARETOSEARCH_BIN; this machine may have no Rust toolchain)")
    out = subprocess.run([exe] + args, capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise AssertionError(f"exit {out.returncode}: {(out.stderr or out.stdout)[-500:]}")
    return out.stdout


def doctor(cpu_only):
    """The binary's doctor; where PyTorch sees CUDA, the binary must too."""
    lines = binary(["doctor"]).splitlines()
    field = {k.strip(): v.strip() for k, _, v in (l.partition(":") for l in lines) if v}
    want = 0 if cpu_only or not torch.cuda.is_available() else torch.cuda.device_count()
    got = int(field.get("CUDA devices", "0"))
    if want and got != want:
        raise AssertionError(f"the binary sees {got} CUDA devices, PyTorch {want}: " + "; ".join(lines))
    keep = ("libtorch", "loaded from", "CUDA", "CUDA devices", "cuDNN")
    return "; ".join(f"{k}: {field[k]}" for k in keep if k in field)


def quickstart(device, trials):
    """studies/quickstart.toml on `device` for `trials` trials, in a temporary folder."""
    if device != "cpu":
        need_cuda()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as d:
        text = open(os.path.join(root, "studies", "quickstart.toml")).read()
        for a, b in [('device = "auto"', f'device = "{device}"'),
                     ('"../search_spaces/', '"' + os.path.join(root, "search_spaces") + "/")]:
            if a not in text:
                raise AssertionError(f"studies/quickstart.toml no longer has {a}")
            text = text.replace(a, b)
        study = os.path.join(d, f"quickstart-{device}.toml")
        open(study, "w").write(text)
        lines = binary(["run", study, "--plain", "--trials", str(trials)]).splitlines()
    done = next((l for l in lines if l.startswith("done in ")), "")
    if f"{trials} of {trials} trials finished" not in done:
        raise AssertionError("not every trial finished: " + " | ".join(lines[-12:]))
    best = [l for l in lines if l.startswith(("trials:", "best accuracy", "best latency_ms"))]
    return "; ".join([done] + best)


def main():
    cpu_only = "--cpu-only" in sys.argv
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available: {torch.cuda.is_available()}")
    check("formats-cpu", lambda: formats_on("cpu"))
    check("fp8-vs-torch-cpu", lambda: fp8_matches_torch("cpu"))
    check("torchscript-cpu", lambda: torchscript("cpu"))
    # The binary (PARETOSEARCH_BIN) on the CPU: it loads its libtorch and
    # trains; with --cpu-only this is how its preparation is tried here.
    check("paretosearch-doctor", lambda: doctor(cpu_only))
    check("quickstart-cpu", lambda: quickstart("cpu", 2))
    if not cpu_only:
        check("formats-cuda", lambda: (need_cuda(), formats_on("cuda"))[1])
        check("formats-cuda-equals-cpu", lambda: (need_cuda(), formats_cuda_equals_cpu())[1])
        check("fp8-vs-torch-cuda", lambda: (need_cuda(), fp8_matches_torch("cuda"))[1])
        check("torchscript-cuda", lambda: (need_cuda(), torchscript("cuda"))[1])
        for name, dtype in [("fp32", torch.float32), ("bf16", torch.bfloat16), ("fp16", torch.float16)]:
            check(f"train-cuda-{name}", lambda d=dtype: (need_cuda(), train_steps(d))[1])
        check("two-trials-one-gpu", two_at_once)
        check("latency-cuda", latency)
        check("energy-counter", energy)
        check("quickstart-cuda", lambda: quickstart("cuda", 3))
    fails = RESULTS.count("FAIL")
    print(f"summary: {RESULTS.count('ok')} ok, {fails} failed, {RESULTS.count('skip')} skipped")
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
