"""Training throughput, peak memory and test -ELBO of `conv-vae` on Fashion-MNIST: a plain PyTorch loop of the
identical network vs aezoo's Trainer (fp32, and its default precision), each in its own process, in
alternating rounds (plain, aezoo fp32, aezoo default, plain, ...), so machine noise hits all alike.

    python benchmarks/train_throughput.py [--pairs 3] [--epochs 1] [--limit 60000] [--systems plain,fp32,default]
                                          [--pythae-python /path/to/env/bin/python]

Data: Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). The plain loop
is shared/reference/plain_conv_vae.py's (plain_loop.py: whole set as float32, randperm, batch 128, the test
set loaded first). aezoo trains with batch 128 too, and its time includes its per-epoch validation pass and
checkpoint writes; pythae (given the python of an environment where it is installed) runs its TrainingPipeline
on the identical network with batch 128, its own per-epoch validation included. With --limit, the validation
split shrinks in proportion (5000 per 55000 training images). Each process reports images/s, peak RSS and the
test negative ELBO (nats per image, one
posterior sample, continuous-pixel BCE, as the reference computes it). Prints JSON with medians and the
median of per-round ratios against the plain loop.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SYSTEMS = ("plain", "fp32", "default", "pythae", "compile", "plain-cl")  # the last two only when asked for


def plain(epochs: int, limit: int, channels_last: bool = False) -> dict:
    import plain_loop

    model, out = plain_loop.train(epochs, limit, channels_last=channels_last)
    out["test_neg_elbo"] = plain_loop.test_neg_elbo(model)
    out["precision"] = "fp32"
    return out


def test_neg_elbo(model, splits) -> float:
    """Nats per test image, one posterior draw, through aezoo's conv-vae loss (continuous-pixel BCE)."""
    import torch

    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, _ in splits.test.batches(1000):
            total += float(model.loss(x)[0]) * len(x)
    return total / len(splits.test)


def pythae_trainer(epochs: int, limit: int) -> dict:
    """pythae's TrainingPipeline (fp32, its own per-epoch validation) on the identical network, batch 128."""
    import pythae_runner

    from aezoo.api.build import create_model
    from aezoo.api.catalog import load_dataset

    model, seconds, images = pythae_runner.train("vae", epochs, 128, limit)
    splits = load_dataset("fashion-mnist")
    ours = create_model("conv-vae", input_shape=splits.input_shape, latent_dim=16, channels=(32, 64))
    ours.load_state_dict(pythae_runner.aezoo_weights("vae", model), strict=True)
    return {"images": epochs * images, "seconds": seconds, "precision": "fp32",
            "test_neg_elbo": test_neg_elbo(ours, splits)}


