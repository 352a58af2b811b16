"""A full disk never destroys the previous output (issue 18 item 6): a page or figure is written beside its
target and renamed into place, so a failed write leaves the earlier file as it was."""
import builtins
import errno
import io
import os
from pathlib import Path

import pytest
from helpers import zoo, zoo_ok


class _FullDiskFile:
    """A file whose writes fail with ENOSPC once ``room`` bytes are written (part of the last write lands)."""

    def __init__(self, real, room: list[int]):
        self._real, self._room = real, room

    def write(self, data):
        size = len(data)
        if size > self._room[0]:
            self._real.write(data[: self._room[0]])
            self._real.flush()
            self._room[0] = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room[0] -= size
        return self._real.write(data)

    def fileno(self):  # writers that would write to the descriptor directly fall back to write()
        raise io.UnsupportedOperation("fileno")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._real.close()

    def __iter__(self):
        return iter(self._real)

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.fixture
def full_disk(monkeypatch):
    """``full_disk(folder, room)``: from now on, files opened for writing inside ``folder`` hold ``room`` bytes
    between them, then every write fails with ENOSPC, as on a full disk (any opener: open, io.open, os.fdopen,
    pathlib, PIL)."""
    real_open = io.open

    def start(folder: Path, room: int = 64):
        left = [room]
        folder = str(Path(folder).resolve())

        def opening(file, mode="r", *args, **kwargs):
            handle = real_open(file, mode, *args, **kwargs)
            where = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else os.path.abspath(file)
            writing = any(c in mode for c in "wax+")
            return _FullDiskFile(handle, left) if writing and os.path.dirname(where) == folder else handle

        monkeypatch.setattr(builtins, "open", opening)
        monkeypatch.setattr(io, "open", opening)

    return start


def _assert_kept(result, path: Path, before: bytes):
    assert result.exit_code == 1 and "No space left on device" in result.output, result.output
    assert path.read_bytes() == before  # before the fix: the first 64 bytes of the new file, the rest lost
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left beside it


def test_a_report_on_a_full_disk_keeps_the_previous_page(tmp_path, full_disk):
    zoo_ok("train", "mlp-ae", "--epochs", "1")
    page = tmp_path / "out" / "old.html"
    zoo_ok("report", "mlp-ae", "-o", page)
    before = page.read_bytes()
    assert len(before) > 10_000
    full_disk(page.parent)
    _assert_kept(zoo("report", "mlp-ae", "-o", page), page, before)


def test_a_figure_on_a_full_disk_keeps_the_previous_png(tmp_path, full_disk):
    zoo_ok("train", "mlp-ae", "--epochs", "1")
    png = tmp_path / "out" / "old.png"
    zoo_ok("sample", "mlp-ae", "-o", png)
    before = png.read_bytes()
    assert before.startswith(b"\x89PNG")
    full_disk(png.parent)
    _assert_kept(zoo("sample", "mlp-ae", "-o", png, "--seed", "3"), png, before)
