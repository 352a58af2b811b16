"""Paper-comparable numbers from the CLI: `zoo train --binarize`, `zoo eval --binarize --iw-samples --elbo-samples`,
recorded in the run and shown with the numbers (eval output, report and compare tables, model card); and
benchmarks/paper_setting.py runs end to end (a tiny run on digits)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from helpers import zoo, zoo_ok

import aezoo
from aezoo.viz.html import metrics_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def binarised_run(zoo_home):
    result = zoo("train", "vae", "--epochs", 1, "--binarize", "dynamic", "--set", "hidden=16")
    assert result.exit_code == 0, result.output
    return aezoo.Registry().get("vae")


def test_a_binarised_run_records_it_and_zoo_eval_binarises_alike_by_default(binarised_run, zoo_home):
    assert binarised_run.config["train"]["binarize"] == "dynamic" and binarised_run.metrics["binarize"] == "dynamic"
    out = zoo_ok("eval", "vae", "--iw-samples", 3, "--elbo-samples", 2, "--limit", 30)
    assert "on the test split of digits (30 images, pixels binarised dynamic)" in out
    assert "test_binarize                dynamic" in out and "test_elbo_samples            2" in out
    metrics = aezoo.Registry().get("vae").metrics
    assert (metrics["test_binarize"], metrics["test_iw_samples"], metrics["test_elbo_samples"]) == ("dynamic", 3, 2)
    grey = json.loads(zoo("eval", "vae", "--binarize", "none", "--iw-samples", 3, "--limit", 30, "--json",
                          "--no-save").stdout)
    assert grey["test_binarize"] == "none"
    assert grey["test_mse"] < metrics["test_mse"]  # 0/1 pixels add their Bernoulli variance to the squared error
    assert zoo("eval", "vae", "--binarize", "half").exit_code == 2


def test_the_settings_are_shown_beside_the_numbers_in_tables_and_the_model_card(binarised_run, tmp_path):
    zoo_ok("eval", "vae", "--iw-samples", 3, "--elbo-samples", 2, "--limit", 30)
    metrics = aezoo.Registry().get("vae").metrics
    table = metrics_table({"vae-1": metrics})  # the report's and compare's table
    for shown in ("binarised test pixels", "IW samples (K)", "ELBO samples", "binarised training pixels"):
        assert shown in table, shown
    zoo_ok("export", "vae", tmp_path / "export", "--no-samples")
    card = (tmp_path / "export" / "README.md").read_text()
    assert "| test_binarize | dynamic |" in card and "| binarize | dynamic |" in card
    assert "| test_iw_samples | 3 |" in card


def test_the_paper_setting_benchmark_runs(tmp_path):
    spec = importlib.util.spec_from_file_location("paper_setting", ROOT / "benchmarks" / "paper_setting.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--dataset", "digits", "--epochs", "1", "--iw-samples", "2", "--limit", "10",
                      "--models", "vae,iwae", "--home", str(tmp_path / "home")])
    assert out["settings"]["binarize"] == "dynamic" and set(out["models"]) == {"vae", "iwae"}
    for result in out["models"].values():
        assert result["binarize"] == "dynamic" and result["iw_samples"] == 2
        assert 0 < result["test_iw_nll"] < 200 and result["paper_mnist_nll"] is None
