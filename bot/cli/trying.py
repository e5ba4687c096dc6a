"""Trying paybot out without X or a provider: the scripted `demo`, scenarios on a virtual clock (`simulate`), the
command language (`parse`), and the simulators of X, Stripe and Mangopay on 127.0.0.1 (`sim-x`, `sim-stripe`,
`sim-mangopay`)."""

from __future__ import annotations

import json
import logging
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bot.cli.base import (
    console,
    fail,
    serve_until_stopped,
    settings_or_fail,
)


def demo(
    timeline: Annotated[str, typer.Option(help="x or mastodon: the timeline simulator to play it on.")] = "x",
) -> None:
    """Play a short scripted conversation on the embedded X (or Mastodon) simulator and sandbox."""
    from bot.sims.runner import run_scenario

    scenario = json.loads(resources.files("bot").joinpath("scenarios/demo.json").read_text("utf-8"))
    if timeline not in ("x", "mastodon"):
        fail(f"unknown timeline {timeline!r}: x or mastodon")
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
        fail(f"cannot read scenario {scenario}: {err}")
        return
    logging.basicConfig(level=logging.WARNING)
    try:
        outcome, _ = run_scenario(data, provider=provider, timeline=timeline)
    except (KeyError, ValueError) as err:
        fail(f"bad scenario step: {err}")
        return
    print(json.dumps(outcome, ensure_ascii=False, indent=None if as_json else 2))


def parse(
    text: Annotated[str | None, typer.Argument(help="The text; one per line on standard input if absent.")] = None,
    currency: Annotated[str | None, typer.Option(help="Currency of bare amounts (default from config).")] = None,
    dm: Annotated[bool, typer.Option("--dm", help="Parse DM commands instead of posts.")] = False,
    bot: Annotated[str | None, typer.Option(help="The bot's handle (default from config).")] = None,
) -> None:
    """Parse commands and print one JSON object per command."""
    from bot.commands import parse_command, parse_dm
    from bot.errors import CommandError

    settings = settings_or_fail()
    if currency is not None and not _is_utf8(currency):
        fail("--currency is not valid UTF-8")
    if bot is not None and not re.fullmatch(r"[A-Za-z0-9_]{1,15}", bot.lstrip("@")):
        fail("--bot is not an X handle (1 to 15 of A-Z, a-z, 0-9 and _)")
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
    serve_until_stopped(sim)


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
    serve_until_stopped(sim)


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
    serve_until_stopped(sim)
