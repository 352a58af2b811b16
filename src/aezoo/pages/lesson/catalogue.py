"""The lesson page's words: one catalogue per language, a TOML file of message ids -> sentences with named
placeholders (``messages/en.toml``, ``messages/es.toml``, shipped with the package). A third language is one more
file; `zoo lesson --lang` offers every file it finds.

Numbers fill the placeholders in the language's own style: ``{mse:.3f}`` reads ``0.052`` in English and ``0,052``
in Spanish (the catalogue's ``meta.decimal``).
"""
from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

PACKAGE = "aezoo.pages.lesson"
FOLDER = "messages"


def languages() -> list[str]:
    """The languages there is a catalogue for (file names without ``.toml``), sorted."""
    folder = resources.files(PACKAGE) / FOLDER
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


def flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """TOML tables as dotted ids: ``[c] span = "..."`` -> ``{"c.span": "..."}``."""
    out: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        elif isinstance(value, str):
            out[f"{prefix}{key}"] = value
        else:
            raise ValueError(f"message {prefix}{key} must be a string, got {type(value).__name__}")
    return out


def placeholders(text: str) -> set[str]:
    """The named placeholders of a message (``{ratio:.1f}`` -> ``ratio``)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class _LocalFormatter(string.Formatter):
    """str.format with the language's decimal separator for floats."""

    def __init__(self, decimal: str):
        super().__init__()
        self.decimal = decimal

    def format_field(self, value: Any, format_spec: str) -> str:
        text = super().format_field(value, format_spec)
        if isinstance(value, float) and self.decimal != ".":
            text = text.replace(".", self.decimal)
        return text


@dataclass(frozen=True)
class Catalogue:
    """The sentences of one language; ``t("c.span", ratio=4.1)`` is the message filled in."""

    lang: str
    messages: Mapping[str, str]

    def __call__(self, message_id: str, **values: Any) -> str:
        try:
            text = self.messages[message_id]
        except KeyError:
            raise KeyError(f"the {self.lang!r} lesson catalogue has no message {message_id!r}") from None
        return _LocalFormatter(self.messages.get("meta.decimal", ".")).vformat(text, (), values)

    def number(self, value: float, spec: str = ".3g") -> str:
        """One number written as this language writes it."""
        return _LocalFormatter(self.messages.get("meta.decimal", ".")).format_field(float(value), spec)


def load(lang: str) -> Catalogue:
    """The catalogue of ``lang``; a ValueError naming the languages there are."""
    known = languages()
    if lang not in known:
        raise ValueError(f"no lesson catalogue for language {lang!r}; available: {', '.join(known)} "
                         f"(a new language is one file: {PACKAGE.replace('.', '/')}/{FOLDER}/{lang}.toml)")
    text = (resources.files(PACKAGE) / FOLDER / f"{lang}.toml").read_text(encoding="utf-8")
    return Catalogue(lang, flatten(tomllib.loads(text)))
