"""mlp-ae: a fully connected autoencoder, the plain dimensionality-reduction pair."""
NAME, FAMILY = "mlp-ae", "ae"
SUMMARY = "Fully connected autoencoder (deterministic code, reconstruction loss)"


def build(input_shape, latent_dim: int = 8, hidden: tuple[int, ...] = (256, 128), likelihood: str = "bernoulli"):
    from aezoo.core.objectives import Reconstruction
    from aezoo.models.parts import assemble

    return assemble(input_shape, "mlp", hidden, latent_dim, objective=Reconstruction(), likelihood=likelihood)
