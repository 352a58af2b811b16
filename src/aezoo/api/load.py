"""Loading trained models: from the registry by reference, or from a folder written by `zoo export`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from aezoo.errors import AezooError


def load(ref: str, device: str = "cpu", home: str | None = None):
    """A trained model from the registry (``'conv-vae'``, ``'conv-vae:3'``, ``'conv-vae:best'``, a run id, a
    plugin's model by its qualified name ``'old-plugin/iwae'``), in eval mode on ``device``; or from a folder
    written by ``zoo export`` (``'path/to/dir'``). The weights' sha256 and shapes are verified first."""
    from aezoo.api.build import build_run
    from aezoo.api.share import load_export
    from aezoo.registry.export import is_export_path

    if is_export_path(ref) and not names_a_qualified_model(ref, home):
        return load_export(ref, device=device)
    return build_run(ref, device=device, home=home)


def names_a_qualified_model(ref: object, home: str | None = None) -> bool:
    """``PLUGIN/MODEL``, ``PLUGIN/MODEL:SELECTOR`` or ``PLUGIN/MODEL-N`` naming a registered model or stored runs,
    and no existing folder: a registry reference, though it contains a ``/``."""
    from aezoo.plugins.manager import catalog
    from aezoo.registry import Registry
    from aezoo.registry.refs import split_run_id

    if not isinstance(ref, str) or ref.count("/") != 1 or Path(ref).exists():
        return False
    name = ref.partition(":")[0]
    candidates = [name, *([split_run_id(name)[0]] if split_run_id(name) else [])]
    return any(c in catalog().qualified for c in candidates) or any(Registry(home).list(c) for c in candidates)


def load_run(ref: str, home: str | None = None) -> Any:
    """``aezoo.load(ref)``; for a known model with no saved run the error says ``zoo train MODEL``."""
    from aezoo.plugins.manager import catalog
    from aezoo.registry import Registry
    from aezoo.registry.refs import UnknownRunError, split_ref

    try:
        return load(ref, home=home)
    except UnknownRunError as exc:
        model = split_ref(ref)[0]
        known = model in catalog().models or model in catalog().qualified
        if known and not Registry(home).list(model):
            raise AezooError(f"no run of model {model!r} in {Registry(home).home} yet: train one with "
                             f"`zoo train {model}` (see `zoo runs` for the runs there are)") from exc
        raise
