"""Running paybot: the worker (`run`, with `--web` the pages too), the pages alone (`web`), Stripe's webhook alone
(`webhook`)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import Annotated, Any

import typer

from bot import logs
from bot.cli.base import (
    fail,
    operator_tools,
    settings_or_fail,
    store_engine,
)
from bot.errors import ConfigError, XAuthError, XError


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
        fail(str(err))
        return
    except XAuthError as err:
        fail(str(err))
        return
    except XError as err:
        fail(f"could not reach X: {err}")
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
                server = web_server(settings, bot.engine, host, port)
            except ConfigError as err:
                fail(str(err))
            threading.Thread(target=server.run, daemon=True, name="web").start()
            logging.getLogger("bot").info("serving paybot's pages on port %s", server.effective_port)
        bot.worker.run_scheduler(intervals)
    finally:
        if server is not None:
            server.close()
        bot.close()


def web_server(settings: Any, engine: Any, host: str, port: int) -> Any:
    """waitress serving paybot's web app (`bot.web.app`) on the store of `engine`, with Stripe's webhook when
    PAYBOT_PROVIDER=stripe and STRIPE_WEBHOOK_SECRET is set; ConfigError for a missing or bad setting."""
    from functools import partial

    from bot.bootstrap import service_from
    from bot.console.keeper import HourKeeper
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
    server = webhook_server(app_, host, port)  # waitress, with limits for the internet
    HourKeeper(store, SystemClock()).start()  # the console's charts find the month's hours kept
    return server


def _service(settings: Any, store: Any) -> Any:
    """A service on `store` with the configured provider, for the console's actions (made at the first one)."""
    from bot.bootstrap import make_provider, service_from
    from bot.domain.marks import Mark
    from bot.ports import SystemClock

    provider = make_provider(settings, SystemClock())
    with store() as s:
        bot_id = s.checkpoints.get(Mark.BOT_ID) or ""
    return service_from(settings, store, provider, SystemClock(), bot_id)


def web(
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on ($PORT on Heroku).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104 (a dyno's router)
) -> None:
    """Serve paybot's pages (reached through the links the bot DMs) and, on Stripe, its webhook, without the
    worker (`paybot run --web` runs both in one process)."""
    from bot import migrate

    settings = settings_or_fail()
    logs.setup(settings.log_level, secrets=settings.secrets())
    try:
        settings.require_web()  # before anything is made
    except ConfigError as err:
        fail(str(err))
    engine = store_engine(settings)
    try:
        migrate.upgrade(engine)  # as `paybot run` does: whichever starts first brings the store up to date
        server = web_server(settings, engine, host, port)
    except ConfigError as err:
        fail(str(err))
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


def webhook(
    port: Annotated[int, typer.Option(envvar="PORT", help="Port to listen on ($PORT on Heroku).")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "0.0.0.0",  # noqa: S104 (a dyno's router)
) -> None:
    """Receive Stripe's events at POST /stripe/webhook, alone (superseded by `paybot web`, which serves it too)."""
    from bot.providers.stripe.webhook import PATH, make_app, webhook_server

    settings, _uow, service = operator_tools()
    if settings.paybot_provider != "stripe":
        fail("the webhook is for PAYBOT_PROVIDER=stripe")
    try:
        signing_secrets = settings.require_webhook_secrets()
    except ConfigError as err:
        fail(str(err))
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
