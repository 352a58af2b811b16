"""Fixed per-step costs that machine load cannot blur: Python function calls and torch operator calls per training
step, for the plain loop of /work/shared/reference/plain_conv_vae.py and aezoo's Trainer on the identical conv VAE,
plus CPU seconds per step (process time, one thread, the two systems alternating in one process).

    python benchmarks/step_overhead.py [--shape digits|fashion] [--precision fp32|bf16] [--epochs 3] [--rounds 3]

`digits`: 8x8 images, batch 64 (the README's first command, where a step is short and per-step costs weigh
most); `fashion`: 28x28, batch 128 (benchmarks/train_throughput.py's setting), random uint8 images of that shape
(the counts do not depend on the pixels). The Trainer's figures include what it does beyond the loop: its
validation pass each epoch, loss bookkeeping and the thread policy's calls (threads fixed at 1 here, so the
counts are repeatable). Prints one JSON document; the counts are exact and repeatable, the CPU seconds are a ratio
within one process (run it on a quiet machine for the absolute values).
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))

import plain_loop  # noqa: E402

SHAPES = {"digits": ((1, 8, 8), 64, 1280), "fashion": ((1, 28, 28), 128, 2560)}  # shape, batch, training images


def splits_of(shape: tuple[int, int, int], n: int):
    from aezoo.data.splits import Split, Splits

    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return Splits("random", Split(images), Split(images[: n // 10]), Split(images[: n // 10]))


def plain_vae(shape: tuple[int, int, int]) -> torch.nn.Module:
    """The reference network, with its linear layers sized for ``shape`` (the reference's own for 28x28)."""
    model = plain_loop.VAE()
    side = shape[1] // 4
    model.mu, model.lv = torch.nn.Linear(64 * side * side, 16), torch.nn.Linear(64 * side * side, 16)
    model.fc = torch.nn.Linear(16, 64 * side * side)
    model.dec[1] = torch.nn.Unflatten(1, (64, side, side))
    return model


def systems(shape_name: str, precision: str, epochs: int):
    from aezoo.api.build import create_model
    from aezoo.core.trainer import TrainConfig, Trainer

    shape, batch, n = SHAPES[shape_name]
    splits = splits_of(shape, n)
    x_all = splits.train.floats()
    bf16 = precision == "bf16"

    def plain() -> int:
        model = plain_vae(shape)
        opt = torch.optim.Adam(model.parameters(), 1e-3)
        steps = 0
        for _ in range(epochs):
            for x in x_all[torch.randperm(len(x_all))].split(batch):
                plain_loop.step(model, opt, x, bf16)
                steps += 1
        return steps

    def trainer() -> int:
        model = create_model("conv-vae", input_shape=shape, latent_dim=16, channels=(32, 64))
        config = TrainConfig(epochs=epochs, batch_size=batch, precision=precision, checkpoint_every=1e9, threads=1)
        result = Trainer(model, splits, config).fit()
        return sum(result.threads["steps_per_count"].values())

    return {"plain": plain, "trainer": trainer}


def python_calls(run) -> float:
    profiler = cProfile.Profile()
    profiler.enable()
    steps = run()
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    return sum(v[1] for k, v in stats.items() if not k[0].startswith("~")) / steps  # "~": C functions


def torch_ops(run) -> tuple[float, float]:
    """aten operators per step, forward and backward together, and autograd nodes evaluated per step."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        steps = run()
    events = prof.key_averages()
    aten = sum(e.count for e in events if e.key.startswith("aten::"))
    nodes = sum(e.count for e in events if e.key.startswith("autograd::engine::evaluate_function"))
    return aten / steps, nodes / steps


def cpu_seconds(run) -> float:
    started = time.process_time()
    steps = run()
    return (time.process_time() - started) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=SHAPES, default="digits")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of the CPU-time comparison")
    a = ap.parse_args()
    torch.set_num_threads(1)
    runs = systems(a.shape, a.precision, a.epochs)
    for run in runs.values():
        run()  # warm up: lazy initialisation, first allocations
    out: dict = {"shape": a.shape, "precision": a.precision, "threads": 1}
    for name, run in runs.items():
        aten, nodes = torch_ops(run)
        out[name] = {"python_calls_per_step": round(python_calls(run), 1), "aten_ops_per_step": round(aten, 1),
                     "autograd_nodes_per_step": round(nodes, 1)}
    seconds = {name: [] for name in runs}
    for r in range(a.rounds):
        for name in (runs if r % 2 == 0 else list(runs)[::-1]):
            seconds[name].append(cpu_seconds(runs[name]))
    for name, values in seconds.items():
        out[name]["cpu_ms_per_step"] = [round(1000 * v, 3) for v in values]
    ratios = [p / t for p, t in zip(seconds["plain"], seconds["trainer"])]
    out["trainer_speed_over_plain_cpu_time"] = {"per_round": [round(r, 3) for r in ratios],
                                                "median": round(statistics.median(ratios), 3)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
