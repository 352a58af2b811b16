"""The module named by the ``aezoo`` entry point: registers one model and one dataset, importing only aezoo.

Factories and loaders are given as ``"module:function"`` strings, so ``zoo list`` and ``zoo --help`` never
import torch or numpy; aezoo imports those modules only when a model is built or a dataset is loaded.
"""
import aezoo

AEZOO_PLUGIN_API = 2  # the aezoo plugin API this plugin was written for; a mismatch is reported, not loaded


@aezoo.hookimpl
def register_models(register):
    """Register ``res-conv-vae``."""
    register("res-conv-vae", "aezoo_plugin_example.model:build",
             "Residual convolutional VAE (stride-2 convs + residual blocks, ELBO)", family="vae")


@aezoo.hookimpl
def register_datasets(register):
    """Register ``blobs``."""
    register("blobs", "aezoo_plugin_example.blobs:load_blobs",
             "Synthetic 16x16 grey Gaussian blobs, 2000 images, 4 classes by quadrant, no download")
