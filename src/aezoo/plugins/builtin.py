"""The built-in plugin: aezoo's own models and datasets, loaded through the ``aezoo`` entry point
exactly like a third-party plugin."""
from __future__ import annotations

from aezoo.models import (
    aae,
    beta_tcvae,
    beta_vae,
    conv_ae,
    conv_vae,
    denoising_ae,
    factor_vae,
    info_vae,
    inpainting_ae,
    iwae,
    mlp_ae,
    rae_gp,
    rae_l2,
    vae,
    vamp_vae,
    vq_vae,
    wae_mmd,
)
from aezoo.plugins.hookspecs import hookimpl

MODELS = (mlp_ae, conv_ae, vae, conv_vae, denoising_ae, inpainting_ae, beta_vae, iwae, vamp_vae, info_vae, beta_tcvae,
          vq_vae, wae_mmd, rae_l2, rae_gp, factor_vae, aae)

# (name, "module:loader", summary, takes_path); strings keep torch, numpy and sklearn out of `zoo list`
DATASETS = (
    ("digits", "aezoo.data.sources:load_digits", "scikit-learn's 8x8 handwritten digits, 1797 images, no download", False),
    ("mnist", "aezoo.data.torchvision_sources:load_mnist", "MNIST handwritten digits, 28x28 grey (torchvision)", False),
    ("fashion-mnist", "aezoo.data.torchvision_sources:load_fashion_mnist",
     "Fashion-MNIST clothing, 28x28 grey (torchvision or Debian's dataset-fashion-mnist)", False),
    ("kmnist", "aezoo.data.torchvision_sources:load_kmnist", "Kuzushiji-MNIST cursive Japanese, 28x28 grey (torchvision)",
     False),
    ("cifar10", "aezoo.data.torchvision_sources:load_cifar10", "CIFAR-10 objects, 32x32 RGB (torchvision)", False),
    ("npz", "aezoo.data.files:load_npz", "Your arrays: npz:PATH with x (and optional y, x_test, y_test)", True),
    ("folder", "aezoo.data.files:load_folder", "Your images: folder:PATH, one subfolder per class optional", True),
)


@hookimpl
def register_models(register):
    for m in MODELS:
        register(m.NAME, m.build, m.SUMMARY, family=m.FAMILY)


@hookimpl
def register_datasets(register):
    for name, loader, summary, takes_path in DATASETS:
        register(name, loader, summary, takes_path=takes_path)


TRACKERS = (
    ("tensorboard", "aezoo.plugins.trackers:tensorboard", "TensorBoard event files: --log tensorboard[:DIR] (needs tensorboard)"),
    ("mlflow", "aezoo.plugins.trackers:mlflow", "An MLflow run: --log mlflow[:TRACKING_URI] (needs mlflow or mlflow-skinny)"),
)


@hookimpl
def register_trackers(register):
    for name, factory, summary in TRACKERS:
        register(name, factory, summary)
