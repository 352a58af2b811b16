"""vamp-vae: a conv VAE with a VampPrior (Tomczak & Welling 2018), a mixture of its own posteriors at learned
pseudo-inputs; the KL term of the ELBO is a Monte-Carlo estimate against that prior."""
NAME, FAMILY = "vamp-vae", "vae"
SUMMARY = "Convolutional VAE with a VampPrior (mixture of posteriors at learned pseudo-inputs, default 50)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), components: int = 50,
          beta: float = 1.0, likelihood: str = "bernoulli", warmup: int = 0):
    from aezoo.core.objectives import ELBO
    from aezoo.core.priors import VampPrior
    from aezoo.models.parts import assemble, check_positive

    prior = VampPrior(latent_dim, input_shape, check_positive("components", components))
    return assemble(input_shape, "conv", channels, latent_dim, posterior="gaussian", prior=prior,
                    objective=ELBO(beta=beta, warmup=warmup), likelihood=likelihood)
