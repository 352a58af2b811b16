"""The yardstick: a plain PyTorch conv VAE loop on Fashion-MNIST, the same network as aezoo's `conv-vae`
(channels 32/64, latent 16), the whole training set in memory as float32, randperm shuffling, Adam 1e-3.

Shared by the benchmarks in this folder; the same loop as shared/reference/plain_conv_vae.py, including its
order: the test set is loaded *before* training. That order matters on Linux: freeing the test set's 7.8 MB
read buffer raises glibc malloc's dynamic mmap threshold, after which the training step's activations
(0.1-3.2 MB each) come from the heap instead of freshly mapped pages. Loading the test set after training (as
this file once did) left the threshold at 128 KiB and cost ~8,500 instead of ~4,000 minor page faults per
step, 10-20 % of the throughput; that was the whole difference between the two "identical" loops.
"""
from __future__ import annotations

import gzip
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FASHION = "/usr/share/datasets/fashion-mnist"
_test: torch.Tensor | None = None  # loaded before training, as the reference loop does


def read_idx(path: str) -> np.ndarray:
    with gzip.open(path) as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * data[3]).reshape(dims)


def fashion(split: str, limit: int | None = None) -> torch.Tensor:
    """Float32 images (N, 1, 28, 28) in [0, 1]; ``split`` is 'train' or 't10k'."""
    images = read_idx(f"{FASHION}/{split}-images-idx3-ubyte.gz")[:limit]
    return torch.from_numpy(images.copy()).unsqueeze(1).float().div_(255)


class VAE(nn.Module):
    def __init__(self, z: int = 16):
        super().__init__()
        self.enc = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(),
                                 nn.Flatten())
        self.mu, self.lv = nn.Linear(64 * 7 * 7, z), nn.Linear(64 * 7 * 7, z)
        self.fc = nn.Linear(z, 64 * 7 * 7)
        self.dec = nn.Sequential(nn.ReLU(), nn.Unflatten(1, (64, 7, 7)), nn.ConvTranspose2d(64, 32, 4, 2, 1),
                                 nn.ReLU(), nn.ConvTranspose2d(32, 1, 4, 2, 1))

    def forward(self, x):
        h = self.enc(x)
        mu, lv = self.mu(h), self.lv(h)
        return self.dec(self.fc(mu + torch.randn_like(mu) * (0.5 * lv).exp())), mu, lv


def neg_elbo(logits, x, mu, lv):
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())
    return (rec + kl) / x.shape[0]


def step(model: VAE, opt: torch.optim.Optimizer, x: torch.Tensor, bf16: bool = False) -> None:
    """One training step as the reference loop writes it: the forward under bf16 autocast when ``bf16``, the loss
    in fp32, zero_grad, backward, Adam."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        logits, mu, lv = model(x)
    loss = neg_elbo(logits.float(), x, mu.float(), lv.float())
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


def train(epochs: int = 1, limit: int | None = None, batch_size: int = 128,
          bf16: bool = False, channels_last: bool = False) -> tuple[VAE, dict]:
    """Train as the reference does (``bf16``: its ``--bf16`` autocast); the test set is loaded first, as there.
    ``channels_last`` stores the weights and images NHWC (torch.channels_last), to measure whether it helps."""
    torch.manual_seed(0)
    global _test
    _test = fashion("t10k")
    xtr = fashion("train", limit)
    model = VAE()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        xtr = xtr.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    t0, n = time.perf_counter(), 0
    for _ in range(epochs):
        for x in xtr[torch.randperm(len(xtr))].split(batch_size):
            step(model, opt, x, bf16)
            n += len(x)
    return model, {"images": n, "seconds": time.perf_counter() - t0}


def test_neg_elbo(model: VAE) -> float:
    """Negative ELBO in nats per test image (one posterior sample, continuous-pixel BCE)."""
    xte = _test if _test is not None else fashion("t10k")
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x in xte.split(1000):
            logits, mu, lv = model(x)
            total += neg_elbo(logits, x, mu, lv).item() * len(x)
    return total / len(xte)
