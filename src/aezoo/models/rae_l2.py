"""rae-l2: a convolutional regularised autoencoder (Ghosh et al. 2020) with the L2 norm of the decoder's weights."""
NAME, FAMILY = "rae-l2", "rae"
SUMMARY = "Convolutional RAE (deterministic code; ||z||^2 + L2 of decoder weights; samples from a fitted GMM)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), embedding_weight: float = 1e-4,
          reg_weight: float = 1e-7, likelihood: str = "bernoulli"):
    from aezoo.models.parts import assemble
    from aezoo.models.rae_objective import RAELoss

    return assemble(input_shape, "conv", channels, latent_dim, posterior="point",
                    objective=RAELoss("l2", embedding_weight, reg_weight), likelihood=likelihood, sampler="gmm")
