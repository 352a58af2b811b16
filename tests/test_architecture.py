"""The layers of docs/architecture.md: no module imports from a layer above its own (imports inside functions
count too)."""
import ast
from pathlib import Path

import aezoo

SRC = Path(aezoo.__file__).parent

# lowest first; a module may import its own layer and the layers below it (see docs/architecture.md)
LAYERS = [
    ("base", ["aezoo.errors", "aezoo.plugins.hookspecs"]),
    ("data", ["aezoo.data"]),
    ("core", ["aezoo.core"]),
    ("nets/models", ["aezoo.nets", "aezoo.models"]),
    ("plugins", ["aezoo.plugins"]),
    ("registry", ["aezoo.registry"]),
    ("api", ["aezoo.api", "aezoo.sizing", "aezoo.sharing", "aezoo.training", "aezoo.evaluate", "aezoo.generate",
             "aezoo.figures", "aezoo.views", "aezoo.report",
               "aezoo.picks", "aezoo.metric_table", "aezoo.run_report", "aezoo.compare",
               "aezoo.tracking", "aezoo.trackers_builtin", "aezoo.classifier", "aezoo.progress", "aezoo.testing"]),
    ("commands/cli", ["aezoo.commands", "aezoo.cli", "aezoo.__main__"]),
]


def layer_of(module: str) -> int | None:
    """Index in LAYERS of the longest matching prefix; None for the package root ``aezoo`` (the facade)."""
    best = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def modules() -> dict[str, Path]:
    out = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(module: str, path: Path) -> set[str]:
    """Every aezoo module ``path`` imports, anywhere in it (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found |= {f"{base}.{a.name}" if f"{base}.{a.name}" in ALL else base for a in node.names}
    return {m for m in found if m == "aezoo" or m.startswith("aezoo.")}


ALL = modules()


def test_every_module_is_in_a_layer():
    assert [m for m in ALL if m != "aezoo" and layer_of(m) is None] == []


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for module, path in sorted(ALL.items()):
        own = layer_of(module)
        if own is None:
            continue
        for target in sorted(imports(module, path)):
            theirs = layer_of(target)
            if theirs is not None and theirs > own:
                upward.append(f"{module} ({LAYERS[own][0]}) imports {target} ({LAYERS[theirs][0]})")
    assert upward == []


def test_core_imports_no_registry_plugins_commands_cli_or_api():
    banned = ("aezoo.registry", "aezoo.plugins", "aezoo.commands", "aezoo.cli", "aezoo.api")
    bad = [(m, t) for m, p in ALL.items() if m.startswith("aezoo.core") for t in imports(m, p)
           if t.startswith(banned)]
    assert bad == []


def test_the_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from aezoo.api import load\n")
    assert "aezoo.api" in imports("aezoo.registry.probe", probe)
