"""The likelihood papers' setting, from aezoo's own train and eval: one stochastic layer, a 784-200-200-50 tanh MLP
encoder (mirrored decoder), a Bernoulli decoder, dynamically binarised MNIST, and the test NLL estimated with
k=5000 importance samples (Burda et al. 2015). Models: a VAE (k=1), an IWAE trained on the k=50 bound and a VAE
with a VampPrior (500 pseudo-inputs, Tomczak & Welling 2018), all on the same networks.

    python benchmarks/paper_setting.py                       # MNIST where its files are, else Fashion-MNIST
    python benchmarks/paper_setting.py --dataset fashion-mnist --epochs 100 --models vae,iwae
    python benchmarks/paper_setting.py --dataset digits --epochs 1 --iw-samples 10 --limit 50   # a smoke run

Each model goes through `aezoo.train(..., binarize="dynamic")` and `aezoo.evaluate.evaluate_run(...,
binarize="dynamic", iw_samples=K)` (what `zoo train --binarize dynamic` and `zoo eval --binarize dynamic
--iw-samples 5000` do), in a registry of its own (--home, default a temp folder). Prints one JSON object: the
settings, and per model the test -ELBO and IW-NLL (nats per image) beside the papers' MNIST numbers.

The papers trained far longer than the default here: Burda et al. 3^8 = 3280 passes (batch 20, Adam, the learning
rate 1e-3 * 10^(-i/7) for 3^i passes, i = 0..7), the VampPrior paper up to 2000 epochs with early stopping and KL
warm-up. With fewer epochs expect higher (worse) numbers; on Fashion-MNIST there are no paper numbers to compare.
"""
from __future__ import annotations

import argparse
import json
import math
import tempfile
import time

import torch
from torch import nn

import aezoo
from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.interfaces import Decoder, Encoder
from aezoo.core.objectives import ELBO
from aezoo.core.posteriors import GaussianPosterior
from aezoo.core.priors import VampPrior
from aezoo.errors import DatasetError
from aezoo.models.iwae import IWBound
from aezoo.plugins.testing import registered_plugin

HIDDEN, LATENT = (200, 200), 50
PAPERS = {  # test NLL in nats on dynamically binarised MNIST, k=5000, one stochastic layer
    "vae": (86.76, "Burda et al. 2015, VAE k=1"),
    "iwae": (84.78, "Burda et al. 2015, IWAE k=50"),
    "vamp": (85.57, "Tomczak & Welling 2018, VAE + VampPrior"),
}


def _tanh_mlp(sizes: list[int]) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.Tanh()]
    return layers


class TanhEncoder(Encoder):
    """x -> 200 -> 200 (tanh) -> (mu, logvar) of a 50-D Gaussian."""

    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int = LATENT):
        super().__init__()
        self.latent_dim = latent_dim
        sizes = [math.prod(input_shape), *HIDDEN]
        self.body = nn.Sequential(nn.Flatten(), *_tanh_mlp(sizes))
        self.head = nn.Linear(sizes[-1], 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.body(x)).chunk(2, -1)
        return mu, logvar


class TanhDecoder(Decoder):
    """z -> 200 -> 200 (tanh) -> Bernoulli logits of every pixel."""

    def __init__(self, input_shape: tuple[int, int, int], latent_dim: int = LATENT):
        super().__init__()
        sizes = [latent_dim, *reversed(HIDDEN)]
        self.body = nn.Sequential(*_tanh_mlp(sizes), nn.Linear(sizes[-1], math.prod(input_shape)),
                                  nn.Unflatten(1, tuple(input_shape)))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.body(z)


def build(input_shape: tuple[int, int, int], *, objective: str = "elbo", k: int = 50,
          components: int = 0) -> AutoEncoder:
    """The paper network with the ELBO (``objective="elbo"``) or the ``k``-sample IW bound (``"iw"``); with
    ``components`` > 0 a VampPrior of that many pseudo-inputs."""
    prior = VampPrior(LATENT, input_shape, components) if components else None
    return AutoEncoder(TanhEncoder(input_shape), TanhDecoder(input_shape), IWBound(k) if objective == "iw" else ELBO(),
                       input_shape, posterior=GaussianPosterior(LATENT), prior=prior, likelihood="bernoulli")


