"""MNIST, Fashion-MNIST, KMNIST and CIFAR-10: local files first (torchvision's root layout, plain or .gz IDX
files, Debian's dataset-fashion-mnist), torchvision downloads only when asked to."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aezoo.data.idx import read_idx
from aezoo.data.raw import RawData
from aezoo.errors import DatasetError

DATA_DIR_ENV = "AEZOO_DATA_DIR"
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IDX_PARTS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def default_data_dir() -> Path:
    """Where datasets live when no data_dir is given: ``$AEZOO_DATA_DIR``, else ``~/.cache/aezoo/datasets``."""
    return Path(os.environ.get(DATA_DIR_ENV) or Path.home() / ".cache" / "aezoo" / "datasets").expanduser()


@dataclass(frozen=True)
class IdxSource:
    """One MNIST-family dataset: its torchvision class, where its IDX files may be, its class names."""

    name: str
    torchvision_class: str
    classes: tuple[str, ...]
    system_dirs: tuple[Path, ...] = ()
    install_hint: str = ""

    def search_dirs(self, root: Path) -> list[Path]:
        return [root, root / self.torchvision_class / "raw", *self.system_dirs]


MNIST = IdxSource("mnist", "MNIST", tuple(f"{i} - {w}" for i, w in enumerate(
    ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])))
FASHION_MNIST = IdxSource(
    "fashion-mnist", "FashionMNIST",
    ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    system_dirs=(DEBIAN_FASHION_MNIST,), install_hint="sudo apt-get install dataset-fashion-mnist",
)
KMNIST = IdxSource("kmnist", "KMNIST", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"))


def _find_idx(part: str, dirs: list[Path]) -> Path | None:
    for d in dirs:
        for candidate in (d / part, d / f"{part}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _find_all_idx(dirs: list[Path]) -> dict[str, Path] | None:
    """The four IDX files, all from the first directory that has every one of them."""
    for d in dirs:
        found = {part: _find_idx(part, [d]) for part in IDX_PARTS}
        if all(found.values()):
            return found  # type: ignore[return-value]
    return None


def _read_idx_set(name: str, files: dict[str, Path]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    out = []
    for prefix in ("train", "t10k"):
        images = read_idx(files[f"{prefix}-images-idx3-ubyte"])
        labels = read_idx(files[f"{prefix}-labels-idx1-ubyte"])
        if images.ndim != 3 or images.dtype != np.uint8 or labels.ndim != 1 or len(labels) != len(images):
            raise DatasetError(f"{name}: {files[f'{prefix}-images-idx3-ubyte']} ({images.dtype} {images.shape}) and "
                               f"{files[f'{prefix}-labels-idx1-ubyte']} ({labels.dtype} {labels.shape}) do not "
                               "form an image set: expected uint8 (N, H, W) images and N labels")
        out += [images[:, None], labels.astype(np.int64)]
    return out[0], out[1], out[2], out[3]


def _not_found(name: str, parts: list[str], dirs: list[Path], hint: str = "") -> DatasetError:
    ways = ["pass --download (download=True) to let torchvision fetch it",
            "or --data-dir DIR (data_dir=DIR) where DIR holds the files"]
    if hint:
        ways.append(f"or install it: {hint}")
    return DatasetError(
        f"dataset {name!r} not found offline. Expected files: {', '.join(parts)}. "
        f"Searched: {', '.join(str(d) for d in dirs)}. To get it: {'; '.join(ways)}."
    )


def _download_failed(name: str, root: Path, exc: BaseException) -> DatasetError:
    return DatasetError(
        f"could not download {name!r} into {root} ({type(exc).__name__}: {' '.join(str(exc).split())[:400]}). "
        "Check the network connection, or fetch the files on another machine and pass --data-dir DIR."
    )


def _torchvision_download(source_name: str, class_name: str, root: Path) -> tuple[object, object]:
    """Train and test datasets of ``torchvision.datasets.<class_name>`` downloaded into ``root``."""
    import torchvision.datasets as tvd

    cls = getattr(tvd, class_name)
    try:
        root.mkdir(parents=True, exist_ok=True)
        return cls(str(root), train=True, download=True), cls(str(root), train=False, download=True)
    except (OSError, RuntimeError, ValueError) as exc:  # URLError is an OSError; torchvision wraps some in RuntimeError
        raise _download_failed(source_name, root, exc) from exc


def load_idx_source(source: IdxSource, data_dir: Path | None, download: bool) -> RawData:
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    dirs = source.search_dirs(root)
    files = _find_all_idx(dirs)
    if files is not None:
        train_x, train_y, test_x, test_y = _read_idx_set(source.name, files)
        return RawData(train_x, train_y, test_x, test_y, list(source.classes))
    if not download:
        raise _not_found(source.name, [f"{p}[.gz]" for p in IDX_PARTS], dirs, source.install_hint)
    train, test = _torchvision_download(source.name, source.torchvision_class, root)
    return RawData(train.data.numpy()[:, None], train.targets.numpy().astype(np.int64),  # type: ignore[attr-defined]
                   test.data.numpy()[:, None], test.targets.numpy().astype(np.int64),  # type: ignore[attr-defined]
                   list(getattr(train, "classes", source.classes)))


def load_mnist(path: str | None = None, data_dir: Path | None = None, download: bool = False) -> RawData:
    return load_idx_source(MNIST, data_dir, download)


def load_fashion_mnist(path: str | None = None, data_dir: Path | None = None, download: bool = False) -> RawData:
    return load_idx_source(FASHION_MNIST, data_dir, download)


def load_kmnist(path: str | None = None, data_dir: Path | None = None, download: bool = False) -> RawData:
    return load_idx_source(KMNIST, data_dir, download)


CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch",
                 "batches.meta")


def load_cifar10(path: str | None = None, data_dir: Path | None = None, download: bool = False) -> RawData:
    """CIFAR-10 through torchvision (root/cifar-10-batches-py/...); 3x32x32 uint8 images."""
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder = root / CIFAR10_FOLDER
    missing = [f for f in CIFAR10_FILES if not (folder / f).is_file()]
    if missing and not download:
        raise _not_found("cifar10", [f"{CIFAR10_FOLDER}/{f}" for f in CIFAR10_FILES], [root])
    if missing:
        train, test = _torchvision_download("cifar10", "CIFAR10", root)
    else:
        import torchvision.datasets as tvd

        try:
            train, test = tvd.CIFAR10(str(root), train=True), tvd.CIFAR10(str(root), train=False)
        except (OSError, RuntimeError, ValueError) as exc:
            raise DatasetError(f"the CIFAR-10 files in {folder} are corrupt or incomplete ({exc}); "
                               "delete the folder and pass --download to fetch them again") from exc
    to_nchw = lambda d: np.ascontiguousarray(np.asarray(d.data, dtype=np.uint8).transpose(0, 3, 1, 2))  # noqa: E731
    return RawData(to_nchw(train), np.asarray(train.targets, dtype=np.int64),
                   to_nchw(test), np.asarray(test.targets, dtype=np.int64), list(train.classes))
