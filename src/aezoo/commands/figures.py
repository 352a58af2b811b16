"""The figure commands: reconstruct, latent, sample, generate, interpolate, denoise, inpaint, traverse.
Each takes a run reference and writes a PNG file (titled with the run and what it shows; --title, --dpi and
--style on every one), printing where and which test images it used."""
from __future__ import annotations

import click

from aezoo.commands.options import emit, figure_command, open_run, out_path, unless


@figure_command("reconstruct", "Test images (top, with their classes) above their reconstructions (bottom).")
@click.option("-n", "count", type=click.IntRange(min=1), default=16, show_default=True)
def reconstruct_cmd(ref, output, dataset, data_dir, home, as_json, look, count):
    from aezoo.viz import views

    model, splits = open_run(ref, home, dataset, data_dir)
    path = out_path(output, model, "reconstruct", unless(count, 16, f"n{count}"))
    emit([(views.reconstruction(model, splits, count, title=look.title), path)], as_json, look.dpi)


@figure_command("latent", "The latent space coloured by label, with axis labels saying what the axes are: the codes "
                          "themselves (z1, z2) for a 2-D latent, plus the decoded grid over the region the codes "
                          "occupy (*-grid.png); else a t-SNE map (--method auto or tsne; the figure carries t-SNE's "
                          "caveat: distances and clusters are not to be trusted, compare with PCA), a PCA "
                          "projection (--method pca, in latent units) or a UMAP map (--method umap, needs "
                          "`pip install umap-learn`).", picks=False)
@click.option("--method", type=click.Choice(["auto", "tsne", "pca", "umap", "direct"]), default="auto",
              show_default=True, help="auto: direct for a 2-D latent, else tsne.")
@click.option("--limit", type=click.IntRange(min=10), default=2000, show_default=True,
              help="Test images to map (a seeded subset spread across classes when the split is larger).")
def latent_cmd(ref, output, dataset, data_dir, home, as_json, look, method, limit):
    from aezoo.viz import views

    model, splits = open_run(ref, home, dataset, data_dir)
    path = out_path(output, model, "latent", unless(method, "auto", method), unless(limit, 2000, f"limit{limit}"))
    figures = [(views.latent(model, splits, method=method, limit=limit, title=look.title), path)]
    if model.latent_dim == 2 and not model.conditional:  # a conditional decoder's plane depends on a class
        title = None if look.title is None else f"{look.title}: decoded grid"
        figures.append((views.latent_grid(model, splits, limit=limit, title=title),
                        path.with_name(path.stem + "-grid" + path.suffix)))
    emit(figures, as_json, look.dpi)


@figure_command("sample", "Decoded draws from the model's prior, or from a density fitted to its training codes for "
                          "models whose training does not shape the prior (--sampler); with --like INDEX, images "
                          "like test image INDEX.", picks=False)
@click.option("-n", "count", type=click.IntRange(min=1), default=None, help="How many [default: 64, 10 with --like].")
@click.option("--like", "like", type=int, default=None, help="Index of a test image to draw variations of.")
@click.option("--sampler", type=click.Choice(["prior", "gaussian", "gmm", "maf", "two-stage", "categorical"]),
              default=None,
              help="What to draw codes from: the model's prior, or fitted to its training codes (seeded by --seed): "
                   "a Gaussian, a Gaussian mixture, a masked autoregressive flow (maf), a second-stage VAE "
                   "(two-stage, Dai & Wipf 2019) or per-position code frequencies (categorical, quantised codes) "
                   "[default: the model's own choice]. A plain autoencoder with --sampler prior shows what N(0, I) "
                   "draws decode to: noise, as it was never trained to make them meaningful.")
@click.option("--seed", type=int, default=0, show_default=True)
def sample_cmd(ref, output, dataset, data_dir, home, as_json, look, count, like, sampler, seed):
    from aezoo.viz import views

    model, splits = open_run(ref, home, dataset, data_dir)
    options = (unless(count, None, f"n{count}"), unless(seed, 0, f"seed{seed}"))
    if like is None:
        chosen = sampler or model.sampler
        if chosen != "prior" and sampler is None:
            names = {"gaussian": "a Gaussian", "gmm": "a Gaussian mixture", "maf": "a masked autoregressive flow",
                     "two-stage": "a second-stage VAE", "categorical": "per-position code frequencies"}
            click.echo(f"note: {model.run.model}'s training does not shape its latent space towards a prior, so samples "
                       f"come from {names[chosen]} fitted to its training codes (--sampler prior draws from "
                       f"{model.prior.title} anyway)", err=True)
        elif chosen == "prior":
            click.echo(f"note: codes drawn from {model.prior.title}", err=True)
        path = out_path(output, model, "samples", sampler, *options)
        fig = views.samples(model, splits, n=count or 64, seed=seed, sampler=sampler, title=look.title)
    else:
        path = out_path(output, model, f"like-{like}", *options)
        fig = views.samples_like(model, splits, like, n=count or 10, seed=seed, title=look.title)
    emit([(fig, path)], as_json, look.dpi)


def _label(value: str) -> int | None:
    if value == "all":
        return None
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a class label: give an integer label or 'all'") from None


@figure_command("generate", "Images of class LABEL (or of every class, one row each, with --label all): a conditional "
                            "model is given the label as an input; any other model decodes draws from a Gaussian "
                            "fitted to that class's training codes.", picks=False)
@click.option("--label", required=True, help="The class to generate: an integer label, or 'all'.")
@click.option("-n", "count", type=click.IntRange(min=1), default=None,
              help="Images per class [default: 16, 10 with --label all].")
