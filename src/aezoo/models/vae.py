"""vae: the classic tutorial VAE, MLP encoder to a 2-D Gaussian latent, MLP decoder."""
NAME, FAMILY = "vae", "vae"
SUMMARY = "Variational autoencoder with MLP encoder/decoder (the classic tutorial model, 2-D latent)"


def build(input_shape, latent_dim: int = 2, hidden: tuple[int, ...] = (512, 256), beta: float = 1.0,
          likelihood: str = "bernoulli", warmup: int = 0):
    from aezoo.core.objectives import ELBO
    from aezoo.models.parts import assemble

    return assemble(input_shape, "mlp", hidden, latent_dim, posterior="gaussian", objective=ELBO(beta=beta, warmup=warmup),
                    likelihood=likelihood)
