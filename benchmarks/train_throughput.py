"""Training throughput and peak memory of `conv-vae` through aezoo's Trainer vs a plain PyTorch loop of the
identical network, measured in the same run, each in its own process, alternating A B A B.

    python benchmarks/train_throughput.py [--pairs 3] [--epochs 1] [--limit 60000]

Data: Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).
The plain loop keeps the training set in memory as float32 and shuffles with randperm (the usual tutorial
loop, as in shared/reference/plain_conv_vae.py); aezoo keeps uint8 and converts per batch. aezoo's time
includes its per-epoch validation pass and checkpoint. Prints JSON: per-process figures, median ratios.
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


def plain(epochs: int, limit: int) -> dict:
    import plain_loop

    return plain_loop.train(epochs, limit)[1]


def aezoo_trainer(epochs: int, limit: int) -> dict:
    from aezoo.api import create_model, load_dataset
    from aezoo.core.trainer import TrainConfig, Trainer

    import torch

    splits = load_dataset("fashion-mnist")
    splits.train.images = splits.train.images[:limit]
    torch.manual_seed(0)
    model = create_model("conv-vae", input_shape=splits.input_shape, latent_dim=16, channels=(32, 64))
    result = Trainer(model, splits, TrainConfig(epochs=epochs, batch_size=128, device="cpu")).fit()
    return {"images": epochs * len(splits.train), "seconds": result.seconds}


def child(role: str, epochs: int, limit: int) -> None:
    out = (plain if role == "plain" else aezoo_trainer)(epochs, limit)
    out["images_per_s"] = out["images"] / out["seconds"]
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run(role: str, epochs: int, limit: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", role, "--epochs", str(epochs), "--limit", str(limit)]
    env = {**os.environ, "AEZOO_HOME": tempfile.mkdtemp(prefix="aezoo-bench-")}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=60000)
    ap.add_argument("--child", choices=["plain", "aezoo"])
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.epochs, a.limit)
    pairs = []
    for _ in range(a.pairs):
        pairs.append({"aezoo": run("aezoo", a.epochs, a.limit), "plain": run("plain", a.epochs, a.limit)})
    speed = [p["aezoo"]["images_per_s"] / p["plain"]["images_per_s"] for p in pairs]
    memory = [p["aezoo"]["peak_rss_mib"] / p["plain"]["peak_rss_mib"] for p in pairs]
    print(json.dumps({
        "benchmark": "conv-vae training, Fashion-MNIST, batch 128, CPU",
        "pairs": pairs,
        "median_throughput_ratio_aezoo_over_plain": round(statistics.median(speed), 4),
        "median_peak_rss_ratio_aezoo_over_plain": round(statistics.median(memory), 4),
        "median_aezoo_images_per_s": round(statistics.median(p["aezoo"]["images_per_s"] for p in pairs), 1),
        "median_plain_images_per_s": round(statistics.median(p["plain"]["images_per_s"] for p in pairs), 1),
        "targets": {"throughput_ratio_min": 0.97, "peak_rss_ratio_max": 1.0},
    }, indent=2))


if __name__ == "__main__":
    main()
