"""docs/formats.md names exactly the metric keys `zoo eval` writes: every documented key is written for some model,
and every key written for some built-in model (and for a hierarchical one) is documented."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import torch
from helpers import one_thread

import aezoo
from aezoo.api.evaluate import evaluate_model
from aezoo.core.evaluator import Evaluator

ROOT = Path(__file__).resolve().parents[2]


def documented_eval_keys() -> set[str]:
    """The backticked keys in the first column of formats.md's table of what `zoo eval` writes."""
    text = (ROOT / "docs" / "formats.md").read_text()
    table = text.split("Written by `zoo eval`", 1)[1].split("\n\n", 2)[1]
    keys = set()
    for row in table.splitlines()[2:]:
        first = row.split("|")[1]
        keys.update(re.findall(r"`([a-z0-9_]+)`", first))
    return keys


def written_eval_keys(splits, tmp_path) -> set[str]:
    """The keys `zoo eval`'s evaluation writes for every built-in model (untrained, a few test images), with class
    consistency once, and for the in-test two-level model of tests/core/kl_models.py."""
    keys: set[str] = set()
    with one_thread():
        for i, name in enumerate(aezoo.list_models()):
            torch.manual_seed(0)
            model = aezoo.create_model(name, input_shape=splits.input_shape).eval()
            cache = tmp_path if i == 0 else None  # class consistency (a classifier and 10 classes) only once
            keys |= set(evaluate_model(model, splits, iw_samples=1, limit=12, cache_dir=cache, n_per_class=2))
        sys.path.insert(0, str(ROOT / "tests" / "core"))
        try:
            from kl_models import two_level_vae
        finally:
            sys.path.remove(str(ROOT / "tests" / "core"))
        raw = Evaluator(iw_samples=1).evaluate(two_level_vae(), torch.rand(6, 1, 8, 8))
        keys |= {f"test_{k}" for k in raw}
    return keys


def test_formats_md_names_exactly_the_metric_keys_zoo_eval_writes(digits, tmp_path):
    documented, written = documented_eval_keys(), written_eval_keys(digits, tmp_path)
    assert "test_kl_level1" in written and "class_consistency" in written
    assert not documented - written, f"documented in docs/formats.md but never written: {sorted(documented - written)}"
    assert not written - documented, f"written by zoo eval but not in docs/formats.md: {sorted(written - documented)}"
