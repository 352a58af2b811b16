"""The conv decoder's last layer: a transposed convolution to the image's few channels, on the faster CPU kernel.

torch computes CPU convolutions with oneDNN, which blocks channels in 16s; a transposed convolution to one
channel (a grayscale image) pads its output 16-fold and ran 2.0-4.9x slower there than ATen's own kernel
(im2col + GEMM), in fp32 and bf16 alike; to three channels (RGB) ATen's kernel was 1.6-2.4x faster in fp32 and
oneDNN 1.06-1.4x faster in bf16; to eight, oneDNN was faster in both (``benchmarks/deconv_kernels.py``, 2-core
AVX512-BF16 CPU, 2 threads). So such a layer runs its forward with oneDNN switched off; its backward stays on
oneDNN, which was 1.4-100x faster there.
Measured for the decoder's 4x4 stride-2 layers; other shapes follow the same rule unmeasured.
A deterministic rule, not a timing, so a seed still gives the same weights. On other devices, under
``torch.compile`` or with oneDNN already off, the layer is a plain ``nn.ConvTranspose2d``.

oneDNN's switch (``torch.backends.mkldnn.enabled``) is process-wide: another thread's CPU convolutions that run
during this layer's forward use ATen's kernels too (same results up to rounding, at their speed).
"""
from __future__ import annotations

import torch
from torch import nn

FP32_MAX_CHANNELS = 3  # ATen's kernel is the faster one up to this many output channels in fp32 ...
LOW_PRECISION_MAX_CHANNELS = 1  # ... and up to this many in bf16 / fp16


def _cpu_autocast_dtype() -> torch.dtype | None:
    """The dtype CPU autocast runs convolutions in, or None when it is off."""
    try:
        return torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else None
    except TypeError:  # torch < 2.4
        return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None


def _compiling() -> bool:
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(check and check())


def aten_is_faster(out_channels: int, dtype: torch.dtype) -> bool:
    """Whether ATen's CPU kernel beats oneDNN's for a transposed convolution to ``out_channels`` in ``dtype``."""
    limit = FP32_MAX_CHANNELS if dtype in (torch.float32, torch.float64) else LOW_PRECISION_MAX_CHANNELS
    return out_channels <= limit


class ImageConvTranspose2d(nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` (same parameters, same state-dict keys) whose CPU forward uses ATen's kernel where
    that is the faster one (``aten_is_faster``)."""

    def forward(self, x: torch.Tensor, output_size: list[int] | None = None) -> torch.Tensor:
        if (x.device.type != "cpu" or not torch.backends.mkldnn.enabled or _compiling()
                or not aten_is_faster(self.out_channels, _cpu_autocast_dtype() or x.dtype)):
            return super().forward(x, output_size)
        torch.backends.mkldnn.enabled = False
        try:
            return super().forward(x, output_size)
        finally:
            torch.backends.mkldnn.enabled = True
