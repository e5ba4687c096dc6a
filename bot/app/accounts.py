"""A cash-out to a bank account its owner never confirmed: the code it is confirmed with, and the owner's answer.

Whoever saw a bank-page link once could have added their own account; so a cash-out pays only an account its
owner confirmed by DM (see bot/app/cashout.py). This module is the use case of that confirmation, written as the
core's handlers are to be: plain functions of the unit of work and the values they need, no service state.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain import PAYOUT, PayoutStatus
from bot.repo.port import Tx


def account_code(s: Tx, user_id: str, last4: str | None) -> str:
    """What the user replies YES with to confirm a new account: its last four characters (upper case), unless the
    provider gave none or a payment of theirs waits with that code; then four random digits. Payment codes are
    never all digits (`Asking._fresh_code` in bot/app/asking.py), so the two never meet."""
    taken = {t.code.upper() for t in s.transfers.pending_of(user_id)}
    if last4 and last4.upper() not in taken:
        return last4.upper()
    return "".join(secrets.choice("0123456789") for _ in range(4))


@dataclass(frozen=True)
class AccountAnswer:
    """What an answer about a new account did: the cash-out to drive once committed (a yes that counted), or what
    to tell the user (`say`: a message key and its parameters; `outcome`: an outcome of theirs, else an answer
    within the hourly allowance)."""

    drive: int | None = None
    say: tuple[str, dict[str, str]] | None = None
    outcome: bool = False


def answer_account(
    s: Tx, user_id: str, code: str, *, confirm: bool, said_at: datetime, now: datetime, confirm_ttl: timedelta
) -> AccountAnswer | None:
    """A YES or NO with a code, from `user_id`, sent at `said_at`: None when none of their cash-outs waits with that
    code (the answer is then a payment's). A yes sent after the question (a tie proves nothing) and within
    `confirm_ttl` confirms the account for good and makes the cash-out CREATED again (same key); a no refuses the
    account for good and ends the cash-out; a late yes ends it; nothing is paid by either. One sent before the
    question confirms nothing and the question stands."""
    row = next((p for p in s.payouts.awaiting_account(user_id) if (p.account_code or "") == code.upper()), None)
    if row is None or row.id is None:
        return None
    said_at = min(said_at, now)
    if said_at <= row.updated_at:
        return AccountAnswer(say=("answer.too_early", {}))
    if confirm and said_at - row.updated_at <= confirm_ttl:
        row.status = PAYOUT.move(row.status, PayoutStatus.CREATED)
        row.account_confirmed_at, row.updated_at = now, now
        s.payouts.add(row)
        return AccountAnswer(drive=row.id)
    if confirm:
        row.failure, key = "the account was not confirmed in time", "cashout.account_late"
    else:
        row.failure, key = "the user refused the account", "cashout.account_refused"
        row.account_refused_at = now
    row.status, row.updated_at = PAYOUT.move(row.status, PayoutStatus.NOT_MADE), now
    s.payouts.add(row)
    return AccountAnswer(say=(key, {"code": row.account_code or code.upper()}), outcome=True)
