"""Training throughput, peak memory and test -ELBO of `conv-vae` on Fashion-MNIST: the plain PyTorch loop of
/work/shared/reference/plain_conv_vae.py (fp32, and its --bf16 autocast) vs aezoo's Trainer on the identical
network (fp32, and its default precision: bf16 on a CPU with AVX512-BF16 or AMX), each in its own process, in
interleaved rounds (the order reversed every other round), so machine noise hits all alike.

    python benchmarks/train_throughput.py [--pairs 3] [--epochs 1] [--limit 60000]
                                          [--systems plain,plain-bf16,fp32,default] [--threads N]
                                          [--json results.json] [--pythae-python /path/to/env/bin/python]

Defaults (about 3-4 minutes on an idle 2-core machine): 3 rounds of the four default systems, 1 epoch on all
60,000 training images. Each round prints its images/s per system on stderr as it finishes; at the end stdout gets
one JSON document (every round, medians, per-round ratios, the targets and whether they are met) and stderr
gets one summary line of the median ratios against the targets:

- aezoo fp32 / plain fp32 >= 1.0, aezoo default / plain fp32 >= 1.3,
- aezoo bf16 / plain bf16 autocast >= 1.0 (the `default` system when it resolves to bf16, else `bf16` if run).

Systems: `plain` (the reference loop, fp32), `plain-bf16` (its --bf16 autocast), `fp32` (Trainer, --precision
fp32), `default` (Trainer, default precision), `bf16` (Trainer, --precision bf16), `pythae` (its
TrainingPipeline on the identical network, fp32; needs --pythae-python), `compile` (default precision plus
torch.compile, compile time reported apart) and `plain-cl` (the plain loop in channels-last).

Threads: the plain loop runs at torch's default thread count, as the reference does; the Trainer at aezoo's thread
policy (measured on the first steps; each round records the count it chose). `--threads N` fixes both instead
(OMP_NUM_THREADS for the plain loop, threads=N for the Trainer).

Data: Fashion-MNIST from Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). The plain loop is
plain_loop.py (whole set as float32, randperm, batch 128, the test set loaded first, as the reference). aezoo
trains with batch 128 too, and its time includes its per-epoch validation pass and checkpoint writes (the plain
loop does neither): the Trainer runs with its phase clock on (free on a CPU), and the summary gives the share of its
time they took and its steps' own images/s against the plain loop (`median_steps_ratio_over_plain`), beside the
targets, which are checked on the whole time. With
--limit, the validation split shrinks in proportion (5000 per 55000 training images). Each process reports
images/s, peak RSS and the test negative ELBO (nats per image, one posterior sample, continuous-pixel BCE, as the
reference computes it).
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

SYSTEMS = ("plain", "plain-bf16", "fp32", "default", "bf16", "pythae", "compile", "plain-cl")
DEFAULT_SYSTEMS = ("plain", "plain-bf16", "fp32", "default")
TARGETS = {  # system: (reference system, the least median ratio of their images/s)
    "fp32": ("plain", 1.0),
    "default": ("plain", 1.3),
    "bf16": ("plain-bf16", 1.0),
}


def plain(epochs: int, limit: int, bf16: bool = False, channels_last: bool = False) -> dict:
    import plain_loop

    model, out = plain_loop.train(epochs, limit, bf16=bf16, channels_last=channels_last)
    out["test_neg_elbo"] = plain_loop.test_neg_elbo(model)
    out["precision"] = "bf16" if bf16 else "fp32"
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


def aezoo_trainer(epochs: int, limit: int, precision: str, compile: bool = False, threads: int | None = None) -> dict:
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
                         compile=compile, threads=threads, profile=True)  # on a CPU the phase clock is free
    result = Trainer(model, splits, config, on_checkpoint=lambda s: _write_checkpoint(folder, {}, s)).fit()
    phases = result.profile or {}
    extra = phases.get("validation", 0.0) + phases.get("checkpoint", 0.0)
    return {"images": epochs * len(splits.train), "seconds": result.seconds, "precision": result.precision,
            "compile_seconds": result.compile_seconds, "threads": result.threads,
            "validation_seconds": phases.get("validation"), "checkpoint_seconds": phases.get("checkpoint"),
            "steps_images_per_s": epochs * len(splits.train) / (result.seconds - extra),
            "test_neg_elbo": test_neg_elbo(model, splits)}


def child(role: str, epochs: int, limit: int, threads: int | None) -> None:
    if role in ("plain", "plain-bf16", "plain-cl"):
        out = plain(epochs, limit, bf16=role == "plain-bf16", channels_last=role == "plain-cl")
    elif role == "pythae":
        out = pythae_trainer(epochs, limit)
    else:  # compile: the default precision plus torch.compile; its seconds include compiling
        precision = {"fp32": "fp32", "bf16": "bf16"}.get(role, "auto")
        out = aezoo_trainer(epochs, limit, precision, compile=role == "compile", threads=threads)
    import torch

    out["torch_threads_at_end"] = torch.get_num_threads()
    out["images_per_s"] = out["images"] / out["seconds"]
    if out.get("compile_seconds"):
        out["images_per_s_after_compile"] = out["images"] / (out["seconds"] - out["compile_seconds"])
    out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run(role: str, epochs: int, limit: int, threads: int | None, pythae_python: str | None) -> dict:
    python = pythae_python if role == "pythae" else sys.executable
    cmd = [python, str(Path(__file__).resolve()), "--child", role, "--epochs", str(epochs), "--limit", str(limit)]
    env = {**os.environ, "AEZOO_HOME": tempfile.mkdtemp(prefix="aezoo-bench-")}
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # each system at its own default unless --threads
        env.pop(var, None)
    if threads is not None:
        cmd += ["--threads", str(threads)]
        env["OMP_NUM_THREADS"] = str(threads)
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{role} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bf16_system(systems: list[str], rounds: list[dict]) -> str | None:
    """Which aezoo system stands for bf16: ``bf16`` if it ran, else ``default`` when it resolved to bf16."""
    if "bf16" in systems:
        return "bf16"
    if "default" in systems and rounds[0]["default"]["precision"] == "bf16":
        return "default"
    return None


def summarise(systems: list[str], rounds: list[dict]) -> tuple[dict, dict, str]:
    """Medians per system; per-round and median ratios against each target's reference; the summary line."""
    median = statistics.median
    summary = {}
    for s in systems:
        first = rounds[0][s]
        summary[s] = {
            "median_images_per_s": round(median(r[s]["images_per_s"] for r in rounds), 1),
            "median_test_neg_elbo": round(median(r[s]["test_neg_elbo"] for r in rounds), 2),
            "median_peak_rss_mib": round(median(r[s]["peak_rss_mib"] for r in rounds), 1),
            "precision": first["precision"],
            "threads": [(r[s].get("threads") or {}).get("threads", r[s]["torch_threads_at_end"]) for r in rounds],
        }
        if first.get("compile_seconds") is not None:
            summary[s]["median_compile_seconds"] = round(median(r[s]["compile_seconds"] for r in rounds), 1)
            summary[s]["median_images_per_s_after_compile"] = round(median(
                r[s]["images_per_s_after_compile"] for r in rounds), 1)
        if s != "plain" and "plain" in systems:
            ratios = [r[s]["images_per_s"] / r["plain"]["images_per_s"] for r in rounds]
            summary[s]["speed_ratios_over_plain"] = [round(x, 3) for x in ratios]
            summary[s]["median_speed_ratio_over_plain"] = round(median(ratios), 3)
        if first.get("steps_images_per_s") is not None:  # the Trainer's steps alone: what the plain loop times
            summary[s]["median_validation_share"] = round(median(
                (r[s]["validation_seconds"] + r[s]["checkpoint_seconds"]) / r[s]["seconds"] for r in rounds), 4)
            if "plain" in systems:
                summary[s]["median_steps_ratio_over_plain"] = round(median(
                    r[s]["steps_images_per_s"] / r["plain"]["images_per_s"] for r in rounds), 3)
    checks = {}
    bf16 = bf16_system(systems, rounds)
    for target, (reference, least) in TARGETS.items():
        system = bf16 if target == "bf16" else target
        if system is None or system not in systems or reference not in systems:
            continue
        ratios = [r[system]["images_per_s"] / r[reference]["images_per_s"] for r in rounds]
        checks[f"{target}_over_{reference}"] = {"system": system, "ratios": [round(x, 3) for x in ratios],
                                                "median": round(median(ratios), 3), "target": least,
                                                "met": median(ratios) >= least}
    line = "; ".join(f"{name} {c['median']:.3f}x (target >= {c['target']}: {'met' if c['met'] else 'NOT met'})"
                     for name, c in checks.items())
    return summary, checks, f"train_throughput: median of {len(rounds)} rounds: " + (line or "no target applies")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=3, help="rounds; each runs every system once")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=60000)
    ap.add_argument("--systems", default=None, help=f"comma-separated, from {', '.join(SYSTEMS)} "
                    f"[default: {','.join(DEFAULT_SYSTEMS)}, +pythae with --pythae-python]")
    ap.add_argument("--threads", type=int, default=None, help="fix every system's CPU threads (default: each its own)")
    ap.add_argument("--json", dest="json_path", default=None, help="also write the JSON document to this file")
    ap.add_argument("--pythae-python", default=None, help="python of an environment with pythae installed")
    ap.add_argument("--child", choices=SYSTEMS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.epochs, a.limit, a.threads)
    systems = a.systems.split(",") if a.systems else [*DEFAULT_SYSTEMS] + (["pythae"] if a.pythae_python else [])
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        ap.error(f"unknown systems {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    if "pythae" in systems and not a.pythae_python:
        ap.error("the pythae system needs --pythae-python (pythae is not an aezoo dependency)")
    load_before = os.getloadavg()
    rounds = []
    for i in range(a.pairs):
        order = systems if i % 2 == 0 else systems[::-1]  # alternate which system runs first
        rounds.append({s: run(s, a.epochs, a.limit, a.threads, a.pythae_python) for s in order})
        print(json.dumps({"round": i + 1, **{s: round(r["images_per_s"], 1) for s, r in rounds[-1].items()}}),
              file=sys.stderr, flush=True)
    summary, checks, line = summarise(systems, rounds)
    document = {"benchmark": f"conv-vae, Fashion-MNIST ({a.limit} images), batch 128, {a.epochs} epoch(s), CPU",
                "threads": a.threads or "each system's own (plain: torch's default; aezoo: its thread policy)",
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "summary": summary, "targets": checks, "rounds": rounds}
    text = json.dumps(document, indent=2)
    print(text)
    if a.json_path:
        Path(a.json_path).write_text(text + "\n")
    print(line, file=sys.stderr)


if __name__ == "__main__":
    main()
