"""A plugin written for plugin API 1 (encoder flagged ``variational``, likelihood named in the objective,
objective called ``(target, out)``) keeps working unchanged: it loads, trains, evaluates and samples."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import aezoo
from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.evaluator import Evaluator
from aezoo.core.interfaces import Decoder, Encoder, Objective
from aezoo.core.objectives import ELBO

SHAPE = (1, 8, 8)


class OldEncoder(Encoder):
    variational = True

    def __init__(self):
        super().__init__()
        self.latent_dim = 2
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 4))

    def forward(self, x):
        h = self.body(x)
        return h[:, :2], h[:, 2:]


class OldDecoder(Decoder):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 64), nn.Unflatten(1, SHAPE))

    def forward(self, z):
        return self.body(z)


class OldObjective(Objective):
    """An API 1 objective: ``forward(target, out)`` with ``out.logits``, ``out.mu``, ``out.logvar``."""

    def forward(self, target, out):
        rec = F.binary_cross_entropy_with_logits(out.logits, target, reduction="sum") / len(target)
        kl = (-0.5 * (1 + out.logvar - out.mu.pow(2) - out.logvar.exp()).sum(1)).mean()
        return rec + kl, {"reconstruction": rec, "kl": kl}


def build_old(input_shape, custom: bool = False):
    objective = OldObjective() if custom else ELBO("gaussian", 1.0)
    return AutoEncoder(OldEncoder(), OldDecoder(), objective, input_shape)


class ApiOnePlugin:
    AEZOO_PLUGIN_API = 1

    @aezoo.hookimpl
    def register_models(self, register):
        register("old-vae", build_old, "An API 1 VAE", family="vae")


def test_api1_plugin_loads_and_its_parts_are_inferred(aezoo_plugin):
    catalog = aezoo_plugin(ApiOnePlugin(), "old")
    assert catalog.plugins["old"].ok and "old-vae" in catalog.models
    model = aezoo.create_model("old-vae", input_shape=SHAPE)
    caps = model.capabilities
    assert (caps.posterior, caps.sampler, model.likelihood.name) == ("gaussian", "prior", "gaussian")
    assert model.sample(3).shape == (3, *SHAPE)


@pytest.mark.parametrize("custom", [False, True])
def test_api1_models_train_and_evaluate(custom):
    torch.manual_seed(0)
    model = build_old(SHAPE, custom=custom)
    x = torch.rand(64, *SHAPE)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = model.loss(x)[0].item()
    for _ in range(30):
        opt.zero_grad()
        model.loss(x)[0].backward()
        opt.step()
    assert model.loss(x)[0].item() < first
    metrics = Evaluator(iw_samples=5).evaluate(model, x)
    assert all(math.isfinite(metrics[k]) for k in ("kl", "neg_elbo", "iw_nll")) and metrics["kl"] > 0
