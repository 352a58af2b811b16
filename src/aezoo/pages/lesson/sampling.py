"""Section 6, generating with a trained VAE: draws from N(0, I), images like an example, a chosen class from class
statistics, an interpolation between two images and the blend between two classes' mean codes."""
from __future__ import annotations

import numpy as np
import torch

from aezoo.core import sampling as generate
from aezoo.data.splits import to_float
from aezoo.pages.lesson.common import Figure, Lesson, Section
from aezoo.pages.lesson.numbers import blend, class_means, switch_step
from aezoo.pages.lesson.runs import HIGH_DIM, vae
from aezoo.viz import draw, views
from aezoo.viz.picks import pairs, pick, spread

SAMPLES = 32
LIKE = 10
CLASS_IMAGES = 16
STEPS = 10
PER_CLASS = 100  # generated images per class for class consistency


def build(L: Lesson) -> Section:
    t = L.t
    role = vae(HIGH_DIM).role
    model, ref = L.model(role), L.ref(role)
    numbers, values = [], {}
    shown = views.samples(model, L.splits, n=SAMPLES, seed=L.seed, title=t("f.prior_title", n=SAMPLES))
    figures = [Figure(shown, t("f.prior_caption", d=model.latent_dim),
                      [L.command(f"zoo sample {ref} -n {SAMPLES}")])]

    example = pick(L.splits.test, 1, L.splits.classes)
    index = example.indices[0]
    like = views.samples_like(model, L.splits, index, n=LIKE, seed=L.seed, title=t("f.like_title", index=index))
    figures.append(Figure(like, t("f.like_caption", index=index), [L.command(f"zoo sample {ref} --like {index}")]))

    (pair,) = pairs(L.splits.test, 1, L.splits.classes)
    between = views.interpolation(model, L.splits, *pair.indices, steps=STEPS, title=t("f.interpolation_title"))
    interpolation = Figure(between, t("f.interpolation_caption"),
                           [L.command(f"zoo interpolate {ref} --from {pair.indices[0]} --to {pair.indices[1]}")])
    if not L.has_labels:
        numbers.append(t("f.no_labels"))
        figures.append(interpolation)
        return Section("sampling", t("f.title"), [t("f.text1"), t("f.text2")], numbers, figures, values)

    label = example.labels[0]
    like_predicted = L.classifier.predict(like_images(L, model, index))
    values["like"] = {"index": index, "label": label, "same_class": float((like_predicted == label).mean())}
    numbers.append(t("f.like", index=index, cls=L.class_name(label), n=LIKE, share=100 * values["like"]["same_class"]))

    chosen = pair.labels[1]
    generated = views.class_samples(model, L.splits, chosen, n=CLASS_IMAGES, seed=L.seed,
                                    title=t("f.class_title", cls=L.class_name(chosen)))
    figures.append(Figure(generated, t("f.class_caption", cls=L.class_name(chosen)),
                          [L.command(f"zoo generate {ref} --label {chosen}")]))
    consistency = class_consistency(L, model)
    values["class_consistency"] = consistency
    numbers.append(t("f.consistency", n=PER_CLASS, mean=100 * consistency["mean"], cls=L.class_name(chosen),
                     chosen=100 * consistency[str(chosen)]))
    figures.append(interpolation)

    a, b = pair.labels
    blended, probabilities = class_blend(L, model, a, b)
    pa, pb = probabilities[:, _column(L, a)], probabilities[:, _column(L, b)]
    switch = switch_step(probabilities, _column(L, a), _column(L, b))
    values["blend"] = {"from": a, "to": b, "p_from": pa.tolist(), "p_to": pb.tolist(), "switch_step": switch}
    message = "f.blend" if switch is not None and pa[0] > pb[0] and pb[-1] > pa[-1] else "f.blend_not"
    numbers.append(t(message, a=L.class_name(a), b=L.class_name(b), pa0=pa[0], pa1=pa[-1], pb0=pb[0], pb1=pb[-1],
                     step=switch or 0, steps=STEPS))
    figures.append(Figure(blended, t("f.blend_caption", a=L.class_name(a), b=L.class_name(b)),
                          [L.section_command("sampling")]))
    return Section("sampling", t("f.title"), [t("f.text1"), t("f.text2")], numbers, figures, values)


def like_images(L: Lesson, model, index: int) -> torch.Tensor:
    """The images of ``zoo sample --like INDEX`` again (same seed), to classify them."""
    codes = None if model.capabilities.posterior_density else views.train_codes(model, L.splits)
    generator = torch.Generator().manual_seed(L.seed)
    return generate.sample_like(model, L.test_images[index], LIKE, codes=codes, generator=generator).cpu()


def _column(L: Lesson, label: int) -> int:
    return int(np.searchsorted(L.classifier.classes, label))


def class_blend(L: Lesson, model, a: int, b: int):
    """Images decoded between the mean codes of classes ``a`` and ``b`` (training images), and the classifier's
    probabilities for each; the figure captions every image with both."""
    train = L.splits.train
    keep = sorted(spread(train.labels, views.MAX_CLASS_CODES, len(train)))
    means = class_means(model, to_float(train.images[keep]), train.labels[keep])
    images = blend(model, means[a], means[b], STEPS)
    p = L.classifier.probabilities(images)
    ia, ib = _column(L, a), _column(L, b)
    names = L.class_name(a), L.class_name(b)
    captions = [f"{L.t.number(row[ia], '.2f')}\n{L.t.number(row[ib], '.2f')}" for row in p]  # the title says which
    fig = draw.rows_figure([(L.t("f.blend_row"), images, captions)], L.t("f.blend_title", a=names[0], b=names[1]))
    return fig, p


def class_consistency(L: Lesson, model) -> dict[str, float]:
    """The share of images generated from each class's statistics that the pixel classifier assigns to it."""
    from aezoo.api.classifier import class_consistency as measure

    return measure(model, L.splits, PER_CLASS, L.cache_dir, seed=L.seed)
