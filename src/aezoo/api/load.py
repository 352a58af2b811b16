"""Loading trained models: from the registry by reference, or from a folder written by `zoo export`."""
from __future__ import annotations

from typing import Any


def load(ref: str, device: str = "cpu", home: str | None = None):
    """A trained model from the registry (``'conv-vae'``, ``'conv-vae:3'``, ``'conv-vae:best'``, a run id),
    in eval mode on ``device``; or from a folder written by ``zoo export`` (``'path/to/dir'``).
    The weights' sha256 and shapes are verified first."""
    from aezoo.api.build import build_run
    from aezoo.api.share import load_export
    from aezoo.registry.export import is_export_path

    if is_export_path(ref):
        return load_export(ref, device=device)
    return build_run(ref, device=device, home=home)


def load_run(ref: str, home: str | None = None) -> Any:
    """``aezoo.load(ref)``, the reference checked first without torch (``find_run``): a typo fails at once, and
    for a known model with no saved run the error says ``zoo train MODEL``."""
    from aezoo.api.checks import find_run

    find_run(ref, home)
    return load(ref, home=home)
