"""What the commands share: the consoles, a failure in one line, the settings and the store, the operator's
service, tables and JSON, and writing a file only its owner reads."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from bot import logs
from bot.errors import ConfigError

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"paybot: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def settings_or_fail() -> Any:
    """The settings, or one line naming the bad one and exit 2."""
    from bot.config import load_settings

    try:
        return load_settings()
    except ConfigError as err:
        fail(str(err))


def store_engine(settings: Any) -> Any:
    """An engine on the configured store, which migrations (not create_all) keep up to date."""
    from bot.repo.engine import database_url, make_engine

    return make_engine(database_url(settings.database_url, settings.paybot_db_path), create_tables=False)


def operator_tools() -> tuple[Any, Any, Any]:
    """Settings, unit of work and service on the configured store, without talking to X."""
    from bot import migrate
    from bot.bootstrap import make_provider, service_from
    from bot.domain.marks import Mark
    from bot.errors import ConfigError
    from bot.ports import SystemClock
    from bot.repo.sql import SqlStore

    settings = settings_or_fail()
    # What the provider's client or the store logs while an operator command runs (warnings and errors, on
    # standard error) is redacted as the worker's is.
    logs.setup("WARNING", secrets=settings.secrets())
    engine = store_engine(settings)
    if migrate.current(engine) != migrate.head():
        fail("the store's schema is not current: run `paybot db upgrade` first")
    uow = SqlStore(engine)
    with uow() as s:
        bot_id = s.checkpoints.get(Mark.BOT_ID) or ""
    try:
        provider = make_provider(settings, SystemClock())
    except ConfigError as err:
        fail(str(err))
    service = service_from(settings, uow, provider, SystemClock(), bot_id)
    return settings, uow, service


def print_rows(rows: list[dict[str, Any]], columns: list[str], title: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title=title)
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*("" if r.get(c) is None else str(r[c]) for c in columns))
    console.print(table)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
YesOpt = Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")]


def since_or_fail(text: str | None) -> Any:
    from bot.config import parse_duration

    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as err:
        fail(str(err))


def outcome(ok: bool, message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": ok, "message": message}))
    else:
        console.print(message, highlight=False)
    if not ok:
        raise typer.Exit(1)


def write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` to a file only its owner can read (0600), never through a symlink, and over an
    existing file only when `replace` (then still not through a symlink). OSError otherwise."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_TRUNC: tighten it
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def serve_until_stopped(sim: Any) -> None:
    """Keep a simulator's server thread serving until Ctrl-C, then stop it."""
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
