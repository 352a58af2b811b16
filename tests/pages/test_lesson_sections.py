"""Each section of the lesson page, built from tiny models on digits: it has its figures and the numbers that carry
its point, the page shows all of them, and when a run contradicts the textbook the page says what happened."""
import copy
import dataclasses
import math
import re
from types import SimpleNamespace

import pytest
import torch
from helpers import one_thread

import aezoo
from aezoo.api.classifier import train_or_load_classifier
from aezoo.pages.lesson import SECTIONS, catalogue
from aezoo.pages.lesson.common import Lesson, Section
from aezoo.pages.lesson.page import BUILDERS, render
from aezoo.pages.lesson.runs import Budget, Obtained, all_needs

DIMS, BETAS = (2, 4), (0.0, 1.0)
SMALL = {"hidden": (32,), "channels": (8, 16)}
# per section: the fewest figures it shows, the fewest sentences with numbers, and the numbers (keys of
# Section.values) it must carry
EXPECTED = {
    "dimensions": (2, 3, {"test_mse"}),
    "restoration": (3, 3, {"compression", "denoise", "inpaint"}),
    "regularity": (3, 3, {"span", "inside_prior", "effective_classes", "vae"}),
    "kl": (2, 3, {"runs"}),
    "tsne": (2, 2, {"neighbour_agreement", "distance_correlation"}),
    "sampling": (5, 3, {"like", "class_consistency", "blend"}),
}


def tiny(need, splits, steps=60):
    """The need's model with small widths, fitted (PCA) or after a few Adam steps on digits, named like a lesson
    run."""
    valid = aezoo.model_spec(need.model).hyperparameters()
    hp = {**need.hyperparameters, **{k: v for k, v in SMALL.items() if k in valid}}
    torch.manual_seed(0)
    model = aezoo.create_model(need.model, input_shape=splits.input_shape, **hp)
    x = splits.train.floats()
    if hasattr(model.objective, "fit_closed_form"):
        model.objective.fit_closed_form(model, x)
    else:
        opt = torch.optim.Adam(model.parameters(), 3e-3)
        for step in range(steps):
            loss, _ = model.loss(x[(step * 64) % 1216:(step * 64) % 1216 + 64])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    model.run = SimpleNamespace(name=f"lesson-digits-{need.role}-0000", id=f"{need.model}-1")
    return model


@pytest.fixture(scope="module")
def runs(digits):
    with one_thread():
        return {n.role: Obtained(n, tiny(n, digits), reused=False) for n in all_needs(SECTIONS, DIMS, BETAS)}


@pytest.fixture(scope="module")
def classifier(digits, tmp_path_factory):
    return train_or_load_classifier(digits.train, tmp_path_factory.mktemp("classifiers"))


def lesson(digits, runs, classifier, tmp_path, lang="en"):
    return Lesson(digits, runs, catalogue.load(lang), classifier, 0, lambda k: f"zoo lesson --section {k}", DIMS,
                  BETAS, tmp_path)


@pytest.fixture(scope="module")
def built(digits, runs, classifier, tmp_path_factory):
    L = lesson(digits, runs, classifier, tmp_path_factory.mktemp("cache"))
    with one_thread():
        return {key: BUILDERS[key](L) for key in SECTIONS}


def numbers_in(value):
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [value]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers_in(v)]
    return [n for v in value for n in numbers_in(v)]


def test_the_page_has_the_tutorials_sections_in_order():
    assert SECTIONS == ("dimensions", "restoration", "regularity", "kl", "tsne", "sampling")
    assert tuple(BUILDERS) == SECTIONS


@pytest.mark.parametrize("key", SECTIONS)
def test_each_section_has_its_figures_and_the_numbers_that_carry_it(built, key):
    section = built[key]
    figures, sentences, values = EXPECTED[key]
    section.check()
    assert len(section.figures) >= figures and len(section.numbers) >= sentences
    for figure in section.figures:
        assert figure.image.png()[:4] == b"\x89PNG"
        assert figure.caption and figure.commands and all(c.startswith("zoo ") for c in figure.commands)
    assert values <= set(section.values)
    assert all(re.search(r"\d", sentence) for sentence in section.numbers), section.numbers
    found = numbers_in(section.values)
    assert found and all(math.isfinite(v) for v in found)
    assert 2 <= len(section.text) <= 3 and section.title


def test_a_section_without_a_number_or_a_figure_is_refused(built):
    good = built["kl"]
    for broken in (dataclasses.replace(good, numbers=[]), dataclasses.replace(good, figures=[])):
        with pytest.raises(ValueError, match="lesson section 'kl' has no"):
            broken.check()


