"""What a new user waits for: the README's first command on digits (`zoo train conv-vae`, then `zoo report`), and
`zoo latent` (t-SNE) alone, with aezoo's default thread policy vs a fixed 1 thread vs a fixed all-CPU count, on
an idle machine and beside two CPU-bound processes (started and stopped by this script, each bounded in time).

    python benchmarks/first_command.py [--rounds 1] [--epochs N] [--competitors 2] [--conditions idle,loaded]
                                       [--policies default,1,all] [--commands train,latent,report]
                                       [--timeout 600] [--json results.json]

Defaults: 1 round of every condition x policy x command, the full first command (191 epochs on digits); about
6-9 minutes on a 2-core machine (the all-CPU count beside two competing jobs is the slow part). `--epochs 40`
shortens training about fivefold (the issue's own loaded comparison used 40 epochs).

How: every command is its own `zoo` process (`python -m aezoo`) in a fresh registry home, with OMP_NUM_THREADS and
MKL_NUM_THREADS removed from its environment; policy `default` passes no thread option, `1` passes `--threads 1`,
`all` passes `--threads N` (N: the CPUs this process may use). `train` times `zoo train conv-vae`; `latent` and
`report` time `zoo latent conv-vae` and `zoo report conv-vae` on a copy of one reference run trained before the
rounds (so every policy maps the same codes, and `report` evaluates afresh each time). The order of the
condition x policy pairs is reversed every other round. The competitors are plain Python busy loops, one per
requested process, each exiting by itself after --timeout seconds at the latest and stopped as soon as the
measurement beside them ends.

Prints each measurement on stderr as it finishes, then one JSON document on stdout (every measurement, medians,
the ratios of the default policy to the best fixed count per condition and command, and the targets), and last a
one-line summary on stderr. Targets (issue 17): default within 1.2x of the best fixed count beside two competing
jobs, within 1.1x idle, for `zoo train conv-vae` and `zoo latent`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {"idle": 1.1, "loaded": 1.2}  # default policy / best fixed count, at most
TARGET_COMMANDS = ("train", "latent")
BURN = "import time\nend = time.time() + {seconds}\nwhile time.time() < end:\n    pass\n"


def usable_cpus() -> int:
    from aezoo.core.runtime.threads import usable_cpus as usable

    return usable()


def zoo(args: list[str], home: Path, policy: str, all_cpus: int, timeout: float) -> dict:
    """Run ``zoo ARGS`` at ``policy`` in registry ``home``; its wall seconds and exit code."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["AEZOO_HOME"] = str(home)
    threads = [] if policy == "default" else ["--threads", str(all_cpus if policy == "all" else int(policy))]
    cmd = [sys.executable, "-m", "aezoo", *args, *threads]
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=home.parent, timeout=timeout)
        code, tail = done.returncode, done.stderr.strip().splitlines()[-3:]
    except subprocess.TimeoutExpired:
        code, tail = "timeout", []
    return {"seconds": round(time.perf_counter() - started, 2), "exit": code, "stderr_tail": tail}


class Competitors:
    """``n`` CPU-bound processes beside the measurement, each exiting by itself after ``limit`` seconds."""

    def __init__(self, n: int, limit: float):
        self.n, self.limit = n, limit
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> "Competitors":
        code = BURN.format(seconds=self.limit)
        self.procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(self.n)]
        time.sleep(1.0)  # let them take their CPUs before the measurement starts
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def recorded_threads(home: Path) -> dict | None:
    """The thread record of the run a `zoo train` saved in ``home``."""
    for metrics in home.glob("runs/*/*/metrics.json"):
        return json.loads(metrics.read_text()).get("threads")
    return None


def reference_run(base: Path, epochs: list[str], timeout: float) -> None:
    """One conv-vae run (one thread, quick and repeatable) that `latent` and `report` use in every measurement."""
    done = zoo(["train", "conv-vae", *epochs], base, "1", 1, timeout)
    if done["exit"] != 0:
        raise SystemExit(f"training the reference run failed: {done}")


