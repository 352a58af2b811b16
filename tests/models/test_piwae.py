"""piwae (Rainforth et al. 2018): the encoder's gradient is that of the MIWAE(M, K) bound and the decoder's that of
the IWAE(M x K) bound on the same draws, checked with autograd against each bound alone."""
import math

import pytest
import torch
from helpers import loss_before_and_after_steps, plain_log_weights

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.models.iwae import IWBound
from aezoo.models.miwae import MIWAEBound

SHAPE = (1, 8, 8)



def _model(**hyper):
    torch.manual_seed(0)
    model = create_model("piwae", input_shape=SHAPE, latent_dim=3, channels=(8, 16), **hyper)
    with torch.no_grad():
        model.encoder.logvar.bias.fill_(1.0)  # a wide q(z|x): the two bounds' gradients differ clearly
    return model


def _batch():
    return torch.rand(6, *SHAPE, generator=torch.Generator().manual_seed(1))


def _grads(model, objective, x, seed=7):
    """The gradient of ``objective``'s loss on ``x`` (seeded draws) for the encoder's and the decoder's parameters."""
    model.objective = objective
    torch.manual_seed(seed)
    loss, _ = model.loss(x)
    enc, dec = list(model.encoder.parameters()), list(model.decoder.parameters())
    grads = torch.autograd.grad(loss, enc + dec)
    return grads[:len(enc)], grads[len(enc):]


def test_values_are_the_miwae_bound_and_the_iwae_bound_of_all_draws():
    model, x = _model(m=2, k=3), _batch()
    torch.manual_seed(7)
    loss, parts = model.loss(x)
    lw = plain_log_weights(model, x, 6, seed=7)
    miwae = (torch.logsumexp(lw.reshape(2, 3, -1), 1) - math.log(3)).mean(0)
    iwae = torch.logsumexp(lw, 0) - math.log(6)
    assert loss.item() == pytest.approx(-miwae.mean().item(), rel=1e-5)
    assert parts["neg_miwae_bound"].item() == pytest.approx(-miwae.mean().item(), rel=1e-5)
    assert parts["neg_iw_bound"].item() == pytest.approx(-iwae.mean().item(), rel=1e-5)


def test_each_network_gets_the_gradient_of_its_own_bound_only():
    model, x = _model(m=2, k=3), _batch()
    piwae_enc, piwae_dec = _grads(model, model.objective, x)
    miwae_enc, miwae_dec = _grads(model, MIWAEBound(2, 3), x)
    iwae_enc, iwae_dec = _grads(model, IWBound(6), x)
    for got, want in zip(piwae_enc, miwae_enc):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)
    for got, want in zip(piwae_dec, iwae_dec):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)
    # the two bounds do pull differently, so the routing matters
    assert max((a - b).abs().max().item() for a, b in zip(miwae_dec, iwae_dec)) > 1e-3
    assert max((a - b).abs().max().item() for a, b in zip(miwae_enc, iwae_enc)) > 1e-3


def test_capabilities_and_evaluation_are_the_plain_vaes():
    model, x = _model(), _batch()
    assert (model.objective.m, model.objective.k) == (4, 4)
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound, caps.aux) == ("gaussian", "prior", True, ())
    metrics = Evaluator(iw_samples=20).evaluate(model, x)
    assert "not_applicable" not in metrics and metrics["kl"] > 0


def test_m_must_be_positive():
    with pytest.raises(ValueError, match="m must be a positive integer"):
        create_model("piwae", input_shape=SHAPE, m=0)


def test_a_few_steps_lower_the_loss():
    model, x = _model(), _batch()
    before, after = loss_before_and_after_steps(model, x)
    assert after < before - 1
