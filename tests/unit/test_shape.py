"""The shape of bot/: no module over 400 lines, and no import cycle among its modules, imports under
TYPE_CHECKING and inside functions counted (a cycle couples modules that should not know each other, whenever
the import runs).

Each rule has an allowlist of what broke it when the rule came in, which may only shrink: a listed module that is
now short enough, or a listed cycle that is gone, fails here too, so that the list is kept true and cannot be
grown back silently."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400

# The modules over MAX_LINES when the rule came in. Splitting one removes it from here; none may be added.
MODULES_OVER_400: set[str] = set()

# The import cycles (strongly connected groups of modules) when the rule came in. Breaking one removes it from
# here; none may be added, and a listed one may not grow.
KNOWN_CYCLES: set[frozenset[str]] = set()


def module_name(path: Path, root: Path) -> str:
    """`bot/x/client.py` -> `bot.x.client`; a package's `__init__.py` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of `package` (under `root`) -> the modules of `package` it imports, read from its source: every
    `import` and `from ... import` statement anywhere in it (at module level, under `if TYPE_CHECKING:`, inside a
    function), relative ones resolved. `from a.b import c` is an import of the module `a.b.c` when there is one,
    else of `a.b` (the module that holds the name c); `import a.b.c` of the longest of a.b.c, a.b, a that is a
    module of `package`."""
    files = {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}

    def known(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        here = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str | None] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets |= {known(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = here.split(".")
                    parent = ".".join(parts[: len(parts) - node.level + 1])
                    base = f"{parent}.{base}" if base else parent
                for alias in node.names:
                    whole = f"{base}.{alias.name}"
                    targets.add(whole if whole in files else known(base))
        graph[name] = {t for t in targets if t is not None and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        top = stack.pop()
                        on_stack.discard(top)
                        group.add(top)
                        if top == node:
                            break
                    if len(group) > 1:
                        found.add(frozenset(group))
    return found


def long_modules(root: Path, package: str) -> dict[str, int]:
    """The modules of `package` over MAX_LINES, with their number of lines."""
    sizes = {
        str(path.relative_to(root)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted((root / package).rglob("*.py"))
    }
    return {path: n for path, n in sizes.items() if n > MAX_LINES}


def test_no_module_is_over_400_lines() -> None:
    """A module is split by responsibility before it passes 400 lines; the ones listed may only shrink."""
    found = long_modules(ROOT, "bot")
    new = {path: n for path, n in found.items() if path not in MODULES_OVER_400}
    assert new == {}, f"over {MAX_LINES} lines: split them: {new}"
    shorter = sorted(MODULES_OVER_400 - set(found))
    assert shorter == [], f"{MAX_LINES} lines or fewer now (or gone): take them off MODULES_OVER_400: {shorter}"


def test_no_import_cycle() -> None:
    """No module imports itself back through others, TYPE_CHECKING imports and imports in functions counted; the
    cycles listed may only go."""
    found = cycles(import_graph(ROOT, "bot"))
    new = sorted(sorted(c) for c in found - KNOWN_CYCLES)
    gone = sorted(sorted(c) for c in KNOWN_CYCLES - found)
    assert new == [], f"import cycles: {new}"
    assert gone == [], f"no longer cycles: take them off KNOWN_CYCLES: {gone}"


def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return import_graph(tmp_path, "pkg")


def test_the_graph_reads_every_form_of_import(tmp_path: Path) -> None:
    graph = _package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.sub import thing\n",
            "pkg/sub/__init__.py": "from . import leaf\nfrom .leaf import name\nthing = 1\n",
            "pkg/sub/leaf.py": "import typing\nif typing.TYPE_CHECKING:\n    from pkg import top\nname = 1\n",
            "pkg/top.py": "import os\n\ndef f():\n    import pkg.sub.leaf\n",
            "pkg/other.py": "from pkg.sub import leaf, thing\nfrom .sub.leaf import name\n",
        },
    )
    assert graph == {
        "pkg": {"pkg.sub"},
        "pkg.sub": {"pkg.sub.leaf"},
        "pkg.sub.leaf": {"pkg.top"},
        "pkg.top": {"pkg.sub.leaf"},
        "pkg.other": {"pkg.sub", "pkg.sub.leaf"},
    }


def test_the_cycle_finder_finds_each_cycle(tmp_path: Path) -> None:
    """A back-import under TYPE_CHECKING, one in a function, and a package whose __init__ imports a submodule that
    imports the package for a name: each is a cycle."""
    graph = _package(
        tmp_path,
        {
            "pkg/__init__.py": "from pkg.a import x\n",
            "pkg/a.py": "from pkg import y\nx = 1\n",
            "pkg/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.c import z\n",
            "pkg/c.py": "def f():\n    from . import b\n",
            "pkg/d.py": "import pkg.b\n",
        },
    )
    assert cycles(graph) == {frozenset({"pkg", "pkg.a"}), frozenset({"pkg.b", "pkg.c"})}


def test_a_long_module_is_found(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg/long.py").write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    (tmp_path / "pkg/short.py").write_text("x = 1\n" * MAX_LINES, encoding="utf-8")
    assert long_modules(tmp_path, "pkg") == {"pkg/long.py": MAX_LINES + 1}
