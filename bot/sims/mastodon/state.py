"""The simulated instance's state: its accounts (here and on other instances), statuses, notifications, tokens, the
request log, rate-limit windows, Idempotency-Keys and injected faults, and what the API asks of them."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.ports import Clock, SystemClock
from bot.sims.kit import Loopback, count_in_window, live_key, queue_fault
from bot.sims.mastodon.facts import DOMAIN, KEY_LIFETIME, MAX_CHARACTERS, MENTION, RATE_LIMIT, SIM_TOKEN, WINDOW


class MastodonState:
    """The simulated instance's accounts, statuses and notifications, and what its API asks of them."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        bot_handle: str = "paybot",
        domain: str = DOMAIN,
        rate_limit: int | None = RATE_LIMIT,
        max_characters: int = MAX_CHARACTERS,
        token: str = SIM_TOKEN,
    ) -> None:
        self.clock = clock or SystemClock()
        self.domain = domain
        self.rate_limit = rate_limit
        self.max_characters = max_characters
        self.lock = threading.RLock()
        self.accounts: dict[str, dict[str, Any]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []  # in id order
        # Edits for the user streams, in order: (its number, the account whose stream gets it, the status). Sent to
        # the accounts the edited status names. A real instance sends `status.update` to the home timelines holding
        # the status (test_stream_user_direct.yaml shows one on the user stream); whether a named stranger's stream
        # gets it is not in the recordings: the simulator sends it, and paybot only wakes on it.
        self.status_updates: list[tuple[int, str, str]] = []
        self.tokens: dict[str, str] = {}  # access token -> account id
        self.log: list[dict[str, Any]] = []  # every API request: endpoint, method, status
        self._last_id = 0
        self._next_account = 110_000_000_000_000_001
        self._next_notification = 1
        self._windows: dict[str, tuple[datetime, int]] = {}
        self.idempotency: dict[tuple[str, str], dict[str, Any]] = {}  # (account, key) -> {"status": id, "at"}
        self.faults: dict[str, list[int]] = {}  # endpoint -> the statuses its next requests answer
        self.scopes = ["read", "write"]  # what the bot's token was granted
        self.closing = threading.Event()  # set by stop(): open streams end
        self.streams = 0  # user streams opened so far
        self.server = Loopback("mastodon-sim")
        self.base = ""  # its URL once started
        self.bot_id = self.add_user(bot_handle, "paybot", bot=True)
        self.tokens[token] = self.bot_id

    def add_user(
        self, handle: str, name: str | None = None, *, bot: bool = False, accepts_dms: bool = True, known: bool = True
    ) -> str:
        """An account, local (`alice`) or on another instance (`alice@other.example`); returns its id.

        `known=False`: an account of another instance that this one has never seen. Lookups and mentions do not
        find it; a search with `resolve=true` for its acct does (WebFinger, played), and makes it known.
        Mastodon has no "closed DMs": `accepts_dms` is kept for the X-shaped callers and has no effect."""
        del accepts_dms
        username, _, domain = handle.partition("@")
        with self.lock:
            if self._find(handle):
                raise ValueError(f"@{handle} exists")
            uid = str(self._next_account)
            self._next_account += 1
            self.accounts[uid] = {
                "id": uid,
                "username": username,
                "domain": domain or None,
                "display_name": name if name is not None else username.title(),
                "bot": bot,
                "known": known or not domain,
                "created_at": self.clock.now().replace(hour=0, minute=0, second=0, microsecond=0),
            }
            return uid

    def token_for(self, handle: str) -> str:
        """An access token acting as this local account (people posting through the API)."""
        uid = self.user_id(handle)
        token = f"sim-token-{uid}"
        self.tokens[token] = uid
        return token

    def user_id(self, handle: str) -> str:
        found = self._find(handle)
        if not found:
            raise KeyError(f"no account @{handle}")
        return str(found["id"])

    def acct(self, account_id: str) -> str:
        """The account's handle as Mastodon writes it for this instance: `alice`, or `alice@other.example`."""
        a = self.accounts[account_id]
        return f"{a['username']}@{a['domain']}" if a["domain"] else str(a["username"])

    handle = acct  # the X simulator's name for it

    def rename(self, handle: str, new: str) -> None:
        """The account moves to a new username (Mastodon only allows this through an account move)."""
        with self.lock:
            if self._find(new):
                raise ValueError(f"@{new} is taken")
            self.accounts[self.user_id(handle)]["username"] = new.partition("@")[0]

    def _find(self, handle: str) -> dict[str, Any] | None:
        username, _, domain = handle.lower().lstrip("@").partition("@")
        domain_or_none = None if domain in ("", self.domain) else domain
        return next(
            (
                a
                for a in self.accounts.values()
                if a["username"].lower() == username and (a["domain"] or None) == domain_or_none
            ),
            None,
        )

    def known(self, handle: str) -> dict[str, Any] | None:
        """The account this instance knows by that handle (lookups, mentions), or None."""
        found = self._find(handle)
        return found if found and found["known"] else None

    def resolve(self, handle: str) -> dict[str, Any] | None:
        """The account by that handle, fetched from its instance when this one has never seen it (WebFinger)."""
        with self.lock:
            found = self._find(handle)
            if found:
                found["known"] = True
            return found

    def _mentioned(self, text: str) -> list[str]:
        """The known accounts the text mentions. One this instance has never seen is no mention (its link stays
        in the content, as in a status from another instance naming someone this one has not fetched)."""
        found: list[str] = []
        for m in MENTION.finditer(text):
            account = self.known(f"{m.group(1)}@{m.group(2)}" if m.group(2) else m.group(1))
            if account and account["id"] not in found:
                found.append(account["id"])
        return found

    def _notify(self, status: dict[str, Any], accounts: list[str]) -> None:
        for uid in accounts:
            if uid != status["account_id"] and self.accounts[uid]["domain"] is None:
                self._add_notification("mention", uid, status["account_id"], status["id"])

    def _add_notification(self, kind: str, to: str, by: str, status_id: str | None) -> None:
        nid = str(self._next_notification)
        self._next_notification += 1
        self.notifications.append(
            {
                "id": nid,
                "type": kind,
                "to": to,
                "account_id": by,
                "status_id": status_id,
                "created_at": self.clock.now(),
            }
        )

    def _edit_time(self) -> datetime:
        """When an edit made now is made: now, but after every status posted before it. On a real server time
        passes between two requests; here many statuses may share one instant of the clock, their snowflakes
        told apart by the sequence in their low 16 bits, which an edit's time (to the millisecond) cannot show.
        Such an edit is made a millisecond after them, and the statuses after it get snowflakes past it."""
        now = self.clock.now()
        millis = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
        at_millis = max(millis, (self._last_id >> 16) + 1)
        self._last_id = max(self._last_id, (at_millis << 16) + 0xFFF)  # later statuses sort after the edit
        return now + timedelta(milliseconds=at_millis - millis)

    def _past_status_id(self, at: datetime) -> str:
        """A snowflake for a time already past, unused (a federated status published earlier)."""
        sid = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1) << 16
        while str(sid) in self.statuses:
            sid += 1
        return str(sid)

    def _new_status_id(self, now: datetime) -> str:
        """Mastodon's snowflake: the time in milliseconds, shifted 16 bits, plus a sequence."""
        sid = max(int(now.timestamp() * 1000) << 16, self._last_id + 1)
        self._last_id = sid
        return str(sid)

    def inject(self, endpoint: str, status: int, times: int = 1) -> None:
        """Answer the next `times` requests to `endpoint` (a name of routes.ROUTES) with `status`."""
        with self.lock:
            queue_fault(self.faults, endpoint, status, max(times, 1))  # `times` 0 still fails one request

    def rate(self, account_id: str) -> tuple[int, int, datetime] | None:
        """Count one request by this account; (limit, remaining, reset) or None when unlimited. Mastodon's
        windows are aligned on the period (a reset at 13:55:00 for a request at 13:51)."""
        if self.rate_limit is None:
            return None
        now = self.clock.now()
        epoch = datetime(2000, 1, 1, tzinfo=UTC)
        start = epoch + WINDOW * ((now - epoch) // WINDOW)
        used = count_in_window(self._windows, account_id, start)
        return self.rate_limit, self.rate_limit - used, start + WINDOW

    def countable(self, text: str) -> int:
        """A status's length as Mastodon counts it: a link is 23 characters, a remote mention its @username."""
        text = re.sub(r"https?://\S+", "x" * 23, text)
        return len(MENTION.sub(lambda m: f"@{m.group(1)}", text))

    def remembered(self, account_id: str, key: str | None) -> dict[str, Any] | None:
        """The status this account already posted with this Idempotency-Key in the last hour, if any."""
        if not key:
            return None
        found = live_key(self.idempotency, (account_id, key), self.clock.now().timestamp(), KEY_LIFETIME)
        if found and found["status"] in self.statuses:
            return self.statuses[found["status"]]
        return None

    def visible(self, status: dict[str, Any], viewer: str) -> bool:
        """Whether `viewer` may see the status: direct ones only by their author and the people they name."""
        return status["visibility"] != "direct" or viewer == status["account_id"] or viewer in status["mentions"]
