"""Generation with a trained autoencoder: prior and posterior samples, class-conditional samples,
latent interpolation, denoising and inpainting. All functions run in eval mode without gradients.

A conditional model (``model.capabilities.conditional``) reads class labels: each function takes them (``y``: a
tensor (N,), or one int for all) and passes them to the model; other models ignore them."""
from __future__ import annotations

from typing import NamedTuple

import torch

from aezoo.core.autoencoder import SAMPLERS, AutoEncoder
from aezoo.core.corruptions import make_corruption
from aezoo.core.evaluator import inference, model_device, psnr_per_image
from aezoo.core.maf import FittedFlow
from aezoo.core.priors import Categorical, FittedGaussian, FittedMixture, Prior
from aezoo.core.two_stage import TwoStageVAE

DENOISE_KINDS = ("gaussian", "salt-pepper")
INPAINT_KINDS = ("pixels", "block")


def _batch(x: torch.Tensor) -> torch.Tensor:
    """A single image (C, H, W) as a batch of one; batches pass through. uint8 becomes float in [0, 1]."""
    x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
    return x.unsqueeze(0) if x.dim() == 3 else x


def _randn(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(shape, generator=generator).to(like.device, like.dtype)


def labels_for(model: AutoEncoder, y: torch.Tensor | int | None, n: int) -> torch.Tensor | None:
    """``y`` as (n,) int64 labels on the model's device for a conditional model (one int: all n of that class);
    None for any other model."""
    if not model.conditional:
        return None
    if y is None:
        raise ValueError("the model is conditional (it reads class labels): pass the labels y")
    y = torch.as_tensor(y, dtype=torch.int64)
    return (y.expand(n) if y.dim() == 0 else y.reshape(-1)).to(model_device(model))


def encode_all(model: AutoEncoder, x: torch.Tensor, batch_size: int = 512,
               y: torch.Tensor | None = None) -> torch.Tensor:
    """Codes (posterior means) of a batch of images (labels ``y`` for a conditional model), computed in batches,
    on the CPU."""
    x = _batch(x)
    y = labels_for(model, y, len(x))
    device = model_device(model)
    with inference(model):
        return torch.cat([model.encode(x[i:i + batch_size].to(device), None if y is None else y[i:i + batch_size])
                          .cpu() for i in range(0, len(x), batch_size)]) if len(x) else torch.zeros(0, model.latent_dim)


def fit_sampler(model: AutoEncoder, sampler: str | None = None, codes: torch.Tensor | None = None,
                components: int = 10, seed: int = 0) -> Prior:
    """The distribution generation draws codes from: ``"prior"`` (the model's own), or fitted ex post to training
    ``codes``: ``"gaussian"`` (full covariance), ``"gmm"`` (a ``components``-Gaussian mixture, pythae's GMM
    sampler), ``"maf"`` (a masked autoregressive flow), ``"two-stage"`` (a second VAE on the codes, Dai & Wipf
    2019), ``"categorical"`` (per-position code frequencies of a quantised model). The fits are seeded by
    ``seed``. ``None``: the model's default (``model.capabilities.sampler``)."""
    sampler = sampler or model.sampler
    if sampler == "prior":
        return model.prior
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; expected one of {', '.join(SAMPLERS)}")
    if codes is None:
        raise ValueError(f"the {sampler!r} sampler is fitted to training codes: pass codes=encode_all(model, images)")
    if sampler == "gaussian":
        return FittedGaussian(codes)
    if sampler == "gmm":
        return FittedMixture(codes, components, seed)
    if sampler == "maf":
        return FittedFlow(codes, seed=seed)
    if sampler == "two-stage":
        return TwoStageVAE(codes, seed=seed)
    if model.posterior.kind != "quantised":
        raise ValueError("the 'categorical' sampler needs a quantised (VQ, FSQ) model; use gaussian, gmm, maf or "
                         "two-stage")
    with inference(model):
        indices = model.posterior.code_indices(codes.to(model_device(model)))
    prior = Categorical(model.latent_dim, model.posterior.positions, model.posterior.codebook_size)
    prior.fit(indices, getattr(model.posterior, "pseudo_count", 1.0))
    prior.bind(model)
    return prior.to(model_device(model))


def sample(model: AutoEncoder, n: int, generator: torch.Generator | None = None,
           codes: torch.Tensor | None = None, sampler: str | None = None,
           y: torch.Tensor | int | None = None) -> torch.Tensor:
    """``n`` generated images: decoded draws from ``fit_sampler(model, sampler, codes)``: the model's prior for
    models whose training shapes it (VAEs, WAE), else a density fitted to ``codes`` (e.g.
    ``encode_all(model, train_images)``): a Gaussian for a plain AE, a GMM for an RAE, code frequencies for VQ.
    A conditional model decodes them as the classes ``y``."""
    if (sampler or model.sampler) != "prior" and codes is None:
        raise ValueError(f"this model samples from a density fitted to its codes ({sampler or model.sampler}): pass "
                         f"codes=encode_all(model, images), or sampler='prior' for its prior {model.prior.title}")
    return decode_draws(model, fit_sampler(model, sampler, codes), n, generator, y)


def decode_draws(model: AutoEncoder, prior: Prior, n: int, generator: torch.Generator | None = None,
                 y: torch.Tensor | int | None = None) -> torch.Tensor:
    """``n`` codes drawn from ``prior``, decoded (as the classes ``y``, for a conditional model)."""
    with inference(model):
        z = prior.sample(n, generator=generator)
        return model.decode(z.to(model_device(model)), labels_for(model, y, n))


def sample_like(model: AutoEncoder, x: torch.Tensor, n: int, codes: torch.Tensor | None = None,
                generator: torch.Generator | None = None, scale: float = 0.25,
                y: torch.Tensor | int | None = None) -> torch.Tensor:
    """``n`` variations of one example (of class ``y``, for a conditional model): decoded draws from its
    posterior q(z|x) when that has a density; for a deterministic code, the code plus Gaussian noise of ``scale``
    times the per-dim std of ``codes``."""
    x = _batch(x)[:1].to(model_device(model))
    label = labels_for(model, y if y is None else torch.as_tensor(y).reshape(-1)[:1], 1)
    with inference(model):
        q = model.infer(x, label)
        if q.has_density:
            z = q.sample(n, generator)[:, 0]
        else:
            if codes is None:
                raise ValueError("a deterministic encoder has no posterior to draw from: pass "
                                 "codes=encode_all(model, images) to scale the noise around the example's code")
            mu = q.mean
            std = codes.detach().float().std(0).to(mu.device) if len(codes) > 1 else torch.ones_like(mu[0])
            z = mu + scale * std * _randn((n, model.latent_dim), generator, mu)
        return model.decode(z, None if label is None else label.expand(n))


def fit_class_gaussians(model: AutoEncoder, x: torch.Tensor, y: torch.Tensor) -> dict[int, FittedGaussian]:
    """Per label, a full-covariance Gaussian fitted to the codes of the images ``x`` with that label ``y``."""
    codes = encode_all(model, x, y=y)
    y = torch.as_tensor(y).cpu()
    if len(y) != len(codes):
        raise ValueError(f"{len(codes)} images but {len(y)} labels")
    return {int(label): FittedGaussian(codes[y == label]) for label in torch.unique(y).tolist()}


def generate_class(model: AutoEncoder, stats: dict[int, FittedGaussian], label: int, n: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` images decoded from the Gaussian fitted to class ``label``'s codes."""
    if int(label) not in stats:
        raise ValueError(f"no class statistics for label {label!r}; known labels: {sorted(stats)}")
    return decode_draws(model, stats[int(label)], n, generator, label)


def generate_conditional(model: AutoEncoder, label: int, n: int, generator: torch.Generator | None = None,
                         prior: Prior | None = None) -> torch.Tensor:
    """``n`` images of class ``label`` from a conditional model: draws from ``prior`` (default: the model's own)
    decoded with the label as the decoder's input, so the class comes from the model, not from a fit to codes."""
    if not model.conditional:
        raise ValueError("the model is not conditional: fit per-class Gaussians to its codes instead "
                         "(fit_class_gaussians, generate_class)")
    return decode_draws(model, prior if prior is not None else model.prior, n, generator, int(label))


def latent_path(za: torch.Tensor, zb: torch.Tensor, steps: int, slerp: bool = False) -> torch.Tensor:
    """``steps`` codes from ``za`` to ``zb`` (both (D,)), linear or spherical; endpoints exactly za and zb."""
    if steps < 2:
        raise ValueError(f"steps must be >= 2, got {steps}")
    t = torch.linspace(0, 1, steps, dtype=torch.float64)[:, None]
    a, b = za.double(), zb.double()
    omega = torch.arccos((a / a.norm() * b / b.norm()).sum().clamp(-1, 1)) if a.norm() > 0 and b.norm() > 0 \
        else torch.tensor(0.0, dtype=torch.float64)
    if slerp and torch.sin(omega).abs() > 1e-6:
        path = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)
    else:
        path = (1 - t) * a + t * b
    path = path.to(za.dtype)
    path[0], path[-1] = za, zb
    return path


def interpolate(model: AutoEncoder, a: torch.Tensor, b: torch.Tensor, steps: int = 10,
                slerp: bool = False, ya: int | None = None, yb: int | None = None) -> torch.Tensor:
    """Images (steps, C, H, W) decoded along the latent path between the codes of ``a`` and ``b``;
    the first and last are exactly the reconstructions of ``a`` and ``b``. A conditional model encodes each end
    with its class (``ya``, ``yb``) and decodes each step with the class of the nearer end."""
    device = model_device(model)
    a, b = _batch(a)[:1].to(device), _batch(b)[:1].to(device)
    la, lb = labels_for(model, ya, 1), labels_for(model, yb, 1)
    nearer = None if la is None else torch.cat([la.expand((steps + 1) // 2), lb.expand(steps // 2)])
    with inference(model):
        za, zb = model.encode(a, la), model.encode(b, lb)
        path = latent_path(za[0], zb[0], steps, slerp)
        inner = model.decode(path[1:-1], None if nearer is None else nearer[1:-1]) if steps > 2 \
            else za.new_zeros(0, *a.shape[1:])
        return torch.cat([model.decode(za, la), inner, model.decode(zb, lb)])


class Restoration(NamedTuple):
    """A corrupted batch, the model's restoration, the clean batch, and errors against the clean batch:
    ``restored_mse``/``corrupted_mse`` (per-pixel mean) and ``restored_psnr``/``corrupted_psnr`` (dB); for a
    masking corruption (inpainting) the ``mask`` (N, 1, H, W), True where a pixel was dropped, else None."""

    corrupted: torch.Tensor
    restored: torch.Tensor
    clean: torch.Tensor
    errors: dict[str, float]
    mask: torch.Tensor | None = None


def restore(model: AutoEncoder, x: torch.Tensor, kind: str, level: float, seed: int = 0,
            y: torch.Tensor | None = None) -> Restoration:
    """Corrupt ``x`` (seeded) with corruption ``kind`` at ``level`` and reconstruct it with the model (given the
    labels ``y``, for a conditional model)."""
    clean = _batch(x).to(model_device(model))
    y = labels_for(model, y, len(clean))
    corruption = make_corruption(kind, level)
    mask = None
    with torch.random.fork_rng(devices=[] if clean.device.type == "cpu" else [clean.device]):
        torch.manual_seed(seed)
        if hasattr(corruption, "mask"):
            mask = corruption.mask(clean)
            corrupted = clean * ~mask
        else:
            corrupted = corruption(clean)
    with inference(model):
        restored = model.reconstruct(corrupted, y)
    errors = {}
    for name, images in (("restored", restored), ("corrupted", corrupted)):
        errors[f"{name}_mse"] = (images - clean).pow(2).mean().item()
        errors[f"{name}_psnr"] = psnr_per_image(images, clean).mean().item()
    return Restoration(corrupted, restored, clean, errors, mask)


def denoise(model: AutoEncoder, x: torch.Tensor, kind: str = "gaussian", level: float = 0.3,
            seed: int = 0, y: torch.Tensor | None = None) -> Restoration:
    """Add noise (``gaussian`` std or ``salt-pepper`` fraction) and let the model clean it."""
    if kind not in DENOISE_KINDS:
        raise ValueError(f"unknown noise {kind!r}; expected one of {', '.join(DENOISE_KINDS)}")
    return restore(model, x, kind, level, seed, y)


def inpaint(model: AutoEncoder, x: torch.Tensor, kind: str = "block", level: float = 0.4,
            seed: int = 0, y: torch.Tensor | None = None) -> Restoration:
    """Drop pixels (``pixels`` probability) or a block (``block`` side fraction) and let the model fill them."""
    if kind not in INPAINT_KINDS:
        raise ValueError(f"unknown mask {kind!r}; expected one of {', '.join(INPAINT_KINDS)}")
    return restore(model, x, kind, level, seed, y)
