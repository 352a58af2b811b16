"""Data sources: digits, npz, folder, IDX files, offline errors, batching, and a torch-free catalog."""
from __future__ import annotations

import gzip
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from aezoo.api.catalog import list_datasets, load_dataset
from aezoo.data import RawData, Split, make_splits
from aezoo.data.idx import read_idx
from aezoo.data.torchvision_sources import CIFAR10_FILES, CIFAR10_FOLDER, FASHION_MNIST, IDX_PARTS
from aezoo.errors import DatasetError, UnknownDatasetError

BUILTIN_SOURCES = ["cifar10", "digits", "fashion-mnist", "folder", "kmnist", "mnist", "npz"]


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection fails the test (and looks like an offline machine to the code)."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def all_indices(splits) -> list[int]:
    return [int(v) for s in (splits.train, splits.val, splits.test) for v in s.images.flatten(1)[:, 0]]


# ---- registry / refs -------------------------------------------------------------------------------------


def test_builtin_sources_are_listed():
    assert set(BUILTIN_SOURCES) <= set(list_datasets())


def test_unknown_dataset_suggests_close_match():
    with pytest.raises(UnknownDatasetError, match="did you mean 'mnist'"):
        load_dataset("mnsit")


def test_path_sources_need_a_path_and_plain_sources_refuse_one(tmp_path):
    with pytest.raises(DatasetError, match="npz:PATH"):
        load_dataset("npz")
    with pytest.raises(DatasetError, match="takes no path"):
        load_dataset(f"digits:{tmp_path}")


def test_catalog_imports_no_heavy_modules():
    code = ("import sys, aezoo.plugins.manager as m; c = m.catalog(); assert 'digits' in c.datasets; "
            "heavy = [n for n in ('torch', 'torchvision', 'sklearn', 'numpy') if n in sys.modules]; "
            "assert not heavy, heavy")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ---- digits ------------------------------------------------------------------------------------------------


def test_digits_shapes_labels_and_disjoint_splits():
    splits = load_dataset("digits")
    assert splits.name == "digits"
    assert splits.input_shape == (1, 8, 8)
    assert splits.train.images.dtype == torch.uint8 and int(splits.train.images.max()) == 255
    assert splits.classes == [str(i) for i in range(10)]
    assert len(splits.train) + len(splits.val) + len(splits.test) == 1797
    assert len(splits.test) == round(0.2 * 1797)
    labels = torch.cat([splits.train.labels, splits.val.labels, splits.test.labels])
    assert labels.dtype == torch.int64 and set(labels.tolist()) == set(range(10))
    # disjoint: no image row appears in two splits (digits has few exact duplicates, so compare as sets per split)
    rows = [{tuple(r.tolist()) for r in s.images.flatten(1)} for s in (splits.train, splits.val, splits.test)]
    total = sum(len(r) for r in rows)
    assert len(rows[0] | rows[1] | rows[2]) == total


def test_digits_pixels_scaled_from_sklearn():
    from sklearn.datasets import load_digits as sklearn_digits

    from aezoo.data.sources import load_digits

    raw = load_digits()
    expected = np.rint(sklearn_digits().images * 255 / 16).astype(np.uint8)
    np.testing.assert_array_equal(raw.train_images[:, 0], expected)
    assert raw.test_images is None


def test_digits_splits_are_deterministic():
    a, b = load_dataset("digits"), load_dataset("digits")
    for sa, sb in ((a.train, b.train), (a.val, b.val), (a.test, b.test)):
        assert torch.equal(sa.images, sb.images) and torch.equal(sa.labels, sb.labels)


# ---- npz -----------------------------------------------------------------------------------------------------


def save_npz(path: Path, **arrays) -> str:
    np.savez(path, **arrays)
    return str(path)


def indexed_images(n: int, shape: tuple[int, ...]) -> np.ndarray:
    """uint8 images whose every pixel equals the image's index, so splits can be traced back."""
    return np.broadcast_to(np.arange(n, dtype=np.uint8).reshape(n, *[1] * len(shape)), (n, *shape)).copy()


