"""Every family on Fashion-MNIST with the same encoder/decoder widths, latent 16 and equal epochs, one row each:
test -ELBO and IW-NLL (K importance samples) where the model defines them, MSE, linear-probe accuracy, class
consistency, samples per second and training time (every registered model, the discrete families gumbel-vae and
fsq-vae and the conditional cvae included: fsq-vae defines no likelihood, cvae's numbers bound -log p(x|y)); then
pythae side by side (VAE, IWAE, VampPrior, MIWAE, PIWAE, CIWAE, DisentangledBetaVAE beside capacity-vae,
MSSSIM_VAE, VAEGAN, VAE_IAF, VAE_LinNF planar and radial, SVAE) on identical networks, data, epochs and
hyperparameters, evaluated by the same evaluator (pythae's own differences, such as MIWAE's weight axis and the
coupled trainers' gradient mixing, are listed in pythae_runner.py). Where pythae's model is another form of an aezoo
model (pythae_runner.VARIANTS: IAF with affine steps and no context, LinNF with shared flow parameters), that variant
is trained too, in its own row, and compared.

    python benchmarks/families.py [--epochs 3] [--iw-samples 1000] [--iw-images 500] [--models vae,iwae,...]
                                  [--pythae-python /path/to/env/bin/python] [--seed 0] [--precision auto]

pythae is not an aezoo dependency: give the python of an environment where it is installed (e.g. a venv whose
site-packages also sees aezoo's torch). Rows are printed as JSON lines as they finish (so a long run keeps what it
measured), then a summary JSON with the checks: IWAE (K=5) IW-NLL below the VAE's, VampPrior IW-NLL below the
VAE's, aezoo's IW-NLL within 0.5 nats of pythae's in no more wall time.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import aezoo
from aezoo.api.classifier import class_consistency
from aezoo.api.evaluate import first
from aezoo.core.evaluator import Evaluator
from aezoo.core.runtime.memory import keep_freed_memory
from aezoo.core.runtime.precision import CHOICES as PRECISION_CHOICES
from aezoo.registry import Registry
from pythae_runner import AEZOO as PYTHAE, VARIANTS  # this folder's module

HERE = Path(__file__).resolve().parent
SAME_NETS = {"latent_dim": 16}  # every family's default conv widths are (32, 64); ladder-vae: latent_sizes (16, 8)
MLP = {"vae", "mlp-ae"}  # the MLP families: widths (512, 256) / (256, 128), latent 16 too


def same_nets(name: str) -> dict:
    """SAME_NETS where the model has those hyperparameters (ladder-vae has latent_sizes instead of latent_dim)."""
    valid = aezoo.model_spec(name).hyperparameters()
    return {k: v for k, v in SAME_NETS.items() if k in valid}


def variant(name: str, hyperparameters: dict) -> str:
    """The hyperparameters that differ from the model's defaults, as text ('' for the defaults)."""
    defaults = aezoo.model_spec(name).hyperparameters()
    return ", ".join(f"{k}={v}" for k, v in hyperparameters.items() if defaults.get(k) != v)


def evaluate(model, splits, iw_samples: int, iw_images: int, cache: Path) -> dict:
    """The row's metrics: MSE, probe, bounds on the first ``iw_images`` test images with K samples."""
    full = Evaluator(iw_samples=1, seed=0).evaluate(model, splits.test, splits.train)
    row = {"mse": full["mse"], "probe_accuracy": full.get("probe_accuracy"), "compression_ratio":
           full["compression_ratio"], "active_units": full["active_units"]}
    for key in ("neg_elbo", "kl"):
        if key in full:
            row[key] = full[key]
    if "iw_nll" in full:
        iw = Evaluator(iw_samples=iw_samples, seed=0).evaluate(model, first(splits.test, iw_images))
        row["iw_nll"], row["iw_samples"], row["iw_images"] = iw["iw_nll"], iw_samples, iw_images
        row["neg_elbo_same_images"] = iw["neg_elbo"]
    row["not_applicable"] = full.get("not_applicable", {})
    row["class_consistency"] = class_consistency(model, splits, 100, cache)["mean"]
    labels = splits.train.labels[:5000]  # read only by a conditional model (cvae)
    codes = aezoo.core.sampling.encode_all(model, splits.train.floats(5000), y=labels)
    start = time.perf_counter()
    aezoo.core.sampling.sample(model, 1000, torch.Generator().manual_seed(0), codes=codes, y=labels[:1000])
    row["samples_per_second"] = round(1000 / (time.perf_counter() - start), 1)
    return row


def train_family(name: str, epochs: int, registry: Registry, extra: dict | None = None, seed: int = 0,
                 precision: str = "auto") -> tuple:
    hp = {**same_nets(name), **(extra or {})}
    start = time.perf_counter()
    model = aezoo.train(name, dataset="fashion-mnist", hyperparameters=hp, registry=registry, epochs=epochs,
                        seed=seed, precision=precision)
    return model, time.perf_counter() - start, model.run.metrics["train_seconds"]


