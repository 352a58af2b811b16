"""aae: a conv autoencoder with a deterministic encoder whose codes a discriminator pushes towards the prior
N(0, I) (Makhzani et al. 2016); the discriminator trains with its own Adam optimiser; samples from the prior."""
NAME, FAMILY = "aae", "aae"
SUMMARY = "Adversarial autoencoder: conv AE whose codes a discriminator matches to the prior N(0, I)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), adversarial_weight: float = 1.0,
          disc_hidden: tuple[int, ...] = (256,), disc_lr: float = 1e-4, likelihood: str = "bernoulli"):
    from aezoo.models.aae_objective import AdversarialObjective
    from aezoo.models.parts import assemble
    from aezoo.nets.discriminators import check_lr, check_weight, code_discriminator

    objective = AdversarialObjective(weight=check_weight("adversarial_weight", adversarial_weight))
    return assemble(input_shape, "conv", channels, latent_dim, posterior="point", objective=objective,
                    likelihood=likelihood, sampler="prior",
                    aux={"discriminator": code_discriminator(latent_dim, disc_hidden)},
                    aux_optimizers={"discriminator": {"optimizer": "adam", "lr": check_lr(disc_lr)}})
