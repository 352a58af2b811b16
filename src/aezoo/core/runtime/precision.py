"""Which arithmetic training uses: ``auto`` picks mixed precision only where the hardware runs it natively."""
from __future__ import annotations

from pathlib import Path

import torch

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
CHOICES = ("auto", *PRECISIONS)
CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bf16 arithmetic


def cpu_has_bf16(cpuinfo: str | None = None) -> bool:
    """The CPU does bf16 arithmetic natively (AVX512-BF16 or AMX); False where that cannot be read."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return any(f in flags for f in CPU_BF16_FLAGS)


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto``: bf16 on a CPU with native bf16 and on a GPU that supports it, else fp32; others unchanged."""
    if precision != "auto":
        return precision
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "fp32"


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse mixed precision a device cannot do, saying what to use instead."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose one of {', '.join(CHOICES)}")
    if precision == "fp16" and device.type == "cpu":
        raise ValueError("fp16 mixed precision needs a GPU; on the CPU use --precision bf16 or fp32")
    if precision == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(f"this GPU ({torch.cuda.get_device_name(device)}) has no bf16; use --precision fp16")
