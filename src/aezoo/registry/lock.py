"""Who owns what, between processes: the registry's lock (which names its holder to whoever waits), claims on
folders held for a process's lifetime, and process tags (PID and start time) that tell a live owner from a
dead one even when its PID has been reused."""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Callable

from aezoo.errors import RegistryError
from aezoo.registry.files import make_dirs

try:
    import fcntl
except ImportError:  # Windows: no flock; writes stay atomic, concurrent tag/delete are unguarded
    fcntl = None  # type: ignore[assignment]

NOTICE_AFTER_S = 1.0  # a wait longer than this is announced, naming the holder


def _notice(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


notice: Callable[[str], None] = _notice  # where "waiting for ... held by PID n" goes


# ---------------------------------------------------------------------- processes


def started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot, from /proc); None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def process_tag() -> str:
    """This process as ``PID-START`` (START is 0 where the start time is unknown), for names of folders it owns."""
    return f"{os.getpid()}-{started(os.getpid()) or 0}"


def tag_alive(tag: str) -> bool | None:
    """Whether the process of a tag ``PID-START`` (or a bare ``PID``) runs; None when ``tag`` is no tag. A PID
    that runs but started at another time than the tag says is another process (the PID was reused)."""
    pid, _, start = tag.partition("-")
    if not pid.isdigit() or not (start.isdigit() or not start):
        return None
    if not pid_alive(int(pid)):
        return False
    now = started(int(pid))
    return not start or int(start) == 0 or now is None or now == int(start)


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (True when we may not signal it: it exists)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _me(doing: str) -> dict[str, Any]:
    return {"pid": os.getpid(), "started": started(os.getpid()), "doing": doing,
            "command": " ".join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]])[:200],
            "since": time.strftime("%Y-%m-%d %H:%M:%S")}


def _read_owner(f: IO[bytes]) -> dict[str, Any]:
    try:
        f.seek(0)
        owner = json.loads(f.read(4096).decode() or "{}")
        return owner if isinstance(owner, dict) else {}
    except (OSError, ValueError):
        return {}


def describe(owner: dict[str, Any]) -> str:
    """``PID n (zoo train ..., since ...)`` for an owner record; ``another process`` when it says nothing."""
    if not isinstance(owner.get("pid"), int):
        return "another process"
    extra = ", ".join(str(owner[k]) for k in ("command", "since") if isinstance(owner.get(k), str) and owner[k])
    return f"PID {owner['pid']}" + (f" ({extra})" if extra else "")


# ---------------------------------------------------------------------- the registry's lock


@contextlib.contextmanager
def file_lock(path: Path, what: str = "the registry lock") -> Iterator[None]:
    """Hold ``fcntl.flock(LOCK_EX)`` on ``path`` (created if needed) for the block. The holder writes who it
    is into the file; a process that waits longer than NOTICE_AFTER_S says once whom it waits for."""
    make_dirs(path.parent)
    with open(path, "a+b") as f:
        if fcntl is not None:
            _acquire(f, what)
        try:
            if fcntl is not None:
                f.truncate(0)
                f.write(json.dumps(_me("holding")).encode())
                f.flush()
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _acquire(f: IO[bytes], what: str) -> None:
    if _try_lock(f, tries=int(NOTICE_AFTER_S / 0.01)):
        return
    notice(f"waiting for {what} held by {describe(_read_owner(f))}; it goes on once that process is done")
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)


# ---------------------------------------------------------------------- claims on folders


def _try_lock(f: IO[bytes], tries: int) -> bool:
    for attempt in range(tries):
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            time.sleep(0.01 if attempt < tries - 1 else 0)
    return False


class Claim:
    """An exclusive claim on a folder, held (flock on its ``.owner`` file) until ``release()`` or the process
    ends, however it ends: a folder whose claim is held belongs to a live process."""

    def __init__(self, owner_file: Path, doing: str):
        self.path = owner_file
        self._file: IO[bytes] | None = open(owner_file, "a+b")
        if fcntl is not None and not _try_lock(self._file, tries=20):  # a probe by holder() lasts microseconds
            owner = _read_owner(self._file)
            self._file.close()
            self._file = None
            raise ClaimedError(owner_file.parent, owner)
        self._file.truncate(0)
        self._file.write(json.dumps(_me(doing)).encode())
        self._file.flush()

    @property
    def folder(self) -> Path:
        """The claimed folder."""
        return self.path.parent

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the flock
            self._file = None

    def __enter__(self) -> Claim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class ClaimedError(RegistryError):
    """A folder another live process holds."""

    def __init__(self, folder: Path, owner: dict[str, Any]):
        super().__init__(f"{folder} is in use by {describe(owner)}")
        self.folder, self.owner = folder, owner


def holder(owner_file: Path) -> dict[str, Any] | None:
    """The owner record of a claimed folder while its claim is held (its process lives); None when unclaimed."""
    try:
        f = open(owner_file, "rb")
    except OSError:
        return None
    with f:
        if fcntl is None:  # no flock: trust the recorded process
            owner = _read_owner(f)
            alive = isinstance(owner.get("pid"), int) and tag_alive(f"{owner['pid']}-{owner.get('started') or 0}")
            return owner if alive else None
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read_owner(f)
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return None