@pytest.mark.parametrize("shape, expected", [
    ((6, 5), (1, 6, 5)),  # (N, H, W)
    ((6, 5, 3), (3, 6, 5)),  # (N, H, W, C)
    ((3, 6, 5), (3, 6, 5)),  # (N, C, H, W)
    ((1, 6, 5), (1, 6, 5)),
    ((6, 5, 1), (1, 6, 5)),
])
def test_npz_layouts(tmp_path, shape, expected):
    x = indexed_images(20, shape)
    splits = load_dataset("npz:" + save_npz(tmp_path / "d.npz", x=x))
    assert splits.input_shape == expected
    assert not splits.has_labels
    assert sorted(all_indices(splits)) == list(range(20))


def test_npz_channels_last_pixels_are_transposed(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, size=(10, 6, 5, 3), dtype=np.uint8)
    from aezoo.data.files import load_npz

    raw = load_npz(save_npz(tmp_path / "d.npz", x=x))
    np.testing.assert_array_equal(raw.train_images, x.transpose(0, 3, 1, 2))


def test_npz_float_labels_and_own_test_split(tmp_path):
    x = np.linspace(0, 1, 12 * 4 * 4).reshape(12, 4, 4).astype(np.float32)
    y = np.arange(12) % 3
    x_test, y_test = np.full((5, 4, 4), 0.5), np.array([2, 1, 0, 1, 2])
    file = tmp_path / "f.npz"
    splits = load_dataset("npz:" + save_npz(file, x=x, y=y, x_test=x_test, y_test=y_test))
    assert splits.name == f"npz:{file.resolve()}"
    assert len(splits.test) == 5 and splits.test.labels.tolist() == [2, 1, 0, 1, 2]
    assert torch.all(splits.test.images == 128)  # round(0.5 * 255)
    assert len(splits.train) + len(splits.val) == 12
    assert splits.classes == ["0", "1", "2"]
    got = torch.cat([splits.train.images, splits.val.images]).float()
    assert got.min() == 0 and got.max() == 255
    # labels travel with their images: image k has label k % 3 and pixels derived from k
    for split in (splits.train, splits.val):
        for img, label in zip(split.images, split.labels):
            k = int(np.argmin(np.abs(np.rint(x * 255)[:, 0, 0] - int(img[0, 0, 0]))))
            assert int(label) == k % 3


def test_npz_relative_path_is_made_absolute(tmp_path, monkeypatch):
    save_npz(tmp_path / "rel.npz", x=indexed_images(10, (3, 3)))
    monkeypatch.chdir(tmp_path)
    assert load_dataset("npz:rel.npz").name == f"npz:{tmp_path / 'rel.npz'}"


@pytest.mark.parametrize("arrays, message", [
    ({"images": np.zeros((4, 3, 3), np.uint8)}, "no array 'x'"),
    ({"x": np.zeros((4, 3), np.uint8)}, r"shape \(4, 3\)"),
    ({"x": np.full((4, 3, 3), 2.0)}, r"\[0, 1\]"),
    ({"x": np.full((4, 3, 3), 300)}, "0..255"),
    ({"x": np.zeros((4, 3, 3), np.uint8), "y": np.zeros(3, int)}, r"expected \(4,\)"),
    ({"x": np.zeros((4, 3, 3), np.uint8), "x_test": np.zeros((2, 5, 5), np.uint8)}, "same size"),
])
def test_bad_npz_errors(tmp_path, arrays, message):
    file = save_npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DatasetError, match=message) as err:
        load_dataset("npz:" + file)
    assert "bad.npz" in str(err.value)


