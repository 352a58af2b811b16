"""Making text from files safe to print on a terminal."""
from __future__ import annotations

import unicodedata


def printable(value: object) -> str:
    """``str(value)`` with control characters (terminal escape sequences, newlines) shown escaped."""
    text = str(value)
    return "".join(ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
                   for ch in text)
