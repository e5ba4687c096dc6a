"""The `paybot` command: run | demo | simulate | parse | sim-x."""

from __future__ import annotations

import json
import logging
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bot.errors import ConfigError, XAuthError, XError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="paybot: send money by tweet.")
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"paybot: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("tweepy", "urllib3", "requests_oauthlib", "oauthlib", "apscheduler", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def run() -> None:
    """Run the worker: poll X for commands and DMs, move money, answer."""
    from bot.bootstrap import build
    from bot.config import load_settings

    try:
        settings = load_settings()
        settings.require_x()
        _logging(settings.log_level)
        bot = build(settings, migrate_schema=True)
    except ConfigError as err:
        _fail(str(err))
        return
    except XAuthError as err:
        _fail(str(err))
        return
    except XError as err:
        _fail(f"could not reach X: {err}")
        return
    intervals = {
        "mentions": settings.paybot_mentions_interval, "dms": settings.paybot_dms_interval,
        "tick": settings.paybot_tick_interval, "outbox": settings.paybot_outbox_interval,
    }
    try:
        bot.worker.run_scheduler(intervals)
    finally:
        bot.close()


@app.command()
def demo() -> None:
    """Play a short scripted conversation on the embedded X simulator and sandbox."""
    from bot.simulate import run_scenario

    scenario = json.loads(resources.files("bot").joinpath("scenarios/demo.json").read_text("utf-8"))
    console.print("[bold]paybot demo[/bold]: the real worker, tweepy over loopback to the X "
                  "simulator, a SQLite store and the sandbox provider.\n")
    outcome, transcript = run_scenario(scenario)
    for label, said in transcript:
        console.print(f"[cyan]▶ {label}[/cyan]", highlight=False)
        for m in said:
            where = "DM" if m["type"] == "dm" else "reply"
            console.print(f"   @{scenario['bot']} ({where}): {m['text']}", highlight=False, markup=False)
    table = Table(title="Transfers")
    for col in ("tweet", "from", "to", "amount", "currency", "memo", "status"):
        table.add_column(col)
    for t in outcome["transfers"]:
        table.add_row(*(str(t[c]) if t[c] is not None else "" for c in
                        ("tweet", "from", "to", "amount", "currency", "memo", "status")))
    console.print()
    console.print(table)


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="A scenario JSON file.")],
    as_json: Annotated[bool, typer.Option("--json", help="One compact JSON line instead of indented JSON.")] = False,
) -> None:
    """Run the worker through a scenario on a virtual clock; print the outcome as JSON."""
    from bot.simulate import run_scenario

    try:
        data = json.loads(scenario.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        _fail(f"cannot read scenario {scenario}: {err}")
        return
    logging.basicConfig(level=logging.WARNING)
    try:
        outcome, _ = run_scenario(data)
    except (KeyError, ValueError) as err:
        _fail(f"bad scenario step: {err}")
        return
    print(json.dumps(outcome, ensure_ascii=False, indent=None if as_json else 2))


@app.command()
def parse(
    text: Annotated[str | None, typer.Argument(help="The text; one per line on standard input if absent.")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency of bare amounts (default from config).")] = None,
    dm: Annotated[bool, typer.Option("--dm", help="Parse DM commands instead of posts.")] = False,
    bot: Annotated[str | None, typer.Option(help="The bot's handle (default from config).")] = None,
) -> None:
    """Parse commands and print one JSON object per command."""
    from bot.commands import parse_command, parse_dm
    from bot.config import load_settings
    from bot.errors import CommandError

    try:
        settings = load_settings()
    except ConfigError as err:
        _fail(str(err))
        return
    cur = (currency or settings.paybot_currency).upper()
    handle = bot or settings.paybot_handle
    lines = [text] if text is not None else sys.stdin.read().splitlines()
    for line in lines:
        out: dict[str, Any]
        try:
            if dm:
                out = parse_dm(line).to_json()
            else:
                out = parse_command(line, bot=handle, currency=cur, enabled=settings.enabled_currencies()).to_json()
        except CommandError as err:
            out = {"ok": False, "error": err.message}
        print(json.dumps(out, ensure_ascii=False))


@app.command()
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
app.add_typer(db, name="db")


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the store's schema to the newest revision (paybot run also does it at start)."""
    from bot import migrate
    from bot.config import load_settings
    from bot.store import database_url, make_engine

    try:
        settings = load_settings()
    except ConfigError as err:
        _fail(str(err))
        return
    engine = make_engine(database_url(settings.database_url, settings.paybot_db_path), create_tables=False)
    before = migrate.current(engine)
    after = migrate.upgrade(engine)
    engine.dispose()
    console.print(f"store at revision {after} (was {before or 'not under migrations'})", highlight=False)


@db.command("current")
def db_current() -> None:
    """Print the store's schema revision and the newest one this paybot knows."""
    from bot import migrate
    from bot.config import load_settings
    from bot.store import database_url, make_engine

    try:
        settings = load_settings()
    except ConfigError as err:
        _fail(str(err))
        return
    engine = make_engine(database_url(settings.database_url, settings.paybot_db_path), create_tables=False)
    console.print(f"store: {migrate.current(engine) or 'not under migrations'}; newest: {migrate.head()}",
                  highlight=False)
    engine.dispose()


@app.command("sim-x")
def sim_x(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8099,
    state: Annotated[Path | None, typer.Option(help="JSON file holding the simulator's state.")] = None,
    bot: Annotated[str, typer.Option(help="The bot account's handle.")] = "paybot",
    limits: Annotated[str, typer.Option(help="pay_per_use or none.")] = "pay_per_use",
) -> None:
    """Serve the X API simulator on 127.0.0.1 (for `paybot run` with X_API_BASE)."""
    from bot.x.sim import PAY_PER_USE, SIM_ACCESS_TOKEN, SIM_CONSUMER_KEY, UNLIMITED, XSim

    sim = XSim(bot_handle=bot, limits=PAY_PER_USE if limits == "pay_per_use" else UNLIMITED, state_path=state)
    base = sim.start(port)
    console.print(f"X simulator on {base} (bot @{bot}); credentials: X_CONSUMER_KEY={SIM_CONSUMER_KEY} "
                  f"X_ACCESS_TOKEN={SIM_ACCESS_TOKEN}; control API under {base}/_sim/", highlight=False)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
