"""Sampling, class-conditional generation, interpolation, denoising and inpainting."""
from __future__ import annotations

import pytest
import torch
from helpers import digits_splits, quick_train

from aezoo.core import sampling as gen
from aezoo.core.priors import FittedGaussian

SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def digits():
    return digits_splits()


@pytest.fixture(scope="module")
def vae(digits):
    return quick_train("conv-vae", digits)


@pytest.fixture(scope="module")
def ae(digits):
    return quick_train("conv-ae", digits)


def test_sample_from_vae_prior_is_seeded(vae, digits):
    a = gen.sample(vae, 6, generator=torch.Generator().manual_seed(3))
    b = gen.sample(vae, 6, generator=torch.Generator().manual_seed(3))
    assert a.shape == (6, *SHAPE) and torch.equal(a, b)
    assert abs(a.mean() - digits.train.floats().mean()) < 0.1  # as bright as the digits (measured 0.30 vs 0.31)
    assert not torch.equal(a, gen.sample(vae, 6, generator=torch.Generator().manual_seed(4)))


def test_sample_from_ae_needs_codes(ae, digits):
    with pytest.raises(ValueError, match="codes="):
        gen.sample(ae, 4)
    codes = gen.encode_all(ae, digits.train.floats())
    images = gen.sample(ae, 5, generator=torch.Generator().manual_seed(0), codes=codes)
    assert images.shape == (5, *SHAPE)


def test_fitted_gaussian_matches_target():
    target_mean = torch.tensor([1.0, -2.0])
    target_cov = torch.tensor([[2.0, 0.8], [0.8, 1.0]])
    torch.manual_seed(0)
    codes = torch.distributions.MultivariateNormal(target_mean, target_cov).sample((20_000,))
    fitted = FittedGaussian(codes)
    cov = fitted.scale_tril @ fitted.scale_tril.T
    assert torch.allclose(fitted.loc, target_mean, atol=0.05)
    assert torch.allclose(cov, target_cov, atol=0.08)
    again = FittedGaussian(fitted.sample(20_000, torch.Generator().manual_seed(1)))  # its draws follow it
    assert torch.allclose(again.loc, target_mean, atol=0.08)
    assert torch.allclose(again.scale_tril @ again.scale_tril.T, target_cov, atol=0.12)


def test_sample_like_vae_and_ae(vae, ae, digits):
    x = digits.test.floats(1)[0]
    g = torch.Generator().manual_seed(0)
    variations = gen.sample_like(vae, x, 4, generator=g)
    assert variations.shape == (4, *SHAPE)
    assert not torch.equal(variations[0], variations[1])
    with pytest.raises(ValueError, match="codes="):
        gen.sample_like(ae, x, 4)
    codes = gen.encode_all(ae, digits.train.floats())
    near = gen.sample_like(ae, x, 50, codes=codes, generator=g, scale=0.01)
    far = gen.sample_like(ae, x, 50, codes=codes, generator=g, scale=2.0)
    recon = ae.reconstruct(x[None]).detach()
    assert (near - recon).pow(2).mean() < (far - recon).pow(2).mean()


def test_class_gaussians(vae, digits):
    x, y = digits.train.floats(), digits.train.labels
    stats = gen.fit_class_gaussians(vae, x, y)
    assert sorted(stats) == list(range(10))
    codes = gen.encode_all(vae, x)
    assert torch.allclose(stats[3].loc, codes[y == 3].mean(0), atol=1e-5)
    cov3 = stats[3].scale_tril @ stats[3].scale_tril.T
    assert torch.allclose(cov3, torch.cov(codes[y == 3].T), atol=1e-4)
    images = gen.generate_class(vae, stats, 3, 7, generator=torch.Generator().manual_seed(0))
    assert images.shape == (7, *SHAPE)
    with pytest.raises(ValueError, match="known labels"):
        gen.generate_class(vae, stats, 42, 1)


@pytest.mark.parametrize("slerp", [False, True])
def test_interpolation_endpoints_are_reconstructions(vae, ae, digits, slerp):
    a, b = digits.test.floats(2)
    for model in (vae, ae):
        path = gen.interpolate(model, a, b, steps=7, slerp=slerp)
        assert path.shape == (7, *SHAPE)
        with torch.no_grad():
            model.eval()
            ra, rb = model.reconstruct(a[None]), model.reconstruct(b[None])
        assert torch.equal(path[0], ra[0]) and torch.equal(path[-1], rb[0])
        assert not torch.allclose(path[3], ra[0], atol=1e-3)


def test_latent_paths():
    za, zb = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    line = gen.latent_path(za, zb, 3)
    assert torch.allclose(line[1], torch.tensor([0.5, 0.5]))
    arc = gen.latent_path(za, zb, 5, slerp=True)
    assert torch.equal(arc[0], za) and torch.equal(arc[-1], zb)
    assert torch.allclose(arc.norm(dim=1), torch.ones(5), atol=1e-6)  # slerp keeps the norm of unit vectors
    with pytest.raises(ValueError):
        gen.latent_path(za, zb, 1)


def test_denoise_reports_errors_and_is_seeded(ae, digits):
    x = digits.test.floats(32)
    out = gen.denoise(ae, x, "salt-pepper", 0.4)
    assert out.corrupted.shape == out.restored.shape == out.clean.shape == x.shape
    assert torch.equal(out.clean, x)
    assert out.errors["corrupted_mse"] == pytest.approx((out.corrupted - x).pow(2).mean().item())
    assert out.errors["restored_mse"] == pytest.approx((out.restored - x).pow(2).mean().item())
    assert out.errors["restored_mse"] < out.errors["corrupted_mse"]
    assert out.errors["restored_psnr"] > out.errors["corrupted_psnr"]
    assert torch.equal(gen.denoise(ae, x, "salt-pepper", 0.4).corrupted, out.corrupted)
    with pytest.raises(ValueError, match="unknown noise"):
        gen.denoise(ae, x, "block", 0.4)


def test_inpaint_masks_a_block(vae, digits):
    x = digits.test.floats(16) * 0.9 + 0.1  # no zero pixels, so the mask is visible as zeros
    out = gen.inpaint(vae, x, "block", 0.5)
    zeros = (out.corrupted == 0).flatten(1).sum(1)
    assert torch.all(zeros == 16)  # one 4x4 block per image
    hole = out.corrupted == 0
    restored_error = (out.restored - out.clean)[hole].pow(2).mean()
    assert restored_error < 0.5 * out.clean[hole].pow(2).mean()  # the fill-in is near the original (0.10 vs 0.37)
    with pytest.raises(ValueError, match="unknown mask"):
        gen.inpaint(vae, x, "gaussian", 0.1)
