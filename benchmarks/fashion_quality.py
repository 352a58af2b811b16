"""Test negative ELBO on Fashion-MNIST after N epochs (default 10): aezoo's default `conv-vae` (latent 16)
trained with `zoo train` and its default settings vs the plain PyTorch loop of the identical network
(batch 128, as in shared/reference/plain_conv_vae.py), in the same run.

    python benchmarks/fashion_quality.py [--epochs 10] [--iw-samples 100]

Both report the negative ELBO in nats per test image with one posterior sample and continuous-pixel BCE,
as shared/reference/plain_conv_vae.py does; aezoo also reports its importance-weighted NLL estimate.
Times: the plain loop's training loop vs aezoo's Trainer.fit (its validation passes and checkpoints
included), and each whole process. Prints JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def plain(epochs: int) -> dict:
    sys.path.insert(0, str(HERE))
    import plain_loop

    start = time.perf_counter()
    model, timing = plain_loop.train(epochs)
    result = {"train_seconds": timing["seconds"], "test_neg_elbo": plain_loop.test_neg_elbo(model)}
    result["process_seconds"] = time.perf_counter() - start
    return result


def zoo(epochs: int, iw_samples: int) -> dict:
    home = tempfile.mkdtemp(prefix="aezoo-quality-")
    env = {**os.environ, "AEZOO_HOME": home}
    start = time.perf_counter()
    subprocess.run(["zoo", "train", "conv-vae", "--dataset", "fashion-mnist", "--epochs", str(epochs),
                    "--latent-dim", "16"], env=env, check=True, capture_output=True)
    process_seconds = time.perf_counter() - start
    out = subprocess.run(["zoo", "eval", "conv-vae", "--json", "--iw-samples", str(iw_samples)], env=env, check=True,
                         capture_output=True, text=True).stdout
    metrics = json.loads(out)
    saved = json.loads(subprocess.run(["zoo", "runs", "show", "conv-vae"], env=env, check=True, capture_output=True,
                                      text=True).stdout)["metrics"]
    return {"train_seconds": saved["train_seconds"], "process_seconds": process_seconds,
            "test_neg_elbo": metrics["test_neg_elbo"], "test_iw_nll": metrics["test_iw_nll"],
            "test_kl": metrics["test_kl"], "test_active_units": metrics["test_active_units"],
            "test_probe_accuracy": metrics.get("test_probe_accuracy"),
            "class_consistency_mean": metrics.get("class_consistency", {}).get("mean")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--iw-samples", type=int, default=100)
    a = ap.parse_args()
    ours = zoo(a.epochs, a.iw_samples)
    ref = plain(a.epochs)
    print(json.dumps({
        "benchmark": f"conv-vae, Fashion-MNIST, {a.epochs} epochs, Adam 1e-3, latent 16, CPU; "
                     "aezoo's defaults (batch 64) vs the plain loop (batch 128)",
        "aezoo": ours, "plain": ref,
        "neg_elbo_difference_aezoo_minus_plain": round(ours["test_neg_elbo"] - ref["test_neg_elbo"], 3),
        "train_time_ratio_aezoo_over_plain": round(ours["train_seconds"] / ref["train_seconds"], 4),
    }, indent=2))


if __name__ == "__main__":
    main()
