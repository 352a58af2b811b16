"""The classic VAE tutorial's pictures of a trained model, one function per `zoo` figure command.

Each picks the images it needs from the model's dataset splits, computes, draws a PNG and returns its path
(and any numbers it measured). The drawing itself lives in ``aezoo.figures``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from aezoo import figures, generate
from aezoo.data import Splits
from aezoo.data.splits import to_float

MAX_CODES = 5000  # images encoded to fit Gaussians to a plain AE's codes


def _image(splits: Splits, index: int) -> torch.Tensor:
    n = len(splits.test)
    if not 0 <= index < n:
        raise ValueError(f"image index {index} is out of range: the test split has {n} images (0..{n - 1})")
    return to_float(splits.test.images[index:index + 1])


def _codes(model: Any, splits: Splits) -> torch.Tensor:
    return generate.encode_all(model, to_float(splits.train.images[:MAX_CODES]))


def reconstruction(model: Any, splits: Splits, path: Path, n: int = 16) -> Path:
    originals = splits.test.floats(n)
    with torch.no_grad():
        recon = model.reconstruct(originals).cpu()
    return figures.reconstruction_figure(originals, recon, path)


def latent(model: Any, splits: Splits, path: Path, method: str = "auto", limit: int = 2000) -> list[Path]:
    """The test codes as a scatter coloured by label; for a 2-D latent also the decoded grid (``*-grid.png``)."""
    test = splits.test
    codes = generate.encode_all(model, test.floats(limit))
    labels = None if test.labels is None else test.labels[:limit]
    out = [figures.latent_figure(codes, labels, path, method=method, class_names=splits.classes)]
    if model.latent_dim == 2:
        grid = path.with_name(path.stem + "-grid" + path.suffix)
        out.append(figures.latent_grid_figure(model, grid, codes=None if model.sampler == "prior" else codes))
    return out


def samples(model: Any, splits: Splits, path: Path, n: int = 64, seed: int = 0,
            sampler: str | None = None) -> Path:
    """Decoded draws from the model's default sampler (or ``sampler``); the title names the distribution."""
    generator = torch.Generator().manual_seed(seed)
    sampler = sampler or model.sampler
    prior = generate.fit_sampler(model, sampler, None if sampler == "prior" else _codes(model, splits), seed=seed)
    images = generate.decode_draws(model, prior, n, generator).cpu()
    return figures.image_grid(images, path, nrow=8, title=f"Samples from {prior.title}")


def samples_like(model: Any, splits: Splits, path: Path, index: int, n: int = 10, seed: int = 0) -> Path:
    x = _image(splits, index)
    generator = torch.Generator().manual_seed(seed)
    codes = None if model.capabilities.posterior_density else _codes(model, splits)
    images = generate.sample_like(model, x, n, codes=codes, generator=generator).cpu()
    return figures.rows_figure([("example", x), ("similar", images)], path)


def class_samples(model: Any, splits: Splits, path: Path, label: int, n: int = 16, seed: int = 0) -> Path:
    train = splits.train
    if train.labels is None:
        raise ValueError(f"dataset {splits.name!r} has no labels, so there are no classes to generate from")
    labels = sorted(set(train.labels.tolist()))
    if label not in labels:
        raise ValueError(f"label {label} does not occur in {splits.name!r}; labels are {labels}")
    keep = slice(0, 20000)
    stats = generate.fit_class_gaussians(model, to_float(train.images[keep]), train.labels[keep])
    generator = torch.Generator().manual_seed(seed)
    images = generate.generate_class(model, stats, label, n, generator=generator).cpu()
    name = splits.classes[label] if splits.classes and label < len(splits.classes) else str(label)
    return figures.image_grid(images, path, nrow=8, title=f"Generated: class {name}")


def interpolation(model: Any, splits: Splits, path: Path, start: int, end: int, steps: int = 10,
                  slerp: bool = False) -> Path:
    images = generate.interpolate(model, _image(splits, start), _image(splits, end), steps, slerp=slerp).cpu()
    kind = "spherical" if slerp else "linear"
    return figures.interpolation_figure(images, path, title=f"{kind} interpolation: test image {start} -> {end}")


def restoration(model: Any, splits: Splits, path: Path, kind: str, level: float, n: int = 8,
                inpainting: bool = False, seed: int = 0) -> tuple[Path, dict[str, float]]:
    fn = generate.inpaint if inpainting else generate.denoise
    result = fn(model, splits.test.floats(n), kind=kind, level=level, seed=seed)
    title = f"{'Inpainting' if inpainting else 'Denoising'} ({kind} {level:g})"
    out = figures.corruption_figure(result.corrupted.cpu(), result.restored.cpu(), result.clean.cpu(), path,
                                    errors=result.errors, title=title)
    return out, result.errors
