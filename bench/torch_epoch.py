"""One training epoch of an MLP on the digits set in plain PyTorch: the Python
half of the side-by-side comparison with paretosearch-torch's
`examples/epoch_bench.rs` (same data, model, initialisation bounds, optimiser,
batch size, shuffling per epoch, loss bookkeeping and thread count).

    PYTHONPATH=.deps/pytorch python3 bench/torch_epoch.py [epochs] [threads] [mlp|resnet|mobilenet]

The resnet and mobilenet networks are those of paretosearch-torch's
families (crates/torch/src/families.rs) at the configuration
`examples/epoch_bench.rs` uses; both sides print their parameter count and
bench/epoch.sh checks that they agree.

Prints one JSON line: median and mean seconds per epoch (the first epoch,
with its one-off allocations, is left out, as on the Rust side).
"""

import gzip
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_digits():
    rows = []
    with gzip.open(os.path.join(ROOT, "data", "digits.csv.gz"), "rt") as f:
        for line in f:
            if line.strip():
                rows.append([float(v) for v in line.split(",")])
    t = torch.tensor(rows)
    return (t[:, :64] / 16.0).view(-1, 1, 8, 8), t[:, 64].long()


def conv_bn(cin, cout, k, stride=1, groups=1):
    return [torch.nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), torch.nn.BatchNorm2d(cout)]


class Basic(torch.nn.Module):
    """ResNet basic block, projection shortcut when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.body = torch.nn.Sequential(*conv_bn(cin, cout, 3, stride), torch.nn.ReLU(), *conv_bn(cout, cout, 3))
        self.short = torch.nn.Sequential(*conv_bn(cin, cout, 1, stride)) if stride != 1 or cin != cout else None

    def forward(self, x):
        s = x if self.short is None else self.short(x)
        return torch.relu(self.body(x) + s)


def resnet(channels=16, stages=2, blocks=2):
    layers, c, side = [*conv_bn(1, channels, 3), torch.nn.ReLU()], channels, 8
    for s in range(stages):
        out = channels * 2**s
        for j in range(blocks):
            stride = 2 if s > 0 and j == 0 and side >= 2 else 1
            layers.append(Basic(c, out, stride))
            side = (side - 1) // stride + 1
            c = out
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(c, 10))


def make_divisible(v):
    new = max(8, int((v + 4) // 8) * 8)
    return new + 8 if new < 0.9 * v else new


class Inverted(torch.nn.Module):
    """MobileNetV2 inverted residual (expand, depthwise, linear project)."""

    def __init__(self, cin, cout, stride, t):
        super().__init__()
        hidden = cin * t
        layers = [*conv_bn(cin, hidden, 1), torch.nn.ReLU6()] if t != 1 else []
        layers += [*conv_bn(hidden, hidden, 3, stride, hidden), torch.nn.ReLU6(), *conv_bn(hidden, cout, 1)]
        self.body = torch.nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


TABLE = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]


def mobilenet(wm=0.5, stages=3, expand=6):
    c, side = make_divisible(32 * wm), 8
    layers = [*conv_bn(1, c, 3), torch.nn.ReLU6()]
    for i, (t, ch, n, s) in enumerate(TABLE[:stages]):
        t = t if i == 0 else expand
        out = make_divisible(ch * wm)
        for j in range(n):
            stride = s if j == 0 and s > 1 and side >= 2 else 1
            layers.append(Inverted(c, out, stride, t))
            side = (side - 1) // stride + 1
            c = out
    head = 4 * c
    layers += [*conv_bn(c, head, 1), torch.nn.ReLU6()]
    return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(head, 10))


def mlp():
    return torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(64, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    kind = sys.argv[3] if len(sys.argv) > 3 else "mlp"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x, y = load_digits()
    n = x.shape[0]
    n_valid = round(n * 0.2)
    perm = torch.randperm(n)
    valid, train = perm[:n_valid], perm[n_valid:]
    xt, yt = x[train], y[train]
    xv, yv = x[valid], y[valid]
    mean, std = xt.mean(), xt.std().clamp_min(1e-6)
    xt, xv = (xt - mean) / std, (xv - mean) / std

    model = {"mlp": mlp, "resnet": resnet, "mobilenet": mobilenet}[kind]()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 64
    rows = xt.shape[0]
    per_epoch = []
    acc = 0.0
    for _ in range(epochs):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(rows)
        loss_sum = torch.zeros(())
        for s in range(0, rows, batch):
            idx = order[s : s + batch]
            xb, yb = xt.index_select(0, idx), yt.index_select(0, idx)
            for g in opt.param_groups:
                g["lr"] = 1e-3
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += loss.detach() * idx.numel()
        _ = loss_sum.item()
        per_epoch.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            acc = (model(xv).argmax(-1) == yv).float().mean().item()
    steady = per_epoch[1:] or per_epoch
    print(json.dumps({
        "impl": "pytorch " + torch.__version__,
        "model": kind,
        "params": sum(p.numel() for p in model.parameters()),
        "epochs": epochs,
        "threads": threads,
        "train_rows": rows,
        "median_epoch_s": round(statistics.median(steady), 6),
        "mean_epoch_s": round(statistics.fmean(steady), 6),
        "accuracy": round(acc, 4),
    }))


if __name__ == "__main__":
    main()
