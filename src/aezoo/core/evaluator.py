"""Evaluation of a trained autoencoder on a dataset: reconstruction, likelihood bounds, latent usage, probes.

Keys of the dict returned by :meth:`Evaluator.evaluate` (all plain JSON types; nats are natural-log units):

- ``n_images``, ``input_shape``, ``latent_dim``, ``variational``
- ``bce``: binary cross-entropy of the reconstruction (decoded posterior mean) against the input, summed over
  pixels, mean over images (nats per image). ``mse``: squared error summed over pixels, mean over images.
- ``psnr``: mean over images of ``10 log10(1 / mse_i)`` where ``mse_i`` is the per-pixel mean squared error of
  image ``i`` with pixel values in [0, 1]; an exact reconstruction counts as ``PSNR_CAP`` dB.
- variational models only: ``kl`` (closed-form KL(q(z|x) || N(0, I)), mean per image), ``neg_elbo``
  (Bernoulli reconstruction term from ``elbo_samples`` posterior draws + ``kl``, nats per image),
  ``iw_nll`` (importance-weighted estimate of -log p(x) with ``iw_samples`` draws, Bernoulli likelihood,
  nats per image; an upper bound on the NLL that tightens with K, equal to the ELBO in expectation at K=1),
  ``iw_samples``.
- ``active_units``: number of latent dims whose posterior mean (the code, for a plain AE, whose scale is
  arbitrary) varies over the dataset by more than ``active_threshold``; ``latent_variances``: those variances.
- ``probe_accuracy``, ``probe_train_size``: logistic regression on training codes -> accuracy on these codes
  (only when both splits have labels and a training split was given).
- ``compression_ratio`` = ``input_bytes`` (C*H*W, uint8) / ``latent_bytes`` (latent_dim float32 = 4 bytes each).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.objectives import gaussian_kl
from aezoo.data.splits import Split

PSNR_CAP = 100.0  # dB given to an image reconstructed exactly (mse 0)
LOG_2PI = math.log(2 * math.pi)


@contextmanager
def inference(model: torch.nn.Module) -> Iterator[None]:
    """Eval mode and no grad for the block; the previous train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was_training)


