"""What operators read about the bot: transfers, one transfer's timeline, users, an export.

Each function takes the SQL store and returns plain data (dicts), which
the CLI prints as a table or as JSON. These reports are a read model on the SQL
store (ad-hoc filters an operator asks for, over whole tables): their queries are
bot.repo.reports' named ones; the use cases go through the repository port
(bot.repo.port) instead.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any

from bot.app.holds import refunded, release_due
from bot.domain import REFUNDS, MessageKind, Policy, Settle, Status, Step
from bot.domain.entities import BALANCE, Transfer
from bot.messages import without_links
from bot.money import Money
from bot.repo import reports
from bot.repo.sql import SqlStore

QUEUES = (Status.PENDING, Status.EXECUTING, Status.NEEDS_AUTH, Status.HELD)  # what `paybot status` counts
WITHDRAWALS_SHOWN = timedelta(days=30)  # how long `paybot status` reminds of a dispute's withdrawal not reversed
REFUND_SLOW = timedelta(days=7)  # a refund still in progress at the provider after this is worth a look
# A cash-out of money received less than this before it (allowed only when PAYBOT_CASHOUT_HOLD was lowered) is
# shown by `paybot status` for YOUNG_PAYOUTS_SHOWN: a card payment can still be disputed, the platform pays.
YOUNG_MONEY = Policy().cashout_hold
YOUNG_PAYOUTS_SHOWN = timedelta(days=30)


# What an operator is asked before each action, in the terminal (bot.cli) and in the console (bot.console.pages).
PAUSE_QUESTION = (
    "Pause payments? Confirmed payments wait and new commands get a maintenance answer until payments "
    "are resumed; reading goes on."
)
RESUME_QUESTION = "Resume payments? Payments confirmed meanwhile go through."


def cancel_question(transfer_id: int) -> str:
    return f"Cancel transfer {transfer_id}? Its sender is told by DM."


def refund_question(transfer_id: int, t: Transfer, back: int, minor: int | None, left: int) -> str:
    """`paybot refund`'s question: how much goes back (`minor`, or all that is `left`), and what already went."""
    so_far = f" ({Money(back, t.currency)} of {Money(t.amount_minor, t.currency)} refunded so far)" if back else ""
    shown = Money(minor if minor is not None else max(left, 0), t.currency)
    return f"Refund {shown} of transfer {transfer_id} to its sender{so_far}?"


def _row(t: Transfer, handles: dict[str, str]) -> dict[str, Any]:
    return {
        "id": t.id,
        "created_at": t.created_at.isoformat(),
        "kind": t.kind,
        "from": handles.get(t.sender_id, t.sender_id),
        "to": handles.get(t.recipient_id, t.recipient_id),
        "amount": Money(t.amount_minor, t.currency).decimal(),
        "currency": t.currency,
        "memo": t.memo,
        "status": t.status,
        "code": t.code,
        "tweet": t.root_tweet_id,
    }


def _handles(uow: SqlStore, ids: set[str] | None = None) -> dict[str, str]:
    """Handles by user id: of everyone, or of the `ids` given only (a page's people, not the whole table)."""
    return reports.handles(uow, ids)


def _user_id(uow: SqlStore, handle: str) -> str | None:
    return reports.user_id(uow, handle)


def transfers(
    uow: SqlStore, *, status: str | None = None, user: str | None = None, since: timedelta | None = None, now: datetime
) -> list[dict[str, Any]]:
    """Transfers, newest first, filtered by status, by a user on either side, and by age."""
    uid = None
    if user:
        uid = _user_id(uow, user)
        if uid is None:
            return []
    handles = _handles(uow)
    found = reports.transfers(uow, status=status, user_id=uid, since=now - since if since else None)
    return [_row(t, handles) for t in found]


