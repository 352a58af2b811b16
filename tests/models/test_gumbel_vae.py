"""gumbel-vae: the discrete KL's identities, the loss against a plain-torch reference (the Gumbel-softmax written
out), the straight-through gradient, the temperature schedule, and evaluation of the discrete model against exact
enumeration of every code."""
import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from helpers import loss_before_and_after_steps

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.interfaces import Step
from aezoo.core.objectives import kl_to_prior
from aezoo.core.posteriors import CategoricalQ
from aezoo.core.priors import UniformCategorical

SHAPE = (1, 8, 8)


def _model(**hyper):
    torch.manual_seed(0)
    hyper = {"latent_dim": 3, "categories": 4, "channels": (8, 16), **hyper}
    return create_model("gumbel-vae", input_shape=SHAPE, **hyper)


def _batch(n=6):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(1))


def _reference_loss(model, x, tau, hard, seed):
    """The Gumbel-softmax written out: y = softmax((logits + g) / tau), g = -log(Exp(1)) (torch's draw order),
    straight-through y_hard - sg(y) + y; BCE of the decoded y plus sum_v sum_k q log(q K)."""
    v, k = model.posterior.variables, model.posterior.categories
    logits = model.encoder(x).reshape(len(x), v, k)
    torch.manual_seed(seed)
    g = -torch.empty_like(logits).exponential_().log()
    y = torch.softmax((logits + g) / tau, -1)
    if hard:
        y = F.one_hot(y.argmax(-1), k).float() - y.detach() + y
    out = model.decoder(y.reshape(len(x), v * k))
    rec = F.binary_cross_entropy_with_logits(out, x, reduction="none").sum((1, 2, 3))
    q = torch.softmax(logits, -1)
    kl = (q * torch.log(q * k)).sum((1, 2))
    return (rec + kl).mean()


def _grads(model, loss):
    model.zero_grad()
    loss.backward()
    return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


def test_kl_of_uniform_logits_is_zero_and_otherwise_log_k_minus_entropy():
    prior = UniformCategorical(5, 7)
    flat = CategoricalQ(torch.full((4, 5, 7), 2.5))  # any constant logits: the uniform categorical
    assert torch.allclose(flat.kl_to(prior), torch.zeros(4), atol=1e-6)
    logits = torch.randn(4, 5, 7, generator=torch.Generator().manual_seed(0)) * 3
    q = CategoricalQ(logits)
    entropy = torch.distributions.Categorical(logits=logits).entropy().sum(-1)
    assert torch.allclose(q.kl_to(prior), 5 * math.log(7) - entropy, atol=1e-5)
    assert (q.kl_to(prior) > 0).all()
    registered = torch.distributions.kl_divergence(q.distribution(), prior.distribution())  # torch's closed form
    assert torch.allclose(kl_to_prior(q, prior), registered, atol=1e-5)


def test_log_probs_of_one_hot_codes():
    q = CategoricalQ(torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0)))
    z = q.sample(5, torch.Generator().manual_seed(1))  # (5, 2, 12)
    assert z.shape == (5, 2, 12) and torch.equal(z.reshape(5, 2, 3, 4).sum(-1), torch.ones(5, 2, 3))
    picks = z.reshape(5, 2, 3, 4).argmax(-1)
    log_q = torch.log_softmax(q.logits, -1).expand(5, 2, 3, 4)
    expected = log_q.gather(-1, picks.unsqueeze(-1)).squeeze(-1).sum(-1)  # (5, 2)
    assert torch.allclose(q.log_prob(z), expected, atol=1e-6)
    assert torch.allclose(UniformCategorical(3, 4).log_prob(z), torch.full((5, 2), -3 * math.log(4)))


@pytest.mark.parametrize("hard", [False, True])
def test_training_loss_and_gradients_match_a_plain_torch_reference(hard):
    model, x = _model(straight_through=hard), _batch()
    model.train()
    step = Step(step=1200)
    tau = model.objective.temperature_at(step)
    assert tau == pytest.approx(math.exp(-3e-4 * 1000))  # changed at steps 500 and 1000
    torch.manual_seed(3)
    loss, parts = model.loss(x, step)
    ref = _reference_loss(model, x, tau, hard, seed=3)
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    assert parts["temperature"].item() == pytest.approx(tau)
    torch.manual_seed(3)
    ours = _grads(model, model.loss(x, step)[0])
    theirs = _grads(model, _reference_loss(model, x, tau, hard, seed=3))
    assert set(ours) == set(theirs) == {k for k, _ in model.named_parameters()}
    for name in ours:
        assert torch.allclose(ours[name], theirs[name], atol=1e-5), name


def test_straight_through_draws_are_one_hot_with_the_relaxed_draws_gradient():
    logits = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    weights = torch.arange(15.0)
    torch.manual_seed(7)
    hard = CategoricalQ(logits).relaxed(0.7, hard=True)
    torch.manual_seed(7)
    soft = CategoricalQ(logits).relaxed(0.7, hard=False)
    assert torch.equal(hard.reshape(4, 3, 5), F.one_hot(soft.reshape(4, 3, 5).argmax(-1), 5).float())
    assert torch.allclose(soft.reshape(4, 3, 5).sum(-1), torch.ones(4, 3))  # on the simplex
    g_hard, = torch.autograd.grad((hard * weights).sum(), logits)
    g_soft, = torch.autograd.grad((soft * weights).sum(), logits)
    assert torch.allclose(g_hard, g_soft) and g_soft.abs().sum() > 0


