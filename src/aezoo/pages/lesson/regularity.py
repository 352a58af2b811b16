"""Section 3, why a plain autoencoder's latent space is too irregular to generate from: the 2-D AE's and the 2-D
VAE's codes on shared axes, draws from N(0, I) decoded by both, and one interpolation through both."""
from __future__ import annotations

import numpy as np
import torch

from aezoo.core import sampling as generate
from aezoo.pages.lesson.common import Figure, Lesson, Section
from aezoo.pages.lesson.numbers import (PRIOR_MASS, effective_classes, extent, kl_and_reconstruction, mean_span,
                                        ratio, share_inside_prior)
from aezoo.viz import draw
from aezoo.viz.picks import pairs
from aezoo.viz.side_by_side import decode_standard_normal, latent_maps, standard_normal_note
from aezoo.viz.views import encode_test

AE, VAE = "deep-ae-z2", "vae-z2-beta1"
MAPPED = 2000  # test images whose codes are mapped (as `zoo compare` maps them)
DRAWS = 500  # N(0, I) draws classified
SHOWN = 10  # of them shown (as `zoo compare` shows them)
STEPS = 10


def build(L: Lesson) -> Section:
    t = L.t
    ae, vae = L.model(AE), L.model(VAE)
    names = {AE: t("c.ae"), VAE: t("c.vae")}
    maps = latent_maps([ae, vae], L.splits, method="direct", limit=MAPPED, labels=[names[AE], names[VAE]],
                       title=t("c.maps_title"))
    codes = {role: encode_test(L.model(role), L.splits, MAPPED)[0] for role in (AE, VAE)}
    draws = {role: decode_standard_normal(L.model(role), DRAWS, L.seed) for role in (AE, VAE)}
    notes = {r: t("c.prior_meaningful" if standard_normal_note(L.model(r))[0] else "c.prior_not_meaningful")
             for r in (AE, VAE)}
    rows = [(f"{names[r]}\n{notes[r]}", draws[r][:SHOWN]) for r in (AE, VAE)]
    prior = draw.rows_figure(rows, t("c.prior_title"), labels="above")
    between = interpolations(L, names)

    spans = {r: mean_span(c) for r, c in codes.items()}
    inside = {r: share_inside_prior(c) for r, c in codes.items()}
    low, high = extent(codes[AE])
    vlow, vhigh = extent(codes[VAE])
    wider = ratio(spans[AE], spans[VAE])
    span_values = dict(ae=spans[AE], vae=spans[VAE], ratio=wider, ae_low=float(low.min()), ae_high=float(high.max()),
                       vae_low=float(vlow.min()), vae_high=float(vhigh.max()))
    numbers = [t("c.span_wider" if wider > 1 else "c.span_not_wider", **span_values)]
    numbers.append(t("c.inside" if inside[VAE] > inside[AE] else "c.inside_not", ae=100 * inside[AE],
                     vae=100 * inside[VAE], mass=100 * PRIOR_MASS))
    values = {"span": span_values, "inside_prior": inside, "prior_mass": PRIOR_MASS}
    if L.has_labels:
        k = len(L.classifier.classes)
        found = {r: effective_classes(np.searchsorted(L.classifier.classes, L.classifier.predict(draws[r])), k)
                 for r in draws}
        numbers.append(t("c.classes" if found[VAE] > found[AE] else "c.classes_not", n=DRAWS, ae=found[AE],
                         vae=found[VAE], k=k, accuracy=100 * L.classifier_accuracy()))
        values["effective_classes"] = found
    state = kl_and_reconstruction(vae, L.splits.test)
    values["vae"] = state
    if state["collapsed"]:
        numbers.insert(0, t("c.vae_collapsed", kl=state["kl"], active=state["active_units"]))
    compare = L.command(f"zoo compare {L.ref(AE)} {L.ref(VAE)}")
    figures = [Figure(maps, t("c.maps_caption"), [compare]),
               Figure(prior, t("c.prior_caption", n=SHOWN), [compare]),
               Figure(between, t("c.interpolation_caption"), [L.section_command("regularity")])]
    return Section("regularity", t("c.title"), [t("c.text1"), t("c.text2")], numbers, figures, values)


def interpolations(L: Lesson, names: dict[str, str]):
    """One seeded pair of test images of different classes, the path between their codes decoded by each model,
    the originals at both ends."""
    (picks,) = pairs(L.splits.test, 1, L.splits.classes)
    a, b = L.test_images[picks.indices]
    captions = [f"#{i} ({c})" if c else f"#{i}" for i, c in zip(picks.indices, picks.names())]
    original = L.t("fig.original")
    rows = []
    for role in (AE, VAE):
        path = generate.interpolate(L.model(role), a, b, STEPS).cpu()
        rows.append((names[role], torch.cat([a[None], path, b[None]]),
                     [f"{captions[0]}\n{original}", *[""] * STEPS, f"{captions[1]}\n{original}"]))
    return draw.rows_figure(rows, L.t("c.interpolation_title"))
