"""Training wall time of aezoo vs pythae on identical networks, data and epochs (VAE, IWAE, VampPrior), in
alternating pairs so that machine noise hits both alike; `families.py` times each model once, this gives the
medians and per-pair ratios its "in no more wall time" check needs.

    python benchmarks/pythae_time_pairs.py --pythae-python /path/to/env/bin/python [--pairs 5] [--epochs 1]

Both train on aezoo's Fashion-MNIST train split (55,000 images) with batch 64, Adam 1e-3, validating on the
5,000 held-out images each epoch; aezoo at its default precision (`auto`: bf16 on CPUs with native bf16),
pythae in fp32 (its only CPU mode). The times are each library's own training call (aezoo's Trainer including
its checkpoints; pythae's TrainingPipeline including its final save), each in its own process. Prints JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAIRS = {"vae": "conv-vae", "iwae": "iwae", "vamp": "vamp-vae"}
AEZOO = """
import json, sys, aezoo
from aezoo.core.runtime.memory import keep_freed_memory
keep_freed_memory()  # as `zoo train` does
model = aezoo.train(sys.argv[1], dataset="fashion-mnist", hyperparameters={"latent_dim": 16},
                    epochs=int(sys.argv[2]), progress=False)
print(json.dumps({"train_seconds": model.run.metrics["train_seconds"], "precision": model.run.metrics["precision"]}))
"""


def aezoo_seconds(name: str, epochs: int) -> float:
    env = {**os.environ, "AEZOO_HOME": tempfile.mkdtemp(prefix="aezoo-pairs-")}
    done = subprocess.run([sys.executable, "-c", AEZOO, name, str(epochs)], capture_output=True, text=True,
                          check=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])["train_seconds"]


def pythae_seconds(kind: str, epochs: int, python: str) -> float:
    out = Path(tempfile.mkdtemp(prefix="pythae-pairs-")) / "weights.safetensors"
    done = subprocess.run([python, str(HERE / "pythae_runner.py"), kind, str(epochs), str(out)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["train_seconds"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pythae-python", required=True, help="python of an environment with pythae installed")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--models", default=",".join(PAIRS), help="pythae names: vae,iwae,vamp")
    a = ap.parse_args()
    unknown = sorted(set(a.models.split(",")) - set(PAIRS))
    if unknown:
        ap.error(f"unknown --models {', '.join(unknown)}; choose from {', '.join(PAIRS)}")
    summary = {}
    for kind in a.models.split(","):
        name, times = PAIRS[kind], []
        for i in range(a.pairs):
            if i % 2 == 0:  # alternate which library runs first
                ours, theirs = aezoo_seconds(name, a.epochs), pythae_seconds(kind, a.epochs, a.pythae_python)
            else:
                theirs, ours = pythae_seconds(kind, a.epochs, a.pythae_python), aezoo_seconds(name, a.epochs)
            times.append((ours, theirs))
            print(json.dumps({"model": name, "pair": i + 1, "aezoo_s": round(ours, 2), "pythae_s": round(theirs, 2)}),
                  file=sys.stderr, flush=True)
        ratios = [o / t for o, t in times]
        summary[name] = {"median_aezoo_seconds": round(statistics.median(o for o, _ in times), 2),
                         "median_pythae_seconds": round(statistics.median(t for _, t in times), 2),
                         "median_time_ratio_aezoo_over_pythae": round(statistics.median(ratios), 3),
                         "ratios": [round(r, 3) for r in ratios],
                         "no_more_time": statistics.median(ratios) <= 1.0}
    print(json.dumps({"benchmark": f"training wall time, Fashion-MNIST, {a.epochs} epoch(s), batch 64, {a.pairs} "
                                   "alternating pairs", "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
