"""No module-level import cycle in labkit.

Imports inside functions (loaded on first use) and under ``if TYPE_CHECKING:`` (never run) do
not count; every other import runs when its module is first imported. A cycle among those makes
the import order matter: whichever module is imported first sees the other half-initialised.
"""

from __future__ import annotations

import ast
import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

LABKIT = Path(__file__).resolve().parent.parent / "labkit"


def module_files(root: Path) -> dict[str, Path]:
    """Every module under the package folder ``root``, by dotted name."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def module_level_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that run when the module is imported."""
    todo: list[ast.AST] = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue  # runs when called
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)  # the body is for the type checker only
        else:
            todo.extend(ast.iter_child_nodes(node))


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports at module level."""
    modules = module_files(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    base = importlib.util.resolve_name("." * node.level + base, package)
                # `from pkg import name`: the submodule pkg.name if there is one, else pkg
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                    for alias in node.names
                ]
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_labkit_has_no_module_level_import_cycle() -> None:
    graph = import_graph(LABKIT)
    assert len(graph) > 100 and graph["labkit.load.result"]  # the walk found the modules
    found = [sorted(c) for c in cycles(graph)]
    assert not found, f"module-level import cycles: {found}"


def _package(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / "pkg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        # a ⇄ b, one by `import`, one by `from ... import`
        ({"__init__.py": "", "a.py": "import pkg.b\n", "b.py": "from pkg import a\n"},
         [{"pkg.a", "pkg.b"}]),
        # relative imports, three modules, one of them inside a try block
        ({"__init__.py": "", "sub/__init__.py": "", "sub/x.py": "from . import y\n",
          "sub/y.py": "try:\n    from ..z import f\nexcept ImportError:\n    pass\n",
          "z.py": "from pkg.sub.x import g\n"},
         [{"pkg.sub.x", "pkg.sub.y", "pkg.z"}]),
        # inside a function or under TYPE_CHECKING: no cycle
        ({"__init__.py": "", "a.py": "def f():\n    import pkg.b\n",
          "b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\n"},
         []),
    ],
)  # fmt: skip
def test_the_cycle_finder_finds_cycles(
    tmp_path: Path, files: dict[str, str], expected: list[set[str]]
) -> None:
    found = cycles(import_graph(_package(tmp_path, files)))
    assert [set(c) for c in found] == expected
