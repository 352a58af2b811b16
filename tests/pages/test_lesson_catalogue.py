"""The lesson page's words: every catalogue has every message the page can use, with the same placeholders, and
numbers are written the language's way. Torch-free and fast."""
import ast
import re
from pathlib import Path

import pytest

from aezoo.pages import lesson
from aezoo.pages.lesson import catalogue

CODE = Path(lesson.__file__).parent


ID = re.compile(r"(meta|fig|page|[a-f])\.[a-z0-9_]+")


def used_ids() -> set[str]:
    """Every message id the page's code can pass to a catalogue: each string literal of the lesson's modules spelled
    like an id (``"c.span_wider"``, also inside ``x if ... else y`` or assigned first). The code writes every id it
    uses as one literal, never pieced together, so that this finds them all."""
    found = set()
    for path in CODE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and ID.fullmatch(node.value):
                found.add(node.value)
    return found


def test_the_scan_finds_the_ids_the_page_uses():
    ids = used_ids()
    assert {"c.span_wider", "c.span_not_wider", "d.collapsed_at", "b.denoise_gain", "b.inpaint_no_gain",
            "page.title"} <= ids
    assert len(ids) > 80


@pytest.mark.parametrize("lang", catalogue.languages())
def test_every_catalogue_has_every_message_the_page_uses(lang):
    messages = catalogue.load(lang).messages
    missing = sorted(used_ids() - set(messages))
    assert missing == [], f"{lang}.toml lacks {missing}"


@pytest.mark.parametrize("lang", catalogue.languages())
def test_every_catalogue_has_the_english_ids_and_placeholders(lang):
    english, other = catalogue.load("en").messages, catalogue.load(lang).messages
    assert sorted(set(english) ^ set(other)) == []
    differ = [k for k in english if catalogue.placeholders(english[k]) != catalogue.placeholders(other[k])]
    assert differ == []


def test_no_message_is_left_unused():
    unused = sorted(set(catalogue.load("en").messages) - used_ids() - {"meta.decimal"})
    assert unused == []


def test_english_and_spanish_are_offered():
    assert {"en", "es"} <= set(catalogue.languages())


def test_numbers_are_written_the_languages_way():
    values = dict(d=2, deep=0.0341, pca=0.052, ratio=1.52)
    assert "0.0341" in catalogue.load("en")("a.deep_beats_pca", **values)
    spanish = catalogue.load("es")("a.deep_beats_pca", **values)
    assert "0,0341" in spanish and "0,0520" in spanish and "1,5 veces" in spanish
    assert catalogue.load("es").number(0.25, ".2f") == "0,25"


def test_a_missing_message_or_language_is_named():
    with pytest.raises(KeyError, match="no message 'x.nope'"):
        catalogue.load("en")("x.nope")
    with pytest.raises(ValueError, match="no lesson catalogue for language 'fr'.*available: en, es.*fr.toml"):
        catalogue.load("fr")


def test_a_third_language_is_one_file(tmp_path, monkeypatch):
    folder = tmp_path / "messages"
    folder.mkdir()
    for lang in ("en", "es"):
        (folder / f"{lang}.toml").write_text("[meta]\ndecimal = '.'\n")
    (folder / "fr.toml").write_text("[meta]\ndecimal = ','\n[a]\nx = \"Bonjour {n:.1f}\"\n")
    monkeypatch.setattr(catalogue.resources, "files", lambda package: tmp_path)
    assert catalogue.languages() == ["en", "es", "fr"]
    assert catalogue.load("fr")("a.x", n=2.5) == "Bonjour 2,5"


def test_the_command_offers_every_catalogue(zoo):
    result = zoo("lesson", "--lang", "xx")
    assert result.exit_code == 2
    assert "'en', 'es'" in result.output


def test_every_word_a_figure_draws_comes_from_the_catalogue():
    from aezoo.pages.lesson.page import FIGURE_WORDS
    from aezoo.viz.words import ENGLISH

    assert set(FIGURE_WORDS) == set(ENGLISH)  # a new figure word needs its message in every language
    english = catalogue.load("en")
    assert {key: english(message) for key, message in FIGURE_WORDS.items()} == ENGLISH
