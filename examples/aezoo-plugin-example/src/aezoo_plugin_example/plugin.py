"""The module named by the ``aezoo`` entry point: registers one model and one dataset, importing only aezoo.

Factories and loaders are given as ``"module:function"`` strings, so ``zoo list`` and ``zoo --help`` never
import torch or numpy; aezoo imports those modules only when a model is built or a dataset is loaded. The model's
``defaults`` (all its hyperparameters) and torch-free ``checks`` let aezoo list it and refuse a bad ``--set`` without
importing the model module either, as aezoo's own models are registered.
"""
import aezoo

AEZOO_PLUGIN_API = 2  # the aezoo plugin API this plugin was written for; a mismatch is reported, not loaded


@aezoo.hookimpl
def register_models(register):
    """Register ``res-conv-vae``."""
    register("res-conv-vae", "aezoo_plugin_example.model:build",
             "Residual convolutional VAE (stride-2 convs + residual blocks, ELBO)", family="vae",
             defaults={"latent_dim": 16, "channels": (32, 64), "blocks": 1, "beta": 1.0, "likelihood": "bernoulli"},
             checks="aezoo.core.checks:check_hyperparameters")  # latent_dim, channels, beta, likelihood: aezoo's meaning


@aezoo.hookimpl
def register_datasets(register):
    """Register ``blobs``."""
    register("blobs", "aezoo_plugin_example.blobs:load_blobs",
             "Synthetic 16x16 grey Gaussian blobs, 2000 images, 4 classes by quadrant, no download")