def aezoo_trainer(epochs: int, limit: int, precision: str, compile: bool = False) -> dict:
    import torch

    from aezoo.api.build import create_model
    from aezoo.api.catalog import load_dataset
    from aezoo.api.train import _write_checkpoint
    from aezoo.core.runtime.memory import keep_freed_memory
    from aezoo.core.trainer import TrainConfig, Trainer

    keep_freed_memory()  # as `zoo train` does
    splits = load_dataset("fashion-mnist")
    splits.train.images = splits.train.images[:limit]
    splits.val.images = splits.val.images[: max(1, len(splits.val) * len(splits.train) // 55000)]  # same 1:11 share
    torch.manual_seed(0)
    model = create_model("conv-vae", input_shape=splits.input_shape, latent_dim=16, channels=(32, 64))
    folder = Path(tempfile.mkdtemp(prefix="aezoo-bench-ckpt-"))
    config = TrainConfig(epochs=epochs, batch_size=128, device="cpu", precision=precision, checkpoint_every=0,
                         compile=compile)
    result = Trainer(model, splits, config, on_checkpoint=lambda s: _write_checkpoint(folder, {}, s)).fit()
    return {"images": epochs * len(splits.train), "seconds": result.seconds, "precision": result.precision,
            "compile_seconds": result.compile_seconds, "test_neg_elbo": test_neg_elbo(model, splits)}


def child(role: str, epochs: int, limit: int) -> None:
    if role in ("plain", "plain-cl"):
        out = plain(epochs, limit, channels_last=role == "plain-cl")
    elif role == "pythae":
        out = pythae_trainer(epochs, limit)
    else:  # compile: the default precision plus torch.compile; its seconds include compiling
        out = aezoo_trainer(epochs, limit, "fp32" if role == "fp32" else "auto", compile=role == "compile")
    out["images_per_s"] = out["images"] / out["seconds"]
    if out.get("compile_seconds"):
        out["images_per_s_after_compile"] = out["images"] / (out["seconds"] - out["compile_seconds"])
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run(role: str, epochs: int, limit: int, pythae_python: str | None) -> dict:
    python = pythae_python if role == "pythae" else sys.executable
    cmd = [python, str(Path(__file__).resolve()), "--child", role, "--epochs", str(epochs), "--limit", str(limit)]
    env = {**os.environ, "AEZOO_HOME": tempfile.mkdtemp(prefix="aezoo-bench-")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3, help="rounds; each runs every system once")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=60000)
    ap.add_argument("--systems", default=None, help="default: plain,fp32,default (+pythae with --pythae-python); "
                    "also compile (default precision + torch.compile) and plain-cl (the plain loop, channels-last)")
    ap.add_argument("--pythae-python", default=None, help="python of an environment with pythae installed")
    ap.add_argument("--child", choices=SYSTEMS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.epochs, a.limit)
    systems = a.systems.split(",") if a.systems else ["plain", "fp32", "default"] + (["pythae"] if a.pythae_python else [])
    if "pythae" in systems and not a.pythae_python:
        ap.error("the pythae system needs --pythae-python (pythae is not an aezoo dependency)")
    rounds = []
    for i in range(a.pairs):
        order = systems if i % 2 == 0 else systems[::-1]  # alternate which system runs first
        rounds.append({s: run(s, a.epochs, a.limit, a.pythae_python) for s in order})
        print(json.dumps({"round": i + 1, **{s: round(r["images_per_s"], 1) for s, r in rounds[-1].items()}}),
              file=sys.stderr, flush=True)
    summary = {}
    for s in systems:
        summary[s] = {
            "median_images_per_s": round(statistics.median(r[s]["images_per_s"] for r in rounds), 1),
            "median_test_neg_elbo": round(statistics.median(r[s]["test_neg_elbo"] for r in rounds), 2),
            "median_peak_rss_mib": round(statistics.median(r[s]["peak_rss_mib"] for r in rounds), 1),
            "precision": rounds[0][s]["precision"],
        }
        if rounds[0][s].get("compile_seconds") is not None:
            summary[s]["median_compile_seconds"] = round(statistics.median(r[s]["compile_seconds"] for r in rounds), 1)
            summary[s]["median_seconds"] = round(statistics.median(r[s]["seconds"] for r in rounds), 1)
            summary[s]["median_images_per_s_after_compile"] = round(statistics.median(
                r[s]["images_per_s_after_compile"] for r in rounds), 1)
        if s != "plain" and "plain" in systems:
            summary[s]["median_speed_ratio_over_plain"] = round(statistics.median(
                r[s]["images_per_s"] / r["plain"]["images_per_s"] for r in rounds), 3)
            summary[s]["speed_ratios"] = [round(r[s]["images_per_s"] / r["plain"]["images_per_s"], 3) for r in rounds]
            summary[s]["median_peak_rss_ratio_over_plain"] = round(statistics.median(
                r[s]["peak_rss_mib"] / r["plain"]["peak_rss_mib"] for r in rounds), 3)
    print(json.dumps({"benchmark": f"conv-vae, Fashion-MNIST ({a.limit} images), batch 128, {a.epochs} epoch(s), CPU",
                      "summary": summary, "rounds": rounds,
                      "targets": {"fp32_ratio_min": 1.0, "default_ratio_min": 1.3, "elbo_within_nats": 0.5}}, indent=2))


if __name__ == "__main__":
    main()
