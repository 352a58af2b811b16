"""File helpers: atomic writes, sha256, and safetensors read/write with verification (no torch at import)."""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aezoo.errors import RegistryError

if TYPE_CHECKING:
    import torch


def fsync_dir(path: str | Path) -> None:
    """Flush a directory entry (after a create or rename) to disk; a no-op where unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def umask() -> int:
    """The process's umask (read without changing it for longer than a moment)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temp path beside ``path`` for the block to write; then fsynced and renamed onto ``path`` in one step.
    If the block fails (a full disk), the temp file goes and whatever was at ``path`` stays as it was."""
    path = Path(path)
    make_dirs(path.parent)
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # name the file the user asked for, not the temp file
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp files are private; give the usual permissions
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename == str(tmp):
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then ``os.replace`` it into place."""
    with replacing(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


def make_dirs(path: str | Path) -> Path:
    """``mkdir -p``; a file or a dangling symbolic link in the way is one clear error, not 'File exists'."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        for part in (path, *path.parents):
            if part.is_symlink() and not part.exists():
                raise RegistryError(f"{part} is a symbolic link to {os.readlink(part)}, which does not exist: "
                                    "create that folder, or point AEZOO_HOME / --home elsewhere") from None
            if part.exists() and not part.is_dir():
                raise RegistryError(f"{part} is a file, not a folder: move it away, or point AEZOO_HOME / "
                                    "--home / -o elsewhere") from None
        raise
    return path


def dumps_json(obj: Any, what: str = "value") -> str:
    """Stable JSON text (sorted keys, indented); a value JSON cannot hold (NaN and infinities included: they are
    not JSON) raises RegistryError naming ``what``."""
    try:
        return json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"{what} is not JSON-serializable ({exc}); use str, int, finite float, bool, list, "
                            "dict") from exc


MAX_JSON_DEPTH = 64  # runs, exports and histories nest 4 levels; deeper is a crafted file
MAX_JSON_BYTES = 64 << 20  # a run's or an export's JSON file; a history of 100,000 epochs is ~30 MB


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is too large for a float; JSON numbers here must be finite")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; numbers here must be finite")


def loads_json(text: str) -> Any:
    """``json.loads`` for files aezoo reads back: NaN, Infinity and numbers past a float's range, and nesting
    deeper than MAX_JSON_DEPTH, raise ValueError saying so."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep") from None
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack += [(child, depth + 1) for child in children if isinstance(child, (dict, list))]
    return value


def atomic_write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as stable JSON to ``path`` atomically."""
    atomic_write_bytes(path, dumps_json(obj, str(path)).encode())


def read_json(path: str | Path) -> Any:
    """Parse a JSON file; a missing or unparsable file raises RegistryError naming it."""
    try:
        return loads_json(Path(path).read_text())
    except FileNotFoundError:
        raise RegistryError(f"{path}: file is missing; the run is incomplete (delete it and re-train)") from None
    except (OSError, ValueError) as exc:
        raise RegistryError(f"{path}: cannot parse JSON ({exc}); the file is corrupt") from exc


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_sha256(path: str | Path, expected: str, size: int | None = None) -> None:
    """Raise RegistryError naming ``path`` when it is a link, missing, not ``size`` bytes (when given) or its
    sha256 differs from ``expected``. The size is compared first, so a huge substitute is never hashed."""
    path = Path(path)
    if path.is_symlink():
        raise RegistryError(f"{path}: is a symbolic link; runs and exports hold plain files only")
    if not path.is_file():
        raise RegistryError(f"{path}: file is missing; the run is incomplete (delete it and re-train)")
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        raise RegistryError(f"{path}: {actual_size} bytes but the manifest says {size}; "
                            "the file is corrupt, truncated or was modified: delete the run and re-train")
    actual = sha256_file(path)
    if actual != expected:
        raise RegistryError(
            f"{path}: sha256 mismatch (manifest {expected}, file {actual}); "
            "the file is corrupt, truncated or was modified: delete the run and re-train"
        )


def write_safetensors(path: str | Path, state: Mapping[str, "torch.Tensor"], metadata: Mapping[str, str]) -> None:
    """Save a state dict to ``path`` with str->str header metadata, then fsync it (not atomic: stage first)."""
    import torch
    from safetensors.torch import save_file

    if not isinstance(state, Mapping) or not state:
        raise RegistryError(f"state must be a non-empty dict of name -> torch.Tensor, got {type(state).__name__}")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise RegistryError(f"state entries {bad[:5]!r} are not str -> torch.Tensor; pass model.state_dict()")
    bad_meta = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
    if bad_meta:
        raise RegistryError(f"safetensors metadata must be str -> str; bad keys {bad_meta!r}")
    # clone: safetensors refuses shared (tied) storage; contiguous CPU copies are always accepted
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}
    try:
        save_file(tensors, str(path), metadata=dict(metadata))
    except Exception as exc:  # SafetensorError on a full disk, OSError
        raise RegistryError(f"cannot write {path}: {exc}") from exc
    os.chmod(path, 0o666 & ~umask())
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def read_metadata(path: str | Path) -> dict[str, str]:
    """The str->str header metadata of a safetensors file; unreadable headers raise RegistryError naming it."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"{path}: file is missing")
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as exc:  # safetensors raises its own SafetensorError / OSError
        raise RegistryError(f"{path}: cannot parse safetensors header ({exc}); the file is corrupt") from exc


