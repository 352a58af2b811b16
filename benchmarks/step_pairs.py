"""Training steps alone, without the noise between processes: the plain loop's step and aezoo's step on the identical
conv VAE, fp32 and bf16 autocast, alternating step by step in one process on the same batches, so a burst of load
hits all four alike. Prints one JSON document: median milliseconds per step and the ratios the throughput targets
are about.

    python benchmarks/step_pairs.py [--steps 300] [--threads 2] [--shape fashion|digits]

aezoo's step is what the Trainer runs per batch (the model's loss under the precision's autocast, zero_grad,
backward, its fused Adam, the loss parts read back); the Trainer's validation pass, data slicing and bookkeeping
are not in it (`benchmarks/step_overhead.py` and `train_throughput.py` measure those). The first 20 steps of each
system are left out (lazy initialisation, first allocations).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import plain_loop  # noqa: E402
from step_overhead import SHAPES, plain_vae  # noqa: E402

WARMUP = 20


def systems(shape: tuple[int, int, int]) -> dict:
    """The four steps, each with its own model and optimiser: (plain|aezoo) x (fp32|bf16)."""
    from aezoo.api.build import create_model
    from aezoo.core.interfaces import Step

    out = {}
    for precision in ("fp32", "bf16"):
        bf16 = precision == "bf16"
        torch.manual_seed(0)
        plain = plain_vae(shape)
        plain_opt = torch.optim.Adam(plain.parameters(), 1e-3)  # as the reference loop builds it

        def plain_step(x, i, model=plain, opt=plain_opt, bf16=bf16):
            plain_loop.step(model, opt, x, bf16)

        torch.manual_seed(0)
        ours = create_model("conv-vae", input_shape=shape, latent_dim=16, channels=(32, 64))
        ours_opt = torch.optim.Adam(ours.parameters(), 1e-3, fused=True)  # as the Trainer builds it

        def aezoo_step(x, i, model=ours, opt=ours_opt, bf16=bf16):
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss, parts = model.loss(x, Step(i, 0, 10_000))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            torch.stack([loss.detach().float(), *(v.detach().float() for v in parts.values())]).tolist()

        out[f"plain-{precision}"], out[f"aezoo-{precision}"] = plain_step, aezoo_step
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shape", choices=SHAPES, default="fashion")
    a = ap.parse_args()
    if a.steps <= WARMUP:
        ap.error(f"--steps must be above the {WARMUP} warm-up steps")
    if a.threads < 1:
        ap.error(f"--threads must be at least 1, got {a.threads}")
    torch.set_num_threads(a.threads)
    shape, batch, _ = SHAPES[a.shape]
    batches = [torch.rand(batch, *shape, generator=torch.Generator().manual_seed(i)) for i in range(8)]
    steps = systems(shape)
    seconds: dict[str, list[float]] = {name: [] for name in steps}
    for i in range(a.steps):
        order = list(steps) if i % 2 == 0 else list(steps)[::-1]  # alternate who goes first
        for name in order:
            started = time.perf_counter()
            steps[name](batches[i % len(batches)], i)
            seconds[name].append(time.perf_counter() - started)
    ms = {name: statistics.median(v[WARMUP:]) * 1000 for name, v in seconds.items()}
    print(json.dumps({
        "shape": a.shape, "batch": batch, "threads": a.threads, "steps": a.steps,
        "median_ms_per_step": {k: round(v, 3) for k, v in ms.items()},
        "aezoo_fp32_speed_over_plain_fp32": round(ms["plain-fp32"] / ms["aezoo-fp32"], 3),
        "aezoo_bf16_speed_over_plain_bf16": round(ms["plain-bf16"] / ms["aezoo-bf16"], 3),
        "plain_bf16_speed_over_plain_fp32": round(ms["plain-fp32"] / ms["plain-bf16"], 3),
        "aezoo_bf16_speed_over_plain_fp32": round(ms["plain-fp32"] / ms["aezoo-bf16"], 3),
    }, indent=2))


if __name__ == "__main__":
    main()
