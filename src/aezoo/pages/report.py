"""`zoo report`: one self-contained HTML page about one run, written for a newcomer.

Test metrics (evaluated first when the run has none for this dataset), training curves with the history table
collapsed, and every figure that applies to the model, each with a line saying what it shows and which test
images (seeded picks spread across classes) it uses.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable

from aezoo.api.evaluate import ensure_test_metrics
from aezoo.core.posteriors import KINDS
from aezoo.data import Splits
from aezoo.viz import draw as figures
from aezoo.viz import views
from aezoo.viz.html import figure, history_table, key_value_table, metrics_table, page, write_page

Say = Callable[[str], None]


def describe(model: Any) -> str:
    """One line: what kind of model this is, in the field's terms."""
    caps = model.capabilities
    code = KINDS[caps.posterior].described
    trained = f"; trained on {caps.corruption[0]} {caps.corruption[1]:g} corrupted inputs" if caps.corruption else ""
    sampler = caps.prior_title if caps.sampler == "prior" else f"a {caps.sampler} fitted to its training codes"
    return (f"{model.latent_dim}-D latent with {code} and {caps.prior_title}; samples are drawn from "
            f"{sampler}{trained}.")


def figure_sections(model: Any, splits: Splits, tmp: Path) -> list[str]:
    """The report's figures, each with what it shows and the test images it uses."""
    out = []
    shown = views.reconstruction(model, splits, tmp / "reconstruct.png")
    out.append(figure("Reconstructions", shown.paths, "Test images (their class under each) above the model's "
                      "reconstructions of them.", shown.picks[0].describe()))
    shown = views.latent(model, splits, tmp / "latent.png")
    what = "Codes of test images coloured by class" + (
        "; right: images decoded on a grid over the region the codes occupy." if len(shown.paths) > 1 else ".")
    out.append(figure("Latent space", shown.paths, what))
    shown = views.traversal(model, splits, tmp / "traverse.png")
    out.append(figure("Latent traversals", shown.paths, f"Each row sweeps one latent dimension (the most used first, "
                      f"by {shown.info['ranked_by']}) with the others fixed.", shown.picks[0].describe()))
    shown = views.samples(model, splits, tmp / "samples.png")
    out.append(figure("Samples", shown.paths, f"Decoded draws from {shown.info['distribution']}."))
    shown = views.samples_like(model, splits, tmp / "like.png")
    out.append(figure("Samples like a test image", shown.paths, "Variations of one test image: decoded draws near "
                      "its code.", shown.picks[0].describe()))
    if splits.has_labels:
        shown = views.class_samples(model, splits, tmp / "classes.png", None, n=10)
        out.append(figure("Class-conditional generation", shown.paths, "One row per class: decoded draws from a "
                          "Gaussian fitted to that class's training codes."))
    shown = views.interpolation(model, splits, tmp / "interpolate.png", count=3)
    out.append(figure("Interpolations", shown.paths, "Each row: two test images of different classes (originals at "
                      "both ends) and the decoded straight path between their codes.",
                      "; ".join(p.describe() for p in shown.picks)))
    own = views.trained_corruption(model)
    if own is None:
        out.append('<h3>Denoising and inpainting</h3><p class="note">Not shown: this model was trained on clean '
                   "inputs, so restoring corrupted ones is not its task (`zoo denoise` and `zoo inpaint` show it "
                   "anyway, labelled as such).</p>")
    else:
        inpainting = own[0] in ("pixels", "block")
        shown = views.restoration(model, splits, tmp / "restore.png", inpainting=inpainting)
        e = shown.info["errors"]
        out.append(figure("Inpainting" if inpainting else "Denoising", shown.paths,
                          f"Test images corrupted as in training ({own[0]} {own[1]:g}), the model's restoration and "
                          f"the originals. PSNR {e['corrupted_psnr']:.1f} dB corrupted -> {e['restored_psnr']:.1f} dB "
                          "restored.", shown.picks[0].describe()))
    return out


def build_report(model: Any, splits: Splits, path: Path | str, home: str | None = None,
                 say: Say = lambda line: None) -> Path:
    """Write the report of a loaded run (``model.run``) on ``splits`` to ``path``."""
    record = model.run
    metrics = ensure_test_metrics(model, splits, home, say)
    history = record.history if (record.path / "history.json").is_file() else []
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        training = history_table(history)
        if history:
            curves = figures.curves_figure(history, t / "curves.png", title=None,
                                           diagnostics=getattr(model.objective, "diagnostics", ()))
            training = figure("Training curves", [curves], "Loss per epoch on the training (solid) and validation "
                              "(dashed) data; loss parts and diagnostics in their own panels.") + training
        sections = [("Test metrics", metrics_table({record.id: metrics})),
                    ("Figures", "".join(figure_sections(model, splits, t))),
                    ("Training", training),
                    ("Configuration", "<details><summary>Configuration and hyperparameters</summary>"
                     + key_value_table(record.config) + "</details>")]
        subtitle = f"model {record.model}, dataset {splits.name}. {describe(model)}"
        return write_page(path, page(f"aezoo run {record.id}", subtitle, sections))
