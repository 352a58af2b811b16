"""The classic VAE tutorial's pictures of a trained model, one function per `zoo` figure command.

Each picks the test images it needs (seeded and spread across classes, see ``aezoo.viz.picks``, unless the caller
names them), computes, and returns an ``aezoo.viz.figure.Figure`` whose title names the run and what is shown
(``title=`` replaces it), with ``fig.picks`` (the test images used, with their labels) and ``fig.info`` (any
numbers it measured). ``fig.save(path, dpi=...)`` writes the PNG; the drawing itself lives in ``aezoo.viz.draw``.
"""
from __future__ import annotations

from typing import Any, Sequence

import torch

from aezoo.core import sampling as generate
from aezoo.data import Splits
from aezoo.data.splits import to_float
from aezoo.viz import draw as figures
from aezoo.viz.figure import Figure, figure_function, set_title
from aezoo.viz.labels import run_label
from aezoo.viz.picks import Picks, chosen, class_name, pairs, pick, spread

MAX_CODES = 5000  # training images encoded to fit a density to a model's codes
MAX_CLASS_CODES = 20000  # training images encoded to fit the per-class Gaussians
DENOISE_DEFAULT = ("gaussian", 0.3)
INPAINT_DEFAULT = ("block", 0.4)
DEFAULT_LEVELS = {"gaussian": 0.3, "salt-pepper": 0.2, "pixels": 0.5, "block": 0.4}


def _floats(splits: Splits, picks: Picks) -> torch.Tensor:
    return to_float(splits.test.images[picks.indices])


def _train_subset(splits: Splits, limit: int) -> torch.Tensor:
    """Up to ``limit`` training images spread over the classes (the split may be stored sorted by label)."""
    train = splits.train
    return to_float(train.images[sorted(spread(train.labels, limit, len(train)))])


def train_codes(model: Any, splits: Splits) -> torch.Tensor:
    """Codes of up to MAX_CODES training images spread over the classes (to fit a density to)."""
    return generate.encode_all(model, _train_subset(splits, MAX_CODES))


def default_picks(splits: Splits, n: int, indices: Sequence[int] | None = None) -> Picks:
    """The test images a figure shows: ``indices`` when given, else ``n`` seeded picks spread across classes."""
    if indices is not None:
        return chosen(splits.test, indices, splits.classes)
    return pick(splits.test, n, splits.classes)


def _shown(fig: Figure, picks: Sequence[Picks] = (), **info: Any) -> Figure:
    fig.picks = list(picks)
    fig.info.update(info)
    return fig


def _titled(title: str | None, model: Any, what: str) -> str:
    """``title`` when given, else ``RUN: what``."""
    return title if title is not None else f"{run_label(model)}: {what}"


@figure_function
def reconstruction(model: Any, splits: Splits, n: int = 16, indices: Sequence[int] | None = None,
                   title: str | None = None) -> Figure:
    """Test images (their classes under them) above the model's reconstructions."""
    picks = default_picks(splits, n, indices)
    originals = _floats(splits, picks)
    with torch.no_grad():
        recon = model.reconstruct(originals).cpu()
    title = _titled(title, model, "test images (top) and their reconstructions (bottom)")
    return _shown(figures.reconstruction_figure(originals, recon, title, captions=picks.names()), [picks])


def encode_test(model: Any, splits: Splits, limit: int = 2000) -> tuple[torch.Tensor, Any]:
    """Codes of up to ``limit`` test images spread over the classes, and their labels (None if unlabelled)."""
    test = splits.test
    keep = sorted(spread(test.labels, limit, len(test)))
    return generate.encode_all(model, to_float(test.images[keep])), None if test.labels is None else test.labels[keep]


@figure_function
def latent(model: Any, splits: Splits, method: str = "auto", limit: int = 2000, title: str | None = None) -> Figure:
    """The test codes as a scatter coloured by label: the codes themselves for a 2-D latent, else a t-SNE (with
    its caveat), PCA or UMAP map (``method``)."""
    codes, labels = encode_test(model, splits, limit)
    fig = figures.latent_figure(codes, labels, method=method, class_names=splits.classes)
    what = f"latent space, {len(codes)} test codes coloured by class ({fig.info['plane']})"
    set_title(fig, _titled(title, model, what))
    return _shown(fig, test_images_mapped=len(codes))


@figure_function
def latent_grid(model: Any, splits: Splits, n: int = 15, limit: int = 2000, title: str | None = None) -> Figure:
    """A 2-D latent's plane decoded on an n x n grid over the region the test codes occupy."""
    codes, _ = encode_test(model, splits, limit)
    return figures.latent_grid_figure(model, n=n, codes=codes, title=_titled(
        title, model, "images decoded on a grid over the region of the test codes (z1, z2)"))


