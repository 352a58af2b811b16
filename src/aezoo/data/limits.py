"""How much memory a data file may ask for: checked against what its header declares, before reading."""
from __future__ import annotations

import math
import os

from aezoo.errors import DatasetError

MAX_DATA_BYTES = 2 << 30  # 2 GiB: Fashion-MNIST is 47 MB, EMNIST 0.6 GB; AEZOO_MAX_DATA_BYTES overrides it
ENV_MAX_DATA_BYTES = "AEZOO_MAX_DATA_BYTES"
MAX_ELEMENTS = 2**63 - 1  # no array holds more elements (int64 sizes)


def max_data_bytes() -> int:
    """The limit on what one data file may declare: ``$AEZOO_MAX_DATA_BYTES``, else MAX_DATA_BYTES."""
    text = os.environ.get(ENV_MAX_DATA_BYTES, "")
    return int(text) if text.strip().isdigit() else MAX_DATA_BYTES


def declared_bytes(where: str, shape: tuple[int, ...], itemsize: int, already: int = 0) -> int:
    """The bytes an array of ``shape`` declares (computed exactly, in Python integers); DatasetError when its
    elements overflow int64 or, with ``already`` bytes declared by the same file, it is over max_data_bytes()."""
    elements = math.prod(shape)
    if elements > MAX_ELEMENTS:
        raise DatasetError(f"{where}: its header declares shape {shape}, {elements:.3g} elements, more than any "
                           "array can hold (2^63); the file is corrupt or crafted")
    size, limit = elements * itemsize, max_data_bytes()
    if already + size > limit:
        raise DatasetError(f"{where}: its header declares shape {shape} ({already + size:,} bytes), over the limit "
                           f"of {limit:,} bytes for one data file; the file is corrupt or crafted, or, if it is "
                           f"genuine, raise the limit with {ENV_MAX_DATA_BYTES}=BYTES")
    return size
