"""The fixed words figures draw beside the images (row labels, legend entries), in English unless a caller
asks for others: a page in another language draws its figures inside ``with using({...})``."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

ENGLISH = {
    "corrupted": "corrupted",  # corruption figures: the input row (noise) ...
    "masked": "masked",  # ... or (inpainting) the input with pixels dropped
    "restored": "restored",  # the model's output row
    "clean": "clean",  # the original images' row
    "original": "original",  # reconstruction figures: the test images' row ...
    "reconstruction": "reconstruction",  # ... and the model's reconstructions
    "masked_pixels": "masked pixels (the model got 0)",  # the legend entry of the orange pixels
    "prior_circle": "95 % of N(0, I)",  # latent maps: the legend entry of the dashed circle
    "latent_units": "latent units",  # latent maps' axes: "PC 1 (30% of the variance; latent units)"
    "of_the_variance": "of the variance",
    "no_units": "no units",  # "t-SNE 1 (no units)"
}
_current = dict(ENGLISH)


def word(key: str) -> str:
    """The word drawn for ``key`` (one of ENGLISH's keys) now."""
    return _current[key]


@contextmanager
def using(words: Mapping[str, str]) -> Iterator[None]:
    """Figures drawn inside the block use ``words`` (some or all of ENGLISH's keys) instead of the English ones."""
    unknown = sorted(set(words) - set(ENGLISH))
    if unknown:
        raise ValueError(f"unknown figure word {unknown[0]!r}; the words are {', '.join(ENGLISH)}")
    before = dict(_current)
    _current.update(words)
    try:
        yield
    finally:
        _current.clear()
        _current.update(before)
