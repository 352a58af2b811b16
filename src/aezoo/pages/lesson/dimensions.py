"""Section 1, dimensionality reduction as an encoder/decoder pair: reconstruction error against latent size for
PCA (closed form), a linear autoencoder and a deep autoencoder, and their reconstructions at the smallest size."""
from __future__ import annotations

import torch

from aezoo.pages.lesson.common import Figure, Lesson, Section, table
from aezoo.pages.lesson.numbers import monotone, reconstruction_mse
from aezoo.viz import draw
from aezoo.viz.lesson import curves_by_setting_figure
from aezoo.viz.picks import pick

METHODS = ("pca", "linear-ae", "deep-ae")
CLOSE = 0.15  # the linear AE "matches" PCA when its error is within 15% of PCA's at every size
SHOWN = 10


def build(L: Lesson) -> Section:
    t, dims, x = L.t, L.dims, L.test_images
    label = {"pca": t("a.pca"), "linear-ae": t("a.linear"), "deep-ae": t("a.deep")}
    errors = {m: [reconstruction_mse(L.model(f"{m}-z{d}"), x) for d in dims] for m in METHODS}

    curve = curves_by_setting_figure(dims, {label[m]: errors[m] for m in METHODS}, title=t("a.curve_title"),
                                     xlabel=t("a.curve_x"), ylabel=t("a.curve_y"))  # the numbers: in the table
    d0 = dims[0]
    picks = pick(L.splits.test, SHOWN, L.splits.classes)
    originals = x[picks.indices]
    rows = [(t("fig.original"), originals, picks.names())]
    for m in METHODS:
        with torch.no_grad():
            rows.append((f"{label[m]}\n{d0}-D", L.model(f"{m}-z{d0}").reconstruct(originals).cpu()))
    recon = draw.rows_figure(rows, t("a.rows_title", d=d0))

    pca, lin, deep = (errors[m] for m in METHODS)
    numbers = [deep_vs_pca(L, d0, deep[0], pca[0]), linear_vs_pca(L, dims, lin, pca)]
    numbers.append(t("a.more_dims", d0=d0, d1=dims[-1], first=pca[0], last=pca[-1]) if monotone(pca, rising=False)
                   else t("a.more_dims_not", d0=d0, d1=dims[-1], first=pca[0], last=pca[-1]))
    commands = [L.section_command("dimensions")]
    figures = [Figure(curve, t("a.curve_caption"), commands),
               Figure(recon, t("a.rows_caption", d=d0),
                      [L.command(f"zoo reconstruct {L.ref(f'{m}-z{d0}')} -n {SHOWN}") for m in METHODS])]
    head = [t("a.table_dim")] + [label[m] for m in METHODS]
    body = [[f"{d}"] + [t.number(errors[m][i], ".4f") for m in METHODS] for i, d in enumerate(dims)]
    return Section("dimensions", t("a.title"), [t("a.text1", pixels=x[0].numel()), t("a.text2")], numbers, figures,
                   {"dims": list(dims), "test_mse": errors}, table=table(head, body))


def deep_vs_pca(L: Lesson, d: int, deep: float, pca: float) -> str:
    if deep < pca:
        return L.t("a.deep_beats_pca", d=d, deep=deep, pca=pca, ratio=pca / deep)
    return L.t("a.deep_not_better", d=d, deep=deep, pca=pca)


def linear_vs_pca(L: Lesson, dims: tuple[int, ...], lin: list[float], pca: list[float]) -> str:
    gaps = [(a - b) / b for a, b in zip(lin, pca)]
    worst = max(range(len(dims)), key=lambda i: abs(gaps[i]))
    values = dict(d=dims[worst], lin=lin[worst], pca=pca[worst], pct=100 * abs(gaps[worst]))
    if abs(gaps[worst]) <= CLOSE:
        return L.t("a.linear_matches_pca", limit=100 * CLOSE, **values)
    return L.t("a.linear_behind_pca" if gaps[worst] > 0 else "a.linear_ahead_of_pca", **values)
