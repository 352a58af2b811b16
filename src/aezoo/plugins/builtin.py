"""The built-in plugin: aezoo's own models and datasets, loaded through the ``aezoo`` entry point
exactly like a third-party plugin."""
from __future__ import annotations

from aezoo.models import beta_vae, conv_ae, conv_vae, denoising_ae, inpainting_ae, mlp_ae, vae
from aezoo.plugins.hookspecs import hookimpl

MODELS = (mlp_ae, conv_ae, vae, conv_vae, denoising_ae, inpainting_ae, beta_vae)


@hookimpl
def register_models(register):
    for m in MODELS:
        register(m.NAME, m.build, m.SUMMARY, family=m.FAMILY)
