"""The evidence for aezoo.nets.image_deconv's rule: a conv decoder's last layer (4x4 stride-2 transposed
convolution to a few channels) on oneDNN vs ATen's own CPU kernel, forward and backward, fp32 and bf16, the two
kernels alternating call by call in one process. Prints one JSON document: median milliseconds per call, the
ratio oneDNN / ATen (above 1: ATen faster), and what the rule picks for each case.

    python benchmarks/deconv_kernels.py [--threads 2] [--calls 30] [--channels 1,3,8]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F

from aezoo.nets.image_deconv import aten_is_faster

SHAPES = ((64, 32, 4), (128, 32, 14), (128, 32, 16), (64, 64, 32))  # batch, input channels, input side: digits
# (8x8 out, batch 64), Fashion-MNIST (28x28), CIFAR-10 (32x32), CelebA-sized 64x64


def timed(fn, mkldnn: bool) -> float:
    torch.backends.mkldnn.enabled = mkldnn
    try:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started
    finally:
        torch.backends.mkldnn.enabled = True


def case(batch: int, c_in: int, side: int, c_out: int, dtype: torch.dtype, calls: int) -> dict:
    x = torch.randn(batch, c_in, side, side, dtype=dtype)
    w, b = torch.randn(c_in, c_out, 4, 4, dtype=dtype), torch.randn(c_out, dtype=dtype)
    grad = torch.randn(batch, c_out, 2 * side, 2 * side, dtype=dtype)

    def forward():
        F.conv_transpose2d(x, w, b, 2, 1)

    def backward():
        torch.ops.aten.convolution_backward(grad, x, w, [c_out], [2, 2], [1, 1], [1, 1], True, [0, 0], 1,
                                            [True, True, True])

    ms: dict[str, list[float]] = {}
    for i in range(calls + 3):
        for pass_, fn in (("forward", forward), ("backward", backward)):
            for kernel in (("onednn", "aten") if i % 2 else ("aten", "onednn")):
                seconds = timed(fn, kernel == "onednn")
                if i >= 3:  # the first calls create oneDNN's primitives
                    ms.setdefault(f"{pass_}_{kernel}", []).append(seconds * 1000)
    out = {k: round(statistics.median(v), 3) for k, v in ms.items()}
    return {"input": [batch, c_in, side, side], "out_channels": c_out, "dtype": str(dtype).removeprefix("torch."),
            "median_ms": out,
            "forward_onednn_over_aten": round(out["forward_onednn"] / out["forward_aten"], 2),
            "backward_onednn_over_aten": round(out["backward_onednn"] / out["backward_aten"], 2),
            "rule_runs_forward_on": "aten" if aten_is_faster(c_out, dtype) else "onednn"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--calls", type=int, default=30)
    ap.add_argument("--channels", default="1,3,8", help="output channels to measure, comma-separated")
    a = ap.parse_args()
    if a.threads < 1 or a.calls < 1:
        ap.error("--threads and --calls must be at least 1")
    channels = a.channels.split(",")
    if not all(c.strip().isdigit() and int(c) > 0 for c in channels):
        ap.error(f"--channels takes positive whole numbers separated by commas, got {a.channels!r}")
    torch.set_num_threads(a.threads)
    rows = [case(*shape, int(c), dtype, a.calls) for c in channels for shape in SHAPES
            for dtype in (torch.float32, torch.bfloat16)]
    print(json.dumps({"threads": a.threads, "calls": a.calls, "cases": rows}, indent=2))


if __name__ == "__main__":
    main()