@click.option("--seed", type=int, default=0, show_default=True)
def generate_cmd(ref, output, dataset, data_dir, home, as_json, look, label, count, seed):
    from aezoo.viz import views

    chosen = _label(label)
    model, splits = open_run(ref, home, dataset, data_dir)
    path = out_path(output, model, f"class-{label}", unless(count, None, f"n{count}"), unless(seed, 0, f"seed{seed}"))
    default = 16 if chosen is not None else 10
    fig = views.class_samples(model, splits, chosen, n=count or default, seed=seed, title=look.title)
    emit([(fig, path)], as_json, look.dpi)


@figure_command("interpolate", "Decodes the latent path between two test images (--from, --to; default: a seeded "
                               "pair of different classes), with the two originals at both ends.")
@click.option("--from", "start", type=int, default=None, help="Index of the first test image.")
@click.option("--to", "end", type=int, default=None, help="Index of the last test image.")
@click.option("--steps", type=click.IntRange(min=2), default=10, show_default=True)
@click.option("--slerp", is_flag=True, help="Spherical instead of linear interpolation.")
@click.option("--pairs", "count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Rows of seeded pairs when --from/--to are not given.")
def interpolate_cmd(ref, output, dataset, data_dir, home, as_json, look, start, end, steps, slerp, count):
    from aezoo.viz import views

    model, splits = open_run(ref, home, dataset, data_dir)
    which = f"{start}-{end}" if start is not None and end is not None else unless(count, 1, f"pairs{count}")
    path = out_path(output, model, "interpolate", which, unless(steps, 10, f"steps{steps}"), "slerp" if slerp else None)
    fig = views.interpolation(model, splits, start, end, steps, slerp, count, title=look.title)
    emit([(fig, path)], as_json, look.dpi)


def _restoration(ref, output, dataset, data_dir, home, as_json, look, kind, level, count, inpainting):
    from aezoo.viz import views

    model, splits = open_run(ref, home, dataset, data_dir)
    kind, level, trained = views.corruption_for(model, inpainting, kind, level)
    what = "inpaint" if inpainting else "denoise"
    path = out_path(output, model, what, kind, f"{level:g}", unless(count, 8, f"n{count}"))
    fig = views.restoration(model, splits, kind, level, count, inpainting, title=look.title)
    emit([(fig, path)], as_json, look.dpi)
    if as_json:
        return
    errors = fig.info["errors"]
    own = "the model's own training corruption" if trained else "not what the model was trained on"
    click.echo(f"{kind} {level:g} ({own}); MSE vs clean: corrupted {errors['corrupted_mse']:.4f} -> restored "
               f"{errors['restored_mse']:.4f}; PSNR {errors['corrupted_psnr']:.2f} -> {errors['restored_psnr']:.2f} dB")


@figure_command("denoise", "Noisy test images, the model's restoration and the clean originals; by default with the "
                           "noise and level the run was trained on.")
@click.option("--noise", type=click.Choice(["gaussian", "salt-pepper"]), default=None,
              help="Noise kind [default: the run's own, else gaussian].")
@click.option("--level", type=click.FloatRange(min=0), default=None,
              help="Noise std (gaussian) or fraction of pixels (salt-pepper) [default: the run's own, else 0.3 "
                   "(gaussian) or 0.2 (salt-pepper)].")
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True)
def denoise_cmd(ref, output, dataset, data_dir, home, as_json, look, noise, level, count):
    _restoration(ref, output, dataset, data_dir, home, as_json, look, noise, level, count, inpainting=False)


@figure_command("inpaint", "Test images with dropped pixels or a masked block (the dropped pixels drawn in orange, "
                           "with a legend), the model's fill-in and the originals; by default with the mask and level "
                           "the run was trained on.")
@click.option("--mask", type=click.Choice(["pixels", "block"]), default=None,
              help="Mask kind [default: the run's own, else block].")
@click.option("--level", type=click.FloatRange(min=0, max=1), default=None,
              help="Drop probability (pixels) or block side as a fraction of the image (block) [default: the run's "
                   "own, else 0.5 (pixels) or 0.4 (block)].")
@click.option("-n", "count", type=click.IntRange(min=1), default=8, show_default=True)
def inpaint_cmd(ref, output, dataset, data_dir, home, as_json, look, mask, level, count):
    _restoration(ref, output, dataset, data_dir, home, as_json, look, mask, level, count, inpainting=True)


@figure_command("traverse", "Latent traversals: the most used latent dimensions the decoder reads (by their KL to "
                            "N(0, 1) for a Gaussian posterior under the N(0, I) prior, else by the variance of their "
                            "codes, as the posterior's kind decides; a hierarchical model's first level), each swept "
                            "over the range of the test codes with the others fixed at one test image's code; for a "
                            "categorical code, the variables with the most KL to the uniform categorical, each set to "
                            "each of its categories (--steps does not apply).")
@click.option("--dims", type=click.IntRange(min=1), default=8, show_default=True,
              help="Dimensions (categorical variables) to show.")
@click.option("--steps", type=click.IntRange(min=2), default=9, show_default=True)
@click.option("--image", "index", type=int, default=None, help="Index of the test image whose code is the base.")
def traverse_cmd(ref, output, dataset, data_dir, home, as_json, look, dims, steps, index):
    from aezoo.viz import views

    model, splits = open_run(ref, home, dataset, data_dir)
    path = out_path(output, model, "traverse", unless(index, None, f"image{index}"), unless(dims, 8, f"dims{dims}"),
                    unless(steps, 9, f"steps{steps}"))
    emit([(views.traversal(model, splits, dims, steps, index, title=look.title), path)], as_json, look.dpi)


COMMANDS = [reconstruct_cmd, latent_cmd, sample_cmd, generate_cmd, interpolate_cmd, denoise_cmd,
            inpaint_cmd, traverse_cmd]
