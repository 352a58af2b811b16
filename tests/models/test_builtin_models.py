"""Every built-in model builds, runs forward/backward on several input shapes and learns a fixed batch."""
import pytest
import torch

import aezoo
from aezoo.api.build import create_model
from aezoo.api.catalog import list_models

BUILTINS = ["beta-vae", "conv-ae", "conv-vae", "denoising-ae", "inpainting-ae", "mlp-ae", "vae"]
SHAPES = [(1, 8, 8), (1, 28, 28), (3, 32, 32)]


def test_all_builtins_are_listed():
    assert set(BUILTINS) <= set(list_models())


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("name", BUILTINS)
def test_forward_backward_and_learning(name, shape):
    torch.manual_seed(0)
    model = create_model(name, input_shape=shape, latent_dim=4)
    x = torch.rand(16, *shape).round()  # binary-ish images in [0, 1]
    out = model(x)
    assert out.logits.shape == x.shape
    assert out.mu.shape == (16, 4)
    assert model.encode(x).shape == (16, 4)
    assert model.reconstruct(x).shape == x.shape
    assert model.capabilities.posterior_density == (out.logvar is not None)
    def eval_loss():
        model.eval()
        torch.manual_seed(1)  # same reparameterisation noise before and after
        with torch.no_grad():
            return model.loss(x)

    before, _ = eval_loss()
    assert torch.isfinite(before)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(25):
        loss, parts = model.loss(x)
        assert torch.isfinite(loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after, parts = eval_loss()
    assert "reconstruction" in parts
    assert after < before, f"{name} on {shape}: loss did not fall ({before:.2f} -> {after:.2f})"


@pytest.mark.parametrize("name", ["vae", "conv-vae", "beta-vae"])
def test_variational_models_sample_from_the_prior(name):
    model = create_model(name, input_shape=(1, 8, 8), latent_dim=3)
    images = model.sample(5, generator=torch.Generator().manual_seed(0))
    assert images.shape == (5, 1, 8, 8)
    prior_draws = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))  # decoded draws from N(0, I)
    with torch.no_grad():
        assert torch.allclose(images, model.decode(prior_draws))


def test_plain_autoencoder_refuses_prior_sampling():
    model = create_model("conv-ae", input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="not meaningful"):
        model.sample(3)


def test_odd_input_sizes_are_cropped_back():
    model = create_model("conv-vae", input_shape=(3, 30, 27), latent_dim=2)
    assert model(torch.rand(2, 3, 30, 27)).logits.shape == (2, 3, 30, 27)


def test_hyperparameters_change_the_network():
    small = create_model("conv-ae", input_shape=(1, 28, 28), channels=(8, 16))
    big = create_model("conv-ae", input_shape=(1, 28, 28), channels=[32, 64])
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(small) < count(big)


def test_beta_vae_defaults_to_beta_4_and_vae_to_1():
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(2))

    def loss(name, **hyperparameters):
        torch.manual_seed(0)  # same initial weights, and the same posterior draws below
        model = create_model(name, input_shape=(1, 8, 8), latent_dim=3, **hyperparameters)
        torch.manual_seed(1)
        return model.loss(x)

    (beta4, parts), (beta1, _), (vae, _) = loss("beta-vae"), loss("beta-vae", beta=1.0), loss("conv-vae")
    assert beta4.item() == pytest.approx((parts["reconstruction"] + 4 * parts["kl"]).item(), rel=1e-6)
    assert parts["kl"] > 0.005 and (beta4 - beta1).item() == pytest.approx(3 * parts["kl"].item(), abs=1e-4)
    assert torch.equal(vae, beta1)


def test_unknown_model_suggests_the_closest_name():
    with pytest.raises(aezoo.errors.UnknownModelError, match="did you mean 'conv-vae'"):
        create_model("conv-vea")


def test_unknown_hyperparameter_lists_the_valid_ones():
    with pytest.raises(aezoo.errors.BadHyperparameterError, match="latent_dim"):
        create_model("conv-vae", input_shape=(1, 8, 8), latnet_dim=3)


def test_too_small_input_for_the_conv_stack_says_what_to_do():
    with pytest.raises(ValueError, match="too small"):
        create_model("conv-ae", input_shape=(1, 3, 3))


def test_denoising_and_inpainting_corrupt_only_while_training():
    model = create_model("denoising-ae", input_shape=(1, 8, 8))
    x = torch.rand(4, 1, 8, 8)
    model.eval()
    a, _ = model.loss(x)
    b, _ = model.loss(x)
    assert torch.equal(a, b)  # no corruption in eval mode: deterministic
    model.train()
    torch.manual_seed(0)
    c, _ = model.loss(x)
    assert not torch.equal(a, c)
