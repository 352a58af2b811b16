"""conv-vae: a convolutional VAE (2 stride-2 conv layers 32/64, latent 16 by default)."""
NAME, FAMILY = "conv-vae", "vae"
SUMMARY = "Convolutional variational autoencoder (Gaussian latent, ELBO)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), beta: float = 1.0,
          likelihood: str = "bernoulli", warmup: int = 0):
    from aezoo.core.objectives import ELBO
    from aezoo.models.parts import assemble

    return assemble(input_shape, "conv", channels, latent_dim, posterior="gaussian", objective=ELBO(beta=beta, warmup=warmup),
                    likelihood=likelihood)
