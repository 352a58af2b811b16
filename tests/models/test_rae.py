"""rae-l2 and rae-gp: losses against plain-torch references, the GMM sampler, capabilities and evaluation."""
import pytest
import torch
import torch.nn.functional as F

from aezoo.api.build import create_model
from aezoo.core.evaluator import Evaluator
from aezoo.core.priors import FittedMixture
from aezoo.core.sampling import encode_all, fit_sampler
from aezoo.viz import views

SHAPE = (1, 8, 8)


def setup(name, **hyper):
    torch.manual_seed(0)
    model = create_model(name, input_shape=SHAPE, **hyper)
    return model, torch.rand(8, *SHAPE, generator=torch.Generator().manual_seed(1))


def rec_and_embedding(model, x):
    z = model.encoder(x)
    rec = F.binary_cross_entropy_with_logits(model.decoder(z), x, reduction="none").flatten(1).sum(1).mean()
    return z, rec, 0.5 * (z ** 2).sum(1).mean()


def test_rae_l2_loss_matches_a_reference():
    model, x = setup("rae-l2", embedding_weight=0.5, reg_weight=0.01)
    z, rec, emb = rec_and_embedding(model, x)
    weights = sum((p ** 2).sum() for p in model.decoder.parameters())
    loss, parts = model.loss(x)
    assert loss.item() == pytest.approx((rec + 0.5 * emb + 0.01 * weights).item(), rel=1e-6)
    assert parts["decoder_l2"].item() == pytest.approx(weights.item(), rel=1e-6)


def jacobian_penalty(model, z):
    """||J(z)^T 1||^2 per image from the full Jacobian of the decoded image with respect to the code."""
    out = []
    for zi in z:
        jac = torch.autograd.functional.jacobian(lambda v: torch.sigmoid(model.decoder(v[None]))[0], zi,
                                                 create_graph=True)  # (1, 8, 8, latent)
        out.append((jac.reshape(-1, zi.numel()).sum(0) ** 2).sum())
    return torch.stack(out)


def test_rae_gp_loss_and_its_gradient_match_a_jacobian_reference():
    model, x = setup("rae-gp", embedding_weight=0.5, reg_weight=2.0)
    x = x[:3]
    z, rec, emb = rec_and_embedding(model, x)
    penalty = jacobian_penalty(model, z).mean()
    loss, parts = model.loss(x)
    reference = rec + 0.5 * emb + 2.0 * penalty
    assert loss.item() == pytest.approx(reference.item(), rel=1e-5)
    assert parts["decoder_gp"].item() == pytest.approx(penalty.item(), rel=1e-5)
    ours = torch.autograd.grad(loss, list(model.decoder.parameters()))
    theirs = torch.autograd.grad(reference, list(model.decoder.parameters()))
    for a, b in zip(ours, theirs):  # the penalty trains the decoder (create_graph)
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_rae_gp_penalty_is_defined_without_gradients_too():
    model, x = setup("rae-gp")
    with torch.no_grad():
        _, parts = model.loss(x)
    assert parts["decoder_gp"].item() > 0


@pytest.mark.parametrize("name", ["rae-l2", "rae-gp"])
def test_capabilities_evaluation_and_gmm_sampler(name, monkeypatch):
    model, _ = setup(name)
    caps = model.capabilities
    assert (caps.posterior, caps.posterior_density, caps.sampler) == ("point", False, "gmm")
    x = torch.rand(60, *SHAPE, generator=torch.Generator().manual_seed(2))
    r = Evaluator().evaluate(model, x)
    assert not {"kl", "neg_elbo", "iw_nll"} & set(r)
    assert all("deterministic" in r["not_applicable"][k] for k in ("kl", "neg_elbo", "iw_nll"))
    sampler = fit_sampler(model, codes=encode_all(model, x))
    assert isinstance(sampler, FittedMixture) and sampler.gmm.n_components == 10
    monkeypatch.setattr(views, "train_codes", lambda model, splits: encode_all(model, x))
    title = " ".join(views.samples(model, None, n=4).get_suptitle().split())
    assert title.endswith(": 4 samples decoded from a 10-component Gaussian mixture fitted to the training codes")


@pytest.mark.parametrize("name", ["rae-l2", "rae-gp"])
def test_a_few_steps_lower_the_loss(name):
    from sklearn.datasets import load_digits

    x = torch.from_numpy(load_digits().images[:64]).float().div(16).unsqueeze(1)
    torch.manual_seed(0)
    model = create_model(name, input_shape=SHAPE)
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    first = model.loss(x)[0].item()
    for _ in range(10):
        loss, _ = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.loss(x)[0].item() < first - 1


def test_zoo_eval_gives_reasons_instead_of_likelihood_metrics_and_zoo_sample_names_the_gmm(tmp_path):
    from click.testing import CliRunner

    from aezoo.cli import main

    def zoo(*args):
        result = CliRunner().invoke(main, [*args, "--home", str(tmp_path)])
        assert result.exit_code == 0, result.output
        return result.output

    zoo("train", "rae-l2", "--epochs", "1")
    lines = zoo("eval", "rae-l2", "--no-save").splitlines()
    shown = {line.split()[0]: line for line in lines if line.split()[0] in ("test_kl", "test_neg_elbo", "test_iw_nll")}
    assert set(shown) == {"test_kl", "test_neg_elbo", "test_iw_nll"}  # each listed once, as n/a with the reason
    assert all("n/a: the encoder is deterministic" in line for line in shown.values())
    assert "a Gaussian mixture fitted to its training codes" in zoo("sample", "rae-l2", "-o", str(tmp_path / "s.png"))