def model_device(model: torch.nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def as_split(data: Split | torch.Tensor) -> Split:
    """A Split from a Split or an image tensor (uint8 or float in [0, 1], (N, C, H, W))."""
    return data if isinstance(data, Split) else Split(data)


def psnr_per_image(reconstruction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each image (pixel values in [0, 1], peak 1) from its per-pixel mean squared error."""
    mse = (reconstruction - target).pow(2).flatten(1).mean(1)
    psnr = 10 * torch.log10(1.0 / mse)
    return psnr.clamp(max=PSNR_CAP)


def log_normal(z: torch.Tensor, mu: torch.Tensor | None = None, logvar: torch.Tensor | None = None) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)) summed over the last dim; standard normal when mu/logvar are None."""
    mu = torch.zeros_like(z) if mu is None else mu
    logvar = torch.zeros_like(z) if logvar is None else logvar
    return -0.5 * (LOG_2PI + logvar + (z - mu).pow(2) / logvar.exp()).sum(-1)


def compression_ratio(input_shape: tuple[int, int, int], latent_dim: int) -> dict[str, float]:
    """Bytes of a uint8 image over bytes of its float32 code."""
    input_bytes = int(np.prod(input_shape))
    latent_bytes = 4 * int(latent_dim)
    return {"input_bytes": input_bytes, "latent_bytes": latent_bytes, "compression_ratio": input_bytes / latent_bytes}


def active_units(means: torch.Tensor, threshold: float = 0.01) -> dict[str, Any]:
    """Count of dims whose mean code varies over the dataset (population variance) more than ``threshold``."""
    variances = means.double().var(0, unbiased=False) if len(means) > 0 else torch.zeros(means.shape[1])
    return {"active_units": int((variances > threshold).sum()), "latent_variances": variances.tolist(),
            "active_threshold": float(threshold)}


def linear_probe(train_codes: np.ndarray, train_labels: np.ndarray, test_codes: np.ndarray,
                 test_labels: np.ndarray, max_train: int = 10_000, seed: int = 0) -> dict[str, Any]:
    """Accuracy on test codes of a logistic regression fitted on (at most ``max_train``) training codes."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if len(train_codes) > max_train:
        keep = np.random.default_rng(seed).choice(len(train_codes), max_train, replace=False)
        train_codes, train_labels = train_codes[keep], train_labels[keep]
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    probe.fit(train_codes, train_labels)
    return {"probe_accuracy": float(probe.score(test_codes, test_labels)), "probe_train_size": int(len(train_codes))}


@dataclass
class Evaluator:
    """Computes the metrics listed in the module docstring; stochastic parts are seeded by ``seed``."""

    batch_size: int = 256
    iw_samples: int = 100
    iw_chunk: int = 8192  # at most this many (image, sample) pairs decoded at once
    elbo_samples: int = 1
    active_threshold: float = 0.01
    probe_max_train: int = 10_000
    seed: int = 0

    def evaluate(self, model: AutoEncoder, data: Split | torch.Tensor,
                 train: Split | None = None) -> dict[str, Any]:
        """All metrics of ``model`` on ``data``; ``train`` (with labels) enables the linear probe."""
        data = as_split(data)
        generator = torch.Generator().manual_seed(self.seed)
        result: dict[str, Any] = {"n_images": len(data), "input_shape": list(model.input_shape),
                                  "latent_dim": model.latent_dim, "variational": model.variational}
        sums = {"bce": 0.0, "mse": 0.0, "psnr": 0.0, "kl": 0.0, "neg_elbo": 0.0, "iw_nll": 0.0}
        means = []
        device = model_device(model)
        with inference(model):
            for x, _ in data.batches(self.batch_size, device=device):
                mu, logvar = model.posterior(x)
                means.append(mu.cpu())
                logits = model.decoder(mu)
                recon = torch.sigmoid(logits)
                sums["bce"] += F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).sum().item()
                sums["mse"] += (recon - x).pow(2).flatten(1).sum(1).sum().item()
                sums["psnr"] += psnr_per_image(recon, x).sum().item()
                if logvar is not None:
                    kl = gaussian_kl(mu, logvar)
                    sums["kl"] += kl.sum().item()
                    sums["neg_elbo"] += (self._expected_bce(model, x, mu, logvar, generator) + kl).sum().item()
                    sums["iw_nll"] += -self._iw_log_likelihood(model, x, mu, logvar, generator).sum().item()
        n = max(len(data), 1)
        keys = ("bce", "mse", "psnr") + (("kl", "neg_elbo", "iw_nll") if model.variational else ())
        result.update({k: sums[k] / n for k in keys})
        if model.variational:
            result["iw_samples"] = int(self.iw_samples)
        codes = torch.cat(means) if means else torch.zeros(0, model.latent_dim)
        result.update(active_units(codes, self.active_threshold))
        if train is not None and train.labels is not None and data.labels is not None:
            if len(train) > self.probe_max_train:  # a seeded random subset, encoded once
                keep = torch.from_numpy(np.random.default_rng(self.seed).choice(len(train), self.probe_max_train,
                                                                                replace=False))
                train = Split(train.images[keep], train.labels[keep])
            train_codes = self.codes(model, train)
            result.update(linear_probe(train_codes.numpy(), train.labels.numpy(), codes.numpy(),
                                       data.labels.numpy(), self.probe_max_train, self.seed))
        result.update(compression_ratio(model.input_shape, model.latent_dim))
        return result

    def codes(self, model: AutoEncoder, data: Split | torch.Tensor, limit: int | None = None) -> torch.Tensor:
        """Posterior means (codes) of the first ``limit`` images, on the CPU."""
        data = as_split(data)
        if limit is not None and limit < len(data):
            data = Split(data.images[:limit], None if data.labels is None else data.labels[:limit])
        out = []
        with inference(model):
            for x, _ in data.batches(self.batch_size, device=model_device(model)):
                out.append(model.encode(x).cpu())
        return torch.cat(out) if out else torch.zeros(0, model.latent_dim)

    def _draw(self, mu: torch.Tensor, logvar: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        """``k`` posterior draws per image, shaped (k, B, D)."""
        eps = torch.randn((k, *mu.shape), generator=generator).to(mu.device, mu.dtype)
        return mu + eps * (0.5 * logvar).exp()

    def _expected_bce(self, model: AutoEncoder, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                      generator: torch.Generator) -> torch.Tensor:
        """Monte-Carlo E_q[-log p(x|z)] (Bernoulli) per image from ``elbo_samples`` draws."""
        z = self._draw(mu, logvar, self.elbo_samples, generator)
        logits = model.decoder(z.flatten(0, 1))
        target = x.expand(self.elbo_samples, *x.shape).flatten(0, 1)
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(1)
        return bce.view(self.elbo_samples, -1).mean(0)

    def _iw_log_likelihood(self, model: AutoEncoder, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                           generator: torch.Generator) -> torch.Tensor:
        """log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) per image, decoding in chunks of samples."""
        k_total = int(self.iw_samples)
        if k_total < 1:
            raise ValueError(f"iw_samples must be >= 1, got {k_total}")
        per_chunk = max(1, self.iw_chunk // max(len(x), 1))
        log_w = []
        for start in range(0, k_total, per_chunk):
            k = min(per_chunk, k_total - start)
            z = self._draw(mu, logvar, k, generator)  # (k, B, D)
            logits = model.decoder(z.flatten(0, 1))
            target = x.expand(k, *x.shape).flatten(0, 1)
            log_px = -F.binary_cross_entropy_with_logits(logits, target, reduction="none").flatten(1).sum(1)
            log_w.append(log_px.view(k, -1) + log_normal(z) - log_normal(z, mu, logvar))
        return torch.logsumexp(torch.cat(log_w), 0) - math.log(k_total)


def evaluate(model: AutoEncoder, data: Split | torch.Tensor, train: Split | None = None,
             **options: Any) -> dict[str, Any]:
    """Shorthand for ``Evaluator(**options).evaluate(model, data, train)``."""
    return Evaluator(**options).evaluate(model, data, train)