def test_the_page_shows_every_number_and_figure(built):
    sections = list(built.values())
    runs = {}
    html = render(catalogue.load("en"), sections, runs, Budget("digits", None, 3), "digits", "zoo lesson")
    assert html.count("<img ") == sum(len(s.figures) for s in sections)
    for s in sections:
        for sentence in s.numbers:
            assert sentence.replace("'", "&#x27;") in html
        for figure in s.figures:
            for command in figure.commands:
                assert command in html
    assert html.count('<table class="numbers">') == sum(bool(s.table) for s in sections) == 2
    assert 't-SNE can show clusters in data that has none' in html
    assert '<html lang="en">' in html


def test_the_spanish_page_says_it_in_spanish_with_decimal_commas(digits, runs, classifier, tmp_path):
    with one_thread():
        section = BUILDERS["regularity"](lesson(digits, runs, classifier, tmp_path, "es"))
    assert section.title.startswith("Por qué")
    assert any(re.search(r"\d,\d", n) for n in section.numbers), section.numbers
    assert not any(re.search(r"\d\.\d", n) for n in section.numbers), section.numbers


def collapsed_copy(model):
    """The VAE with its encoder's mean and log-variance heads zeroed: q(z|x) = N(0, I) for every image."""
    broken = copy.deepcopy(model)
    with torch.no_grad():
        for head in (broken.encoder.mu, broken.encoder.logvar):
            head.weight.zero_()
            head.bias.zero_()
    return broken


def test_a_collapsed_vae_is_named_instead_of_the_textbook_claim(digits, runs, classifier, tmp_path):
    role = "vae-z2-beta1"
    changed = dict(runs, **{role: Obtained(runs[role].need, collapsed_copy(runs[role].model), False)})
    with one_thread():
        regularity = BUILDERS["regularity"](lesson(digits, changed, classifier, tmp_path))
        kl = BUILDERS["kl"](lesson(digits, changed, classifier, tmp_path))
    assert regularity.values["vae"]["collapsed"]
    assert regularity.numbers[0].startswith("The VAE collapsed (test KL 0.0000 nats, 0 active units)")
    assert kl.values["runs"]["1"]["collapsed"] and not kl.values["runs"]["0"]["collapsed"]
    assert any(n.startswith("At beta 1 the posterior collapsed") for n in kl.numbers)


def test_a_healthy_vae_is_not_called_collapsed(built):
    assert not built["regularity"].values["vae"]["collapsed"]
    assert not any("collapsed" in n for n in built["regularity"].numbers)


def test_section_values_are_the_numbers_the_sentences_show(built):
    span = built["regularity"].values["span"]
    sentence = built["regularity"].numbers[0]
    assert f"{span['ae']:.1f}" in sentence and f"{span['vae']:.1f}" in sentence and f"{span['ratio']:.1f}x" in sentence
    errors = built["dimensions"].values["test_mse"]
    assert f"{errors['deep-ae'][0]:.4f}" in built["dimensions"].numbers[0]


def test_section_check_refuses_what_is_no_figure(tmp_path):
    from aezoo.pages.lesson.common import Figure

    section = Section("x", "X", ["a", "b"], ["1"], [Figure(tmp_path / "gone.png", "c", ["zoo x"])], {"n": 1})
    with pytest.raises(ValueError, match="lesson section 'x': not a figure: 'c'"):
        section.check()


def test_a_spanish_page_draws_no_english_words_in_its_figures(digits, runs, classifier, tmp_path):
    import matplotlib.text

    from aezoo.pages.lesson.page import figure_words
    from aezoo.viz import words

    L = lesson(digits, runs, classifier, tmp_path, lang="es")
    with one_thread(), words.using(figure_words(L.t)):
        sections = [BUILDERS[key](L) for key in ("restoration", "regularity", "tsne")]
    drawn = {line for s in sections for f in s.figures
             for t in f.image.findobj(matplotlib.text.Text) for line in t.get_text().split("\n")}
    assert {"enmascarada", "restaurada", "reconstrucción", "95 % de N(0, I)", "t-SNE 1 (sin unidades)"} <= drawn
    assert not set(words.ENGLISH.values()) - {"original"} & drawn  # "original" is Spanish too
    axes = [line for line in drawn if line.startswith(("PC 1", "t-SNE 1"))]
    assert axes and not [a for a in axes if "units" in a or "variance" in a], axes
