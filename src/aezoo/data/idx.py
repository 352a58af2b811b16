"""A small numpy reader for IDX files (the MNIST family's format), plain or gzip-compressed.

The header (magic number, dimensions) is read first and the size it declares is held to
``aezoo.data.limits.max_data_bytes()``; then exactly that many bytes are read (or decompressed: a gzip bomb
stops there), so memory never exceeds what the header declared."""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from aezoo.data.limits import declared_bytes
from aezoo.errors import DatasetError

# IDX type byte -> big-endian numpy dtype
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file (``.gz`` is decompressed); raises DatasetError if it is not valid IDX."""
    path = Path(path)
    try:
        compressed = path.suffix == ".gz"
        with (gzip.open if compressed else open)(path, "rb") as f:
            return _read(f, path, None if compressed else path.stat().st_size)
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"cannot read IDX file {path}: {exc}") from exc


def _read(f, path: Path, size: int | None) -> np.ndarray:
    """The array of an open IDX stream; ``size`` is the file's size in bytes when it is not compressed."""
    magic = f.read(4)
    if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_DTYPES:
        raise DatasetError(f"{path} is not an IDX file (bad magic number {magic.hex() or 'empty'})")
    dtype, ndim = np.dtype(IDX_DTYPES[magic[2]]), magic[3]
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DatasetError(f"IDX file {path} is truncated: the header alone needs {4 + 4 * ndim} bytes")
    shape = tuple(int(d) for d in np.frombuffer(dims, dtype=">u4")) if ndim else ()
    expected = declared_bytes(f"IDX file {path}", shape, dtype.itemsize)
    if size is not None and size != 4 + len(dims) + expected:
        raise DatasetError(f"IDX file {path} is truncated or corrupt: header says shape {shape} "
                           f"({4 + len(dims) + expected:,} bytes), the file has {size:,} bytes; delete it and "
                           "fetch it again")
    data = f.read(expected)
    extra = len(f.read(1))
    if len(data) != expected or extra:
        have = "more" if extra else f"{len(data):,} bytes"
        raise DatasetError(f"IDX file {path} is truncated or corrupt: header says shape {shape} "
                           f"({expected:,} bytes of data), the file holds {have}; delete it and fetch it again")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))
