"""denoising-ae: a conv autoencoder trained on noisy inputs against clean targets."""
NAME, FAMILY = "denoising-ae", "ae"
SUMMARY = "Convolutional denoising autoencoder (noisy input, clean target)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), noise: str = "gaussian",
          noise_level: float = 0.3, likelihood: str = "bernoulli"):
    """``noise``: 'gaussian' (level = std) or 'salt-pepper' (level = fraction of pixels)."""
    from aezoo.core.objectives import Reconstruction
    from aezoo.models.parts import assemble

    if noise not in ("gaussian", "salt-pepper"):
        raise ValueError(f"noise must be 'gaussian' or 'salt-pepper', got {noise!r}")
    return assemble(input_shape, "conv", channels, latent_dim, objective=Reconstruction(), likelihood=likelihood,
                    corruption=(noise, noise_level))
