"""What every section of the lesson page is made of (text, the numbers that carry its point, figures with the
command that makes each alone) and what every section builder receives (the runs, the data, the words)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from aezoo.data import Splits
from aezoo.pages.lesson.catalogue import Catalogue


@dataclass
class Figure:
    """A figure on the page (an aezoo.viz Figure), what it shows, and the `zoo` commands that make it alone."""

    image: Any
    caption: str
    commands: list[str]


@dataclass
class Section:
    """One section of the page: a title, two or three sentences of explanation, sentences that each carry numbers
    computed from the runs, figures, an optional note, and the numbers themselves (for the JSON)."""

    key: str
    title: str
    text: list[str]
    numbers: list[str]
    figures: list[Figure]
    values: dict[str, Any]
    table: str = ""  # HTML: the section's numbers as a table, when there are many
    note: str = ""  # a caveat, shown boxed
    beside: bool = False  # figures side by side (two maps of the same codes), else one under the other

    def check(self) -> None:
        """A section without a number or without a figure does not make its point: refuse it."""
        missing = [what for what, present in (("numbers", self.numbers), ("figures", self.figures)) if not present]
        if missing:
            raise ValueError(f"lesson section {self.key!r} has no {' and no '.join(missing)}")
        drawn = [f.caption for f in self.figures if not callable(getattr(f.image, "png", None))]
        if drawn:
            raise ValueError(f"lesson section {self.key!r}: not a figure: {drawn[0]!r}")


@dataclass
class Lesson:
    """What a section builder gets: the loaded runs by role, the dataset's splits, the catalogue ``t``, the pixel
    classifier (None for unlabelled data), where it may cache, and how to spell the commands."""

    splits: Splits
    runs: dict[str, Any]  # role -> runs.Obtained
    t: Catalogue
    classifier: Any = None
    seed: int = 0
    section_command: Callable[[str], str] = lambda key: f"zoo lesson --section {key}"
    dims: tuple[int, ...] = ()
    betas: tuple[float, ...] = ()
    cache_dir: Path | None = None  # the registry's cache (the classifier behind class consistency)
    style: str = "notebook"  # the figures' size style; the commands repeat it
    cache: dict[str, Any] = field(default_factory=dict)

    def model(self, role: str) -> Any:
        return self.runs[role].model

    def ref(self, role: str) -> str:
        """The run's name, as the reproducing commands write it."""
        return self.runs[role].name

    def command(self, text: str) -> str:
        """A figure command as it makes this page's figure: with ``--style`` when the page has one."""
        return text + ("" if self.style == "notebook" else f" --style {self.style}")

    def number(self, value: float) -> str:
        """A number beside a point of a figure, in the page's language."""
        return self.t.number(value, ".3g")

    @property
    def test_images(self) -> torch.Tensor:
        if "test" not in self.cache:
            self.cache["test"] = self.splits.test.floats(None)
        return self.cache["test"]

    @property
    def has_labels(self) -> bool:
        return self.splits.has_labels and self.classifier is not None

    def class_name(self, label: int) -> str:
        from aezoo.viz.picks import class_name

        return class_name(int(label), self.splits.classes)

    def classifier_accuracy(self) -> float:
        """The pixel classifier's accuracy on the real test images: the reference for what it says of samples."""
        if "accuracy" not in self.cache:
            self.cache["accuracy"] = self.classifier.accuracy(self.splits.test.images, self.splits.test.labels)
        return self.cache["accuracy"]


def table(head: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    """A small HTML table of already formatted cells (escaped here)."""
    from aezoo.viz.html import esc

    rows = ["<tr>" + "".join(f"<th>{esc(h)}</th>" for h in head) + "</tr>"]
    rows += ["<tr>" + "".join(f'<td class="num">{esc(c)}</td>' for c in row) + "</tr>" for row in body]
    return '<table class="numbers">' + "".join(rows) + "</table>"
