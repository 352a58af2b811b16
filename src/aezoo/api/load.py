"""Loading trained models: from the registry by reference, or from a folder written by `zoo export`."""
from __future__ import annotations

from typing import Any

from aezoo.errors import AezooError


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
    """``aezoo.load(ref)``; for a known model with no saved run the error says ``zoo train MODEL``."""
    from aezoo.plugins.manager import catalog
    from aezoo.registry import Registry
    from aezoo.registry.refs import UnknownRunError, split_ref

    try:
        return load(ref, home=home)
    except UnknownRunError as exc:
        model = split_ref(ref)[0]
        if model in catalog().models and not Registry(home).list(model):
            raise AezooError(f"no run of model {model!r} in {Registry(home).home} yet: train one with "
                             f"`zoo train {model}` (see `zoo runs` for the runs there are)") from exc
        raise