def read_safetensors(path: str | Path, expected_sha256: str | None = None,
                     size: int | None = None) -> dict[str, "torch.Tensor"]:
    """Load tensors from ``path`` (CPU), checking its size and sha256 first when ``expected_sha256`` is given."""
    from safetensors.torch import load_file

    path = Path(path)
    if expected_sha256 is not None:
        check_sha256(path, expected_sha256, size)
    elif not path.is_file():
        raise RegistryError(f"{path}: file is missing")
    try:
        return load_file(str(path), device="cpu")
    except Exception as exc:  # SafetensorError, OSError, ...
        raise RegistryError(f"{path}: cannot parse safetensors file ({exc}); the file is corrupt") from exc


def verify_state(path: str | Path, state: Mapping[str, Any], expected_shapes: Mapping[str, Any]) -> None:
    """Check that ``state`` has exactly the keys of ``expected_shapes`` with equal shapes.

    ``expected_shapes`` maps key -> shape (tuple / torch.Size) or a tensor (e.g. ``model.state_dict()``).
    A mismatch raises RegistryError naming ``path``, the key(s) and both shapes.
    """
    want = {k: tuple(getattr(v, "shape", v)) for k, v in expected_shapes.items()}
    have = {k: tuple(v.shape) for k, v in state.items()}
    problems = [f"missing key {k!r} (model expects shape {want[k]})" for k in want if k not in have]
    problems += [f"unexpected key {k!r} (shape {have[k]}) that the model does not have" for k in have if k not in want]
    problems += [
        f"key {k!r}: file has shape {have[k]}, model expects {want[k]}"
        for k in want
        if k in have and have[k] != want[k]
    ]
    if problems:
        shown = "; ".join(problems[:10]) + (f"; ... ({len(problems)} problems)" if len(problems) > 10 else "")
        raise RegistryError(
            f"{path}: weights do not fit the model built from the run's config: {shown}. "
            "The run was saved by a different model version or its config was edited."
        )


# torch dtype name -> safetensors header dtype
DTYPES = {"torch.float32": "F32", "torch.float16": "F16", "torch.bfloat16": "BF16", "torch.float64": "F64",
          "torch.int64": "I64", "torch.int32": "I32", "torch.int16": "I16", "torch.int8": "I8",
          "torch.uint8": "U8", "torch.bool": "BOOL"}


def check_header(path: str | Path, expected: Mapping[str, tuple[tuple[int, ...], str]]) -> None:
    """Check a safetensors file's tensor names, shapes and dtypes against ``expected`` (name -> (shape, torch
    dtype name)) from its header alone, before any tensor data is read; RegistryError names what differs."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            have = {k: (tuple(f.get_slice(k).get_shape()), f.get_slice(k).get_dtype()) for k in f.keys()}
    except Exception as exc:  # SafetensorError, OSError
        raise RegistryError(f"{path}: cannot parse safetensors header ({exc}); the file is corrupt") from exc
    want = {k: (tuple(shape), DTYPES.get(dtype, dtype)) for k, (shape, dtype) in expected.items()}
    problems = [f"missing key {k!r} (model expects shape {want[k][0]})" for k in want if k not in have]
    problems += [f"unexpected key {k!r} (shape {have[k][0]})" for k in have if k not in want]
    problems += [f"key {k!r}: file has shape {have[k][0]}, model expects {want[k][0]}"
                 for k in want if k in have and have[k][0] != want[k][0]]
    problems += [f"key {k!r}: file has dtype {have[k][1]}, model expects {want[k][1]}"
                 for k in want if k in have and have[k][0] == want[k][0] and have[k][1] != want[k][1]]
    if problems:
        shown = "; ".join(problems[:10]) + (f"; ... ({len(problems)} problems)" if len(problems) > 10 else "")
        raise RegistryError(f"{path}: weights do not fit the model built from the config: {shown}. "
                            "The weights were saved by a different model version or the config was edited.")


def file_entry(path: Path) -> dict[str, Any]:
    """A manifest entry: the file's sha256 and size."""
    return {"sha256": sha256_file(path), "bytes": path.stat().st_size}


def write_new(path: Path, data: bytes) -> None:
    """Create ``path`` (it must not exist) in a staging dir and fsync it; the dir is renamed into place later."""
    with open(path, "xb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
