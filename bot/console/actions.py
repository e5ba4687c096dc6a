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
- A token is bound to the session its page was shown in (the session row's `token_hash`, itself the SHA-256 of the
  cookie's token), not only to the operator's name: after a sign-out, or a removal and a new operator of the same
  name, an old page's form does nothing. It is spent in a unit of work that locks the operator's row (SELECT ...
  FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes), the lock sign-in, sign-out, `add --replace`
  and `remove` take, and only while that session is still stored there: a removal (or a reset) and a spend are
  serialized. The spend that commits first acts (it was confirmed by an operator then); one after the removal
  does nothing and says so. Rows stored before this (no session) are never spent.
- A spent token's result page (`/console/done/<id>`) is shown in the session that spent it only: another session
  of the operator, or a later operator who took a removed one's name, gets "no such action of yours". After a
  sign-out the result is read on the transfer's timeline, where the action is written with the operator's name.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.console.operators import IDLE
from bot.console.records import ConsoleAction, OperatorSession
from bot.repo import console_auth as db
from bot.repo.sql import SqlStore, SqlTx

VALID = timedelta(hours=1)
KEPT = timedelta(days=30)
FIELD = "action_token"


@dataclass(frozen=True)
class Claim:
    """What posting a token came to: `fresh` (do the action: `amount_minor` is the page's), `used` (it was posted
    before: nothing is done; `id` is its result), or neither (not a token paybot showed this operator, in this
    session, for this; or the session ended, or the operator was removed, before it was spent)."""

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
    *,
    session: str,
) -> str:
    """A new token for the confirmation page asking `question`, shown in the session whose cookie token is
    `session`."""
    token = secrets.token_urlsafe(32)
    with store() as s:
        db.forget_actions_before(s, now - KEPT)
        s.add(
            ConsoleAction(
                token_hash=_digest(token),
                session_hash=_digest(session),
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
    store: SqlStore,
    token: str | None,
    operator: str,
    action: str,
    transfer_id: int | None,
    now: datetime,
    *,
    session: str | None,
) -> Claim:
    """Spend `token` for `action` on `transfer_id` by `operator` in the session whose cookie token is `session`:
    at most once, whatever posts it at once, and only while that session lasts."""
    if not token or not session:
        return Claim(False, False)
    session_hash = _digest(session)
    with store() as s:
        # The lock sign-in, `add --replace` and `remove` take (bot.console.operators): a removal or reset either
        # commits first (and the session is gone here) or waits for this commit (the spend was confirmed first).
        if not _session_lasts(s, operator, session_hash, now):
            return Claim(False, False)
        row, spent = db.spend_action(
            s,
            token_hash=_digest(token),
            session_hash=session_hash,
            operator=operator,
            action=action,
            transfer_id=transfer_id,
            now=now,
            shown_after=now - VALID,
        )
        s.commit()
        if row is None:
            return Claim(False, False)
        if spent:
            return Claim(True, False, row.id, row.amount_minor)
        if row.used_at is None:  # shown too long ago
            return Claim(False, False)
        return Claim(False, True, row.id, row.amount_minor)


def _session_lasts(s: SqlTx, operator: str, session_hash: str, now: datetime) -> bool:
    """Lock `operator`'s row, and say whether the session `session_hash` is still theirs and not over."""
    if db.lock_operator(s, operator) is None:
        return False
    row = s.get(OperatorSession, session_hash)
    return row is not None and row.operator == operator and now < row.expires_at and now - row.seen_at < IDLE


def record(store: SqlStore, action_id: int, ok: bool, outcome: str) -> None:
    """What the action of a spent token came to, for its result page."""
    db.record_action(store, action_id, ok, outcome)


def result(store: SqlStore, action_id: int, operator: str, session: str | None) -> ConsoleAction | None:
    """A spent token's row, for the session its page was shown in only (not for another session of the operator,
    nor for a later operator who took a removed one's name)."""
    if not session:
        return None
    return db.action_result(store, action_id, operator, _digest(session))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
