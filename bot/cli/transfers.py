"""The operator's commands on transfers and money: `transfers`, `show`, `refund`, `reverse`, `cancel`, `reconcile`,
`export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
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
    since_or_fail,
    write_private,
)


def transfers_cmd(
    status: Annotated[str | None, typer.Option(help="Only this status (pending, completed, held...).")] = None,
    user: Annotated[str | None, typer.Option(help="Only transfers from or to this @handle.")] = None,
    since: Annotated[str | None, typer.Option(help="Only the last 30m, 2d...")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List transfers, newest first."""
    from datetime import UTC, datetime

    from bot import admin

    _, uow, _ = operator_tools()
    rows = admin.transfers(uow, status=status, user=user, since=since_or_fail(since), now=datetime.now(UTC))
    print_rows(
        rows, ["id", "created_at", "from", "to", "amount", "currency", "status", "code", "memo"], "Transfers", as_json
    )


def show(transfer_id: int, as_json: JsonOpt = False) -> None:
    """One transfer's full story: fields, provider ids, every step with its time, every message."""
    from bot import admin

    _, uow, _ = operator_tools()
    data = admin.show(uow, transfer_id)
    if data is None:
        fail(f"no transfer {transfer_id}", 1)
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
        print_rows(
            data["settlements"],
            ["at", "step", "amount", "status", "key", "ref", "failure"],
            "Money after the payment",
            False,
        )
    print_rows(data["timeline"], ["at", "status", "note"], "Timeline", False)
    print_rows(data["messages"], ["at", "kind", "to", "status", "text"], "Messages", False)


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

    _, _, service = operator_tools()
    t, back, left = service.refund_plan(transfer_id)
    minor = None
    if t is not None and amount is not None:
        try:
            minor = parse_minor(amount, t.currency)
        except CommandError as err:
            fail(f"--amount {amount!r}: {err}")
    if t is not None and not yes and not typer.confirm(refund_question(transfer_id, t, back, minor, left)):
        raise typer.Exit(1)
    ok, message = service.operator_refund(transfer_id, minor)
    outcome(ok, message, as_json)


def reverse(
    transfer_id: int,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Take back from a completed transfer's recipient what they still hold of it; the platform keeps it (after a
    dispute took the payment back from the platform). Neither party is told by the bot. Asks first."""
    _, _, service = operator_tools()
    if not yes and not typer.confirm(f"Take transfer {transfer_id}'s money back from its recipient?"):
        raise typer.Exit(1)
    ok, message = service.operator_reverse(transfer_id)
    outcome(ok, message, as_json)


def cancel(transfer_id: int, as_json: JsonOpt = False) -> None:
    """Cancel a pending transfer; its sender is told by DM."""
    _, _, service = operator_tools()
    ok, message = service.operator_cancel(transfer_id)
    outcome(ok, message, as_json)


def reconcile(
    days: Annotated[int, typer.Option(help="Compare the transfers of the last DAYS days.", min=1)] = 30,
    as_json: JsonOpt = False,
) -> None:
    """Compare the store with the payment provider and print every mismatch (exit 1 if any)."""
    from datetime import UTC, datetime, timedelta

    from bot.errors import ProviderError
    from bot.reconcile import reconcile as run_reconcile
    from bot.reconcile import record

    _, uow, service = operator_tools()
    since = datetime.now(UTC) - timedelta(days=days)
    try:
        mismatches, resolved = run_reconcile(service, since)
    except ProviderError as err:
        fail(f"could not read the provider's records: {err}")
        return
    record(uow, datetime.now(UTC), days, mismatches, resolved)
    rows = [m.as_dict() for m in mismatches]
    if as_json:
        print(json.dumps({"mismatches": rows, "resolved_by_lookup": resolved}, ensure_ascii=False))
    else:
        if resolved:
            print(f"{resolved} transfer(s) stuck in executing were resolved by looking their payment up.")
        if rows:
            print_rows(rows, ["transfer", "ref", "store", "provider", "what"], "Mismatches", False)
        else:
            print(f"No mismatches: the store and {service.provider.name} agree on the last {days} days.")
    if rows:
        raise typer.Exit(1)


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

    _, uow, _ = operator_tools()
    data = admin.export_csv(uow, since=since_or_fail(since), now=datetime.now(UTC))
    if output:
        try:
            write_private(output, data, replace=force)
        except OSError as err:
            fail(f"{output}: {err.strerror or err}" + ("; use --force to replace it" if output.exists() else ""))
    else:
        sys.stdout.write(data)
