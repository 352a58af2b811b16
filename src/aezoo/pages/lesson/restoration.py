"""Section 2, compression, denoising and inpainting: what the deep AE's small code keeps, and autoencoders trained
on corrupted inputs with clean targets restoring test images (before, after, the original; masks visible)."""
from __future__ import annotations

from aezoo.core.evaluator import compression_ratio, inference, model_device, psnr_per_image
from aezoo.pages.lesson.common import Figure, Lesson, Section
from aezoo.pages.lesson.runs import COMPRESSION_DIM, DENOISING, INPAINTING
from aezoo.viz import views

SHOWN = 10


def build(L: Lesson) -> Section:
    t = L.t
    role = f"deep-ae-z{COMPRESSION_DIM}"
    deep = L.model(role)
    x = L.test_images
    with inference(deep):
        psnr = float(psnr_per_image(deep.reconstruct(x.to(model_device(deep))).cpu(), x).mean())
    bits = compression_ratio(deep.input_shape, deep.posterior.code_bits())
    pixels = x[0].numel()
    compressed = views.reconstruction(deep, L.splits, SHOWN, title=t("b.compression_title", d=deep.latent_dim))
    numbers = [t("b.compression", d=deep.latent_dim, pixels=pixels, fewer=pixels / deep.latent_dim,
                 bits=bits["compression_ratio"], psnr=psnr)]
    figures = [Figure(compressed, t("b.compression_caption", d=deep.latent_dim),
                      [L.command(f"zoo reconstruct {L.ref(role)} -n {SHOWN}")])]
    values = {"compression": {"latent_dim": deep.latent_dim, "pixels": pixels, "psnr": psnr, **bits}}
    for need, inpainting, command, (gain, no_gain, caption, title) in (
            (DENOISING, False, "denoise", ("b.denoise_gain", "b.denoise_no_gain", "b.denoise_caption",
                                           "b.denoise_title")),
            (INPAINTING, True, "inpaint", ("b.inpaint_gain", "b.inpaint_no_gain", "b.inpaint_caption",
                                           "b.inpaint_title"))):
        model = L.model(need.role)
        kind, level, _ = views.corruption_for(model, inpainting)
        shown = views.restoration(model, L.splits, inpainting=inpainting, title=t(title, kind=kind, level=level))
        e = shown.info["errors"]
        before, after = e["corrupted_psnr"], e["restored_psnr"]
        what = dict(kind=shown.info["corruption"], level=shown.info["level"], before=before, after=after,
                    gain=after - before)
        numbers.append(t(gain if after > before else no_gain, **what))
        figures.append(Figure(shown, t(caption, kind=what["kind"], level=what["level"]),
                              [L.command(f"zoo {command} {L.ref(need.role)}")]))
        values[command] = {**what, "run": L.ref(need.role)}
    return Section("restoration", t("b.title"), [t("b.text1"), t("b.text2")], numbers, figures, values)
