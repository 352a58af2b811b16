"""``zoo train --config`` reads regular files of bounded size only (issue 18, item 11): a FIFO must not wait for a
writer, /dev/zero must not be read until memory runs out."""
import contextlib
import os
import sys
import threading

import pytest
from helpers import zoo

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and /dev/zero are POSIX")


def assert_usage_error(result, *words):
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and all(w in errors[0] for w in words), result.output


@contextlib.contextmanager
def address_space_cap(extra: int):
    """At most ``extra`` more bytes of address space for this process in the block: a read that never ends
    fails with MemoryError in a moment instead of taking the machine's memory."""
    import resource

    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[0])
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (pages * os.sysconf("SC_PAGE_SIZE") + extra, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@posix_only
def test_a_fifo_as_config_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "settings.toml"
    os.mkfifo(fifo)
    results = []
    worker = threading.Thread(target=lambda: results.append(zoo("train", "mlp-ae", "--config", fifo)), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():
        with open(fifo, "w"):  # let the blocked reader go
            pass
        worker.join(10)
        pytest.fail("zoo train --config FIFO waited for a writer")
    assert_usage_error(results[0], "--config", "named pipe (FIFO)", "not a regular file")


@pytest.mark.skipif(not os.path.exists("/dev/zero") or not os.path.exists("/proc/self/statm"),
                    reason="needs /dev/zero and /proc")
def test_dev_zero_as_config_is_refused_without_reading_it():
    with address_space_cap(256 << 20):
        result = zoo("train", "mlp-ae", "--config", "/dev/zero")
    assert_usage_error(result, "/dev/zero", "character device")


def test_a_config_file_past_one_mebibyte_is_refused(tmp_path):
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (1 << 20) + "\n")
    assert_usage_error(zoo("train", "mlp-ae", "--config", path), "larger than 1,048,576 bytes")


@pytest.mark.parametrize("text", ["epochs = " + "[" * 5000 + "]" * 5000, "a = " + "{b=" * 3000 + "1" + "}" * 3000])
def test_a_config_nested_thousands_deep_is_one_line(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text + "\n")
    assert_usage_error(zoo("train", "mlp-ae", "--config", path), "nested too deeply")
