"""`zoo report`: one self-contained HTML page about one run, written for a newcomer.

Test metrics (evaluated first when the run has none for this dataset), training curves with the history table
collapsed, and every figure that applies to the model, each with a line saying what it shows and which test
images (seeded picks spread across classes) it uses.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from aezoo.api.evaluate import ensure_test_metrics
from aezoo.core.diagnosis import warnings
from aezoo.data import Splits
from aezoo.viz import draw as figures
from aezoo.viz import views
from aezoo.viz.html import esc, figure, history_table, key_value_table, metrics_table, page, write_page
from aezoo.viz.labels import run_label

Say = Callable[[str], None]


def describe(model: Any) -> str:
    """One line: what kind of model this is, in the field's terms."""
    caps = model.capabilities
    code = {"gaussian": "a Gaussian posterior q(z|x)", "point": "a deterministic code",
            "quantised": "a quantised (codebook) code"}.get(caps.posterior, caps.posterior)
    trained = f"; trained on {caps.corruption[0]} {caps.corruption[1]:g} corrupted inputs" if caps.corruption else ""
    sampler = caps.prior_title if caps.sampler == "prior" else f"a {caps.sampler} fitted to its training codes"
    return (f"{model.latent_dim}-D latent with {code} and {caps.prior_title}; samples are drawn from "
            f"{sampler}{trained}.")


def figure_sections(model: Any, splits: Splits) -> list[str]:
    """The report's figures, each with what it shows and the test images it uses."""
    out = []
    fig = views.reconstruction(model, splits)
    out.append(figure("Reconstructions", [fig], "Test images (their class under each) above the model's "
                      "reconstructions of them.", fig.picks[0].describe()))
    shown = [views.latent(model, splits)]
    if model.latent_dim == 2:
        shown.append(views.latent_grid(model, splits))
    what = "Codes of test images coloured by class" + (
        "; right: images decoded on a grid over the region the codes occupy." if len(shown) > 1 else ".")
    out.append(figure("Latent space", shown, what + (" " + shown[0].info["caveat"] if "caveat" in shown[0].info
                                                     else "")))
    fig = views.traversal(model, splits)
    out.append(figure("Latent traversals", [fig], f"Each row sweeps one latent dimension (the most used first, "
                      f"by {fig.info['ranked_by']}) with the others fixed.", fig.picks[0].describe()))
    fig = views.samples(model, splits)
    out.append(figure("Samples", [fig], f"Decoded draws from {fig.info['distribution']}."))
    fig = views.samples_like(model, splits)
    out.append(figure("Samples like a test image", [fig], "Variations of one test image: decoded draws near "
                      "its code.", fig.picks[0].describe()))
    if splits.has_labels:
        fig = views.class_samples(model, splits, None, n=10)
        out.append(figure("Class-conditional generation", [fig], "One row per class: decoded draws from a "
                          "Gaussian fitted to that class's training codes."))
    fig = views.interpolation(model, splits, count=3)
    out.append(figure("Interpolations", [fig], "Each row: two test images of different classes (originals at "
                      "both ends) and the decoded straight path between their codes.",
                      "; ".join(p.describe() for p in fig.picks)))
    own = views.trained_corruption(model)
    if own is None:
        out.append('<h3>Denoising and inpainting</h3><p class="note">Not shown: this model was trained on clean '
                   "inputs, so restoring corrupted ones is not its task (`zoo denoise` and `zoo inpaint` show it "
                   "anyway, labelled as such).</p>")
    else:
        inpainting = own[0] in ("pixels", "block")
        fig = views.restoration(model, splits, inpainting=inpainting)
        e = fig.info["errors"]
        out.append(figure("Inpainting" if inpainting else "Denoising", [fig],
                          f"Test images corrupted as in training ({own[0]} {own[1]:g}), the model's restoration and "
                          f"the originals. PSNR {e['corrupted_psnr']:.1f} dB corrupted -> {e['restored_psnr']:.1f} dB "
                          "restored.", fig.picks[0].describe()))
    return out


def warning_notes(metrics: dict[str, Any], who: str = "") -> str:
    """The run's warnings (``aezoo.core.diagnosis``) as notes at the top of a page."""
    return "".join(f'<p class="note warn">{esc(who)}{esc(w)}</p>' for w in warnings(metrics))


def build_report(model: Any, splits: Splits, path: Path | str, home: str | None = None,
                 say: Say = lambda line: None) -> Path:
    """Write the report of a loaded run (``model.run``) on ``splits`` to ``path``."""
    record = model.run
    metrics = ensure_test_metrics(model, splits, home, say)
    for warning in warnings(metrics):
        say(f"{record.id}: {warning}")
    history = record.history if (record.path / "history.json").is_file() else []
    training = history_table(history)
    if history:
        curves = figures.curves_figure(history, title=f"{run_label(model)}: training curves",
                                       diagnostics=getattr(model.objective, "diagnostics", ()))
        training = figure("Training curves", [curves], "Loss per epoch on the training (solid) and validation "
                          "(dashed) data; loss parts and diagnostics in their own panels.") + training
    sections = [("Test metrics", warning_notes(metrics) + metrics_table({record.id: metrics})),
                ("Figures", "".join(figure_sections(model, splits))),
                ("Training", training),
                ("Configuration", "<details><summary>Configuration and hyperparameters</summary>"
                 + key_value_table(record.config) + "</details>")]
    subtitle = f"model {record.model}, dataset {splits.name}. {describe(model)}"
    return write_page(path, page(f"aezoo run {run_label(model)}", subtitle, sections))
