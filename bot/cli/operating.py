"""Operating the bot: `status`, `pause`, `resume`, `wind-down`, `users`, and who may sign in to the console
(`operator add`, `remove`, `list`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bot.cli.base import (
    JsonOpt,
    YesOpt,
    console,
    fail,
    operator_tools,
    outcome,
    print_rows,
)


def status(as_json: JsonOpt = False) -> None:
    """Is the worker alive, what is waiting, how much X headroom and money is left today."""
    from datetime import UTC, datetime

    from bot import admin

    _, uow, _ = operator_tools()
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
    print_rows(jobs, ["job", "last ok", "last error"], "Jobs", False)
    limits = [{"endpoint": k, **v, "paused until": data["x_paused"].get(k)} for k, v in data["x_limits"].items()]
    print_rows(limits, ["endpoint", "limit", "remaining", "reset", "paused until"], "X rate limits", False)
    usage = data["x_usage_today"]
    if usage:
        console.print(
            f"X today ({usage['day']}): {usage['requests_total']} requests, about ${usage['usd']:.2f}", highlight=False
        )


def pause(as_json: JsonOpt = False) -> None:
    """Stop moving money: confirmed payments wait, new commands get a maintenance answer; reading goes on."""
    _, _, service = operator_tools()
    service.set_paused(True)
    outcome(True, "payments paused; `paybot resume` starts them again", as_json)


def resume(as_json: JsonOpt = False) -> None:
    """Move money again after `paybot pause`; payments confirmed meanwhile go through."""
    _, _, service = operator_tools()
    service.set_paused(False)
    outcome(True, "payments resumed", as_json)


def wind_down(yes: YesOpt = False, as_json: JsonOpt = False) -> None:
    """Close paybot for good: no new commands ("closing"), pending ones cancelled with a DM, all held
    money returned at once, executing payments finished; prints what is left. Safe to run again."""
    if not yes and not typer.confirm("Stop taking payments for good and give all held money back?"):
        raise typer.Exit(1)
    _, _, service = operator_tools()
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


def users(handle: str, as_json: JsonOpt = False) -> None:
    """A user's privacy, opt-out, and what they confirmed in the last 24 hours against the cap."""
    from datetime import UTC, datetime

    from bot import admin

    _, uow, service = operator_tools()
    data = admin.user(uow, handle, service.policy, datetime.now(UTC))
    if data is None:
        fail(f"paybot has never seen {handle}", 1)
    print_rows([data], list(data), f"@{data['handle']}", as_json)


operator = typer.Typer(help="Who may sign in to the console (`paybot web`, /console).", no_args_is_help=True)


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

    settings, uow, _ = operator_tools()
    password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        secret = operators.add(uow, name, password, datetime.now(UTC), totp=totp, replace=replace)
    except operators.OperatorError as err:
        fail(str(err))
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

    _, uow, _ = operator_tools()
    if not operators.remove(uow, name):
        fail(f"there is no operator {name}", 1)
    console.print(f"operator {name} removed", highlight=False, markup=False)


@operator.command("list")
def operator_list() -> None:
    """The operators who may sign in to the console."""
    from bot.console import operators

    _, uow, _ = operator_tools()
    for name in operators.names(uow):
        console.print(name, highlight=False, markup=False)