def test_temperature_anneals_every_anneal_every_steps_down_to_its_floor():
    objective = _model(temperature=2.0, min_temperature=0.5, anneal_rate=1e-3, anneal_every=100).objective
    at = [objective.temperature_at(Step(step=s)) for s in (0, 99, 100, 250, 10_000)]
    assert at == pytest.approx([2.0, 2.0, 2 * math.exp(-0.1), 2 * math.exp(-0.2), 0.5])


def test_out_of_training_the_loss_is_the_discrete_elbo_of_one_hot_draws():
    model, x = _model(), _batch()
    model.eval()
    torch.manual_seed(0)
    loss, parts = model.loss(x)
    assert "temperature" not in parts
    q = model.infer(x)
    torch.manual_seed(0)
    z = q.sample()
    assert set(z.unique().tolist()) == {0.0, 1.0}
    rec = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").sum((1, 2, 3))
    assert loss.item() == pytest.approx((rec + q.kl_to(model.prior)).mean().item(), rel=1e-6)


def _exact(model, x):
    """ELBO and log p(x) by enumerating every one-hot code (categories ** variables of them)."""
    v, k = model.posterior.variables, model.posterior.categories
    codes = torch.stack([F.one_hot(torch.tensor(c), k).float().flatten() for c in itertools.product(range(k),
                                                                                                    repeat=v)])
    with torch.no_grad():
        log_px = torch.stack([-F.binary_cross_entropy_with_logits(model.decoder(c.expand(len(x), -1)), x,
                                                                  reduction="none").sum((1, 2, 3)) for c in codes])
        q = model.infer(x)
        log_q = torch.stack([q.log_prob(c.expand(len(x), -1)) for c in codes])  # (codes, N)
    elbo = (log_q.exp() * log_px).sum(0) - q.kl_to(model.prior)
    log_marginal = torch.logsumexp(log_px, 0) - v * math.log(k)
    return elbo, log_marginal


def test_eval_reports_the_discrete_elbo_and_an_iw_nll_that_match_exact_enumeration():
    model, x = _model(latent_dim=2, categories=3), _batch(4)
    model.eval()
    with torch.no_grad():
        model.encoder.mu.weight.mul_(20)  # a confident posterior and codes that matter: ELBO well below log p(x)
        model.decoder.fc.weight.mul_(20)
    elbo, log_marginal = _exact(model, x)
    assert (log_marginal - elbo).mean() > 0.3
    r = Evaluator(elbo_samples=4000, iw_samples=4000).evaluate(model, x)
    assert r["neg_elbo"] == pytest.approx(-elbo.mean().item(), abs=0.05)
    assert r["iw_nll"] == pytest.approx(-log_marginal.mean().item(), abs=0.05)
    assert r["kl"] == pytest.approx(model.infer(x).kl_to(model.prior).mean().item(), rel=1e-5)
    assert "not_applicable" not in r and r["posterior"] == "categorical"
    assert r["code_bits"] == pytest.approx(2 * math.log2(3))


def test_capabilities_and_samples_from_the_uniform_prior():
    model = _model()
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("categorical", "prior", True)
    assert caps.prior_title == "the uniform categorical prior (3 variables x 4 categories)"
    assert model.latent_dim == 12
    z = model.prior.sample(4000, torch.Generator().manual_seed(0)).reshape(4000, 3, 4)
    assert torch.equal(z.sum(-1), torch.ones(4000, 3))
    assert torch.allclose(z.mean(0), torch.full((3, 4), 0.25), atol=0.03)
    assert model.sample(5, torch.Generator().manual_seed(0)).shape == (5, *SHAPE)


@pytest.mark.parametrize("hyper, words", [
    ({"categories": 1}, "categories must be a whole number >= 2"),
    ({"min_temperature": 2.0}, "min_temperature must not exceed temperature"),
    ({"anneal_every": 0}, "anneal_every must be a positive integer"),
    ({"straight_through": "yes"}, "straight_through must be true or false"),
])
def test_bad_hyperparameters_are_refused(hyper, words):
    with pytest.raises(ValueError, match=words):
        _model(**hyper)


@pytest.mark.parametrize("hard", [False, True])
def test_a_few_steps_lower_the_loss(hard):
    model, x = _model(straight_through=hard), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1


def test_traversals_set_the_variables_with_the_most_kl_to_each_category(monkeypatch):
    from helpers import digits_splits

    from aezoo.viz import views

    splits, model = digits_splits(), _model(latent_dim=5, categories=3)
    decoded = []
    decode = model.decode
    monkeypatch.setattr(model, "decode", lambda z, y=None: decoded.append(z.clone()) or decode(z, y))
    fig = views.traversal(model, splits, dims=2, index=0)
    ranking = fig.info["dims"]
    assert fig.info["ranked_by"] == "KL" and [r["name"] for r in ranking] == [f"variable {r['variable'] + 1}"
                                                                             for r in ranking]
    assert len(ranking) == 2 and ranking[0]["kl"] >= ranking[1]["kl"]
    with torch.no_grad():
        q = model.infer(splits.test.floats()[:1])
        others = q.probs[0]
    rows = decoded[-2:]  # one decode per row, after the base code's
    for row, rank in zip(rows, ranking):
        v = rank["variable"]
        codes = row.reshape(3, 5, 3)
        assert torch.equal(codes[:, v], torch.eye(3))  # the variable set to each category in turn
        keep = [i for i in range(5) if i != v]
        assert torch.allclose(codes[:, keep], others[keep].expand(3, -1, -1), atol=1e-6)
    assert "each set to each of its 3 categories" in " ".join(fig.get_suptitle().split())
