"""msssim-vae (Snell et al. 2017): 1 - MS-SSIM(x, x_hat) + beta KL, MS-SSIM per image with valid windows, against a
plain-torch reference (window statistics from unfolded patches, pooling by reshaping); what MS-SSIM means at 8x8
and at 28x28; no likelihood bound."""
import math

import pytest
import torch
from helpers import loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.interfaces import DONE, Batch
from aezoo.models.msssim_vae import NOT_A_LIKELIHOOD, ms_ssim, scale_weights

SHAPE = (1, 8, 8)



def _images(n=5, shape=SHAPE, seed=0):
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _window(size, sigma=1.5):
    taps = [math.exp(-((i - size // 2) ** 2) / (2 * sigma ** 2)) for i in range(size)]
    taps = torch.tensor(taps, dtype=torch.float64) / sum(taps)
    return (taps[:, None] * taps[None, :]).flatten()


def _ssim_and_cs(a, b, size):
    """Per image: SSIM and cs averaged over every valid window position, each window's statistics weighted by the
    Gaussian window, from unfolded patches (one image channel)."""
    w = _window(size)
    pa = torch.nn.functional.unfold(a, size)  # (N, size*size, positions)
    pb = torch.nn.functional.unfold(b, size)
    mean = lambda t: (w[None, :, None] * t).sum(1)  # noqa: E731
    ma, mb = mean(pa), mean(pb)
    va, vb, cov = mean(pa * pa) - ma ** 2, mean(pb * pb) - mb ** 2, mean(pa * pb) - ma * mb
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    cs = (2 * cov + c2) / (va + vb + c2)
    ssim = (2 * ma * mb + c1) / (ma ** 2 + mb ** 2 + c1) * cs
    return ssim.mean(1), cs.mean(1)


def _halve(t):
    n, c, h, w = t.shape
    return t[:, :, : h // 2 * 2, : w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).mean((3, 5))


def test_identical_images_score_one_and_different_ones_less_symmetrically():
    a, b = _images(seed=0), _images(seed=1)
    assert torch.allclose(ms_ssim(a, a), torch.ones(5, dtype=torch.float64), atol=1e-12)
    v = ms_ssim(a, b)
    assert bool(((v > 0) & (v < 1)).all()) and torch.allclose(v, ms_ssim(b, a), atol=1e-12)


def test_one_scale_is_ssim_with_a_gaussian_window_over_valid_positions():
    a = _images(seed=0)
    b = 0.7 * a + 0.3 * _images(seed=1)  # related images: SSIM well above the clamp at 0
    for size in (3, 5):
        assert torch.allclose(ms_ssim(a, b, scales=1, window=size), _ssim_and_cs(a, b, size)[0], atol=1e-10)


@pytest.mark.parametrize("shape, scales", [((1, 8, 8), 2), ((1, 28, 28), 4)])
def test_ms_ssim_matches_an_independent_computation(shape, scales):
    a, b = _images(4, shape, 0), 0.5 * _images(4, shape, 0) + 0.5 * _images(4, shape, 1)  # related images
    weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333][:scales]
    weights = [w / sum(weights) for w in weights]
    ref = torch.ones(4, dtype=torch.float64)
    for j, w in enumerate(weights):
        ssim, cs = _ssim_and_cs(a, b, 3)
        ref = ref * (ssim if j == scales - 1 else cs) ** w
        a, b = _halve(a), _halve(b)
    assert torch.allclose(ms_ssim(_images(4, shape, 0), 0.5 * _images(4, shape, 0) + 0.5 * _images(4, shape, 1),
                                  scales=scales, window=3), ref, atol=1e-10)
    assert scale_weights(2) == pytest.approx((0.1356, 0.8644), abs=1e-4)


def test_what_does_not_fit_the_image_is_refused_saying_what_does():
    with pytest.raises(ValueError, match=r"8x8 is too small for 3 MS-SSIM scales .* 2 pixels a side\); use scales=2"):
        create_model("msssim-vae", input_shape=SHAPE, scales=3)
    with pytest.raises(ValueError, match=r"28x28 is too small for 5 MS-SSIM scales .* use scales=4"):
        create_model("msssim-vae", input_shape=(1, 28, 28), scales=5)
    with pytest.raises(ValueError, match="window must be an odd positive integer"):
        create_model("msssim-vae", input_shape=SHAPE, window=4)
    assert create_model("msssim-vae", input_shape=(1, 28, 28), scales=4).objective.scales == 4


def _model(**hyper):
    torch.manual_seed(0)
    return create_model("msssim-vae", input_shape=SHAPE, latent_dim=3, channels=(8, 16), **hyper)


def test_loss_matches_an_independent_computation_on_a_fixed_batch():
    model, x = _model(beta=0.3), _images(16).float()
    torch.manual_seed(2)
    loss, parts = model.loss(x)
    mu, logvar = model.encoder(x)
    torch.manual_seed(2)
    z = mu + torch.randn(mu.shape) * torch.exp(0.5 * logvar)
    x_hat = torch.sigmoid(model.decoder(z))
    kl = (0.5 * (mu ** 2 + logvar.exp() - 1 - logvar)).sum(1).mean()
    ref_ms = 1.0
    a, b = x.double(), x_hat.double()
    for j, w in enumerate((0.1356, 0.8644)):
        ssim, cs = _ssim_and_cs(a, b, 3)
        ref_ms = ref_ms * (ssim if j == 1 else cs).clamp_min(1e-8) ** w  # clamped at 0: no fractional power of < 0
        a, b = _halve(a), _halve(b)
    dissimilarity = 1 - ref_ms.mean()
    assert parts["dissimilarity"].item() == pytest.approx(dissimilarity.item(), abs=2e-4)  # 4-digit weights
    assert loss.item() == pytest.approx((dissimilarity + 0.3 * kl).item(), abs=2e-4)


def test_a_perfect_reconstruction_leaves_beta_times_the_kl():
    model, inputs = _model(beta=0.3), _images(16).float()
    torch.manual_seed(2)
    out = model(inputs)
    target = torch.sigmoid(out.logits).detach()  # the image the seeded draw decodes to
    torch.manual_seed(2)
    loss, parts = model.objective(model, Batch(target, inputs), DONE)
    assert parts["dissimilarity"].item() == pytest.approx(0, abs=1e-6)
    assert loss.item() == pytest.approx(0.3 * parts["kl"].item(), rel=1e-5)


def test_evaluation_reports_ms_ssim_and_kl_and_no_likelihood_bound():
    model, x = _model(), _images(32).float()
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("gaussian", "prior", False)
    metrics = Evaluator(iw_samples=5).evaluate(model, x)
    assert metrics["not_applicable"] == {k: NOT_A_LIKELIHOOD for k in ("rec_nll", "neg_elbo", "iw_nll")}
    assert not {"rec_nll", "neg_elbo", "iw_nll"} & set(metrics)
    assert metrics["kl"] > 0 and math.isfinite(metrics["mse"])
    with torch.no_grad():
        direct = ms_ssim(x, model.reconstruct(x)).mean().item()
    assert metrics["ms_ssim"] == pytest.approx(direct, rel=1e-5)


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _images(64).float()
    before, after = loss_before_and_after_steps(model, x, steps=40)
    assert after < before - 0.05


def test_ms_ssim_stays_in_float32_under_bfloat16_autocast():
    """Training autocasts to bfloat16 where the CPU has it; window variances would lose their digits there."""
    a = _images(16).float()
    b = (0.9 * a + 0.1 * _images(16, seed=1).float())
    exact = ms_ssim(a.double(), b.double())
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert torch.allclose(ms_ssim(a, b).double(), exact, atol=1e-5)


def test_a_28x28_model_trains_on_four_scales():
    torch.manual_seed(0)
    model = create_model("msssim-vae", input_shape=(1, 28, 28), latent_dim=3, channels=(8, 16), scales=4)
    x = torch.rand(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    loss, _ = model.loss(x)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