def pythae_row(kind: str, epochs: int, python: str, splits, args, cache: Path) -> dict:
    out = Path(tempfile.mkdtemp(prefix="pythae-w-")) / "weights.safetensors"
    start = time.perf_counter()
    proc = subprocess.run([python, str(HERE / "pythae_runner.py"), kind, str(epochs), str(out),
                           "--seed", str(args.seed)], check=True, capture_output=True, text=True)
    process_seconds = time.perf_counter() - start
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if "error" in info:
        raise RuntimeError(info["error"])
    from safetensors.torch import load_file

    name, hyperparameters = PYTHAE[kind], VARIANTS.get(kind, {})
    model = aezoo.create_model(name, input_shape=splits.input_shape, latent_dim=16, **hyperparameters)
    model.load_state_dict(load_file(str(out)), strict=True)
    row = evaluate(model.eval(), splits, args.iw_samples, args.iw_images, cache)
    return {"system": "pythae", "model": kind, "as": name, "variant": variant(name, hyperparameters),
            "seed": info["seed"], "precision": "fp32", "train_seconds": info["train_seconds"],
            "process_seconds": round(process_seconds, 2), **row}


def aezoo_row(name: str, epochs: int, registry: Registry, splits, args, cache: Path, extra: dict | None = None) -> dict:
    try:
        seed, precision = args.seed, args.precision
        model, process_seconds, train_seconds = train_family(name, epochs, registry, extra, seed, precision)
        return {"system": "aezoo", "model": name, "variant": variant(name, extra or {}),
                "family": aezoo.model_spec(name).family, "seed": seed, "precision": model.run.metrics["precision"],
                "train_seconds": train_seconds,
                "process_seconds": round(process_seconds, 2),
                **evaluate(model, splits, args.iw_samples, args.iw_images, cache)}
    except Exception as e:  # keep what the other families measured; the row says what failed
        return {"system": "aezoo", "model": name, "variant": variant(name, extra or {}), "error": f"{type(e).__name__}: {e}"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--iw-samples", type=int, default=1000)
    ap.add_argument("--iw-images", type=int, default=500)
    ap.add_argument("--models", default=None, help="comma-separated (default: every registered model)")
    ap.add_argument("--pythae-python", default=None)
    ap.add_argument("--seed", type=int, default=0, help="every model's seed (aezoo's and pythae's), for seed spreads")
    ap.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                    help="aezoo's training precision (pythae trains in fp32)")
    args = ap.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    keep_freed_memory()  # as `zoo train` does: this process is ours
    home = tempfile.mkdtemp(prefix="aezoo-families-")
    registry, cache = Registry(home), Path(home) / "cache"
    splits = aezoo.load_dataset("fashion-mnist")
    names = args.models.split(",") if args.models else aezoo.list_models()
    rows = []
    for name in names:
        rows.append(aezoo_row(name, args.epochs, registry, splits, args, cache))
        print(json.dumps(rows[-1]), flush=True)
    if args.pythae_python:
        for kind, name in PYTHAE.items():
            if kind in VARIANTS and name in names:  # pythae's form of an aezoo model, in its own row
                rows.append(aezoo_row(name, args.epochs, registry, splits, args, cache, VARIANTS[kind]))
                print(json.dumps(rows[-1]), flush=True)
            try:
                row = pythae_row(kind, args.epochs, args.pythae_python, splits, args, cache)
            except Exception as e:
                row = {"system": "pythae", "model": kind, "error": f"{type(e).__name__}: {e}"}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print(json.dumps({"benchmark": f"families on Fashion-MNIST, {args.epochs} epochs, latent 16, conv widths 32/64, "
                                   f"IW-NLL with K={args.iw_samples} on the first {args.iw_images} test images",
                      "checks": checks(rows)}, indent=2))


def checks(rows: list[dict]) -> dict:
    ours = {(r["model"], r.get("variant", "")): r for r in rows if r["system"] == "aezoo"}
    theirs = {r["model"]: r for r in rows if r["system"] == "pythae"}
    out = {}
    vae = ours.get(("conv-vae", ""), {}).get("iw_nll", math.nan)
    for name in ("iwae", "vamp-vae"):
        if "iw_nll" in ours.get((name, ""), {}):
            mine = ours[(name, "")]["iw_nll"]
            out[f"{name}_iw_nll_below_conv-vae"] = {"passed": mine < vae, "values": [mine, vae]}
    for kind, name in PYTHAE.items():
        pair = (name, variant(name, VARIANTS.get(kind, {})))
        if "iw_nll" in theirs.get(kind, {}) and "iw_nll" in ours.get(pair, {}):
            a, b = ours[pair], theirs[kind]
            out[f"{name}_vs_pythae_{kind}"] = {
                "iw_nll_difference": round(a["iw_nll"] - b["iw_nll"], 3), "within_0.5_nats": a["iw_nll"] - b["iw_nll"] <= 0.5,
                "time_ratio_aezoo_over_pythae": round(a["train_seconds"] / b["train_seconds"], 3),
                "no_more_time": a["train_seconds"] <= b["train_seconds"]}
    return out


if __name__ == "__main__":
    sys.exit(main())
