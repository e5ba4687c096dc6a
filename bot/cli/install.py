"""Setting paybot up: a starter `.env` (`init`), every setting checked (`doctor`), the store's migrations (`db
upgrade`, `db current`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bot.cli.base import (
    console,
    fail,
    settings_or_fail,
    store_engine,
    write_private,
)

TEMPLATE = Path(__file__).resolve().parents[2] / "config.example.env"


def init(
    path: Annotated[Path, typer.Option(help="Where to write the settings.")] = Path(".env"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    timeline: Annotated[str, typer.Option(help="x or mastodon: the timeline whose settings are asked.")] = "x",
) -> None:
    """Write a starter .env from config.example.env, asking for the values that matter."""
    if path.exists() and not force:
        fail(f"{path} exists; use --force to replace it")
    if not TEMPLATE.exists():
        fail(f"the template {TEMPLATE} is missing (paybot init runs from a source checkout)")
    if timeline == "mastodon":
        console.print(
            "The Mastodon values: your instance's address, and the access token of an application "
            "made in the bot account's Preferences → Development (scopes read and write)."
        )
        values = {
            "PAYBOT_TIMELINE": "mastodon",
            "MASTODON_BASE_URL": typer.prompt("the instance's address (https://...)"),
            "MASTODON_ACCESS_TOKEN": typer.prompt("access token of the bot account", hide_input=True),
        }
    elif timeline == "x":
        console.print(
            "The X values come from the developer portal: your app's API key and secret, and the access "
            "token and secret of the bot's own account (Read, write and Direct Messages)."
        )
        values = {
            "X_CONSUMER_KEY": typer.prompt("X API key", hide_input=True),
            "X_CONSUMER_SECRET": typer.prompt("X API key secret", hide_input=True),
            "X_ACCESS_TOKEN": typer.prompt("access token of the bot account", hide_input=True),
            "X_ACCESS_TOKEN_SECRET": typer.prompt("access token secret", hide_input=True),
        }
    else:
        fail(f"unknown timeline {timeline!r}: x or mastodon")
    values |= {
        "PAYBOT_HANDLE": typer.prompt("the bot account's handle", default="paybot").lstrip("@"),
        "PAYBOT_CURRENCY": typer.prompt("currency of bare amounts", default="USD").upper(),
        "DATABASE_URL": typer.prompt(
            "DATABASE_URL (empty: SQLite in paybot.db)", default="", show_default=False, hide_input=True
        ),  # it holds the database's password
    }
    out = []
    for line in TEMPLATE.read_text(encoding="utf-8").splitlines():
        key = line.lstrip("# ").split("=", 1)[0]
        if "=" in line and key in values and values[key]:
            out.append(f"{key}={values.pop(key)}")
        else:
            out.append(line)
    try:
        write_private(path, "\n".join(out) + "\n", replace=force)
    except OSError as err:
        fail(f"{path}: {err.strerror or err}")
    console.print(f"wrote {path} (readable by you only); check it with `paybot doctor`", highlight=False)


def doctor() -> None:
    """Check every setting against X, the provider and the store; exit 1 if anything would fail."""
    from bot.doctor import FAIL, run_checks

    marks = {"ok": "[green]✓[/green]", "warn": "[yellow]![/yellow]", "fail": "[red]✗[/red]"}
    table = Table(title="paybot doctor", show_lines=False)
    table.add_column("")
    table.add_column("check")
    table.add_column("result")
    checks = run_checks()
    for c in checks:
        table.add_row(marks[c.status], c.name, c.detail)
    console.print(table)
    if any(c.status == FAIL for c in checks):
        raise typer.Exit(1)


db = typer.Typer(help="The store: its schema version and migrations.", no_args_is_help=True)


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the store's schema to the newest revision (paybot run also does it at start)."""
    from bot import migrate

    engine = store_engine(settings_or_fail())
    before = migrate.current(engine)
    after = migrate.upgrade(engine)
    engine.dispose()
    console.print(f"store at revision {after} (was {before or 'not under migrations'})", highlight=False)


@db.command("current")
def db_current() -> None:
    """Print the store's schema revision and the newest one this paybot knows."""
    from bot import migrate

    engine = store_engine(settings_or_fail())
    console.print(
        f"store: {migrate.current(engine) or 'not under migrations'}; newest: {migrate.head()}", highlight=False
    )
    engine.dispose()
