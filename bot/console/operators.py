"""The console's operators: accounts, sign-in (rate-limited, with an optional TOTP code) and sessions.

Decisions (the issue leaves them open):
- Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106's second recommended profile); the hash is
  rehashed at sign-in when those defaults grow. A password is at least `MIN_PASSWORD` characters; there is no
  default one: with no operator in the store the console answers 404.
- A TOTP code (pyotp, 30-second steps, one step of clock drift either way) is asked of operators who chose one at
  `paybot operator add NAME --totp`. Its secret is stored as is: whoever reads the store can read the money
  anyway.
- Sign-in attempts are stored, and counted one sign-in at a time (`_count_alone`): of tries sent at the same
  instant, no more than the limits are checked. After `NAME_FAILURES` failures for one name, or `IP_FAILURES` from
  one address, within `WINDOW`, sign-in is refused for that name or address until the oldest of them is older than
  `WINDOW`, without the password being checked (so the refusal costs no hashing). A refused try is not stored (it
  would keep the limit on for as long as someone kept trying). A success does not clear the failures.
- A session is a random token in the cookie; the store keeps its SHA-256 only. It ends after `IDLE` without a page
  or at `LIFETIME` after sign-in, whichever comes first, and at sign-out. Signing in starts a new session (the
  cookie's contents are replaced), so a session cannot be fixed in advance.
- A sign-in's last unit of work locks the operator's row (SELECT ... FOR UPDATE on PostgreSQL), as `add` and
  `remove` do (and sign-out, so a confirmation spent in a session is spent before it ends or not at all): one TOTP
  code makes one session however many tries carry it at once, and a session is stored only
  while the row still holds the password hash that was checked, so a new password or a removal ends every
  session, even one whose sign-in was under way.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.console.records import Operator, OperatorSession, SignInAttempt
from bot.repo import console_auth as db
from bot.repo.sql import SqlStore, SqlTx

MIN_PASSWORD = 12
NAME_PATTERN = r"[a-z0-9][a-z0-9_.-]{0,31}"
WINDOW = timedelta(minutes=15)
NAME_FAILURES = 5
IP_FAILURES = 20
IDLE = timedelta(minutes=30)
LIFETIME = timedelta(hours=12)
# The PostgreSQL advisory lock key sign-in tries are counted under (_count_alone): "pb-signin" as a number, so
# that it meets no other lock by chance.
SIGN_IN_LOCK = int.from_bytes(b"pb-signin", "big") % 2**63
KEPT = timedelta(days=30)  # sign-in attempts older than this are deleted at the next sign-in
_hasher = PasswordHasher()
# Checked when the name is unknown, so that an unknown name takes as long as a known one. Made by the first check of a
# password (whichever the name), not at import: the operator commands and the worker import the console and never
# sign anyone in, and a hash at Argon2id's defaults costs 64 MiB and a tenth of a second.
_DUMMY: str | None = None


def _dummy_hash() -> str:
    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _hasher.hash(secrets.token_urlsafe(16))
    return _DUMMY


class OperatorError(ValueError):
    """A name or password `add` refuses, with the sentence that says why."""


def any_operator(store: SqlStore) -> bool:
    """Whether the console is on: someone may sign in."""
    return db.any_operator(store)


def add(
    store: SqlStore, name: str, password: str, now: datetime, *, totp: bool = False, replace: bool = False
) -> str | None:
    """Create (or, with `replace`, reset) the operator `name`; their TOTP secret when `totp`. OperatorError for a
    bad name, a short password or an existing name."""
    import re

    if not re.fullmatch(NAME_PATTERN, name):
        raise OperatorError("a name is 1 to 32 of a-z, 0-9, '_', '.' and '-', starting with a letter or digit")
    if len(password) < MIN_PASSWORD:
        raise OperatorError(f"a password is at least {MIN_PASSWORD} characters")
    secret = pyotp.random_base32() if totp else None
    with store() as s:
        known = db.lock_operator(s, name)  # a sign-in under way finishes first (sign_in)
        if known is not None and not replace:
            raise OperatorError(f"there is already an operator {name} (--replace to set a new password)")
        row = known or Operator(name=name, password_hash="", created_at=now)
        row.password_hash, row.totp_secret = _hasher.hash(password), secret
        s.add(row)
        db.end_sessions_of(s, name)
        s.commit()
    return secret


def remove(store: SqlStore, name: str) -> bool:
    """Delete the operator `name` and end their sessions; False when there is none."""
    with store() as s:
        row = db.lock_operator(s, name)  # a sign-in under way finishes first (sign_in)
        if row is None:
            return False
        db.delete_row(s, row)
        db.end_sessions_of(s, name)
        s.commit()
    return True


def names(store: SqlStore) -> list[str]:
    return db.operator_names(store)


def totp_uri(name: str, secret: str, issuer: str = "paybot") -> str:
    """The otpauth:// address an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=issuer)


@dataclass(frozen=True)
class SignIn:
    """What a sign-in came to: `token` (for the cookie) when it worked; otherwise why not ("wrong", "limited")."""

    token: str | None
    refusal: str | None = None


