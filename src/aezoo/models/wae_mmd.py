"""wae-mmd: a convolutional Wasserstein autoencoder (Tolstikhin et al. 2018) with the MMD penalty."""
NAME, FAMILY = "wae-mmd", "wae"
SUMMARY = "Convolutional Wasserstein autoencoder (deterministic code pulled to N(0, I) by an IMQ-kernel MMD)"


def build(input_shape, latent_dim: int = 16, channels: tuple[int, ...] = (32, 64), reg_weight: float = 10.0,
          kernel_scale: float = 1.0, likelihood: str = "bernoulli"):
    # reg_weight weighs the unbiased (batch-size free) MMD^2 as in the paper (lambda = 10 on MNIST); pythae's
    # reg_weight=3e-2 weighs batch_size x MMD^2 instead (about 2 at our batch size 64). Kernel scales as both.
    from aezoo.models.parts import assemble
    from aezoo.models.wae_objective import WAEMMDLoss

    return assemble(input_shape, "conv", channels, latent_dim, posterior="point",
                    objective=WAEMMDLoss(reg_weight, kernel_scale), likelihood=likelihood, sampler="prior")