@figure_function
def samples(model: Any, splits: Splits, n: int = 64, seed: int = 0, sampler: str | None = None,
            title: str | None = None) -> Figure:
    """Decoded draws from the model's default sampler (or ``sampler``); the title names the distribution."""
    generator = torch.Generator().manual_seed(seed)
    sampler = sampler or model.sampler
    prior = generate.fit_sampler(model, sampler, None if sampler == "prior" else train_codes(model, splits), seed=seed)
    images = generate.decode_draws(model, prior, n, generator).cpu()
    fig = figures.image_grid(images, nrow=8, title=_titled(title, model, f"{n} samples decoded from {prior.title}"))
    return _shown(fig, sampler=sampler, distribution=prior.title)


@figure_function
def samples_like(model: Any, splits: Splits, index: int | None = None, n: int = 10, seed: int = 0,
                 title: str | None = None) -> Figure:
    """Variations of one test image: decoded draws from its posterior (or around its code, for a deterministic
    encoder)."""
    picks = default_picks(splits, 1, None if index is None else [index])
    x = _floats(splits, picks)
    generator = torch.Generator().manual_seed(seed)
    density = model.capabilities.posterior_density
    codes = None if density else train_codes(model, splits)
    images = generate.sample_like(model, x, n, codes=codes, generator=generator).cpu()
    caption = f"#{picks.indices[0]}" + (f" ({picks.names()[0]})" if picks.labels else "")
    how = "draws from its posterior q(z|x)" if density else "its code plus Gaussian noise"
    title = _titled(title, model, f"{n} images like test image {caption}, decoded from {how}")
    return _shown(figures.rows_figure([("example", x, [caption]), ("similar", images)], title), [picks])


def class_labels(splits: Splits) -> list[int]:
    """The labels of the training split, sorted; a ValueError for unlabelled data."""
    if splits.train.labels is None:
        raise ValueError(f"dataset {splits.name!r} has no labels, so there are no classes to generate from")
    return sorted(set(splits.train.labels.tolist()))


@figure_function
def class_samples(model: Any, splits: Splits, label: int | None = None, n: int = 16, seed: int = 0,
                  title: str | None = None) -> Figure:
    """Images of class ``label`` (``None``: every class, one row each) from Gaussians fitted to each class's
    training codes."""
    labels = class_labels(splits)
    if label is not None and label not in labels:
        raise ValueError(f"label {label} does not occur in {splits.name!r}; labels are {labels}")
    train = splits.train
    keep = sorted(spread(train.labels, MAX_CLASS_CODES, len(train)))
    stats = generate.fit_class_gaussians(model, to_float(train.images[keep]), train.labels[keep])
    generator = torch.Generator().manual_seed(seed)
    if label is not None:
        images = generate.generate_class(model, stats, label, n, generator=generator).cpu()
        title = _titled(title, model, f"{n} images of class {class_name(label, splits.classes)}, decoded from a "
                                      "Gaussian fitted to that class's training codes")
        return _shown(figures.image_grid(images, nrow=8, title=title), labels=[label])
    drawn = {c: generate.generate_class(model, stats, c, n, generator=generator).cpu() for c in labels}
    rows = [(class_name(c, splits.classes), images) for c, images in drawn.items()]
    title = _titled(title, model, "one row per class, decoded from a Gaussian fitted to each class's training codes")
    return _shown(figures.rows_figure(rows, title), labels=list(drawn))


@figure_function
def interpolation(model: Any, splits: Splits, start: int | None = None, end: int | None = None, steps: int = 10,
                  slerp: bool = False, count: int = 1, title: str | None = None) -> Figure:
    """Decoded latent paths between two test images (``start``, ``end``; default: ``count`` seeded pairs of
    different classes), each row framed by the two original images."""
    if (start is None) != (end is None):
        raise ValueError("give both ends of the interpolation (--from and --to), or neither for a seeded pair of "
                         "test images of different classes")
    groups = pairs(splits.test, count, splits.classes) if start is None else \
        [chosen(splits.test, [start, end], splits.classes)]
    rows = []
    for picks in groups:
        a, b = _floats(splits, picks)
        path_images = generate.interpolate(model, a, b, steps, slerp=slerp).cpu()
        names = picks.names()
        captions = [f"#{i}" + (f" ({c})" if c else "") for i, c in zip(picks.indices, names)]
        images = torch.cat([a[None], path_images, b[None]])
        rows.append(("", images, [f"{captions[0]}\noriginal", *[""] * steps, f"{captions[1]}\noriginal"]))
    kind = "spherical" if slerp else "linear"
    title = _titled(title, model, f"{kind} interpolation, originals at both ends, the decoded path between their "
                                  "codes in between")
    return _shown(figures.rows_figure(rows, title), groups, interpolation=kind)


