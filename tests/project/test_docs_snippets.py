"""Every ```python block of README.md and docs/*.md runs as pasted (in a fresh process, an empty registry and a
temporary working folder), so the docs cannot drift from the code."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SRC = ROOT / "examples" / "aezoo-plugin-example" / "src"  # the docs install it first (`pip install -e`)
FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def snippets() -> list[tuple[str, str]]:
    out = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text[:match.start()].count("\n") + 1
            out.append((f"{doc.relative_to(ROOT)}:{line}", match.group(1)))
    return out


def test_the_docs_have_python_snippets():
    names = [name for name, _ in snippets()]
    assert any(n.startswith("README.md") for n in names) and any(n.startswith("docs/") for n in names)


@pytest.mark.parametrize("where, code", snippets(), ids=[name for name, _ in snippets()])
def test_snippet_runs_as_pasted(where, code, tmp_path):
    env = dict(os.environ, AEZOO_HOME=str(tmp_path / "home"), AEZOO_LOAD_PLUGINS="builtin",
               PYTHONPATH=os.pathsep.join([str(EXAMPLE_SRC), *sys.path]), MPLBACKEND="Agg")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{where} failed:\n{code}\n{result.stderr[-3000:]}"
