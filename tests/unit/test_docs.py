"""The README and the documentation site say what the code does: each check here fails when one drifts.

(`mkdocs build --strict`, run by scripts/test, fails on a broken link, a missing page or a page left out of the
nav; these checks hold the pages' content to the code.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main

from bot.cli import app

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
QUICKSTART = [
    "    bash scripts/demo     # install into .venv, then `paybot demo`\n",
    "    bash scripts/test     # install into .venv with test tools, run ruff and mypy --strict, then every test\n",
]


def _cli_commands() -> set[str]:
    """Every command `paybot --help` lists, a group's subcommands as "db upgrade"."""
    group = typer.main.get_command(app)
    names: set[str] = set()
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names |= {f"{name} {sub}" for sub in subcommands} if subcommands else {name}
    return names


def _table_commands(page: Path) -> set[str]:
    """The commands a page's command table names: each `paybot NAME` in a row's first cell."""
    names: set[str] = set()
    for row in page.read_text(encoding="utf-8").splitlines():
        if row.startswith("| `paybot"):
            first = row.split(" | ")[0]
            names |= {m.strip() for m in re.findall(r"`paybot ((?:(?:db|operator) )?[a-z-]+)", first)}
    return names


def test_the_readme_keeps_the_two_quickstart_commands() -> None:
    """The README's quickstart is two commands, word for word, and both scripts exist."""
    text = README.read_text(encoding="utf-8")
    for line in QUICKSTART:
        assert line in text
    assert (ROOT / "scripts/demo").is_file() and (ROOT / "scripts/test").is_file()


def test_the_readme_reads_in_five_minutes() -> None:
    """The README stays a front page of about 200 lines; the manual is the documentation site."""
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200


def test_every_command_is_in_the_readme_and_in_the_commands_page() -> None:
    """The README's table and docs/operating/commands.md name exactly the commands the CLI has."""
    commands = _cli_commands()
    assert _table_commands(README) == commands
    assert _table_commands(DOCS / "operating/commands.md") == commands


def test_the_command_reference_is_current() -> None:
    """docs/commands/reference.md is what scripts/command_reference.py makes of the grammar and its tests today."""
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/command_reference.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr


def test_the_module_map_names_every_module() -> None:
    """docs/design/modules.md names each module of bot/, or the folder it is in."""
    page = (DOCS / "design/modules.md").read_text(encoding="utf-8")
    named = set(re.findall(r"[\w/*]+\.(?:py|lark)|[\w]+/", page))
    missing = []
    for path in sorted((ROOT / "bot").rglob("*")):
        rel = path.relative_to(ROOT / "bot")
        if path.suffix not in (".py", ".lark") or path.name == "__init__.py" or rel.parts[0] == "migrations":
            continue
        folders = {"/".join(rel.parts[:i]) + "/" for i in range(1, len(rel.parts))}
        patterns = {p for p in named if "*" in p}
        if not (
            str(rel) in named or rel.name in named or folders & named or any(Path(str(rel)).match(p) for p in patterns)
        ):
            missing.append(str(rel))
    assert not missing, f"not in docs/design/modules.md's module map: {missing}"


def test_each_decision_has_one_record_listed_once() -> None:
    """Decisions are numbered 1, 2, 3… without a gap, and docs/decisions/index.md links to each record."""
    records = sorted(p.name for p in (DOCS / "decisions").glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert [int(name[:4]) for name in records] == list(range(1, len(records) + 1))
    index = (DOCS / "decisions/index.md").read_text(encoding="utf-8")
    for name in records:
        assert index.count(f"]({name})") == 1, name
        title = (DOCS / "decisions" / name).read_text(encoding="utf-8").splitlines()[0]
        assert title.startswith(f"# {int(name[:4])}. "), name


def test_the_settings_page_shows_the_example_settings_file_itself() -> None:
    """The settings page includes config.example.env at build time rather than a copy that could drift."""
    page = (DOCS / "operating/settings.md").read_text(encoding="utf-8")
    assert '--8<-- "config.example.env"' in page
    assert (ROOT / "config.example.env").is_file()