def test_npz_missing_or_not_npz(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_dataset(f"npz:{tmp_path / 'nope.npz'}")
    junk = tmp_path / "junk.npz"
    junk.write_text("not a zip")
    with pytest.raises(DatasetError, match="cannot read .*junk.npz"):
        load_dataset(f"npz:{junk}")


# ---- folder ------------------------------------------------------------------------------------------------


def save_image(path: Path, value: int, size=(6, 4), mode="L") -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    colour = value if mode == "L" else (value, 255 - value, 7)
    Image.new(mode, size, colour).save(path)


def test_folder_with_class_subfolders_has_labels(tmp_path):
    for i in range(4):
        save_image(tmp_path / "cat" / f"{i}.png", 10 + i)
        save_image(tmp_path / "dog" / f"{i}.png", 100 + i)
    splits = load_dataset(f"folder:{tmp_path}")
    assert splits.input_shape == (1, 4, 6)  # PIL size is (W, H)
    assert splits.classes == ["cat", "dog"]
    for split in (splits.train, splits.val, splits.test):
        for img, label in zip(split.images, split.labels):
            assert int(label) == (0 if int(img[0, 0, 0]) < 100 else 1)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 8


def test_flat_folder_has_no_labels_and_rgb_wins(tmp_path):
    for i in range(5):
        save_image(tmp_path / f"{i}.png", 20 * i, mode="L")
    save_image(tmp_path / "colour.jpg", 50, mode="RGB")
    splits = load_dataset(f"folder:{tmp_path}")
    assert not splits.has_labels and splits.classes is None
    assert splits.input_shape == (3, 4, 6)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 6


def test_folder_mismatched_sizes_names_the_file(tmp_path):
    save_image(tmp_path / "a.png", 1, size=(6, 4))
    save_image(tmp_path / "b.png", 1, size=(6, 4))
    save_image(tmp_path / "c.png", 1, size=(8, 8))
    with pytest.raises(DatasetError, match=r"c\.png is 8x8 but .*a\.png is 6x4"):
        load_dataset(f"folder:{tmp_path}")


def test_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset(f"folder:{tmp_path / 'missing'}")
    with pytest.raises(DatasetError, match="no images in"):
        load_dataset(f"folder:{tmp_path}")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    with pytest.raises(DatasetError, match="cannot read image .*broken.png"):
        load_dataset(f"folder:{tmp_path}")


# ---- IDX / torchvision-family ----------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def write_idx_set(folder: Path, gz: bool, n_train=30, n_test=7, seed=0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for part, array in arrays.items():
        write_idx(folder / (part + (".gz" if gz else "")), array)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, gz):
    array = np.random.default_rng(1).integers(0, 256, (3, 5, 4), dtype=np.uint8)
    file = tmp_path / ("a.idx.gz" if gz else "a.idx")
    write_idx(file, array)
    got = read_idx(file)
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, array)


def test_read_idx_rejects_truncated_and_foreign_files(tmp_path):
    file = tmp_path / "t.idx"
    write_idx(file, np.zeros((4, 3, 3), np.uint8))
    file.write_bytes(file.read_bytes()[:-5])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(file)
    file.write_bytes(b"PK\x03\x04 whatever")
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(file)


