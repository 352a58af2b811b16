"""conv-ae: a convolutional autoencoder."""
NAME, FAMILY = "conv-ae", "ae"
SUMMARY = "Convolutional autoencoder (stride-2 convs, deterministic code)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), likelihood: str = "bernoulli"):
    from aezoo.core.objectives import Reconstruction
    from aezoo.models.parts import assemble

    return assemble(input_shape, "conv", channels, latent_dim, objective=Reconstruction(), likelihood=likelihood)
