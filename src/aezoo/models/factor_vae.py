"""factor-vae: a conv VAE whose codes are pushed towards independent dimensions by a discriminator's estimate of
their total correlation (Kim & Mnih 2018); the discriminator trains with its own Adam optimiser."""
NAME, FAMILY = "factor-vae", "vae"
SUMMARY = "FactorVAE: conv VAE + gamma x total correlation, estimated by a discriminator on permuted codes"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), gamma: float = 2.0,
          disc_hidden: tuple[int, ...] = (256, 256, 256), disc_lr: float = 1e-4, likelihood: str = "bernoulli"):
    from aezoo.models.factor_vae_objective import FactorVAEObjective
    from aezoo.models.parts import assemble
    from aezoo.nets.discriminators import check_lr, check_weight, code_discriminator

    objective = FactorVAEObjective(gamma=check_weight("gamma", gamma))
    return assemble(input_shape, "conv", channels, latent_dim, posterior="gaussian", objective=objective,
                    likelihood=likelihood, aux={"discriminator": code_discriminator(latent_dim, disc_hidden)},
                    aux_optimizers={"discriminator": {"optimizer": "adam", "lr": check_lr(disc_lr), "betas": (0.5, 0.9)}})
