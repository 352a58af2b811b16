"""fsq-vae: the implicit codebook (size, values per level, every code reachable, indices round-trip), the
straight-through gradient equal to the bounding function's, the loss against a plain-torch FSQ, and what evaluation
and sampling give for a code with no density."""
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import digits_splits, loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.posteriors import FiniteScalarQuantiser
from aezoo.core.priors import Categorical
from aezoo.core.sampling import encode_all, fit_sampler

SHAPE = (1, 8, 8)


def _model(**hyper):
    torch.manual_seed(0)
    hyper = {"latent_dim": 8, "levels": (5, 4), "channels": (8, 16), **hyper}
    return create_model("fsq-vae", input_shape=SHAPE, **hyper)


def _batch(n=6, seed=1):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


def _reference_quantise(z, levels, eps=1e-3):
    """FSQ as in lucidrains' vector-quantize-pytorch: centred tanh bound, round with straight-through, / (L // 2)."""
    L = torch.tensor(levels, dtype=z.dtype)
    half_l = (L - 1) * (1 + eps) / 2
    offset = torch.where(L % 2 == 0, 0.5, 0.0)
    bounded = torch.tanh(z + torch.atanh(offset / half_l)) * half_l - offset
    rounded = bounded + (bounded.round() - bounded).detach()
    return rounded / (L // 2)


def _preimage(fsq, codes):
    """Some encoder output that the quantiser maps onto each code (codes (N, latent_dim) on the grid)."""
    L = torch.tensor(fsq.levels, dtype=torch.float64)
    half_l, offset = (L - 1) * (1 + fsq.eps) / 2, torch.where(L % 2 == 0, 0.5, 0.0)
    grid = codes.double().unflatten(-1, (fsq.positions, len(fsq.levels))) * (L // 2)
    return (torch.atanh((grid + offset) / half_l) - torch.atanh(offset / half_l)).flatten(-2).float()


@pytest.mark.parametrize("levels", [(8, 5, 5, 5), (5, 4), (2, 2, 2), (8, 6, 5), (7, 3)])
def test_the_codebook_is_the_grid_of_prod_levels_codes_each_reachable(levels):
    fsq = FiniteScalarQuantiser(2 * len(levels), levels)
    n = math.prod(levels)
    assert fsq.codebook_size == n and fsq.code_bits() == pytest.approx(2 * math.log2(n))
    every = torch.arange(n).repeat(2, 1).T  # each code at both positions
    codes = fsq.embed(every)
    assert codes.shape == (n, 2 * len(levels)) and codes.abs().max() <= 1
    assert torch.equal(fsq.code_indices(codes), every)  # indices -> codes -> indices
    assert len(torch.unique(codes, dim=0)) == n
    q = fsq(_preimage(fsq, codes))  # the quantiser reaches every code, and says which
    assert torch.equal(q.mean, codes) and torch.equal(q.indices, every)
    noise = fsq(torch.randn(5000, 2 * len(levels), generator=torch.Generator().manual_seed(0)) * 3)
    assert torch.equal(fsq.embed(noise.indices), noise.mean)  # every output is a grid code


def test_odd_levels_are_symmetric_and_even_levels_asymmetric_with_bound_zero_at_zero():
    fsq = FiniteScalarQuantiser(2, (5, 4))
    sweep = torch.linspace(-8, 8, 2001)[:, None].expand(-1, 2)
    values = [sorted(set(fsq(sweep).mean[:, i].tolist())) for i in range(2)]
    assert values == [[-1.0, -0.5, 0.0, 0.5, 1.0], [-1.0, -0.5, 0.0, 0.5]]
    assert torch.equal(fsq.bound(torch.zeros(1, 1, 2)), torch.zeros(1, 1, 2))


def test_rounding_is_the_identity_on_grid_points_and_snaps_nearby_points_onto_them():
    fsq = FiniteScalarQuantiser(2, (5, 4))
    grid = torch.cartesian_prod(torch.arange(-2.0, 3.0), torch.arange(-2.0, 2.0)) / fsq.half_width  # all 20 codes
    indices = fsq.code_indices(grid)
    assert torch.equal(fsq.embed(indices), grid) and len(indices.unique()) == 20
    nudge = (torch.rand(grid.shape, generator=torch.Generator().manual_seed(0)) - 0.5) * 0.9 / fsq.half_width
    assert torch.equal(fsq.code_indices(grid + nudge), indices)


def test_the_straight_through_gradient_is_the_bounding_functions():
    fsq = FiniteScalarQuantiser(4, (5, 4))
    z = torch.randn(3, 4, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    through, = torch.autograd.grad((fsq(z).mean * torch.arange(1.0, 5.0)).sum(), z)
    bounded, = torch.autograd.grad((fsq.bound(z.unflatten(-1, (2, 2))).flatten(-2) / fsq.half_width.repeat(2)
                                    * torch.arange(1.0, 5.0)).sum(), z)
    assert torch.allclose(through, bounded) and through.abs().min() > 0


def test_loss_and_gradients_match_a_plain_torch_reference():
    model, x = _model(), _batch()
    model.train()
    loss, parts = model.loss(x)
    h = F.layer_norm(model.encoder(x), (8,))  # fsq-vae normalises the encoder's output before bounding it
    z = _reference_quantise(h.reshape(len(x), 4, 2), (5, 4)).reshape(len(x), 8)
    ref = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum((1, 2, 3)).mean()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-6) and set(parts) == {"reconstruction"}
    model.zero_grad()
    loss.backward()
    ours = {k: p.grad.clone() for k, p in model.named_parameters()}
    model.zero_grad()
    ref.backward()
    for name, p in model.named_parameters():
        assert torch.allclose(ours[name], p.grad, atol=1e-5), name
    assert all(ours[k].abs().sum() > 0 for k in ours if k.startswith("encoder."))  # straight-through


def test_evaluation_reports_no_likelihood_numbers_with_the_reason_and_the_fixed_code_size():
    model = _model()
    caps = model.capabilities
    assert (caps.posterior, caps.posterior_density, caps.sampler) == ("quantised", False, "categorical")
    r = Evaluator(iw_samples=5).evaluate(model, _batch(50))
    for key in ("kl", "neg_elbo", "iw_nll"):
        assert key not in r and "FSQ" in r["not_applicable"][key] and "no prior" in r["not_applicable"][key]
    assert r["code_bits"] == pytest.approx(4 * math.log2(20))  # 4 positions of a 5 x 4 grid
    assert 1 <= r["perplexity"] <= 20 and r["rec_nll"] > 0


def test_samples_draw_only_codes_seen_in_training_or_uniform_grid_codes():
    model = _model(levels=(8, 8), latent_dim=4)  # 64 codes per position, fewer training codes than that
    model.eval()
    codes = encode_all(model, _batch(10, seed=2))
    seen = [set(i.tolist()) for i in model.posterior.code_indices(codes).T]
    fitted = fit_sampler(model, codes=codes)
    assert isinstance(fitted, Categorical) and "fitted to the training codes" in fitted.title
    drawn = model.posterior.code_indices(fitted.sample(500, torch.Generator().manual_seed(0)))
    assert all(set(d.tolist()) <= s for d, s in zip(drawn.T, seen))
    uniform = fit_sampler(model, "prior")
    assert uniform is model.prior and "uniform" in uniform.title
    z = uniform.sample(2000, torch.Generator().manual_seed(0))
    assert torch.equal(model.posterior.embed(model.posterior.code_indices(z)), z)
    assert len(torch.unique(model.posterior.code_indices(z)[:, 0])) > 55


@pytest.mark.parametrize("hyper, words", [
    ({"levels": (8, 1)}, "levels must be one or more numbers of levels, each a whole number >= 2"),
    ({"levels": (8, 5, 5)}, r"latent_dim must be a multiple of the number of levels \(3"),
])
def test_bad_hyperparameters_are_refused(hyper, words):
    with pytest.raises(ValueError, match=words):
        _model(**hyper)


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1


def _codes_after_training(normalise: bool | None = None) -> int:
    """Distinct codes of 64 images of 28x28 after 60 Adam steps of the default fsq-vae (``normalise`` set to
    True or False, or None: as fsq-vae builds it)."""
    torch.manual_seed(0)
    model = create_model("fsq-vae", input_shape=(1, 28, 28))
    if normalise is not None:
        model.posterior.normalise = normalise
    x = F.interpolate(digits_splits().train.floats(64), size=(28, 28), mode="bilinear")  # digits at MNIST's size
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for _ in range(60):
        loss, _ = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return len(torch.unique(model.infer(x).indices, dim=0))


def test_a_28x28_encoder_keeps_its_codes_apart_instead_of_saturating_the_bound():
    """Unnormalised, the conv encoder's wide last layer pushed every number into the tanh's flat tails: every image
    got the same code and no gradient passed (Fashion-MNIST: MSE 68, probe at chance)."""
    assert _codes_after_training() > 32
    assert _codes_after_training(normalise=False) <= 2  # what the model did before, shown on the same data
