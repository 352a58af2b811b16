"""beta-vae: a convolutional VAE whose KL term weighs beta (default 4) for a more disentangled latent."""
NAME, FAMILY = "beta-vae", "vae"
SUMMARY = "Convolutional beta-VAE (ELBO with the KL term weighted by beta, default 4)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), beta: float = 4.0,
          likelihood: str = "bernoulli", warmup: int = 0):
    from aezoo.core.objectives import ELBO
    from aezoo.models.parts import assemble

    return assemble(input_shape, "conv", channels, latent_dim, posterior="gaussian", objective=ELBO(beta=beta, warmup=warmup),
                    likelihood=likelihood)
