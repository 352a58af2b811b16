"""The classic VAE tutorial's pictures of a trained model, one function per `zoo` figure command.

Each picks the test images it needs (seeded and spread across classes, see ``aezoo.viz.picks``, unless the caller
names them), computes, and returns an ``aezoo.viz.figure.Figure`` whose title names the run and what is shown
(``title=`` replaces it), with ``fig.picks`` (the test images used, with their labels) and ``fig.info`` (any
numbers it measured). ``fig.save(path, dpi=...)`` writes the PNG; the drawing itself lives in ``aezoo.viz.draw``.
"""
from __future__ import annotations

import math

from typing import Any, Sequence

import torch
from torch.distributions import Normal, kl_divergence

from aezoo.core import sampling as generate
from aezoo.core.posteriors import KINDS
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


def _labels(labels: torch.Tensor | None, indices: Sequence[int]) -> torch.Tensor | None:
    """The labels of ``indices`` (what a conditional model is given; other models ignore them)."""
    return None if labels is None else labels[list(indices)]


def _train_subset(splits: Splits, limit: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Up to ``limit`` training images spread over the classes (the split may be stored sorted by label), and
    their labels."""
    train = splits.train
    keep = sorted(spread(train.labels, limit, len(train)))
    return to_float(train.images[keep]), _labels(train.labels, keep)


def train_codes(model: Any, splits: Splits) -> torch.Tensor:
    """Codes of up to MAX_CODES training images spread over the classes (to fit a density to)."""
    images, labels = _train_subset(splits, MAX_CODES)
    return generate.encode_all(model, images, y=labels)


def cycling_labels(splits: Splits, n: int) -> list[int]:
    """For a conditional model's samples: the dataset's classes in turn (0, 1, ..., 9, 0, ...)."""
    labels = class_labels(splits)
    return [labels[i % len(labels)] for i in range(n)]


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
        recon = model.reconstruct(originals, generate.labels_for(model, picks.labels, len(originals))).cpu()
    title = _titled(title, model, "test images (top) and their reconstructions (bottom)")
    return _shown(figures.reconstruction_figure(originals, recon, title, captions=picks.names()), [picks])


def encode_test(model: Any, splits: Splits, limit: int = 2000) -> tuple[torch.Tensor, Any]:
    """Codes of up to ``limit`` test images spread over the classes, and their labels (None if unlabelled)."""
    test = splits.test
    keep = sorted(spread(test.labels, limit, len(test)))
    labels = _labels(test.labels, keep)
    return generate.encode_all(model, to_float(test.images[keep]), y=labels), labels


@figure_function
def latent(model: Any, splits: Splits, method: str = "auto", limit: int = 2000, title: str | None = None) -> Figure:
    """The test codes as a scatter coloured by label: the codes themselves for a 2-D latent, else a t-SNE (with
    its caveat), PCA or UMAP map (``method``); the codes named by the posterior's kind (``KINDS``)."""
    codes, labels = encode_test(model, splits, limit)
    kind = KINDS[model.capabilities.posterior].codes
    fig = figures.latent_figure(codes, labels, method=method, class_names=splits.classes, what=kind)
    what = f"latent space, {len(codes)} test codes coloured by class ({fig.info['plane']})"
    set_title(fig, _titled(title, model, what))
    return _shown(fig, test_images_mapped=len(codes), codes=kind)


@figure_function
def latent_grid(model: Any, splits: Splits, n: int = 15, limit: int = 2000, title: str | None = None) -> Figure:
    """A 2-D latent's plane decoded on an n x n grid over the region the test codes occupy (not for a conditional
    model, whose decoded plane depends on a class)."""
    if model.conditional:
        raise ValueError("a conditional model decodes each code as a class: its latent plane has no single grid "
                         "(zoo generate --label K shows a class)")
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
    labels = cycling_labels(splits, n) if model.conditional else None
    images = generate.decode_draws(model, prior, n, generator, labels).cpu()
    decoded = f"{n} samples decoded from {prior.title}" + (" as the classes in turn" if labels else "")
    fig = figures.image_grid(images, nrow=8, title=_titled(title, model, decoded))
    return _shown(fig, sampler=sampler, distribution=prior.title, labels=labels)


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
    images = generate.sample_like(model, x, n, codes=codes, generator=generator, y=picks.labels).cpu()
    caption = f"#{picks.indices[0]}" + (f" ({picks.names()[0]})" if picks.labels else "")
    how = "draws from its posterior q(z|x)" if density else "its code plus Gaussian noise"
    title = _titled(title, model, f"{n} images like test image {caption}, decoded from {how}")
    return _shown(figures.rows_figure([("example", x, [caption]), ("similar", images)], title), [picks])


def class_labels(splits: Splits) -> list[int]:
    """The labels of the training split, sorted; a ValueError for unlabelled data."""
    if splits.train.labels is None:
        raise ValueError(f"dataset {splits.name!r} has no labels, so there are no classes to generate from")
    return sorted(set(splits.train.labels.tolist()))


def class_generator(model: Any, splits: Splits, seed: int = 0) -> tuple[Any, str]:
    """``draw(label, n, generator)`` giving ``n`` images of a class, and how it conditions: a conditional model
    decodes draws from its sampler with the label as the decoder's input; any other model decodes draws from a
    Gaussian fitted to that class's training codes."""
    if model.conditional:
        sampler = model.sampler
        prior = generate.fit_sampler(model, sampler, None if sampler == "prior" else train_codes(model, splits),
                                     seed=seed)
        return (lambda c, n, g: generate.generate_conditional(model, c, n, g, prior)), \
            f"the label given to the model, codes from {prior.title}"
    train = splits.train
    keep = sorted(spread(train.labels, MAX_CLASS_CODES, len(train)))
    stats = generate.fit_class_gaussians(model, to_float(train.images[keep]), train.labels[keep])
    return (lambda c, n, g: generate.generate_class(model, stats, c, n, generator=g)), \
        "a Gaussian fitted to the class's training codes"


@figure_function
def class_samples(model: Any, splits: Splits, label: int | None = None, n: int = 16, seed: int = 0,
                  title: str | None = None) -> Figure:
    """Images of class ``label`` (``None``: every class, one row each): a conditional model is given the label;
    any other model decodes draws from a Gaussian fitted to each class's training codes."""
    labels = class_labels(splits)
    if label is not None and label not in labels:
        raise ValueError(f"label {label} does not occur in {splits.name!r}; labels are {labels}")
    draw, how = class_generator(model, splits, seed)
    generator = torch.Generator().manual_seed(seed)
    if label is not None:
        images = draw(label, n, generator).cpu()
        title = _titled(title, model, f"{n} images of class {class_name(label, splits.classes)}, generated by {how}")
        return _shown(figures.image_grid(images, nrow=8, title=title), labels=[label], conditioned_by=how)
    drawn = {c: draw(c, n, generator).cpu() for c in labels}
    rows = [(class_name(c, splits.classes), images) for c, images in drawn.items()]
    title = _titled(title, model, f"one row per class, generated by {how}")
    return _shown(figures.rows_figure(rows, title), labels=list(drawn), conditioned_by=how)


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
        ya, yb = picks.labels if picks.labels is not None else (None, None)
        path_images = generate.interpolate(model, a, b, steps, slerp=slerp, ya=ya, yb=yb).cpu()
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
    result = fn(model, _floats(splits, picks), kind=kind, level=level, seed=seed, y=picks.labels)
    what = "inpainting" if inpainting else "denoising"
    note = "the model's training corruption" if trained else "the model was NOT trained on this corruption"
    title = _titled(title, model, f"{what} ({kind} {level:g}; {note})")
    fig = figures.corruption_figure(result.corrupted.cpu(), result.restored.cpu(), result.clean.cpu(),
                                    errors=result.errors, title=title, captions=picks.names(),
                                    mask=None if result.mask is None else result.mask.cpu())
    return _shown(fig, [picks], corruption=kind, level=level, trained_for_it=trained, errors=result.errors)


def dimension_scores(model: Any, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, str, str]:
    """Per latent dimension the decoder reads (a hierarchical posterior's first level, ``q.levels[0]``), how much
    it is used, by the posterior's declared kind (aezoo.core.posteriors.KINDS): the mean KL(q(z_d|x) || N(0, 1))
    for a Gaussian posterior under a standard-normal prior, else the variance over ``x`` of the codes. Returns the
    scores, their name ("KL" or "variance") and, for a posterior with a density ranked by variance, why not KL."""
    from aezoo.core.evaluator import inference, model_device
    from aezoo.core.priors import StandardNormal

    kind = KINDS[model.capabilities.posterior]
    by_kl = kind.per_dim_kl and isinstance(model.prior, StandardNormal)
    with inference(model):
        q = model.infer(x.to(model_device(model)), generate.labels_for(model, y, len(x)))
        codes = q.mean.double().cpu()
        logvar = q.logvar.double().cpu() if by_kl else None
    if by_kl:
        unit = Normal(torch.zeros_like(codes), torch.ones_like(codes))
        return kl_divergence(Normal(codes, (0.5 * logvar).exp()), unit).mean(0).float(), "KL", ""
    levels = getattr(q, "levels", None)
    if levels:
        codes = codes[:, :int(levels[0])]
    return codes.var(0).float(), "variance", kind.no_kl if model.capabilities.posterior_density else ""


@figure_function
def traversal(model: Any, splits: Splits, dims: int = 8, steps: int = 9, index: int | None = None,
              title: str | None = None) -> Figure:
    """Latent traversals: each of the ``dims`` most used dimensions the decoder reads (by KL, else code variance,
    see ``dimension_scores``) swept over the range the test codes occupy, the others fixed at the code of one
    test image."""
    picks = default_picks(splits, 1, None if index is None else [index])
    test = splits.test
    keep = sorted(spread(test.labels, 1000, len(test)))
    x, y = to_float(test.images[keep]), _labels(test.labels, keep)
    if model.capabilities.posterior == "categorical":
        shown = _category_traversal(model, splits, picks, x, y, dims, title)
        if shown is not None:
            return shown
    scores, score_name, no_kl = dimension_scores(model, x, y)
    order = torch.argsort(scores, descending=True)[:dims].tolist()
    ranges = figures.code_range(generate.encode_all(model, x, y=y), steps)
    base = generate.encode_all(model, _floats(splits, picks), y=picks.labels)[0]
    label = generate.labels_for(model, None if picks.labels is None else picks.labels[0], steps)
    rows = []
    from aezoo.core.evaluator import inference, model_device

    for d in order:
        z = base.repeat(steps, 1)
        z[:, d] = torch.as_tensor(ranges[d], dtype=z.dtype)
        with inference(model):
            images = model.decode(z.to(model_device(model)), label).cpu()
        rows.append((f"z{d + 1}\n{score_name} {scores[d]:.2g}", images))
    caption = f"test image #{picks.indices[0]}" + (f" ({picks.names()[0]})" if picks.labels else "")
    codes = KINDS[model.capabilities.posterior].codes
    by = "KL" if score_name == "KL" else "variance of their level-1 posterior means (the level the decoder reads)" \
        if model.capabilities.posterior == "hierarchical" else f"variance of their {codes}"
    title = _titled(title, model, f"latent traversals around {caption}, dimensions by {by}, each swept over the test "
                                  "codes' range" + (f"\n(not by KL: {no_kl})" if no_kl else ""))
    ranking = [{"dim": d, "name": f"z{d + 1}", score_name.lower(): float(scores[d])} for d in order]
    return _shown(figures.rows_figure(rows, title), [picks], ranked_by=score_name, codes=codes, not_kl_because=no_kl,
                  dims=ranking)


def _category_traversal(model: Any, splits: Splits, picks: Picks, x: torch.Tensor, y: torch.Tensor | None,
                        variables: int, title: str | None) -> Figure | None:
    """Traversals of a categorical (one-hot) code: each of the ``variables`` variables with the largest mean KL to
    the uniform categorical over ``x`` (log K - its entropy), set to each of its K categories in turn, the others
    kept at the test image's category probabilities (its code). None when the q-object gives no ``logits``
    (N, variables, categories) to read the variables from."""
    from aezoo.core.evaluator import inference, model_device

    device = model_device(model)
    with inference(model):
        logits = getattr(model.infer(x.to(device), generate.labels_for(model, y, len(x))), "logits", None)
    if logits is None or logits.dim() != 3:
        return None
    log_q = torch.log_softmax(logits, -1).cpu()
    categories = log_q.shape[-1]
    kl = (log_q.exp() * (log_q + math.log(categories))).sum(-1).mean(0).double()  # per variable
    order = torch.argsort(kl, descending=True)[:variables].tolist()
    base = generate.encode_all(model, _floats(splits, picks), y=picks.labels)[0].reshape(-1, categories)
    label = generate.labels_for(model, None if picks.labels is None else picks.labels[0], categories)
    rows = []
    for v in order:
        z = base.repeat(categories, 1, 1)
        z[:, v] = torch.eye(categories, dtype=z.dtype)
        with inference(model):
            images = model.decode(z.flatten(1).to(device), label).cpu()
        rows.append((f"variable {v + 1}\nKL {kl[v]:.2g}", images, [str(k + 1) for k in range(categories)]))
    caption = f"test image #{picks.indices[0]}" + (f" ({picks.names()[0]})" if picks.labels else "")
    title = _titled(title, model, f"latent traversals around {caption}: the categorical variables with the largest KL "
                                  f"to the uniform categorical, each set to each of its {categories} categories, "
                                  "the others at the image's category probabilities")
    ranking = [{"variable": v, "name": f"variable {v + 1}", "kl": float(kl[v])} for v in order]
    return _shown(figures.rows_figure(rows, title), [picks], ranked_by="KL", codes=KINDS["categorical"].codes,
                  not_kl_because="", dims=ranking)
