"""Data from the user's own files: ``npz:PATH`` (numpy arrays) and ``folder:PATH`` (a folder of images).

Layout rule for 4-d ``x`` in an npz: when the last dimension is 1, 3 or 4 and the second is not, the array
is channels-last (N, H, W, C) and gets transposed; when the second is 1, 3 or 4 and the last is not, it is
channels-first (N, C, H, W); anything else (neither, or both) is ambiguous and refused. A 3-d ``x`` is
(N, H, W), one channel. Labels must lie in 0..MAX_LABEL.

Images in a folder: 8-bit modes as they are; 16-bit grey (PNG, TIFF) scaled to 8 bits; 32-bit integer and
float images are refused (their range is unknown), as are images past PIL's decompression-bomb limit.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from aezoo.data.limits import declared_bytes
from aezoo.data.raw import RawData
from aezoo.errors import DatasetError

CHANNEL_COUNTS = (1, 3, 4)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif", ".tiff", ".webp")
GREY_MODES = ("1", "L", "LA")
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
MAX_LABEL = 100_000  # labels are class indices 0..K-1; a larger one is a mistake, not a class
NPZ_EXPECTED = ("expected an .npz with 'x': uint8 images (N,H,W), (N,H,W,C) or (N,C,H,W), or floats in [0, 1]; "
                "optional 'y' (N,) integer labels, 'x_test'/'y_test' for a test split")


# ---- npz -------------------------------------------------------------------------------------------------


def to_nchw(x: np.ndarray, where: str) -> np.ndarray:
    """(N,H,W) / (N,H,W,C) / (N,C,H,W) -> (N,C,H,W), by the rule in the module docstring."""
    if x.ndim == 3:
        return x[:, None]
    if x.ndim == 4:
        last, second = x.shape[3] in CHANNEL_COUNTS, x.shape[1] in CHANNEL_COUNTS
        if last != second:
            return x.transpose(0, 3, 1, 2) if last else x
        raise DatasetError(f"{where} has shape {x.shape}: cannot tell which axis holds the channels (1, 3 or 4 "
                           "channels, on axis 1 or axis 3 but not both); save it as (N, C, H, W) or (N, H, W, C) "
                           "with C in 1, 3, 4, or one channel as (N, H, W)")
    raise DatasetError(f"{where} has shape {x.shape}; {NPZ_EXPECTED}")


def to_uint8(x: np.ndarray, where: str) -> np.ndarray:
    """uint8 as is; bool -> 0/255; floats in [0, 1] -> round(x * 255); other integers must lie in 0..255."""
    if x.dtype == np.uint8:
        return x
    if x.dtype == np.bool_:
        return x.astype(np.uint8) * 255
    if x.size == 0:
        return x.astype(np.uint8)
    if np.issubdtype(x.dtype, np.floating):
        lo, hi = float(np.min(x)), float(np.max(x))
        if not (np.isfinite(lo) and np.isfinite(hi) and lo >= 0.0 and hi <= 1.0):
            raise DatasetError(f"{where} holds floats in [{lo:g}, {hi:g}]; float images must lie in [0, 1] "
                               "(divide 0..255 data by 255, or store it as uint8)")
        return np.rint(x * 255.0).astype(np.uint8)
    if np.issubdtype(x.dtype, np.integer):
        lo, hi = int(np.min(x)), int(np.max(x))
        if lo < 0 or hi > 255:
            raise DatasetError(f"{where} holds integers in [{lo}, {hi}]; integer images must lie in 0..255")
        return x.astype(np.uint8)
    raise DatasetError(f"{where} has dtype {x.dtype}; {NPZ_EXPECTED}")


def to_labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    """Integer labels (N,) >= 0 as int64."""
    if y.ndim != 1 or len(y) != n:
        raise DatasetError(f"{where} has shape {y.shape}; expected ({n},), one label per image")
    if np.issubdtype(y.dtype, np.floating) and np.all(np.mod(y, 1) == 0):
        y = y.astype(np.int64)
    if not np.issubdtype(y.dtype, np.integer):
        raise DatasetError(f"{where} has dtype {y.dtype}; labels must be integers 0..K-1")
    if n and int(y.min()) < 0:
        raise DatasetError(f"{where} holds negative labels; labels must be integers 0..K-1")
    if n and int(y.max()) > MAX_LABEL:
        raise DatasetError(f"{where} holds label {int(y.max())}; labels are class indices 0..K-1 with K at most "
                           f"{MAX_LABEL + 1:,}: map your labels to 0..K-1 first")
    return y.astype(np.int64)


def _images(arrays: dict[str, np.ndarray], key: str, file: Path) -> np.ndarray:
    x = to_uint8(to_nchw(arrays[key], f"{file} '{key}'"), f"{file} '{key}'")
    if len(x) == 0:
        raise DatasetError(f"{file} '{key}' holds no images; {NPZ_EXPECTED}")
    return np.ascontiguousarray(x)


NPY_HEADERS = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}


def check_npz_headers(file: Path) -> None:
    """Read only the header of each array in an .npz and refuse, before any array is read: a file that is no
    zip of .npy arrays, an array of Python objects (pickled: never unpickled), and arrays that together declare
    more than ``aezoo.data.limits.max_data_bytes()``."""
    if not zipfile.is_zipfile(file):
        with open(file, "rb") as f:
            npy = f.read(6) == b"\x93NUMPY"
        raise DatasetError(f"cannot read {file} as .npz: it is " + (
            "a single .npy array; save it with np.savez(PATH, x=images)" if npy else
            "not an .npz file (a zip of .npy arrays, as np.savez writes)") + f"; {NPZ_EXPECTED}")
    declared = 0
    with zipfile.ZipFile(file) as archive:
        for member in archive.infolist():
            if not member.filename.endswith(".npy"):
                continue
            where = f"{file} '{member.filename[:-4]}'"
            with archive.open(member) as f:
                version = np.lib.format.read_magic(f)
                if version not in NPY_HEADERS:
                    raise DatasetError(f"{where}: .npy format version {version} is not one aezoo reads (1.0, 2.0)")
                shape, _, dtype = NPY_HEADERS[version](f)
            if dtype.hasobject:
                raise DatasetError(f"{where} holds Python objects (dtype {dtype}), stored pickled; aezoo never "
                                   "unpickles data files (it could run code): save plain numeric arrays, e.g. "
                                   "np.savez(PATH, x=np.asarray(images, dtype=np.uint8))")
            declared += declared_bytes(where, tuple(shape), dtype.itemsize, declared)


def load_npz(path: str | None, data_dir: Path | None = None, download: bool = False) -> RawData:
    """Images from an .npz file: ``x`` and optional ``y``, ``x_test``, ``y_test``, ``classes``."""
    if not path:
        raise DatasetError("npz needs a file: use 'npz:PATH'")
    file = Path(path).expanduser()
    if not file.is_file():
        raise DatasetError(f"no such file: {file}" + (" (it is a directory; use 'folder:PATH' for images)"
                                                      if file.is_dir() else ""))
    try:
        check_npz_headers(file)
        with np.load(file, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"cannot read {file} as .npz ({exc}); {NPZ_EXPECTED}") from exc
    if "x" not in arrays:
        raise DatasetError(f"{file} has no array 'x' (it has: {', '.join(sorted(arrays)) or 'none'}); "
                           f"{NPZ_EXPECTED}")
    if "y_test" in arrays and "x_test" not in arrays:
        raise DatasetError(f"{file} has 'y_test' but no 'x_test'; {NPZ_EXPECTED}")
    x = _images(arrays, "x", file)
    y = to_labels(arrays["y"], len(x), f"{file} 'y'") if "y" in arrays else None
    x_test = y_test = None
    if "x_test" in arrays:
        x_test = _images(arrays, "x_test", file)
        if x_test.shape[1:] != x.shape[1:]:
            raise DatasetError(f"{file}: 'x_test' images are {x_test.shape[1:]} (C,H,W) but 'x' images are "
                               f"{x.shape[1:]}; both must have the same size and channels")
        if "y_test" in arrays:
            y_test = to_labels(arrays["y_test"], len(x_test), f"{file} 'y_test'")
    return RawData(x, y, x_test, y_test, _classes(arrays, y, y_test))


def _classes(arrays: dict[str, np.ndarray], *labels: np.ndarray | None) -> list[str] | None:
    if "classes" in arrays:
        return [str(c) for c in arrays["classes"].tolist()]
    present = [y for y in labels if y is not None and len(y)]
    if not present:
        return None
    return [str(i) for i in range(max(int(y.max()) for y in present) + 1)]


# ---- folder of images ------------------------------------------------------------------------------------


def _image_files(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in found if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _labelled_files(folder: Path) -> tuple[list[Path], list[int] | None, list[str] | None]:
    """Like torchvision's ImageFolder: each subfolder is a class; with no subfolders, the images are unlabelled."""
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = _image_files(folder, recursive=False)
    if not subdirs:
        return loose, None, None
    if loose:
        raise DatasetError(f"{folder} has class subfolders ({', '.join(d.name for d in subdirs[:5])}) and also "
                           f"images directly inside it (e.g. {loose[0].name}); move each image into its class "
                           "subfolder, or keep all images directly in the folder for unlabelled data")
    files: list[Path] = []
    labels: list[int] = []
    for label, sub in enumerate(subdirs):
        inside = _image_files(sub, recursive=True)
        if not inside:
            raise DatasetError(f"class folder {sub} has no images ({', '.join(IMAGE_EXTENSIONS)}); "
                               "remove it or add its images")
        files += inside
        labels += [label] * len(inside)
    return files, labels, [d.name for d in subdirs]