def trained_corruption(model: Any) -> tuple[str, float] | None:
    """The corruption the model was trained on: ``model.capabilities.corruption``, else read from the run's
    hyperparameters (``noise``/``noise_level``, ``mask``/``mask_level``); None when it was trained on clean data."""
    corruption = model.capabilities.corruption
    if corruption is not None:
        return corruption
    hp = model.run.hyperparameters if getattr(model, "run", None) is not None else {}
    for kind, level in (("noise", "noise_level"), ("mask", "mask_level")):
        if hp.get(kind) in DEFAULT_LEVELS:
            return hp[kind], float(hp.get(level, DEFAULT_LEVELS[hp[kind]]))
    return None


def corruption_for(model: Any, inpainting: bool, kind: str | None = None,
                   level: float | None = None) -> tuple[str, float, bool]:
    """(kind, level, trained): the model's own training corruption and level unless ``kind``/``level`` say
    otherwise; ``trained`` tells whether the model was trained on that kind of corruption."""
    kinds = generate.INPAINT_KINDS if inpainting else generate.DENOISE_KINDS
    own = trained_corruption(model)
    own = own if own is not None and own[0] in kinds else None
    kind = kind or (own[0] if own else (INPAINT_DEFAULT if inpainting else DENOISE_DEFAULT)[0])
    if level is None:
        level = own[1] if own and own[0] == kind else DEFAULT_LEVELS[kind]
    return kind, float(level), own is not None and own[0] == kind


@figure_function
def restoration(model: Any, splits: Splits, kind: str | None = None, level: float | None = None, n: int = 8,
                inpainting: bool = False, seed: int = 0, title: str | None = None) -> Figure:
    """Corrupted test images, the model's restoration and the originals; by default with the corruption and level
    the model was trained on. Masked pixels (inpainting) are drawn in ``draw.MASK_COLOUR``."""
    kind, level, trained = corruption_for(model, inpainting, kind, level)
    picks = default_picks(splits, n)
    fn = generate.inpaint if inpainting else generate.denoise
    result = fn(model, _floats(splits, picks), kind=kind, level=level, seed=seed)
    what = "inpainting" if inpainting else "denoising"
    note = "the model's training corruption" if trained else "the model was NOT trained on this corruption"
    title = _titled(title, model, f"{what} ({kind} {level:g}; {note})")
    fig = figures.corruption_figure(result.corrupted.cpu(), result.restored.cpu(), result.clean.cpu(),
                                    errors=result.errors, title=title, captions=picks.names(),
                                    mask=None if result.mask is None else result.mask.cpu())
    return _shown(fig, [picks], corruption=kind, level=level, trained_for_it=trained, errors=result.errors)


def dimension_scores(model: Any, x: torch.Tensor) -> tuple[torch.Tensor, str]:
    """Per latent dimension, how much it is used: the mean KL(q(z_d|x) || N(0, 1)) for a Gaussian posterior under
    a standard-normal prior, else the variance of the codes over ``x``; and the score's name."""
    from aezoo.core.evaluator import inference, model_device
    from aezoo.core.priors import StandardNormal

    with inference(model):
        q = model.infer(x.to(model_device(model)))
    logvar = getattr(q, "logvar", None)
    if q.has_density and logvar is not None and isinstance(model.prior, StandardNormal):
        mu, logvar = q.mean.double().cpu(), logvar.double().cpu()
        return (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar)).mean(0).float(), "KL"
    return q.mean.double().cpu().var(0).float(), "variance"


@figure_function
def traversal(model: Any, splits: Splits, dims: int = 8, steps: int = 9, index: int | None = None,
              title: str | None = None) -> Figure:
    """Latent traversals: each of the ``dims`` most used dimensions (by KL, else code variance) swept over the
    range the test codes occupy, the others fixed at the code of one test image."""
    picks = default_picks(splits, 1, None if index is None else [index])
    test = splits.test
    x = to_float(test.images[sorted(spread(test.labels, 1000, len(test)))])
    scores, score_name = dimension_scores(model, x)
    order = torch.argsort(scores, descending=True)[:dims].tolist()
    ranges = figures.code_range(generate.encode_all(model, x), steps)
    base = generate.encode_all(model, _floats(splits, picks))[0]
    rows = []
    from aezoo.core.evaluator import inference, model_device

    for d in order:
        z = base.repeat(steps, 1)
        z[:, d] = torch.as_tensor(ranges[d], dtype=z.dtype)
        with inference(model):
            images = model.decode(z.to(model_device(model))).cpu()
        rows.append((f"z{d + 1}\n{score_name} {scores[d]:.2g}", images))
    caption = f"test image #{picks.indices[0]}" + (f" ({picks.names()[0]})" if picks.labels else "")
    title = _titled(title, model, f"latent traversals around {caption}, dimensions by {score_name}, each swept "
                                  "over the test codes' range")
    ranking = [{"dim": d, "name": f"z{d + 1}", score_name.lower(): float(scores[d])} for d in order]
    return _shown(figures.rows_figure(rows, title), [picks], ranked_by=score_name, dims=ranking)
