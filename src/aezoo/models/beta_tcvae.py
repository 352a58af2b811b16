"""beta-tcvae: beta-TCVAE (Chen et al. 2018): the KL term split into index-code mutual information, total
correlation and dimension-wise KL, weighted alpha, beta, gamma, with minibatch-weighted sampling of q(z)."""
NAME, FAMILY = "beta-tcvae", "vae"
SUMMARY = "beta-TCVAE: conv VAE whose KL splits into MI + beta x total correlation + dimension-wise KL"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), alpha: float = 1.0,
          beta: float = 6.0, gamma: float = 1.0, dataset_size: int = 0, sampling: str = "mws",
          likelihood: str = "bernoulli"):
    """``sampling``: how q(z) is estimated from the minibatch, 'mws' (minibatch-weighted) or 'mss'
    (minibatch-stratified, which needs ``dataset_size``, the number of training images)."""
    from aezoo.models.beta_tcvae_objective import TCDecomposition
    from aezoo.models.parts import assemble

    return assemble(input_shape, "conv", channels, latent_dim, posterior="gaussian",
                    objective=TCDecomposition(alpha, beta, gamma, dataset_size, sampling), likelihood=likelihood)