def show(uow: SqlStore, transfer_id: int) -> dict[str, Any] | None:
    """One transfer in full: its fields, provider ids, every step with its time, every message about it."""
    found = reports.story(uow, transfer_id)
    if found is None:
        return None
    t, events, messages, rows = found.transfer, found.events, found.messages, found.settlements
    handles = _handles(uow, {t.sender_id, t.recipient_id} | {m.to_user_id for m in messages if m.to_user_id})
    out = _row(t, handles) | {
        "command_tweet": t.command_tweet_id,
        "reason": t.reason,
        "pay_key": t.pay_key,
        "payment_ref": t.payment_ref,
        "refunded": Money(refunded(rows), t.currency).decimal(),
        "expires_at": t.expires_at.isoformat(),
        "hold_until": t.hold_until.isoformat() if t.hold_until else None,
        "settlements": [
            {
                "at": st.updated_at.isoformat(),
                "step": st.step,
                "seq": st.seq,
                "amount": Money(st.amount_minor, t.currency).decimal(),
                "status": st.status,
                "key": st.key,
                "ref": st.ref,
                "cause": st.cause,
                "failure": st.failure,
            }
            for st in rows
        ],
        "timeline": [{"at": e.at.isoformat(), "status": e.status, "note": e.note} for e in events],
        "messages": [
            {
                "at": m.created_at.isoformat(),
                "kind": m.kind,
                "status": m.status,
                "to": handles.get(m.to_user_id or "", m.to_user_id) if m.kind == MessageKind.DM else m.in_reply_to,
                "text": without_links(m.text),
            }
            for m in messages
        ],
    }
    return out


def user(uow: SqlStore, handle: str, policy: Policy, now: datetime) -> dict[str, Any] | None:
    """A user's settings (privacy, opt-out) and what they confirmed in the last 24 hours against the cap."""
    uid = _user_id(uow, handle)
    if uid is None:
        return None
    counted = reports.user_counts(uow, uid, now - timedelta(hours=24))
    if counted is None:  # cannot happen: said so, rather than an assert that -O removes
        raise RuntimeError("u is missing")
    u, sent, received, moved = counted
    return {
        "id": u.id,
        "handle": u.handle,
        "name": u.name,
        "privacy": u.privacy,
        "opted_out": u.opted_out,
        "sent": sent,
        "received": received,
        "sent_24h_minor": moved,
        "daily_limit_minor": policy.daily_max_minor,
        "per_transfer_limit_minor": policy.max_minor,
    }