def measure(command: str, policy: str, all_cpus: int, epochs: list[str], base: Path, scratch: Path,
            timeout: float) -> dict:
    home = scratch / f"home-{command}-{policy}-{time.monotonic_ns()}"
    if command == "train":
        out = zoo(["train", "conv-vae", *epochs], home, policy, all_cpus, timeout)
        out["threads"] = recorded_threads(home)
    else:
        shutil.copytree(base, home)
        args = ["latent", "conv-vae", "-o", str(home / "latent.png")] if command == "latent" else \
            ["report", "conv-vae", "-o", str(home / "report.html")]
        out = zoo(args, home, policy, all_cpus, timeout)
    shutil.rmtree(home, ignore_errors=True)
    return out


def summarise(results: list[dict], conditions: list[str], commands: list[str]) -> tuple[dict, dict, str]:
    medians: dict = {}
    for r in results:
        if r["exit"] == 0:
            medians.setdefault(r["condition"], {}).setdefault(r["command"], {}).setdefault(r["policy"], []).append(
                r["seconds"])
    medians = {c: {m: {p: round(statistics.median(v), 2) for p, v in ps.items()} for m, ps in cs.items()}
               for c, cs in medians.items()}
    checks = {}
    for condition in conditions:
        for command in commands:
            times = medians.get(condition, {}).get(command, {})
            fixed = {p: s for p, s in times.items() if p != "default"}
            if "default" not in times or not fixed:
                continue
            best = min(fixed, key=fixed.get)
            ratio = times["default"] / fixed[best]
            entry = {"default_seconds": times["default"], "best_fixed": best, "best_fixed_seconds": fixed[best],
                     "ratio": round(ratio, 3)}
            if command in TARGET_COMMANDS:
                entry.update(target=TARGETS[condition], met=ratio <= TARGETS[condition])
            checks[f"{command}_{condition}"] = entry
    line = "; ".join(f"{name} default/best-fixed({c['best_fixed']}) {c['ratio']:.2f}x"
                     + (f" (target <= {c['target']}: {'met' if c['met'] else 'NOT met'})" if "target" in c else "")
                     for name, c in checks.items())
    return medians, checks, "first_command: " + (line or "nothing to compare")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=None, help="training epochs [default: zoo train's own (191)]")
    ap.add_argument("--competitors", type=int, default=2, help="CPU-bound processes in the loaded condition")
    ap.add_argument("--conditions", default="idle,loaded")
    ap.add_argument("--policies", default="default,1,all", help="default, all, or fixed counts such as 1,2")
    ap.add_argument("--commands", default="train,latent,report")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per command (and per competitor) at most")
    ap.add_argument("--json", dest="json_path", default=None, help="also write the JSON document to this file")
    a = ap.parse_args()
    conditions, policies, commands = (a.conditions.split(","), a.policies.split(","), a.commands.split(","))
    all_cpus, epochs = usable_cpus(), ([] if a.epochs is None else ["--epochs", str(a.epochs)])
    scratch = Path(tempfile.mkdtemp(prefix="aezoo-first-command-"))
    base = scratch / "reference-home"
    load_before = os.getloadavg()
    if any(c != "train" for c in commands):
        reference_run(base, epochs, a.timeout)
    pairs = [(c, p) for c in conditions for p in policies]
    results = []
    try:
        for r in range(a.rounds):
            for condition, policy in (pairs if r % 2 == 0 else pairs[::-1]):
                with Competitors(a.competitors if condition == "loaded" else 0, a.timeout):
                    for command in commands:
                        out = measure(command, policy, all_cpus, epochs, base, scratch, a.timeout)
                        out.update(round=r + 1, condition=condition, policy=policy, command=command)
                        results.append(out)
                        print(json.dumps({k: out[k] for k in ("round", "condition", "policy", "command", "seconds",
                                                              "exit")}), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    medians, checks, line = summarise(results, conditions, commands)
    trained = "default epochs" if a.epochs is None else f"{a.epochs} epochs"
    document = {"benchmark": f"README's first command on digits ({trained}), {a.rounds} round(s), "
                             f"{a.competitors} competing CPU-bound processes when loaded",
                "usable_cpus": all_cpus, "policies": {"default": "no thread option", "1": "--threads 1",
                                                      "all": f"--threads {all_cpus}"},
                "load_average_before": [round(x, 2) for x in load_before],
                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                "median_seconds": medians, "targets": checks, "measurements": results}
    text = json.dumps(document, indent=2)
    print(text)
    if a.json_path:
        Path(a.json_path).write_text(text + "\n")
    print(line, file=sys.stderr)


if __name__ == "__main__":
    main()