@pytest.mark.parametrize("gz, layout", [(True, "flat"), (False, "flat"), (False, "torchvision"), (True, "torchvision")])
def test_fashion_mnist_from_idx_files_in_data_dir(tmp_path, no_network, gz, layout):
    folder = tmp_path if layout == "flat" else tmp_path / "FashionMNIST" / "raw"
    arrays = write_idx_set(folder, gz=gz)
    from aezoo.data.torchvision_sources import load_fashion_mnist

    raw = load_fashion_mnist(data_dir=tmp_path)
    np.testing.assert_array_equal(raw.train_images[:, 0], arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(raw.train_labels, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(raw.test_images[:, 0], arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(raw.test_labels, arrays["t10k-labels-idx1-ubyte"])
    assert raw.train_labels.dtype == np.int64 and raw.classes[0] == "T-shirt/top"

    splits = load_dataset("fashion-mnist", data_dir=tmp_path)
    assert splits.input_shape == (1, 28, 28) and len(splits.test) == 7
    assert len(splits.train) + len(splits.val) == 30
    assert torch.equal(splits.test.images[:, 0], torch.from_numpy(arrays["t10k-images-idx3-ubyte"]))
    assert not no_network


def test_fashion_mnist_search_includes_debian_dir(tmp_path):
    assert Path("/usr/share/datasets/fashion-mnist") in FASHION_MNIST.search_dirs(tmp_path)


def test_class_names_match_torchvision():
    import torchvision.datasets as tvd

    from aezoo.data.torchvision_sources import KMNIST, MNIST

    for source in (MNIST, FASHION_MNIST, KMNIST):
        assert list(source.classes) == getattr(tvd, source.torchvision_class).classes


@pytest.mark.parametrize("name", ["mnist", "kmnist"])
def test_offline_error_names_files_and_remedies(tmp_path, no_network, name):
    with pytest.raises(DatasetError) as err:
        load_dataset(name, data_dir=tmp_path, download=False)
    message = str(err.value)
    for part in IDX_PARTS:
        assert part in message
    assert str(tmp_path) in message and "--download" in message and "--data-dir" in message
    assert not no_network


def test_offline_error_for_cifar10(tmp_path, no_network):
    with pytest.raises(DatasetError) as err:
        load_dataset("cifar10", data_dir=tmp_path)
    assert "data_batch_1" in str(err.value) and "--download" in str(err.value) and str(tmp_path) in str(err.value)
    assert not no_network


def test_failed_download_is_a_dataset_error(tmp_path, no_network):
    with pytest.raises(DatasetError, match="could not download 'mnist'"):
        load_dataset("mnist", data_dir=tmp_path, download=True)
    assert no_network  # it did try, and the failure was turned into a DatasetError


def test_cifar10_arrays_are_converted_to_nchw(tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    folder = tmp_path / CIFAR10_FOLDER
    folder.mkdir()
    for f in CIFAR10_FILES:
        (folder / f).write_bytes(b"")
    rng = np.random.default_rng(2)

    class FakeCIFAR10:
        classes = ["airplane", "automobile"]

        def __init__(self, root, train=True, download=False):
            assert root == str(tmp_path) and not download
            n = 6 if train else 3
            self.data = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
            self.targets = [i % 2 for i in range(n)]

    monkeypatch.setattr(tvd, "CIFAR10", FakeCIFAR10)
    from aezoo.data.torchvision_sources import load_cifar10

    raw = load_cifar10(data_dir=tmp_path)
    assert raw.train_images.shape == (6, 3, 32, 32) and raw.test_images.shape == (3, 3, 32, 32)
    assert raw.train_labels.dtype == np.int64 and raw.classes == ["airplane", "automobile"]


# ---- batches -----------------------------------------------------------------------------------------------


def small_split(n=10) -> Split:
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 2, 2).contiguous() * 25
    return Split(images, torch.arange(n))


def test_batches_are_floats_in_unit_range_with_labels():
    batches = list(small_split().batches(4))
    assert [tuple(x.shape) for x, _ in batches] == [(4, 1, 2, 2), (4, 1, 2, 2), (2, 1, 2, 2)]
    x, y = batches[0]
    assert x.dtype == torch.float32 and float(x.min()) == 0.0 and float(batches[-1][0].max()) == pytest.approx(225 / 255)
    assert y.tolist() == [0, 1, 2, 3]


def test_shuffled_batches_reproducible_and_start_skips():
    split = small_split()
    run = lambda: [y.tolist() for _, y in split.batches(3, shuffle=True, generator=torch.Generator().manual_seed(5))]  # noqa: E731
    first, second = run(), run()
    assert first == second and sorted(sum(first, [])) == list(range(10)) and sum(first, []) != list(range(10))
    resumed = [y.tolist() for _, y in split.batches(3, shuffle=True, generator=torch.Generator().manual_seed(5), start=2)]
    assert resumed == first[2:]
    for x, y in split.batches(3, shuffle=True, generator=torch.Generator().manual_seed(5)):
        assert torch.allclose(x[:, 0, 0, 0], y.float() * 25 / 255)  # images stay with their labels


def test_make_splits_without_labels_is_seeded_and_disjoint():
    raw = RawData(indexed_images(50, (1, 2, 2)))
    a, b = make_splits("t", raw), make_splits("t", raw)
    assert all_indices(a) == all_indices(b)
    assert sorted(all_indices(a)) == list(range(50))
    assert (len(a.train), len(a.val), len(a.test)) == (36, 4, 10)


@pytest.mark.parametrize("own_test_split", [False, True])
def test_every_label_stays_with_its_image_through_the_splits(own_test_split):
    """Each image encodes its own index in its pixels, its label is a function of that index: after splitting,
    every split's labels must still be the labels of its images."""
    n = 600
    index = np.arange(n)
    images = np.zeros((n, 1, 2, 2), np.uint8)
    images[:, 0, 0, 0], images[:, 0, 0, 1] = index % 256, index // 256
    labels = (index * 7 + index // 13) % 10
    test = (images[:50], labels[:50]) if own_test_split else (None, None)
    splits = make_splits("indexed", RawData(images, labels, *test))
    for split in (splits.train, splits.val, splits.test):
        seen = split.images[:, 0, 0, 0].long() + 256 * split.images[:, 0, 0, 1].long()
        assert torch.equal(split.labels, torch.from_numpy((seen.numpy() * 7 + seen.numpy() // 13) % 10))
    assert len(splits.train) + len(splits.val) + (0 if own_test_split else len(splits.test)) == n
