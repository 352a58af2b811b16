"""Watches the file operations a block of code performs (through Python's audit hooks), so that tests can check
how files reach the disk: opened for writing in place, or written elsewhere and renamed into place.

Only operations done from Python are seen (not a file a C or Rust library writes itself), which is enough to
see aezoo's own writes; an audit hook cannot be removed, so one hook serves every watch in the process.
"""
from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

_watches: list["Watch"] = []
_inside = threading.local()
_installed = False


@dataclass
class Watch:
    """What happened under ``root`` while the watch was on."""

    root: Path
    on_event: Callable[[], None] | None = None  # called after each recorded event (e.g. to check an invariant)
    written: list[Path] = field(default_factory=list)  # files opened for writing (or created)
    renamed: list[tuple[Path, Path]] = field(default_factory=list)  # (source, destination) of renames/replaces

    def under(self, path: object) -> Path | None:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return None
        p = Path(os.fsdecode(path)).absolute()
        return p if p.is_relative_to(self.root) else None


def _opens_for_writing(mode: object, flags: object) -> bool:
    if isinstance(mode, str):
        return any(c in mode for c in "wax+")
    return isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))


def _hook(event: str, args: tuple) -> None:
    if not _watches or getattr(_inside, "on", False) or event not in ("open", "os.rename", "os.chmod"):
        return
    _inside.on = True
    try:
        for watch in list(_watches):
            if event == "open" and _opens_for_writing(args[1], args[2]) and (p := watch.under(args[0])):
                watch.written.append(p)
            elif event == "os.rename" and (watch.under(args[0]) or watch.under(args[1])):
                watch.renamed.append((Path(os.fsdecode(args[0])).absolute(), Path(os.fsdecode(args[1])).absolute()))
            elif not (event == "os.chmod" and watch.under(args[0])):
                continue
            if watch.on_event is not None:
                watch.on_event()
    finally:
        _inside.on = False


@contextmanager
def watch_files(root: str | os.PathLike, on_event: Callable[[], None] | None = None) -> Iterator[Watch]:
    """Record file writes and renames under ``root`` during the block; ``on_event`` runs after each one."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    watch = Watch(Path(root).absolute(), on_event)
    _watches.append(watch)
    try:
        yield watch
    finally:
        _watches.remove(watch)
