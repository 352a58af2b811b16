"""vq-vae: the loss against a plain-torch reference, the straight-through gradient, dead-code restarts, sampling
from the codebook, and what evaluation reports."""
import math

import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.interfaces import Step
from aezoo.core.priors import Categorical
from aezoo.core.sampling import encode_all, fit_sampler

SHAPE = (1, 8, 8)


def batch(n=32, seed=0):
    return torch.rand(n, *SHAPE, generator=torch.Generator().manual_seed(seed))


def initialised_model(**hyper):
    torch.manual_seed(0)
    model = create_model("vq-vae", input_shape=SHAPE, **hyper)
    model.train()
    model.loss(batch(64, seed=1))  # the first training batch initialises the codebook
    return model


def reference_loss(model, x, beta):
    """Quantise by explicit squared distances, decode with the straight-through estimator, add both VQ terms."""
    h = model.encoder(x)
    chunks = h.reshape(len(x), -1, 4)
    book = model.posterior.codebook
    dist = ((chunks[:, :, None, :] - book[None, None]) ** 2).sum(-1)
    z_q = book[dist.argmin(-1)].reshape(h.shape)
    logits = model.decoder(h + (z_q - h).detach())
    rec = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1).mean()
    vq = ((h.detach() - z_q) ** 2).sum(1).mean() + beta * ((h - z_q.detach()) ** 2).sum(1).mean()
    return rec + vq


def grads(model, loss):
    model.zero_grad()
    loss.backward()
    return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


def test_loss_and_its_gradients_match_a_plain_torch_reference():
    model = initialised_model(commitment=0.25)
    x = batch()
    loss, parts = model.loss(x)
    expected = reference_loss(model, x, 0.25)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert set(parts) == {"reconstruction", "codebook", "commitment", "perplexity"}
    ours, theirs = grads(model, model.loss(x)[0]), grads(model, reference_loss(model, x, 0.25))
    assert set(ours) == set(theirs)
    for name in ours:  # the codebook term trains the codebook only, the commitment term the encoder only
        assert torch.allclose(ours[name], theirs[name], atol=1e-5), name


def test_the_straight_through_gradient_reaches_the_encoder():
    model = initialised_model(commitment=0.0)  # only the reconstruction can reach the encoder
    model.zero_grad()
    model.loss(batch())[0].backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())


def test_a_dead_code_is_restarted_onto_an_encoder_vector_and_used_codes_stay():
    model = initialised_model(restart_every=2)
    vq = model.posterior
    with torch.no_grad():
        vq.codebook[0] = 1e3  # no encoder vector comes near it: dead
    vq.usage.zero_()
    model.loss(batch())
    used = vq.usage > 0
    before = vq.codebook.detach().clone()
    model.after_step(Step(step=0))  # first step: not yet
    assert vq.codebook[0].abs().max() == 1e3
    model.after_step(Step(step=1))
    assert vq.restarted == int((~used).sum()) >= 1
    assert vq.codebook[0].abs().max() < 100  # moved onto one of the batch's encoder vectors
    assert (vq.recent == vq.codebook[0]).all(1).any()
    assert torch.equal(vq.codebook[used], before[used])


def test_restarts_can_be_switched_off():
    model = initialised_model(restart_every=0)
    with torch.no_grad():
        model.posterior.codebook[0] = 1e3
    for step in range(3):
        model.after_step(Step(step=step))
    assert model.posterior.codebook[0].abs().max() == 1e3


def test_the_codebook_is_initialised_from_the_first_training_batch():
    torch.manual_seed(0)
    model = create_model("vq-vae", input_shape=SHAPE)
    x = batch(64, seed=1)
    model.train()
    model.loss(x)
    vectors = model.encoder(x).detach().reshape(-1, 4)
    nearest = torch.cdist(model.posterior.codebook.detach(), vectors).min(1).values
    assert nearest.max() < 0.01


def test_samples_decode_codebook_vectors_only():
    model = initialised_model()
    model.eval()
    sampler = fit_sampler(model, codes=encode_all(model, batch(100, seed=2)))
    assert isinstance(sampler, Categorical) and "categorical" in sampler.title
    z = sampler.sample(50, torch.Generator().manual_seed(0)).reshape(-1, 4)
    book = model.posterior.codebook.detach()
    assert (z[:, None, :] == book[None]).all(-1).any(1).all()


def test_capabilities_and_evaluation():
    model = initialised_model()
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, caps.likelihood_bound) == ("quantised", "categorical", False)
    r = Evaluator().evaluate(model, batch(50, seed=3))
    positions, k = 4, 64
    assert r["kl"] == pytest.approx(positions * math.log(k))  # -log P(code) under the uniform prior
    assert r["neg_elbo"] == pytest.approx(r["rec_nll"] + r["kl"])
    assert "iw_nll" not in r and "one-hot" in r["not_applicable"]["iw_nll"]
    assert 1 <= r["perplexity"] <= k
    assert r["code_bits"] == positions * 6 and r["compression_ratio"] == pytest.approx(64 * 8 / 24)


def test_a_few_steps_with_restarts_lower_the_loss_on_digits():
    model = initialised_model()
    x = torch.from_numpy(load_digits().images[:64]).float().div(16).unsqueeze(1)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    first = model.loss(x)[0].item()
    for step in range(20):
        loss = model.loss(x)[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.after_step(Step(step=step))
    assert model.loss(x)[0].item() < first - 5
