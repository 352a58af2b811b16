"""Which device training and inference use."""
from __future__ import annotations

import torch

from aezoo.errors import AezooError


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; an unavailable device is a clear error."""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        mps = getattr(torch.backends, "mps", None)
        return "mps" if mps is not None and mps.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise AezooError(f"device {device!r} requested but CUDA is not available here; use --device cpu or auto")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise AezooError("device 'mps' requested but MPS is not available here; use --device cpu or auto")
    if device not in ("cpu", "mps") and not device.startswith("cuda"):
        raise AezooError(f"unknown device {device!r}; expected auto, cpu, cuda, cuda:N or mps")
    return device
