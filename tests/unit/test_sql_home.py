"""SQL has one home: no module of bot/ outside the SQL adapter (bot/repo) and the migrations (bot/migrations) imports
sqlalchemy or sqlmodel, but those listed below, each with its reason. The list may only shrink: a module that stops
importing SQL leaves it (the test says so), and a new one cannot join it without this file changing."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SQL = ("sqlalchemy", "sqlmodel")
HOMES = ("bot/repo/", "bot/migrations/")

# Modules outside the adapter that still import SQL, and why. May only shrink.
ALLOWED = {
    "bot/migrate.py": "drives alembic on a connection: the migrations' own runner, beside bot/migrations",
}


def imports_sql(path: Path) -> bool:
    """Whether the module imports sqlalchemy or sqlmodel (any form, anywhere in it: in a function too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] in SQL for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] in SQL:
            return True
    return False


def sql_modules_outside_the_adapter() -> set[str]:
    found = set()
    for path in sorted((ROOT / "bot").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if not rel.startswith(HOMES) and imports_sql(path):
            found.add(rel)
    return found


def test_no_module_outside_the_adapter_imports_sql_but_those_listed() -> None:
    found = sql_modules_outside_the_adapter()
    assert found - ALLOWED.keys() == set(), "SQL outside bot/repo: move it into the adapter"
    assert ALLOWED.keys() - found == set(), "no SQL left in these: take them off ALLOWED"


def test_the_finder_sees_each_form_of_import(tmp_path: Path) -> None:
    forms = {
        "import sqlalchemy\n": True,
        "import sqlalchemy.orm as orm\n": True,
        "from sqlmodel import select\n": True,
        "def f():\n    from sqlalchemy.exc import SQLAlchemyError\n": True,
        "from bot.repo.engine import make_engine\n": False,
        "import sqlite3\n": False,
        "from .sqlalchemy import x\n": False,
    }
    for i, (text, sql) in enumerate(forms.items()):
        module = tmp_path / f"m{i}.py"
        module.write_text(text)
        assert imports_sql(module) is sql, text
