"""The built-in plugin: aezoo's own models, datasets and trackers, loaded through the ``aezoo`` entry point exactly
like a third-party plugin. Every factory is a ``"module:function"`` string and every model's registration carries
all its hyperparameters' defaults and names its torch-free checks, so listing models, checking ``--set`` keys and
values, and suggesting a name for a typo import no model module and no torch."""
from __future__ import annotations

from typing import Any

from aezoo.plugins.hookspecs import hookimpl

CHECKS = "aezoo.core.checks:check_hyperparameters"


def model(name: str, family: str, factory: str, summary: str, **defaults: Any) -> tuple[str, str, str, dict]:
    """One row of MODELS: a registration whose ``defaults`` are every hyperparameter the model has."""
    return name, factory, summary, {"family": family, "defaults": defaults, "checks": CHECKS}


MODELS = (  # a family's variants share its build and differ in their defaults (its registrations), as timm's do
    model("mlp-ae", "ae", "aezoo.models.ae:build",
          "Fully connected autoencoder (deterministic code, reconstruction loss)",
          latent_dim=8, hidden=(256, 128), likelihood="bernoulli"),
    model("linear-ae", "ae", "aezoo.models.ae:build_linear",
          "Linear autoencoder: one linear map each way, no hidden layer (PCA's pair, learned by gradient descent)",
          latent_dim=8, likelihood="bernoulli"),
    model("pca", "pca", "aezoo.models.pca:build",
          "PCA as an encoder/decoder pair, fitted in closed form (one fit, no epochs): the linear baseline",
          latent_dim=8, likelihood="gaussian"),
    model("conv-ae", "ae", "aezoo.models.ae:build",
          "Convolutional autoencoder (stride-2 convs, deterministic code)",
          latent_dim=16, channels=(32, 64), likelihood="bernoulli"),
    model("denoising-ae", "ae", "aezoo.models.ae:build",
          "Convolutional denoising autoencoder (noisy input, clean target)",
          latent_dim=16, channels=(32, 64), noise="gaussian", noise_level=0.3, likelihood="bernoulli"),
    model("inpainting-ae", "ae", "aezoo.models.ae:build",
          "Convolutional inpainting autoencoder (dropped pixels or a block mask in, full image out)",
          latent_dim=16, channels=(32, 64), mask="pixels", mask_level=0.5, likelihood="bernoulli"),
    model("vae", "vae", "aezoo.models.vae:build",
          "Variational autoencoder with MLP encoder/decoder (the classic tutorial model, 2-D latent)",
          latent_dim=2, hidden=(512, 256), beta=1.0, likelihood="bernoulli", warmup=0),
    model("conv-vae", "vae", "aezoo.models.vae:build",
          "Convolutional variational autoencoder (Gaussian latent, ELBO)",
          latent_dim=16, channels=(32, 64), beta=1.0, likelihood="bernoulli", warmup=0),
    model("cvae", "vae", "aezoo.models.cvae:build",
          "Conditional conv VAE: encoder and decoder see the class label (one-hot); generates a requested class",
          latent_dim=16, classes=10, channels=(32, 64), beta=1.0, warmup=0, likelihood="bernoulli"),
    model("beta-vae", "vae", "aezoo.models.vae:build",
          "Convolutional beta-VAE (ELBO with the KL term weighted by beta, default 4)",
          latent_dim=16, channels=(32, 64), beta=4.0, likelihood="bernoulli", warmup=0),
    model("iwae", "vae", "aezoo.models.iwae:build",
          "Importance-weighted autoencoder (conv VAE trained on the K-sample IW bound, default K=5)",
          latent_dim=16, channels=(32, 64), k=5, likelihood="bernoulli"),
    model("miwae", "vae", "aezoo.models.miwae:build",
          "Multiply importance-weighted AE (Rainforth et al. 2018): the mean of M K-sample IW bounds (M=1: IWAE)",
          latent_dim=16, channels=(32, 64), m=4, k=4, likelihood="bernoulli"),
    model("piwae", "vae", "aezoo.models.piwae:build",
          "Partially importance-weighted AE: encoder on the MIWAE(M, K) bound, decoder on the IWAE(M x K) bound",
          latent_dim=16, channels=(32, 64), m=4, k=4, likelihood="bernoulli"),
    model("ciwae", "vae", "aezoo.models.ciwae:build",
          "Combination importance-weighted AE: beta x K-sample ELBO + (1 - beta) x IWAE bound on the same draws",
          latent_dim=16, channels=(32, 64), k=16, beta=0.5, likelihood="bernoulli"),
    model("vamp-vae", "vae", "aezoo.models.vamp_vae:build",
          "Convolutional VAE with a VampPrior (mixture of posteriors at learned pseudo-inputs, default 50)",
          latent_dim=16, channels=(32, 64), components=50, beta=1.0, likelihood="bernoulli", warmup=0),
    model("info-vae", "vae", "aezoo.models.info_vae:build",
          "InfoVAE (MMD): ELBO with the KL weighted 1 - alpha plus an MMD term between q(z) and the prior",
          latent_dim=16, channels=(32, 64), alpha=0.0, lbd=10.0, kernel_scale=1.0, likelihood="bernoulli"),
    model("beta-tcvae", "vae", "aezoo.models.beta_tcvae:build",
          "beta-TCVAE: conv VAE whose KL splits into MI + beta x total correlation + dimension-wise KL",
          latent_dim=16, channels=(32, 64), alpha=1.0, beta=6.0, gamma=1.0, dataset_size=0, sampling="mws",
          likelihood="bernoulli"),
    model("dip-vae", "vae", "aezoo.models.dip_vae:build",
          "DIP-VAE (Kumar et al. 2018): ELBO + a penalty pulling the covariance of q(z) towards I (type i or ii)",
          latent_dim=16, channels=(32, 64), dip_type="i", lambda_od=10.0, lambda_d=100.0, likelihood="bernoulli"),
    model("capacity-vae", "vae", "aezoo.models.capacity_vae:build",
          "beta-VAE with a controlled capacity (Burgess et al. 2018): gamma |KL - C|, C raised linearly to a maximum",
          latent_dim=16, channels=(32, 64), gamma=10.0, capacity=5.0, capacity_steps=2000, likelihood="bernoulli"),
    model("msssim-vae", "vae", "aezoo.models.msssim_vae:build",
          "VAE trained on 1 - MS-SSIM (Snell et al. 2017) + beta KL instead of a pixel likelihood",
          latent_dim=16, channels=(32, 64), beta=0.01, scales=2, window=3),
    model("factor-vae", "vae", "aezoo.models.factor_vae:build",
          "FactorVAE: conv VAE + gamma x total correlation, estimated by a discriminator on permuted codes",
          latent_dim=16, channels=(32, 64), gamma=2.0, disc_hidden=(256, 256, 256), disc_lr=1e-4,
          likelihood="bernoulli"),
    model("vq-vae", "vq", "aezoo.models.vq_vae:build",
          "Convolutional VQ-VAE (codebook, straight-through gradient, codebook + commitment losses)",
          latent_dim=16, channels=(32, 64), codebook_size=64, embedding_dim=4, commitment=0.25, restart_every=10,
          likelihood="bernoulli"),
    model("fsq-vae", "vq", "aezoo.models.fsq_vae:build",
          "Convolutional FSQ autoencoder (finite scalar quantisation: each number rounded to a few levels, no codebook)",
          latent_dim=16, levels=(8, 5, 5, 5), channels=(32, 64), likelihood="bernoulli"),
    model("gumbel-vae", "vae", "aezoo.models.gumbel_vae:build",
          "Convolutional VAE with categorical latents (Gumbel-softmax relaxation, annealed temperature, uniform prior)",
          latent_dim=16, categories=10, channels=(32, 64), temperature=1.0, min_temperature=0.5, anneal_rate=3e-4,
          anneal_every=500, straight_through=False, likelihood="bernoulli"),
    model("wae-mmd", "wae", "aezoo.models.wae:build",
          "Convolutional Wasserstein autoencoder (deterministic code pulled to N(0, I) by an IMQ-kernel MMD)",
          latent_dim=16, channels=(32, 64), reg_weight=10.0, kernel_scale=1.0, likelihood="bernoulli"),
    model("swae", "wae", "aezoo.models.swae:build",
          "Sliced-Wasserstein autoencoder (Kolouri et al. 2019): deterministic code pulled to N(0, I) by SW_2^2",
          latent_dim=16, channels=(32, 64), reg_weight=10.0, projections=50, likelihood="bernoulli"),
    model("rae-l2", "rae", "aezoo.models.rae:build",
          "Convolutional RAE (deterministic code; ||z||^2 + L2 of decoder weights; samples from a fitted GMM)",
          latent_dim=16, channels=(32, 64), penalty="l2", embedding_weight=1e-4, reg_weight=1e-7,
          likelihood="bernoulli"),
    model("rae-gp", "rae", "aezoo.models.rae:build",
          "Convolutional RAE (deterministic code; ||z||^2 + decoder gradient penalty; samples from a fitted GMM)",
          latent_dim=16, channels=(32, 64), penalty="gp", embedding_weight=1e-4, reg_weight=1e-7,
          likelihood="bernoulli"),
    model("aae", "aae", "aezoo.models.aae:build",
          "Adversarial autoencoder: conv AE whose codes a discriminator matches to the prior N(0, I)",
          latent_dim=16, channels=(32, 64), adversarial_weight=1.0, disc_hidden=(256,), disc_lr=1e-4,
          likelihood="bernoulli"),
    model("vae-gan", "vae", "aezoo.models.vae_gan:build",
          "VAE/GAN (Larsen et al. 2016): reconstruction on a discriminator's features, decoder also fools it",
          latent_dim=16, channels=(32, 64), gamma=1.0, feature_layer=2, disc_channels=(32, 64), disc_lr=1e-4),
)

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

TRACKERS = (
    ("tensorboard", "aezoo.plugins.trackers:tensorboard", "TensorBoard event files: --log tensorboard[:DIR] (needs tensorboard)"),
    ("mlflow", "aezoo.plugins.trackers:mlflow", "An MLflow run: --log mlflow[:TRACKING_URI] (needs mlflow or mlflow-skinny)"),
)


@hookimpl
def register_models(register):
    for name, factory, summary, options in MODELS:
        register(name, factory, summary, **options)


@hookimpl
def register_datasets(register):
    for name, loader, summary, takes_path in DATASETS:
        register(name, loader, summary, takes_path=takes_path)


@hookimpl
def register_trackers(register):
    for name, factory, summary in TRACKERS:
        register(name, factory, summary)
