#!/usr/bin/env python3
"""pytorch_fmnist.py - PyTorch CPU reference of the libbeaa default network (optimized
SqueezeNet, Fashion-MNIST) for timing comparisons with beaa-train.

Same network, batch size, optimizer (Nesterov SGD, momentum 0.9, weight decay on every
parameter), cosine schedule and data (the Debian dataset-fashion-mnist files). Prints one
machine-readable line per epoch:  pytorch variant V epoch E seconds S loss L train_acc A
and at the end the test accuracy. Usage:
  /usr/bin/python3 tests/reference/pytorch_fmnist.py --variant relu|poly-layer|poly-channel|
      poly-element --epochs 1 --batch 128 --threads 1 [--limit N]
"""
import argparse
import gzip
import math
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"


def load_idx(images, labels):
    with gzip.open(images, "rb") as f:
        magic, n, h, w = struct.unpack(">IIII", f.read(16))
        assert magic == 0x803, "bad IDX image magic"
        x = np.frombuffer(f.read(n * h * w), dtype=np.uint8).reshape(n, 1, h, w)
    with gzip.open(labels, "rb") as f:
        magic, m = struct.unpack(">II", f.read(8))
        assert magic == 0x801 and m == n, "bad IDX label file"
        y = np.frombuffer(f.read(m), dtype=np.uint8)
    return x, y


class Poly(nn.Module):
    """a*x^2 + b*x + c with one (a,b,c) per layer, channel or element."""

    def __init__(self, gran, c, h, w, init=(0.1, 0.5, 0.0)):
        super().__init__()
        shape = {"layer": (1, 1, 1), "channel": (c, 1, 1), "element": (c, h, w)}[gran]
        self.a = nn.Parameter(torch.full(shape, init[0]))
        self.b = nn.Parameter(torch.full(shape, init[1]))
        self.c = nn.Parameter(torch.full(shape, init[2]))

    def forward(self, x):
        return x * (self.a * x + self.b) + self.c


def act(variant, c, h, w):
    if variant == "relu":
        return nn.ReLU()
    return Poly(variant.split("-")[1], c, h, w)


class ConvModule(nn.Module):
    def __init__(self, variant, cin, cout, k, s, p, oh, ow):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, s, p)
        self.act = act(variant, cout, oh, ow)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.act(self.conv(x)))


class Fire(nn.Module):
    def __init__(self, variant, cin, sq, e1, e3, h, w):
        super().__init__()
        self.sq = nn.Conv2d(cin, sq, 1)
        self.act0 = act(variant, sq, h, w)
        self.bn0 = nn.BatchNorm2d(sq)
        self.e1 = nn.Conv2d(sq, e1, 1)
        self.e3 = nn.Conv2d(sq, e3, 3, padding=1)
        self.act1 = act(variant, e1 + e3, h, w)
        self.bn1 = nn.BatchNorm2d(e1 + e3)

    def forward(self, x):
        s = self.bn0(self.act0(self.sq(x)))
        return self.bn1(self.act1(torch.cat([self.e1(s), self.e3(s)], 1)))


def network(variant):
    return nn.Sequential(
        ConvModule(variant, 1, 8, 5, 2, 2, 14, 14),
        Fire(variant, 8, 4, 8, 8, 14, 14),
        nn.AvgPool2d(2, 2),
        ConvModule(variant, 16, 16, 3, 1, 1, 7, 7),
        Fire(variant, 16, 8, 16, 16, 7, 7),
        nn.AvgPool2d(2, 2),
        ConvModule(variant, 32, 32, 3, 1, 1, 3, 3),
        ConvModule(variant, 32, 10, 1, 1, 0, 3, 3),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--variant", default="relu")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    xtr, ytr = load_idx(f"{DATA}/train-images-idx3-ubyte.gz", f"{DATA}/train-labels-idx1-ubyte.gz")
    xte, yte = load_idx(f"{DATA}/t10k-images-idx3-ubyte.gz", f"{DATA}/t10k-labels-idx1-ubyte.gz")
    if a.limit:
        xtr, ytr = xtr[: a.limit], ytr[: a.limit]
    xtr = torch.tensor(xtr, dtype=torch.float32) / 255.0
    xte = torch.tensor(xte, dtype=torch.float32) / 255.0
    mean, std = xtr.mean().item(), xtr.std().item()
    xtr, xte = (xtr - mean) / std, (xte - mean) / std
    ytr, yte = torch.tensor(ytr, dtype=torch.long), torch.tensor(yte, dtype=torch.long)
    net = network(a.variant)
    opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=0.9, nesterov=True,
                          weight_decay=5e-4)
    n = xtr.shape[0]
    steps = (n + a.batch - 1) // a.batch
    total = steps * a.epochs
    t = 0
    for ep in range(a.epochs):
        net.train()
        perm = torch.randperm(n)
        t0, c0 = time.perf_counter(), time.process_time()
        lsum, correct = 0.0, 0
        for i in range(0, n, a.batch):
            idx = perm[i : i + a.batch]
            x, y = xtr[idx], ytr[idx]
            for g in opt.param_groups:
                g["lr"] = 0.5 * a.lr * (1 + math.cos(math.pi * t / total))
            out = net(x)
            loss = F.cross_entropy(out, y)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            lsum += loss.item() * len(idx)
            correct += (out.argmax(1) == y).sum().item()
            t += 1
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"pytorch variant {a.variant} epoch {ep + 1} seconds {sec:.2f} cpu_seconds {cpu:.2f} "
              f"loss {lsum / n:.4f} "
              f"train_acc {correct / n:.4f} threads {a.threads} batch {a.batch}", flush=True)
    net.eval()
    with torch.no_grad():
        acc = (net(xte).argmax(1) == yte).float().mean().item()
    params = sum(p.numel() for p in net.parameters())
    print(f"pytorch variant {a.variant} test_accuracy {acc:.4f} params {params}")


if __name__ == "__main__":
    main()