def export_csv(uow: SqlStore, *, since: timedelta | None, now: datetime) -> str:
    """Transfers as CSV, oldest first, for accounting."""
    rows = list(reversed(transfers(uow, since=since, now=now)))
    out = io.StringIO()
    fields = ["id", "created_at", "kind", "from", "to", "amount", "currency", "memo", "status", "code", "tweet"]
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: spreadsheet_safe(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula (OWASP's CSV injection rule): text that starts
    with = + - @, a tab or a carriage return gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def status(uow: SqlStore, now: datetime) -> dict[str, Any]:
    """The worker as it last reported itself (its heartbeat), and the queues as they are now."""
    q = reports.queues(uow, QUEUES)
    raw, paused, closing, counts, outbox = q.heartbeat, q.paused, q.closing, q.transfers, q.outbox
    beat = json.loads(raw) if raw else None
    age = (now - datetime.fromisoformat(beat["at"])).total_seconds() if beat else None
    return {
        "worker": "never ran" if beat is None else ("alive" if age is not None and age < 120 else "silent"),
        "heartbeat_age_s": None if age is None else round(age),
        "paused": paused,
        "winding_down": closing,
        "jobs": beat["jobs"] if beat else {},
        "queues": {
            "pending": counts.get("pending", 0),
            "executing": counts.get("executing", 0),
            "needs_auth": counts.get("needs_auth", 0),
            "held": counts.get("held", 0),
            "outbox": sum(outbox.values()),
        },
        "x_limits": beat["x_limits"] if beat else {},
        "x_paused": beat.get("x_paused", {}) if beat else {},
        "x_usage_today": beat["x_usage"] if beat else None,
        "provider_errors_last_hour": beat["provider_errors_last_hour"] if beat else 0,
        "money_warnings": money_warnings(uow, now),
    }


def young_payouts(uow: SqlStore, now: datetime, handles: dict[str, str]) -> list[dict[str, Any]]:
    """Cash-outs made in the last 30 days by someone who had received money less than YOUNG_MONEY before (the
    default hold): possible only with PAYBOT_CASHOUT_HOLD lowered; each a chargeback the platform may pay."""
    out: list[dict[str, Any]] = []
    payouts = reports.payouts_since(uow, now - YOUNG_PAYOUTS_SHOWN)
    handles = handles | _handles(uow, {p.user_id for p in payouts} - set(handles))  # a unit of work of its own
    with uow() as s:
        for p in payouts:
            young = s.transfers.received_since(p.user_id, p.currency, p.created_at - YOUNG_MONEY)
            if young and p.amount_minor:
                out.append(
                    {
                        "payout": p.id,
                        "what": "young_payout",
                        "since": p.created_at.isoformat(),
                        "text": f"cash-out {p.id} of {Money(p.amount_minor, p.currency)} by "
                        f"@{handles.get(p.user_id, p.user_id)} took money received less than "
                        f"{YOUNG_MONEY.days} days before; a card payment can still be disputed",
                    }
                )
    return out


def money_warnings(uow: SqlStore, now: datetime) -> list[dict[str, Any]]:
    """What the operator must know about money that did not move as planned: releases the platform's balance
    could not cover (retried on their own), refunds that failed (the money is with the platform, not the
    sender: `paybot refund` tries again), refunds in progress at the provider for over a week, and disputes
    that took a payment back from the platform in the last 30 days, whose recipient kept it (`paybot reverse`
    takes it back). Each names its transfer."""
    out: list[dict[str, Any]] = []
    trouble = reports.money_trouble(uow, slow_before=now - REFUND_SLOW, withdrawn_since=now - WITHDRAWALS_SHOWN)
    failed, slow, withdrawn = trouble.failed, trouble.slow, trouble.withdrawn
    transfers, ledgers = trouble.transfers, trouble.ledgers
    handles = _handles(uow, {t.sender_id for t in transfers.values()} | {t.recipient_id for t in transfers.values()})
    seen: set[tuple[int, str]] = set()
    for st in failed:
        t, rows = transfers.get(st.transfer_id), ledgers.get(st.transfer_id, [])
        if t is None or t.id is None:
            continue
        later = [o for o in rows if (o.id or 0) > (st.id or 0) and o.step == st.step and o.status != Settle.FAILED]
        amount = Money(st.amount_minor, t.currency)
        if st.step == Step.RELEASE and st.failure == BALANCE:
            due = release_due(rows)
            if t.status != Status.HELD or due is None or (t.id, "release") in seen:
                continue
            seen.add((t.id, "release"))
            refusals = sum(o.failure == BALANCE for o in rows)
            out.append(
                {
                    "transfer": t.id,
                    "what": "release_waiting",
                    "since": st.created_at.isoformat(),
                    "text": f"transfer {t.id}: the platform's balance could not cover paying {amount} out to "
                    f"@{handles.get(t.recipient_id, t.recipient_id)} ({refusals} refusals); it stays "
                    f"held and is tried again at {due.isoformat(timespec='minutes')}",
                }
            )
        elif st.step in REFUNDS and not later:
            out.append(
                {
                    "transfer": t.id,
                    "what": "refund_failed",
                    "since": st.updated_at.isoformat(),
                    "text": f"transfer {t.id}: a refund of {amount} to "
                    f"@{handles.get(t.sender_id, t.sender_id)} failed ({st.failure}); the money is "
                    f"with the platform: `paybot refund {t.id}` tries again",
                }
            )
        elif st.step == Step.REVERSE and not later:
            out.append(
                {
                    "transfer": t.id,
                    "what": "reversal_refused",
                    "since": st.updated_at.isoformat(),
                    "text": f"transfer {t.id}: taking {amount} back from "
                    f"@{handles.get(t.recipient_id, t.recipient_id)} was refused ({st.failure})",
                }
            )
    for st in slow:
        t = transfers.get(st.transfer_id)
        if t is not None:
            out.append(
                {
                    "transfer": t.id,
                    "what": "refund_slow",
                    "since": st.updated_at.isoformat(),
                    "text": f"transfer {t.id}: a refund of {Money(st.amount_minor, t.currency)} ({st.ref}) has "
                    f"been in progress at the provider for over {REFUND_SLOW.days} days; the sender is "
                    "told when it goes through",
                }
            )
    out += young_payouts(uow, now, handles)
    for e in withdrawn:
        t = transfers.get(e.transfer_id)
        rows = ledgers.get(e.transfer_id, [])
        if t is None or any(o.step == Step.REVERSE and o.status != Settle.FAILED for o in rows):
            continue
        out.append(
            {
                "transfer": t.id,
                "what": "funds_withdrawn",
                "since": e.at.isoformat(),
                "text": f"transfer {t.id}: {e.note}",
            }
        )
    return out
