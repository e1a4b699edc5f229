"""The layout says what a module is (docs/DESIGN.md, "Layout"), and the import graph keeps it so.

Read from the source with `ast`, so function-local imports count as much as module-level ones
(an import inside a function is still an edge: it hides a cycle, it does not remove it). Imports
under `if TYPE_CHECKING:` are annotations only and are left out.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("ingest", "expectations", "complaints", "cli", "orchestration")
PLAIN = ("ingest", "expectations", "complaints")
"""Packages that never import Dagster, directly or through another product module."""
DAGSTER_DISTRIBUTIONS = ("dagster", "dagster_dbt", "dagster_postgres", "dagster_webserver")
# A function-local import must say why it is one: only start-up time justifies it.
WHY_LOCAL = ("start-up", "startup")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def product_modules() -> dict[str, Path]:
    found = {}
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            if "dbt_project" not in path.parts:
                found[module_name(path)] = path
    return found


def _type_checking_block(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Name | ast.Attribute)
        and ast.unparse(node.test).endswith("TYPE_CHECKING")
    )


def _imports(
    node: ast.AST, in_function: bool = False
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for child in ast.iter_child_nodes(node):
        if _type_checking_block(child):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function
        local = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
        yield from _imports(child, local)


def imported_names(
    node: ast.Import | ast.ImportFrom, module: str, modules: frozenset[str] = frozenset()
) -> list[str]:
    """Absolute names an import statement reaches: `from a import b` reaches module a.b when
    there is one (as import-linter counts it), else a itself."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.rsplit(".", node.level)[0]
        base = f"{package}.{base}" if base else package
    submodules = [f"{base}.{alias.name}" for alias in node.names]
    named = [s for s in submodules if s in modules]
    return named if len(named) == len(submodules) else [base, *named]


def import_graph() -> dict[str, set[str]]:
    modules = product_modules()
    names = frozenset(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = set()
        for node, _ in _imports(ast.parse(path.read_text(), str(path))):
            edges |= {target for target in imported_names(node, name, names) if target in names}
        graph[name] = edges - {name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_among_the_products_modules() -> None:
    graph = import_graph()
    assert len(graph) > 50  # every module was read
    assert cycles(graph) == []


def test_plain_packages_never_import_dagster_or_the_orchestration() -> None:
    offenders = []
    for name, path in product_modules().items():
        if not name.startswith(PLAIN):
            continue
        for node, _ in _imports(ast.parse(path.read_text(), str(path))):
            for target in imported_names(node, name):
                top = target.split(".")[0]
                if top in (*DAGSTER_DISTRIBUTIONS, "orchestration", "cli"):
                    offenders.append(f"{name} imports {target}")
    assert offenders == []


def test_only_the_cli_knows_exit_codes() -> None:
    offenders = []
    for name, path in product_modules().items():
        if name.startswith("cli"):
            continue
        for node, _ in _imports(ast.parse(path.read_text(), str(path))):
            if any(t.split(".")[0] == "cli" for t in imported_names(node, name)):
                offenders.append(name)
    assert offenders == []


def test_every_function_local_import_says_start_up_time_needs_it() -> None:
    unexplained = []
    for path in product_modules().values():
        lines = path.read_text().splitlines()
        tree = ast.parse("\n".join(lines), str(path))
        for node, local in _imports(tree):
            if not local:
                continue
            # The reason stands in a comment on the import or in the lines just above it (one
            # comment may cover a group of imports).
            window = lines[max(0, node.lineno - 8) : node.end_lineno]
            if not any(word in line.lower() for line in window for word in WHY_LOCAL):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []
