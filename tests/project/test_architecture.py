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
    ("viz", ["aezoo.viz"]),
    ("api", ["aezoo.api"]),
    ("pages", ["aezoo.pages"]),
    ("commands/cli", ["aezoo.commands", "aezoo.cli", "aezoo.__main__"]),
]
TOP_LEVEL = {"aezoo", "aezoo.__main__", "aezoo.cli", "aezoo.errors"}  # the only modules directly in src/aezoo


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


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the aezoo modules it imports (a package's ``__init__`` counts as the package)."""
    return {m: {t for t in imports(m, p) if t in mods and t != m} for m, p in mods.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles():
    graph = import_graph({m: p for m, p in ALL.items() if m != "aezoo"})  # the facade imports lazily, by name
    assert circles(graph) == []


def test_the_circle_check_finds_a_planted_circle():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_src_aezoo_holds_only_the_facade_main_cli_and_errors():
    assert sorted(m for m in ALL if m.count(".") <= 1 and ALL[m].parent == SRC) == sorted(TOP_LEVEL)


def test_the_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from aezoo.api.load import load\n")
    assert "aezoo.api.load" in imports("aezoo.registry.probe", probe)
