"""The lesson's runs: named by a key of their settings, found again by it (a second `zoo lesson` trains nothing),
trained anew when the budget changes; and the `zoo lesson` command around them."""
import json
import re

import pytest
from helpers import one_thread

from aezoo.core.trainer import auto_epochs
from aezoo.pages.lesson.runs import (
    Budget,
    all_needs,
    deep_ae,
    lesson_epochs,
    linear_ae,
    pca,
    run_name,
    train_command,
    vae,
)
from aezoo.registry import Registry
from aezoo.registry.refs import validate_name, validate_run_name

DIGITS = Budget("digits", None, 30, 0)


def test_a_run_name_is_a_key_of_everything_that_makes_the_run():
    name = run_name(vae(2, 1.0), DIGITS, "digits")
    assert name.startswith("lesson-digits-vae-z2-beta1-") and name == run_name(vae(2, 1.0), DIGITS, "digits")
    others = {run_name(vae(2, 4.0), DIGITS, "digits"), run_name(vae(2, 1.0), Budget("digits", None, 31), "digits"),
              run_name(vae(2, 1.0), Budget("digits", None, 30, 1), "digits"),
              run_name(vae(2, 1.0), DIGITS, "fashion-mnist"), run_name(deep_ae(2), DIGITS, "digits")}
    assert name not in others and len(others) == 5
    for one in (name, *others):
        validate_run_name(one)  # never reads as a run id (MODEL-VERSION), whatever its hash's digits


def test_one_pca_fit_serves_every_budget():
    assert run_name(pca(4), DIGITS, "digits") == run_name(pca(4), Budget("digits", None, 3), "digits")
    assert run_name(pca(4), DIGITS, "digits") != run_name(pca(4), Budget("digits", None, 30, 1), "digits")
    assert train_command(pca(4), DIGITS, "x") == "zoo train pca --set latent_dim=4 --seed 0 --name x"


def test_a_run_name_is_valid_for_any_dataset_reference():
    long = Budget("npz:/home/teacher/a folder with spaces/and.dots/lecture-3-images.npz", None, 1)
    name = run_name(linear_ae(16), long, long.dataset)
    assert validate_name(name) == name and len(name) <= 64


def test_quick_means_about_600_steps_and_epochs_win():
    assert lesson_epochs(1294, None, quick=True) == 29  # digits' training split
    assert lesson_epochs(55000, None, quick=True) == 1  # fashion-mnist's
    assert lesson_epochs(1294, 5, quick=True) == 5
    assert lesson_epochs(1294, None, quick=False) == auto_epochs(1294, 64)


def test_each_run_is_needed_once_in_page_order():
    roles = [n.role for n in all_needs(["regularity", "kl"], betas=(0.0, 1.0))]
    assert roles == ["deep-ae-z2", "vae-z2-beta1", "vae-z2-beta0"]


def test_the_train_command_trains_the_same_run():
    need = vae(2, 4.0)
    assert train_command(need, Budget("fashion-mnist", None, 3, 2), "NAME") == (
        "zoo train vae --dataset fashion-mnist --set latent_dim=2 --set hidden=512,256 --set beta=4 --epochs 3 "
        "--seed 2 --name NAME")
    assert "--lr 0.01" in train_command(linear_ae(2), DIGITS, "x")


@pytest.fixture
def lesson_twice(zoo, tmp_path):
    def run(*options):
        with one_thread():
            result = zoo("lesson", "--section", "regularity", "--epochs", 1, "-o", tmp_path / "page.html", *options)
        assert result.exit_code == 0, result.output
        return result.output
    return run


def test_a_second_lesson_reuses_the_runs_and_a_new_budget_trains_new_ones(lesson_twice, tmp_path):
    first = lesson_twice()
    assert "2 runs: 2 trained, 0 reused" in first and "training deep-ae-z2" in first
    second = lesson_twice()
    assert "2 runs: 0 trained, 2 reused" in second and "reusing lesson-digits-deep-ae-z2-" in second
    assert len(Registry().list()) == 2
    page = (tmp_path / "page.html").read_text()
    summary = json.loads((tmp_path / "page.json").read_text())
    assert list(summary["sections"]) == ["regularity"] and summary["epochs"] == 1
    assert all(r["reused"] for r in summary["runs"].values())
    for sentence in summary["sections"]["regularity"]["numbers"]:
        assert sentence.replace("'", "&#x27;") in page
    assert "zoo lesson --epochs 1 --section regularity" in page
    third = lesson_twice("--seed", 1)
    assert "2 runs: 2 trained, 0 reused" in third and len(Registry().list()) == 4


def test_a_run_squatting_on_a_lesson_name_is_refused(lesson_twice, zoo):
    name = run_name(deep_ae(2), Budget("digits", None, 1), "digits")
    with one_thread():
        assert zoo("train", "mlp-ae", "--epochs", 1, "--name", name).exit_code == 0
        result = zoo("lesson", "--section", "regularity", "--epochs", 1, "-o", "x.html")
    assert result.exit_code == 1
    assert f"is named '{name}', the lesson's key for deep-ae-z2, but was trained otherwise" in result.output
    assert "zoo runs rm mlp-ae-1" in result.output


def test_the_spanish_talk_page_is_in_spanish_and_its_commands_draw_for_a_lecture_hall(zoo, tmp_path):
    with one_thread():
        result = zoo("lesson", "--section", "kl", "--epochs", 1, "--lang", "es", "--style", "talk",
                     "-o", tmp_path / "es.html")
    assert result.exit_code == 0, result.output
    page = (tmp_path / "es.html").read_text()
    assert '<html lang="es">' in page and "El término KL: un barrido de beta" in page
    assert "zoo lesson --epochs 1 --lang es --style talk --section kl" in page
    assert re.search(r"zoo compare lesson-digits-vae-z2-beta0-\w+ \S+ \S+ --style talk", page)
