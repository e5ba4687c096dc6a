"""What the operator console keeps, as plain dataclasses (no persistence): operators, their sessions, the
confirmation pages' single-use tokens, sign-in attempts and the charts' past hours. The SQL store maps them onto
its tables (bot.repo.record_tables), as it maps the entities; bot.repo.console_auth and bot.repo.console read and
write them.

Here in bot.console rather than in bot.domain: they are the console's alone (no use case reads them), and this
module imports nothing of the console, so the store that maps them (which the console imports) loads no console
code and makes no cycle; the console's contract keeps it from every adapter.

Built by keyword only, as the entities are; a field with no default must be given."""

from __future__ import annotations

from datetime import datetime

from bot.domain.entities import entity

__all__ = ["ChartHour", "ConsoleAction", "Operator", "OperatorSession", "SignInAttempt"]


@entity
class Operator:
    """Someone who may sign in to the console (`paybot operator add NAME`): the password's Argon2id hash (never
    the password), and the TOTP secret when they chose a second factor."""

    name: str
    password_hash: str
    totp_secret: str | None = None
    totp_last_step: int | None = None  # the 30-second step of the last TOTP code accepted: a code works once
    created_at: datetime


@entity
class OperatorSession:
    """A signed-in console session: the SHA-256 of its token (the cookie holds the token), whose it is, when it was
    last used and when it ends whatever happens (bot.console.operators)."""

    token_hash: str
    operator: str
    created_at: datetime
    seen_at: datetime
    expires_at: datetime


@entity
class ConsoleAction:
    """One confirmation page of the console (bot.console.pages): the SHA-256 of the single-use token its form
    carries, bound to the operator it was shown to, the session it was shown in, the action, the transfer and the
    exact amount it named (minor units; None where no amount is named). `used_at` is set, in one conditional
    UPDATE, when the form is posted: a second post finds it set and does nothing. `ok` and `outcome` are what the
    action came to, for the result page the post is redirected to."""

    id: int | None = None
    token_hash: str
    # The session the page was shown in (OperatorSession.token_hash): the token is spent only in that session, while
    # it lasts (bot.console.actions). None on rows stored before 0020: those are never spent.
    session_hash: str | None = None
    operator: str
    action: str  # "pause", "resume", "cancel", "refund" (bot.console.confirming)
    transfer_id: int | None = None
    amount_minor: int | None = None
    question: str
    created_at: datetime
    used_at: datetime | None = None
    ok: bool | None = None
    outcome: str | None = None


@entity
class SignInAttempt:
    """One try at signing in to the console, kept to limit them per name and per address."""

    id: int | None = None
    name: str
    ip: str
    at: datetime
    ok: bool = False


@entity
class ChartHour:
    """What the console's charts count of one past UTC hour (bot.console.read), kept once the hour is over so that
    a drawing counts only the hours since: transfers made, messages sent (all, DMs, replies), the DMs of the
    hour's busiest 15-minute window, messages queued, timeline steps to failed. Written by the console when it
    draws, never by the worker; every count is of rows that do not change once the hour is over."""

    hour: int  # hours since 1970-01-01 UTC
    made: int = 0
    sent: int = 0
    sent_dm: int = 0
    sent_reply: int = 0
    dm_peak: int = 0
    queued: int = 0
    failed: int = 0
