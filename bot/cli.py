"""The `paybot` command: run | demo | simulate | parse | sim-x."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import threading
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from bot import logs
from bot.errors import ConfigError, XAuthError, XError

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="paybot: send money by tweet."
)
console = Console()
err_console = Console(stderr=True)


def _fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"paybot: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def run(
    web_too: Annotated[
        bool,
        typer.Option(
            "--web",
            help="Serve paybot's pages (`paybot web`) in this process too, "
            "on $PORT: one process (one dyno) for the worker and the pages.",
        ),
    ] = False,
    port: Annotated[int, typer.Option(envvar="PORT", help="The pages' port with --web ($PORT on Heroku).")] = 8000,
    host: Annotated[str, typer.Option(help="The pages' address with --web.")] = "0.0.0.0",  # noqa: S104 (a dyno's router)
) -> None:
    """Run the worker: poll X for commands and DMs, move money, answer (with --web, serve the pages as well)."""
    from bot.bootstrap import build
    from bot.config import load_settings

    try:
        settings = load_settings()
        settings.require_timeline()
        logs.setup(settings.log_level, secrets=settings.secrets())
        logging.getLogger("bot").debug("logging at %s", settings.log_level)
        for override in settings.overrides():
            logging.getLogger("bot").warning("API override in force, for emulators and tests only: %s", override)
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
        "mentions": settings.paybot_mentions_interval,
        "dms": settings.paybot_dms_interval,
        "tick": settings.paybot_tick_interval,
        "outbox": settings.paybot_outbox_interval,
        "reconcile": settings.paybot_reconcile_interval,
    }
    server = None
    try:
        if web_too:
            try:
                server = _web_server(settings, bot.engine, host, port)
            except ConfigError as err:
                _fail(str(err))
            threading.Thread(target=server.run, daemon=True, name="web").start()
            logging.getLogger("bot").info("serving paybot's pages on port %s", server.effective_port)
        bot.worker.run_scheduler(intervals)
    finally:
        if server is not None:
            server.close()
        bot.close()


def _web_server(settings: Any, engine: Any, host: str, port: int) -> Any:
    """waitress serving paybot's web app (`bot.web.app`) on the store of `engine`, with Stripe's webhook when
    PAYBOT_PROVIDER=stripe and STRIPE_WEBHOOK_SECRET is set; ConfigError for a missing or bad setting."""
    from functools import partial

    from bot.bootstrap import service_from
    from bot.console.pages import register as register_console
    from bot.domain.marks import Mark
    from bot.ports import SystemClock
    from bot.providers.stripe import StripeProvider
    from bot.providers.stripe.webhook import register, webhook_server
    from bot.repo.sql import SqlStore
    from bot.web.app import create_app

    store = SqlStore(engine)
    webhook = None
    if settings.paybot_provider == "stripe" and settings.stripe_webhook_secret:
        platform_secret, connect_secret = settings.require_webhook_secrets()
        # A service of its own, as a separate process would have: the worker's is the worker thread's.
        provider = StripeProvider.from_settings(settings, SystemClock())
        with store() as s:
            bot_id = s.checkpoints.get(Mark.BOT_ID) or ""
        service = service_from(settings, store, provider, SystemClock(), bot_id)
        webhook = partial(
            register,
            provider=provider,
            platform_secret=platform_secret,
            apply=service.apply_event,
            connect_secret=connect_secret,
            endpoint="stripe_webhook",
        )
    card = mangopay = None
    if settings.paybot_provider == "mangopay":
        from bot.providers.mangopay_cards import MangopayCards
        from bot.providers.mangopay_provider import MangopayProvider

        # Mangopay's pages (cash-out account, SCA returns) and the card page's side, people on the app's store.
        mangopay = MangopayProvider.from_settings(settings, SystemClock(), store=store)
        card = MangopayCards(mangopay)
    console = partial(
        register_console,
        store=store,
        clock=SystemClock(),
        service=partial(_service, settings, store),
        currency=settings.paybot_currency,
        budget_usd=float(settings.paybot_x_budget_usd),
    )
    app_ = create_app(settings, store, SystemClock(), webhook=webhook, console=console, card=card, mangopay=mangopay)
    return webhook_server(app_, host, port)  # waitress, with limits for the internet


def _service(settings: Any, store: Any) -> Any:
    """A service on `store` with the configured provider, for the console's actions (made at the first one)."""
    from bot.bootstrap import make_provider, service_from
    from bot.domain.marks import Mark
    from bot.ports import SystemClock

    provider = make_provider(settings, SystemClock())
    with store() as s:
        bot_id = s.checkpoints.get(Mark.BOT_ID) or ""
    return service_from(settings, store, provider, SystemClock(), bot_id)


