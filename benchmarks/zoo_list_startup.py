"""Whole-process wall time of `zoo list`, against `python -c pass` and `python -c "import torch"` in the same run.

    python benchmarks/zoo_list_startup.py [--runs 15]

Prints one JSON object with medians (seconds) and ratios; target: zoo list median <= 0.3 s.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time


def median_wall(cmd: list[str], runs: int) -> float:
    subprocess.run(cmd, capture_output=True, check=True)  # warm-up (page cache)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    zoo = shutil.which("zoo") or sys.exit("zoo is not on PATH: install the project first")
    results = {
        "zoo_list_s": median_wall([zoo, "list"], args.runs),
        "zoo_help_s": median_wall([zoo, "--help"], args.runs),
        "python_pass_s": median_wall([sys.executable, "-c", "pass"], args.runs),
        "import_torch_s": median_wall([sys.executable, "-c", "import torch"], max(3, args.runs // 3)),
    }
    results["zoo_list_over_import_torch"] = results["zoo_list_s"] / results["import_torch_s"]
    results["target_zoo_list_s"] = 0.3
    results["meets_target"] = results["zoo_list_s"] <= 0.3
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results.items()}, indent=2))


if __name__ == "__main__":
    main()
