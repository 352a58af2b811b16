"""`zoo lesson`: the classic VAE tutorial's argument told with the user's own runs, on one self-contained HTML page.

The page follows the tutorial: dimensionality reduction (PCA, a linear and a deep autoencoder), compression /
denoising / inpainting, the plain AE's irregular latent space against the VAE's, the KL term (a beta sweep), t-SNE
with its caveat, and sampling. It finds the runs it needs in the registry by their lesson key (runs.py) or trains
them; every sentence comes from the language's catalogue and every claim carries a number computed from the runs.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

from aezoo.pages.lesson import SECTIONS, dimensions, kl, regularity, restoration, sampling, tsne
from aezoo.pages.lesson.catalogue import Catalogue, load
from aezoo.pages.lesson.common import Lesson, Section
from aezoo.pages.lesson.runs import BETAS, DIMS, Budget, Obtained, all_needs, lesson_epochs, obtain, train_command

BUILDERS: dict[str, Callable[[Lesson], Section]] = {  # in the tutorial's order
    "dimensions": dimensions.build,
    "restoration": restoration.build,
    "regularity": regularity.build,
    "kl": kl.build,
    "tsne": tsne.build,
    "sampling": sampling.build,
}
FIGURE_WORDS = {  # the words figures draw (aezoo.viz.words.ENGLISH's keys), each from the page's catalogue
    "corrupted": "fig.corrupted", "masked": "fig.masked", "restored": "fig.restored", "clean": "fig.clean",
    "masked_pixels": "fig.masked_pixels", "prior_circle": "fig.prior_circle", "original": "fig.original",
    "reconstruction": "fig.reconstruction", "latent_units": "fig.latent_units",
    "of_the_variance": "fig.of_the_variance", "no_units": "fig.no_units",
}


def figure_words(t: Catalogue) -> dict[str, str]:
    """The words the page's figures draw, in the page's language (for aezoo.viz.words.using)."""
    return {key: t(message) for key, message in FIGURE_WORDS.items()}


Say = Callable[[str], None]

CSS = """
nav ol { columns: 2; } section { margin-bottom: 2.5em; } p.text { max-width: 52em; line-height: 1.45; }
div.numbers { background: #f4f8fc; border-left: 4px solid #4a7ab5; padding: 0.3em 1em; margin: 0.8em 0; }
div.numbers li { margin: 0.3em 0; } div.numbers h3 { margin: 0.4em 0; font-size: 1em; }
table.numbers td { text-align: right; } p.note { border-left: 4px solid #d9a400; }
figure.lesson { display: block; margin: 1em 0 1.4em; } figure.lesson img { max-width: 100%; }
figcaption { color: #333; max-width: 60em; } figcaption code, pre { background: #f1f1f1; padding: 0.1em 0.3em; }
pre { padding: 0.4em 0.6em; white-space: pre-wrap; margin: 0.3em 0; font-size: 0.85em; }
div.beside { display: flex; gap: 1.5em; align-items: flex-start; }
div.beside figure.lesson { flex: 1 1 0; min-width: 0; }
"""


def lesson_command(budget: Budget, lang: str, quick: bool, epochs: int | None, look: str = "notebook",
                   section: str | None = None) -> str:
    """The `zoo lesson` command that makes this page again (or one ``section`` of it)."""
    parts = ["zoo", "lesson"]
    if budget.dataset != "digits":
        parts += ["--dataset", budget.dataset]
    if budget.data_dir:
        parts += ["--data-dir", budget.data_dir]
    if epochs is not None:
        parts += ["--epochs", str(epochs)]
    elif quick:
        parts.append("--quick")
    if budget.seed:
        parts += ["--seed", str(budget.seed)]
    if lang != "en":
        parts += ["--lang", lang]
    if look != "notebook":
        parts += ["--style", look]
    if section:
        parts += ["--section", section]
    return " ".join(parts)


def build_lesson(path: Path | str, dataset: str = "digits", data_dir: str | None = None, epochs: int | None = None,
                 quick: bool = False, seed: int = 0, lang: str = "en", sections: Sequence[str] | None = None,
                 home: str | None = None, say: Say = lambda line: None, progress: Any = False,
                 dims: Sequence[int] = DIMS, betas: Sequence[float] = BETAS, look: str = "notebook") -> dict[str, Any]:
    """Find or train the runs, write the page to ``path`` (figures drawn in style ``look``: notebook, talk, ...)
    and its numbers to ``path`` with ``.json``; returns the JSON summary (sections with their numbers, the runs
    used)."""
    from aezoo.api.catalog import load_dataset
    from aezoo.api.classifier import train_or_load_classifier
    from aezoo.registry import Registry
    from aezoo.viz import words
    from aezoo.viz.styles import check, style

    check(look)

    t = load(lang)
    keys = [k for k in SECTIONS if sections is None or k in sections]
    unknown = [k for k in (sections or ()) if k not in SECTIONS]
    if unknown:
        raise ValueError(f"unknown lesson section {unknown[0]!r}; sections are {', '.join(SECTIONS)}")
    splits = load_dataset(dataset, data_dir=data_dir)
    budget = Budget(dataset, data_dir, lesson_epochs(len(splits.train), epochs, quick), seed)
    needs = all_needs(keys, dims, betas)
    runs: dict[str, Obtained] = {}
    for i, need in enumerate(needs, 1):
        numbered = lambda line, i=i: say(f"[{i}/{len(needs)}] {line}")  # noqa: E731
        runs[need.role] = obtain(need, budget, splits.name, home, numbered, progress)
    cache_dir = Registry(home).home / "cache" / "classifiers"
    classifier = train_or_load_classifier(splits.train, cache_dir) if splits.has_labels else None
    command = lambda key=None: lesson_command(budget, lang, quick, epochs, look, key)  # noqa: E731
    lesson = Lesson(splits, runs, t, classifier, seed, command, tuple(dims), tuple(betas), cache_dir, look)
    built: list[Section] = []
    with style(look), words.using(figure_words(t)):
        for key in keys:
            say(f"section {key}")
            section = BUILDERS[key](lesson)
            section.check()
            built.append(section)
        text = render(t, built, runs, budget, splits.name, command())
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    summary = {"page": str(path), "lang": lang, "dataset": splits.name, "epochs": budget.epochs, "seed": seed,
               "sections": {s.key: {"title": s.title, "numbers": s.numbers, "values": s.values} for s in built},
               "runs": {role: {"run": r.model.run.id, "name": r.name, "model": r.need.model, "reused": r.reused}
                        for role, r in runs.items()}}
    path.with_suffix(".json").write_text(json.dumps(summary, indent=2, default=float) + "\n", encoding="utf-8")
    return summary


def render(t: Catalogue, sections: Sequence[Section], runs: dict[str, Obtained], budget: Budget, dataset: str,
           command: str) -> str:
    """The whole HTML document."""
    from aezoo.viz.html import STYLE, esc, png_data_uri

    trained = sum(not r.reused for r in runs.values())
    subtitle = t("page.subtitle", dataset=dataset, epochs=budget.epochs, seed=budget.seed, runs=len(runs),
                 trained=trained, reused=len(runs) - trained)
    nav = "".join(f'<li><a href="#{s.key}">{esc(s.title)}</a></li>' for s in sections)
    body = [f"<h1>{esc(t('page.title', dataset=dataset))}</h1>",
            f'<p class="sub">{esc(subtitle)}</p>',
            f'<p class="text">{esc(t("page.intro"))}</p>', f"<nav><ol>{nav}</ol></nav>"]
    for i, s in enumerate(sections, 1):
        part = [f'<section id="{s.key}"><h2>{i}. {esc(s.title)}</h2>']
        part += [f'<p class="text">{esc(p)}</p>' for p in s.text]
        items = "".join(f"<li>{esc(n)}</li>" for n in s.numbers)
        part.append(f'<div class="numbers"><h3>{esc(t("page.numbers"))}</h3><ul>{items}</ul>{s.table}</div>')
        if s.note:
            part.append(f'<p class="note">{esc(s.note)}</p>')
        figures = []
        for f in s.figures:
            commands = "".join(f"<pre>{esc(c)}</pre>" for c in f.commands)
            figures.append(f'<figure class="lesson"><img alt="{esc(f.caption)}" src="{png_data_uri(f.image.png())}">'
                           f"<figcaption>{esc(f.caption)} {esc(t('page.command'))}{commands}</figcaption></figure>")
        part.append(f'<div class="beside">{"".join(figures)}</div>' if s.beside else "".join(figures))
        body.append("".join(part) + "</section>")
    body.append(runs_section(t, runs, budget))
    body.append(f'<p class="sub">{esc(t("page.rebuild"))}</p><pre>{esc(command)}</pre>')
    return (f'<!DOCTYPE html>\n<html lang="{esc(t.lang)}"><head><meta charset="utf-8">'
            f"<title>{esc(t('page.title', dataset=dataset))}</title><style>{STYLE}{CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def runs_section(t: Catalogue, runs: dict[str, Obtained], budget: Budget) -> str:
    """The runs the page used: role, run, model, whether it was reused, and how to train it by hand."""
    from aezoo.viz.html import esc

    rows = [f"<tr><th>{esc(t('page.role'))}</th><th>{esc(t('page.run'))}</th><th>{esc(t('page.model'))}</th>"
            f"<th>{esc(t('page.origin'))}</th><th>{esc(t('page.train_command'))}</th></tr>"]
    for role, r in runs.items():
        origin = t("page.reused") if r.reused else t("page.trained")
        rows.append(f"<tr><td>{esc(role)}</td><td>{esc(r.model.run.id)}</td><td>{esc(r.need.model)}</td>"
                    f"<td>{esc(origin)}</td><td><code>{esc(train_command(r.need, budget, r.name))}</code></td></tr>")
    return (f'<section id="runs"><h2>{esc(t("page.runs_title"))}</h2><p class="text">{esc(t("page.runs_text"))}</p>'
            f"<details><summary>{esc(t('page.runs_summary', n=len(runs)))}</summary><table>{''.join(rows)}</table>"
            "</details></section>")
