"""info-vae: InfoVAE with the MMD divergence (Zhao et al. 2019): reconstruction + (1 - alpha) KL +
(alpha + lambda - 1) MMD(aggregate posterior, prior), the MMD with WAE's multi-scale IMQ kernel."""
NAME, FAMILY = "info-vae", "vae"
SUMMARY = "InfoVAE (MMD): ELBO with the KL weighted 1 - alpha plus an MMD term between q(z) and the prior"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), alpha: float = 0.0,
          lbd: float = 10.0, kernel_scale: float = 1.0, likelihood: str = "bernoulli"):
    from aezoo.models.info_vae_objective import InfoMMD
    from aezoo.models.parts import assemble

    return assemble(input_shape, "conv", channels, latent_dim, posterior="gaussian",
                    objective=InfoMMD(alpha, lbd, kernel_scale), likelihood=likelihood)