MODELS = {  # name -> (registered model, its defaults)
    "vae": ("paper-vae", {"objective": "elbo", "k": 1, "components": 0}),
    "iwae": ("paper-iwae", {"objective": "iw", "k": 50, "components": 0}),
    "vamp": ("paper-vamp", {"objective": "elbo", "k": 1, "components": 500}),
}


class PaperPlugin:
    @aezoo.hookimpl
    def register_models(self, register):
        for model, defaults in MODELS.values():
            register(model, build, f"The likelihood papers' 784-200-200-50 tanh MLP ({model})", family="vae",
                     defaults=defaults)


def pick_dataset(wanted: str | None, data_dir: str | None) -> str:
    """``wanted``, else MNIST when its files are found, else Fashion-MNIST (shipped with this machine)."""
    if wanted:
        return wanted
    try:
        aezoo.load_dataset("mnist", data_dir=data_dir)
        return "mnist"
    except DatasetError:
        return "fashion-mnist"


def run(models: list[str], dataset: str, data_dir: str | None, epochs: int, batch_size: int, lr: float,
        iw_samples: int, limit: int | None, home: str, seed: int) -> dict:
    registry = aezoo.Registry(home)
    results = {}
    with registered_plugin(PaperPlugin(), "paper"):
        for name in models:
            model, _ = MODELS[name]
            start = time.perf_counter()
            trained = aezoo.train(model, dataset=dataset, data_dir=data_dir, registry=registry, progress=False,
                                  epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, binarize="dynamic")
            metrics = aezoo.evaluate.evaluate_run(trained.run.id, iw_samples=iw_samples, limit=limit, home=home,
                                                  binarize="dynamic")
            reference, source = PAPERS[name]
            results[name] = {
                "run": trained.run.id, "test_neg_elbo": round(metrics["test_neg_elbo"], 2),
                "test_iw_nll": round(metrics["test_iw_nll"], 2), "test_kl": round(metrics["test_kl"], 2),
                "test_active_units": metrics["test_active_units"], "iw_samples": metrics["test_iw_samples"],
                "binarize": metrics["test_binarize"], "seconds": round(time.perf_counter() - start, 1),
                "paper_mnist_nll": reference if dataset == "mnist" else None, "paper": source,
            }
    return results


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dataset", help="mnist, fashion-mnist, ... [default: mnist if found, else fashion-mnist]")
    ap.add_argument("--data-dir")
    ap.add_argument("--models", default="vae,iwae,vamp", help="Comma-separated: vae, iwae, vamp.")
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=100)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--iw-samples", type=int, default=5000)
    ap.add_argument("--limit", type=int, default=None, help="Evaluate on the first N test images only.")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--home", help="Registry folder for the runs [default: a new temp folder].")
    a = ap.parse_args(argv)
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(MODELS))
    if unknown:
        ap.error(f"unknown model {', '.join(unknown)}; choose from {', '.join(MODELS)}")
    dataset = pick_dataset(a.dataset, a.data_dir)
    home = a.home or tempfile.mkdtemp(prefix="aezoo-paper-")
    settings = {"dataset": dataset, "epochs": a.epochs, "batch_size": a.batch_size, "lr": a.lr,
                "iw_samples": a.iw_samples, "limit": a.limit, "binarize": "dynamic", "home": home,
                "network": "784-200-200-50 tanh MLP, Bernoulli decoder"}
    out = {"settings": settings, "models": run(models, dataset, a.data_dir, a.epochs, a.batch_size, a.lr,
                                               a.iw_samples, a.limit, home, a.seed)}
    print(json.dumps(out, indent=2))
    return out


if __name__ == "__main__":
    main()
