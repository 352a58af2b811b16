"""The samplers fitted to training codes that any model can use: a masked autoregressive flow (exact density:
autoregressive Jacobian, exact log-det, inverse) and the two-stage VAE (Dai & Wipf 2019); both beat a single
Gaussian on held-out codes of a multimodal toy set, are seeded, and work from `zoo sample --sampler`."""
import json
import math

import pytest
import torch
from helpers import zoo_ok

from aezoo.api.train import train
from aezoo.commands.figures import sample_cmd
from aezoo.core.autoencoder import SAMPLERS
from aezoo.core.maf import MADE, MAF, FittedFlow
from aezoo.core.priors import FittedGaussian
from aezoo.core.two_stage import SecondStage, TwoStageVAE



def blobs(n, seed, dim=2):
    """Four well-separated Gaussian blobs: a single Gaussian fits them badly."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[-4.0, -4.0], [-4.0, 4.0], [4.0, -4.0], [4.0, 4.0]])
    if dim > 2:
        centres = torch.cat([centres, torch.zeros(4, dim - 2)], 1)
    return centres[torch.randint(4, (n,), generator=g)] + 0.5 * torch.randn(n, dim, generator=g)


def randomised(flow):
    with torch.no_grad():
        for p in flow.parameters():
            p.normal_(0, 0.3, generator=torch.Generator().manual_seed(p.numel()))
    return flow


def test_a_made_output_reads_only_the_inputs_before_it():
    made = randomised(MADE(5, hidden=16))
    z = torch.randn(5)
    shift_j = torch.autograd.functional.jacobian(lambda v: made(v[None])[0][0], z)
    scale_j = torch.autograd.functional.jacobian(lambda v: made(v[None])[1][0], z)
    for j in (shift_j, scale_j):
        assert torch.equal(torch.triu(j), torch.zeros(5, 5)) and torch.tril(j, -1).abs().sum() > 0


def test_maf_log_density_is_exact_and_inverts():
    flow = randomised(MAF(4, layers=3, hidden=16))
    z = torch.randn(6, 4, generator=torch.Generator().manual_seed(0)).double()
    flow = flow.double()

    def to_base(v):  # the density direction, as one function of one code
        for made in flow.mades:
            shift, log_scale = made(v[None])
            v = ((v - shift[0]) * torch.exp(-log_scale[0])).flip(-1)
        return v

    for zi, log_p in zip(z, flow.log_prob(z)):
        jacobian = torch.autograd.functional.jacobian(to_base, zi)
        base = torch.distributions.Normal(0.0, 1.0).log_prob(to_base(zi)).sum()
        assert log_p.item() == pytest.approx((base + torch.linalg.slogdet(jacobian)[1]).item(), abs=1e-9)
    u = torch.stack([to_base(zi) for zi in z])
    assert torch.allclose(flow.invert(u), z, atol=1e-9)


def test_an_untrained_maf_is_the_standard_normal_on_standardised_codes():
    codes = blobs(500, seed=0)
    flat = FittedFlow(codes, steps=0, layers=4)  # an even number of order reversals: the identity
    standard = (codes - codes.mean(0)) / codes.std(0)
    expected = torch.distributions.Normal(0.0, 1.0).log_prob(standard).sum(-1) - codes.std(0).log().sum()
    assert torch.allclose(flat.log_prob(codes), expected, atol=1e-5)
    draws = flat.sample(3, torch.Generator().manual_seed(0))
    assert torch.allclose(draws, torch.randn(3, 2, generator=torch.Generator().manual_seed(0)) * codes.std(0)
                          + codes.mean(0), atol=1e-6)


def test_held_out_codes_are_likelier_under_the_fitted_flow_than_under_one_gaussian():
    train_codes, held_out = blobs(1000, seed=0), blobs(500, seed=1)
    flow = FittedFlow(train_codes, seed=0, steps=300)
    gaussian = FittedGaussian(train_codes).log_prob(held_out).mean().item()
    fitted = flow.log_prob(held_out).mean().item()
    assert fitted > gaussian + 1.0  # measured: about -2.9 vs -4.4 nats (the best possible: -2.6)
    assert flow.losses[-1] < flow.losses[0] - 1


def test_held_out_codes_are_likelier_under_the_two_stage_vae_than_under_one_gaussian():
    train_codes, held_out = blobs(1000, seed=0), blobs(500, seed=1)
    stage = TwoStageVAE(train_codes, seed=0, steps=800)
    gaussian = FittedGaussian(train_codes).log_prob(held_out).mean().item()
    fitted = stage.log_prob(held_out).mean().item()  # a lower bound on the second stage's log p(z)
    assert fitted > gaussian + 1.0  # measured: about -3.6 vs -5.6 nats (the best possible: -2.6)
    draws = stage.sample(2000, torch.Generator().manual_seed(0))
    on_blobs = ((draws.abs() - 4).abs() < 1.5).all(1).float().mean()
    assert on_blobs > 0.6  # a Gaussian fitted to the codes: 0.14
    assert stage.title == "a two-stage VAE (Dai & Wipf 2019) fitted to the training codes"


def test_the_second_stage_loss_is_the_gaussian_vae_loss_with_a_learned_scale():
    torch.manual_seed(0)
    stage = SecondStage(3, hidden=8)
    z, eps = torch.randn(5, 3), torch.randn(5, 3)
    mu, logvar = stage.encoder(z).chunk(2, -1)
    z_hat = stage.decoder(mu + eps * (0.5 * logvar).exp())
    kl = torch.distributions.kl_divergence(torch.distributions.Normal(mu, (0.5 * logvar).exp()),
                                           torch.distributions.Normal(0.0, 1.0)).sum(-1)
    unit = 0.5 * (z - z_hat).pow(2).sum(-1) + 1.5 * math.log(2 * math.pi) + kl  # gamma = 1
    assert torch.allclose(stage.loss(z, eps), unit, atol=1e-5)
    with torch.no_grad():
        stage.log_gamma.fill_(math.log(0.5))
    assert torch.allclose(stage.loss(z, eps), 2 * (z - z_hat).pow(2).sum(-1) + 3 * math.log(0.5)
                          + 1.5 * math.log(2 * math.pi) + kl, atol=1e-5)
    with torch.no_grad():  # for fixed g(u), the best gamma is the RMS residual: zero gradient there
        stage.log_gamma.fill_(0.5 * math.log((z - z_hat).pow(2).mean().item()))
    gradient, = torch.autograd.grad(stage.loss(z, eps).sum(), stage.log_gamma)
    assert abs(gradient.item()) < 1e-4


@pytest.mark.parametrize("kind", [FittedFlow, TwoStageVAE])
def test_fitting_is_seeded(kind):
    codes = blobs(300, seed=0)
    fits = []
    for global_seed, seed in ((1, 0), (2, 0), (1, 1)):  # whatever the global RNG holds, the seed decides
        torch.manual_seed(global_seed)
        fits.append(kind(codes, seed=seed, steps=20))
    a, b, c = fits
    draws = [m.sample(8, torch.Generator().manual_seed(3)) for m in (a, b, c)]
    assert a.losses == b.losses and torch.equal(draws[0], draws[1])
    assert not torch.equal(draws[0], draws[2])


def test_the_cli_offers_every_sampler():
    choices = next(p for p in sample_cmd.params if p.name == "sampler").type.choices
    assert sorted(choices) == sorted(SAMPLERS)


def test_zoo_sample_with_a_maf_sampler_on_a_plain_autoencoder(tmp_path, monkeypatch):
    monkeypatch.setenv("AEZOO_HOME", str(tmp_path / "home"))
    model = train("conv-ae", hyperparameters={"latent_dim": 4, "channels": (8, 16)}, epochs=1, batch_size=256)
    out = tmp_path / "maf.png"
    printed = zoo_ok("sample", model.run.id, "--sampler", "maf", "-n", 4, "-o", out, "--json")
    info = json.loads(printed[printed.index("{"):])
    assert out.read_bytes()[:4] == b"\x89PNG" and info["sampler"] == "maf"
    assert info["distribution"] == "a masked autoregressive flow (5 MADE layers) fitted to the training codes"
    assert info["distribution"] in info["titles"][0]
