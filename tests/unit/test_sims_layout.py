"""The simulators' layout: modules of a readable size, and no import cycle among them, even one only a type hint
makes (TYPE_CHECKING imports counted: a simulator's parts depend one way, on its state and on kit)."""

from __future__ import annotations

from pathlib import Path

import grimp

SIMS = Path(__file__).resolve().parents[2] / "bot" / "sims"
MAX_LINES = 400


def test_every_simulator_module_is_at_most_400_lines() -> None:
    sizes = {str(p.relative_to(SIMS)): len(p.read_text(encoding="utf-8").splitlines()) for p in SIMS.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_no_simulator_module_imports_itself_back_even_for_a_type() -> None:
    graph = grimp.build_graph("bot", exclude_type_checking_imports=False)
    modules = sorted(m for m in graph.modules if m == "bot.sims" or m.startswith("bot.sims."))
    done: set[str] = set()
    loops: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        for nxt in sorted(graph.find_modules_directly_imported_by(module)):
            if nxt in path:
                loops.append([*path[path.index(nxt) :], nxt])
            elif nxt in modules and nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(module)

    for module in modules:
        if module not in done:
            visit(module, [module])
    assert loops == []
