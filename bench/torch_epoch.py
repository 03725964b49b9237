"""One training epoch of an MLP on the digits set in plain PyTorch: the Python
half of the side-by-side comparison with paretosearch-torch's
`examples/epoch_bench.rs` (same data, model, initialisation bounds, optimiser,
batch size, shuffling per epoch, loss bookkeeping and thread count).

    PYTHONPATH=.deps/pytorch python3 bench/torch_epoch.py [epochs] [threads]

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


def main():
    epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
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

    model = torch.nn.Sequential(
        torch.nn.Flatten(),
        torch.nn.Linear(64, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 256),
        torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
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
        "epochs": epochs,
        "threads": threads,
        "train_rows": rows,
        "median_epoch_s": round(statistics.median(steady), 6),
        "mean_epoch_s": round(statistics.fmean(steady), 6),
        "accuracy": round(acc, 4),
    }))


if __name__ == "__main__":
    main()
