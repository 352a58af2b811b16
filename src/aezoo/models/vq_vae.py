"""vq-vae: a convolutional VQ-VAE (van den Oord et al. 2017): the code is snapped to a learned codebook."""
NAME, FAMILY = "vq-vae", "vq"
SUMMARY = "Convolutional VQ-VAE (codebook, straight-through gradient, codebook + commitment losses)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), codebook_size: int = 64,
          embedding_dim: int = 4, commitment: float = 0.25, restart_every: int = 10, likelihood: str = "bernoulli"):
    from aezoo.core.posteriors import VectorQuantiser
    from aezoo.core.priors import Categorical
    from aezoo.models.parts import assemble, check_positive
    from aezoo.models.vq_objective import VQLoss

    quantiser = VectorQuantiser(check_positive("latent_dim", latent_dim), codebook_size, embedding_dim, restart_every)
    prior = Categorical(latent_dim, quantiser.positions, quantiser.codebook_size)  # uniform: the paper's training prior
    return assemble(input_shape, "conv", channels, latent_dim, posterior=quantiser, prior=prior,
                    objective=VQLoss(commitment), likelihood=likelihood, sampler="categorical")
