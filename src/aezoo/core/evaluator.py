"""Evaluation of a trained autoencoder on a dataset with the model's own posterior, prior and likelihood.

Keys of the dict returned by :meth:`Evaluator.evaluate` (all plain JSON types; nats are natural-log units):

- ``n_images``, ``input_shape``, ``latent_dim``; ``posterior`` (its kind: gaussian, point, quantised, flow, ...), ``prior`` (which
  distribution), ``likelihood`` (bernoulli, gaussian), ``binarize`` (how pixels were binarised, if at all)
- ``bce``: binary cross-entropy of the reconstruction (decoded posterior mean) against the input, summed over
  pixels, mean over images (nats per image). ``mse``: squared error summed over pixels, mean over images.
- ``psnr``: mean over images of ``10 log10(1 / mse_i)`` where ``mse_i`` is the per-pixel mean squared error of
  image ``i`` with pixel values in [0, 1]; an exact reconstruction counts as ``PSNR_CAP`` dB.
- ``rec_nll``: -log p(x|z) at the posterior mean under the model's likelihood (nats per image).
- where the posterior and the prior both have densities: ``kl`` (KL(q(z|x) || p(z)) by
  ``aezoo.core.objectives.kl_to_prior``, as training computes it: the pair's own closed form, torch.distributions'
  one, else Monte-Carlo from the ``elbo_samples`` draws); for a hierarchical posterior (``q.kl_per_level``) also
  ``kl_level1``, ``kl_level2``, ... (level 1: the one the decoder reads), which sum to ``kl``; and where the
  objective also trains the likelihood (not a loss on discriminator features or MS-SSIM) ``neg_elbo``
  (E_q[-log p(x|z)] over ``elbo_samples`` draws per image + ``kl``) and ``elbo_samples``, ``iw_nll``
  (importance-weighted estimate of -log p(x) with ``iw_samples`` draws, an upper bound on the NLL that tightens
  with K, equal to the ELBO in expectation at K=1) and ``iw_samples``. A categorical (one-hot) posterior counts as
  having a density (its mass): one-hot draws give the discrete -ELBO and IW-NLL. For a quantised code with a
  categorical prior: ``kl`` (-log P(code), positions x log K for a uniform prior) and ``neg_elbo``; none of the
  three for a posterior that declares ``no_bound`` (FSQ: a fixed grid and no trained prior), with its reason.
- ``conditioned_on``: for a conditional model (one that reads class labels) with a likelihood bound, what its
  likelihood numbers are conditioned on: they bound -log p(x|y).
- ``not_applicable``: metric -> the reason it is absent for this model (never reported as 0).
- family metrics from the model's parts (e.g. ``perplexity`` of a VQ codebook, ``mmd`` to the prior).
- ``active_units``: number of latent dims whose posterior mean (the code, for a plain AE, whose scale is
  arbitrary) varies over the dataset by more than ``active_threshold``; ``latent_variances``: those variances.
- ``probe_accuracy``, ``probe_train_size``: logistic regression on training codes -> accuracy on these codes
  (only when both splits have labels and a training split was given).
- ``compression_ratio`` = ``input_bits`` (8 per pixel and channel) / ``code_bits`` (the posterior's code size:
  32 per float dimension, log2(codebook size) per quantised position).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from aezoo.core.autoencoder import AutoEncoder, require_labels
from aezoo.core.objectives import kl_to_prior
from aezoo.core.priors import Categorical
from aezoo.data.splits import BINARIZE, Split, binarized

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


def compression_ratio(input_shape: tuple[int, int, int], code_bits: float) -> dict[str, float]:
    """Bits of a uint8 image over bits of its code."""
    input_bits = 8 * int(np.prod(input_shape))
    return {"input_bits": input_bits, "code_bits": float(code_bits), "compression_ratio": input_bits / code_bits}


def check_binarize(how: str) -> str:
    if how not in BINARIZE:
        raise ValueError(f"unknown binarization {how!r}; expected {', '.join(BINARIZE)}")
    return how


def binarize(x: torch.Tensor, how: str, generator: torch.Generator) -> torch.Tensor:
    """A batch's pixels in [0, 1] as 0/1 for ``dynamic`` binarisation (a Bernoulli draw per pixel from
    ``generator``, as Burda et al. 2015); unchanged for ``none`` and ``static`` (whose images were drawn once for
    the whole split, ``aezoo.data.splits.binarized``)."""
    if check_binarize(how) != "dynamic":
        return x
    return torch.bernoulli(x.cpu().float(), generator=generator).to(x.device, x.dtype)


def active_units(means: torch.Tensor, threshold: float = 0.01) -> dict[str, Any]:
    """Count of dims whose mean code varies over the dataset (population variance) more than ``threshold``."""
    variances = means.double().var(0, unbiased=False) if len(means) > 0 else torch.zeros(means.shape[1])
    return {"active_units": int((variances > threshold).sum()), "latent_variances": variances.tolist(),
            "active_threshold": float(threshold)}


def linear_probe(train_codes: np.ndarray, train_labels: np.ndarray, encode_test: np.ndarray,
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
    return {"probe_accuracy": float(probe.score(encode_test, test_labels)), "probe_train_size": int(len(train_codes))}


def _no_levels(prior: Any, z: torch.Tensor) -> tuple:
    return ()


CONDITIONED_ON = ("each image's class label: -ELBO and IW-NLL bound -log p(x|y), not -log p(x), and do not compare "
                  "with an unconditional model's")
NO_POSTERIOR_DENSITY = "the encoder is deterministic: q(z|x) has no density, so there is no ELBO or IW bound"
NO_PRIOR_DENSITY = "the prior has no density"
ONE_HOT = "a quantised code has a one-hot posterior: the IW bound equals the ELBO"


def not_applicable(model: AutoEncoder) -> dict[str, str]:
    """The likelihood metrics a model does not define, each with the reason. An objective that does not train the
    likelihood (``likelihood_unused``: a feature-matching or MS-SSIM loss) leaves the pixel -log p(x|z), -ELBO and
    IW-NLL undefined; the KL of a posterior with a density to a prior with one stays defined."""
    caps = model.capabilities
    declared = getattr(model.posterior, "no_bound", "")  # a posterior that says why it defines no bound
    if declared:
        return {k: declared for k in ("kl", "neg_elbo", "iw_nll")}
    unused = caps.likelihood_unused
    skip = {k: unused for k in ("rec_nll", "neg_elbo", "iw_nll")} if unused else {}
    if caps.posterior_density and caps.prior_density:
        return skip
    if caps.posterior == "quantised" and isinstance(model.prior, Categorical):
        return {"iw_nll": ONE_HOT, **skip}
    reason = NO_POSTERIOR_DENSITY if not caps.posterior_density else NO_PRIOR_DENSITY
    return {**skip, **{k: reason for k in ("kl", "neg_elbo", "iw_nll")}}


@dataclass
class Evaluator:
    """Computes the metrics listed in the module docstring; stochastic parts are seeded by ``seed``."""

    batch_size: int = 256
    iw_samples: int = 100
    iw_chunk: int = 8192  # at most this many (image, sample) pairs decoded at once
    elbo_samples: int = 1
    active_threshold: float = 0.01
    probe_max_train: int = 10_000
    binarize: str = "none"  # for Bernoulli models: "dynamic" (pixels drawn as 0/1 per evaluation, seeded), "static"
    # (drawn once per dataset with ``seed``, aezoo.data.splits.binarized) or "none"
    seed: int = 0

    def evaluate(self, model: AutoEncoder, data: Split | torch.Tensor,
                 train: Split | None = None) -> dict[str, Any]:
        """All metrics of ``model`` on ``data``; ``train`` (with labels) enables the linear probe."""
        for name in ("iw_samples", "elbo_samples"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        data = as_split(data)
        require_labels(model, data.labels, "the evaluation data")
        generator = torch.Generator().manual_seed(self.seed)
        caps = model.capabilities
        skip = not_applicable(model)
        how = check_binarize(self.binarize) if model.likelihood.name == "bernoulli" else "none"  # 0/1 pixels
        data = binarized(data, self.seed) if how == "static" else data
        result: dict[str, Any] = {"n_images": len(data), "input_shape": list(model.input_shape),
                                  "latent_dim": model.latent_dim, "posterior": caps.posterior,
                                  "prior": caps.prior_title, "likelihood": model.likelihood.name, "binarize": how}
        if caps.conditional and caps.likelihood_bound:
            result["conditioned_on"] = CONDITIONED_ON
        sums: dict[str, float] = {}
        means = []
        device = model_device(model)

        def add(name: str, values: torch.Tensor) -> None:
            sums[name] = sums.get(name, 0.0) + float(values.double().sum())

        with inference(model):
            for x, y in data.batches(self.batch_size, device=device):
                x = binarize(x, how, generator)
                y = y.to(device) if caps.conditional else None
                q = model.infer(x, y)
                means.append(q.mean.float().cpu())
                logits = model.logits(q.mean, y)
                recon = model.likelihood.mean(logits)
                add("bce", F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1))
                add("mse", (recon - x).pow(2).flatten(1).sum(1))
                add("psnr", psnr_per_image(recon, x))
                if "rec_nll" not in skip:
                    add("rec_nll", -model.likelihood.log_prob(logits, x))
                if caps.posterior_density and caps.prior_density:
                    z = q.sample(self.elbo_samples, generator)  # (k, B, D)
                    kl = kl_to_prior(q, model.prior, z)
                    add("kl", kl)
                    for level, kl_level in enumerate(getattr(q, "kl_per_level", _no_levels)(model.prior, z), 1):
                        add(f"kl_level{level}", kl_level)
                    if caps.likelihood_bound:
                        add("neg_elbo", self._expected_nll(model, x, z, y) + kl)
                        add("iw_nll", -self._iw_log_likelihood(model, x, q, generator, y))
                elif "kl" not in skip:  # a quantised code under a categorical prior: KL = -log P(code)
                    kl = -model.prior.log_mass(q.indices)
                    add("kl", kl)
                    if "neg_elbo" not in skip:
                        add("neg_elbo", -model.likelihood.log_prob(logits, x) + kl)
                for k, v in model.eval_metrics(x, q).items():
                    add(k, v.detach().reshape(1) * len(x))
        n = max(len(data), 1)
        result.update({k: v / n for k, v in sums.items()})
        if "iw_nll" in result:
            result["iw_samples"] = int(self.iw_samples)
        if caps.likelihood_bound:
            result["elbo_samples"] = int(self.elbo_samples)
        if skip:
            result["not_applicable"] = skip
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
        result.update(compression_ratio(model.input_shape, model.posterior.code_bits()))
        return result

    def codes(self, model: AutoEncoder, data: Split | torch.Tensor, limit: int | None = None) -> torch.Tensor:
        """Posterior means (codes) of the first ``limit`` images, on the CPU."""
        data = as_split(data)
        if limit is not None and limit < len(data):
            data = Split(data.images[:limit], None if data.labels is None else data.labels[:limit])
        require_labels(model, data.labels, "the data to encode")
        out, device = [], model_device(model)
        with inference(model):
            for x, y in data.batches(self.batch_size, device=device):
                out.append(model.encode(x, y.to(device) if model.conditional else None).float().cpu())
        return torch.cat(out) if out else torch.zeros(0, model.latent_dim)

    def _expected_nll(self, model: AutoEncoder, x: torch.Tensor, z: torch.Tensor,
                      y: torch.Tensor | None = None) -> torch.Tensor:
        """Monte-Carlo E_q[-log p(x|z)] per image from the draws ``z`` (k, B, D), decoding in chunks of draws."""
        per_chunk = max(1, self.iw_chunk // max(len(x), 1))
        total = 0.0
        for part in z.split(per_chunk):
            total = total - model.likelihood.log_prob(model.logits(part, y), x).sum(0)
        return total / z.shape[0]

    def _iw_log_likelihood(self, model: AutoEncoder, x: torch.Tensor, q: Any, generator: torch.Generator,
                           y: torch.Tensor | None = None) -> torch.Tensor:
        """log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x) per image, decoding in chunks of samples."""
        k_total = int(self.iw_samples)
        per_chunk = max(1, self.iw_chunk // max(len(x), 1))
        log_w = []
        for start in range(0, k_total, per_chunk):
            k = min(per_chunk, k_total - start)
            z = q.sample(k, generator)  # (k, B, D)
            logits = model.logits(z, y)
            log_w.append(model.likelihood.log_prob(logits, x) + model.prior.log_prob(z) - q.log_prob(z))
        log_w = torch.cat(log_w)
        return torch.logsumexp(log_w, 0) - math.log(k_total)


def evaluate(model: AutoEncoder, data: Split | torch.Tensor, train: Split | None = None,
             **options: Any) -> dict[str, Any]:
    """Shorthand for ``Evaluator(**options).evaluate(model, data, train)``."""
    return Evaluator(**options).evaluate(model, data, train)
