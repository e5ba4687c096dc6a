"""The console's single-use action tokens: each confirmation page carries one, and what its form does is what that
page said, once.

Decisions (the brief leaves them open):
- A token is made when a confirmation page is shown, and stored (as its SHA-256, `ConsoleAction`) bound to the
  operator it was shown to, the action ("pause", "resume", "cancel", "refund"), the transfer and the exact amount
  the page named (minor units). The POST does the bound action with the bound amount, never one read from the form
  or recomputed at post time ("refund the rest" refunds what the page said was the rest).
- A token is spent by one conditional UPDATE (`used_at IS NULL`) before the action runs: of two posts of one page
  (a double click, a reload), one does the action and the other does nothing and says so. Spent first, it is spent
  even when the action is refused or fails; the operator asks again from the transfer's page (a new page, a new
  token). A crash between spending and acting leaves the action undone, and the result page says it has no outcome:
  at most once, never twice.
- A token works for `VALID` after its page was shown; rows older than `KEPT` are deleted when a page is shown.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, delete, select, update

from bot.repo.sql import SqlStore
from bot.store import ConsoleAction

VALID = timedelta(hours=1)
KEPT = timedelta(days=30)
FIELD = "action_token"


@dataclass(frozen=True)
class Claim:
    """What posting a token came to: `fresh` (do the action: `amount_minor` is the page's), `used` (it was posted
    before: nothing is done; `id` is its result), or neither (not a token paybot showed this operator for this)."""

    fresh: bool
    used: bool
    id: int | None = None
    amount_minor: int | None = None


def issue(
    store: SqlStore,
    operator: str,
    action: str,
    transfer_id: int | None,
    amount_minor: int | None,
    question: str,
    now: datetime,
) -> str:
    """A new token for the confirmation page asking `question`."""
    token = secrets.token_urlsafe(32)
    with store() as s:
        s.session.execute(delete(ConsoleAction).where(col(ConsoleAction.created_at) < now - KEPT))
        s.add(
            ConsoleAction(
                token_hash=_digest(token),
                operator=operator,
                action=action,
                transfer_id=transfer_id,
                amount_minor=amount_minor,
                question=question,
                created_at=now,
            )
        )
        s.commit()
    return token


def claim(
    store: SqlStore, token: str | None, operator: str, action: str, transfer_id: int | None, now: datetime
) -> Claim:
    """Spend `token` for `action` on `transfer_id` by `operator`: at most once, whatever posts it at once."""
    if not token:
        return Claim(False, False)
    bound = [
        col(ConsoleAction.token_hash) == _digest(token),
        col(ConsoleAction.operator) == operator,
        col(ConsoleAction.action) == action,
        col(ConsoleAction.transfer_id).is_(None)
        if transfer_id is None
        else col(ConsoleAction.transfer_id) == transfer_id,
    ]
    with store() as s:
        spent = s.session.execute(
            update(ConsoleAction)
            .where(
                *bound,
                col(ConsoleAction.used_at).is_(None),
                col(ConsoleAction.created_at) > now - VALID,
            )
            .values(used_at=now)
        )
        row = s.exec(select(ConsoleAction).where(*bound)).first()
        s.commit()
        if row is None:
            return Claim(False, False)
        if spent.rowcount == 1:  # type: ignore[attr-defined]
            return Claim(True, False, row.id, row.amount_minor)
        if row.used_at is None:  # shown too long ago
            return Claim(False, False)
        return Claim(False, True, row.id, row.amount_minor)


def record(store: SqlStore, action_id: int, ok: bool, outcome: str) -> None:
    """What the action of a spent token came to, for its result page."""
    with store() as s:
        s.session.execute(
            update(ConsoleAction).where(col(ConsoleAction.id) == action_id).values(ok=ok, outcome=outcome)
        )
        s.commit()


def result(store: SqlStore, action_id: int, operator: str) -> ConsoleAction | None:
    """A spent token's row, for the operator it was shown to only."""
    with store() as s:
        row: ConsoleAction | None = s.exec(
            select(ConsoleAction).where(
                col(ConsoleAction.id) == action_id,
                col(ConsoleAction.operator) == operator,
                col(ConsoleAction.used_at).is_not(None),
            )
        ).first()
        if row is not None:
            s.session.expunge(row)
        return row


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
