"""Label-conditioned networks for a conditional model (``conditional = True``: aezoo hands them the class labels):
the encoder reads the image with the label's one-hot vector appended as constant planes, the decoder reads the
code with the one-hot vector appended. One-hot inputs, so a network whose label weights are zero is exactly the
unconditional network of the remaining weights."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from aezoo.core.interfaces import Decoder, Encoder


def one_hot(y: torch.Tensor, classes: int, like: torch.Tensor) -> torch.Tensor:
    """Labels (N,) as one-hot rows (N, classes) of ``like``'s dtype; a label outside 0..classes-1 is refused."""
    if len(y):
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= classes:
            bad = low if low < 0 else high
            raise ValueError(f"label {bad} is outside 0..{classes - 1}, the classes this conditional model was built "
                             f"for; for data with more classes, train it with --set classes=N")
    return F.one_hot(y.long(), classes).to(like.dtype)


class LabelPlanesEncoder(Encoder):
    """Wraps an encoder built for ``classes`` more input channels: ``forward(x, y)`` appends the one-hot label of
    each image as ``classes`` constant planes (N, C + classes, H, W)."""

    conditional = True

    def __init__(self, inner: Encoder, classes: int):
        super().__init__()
        self.inner, self.classes, self.latent_dim = inner, int(classes), inner.latent_dim

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        planes = one_hot(y, self.classes, x)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        return self.inner(torch.cat([x, planes], 1))


class LabelInputDecoder(Decoder):
    """Wraps a decoder built for codes ``classes`` wider: ``forward(z, y)`` appends the one-hot label to the code."""

    conditional = True

    def __init__(self, inner: Decoder, classes: int):
        super().__init__()
        self.inner, self.classes = inner, int(classes)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.inner(torch.cat([z, one_hot(y, self.classes, z)], -1))