def _pixels(img, file: Path) -> np.ndarray:
    """One image as uint8: (H, W) when grey, else (H, W, 3); 16-bit grey scaled to 8 bits."""
    if img.mode in SIXTEEN_BIT_MODES:
        return (np.asarray(img, dtype=np.uint16) >> 8).astype(np.uint8)
    if img.mode in ("I", "F") or img.mode.startswith(("I;", "F;")):
        raise DatasetError(f"image {file} is {'floating-point' if img.mode.startswith('F') else '32-bit integer'} "
                           f"(mode {img.mode}); its range is unknown, so it cannot be read without guessing: "
                           "save it as an 8-bit or 16-bit image")
    if img.mode in GREY_MODES:
        return np.asarray(img.convert("L"), dtype=np.uint8)
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def load_folder(path: str | None, data_dir: Path | None = None, download: bool = False) -> RawData:
    """All images of a folder (class subfolders give labels), same size required; grey if all are grey, else RGB."""
    from PIL import Image, UnidentifiedImageError

    if not path:
        raise DatasetError("folder needs a directory: use 'folder:PATH'")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"no such folder: {folder}" + (" (it is a file; use 'npz:PATH' for .npz arrays)"
                                                          if folder.is_file() else ""))
    files, labels, classes = _labelled_files(folder)
    if not files:
        raise DatasetError(f"no images in {folder}; expected files ending in {', '.join(IMAGE_EXTENSIONS)}, "
                           "directly inside it or in one subfolder per class")
    arrays = []
    size = None
    for file in files:
        try:
            with Image.open(file) as img:
                arrays.append(_pixels(img, file))
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
            raise DatasetError(f"cannot read image {file}: {exc}") from exc
        size = size or (arrays[0].shape[:2], files[0])
        if arrays[-1].shape[:2] != size[0]:
            (h, w), (h0, w0) = arrays[-1].shape[:2], size[0]
            raise DatasetError(f"image {file} is {w}x{h} but {size[1]} is {w0}x{h0}; all images must have "
                               "the same size (resize them first)")
    grey = all(a.ndim == 2 for a in arrays)
    arrays = [a if grey or a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2) for a in arrays]
    x = np.stack(arrays)
    x = x[:, None] if grey else x.transpose(0, 3, 1, 2)
    y = None if labels is None else np.asarray(labels, dtype=np.int64)
    return RawData(np.ascontiguousarray(x), y, classes=classes)
