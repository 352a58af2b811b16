"""inpainting-ae: a conv autoencoder trained to fill in dropped pixels or masked blocks."""
NAME, FAMILY = "inpainting-ae", "ae"
SUMMARY = "Convolutional inpainting autoencoder (dropped pixels or a block mask in, full image out)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), mask: str = "pixels",
          mask_level: float = 0.5, likelihood: str = "bernoulli"):
    """``mask``: 'pixels' (level = drop probability) or 'block' (level = block side / image side)."""
    from aezoo.core.objectives import Reconstruction
    from aezoo.models.parts import assemble

    if mask not in ("pixels", "block"):
        raise ValueError(f"mask must be 'pixels' or 'block', got {mask!r}")
    return assemble(input_shape, "conv", channels, latent_dim, objective=Reconstruction(), likelihood=likelihood,
                    corruption=(mask, mask_level))
