"""iwae: the importance-weighted autoencoder (Burda et al. 2015): a conv VAE trained on the K-sample bound."""
NAME, FAMILY = "iwae", "vae"
SUMMARY = "Importance-weighted autoencoder (conv VAE trained on the K-sample IW bound, default K=5)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), k: int = 5,
          likelihood: str = "bernoulli"):
    from aezoo.models.iwae_objective import IWBound
    from aezoo.models.parts import assemble, check_positive

    return assemble(input_shape, "conv", channels, latent_dim, posterior="gaussian",
                    objective=IWBound(check_positive("k", k)), likelihood=likelihood)