def sign_in(store: SqlStore, name: str, password: str, code: str, ip: str, now: datetime) -> SignIn:
    """Check a name, password and TOTP code; a new session's token when they are right. One beyond the limits is
    refused ("limited") without checking anything, and not stored (it must not keep the limit on for ever).

    In three steps, so that the password's hashing (a quarter of a second, 64 MiB) holds no write lock on the store
    the worker writes to: the attempt is stored first, as failed (a burst of tries sent together is counted while
    they are checked), then checked outside any unit of work, then, if right, marked so with its session. A TOTP code
    is accepted once (RFC 6238, 5.2): its step must come after the last one accepted."""
    name = name.strip().lower()[:64]
    with store() as s:
        _count_alone(s)
        since = now - WINDOW
        by_name = db.failures_since(s, since, name=name)
        by_ip = db.failures_since(s, since, ip=ip)
        if by_name >= NAME_FAILURES or by_ip >= IP_FAILURES:
            return SignIn(None, "limited")
        attempt = SignInAttempt(name=name, ip=ip[:64], at=now, ok=False)
        s.add(attempt)
        db.forget_attempts_before(s, now - KEPT)
        row = s.get(Operator, name)
        known = (row.password_hash, row.totp_secret) if row is not None else None
        s.commit()
        attempt_id = attempt.id
    step = _code_step(known[1], code, now) if known else None
    if not (_password_ok(known[0] if known else None, password) and known and (not known[1] or step is not None)):
        return SignIn(None, "wrong")
    with store() as s:
        # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serializes): the row is locked until the session
        # is stored, so a simultaneous try with the same TOTP code waits and then reads the step written here, and
        # a new password (`add --replace`) or a removal either commits first (and the hash read here differs) or
        # waits for this commit (and then deletes the session stored here). The reset always wins.
        row = db.lock_operator(s, name)
        if (
            row is None
            or row.password_hash != known[0]
            or (step is not None and row.totp_last_step is not None and step <= row.totp_last_step)
        ):
            return SignIn(None, "wrong")  # removed or changed meanwhile, or that code (or a later one) was used
        if step is not None:
            row.totp_last_step = step
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = _hasher.hash(password)
        s.add(row)
        done = s.get(SignInAttempt, attempt_id)
        if done is not None:
            done.ok = True
            s.add(done)
        token = secrets.token_urlsafe(32)
        s.add(
            OperatorSession(
                token_hash=_digest(token), operator=row.name, created_at=now, seen_at=now, expires_at=now + LIFETIME
            )
        )
        s.commit()
    return SignIn(token)


def _count_alone(s: SqlTx) -> None:
    """Make this unit of work the only one counting and storing sign-in tries until it ends, so that tries sent
    together are counted one after the other and no more than the limits are ever checked. SQLite needs nothing:
    every unit of work begins with BEGIN IMMEDIATE, which takes the store's one write lock. PostgreSQL's READ
    COMMITTED would let simultaneous tries each count the failures stored before any of them: a transaction-level
    advisory lock (one key for every sign-in: they are few, and each holds it for two short statements, never
    while a password is hashed) makes them wait their turn, and is let go at commit or rollback."""
    db.count_alone(s, SIGN_IN_LOCK)


def _password_ok(password_hash: str | None, password: str) -> bool:
    try:
        dummy = _dummy_hash()  # made before the first check, known name or not: the first try's time tells nothing
        return bool(_hasher.verify(password_hash or dummy, password)) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _code_step(secret: str | None, code: str, now: datetime) -> int | None:
    """The 30-second step whose code `code` is (this one, the one before or after: clocks differ), or None."""
    if not secret:
        return None
    totp, typed = pyotp.TOTP(secret), code.strip().replace(" ", "")
    for offset in (-1, 0, 1):
        at = now + timedelta(seconds=offset * totp.interval)
        if hmac.compare_digest(totp.at(at), typed):
            return int(totp.timecode(at))
    return None


def operator_of(store: SqlStore, token: str | None, now: datetime) -> str | None:
    """The operator a session token belongs to while the session lasts (and it is then kept alive); else None."""
    if not token:
        return None
    with store() as s:
        row = s.get(OperatorSession, _digest(token))
        if row is None:
            return None
        if now >= row.expires_at or now - row.seen_at >= IDLE or s.get(Operator, row.operator) is None:
            db.delete_row(s, row)
            s.commit()
            return None
        if now - row.seen_at >= timedelta(minutes=1):  # one write a minute at most, not one per page
            row.seen_at = now
            s.add(row)
            s.commit()
        return row.operator


def sign_out(store: SqlStore, token: str | None) -> None:
    if not token:
        return
    with store() as s:
        row = s.get(OperatorSession, _digest(token))
        if row is None:
            return
        # The operator's row lock first, as a confirmation's spend takes it (bot.console.actions.claim): a spend
        # under way in this session commits before the sign-out does, or finds the session gone.
        db.lock_operator(s, row.operator)
        db.end_session(s, row.token_hash)
        s.commit()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
