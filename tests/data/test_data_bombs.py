"""Data files that ask for more than they hold (issue 18, items 10 and 14): the size a header declares is held
to a limit before anything is read, decompression stops at the declared size, and an npz of pickled objects
says so. The files are small; the limit is lowered with AEZOO_MAX_DATA_BYTES where a test needs it lower."""
import gzip
import io
import struct
import tracemalloc
import zipfile

import numpy as np
import pytest
from helpers import zoo

from aezoo.api.catalog import load_dataset
from aezoo.data.idx import read_idx
from aezoo.errors import DatasetError

IDX_PARTS = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_header(*dims, type_byte=0x08):
    return bytes([0, 0, type_byte, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def write_gz(path, header, zeros):
    """A gzip file: ``header`` then ``zeros`` zero bytes, written in chunks (the file stays small)."""
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header)
        for start in range(0, zeros, 1 << 20):
            f.write(bytes(min(1 << 20, zeros - start)))
    return path


def peak_bytes(call):
    """(what ``call`` raised, the peak of Python and numpy allocations while it ran)."""
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError) as err:
            call()
        return err.value, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# ---- IDX ---------------------------------------------------------------------------------------------------

def test_a_gzipped_idx_declaring_4_gib_is_refused_from_its_header(tmp_path):
    path = write_gz(tmp_path / "train-images-idx3-ubyte.gz", idx_header(65536, 256, 256), 1 << 16)
    error, peak = peak_bytes(lambda: read_idx(path))
    assert "(65536, 256, 256)" in str(error) and "4,294,967,296 bytes" in str(error)
    assert "over the limit of 2,147,483,648 bytes" in str(error) and "AEZOO_MAX_DATA_BYTES" in str(error)
    assert peak < 4 << 20


def test_a_gzip_bomb_under_a_lowered_limit_is_refused_before_decompressing(tmp_path, monkeypatch):
    monkeypatch.setenv("AEZOO_MAX_DATA_BYTES", str(1 << 20))
    path = write_gz(tmp_path / "train-images-idx3-ubyte.gz", idx_header(512, 64, 64), 512 * 64 * 64)
    error, peak = peak_bytes(lambda: read_idx(path))
    assert "over the limit of 1,048,576 bytes" in str(error)
    assert peak < 512 << 10  # not one megabyte of it was decompressed


def test_decompression_stops_at_the_size_the_header_declares(tmp_path):
    path = write_gz(tmp_path / "x.gz", idx_header(10, 8, 8), 64 << 20)  # 640 bytes declared, 64 MiB inside
    error, peak = peak_bytes(lambda: read_idx(path))
    assert "holds more" in str(error) and "(10, 8, 8)" in str(error)
    assert peak < 4 << 20


def test_idx_dimensions_multiplying_past_int64_are_named(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(idx_header(2**32 - 1, 2**32 - 1, 2**32 - 1))
    with pytest.raises(DatasetError, match=r"more than any array can hold \(2\^63\)"):
        read_idx(path)


def test_a_plain_idx_shorter_than_its_header_says_is_refused_before_reading(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(idx_header(60000, 28, 28) + bytes(100))
    with pytest.raises(DatasetError, match="truncated or corrupt.*47,040,016 bytes.*116 bytes"):
        read_idx(path)


def test_a_bomb_among_mnist_files_is_one_line_from_zoo_train(tmp_path):
    for part in IDX_PARTS:
        dims = (65536, 256, 256) if part == IDX_PARTS[0] else (10, 8, 8) if "images" in part else (10,)
        write_gz(tmp_path / f"{part}.gz", idx_header(*dims), 640 if len(dims) == 3 and dims[0] == 10 else 10)
    result = zoo("train", "mlp-ae", "--dataset", "mnist", "--data-dir", tmp_path, "--epochs", "1")
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "over the limit" in errors[0], result.output


# ---- npz ---------------------------------------------------------------------------------------------------

def npz_with_header(path, shape, descr="|u1", data=b"\0" * 100):
    """An .npz whose x.npy header declares ``shape`` but holds only ``data``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", header.getvalue() + data)
    return path


def test_an_npz_header_claiming_9_tib_is_refused_from_the_header(tmp_path):
    path = npz_with_header(tmp_path / "huge.npz", (10**7, 1000, 1000))
    error, peak = peak_bytes(lambda: load_dataset(f"npz:{path}"))
    assert "'x'" in str(error) and "(10000000, 1000, 1000)" in str(error) and "over the limit" in str(error)
    assert peak < 4 << 20


def test_npz_arrays_together_over_the_limit_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("AEZOO_MAX_DATA_BYTES", "1000")
    path = tmp_path / "two.npz"
    np.savez(path, x=np.zeros((10, 8, 8), np.uint8), x_test=np.zeros((10, 8, 8), np.uint8))  # 640 + 640 bytes
    with pytest.raises(DatasetError, match="'x_test'.*1,280 bytes.*over the limit of 1,000"):
        load_dataset(f"npz:{path}")


def test_an_npz_of_pickled_objects_says_so(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object))
    result = zoo("train", "mlp-ae", "--dataset", f"npz:{path}", "--epochs", "1")
    assert result.exit_code == 1, result.output
    assert "Python objects" in result.output and "never unpickles" in result.output
    assert "not an .npz" not in result.output


def test_a_single_npy_given_as_npz_says_how_to_save_it(tmp_path):
    path = tmp_path / "images.npy"
    np.save(path, np.zeros((20, 8, 8), np.uint8))
    with pytest.raises(DatasetError, match=r"a single .npy array; save it with np.savez"):
        load_dataset(f"npz:{path}")
