"""The mutation check (tools/mutation_check.py) still fits the code: every planted bug's original text is found
exactly once and every guarding test exists. Running the mutations is the script's job, not the suite's."""
import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "mutation_check.py"


def test_every_mutation_still_applies_to_the_code(monkeypatch):
    spec = importlib.util.spec_from_file_location("mutation_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "mutation_check", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    assert len(module.MUTATIONS) >= 30
    assert module.check_applies(module.MUTATIONS) == []
    covered = {m.file for m in module.MUTATIONS}
    assert {"src/aezoo/core/trainer.py", "src/aezoo/registry/store.py", "src/aezoo/plugins/manager.py"} <= covered
