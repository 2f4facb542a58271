"""The package's import graph has no circle: data flows one way, and a module can be read (and
imported) without knowing which of its importers loads first.

Read from the syntax trees: module-level imports, those under `if TYPE_CHECKING:` included (an
import inside a function is a deliberate deferral of a heavy or optional part).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from rigshift import paths

PACKAGE = paths.ROOT / "src" / "rigshift"


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in PACKAGE.rglob("*.py")}


def _top_level_imports(tree: ast.Module, type_checking: bool) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If | ast.Try):
            # `if TYPE_CHECKING:` counts for circles (a circle in the types is one for the
            # reader), not for what a module loads.
            if not type_checking and "TYPE_CHECKING" in ast.unparse(getattr(node, "test", node)):
                continue
            found += [n for n in node.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def imports_of(name: str, type_checking: bool = True) -> tuple[set[str], set[str]]:
    """The rigshift modules and the other top-level packages `name` imports when loaded."""
    path = MODULES[name]
    ours: set[str] = set()
    others: set[str] = set()
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _top_level_imports(tree, type_checking):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = name if is_package else name.rsplit(".", 1)[0]
                for _ in range(node.level - 1):
                    anchor = anchor.rsplit(".", 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            # `from pkg import submodule` loads the submodule; `from mod import name`, mod.
            targets = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names
            ]
        for target in targets:
            if target.split(".")[0] != "rigshift":
                others.add(target.split(".")[0])
            elif target in MODULES and target != name:
                ours.add(target)
    return ours, others


def import_graph() -> dict[str, set[str]]:
    """Module -> the rigshift modules it imports when it is loaded."""
    return {name: imports_of(name)[0] for name in MODULES}


def loaded_packages(start: str) -> dict[str, str]:
    """Every non-rigshift top-level package that importing `start` loads -> the rigshift
    module that imports it. Importing a module loads its parent packages too."""
    seen: set[str] = set()
    found: dict[str, str] = {}
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        ours, others = imports_of(name, type_checking=False)
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo += [*ours, *(p for p in parents if p in MODULES)]
        for package in others:
            found.setdefault(package, name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle found by a depth-first walk (each reported once, from where it closed)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_check_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_circle() -> None:
    graph = import_graph()
    assert "rigshift.site" in graph["rigshift.render"]
    assert cycles(graph) == []


# What `pip install rigshift` (no extras) brings, by import name: pyproject.toml's dependencies.
BASE_PACKAGES = {"pydantic", "yaml", "jinja2", "click", "rich", "ruamel"}
# The layers every command that does not build the stack goes through.
BASE_LAYERS = ("rigshift.cli", "rigshift.model", "rigshift.plan", "rigshift.usage")


def test_the_layers_of_the_base_install_load_nothing_beyond_its_dependencies() -> None:
    # Pulumi, Ansible, helm's Python parts and torch are extras: an import of one of them at
    # load time breaks `rigshift --help` on a base install (imports inside a function, where
    # the command needs them, are fine).
    allowed = BASE_PACKAGES | set(sys.stdlib_module_names) | {"__future__"}
    modules = [m for m in MODULES if m.startswith(BASE_LAYERS)]
    assert len(modules) > 20
    extra = {
        module: {p: via for p, via in loaded_packages(module).items() if p not in allowed}
        for module in modules
    }
    assert {m: found for m, found in extra.items() if found} == {}


def test_the_layer_check_follows_imports_through_other_modules_and_packages() -> None:
    # The report module imports no Pulumi itself; its package's offline runner does.
    assert loaded_packages("rigshift.preview.report")["pulumi"] == "rigshift.preview.offline"
    assert loaded_packages("rigshift.components.observability")["pulumi"] == (
        "rigshift.components.observability"
    )