@app.command()
def web(
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on ($PORT on Heroku).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104 (a dyno's router)
) -> None:
    """Serve paybot's pages (reached through the links the bot DMs) and, on Stripe, its webhook, without the
    worker (`paybot run --web` runs both in one process)."""
    from bot import migrate

    settings = _settings()
    logs.setup(settings.log_level, secrets=settings.secrets())
    try:
        settings.require_web()  # before anything is made
    except ConfigError as err:
        _fail(str(err))
    engine = _store_engine(settings)
    try:
        migrate.upgrade(engine)  # as `paybot run` does: whichever starts first brings the store up to date
        server = _web_server(settings, engine, host, port)
    except ConfigError as err:
        _fail(str(err))
    print(f"Serving paybot's pages on http://{host}:{server.effective_port}", flush=True)

    def stop(*_: object) -> None:
        raise KeyboardInterrupt  # out of waitress's loop; requests in flight finish in close()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        engine.dispose()


@app.command()
def demo(
    timeline: Annotated[str, typer.Option(help="x or mastodon: the timeline simulator to play it on.")] = "x",
) -> None:
    """Play a short scripted conversation on the embedded X (or Mastodon) simulator and sandbox."""
    from bot.sims.runner import run_scenario

    scenario = json.loads(resources.files("bot").joinpath("scenarios/demo.json").read_text("utf-8"))
    if timeline not in ("x", "mastodon"):
        _fail(f"unknown timeline {timeline!r}: x or mastodon")
        return
    client = "Mastodon.py over loopback to the Mastodon" if timeline == "mastodon" else "tweepy over loopback to the X"
    console.print(
        f"[bold]paybot demo[/bold]: the real worker, {client} simulator, a SQLite store and the sandbox provider.\n"
    )
    outcome, transcript = run_scenario(scenario, timeline=timeline)
    for label, said in transcript:
        console.print(f"[cyan]▶ {label}[/cyan]", highlight=False)
        for m in said:
            where = "DM" if m["type"] == "dm" else "reply"
            console.print(f"   @{scenario['bot']} ({where}): {m['text']}", highlight=False, markup=False)
    table = Table(title="Transfers")
    for col in ("tweet", "from", "to", "amount", "currency", "memo", "status"):
        table.add_column(col)
    for t in outcome["transfers"]:
        table.add_row(
            *(
                str(t[c]) if t[c] is not None else ""
                for c in ("tweet", "from", "to", "amount", "currency", "memo", "status")
            )
        )
    console.print()
    console.print(table)


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="A scenario JSON file.")],
    as_json: Annotated[bool, typer.Option("--json", help="One compact JSON line instead of indented JSON.")] = False,
    provider: Annotated[
        str,
        typer.Option(
            help="sandbox, stripe or mangopay (that adapter against the built-in Stripe or Mangopay emulator)."
        ),
    ] = "sandbox",
    timeline: Annotated[
        str,
        typer.Option(
            help="x or mastodon (a tweet is a public status, a DM a direct status, on the built-in Mastodon simulator)."
        ),
    ] = "x",
) -> None:
    """Run the worker through a scenario on a virtual clock; print the outcome as JSON."""
    from bot.sims.runner import run_scenario

    try:
        data = json.loads(scenario.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        _fail(f"cannot read scenario {scenario}: {err}")
        return
    logging.basicConfig(level=logging.WARNING)
    try:
        outcome, _ = run_scenario(data, provider=provider, timeline=timeline)
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
    from bot.errors import CommandError

    settings = _settings()
    if currency is not None and not _is_utf8(currency):
        _fail("--currency is not valid UTF-8")
    if bot is not None and not re.fullmatch(r"[A-Za-z0-9_]{1,15}", bot.lstrip("@")):
        _fail("--bot is not an X handle (1 to 15 of A-Z, a-z, 0-9 and _)")
    cur = (currency or settings.paybot_currency).upper()
    handle = bot.lstrip("@") if bot else settings.paybot_handle
    lines = [text] if text is not None else _stdin_lines()
    for line in lines:
        out: dict[str, Any]
        try:
            if not _is_utf8(line):
                out = {"ok": False, "error": "the text is not valid UTF-8"}
            elif dm:
                out = parse_dm(line).to_json()
            else:
                out = parse_command(line, bot=handle, currency=cur, enabled=settings.enabled_currencies()).to_json()
        except CommandError as err:
            out = {"ok": False, "error": err.message}
        print(json.dumps(out, ensure_ascii=False))


def _stdin_lines() -> list[str]:
    """Standard input's lines, read as UTF-8 whatever the locale; bytes that are not UTF-8 are kept as
    lone surrogates (surrogateescape), so that their line is refused, not the whole input."""
    buffer = getattr(sys.stdin, "buffer", None)
    data = buffer.read().decode("utf-8", "surrogateescape") if buffer is not None else sys.stdin.read()
    return data.splitlines()


def _is_utf8(text: str) -> bool:
    """False for a text holding lone surrogates: bytes that were not UTF-8 (argv, standard input)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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


# ------------------------------------------------------------------ operators


def _settings() -> Any:
    """The settings, or one line naming the bad one and exit 2."""
    from bot.config import load_settings

    try:
        return load_settings()
    except ConfigError as err:
        _fail(str(err))


def _store_engine(settings: Any) -> Any:
    """An engine on the configured store, which migrations (not create_all) keep up to date."""
    from bot.repo.engine import database_url, make_engine

    return make_engine(database_url(settings.database_url, settings.paybot_db_path), create_tables=False)


def _operator() -> tuple[Any, Any, Any]:
    """Settings, unit of work and service on the configured store, without talking to X."""
    from bot import logs, migrate
    from bot.bootstrap import make_provider, service_from
    from bot.domain.marks import Mark
    from bot.errors import ConfigError
    from bot.ports import SystemClock
    from bot.repo.sql import SqlStore

    settings = _settings()
    # What the provider's client or the store logs while an operator command runs (warnings and errors, on
    # standard error) is redacted as the worker's is.
    logs.setup("WARNING", secrets=settings.secrets())
    engine = _store_engine(settings)
    if migrate.current(engine) != migrate.head():
        _fail("the store's schema is not current: run `paybot db upgrade` first")
    uow = SqlStore(engine)
    with uow() as s:
        bot_id = s.checkpoints.get(Mark.BOT_ID) or ""
    try:
        provider = make_provider(settings, SystemClock())
    except ConfigError as err:
        _fail(str(err))
    service = service_from(settings, uow, provider, SystemClock(), bot_id)
    return settings, uow, service


def _print_rows(rows: list[dict[str, Any]], columns: list[str], title: str, as_json: bool) -> None:
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


def _since(text: str | None) -> Any:
    from bot.config import parse_duration

    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as err:
        _fail(str(err))


@app.command("transfers")
def transfers_cmd(
    status: Annotated[str | None, typer.Option(help="Only this status (pending, completed, held...).")] = None,
    user: Annotated[str | None, typer.Option(help="Only transfers from or to this @handle.")] = None,
    since: Annotated[str | None, typer.Option(help="Only the last 30m, 2d...")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List transfers, newest first."""
    from datetime import UTC, datetime

    from bot import admin

    _, uow, _ = _operator()
    rows = admin.transfers(uow, status=status, user=user, since=_since(since), now=datetime.now(UTC))
    _print_rows(
        rows, ["id", "created_at", "from", "to", "amount", "currency", "status", "code", "memo"], "Transfers", as_json
    )


@app.command()
def show(transfer_id: int, as_json: JsonOpt = False) -> None:
    """One transfer's full story: fields, provider ids, every step with its time, every message."""
    from bot import admin

    _, uow, _ = _operator()
    data = admin.show(uow, transfer_id)
    if data is None:
        _fail(f"no transfer {transfer_id}", 1)
    if data is None:  # cannot happen: said so, rather than an assert that -O removes
        raise RuntimeError("data is missing")
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    for key in (
        "id",
        "kind",
        "from",
        "to",
        "amount",
        "currency",
        "memo",
        "status",
        "reason",
        "code",
        "tweet",
        "command_tweet",
        "pay_key",
        "payment_ref",
        "refunded",
        "expires_at",
        "hold_until",
    ):
        console.print(f"{key:>14}: {data[key]}", highlight=False, markup=False)
    if data["settlements"]:
        _print_rows(
            data["settlements"],
            ["at", "step", "amount", "status", "key", "ref", "failure"],
            "Money after the payment",
            False,
        )
    _print_rows(data["timeline"], ["at", "status", "note"], "Timeline", False)
    _print_rows(data["messages"], ["at", "kind", "to", "status", "text"], "Messages", False)


@app.command()
def refund(
    transfer_id: int,
    amount: Annotated[
        str | None,
        typer.Option(
            help='Refund only this much of a completed transfer ("2.50", in its currency); again later for more, '
            "up to its amount. Without it: all that is left (safe to repeat)."
        ),
    ] = None,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Give a completed or held transfer's money back to its sender, all of it or part (asks first)."""
    from bot.admin import refund_question
    from bot.errors import CommandError
    from bot.money import parse_minor

    _, _, service = _operator()
    t, back, left = service.refund_plan(transfer_id)
    minor = None
    if t is not None and amount is not None:
        try:
            minor = parse_minor(amount, t.currency)
        except CommandError as err:
            _fail(f"--amount {amount!r}: {err}")
    if t is not None and not yes and not typer.confirm(refund_question(transfer_id, t, back, minor, left)):
        raise typer.Exit(1)
    ok, message = service.operator_refund(transfer_id, minor)
    _outcome(ok, message, as_json)


@app.command()
def reverse(
    transfer_id: int,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Take back from a completed transfer's recipient what they still hold of it; the platform keeps it (after a
    dispute took the payment back from the platform). Neither party is told by the bot. Asks first."""
    _, _, service = _operator()
    if not yes and not typer.confirm(f"Take transfer {transfer_id}'s money back from its recipient?"):
        raise typer.Exit(1)
    ok, message = service.operator_reverse(transfer_id)
    _outcome(ok, message, as_json)


def _outcome(ok: bool, message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"ok": ok, "message": message}))
    else:
        console.print(message, highlight=False)
    if not ok:
        raise typer.Exit(1)


@app.command()
def reconcile(
    days: Annotated[int, typer.Option(help="Compare the transfers of the last DAYS days.", min=1)] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Compare the store with the payment provider and print every mismatch (exit 1 if any)."""
    from datetime import UTC, datetime, timedelta

    from bot.errors import ProviderError
    from bot.reconcile import reconcile as run_reconcile
    from bot.reconcile import record

    _, uow, service = _operator()
    since = datetime.now(UTC) - timedelta(days=days)
    try:
        mismatches, resolved = run_reconcile(service, since)
    except ProviderError as err:
        _fail(f"could not read the provider's records: {err}")
        return
    record(uow, datetime.now(UTC), days, mismatches, resolved)
    rows = [m.as_dict() for m in mismatches]
    if as_json:
        print(json.dumps({"mismatches": rows, "resolved_by_lookup": resolved}, ensure_ascii=False))
    else:
        if resolved:
            print(f"{resolved} transfer(s) stuck in executing were resolved by looking their payment up.")
        if rows:
            _print_rows(rows, ["transfer", "ref", "store", "provider", "what"], "Mismatches", False)
        else:
            print(f"No mismatches: the store and {service.provider.name} agree on the last {days} days.")
    if rows:
        raise typer.Exit(1)


@app.command()
def webhook(
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on ($PORT on Heroku).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104 (a dyno's router)
) -> None:
    """Receive Stripe's events at POST /stripe/webhook, alone (superseded by `paybot web`, which serves it too)."""
    from bot.providers.stripe.webhook import PATH, make_app, webhook_server

    settings, _uow, service = _operator()
    if settings.paybot_provider != "stripe":
        _fail("the webhook is for PAYBOT_PROVIDER=stripe")
    try:
        signing_secrets = settings.require_webhook_secrets()
    except ConfigError as err:
        _fail(str(err))
        return
    logs.setup(settings.log_level, secrets=settings.secrets())
    platform_secret, connect_secret = signing_secrets
    app_ = make_app(service.provider, platform_secret, service.apply_event, connect_secret=connect_secret)
    server = webhook_server(app_, host, port)  # waitress, with limits for the internet (werkzeug's is for development)
    print(f"Listening for Stripe events on http://{host}:{server.effective_port}{PATH}", flush=True)

    def stop(*_: object) -> None:
        raise KeyboardInterrupt  # out of waitress's loop; requests in flight finish in close()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


@app.command()
def cancel(transfer_id: int, as_json: JsonOpt = False) -> None:
    """Cancel a pending transfer; its sender is told by DM."""
    _, _, service = _operator()
    ok, message = service.operator_cancel(transfer_id)
    _outcome(ok, message, as_json)


@app.command()
def status(as_json: JsonOpt = False) -> None:
    """Is the worker alive, what is waiting, how much X headroom and money is left today."""
    from datetime import UTC, datetime

    from bot import admin

    _, uow, _ = _operator()
    data = admin.status(uow, datetime.now(UTC))
    if as_json:
        print(json.dumps(data))
        return
    age = data["heartbeat_age_s"]
    console.print(
        f"worker: {data['worker']}"
        + (f" (last heartbeat {age} s ago)" if age is not None else "")
        + ("; PAYMENTS PAUSED" if data["paused"] else "")
        + ("; WINDING DOWN (no new commands)" if data["winding_down"] else ""),
        highlight=False,
    )
    q = data["queues"]
    console.print(
        f"queues: {q['pending']} pending, {q['executing']} executing, "
        f"{q['needs_auth']} waiting for a bank's approval, {q['held']} held, "
        f"{q['outbox']} messages to send; provider errors in the last hour: "
        f"{data['provider_errors_last_hour']}",
        highlight=False,
    )
    for warning in data["money_warnings"]:
        console.print(f"WARNING: {warning['text']}", highlight=False, markup=False, soft_wrap=True)
    jobs = [{"job": k, "last ok": v.get("ok"), "last error": v.get("error")} for k, v in data["jobs"].items()]
    _print_rows(jobs, ["job", "last ok", "last error"], "Jobs", False)
    limits = [{"endpoint": k, **v, "paused until": data["x_paused"].get(k)} for k, v in data["x_limits"].items()]
    _print_rows(limits, ["endpoint", "limit", "remaining", "reset", "paused until"], "X rate limits", False)
    usage = data["x_usage_today"]
    if usage:
        console.print(
            f"X today ({usage['day']}): {usage['requests_total']} requests, about ${usage['usd']:.2f}", highlight=False
        )


@app.command()
def pause(as_json: JsonOpt = False) -> None:
    """Stop moving money: confirmed payments wait, new commands get a maintenance answer; reading goes on."""
    _, _, service = _operator()
    service.set_paused(True)
    _outcome(True, "payments paused; `paybot resume` starts them again", as_json)


@app.command("wind-down")
def wind_down(yes: YesOpt = False, as_json: JsonOpt = False) -> None:
    """Close paybot for good: no new commands ("closing"), pending ones cancelled with a DM, all held
    money returned at once, executing payments finished; prints what is left. Safe to run again."""
    if not yes and not typer.confirm("Stop taking payments for good and give all held money back?"):
        raise typer.Exit(1)
    _, _, service = _operator()
    report = service.wind_down()
    left = {
        "executing": report.executing,
        "needs_auth": report.needs_auth,
        "held": report.held,
        "outbox": report.outbox,
        "cashouts": report.cashouts,
        "wallets": report.wallets,
    }
    if as_json:
        print(
            json.dumps(
                {
                    "ok": report.done,
                    "cancelled": report.cancelled,
                    "returned": report.returned,
                    "finished": report.finished,
                    "left": left,
                }
            )
        )
    else:
        console.print(
            f"wind-down: {report.cancelled} pending cancelled, {report.returned} held returned, "
            f"{report.finished} in flight finished",
            highlight=False,
        )
        if report.done:
            console.print("nothing is left: no money is held, pending or moving; every message is out", highlight=False)
        else:
            console.print(
                "left to do: "
                + ", ".join(f"{n} {what}" for what, n in left.items() if n)
                + " (executing, outbox and cashouts: keep the worker running; needs_auth: lapses when "
                "the approval window ends; held: run wind-down again; wallets: people whose provider "
                "account still holds their money, each told once to CASHOUT; -1: the provider could "
                "not say, run wind-down again)",
                highlight=False,
            )
    if not report.done:
        raise typer.Exit(1)


@app.command()
def resume(as_json: JsonOpt = False) -> None:
    """Move money again after `paybot pause`; payments confirmed meanwhile go through."""
    _, _, service = _operator()
    service.set_paused(False)
    _outcome(True, "payments resumed", as_json)


@app.command()
def users(handle: str, as_json: JsonOpt = False) -> None:
    """A user's privacy, opt-out, and what they confirmed in the last 24 hours against the cap."""
    from datetime import UTC, datetime

    from bot import admin

    _, uow, service = _operator()
    data = admin.user(uow, handle, service.policy, datetime.now(UTC))
    if data is None:
        _fail(f"paybot has never seen {handle}", 1)
    _print_rows([data], list(data), f"@{data['handle']}", as_json)


@app.command()
def export(
    since: Annotated[str | None, typer.Option(help="Only the last 30d, 12h...")] = None,
    output: Annotated[
        Path | None, typer.Option(help="Write to this file (new, readable by you only) instead of standard output.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --output file.")] = False,
) -> None:
    """Transfers as CSV, oldest first, for accounting."""
    from datetime import UTC, datetime

    from bot import admin

    _, uow, _ = _operator()
    data = admin.export_csv(uow, since=_since(since), now=datetime.now(UTC))
    if output:
        try:
            write_private(output, data, replace=force)
        except OSError as err:
            _fail(f"{output}: {err.strerror or err}" + ("; use --force to replace it" if output.exists() else ""))
    else:
        sys.stdout.write(data)


TEMPLATE = Path(__file__).resolve().parent.parent / "config.example.env"


def write_private(path: Path, text: str, *, replace: bool) -> None:
    """Write `text` to a file only its owner can read (0600), never through a symlink, and over an
    existing file only when `replace` (then still not through a symlink). OSError otherwise."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | (os.O_TRUNC if replace else os.O_EXCL)
    fd = os.open(path, flags, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_TRUNC: tighten it
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


@app.command()
def init(
    path: Annotated[Path, typer.Option(help="Where to write the settings.")] = Path(".env"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    timeline: Annotated[str, typer.Option(help="x or mastodon: the timeline whose settings are asked.")] = "x",
) -> None:
    """Write a starter .env from config.example.env, asking for the values that matter."""
    if path.exists() and not force:
        _fail(f"{path} exists; use --force to replace it")
    if not TEMPLATE.exists():
        _fail(f"the template {TEMPLATE} is missing (paybot init runs from a source checkout)")
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
        _fail(f"unknown timeline {timeline!r}: x or mastodon")
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
        _fail(f"{path}: {err.strerror or err}")
    console.print(f"wrote {path} (readable by you only); check it with `paybot doctor`", highlight=False)


operator = typer.Typer(help="Who may sign in to the console (`paybot web`, /console).", no_args_is_help=True)
app.add_typer(operator, name="operator")


@operator.command("add")
def operator_add(
    name: Annotated[str, typer.Argument(help="Their name (a-z, 0-9, _ . -), typed at sign-in.")],
    totp: Annotated[bool, typer.Option("--totp", help="Also ask for a code from an authenticator app.")] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Set a new password for an existing operator (their sessions end).")
    ] = False,
) -> None:
    """Let NAME sign in to the console; asks for their password twice (12 characters at least). The console
    answers 404 until the first operator exists."""
    from datetime import UTC, datetime

    from bot.console import operators

    settings, uow, _ = _operator()
    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        secret = operators.add(uow, name, password, datetime.now(UTC), totp=totp, replace=replace)
    except operators.OperatorError as err:
        _fail(str(err))
    base = (settings.paybot_web_url or "").rstrip("/") or "PAYBOT_WEB_URL"  # the address, once it is set
    console.print(f"operator {name} can sign in at {base}/console/sign-in", highlight=False, markup=False)
    if secret:
        console.print(
            f"add this to their authenticator app (shown once): {operators.totp_uri(name, secret)}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@operator.command("remove")
def operator_remove(name: str) -> None:
    """Stop NAME signing in to the console; their sessions end at once."""
    from bot.console import operators

    _, uow, _ = _operator()
    if not operators.remove(uow, name):
        _fail(f"there is no operator {name}", 1)
    console.print(f"operator {name} removed", highlight=False, markup=False)


@operator.command("list")
def operator_list() -> None:
    """The operators who may sign in to the console."""
    from bot.console import operators

    _, uow, _ = _operator()
    for name in operators.names(uow):
        console.print(name, highlight=False, markup=False)


db = typer.Typer(help="The store: its schema version and migrations.", no_args_is_help=True)
app.add_typer(db, name="db")


@db.command("upgrade")
def db_upgrade() -> None:
    """Bring the store's schema to the newest revision (paybot run also does it at start)."""
    from bot import migrate

    engine = _store_engine(_settings())
    before = migrate.current(engine)
    after = migrate.upgrade(engine)
    engine.dispose()
    console.print(f"store at revision {after} (was {before or 'not under migrations'})", highlight=False)


@db.command("current")
def db_current() -> None:
    """Print the store's schema revision and the newest one this paybot knows."""
    from bot import migrate

    engine = _store_engine(_settings())
    console.print(
        f"store: {migrate.current(engine) or 'not under migrations'}; newest: {migrate.head()}", highlight=False
    )
    engine.dispose()


@app.command("sim-x")
def sim_x(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8099,
    state: Annotated[Path | None, typer.Option(help="JSON file holding the simulator's state.")] = None,
    bot: Annotated[str, typer.Option(help="The bot account's handle.")] = "paybot",
    limits: Annotated[str, typer.Option(help="pay_per_use or none.")] = "pay_per_use",
) -> None:
    """Serve the X API simulator on 127.0.0.1 (for `paybot run` with X_API_BASE)."""
    from bot.sims.x import PAY_PER_USE, SIM_ACCESS_TOKEN, SIM_CONSUMER_KEY, UNLIMITED, XSim

    sim = XSim(bot_handle=bot, limits=PAY_PER_USE if limits == "pay_per_use" else UNLIMITED, state_path=state)
    base = sim.start(port)
    console.print(
        f"X simulator on {base} (bot @{bot}); credentials: X_CONSUMER_KEY={SIM_CONSUMER_KEY} "
        f"X_ACCESS_TOKEN={SIM_ACCESS_TOKEN}; control API under {base}/_sim/",
        highlight=False,
    )
    _serve_until_stopped(sim)


@app.command("sim-stripe")
def sim_stripe(port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8098) -> None:
    """Serve the Stripe emulator on 127.0.0.1 (for PAYBOT_PROVIDER=stripe with STRIPE_API_BASE); in memory."""
    from bot.sims.stripe import StripeSim

    sim = StripeSim()
    base = sim.start(port)
    console.print(
        f"Stripe emulator on {base}; STRIPE_API_KEY={sim.api_key} STRIPE_API_BASE={base}; control API: "
        f"POST {base}/_sim/complete/<checkout session id>, /_sim/onboard/<account id>, "
        f"/_sim/dispute/<charge id>",
        highlight=False,
    )
    _serve_until_stopped(sim)


@app.command("sim-mangopay")
def sim_mangopay(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8099,
    client_id: Annotated[str, typer.Option(help="The client id it accepts (MANGOPAY_CLIENT_ID).")] = "paybot-sim",
    api_key: Annotated[
        str | None, typer.Option(help="The API key it accepts (MANGOPAY_API_KEY); random if not given.")
    ] = None,
) -> None:
    """Serve the Mangopay emulator on 127.0.0.1 (for PAYBOT_PROVIDER=mangopay with MANGOPAY_API_BASE); in memory.
    Its hosted pages (3-D Secure, SCA, identity verification) open in a browser; its control API plays the rest."""
    from bot.sims.mangopay import MangopaySim

    if not client_id.strip() or (api_key is not None and not api_key.strip()):
        raise typer.BadParameter("the client id and API key must not be empty")
    sim = MangopaySim(client_id=client_id, api_key=api_key)
    base = sim.start(port)
    console.print(
        f"Mangopay emulator on {base}; MANGOPAY_CLIENT_ID={sim.client_id} MANGOPAY_API_KEY={sim.api_key} "
        f"MANGOPAY_API_BASE={base}; control API: POST {base}/_sim/kyc/<session id>, "
        f"/_sim/enrol/<user id>, /_sim/payout/<payout id>, /_sim/payout-return/<payout id>; GET "
        f"{base}/_sim/payouts",
        highlight=False,
    )
    _serve_until_stopped(sim)


def _serve_until_stopped(sim: Any) -> None:
    """Keep a simulator's server thread serving until Ctrl-C, then stop it."""
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def main() -> None:
    """The `paybot` command. A store that cannot be reached is one line, its password never in it."""
    from bot.repo.errors import StoreError

    os.umask(0o077)  # the store, the provider's files and anything written are the operator's alone
    try:
        app()
    except (StoreError, ValueError) as err:  # ValueError: a DATABASE_URL the driver cannot parse
        from bot.config import database_password_parts

        secrets = database_password_parts(os.environ.get("DATABASE_URL")) + _dotenv_db_password()
        first = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        err_console.print(
            f"paybot: the store could not be used: {logs.redact(first, secrets)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        raise SystemExit(1) from None


def _dotenv_db_password() -> list[str]:
    """DATABASE_URL's password parts when the URL comes from .env rather than the environment."""
    from bot.config import database_password_parts

    try:
        return database_password_parts(_settings().database_url)
    except BaseException:
        return []


if __name__ == "__main__":
    main()
