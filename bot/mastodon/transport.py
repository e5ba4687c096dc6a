"""The Mastodon adapter's connection: Mastodon.py on a session of its own (no proxy from the environment), the
account's rate-limit budget read from every answer, Mastodon's errors in the port's words, reads retried, and the
bot's own account and instance."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import stamina
from mastodon import Mastodon
from mastodon.errors import (
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from bot.errors import XAuthError, XError, XForbidden, XRateLimited, XTransient
from bot.mastodon.content import utc
from bot.ports import Clock, SystemClock, XUser

log = logging.getLogger("bot.mastodon.client")  # the adapter's one log, whichever part writes it
T = TypeVar("T")

PAGE = 80  # Mastodon's largest page of notifications
DEFAULT_MAX_CHARACTERS = 500
NAMES_FOR = timedelta(minutes=10)  # how long a display name read for a mention is used again
USER_PAGE = 40  # ids per GET /api/v1/accounts


class Connection:
    """Mastodon.py with the adapter's plumbing; the parts of `MastodonTimeline` build on it."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        timeout: float = 10.0,
        clock: Clock | None = None,
        dm_page_size: int = PAGE,
        edit_horizon: timedelta = timedelta(hours=1),
    ) -> None:
        session = requests.Session()
        session.trust_env = False  # no proxy variable can capture the token
        session.hooks["response"].append(self._remember)
        self.api = Mastodon(
            access_token=access_token,
            api_base_url=base_url.rstrip("/"),
            ratelimit_method="throw",
            request_timeout=timeout,
            session=session,
            version_check_mode="none",
        )
        self.clock = clock or SystemClock()
        self.timeout = timeout
        self.dm_page_size = dm_page_size
        self.edit_horizon = edit_horizon
        self.limit: tuple[int, int, datetime] | None = None  # (limit, remaining, reset) for the account
        self.server_time: datetime | None = None
        self.requests = 0
        self._me: XUser | None = None
        self._own_domain: str | None = None
        self._max_characters: int | None = None
        # (status, its edit time and text) -> its versions: text, the accts it mentions, when
        self._versions: dict[tuple[str, str], list[tuple[str, list[str], datetime]]] = {}
        self._accts: dict[str, str] = {}  # account id -> acct, from every account seen
        self._names: dict[str, tuple[str, datetime]] = {}  # account id -> display name, when it was read
        self._visibility: dict[str, str] = {}  # status id -> its visibility, for the reply's
        self._looked_up: dict[str, tuple[XUser | None, datetime]] = {}  # acct -> its account or None, when

    # ---------------------------------------------------------------- plumbing

    def _remember(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Every answer's rate-limit headers (one budget for the account) and the server's clock."""
        self.requests += 1
        h = resp.headers
        if "X-RateLimit-Limit" in h and "X-RateLimit-Reset" in h:
            try:
                self.limit = (
                    int(h["X-RateLimit-Limit"]),
                    int(h.get("X-RateLimit-Remaining", "0")),
                    utc(h["X-RateLimit-Reset"]),
                )
            except ValueError:
                log.warning("unreadable rate-limit headers from Mastodon: %s", h.get("X-RateLimit-Reset"))

    @property
    def limits(self) -> dict[str, tuple[int, int, datetime]]:
        """The rate-limit budget as `paybot status` shows X's by endpoint: Mastodon's one, for the account."""
        return {"account": self.limit} if self.limit else {}

    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        now = self.clock.now()
        if self.limit and self.limit[1] <= 0 and self.limit[2] > now:
            raise XRateLimited(
                f"{what}: Mastodon's rate limit reached until {self.limit[2]:%H:%M:%S} UTC",
                reset_at=self.limit[2],
                capped=False,
            )
        try:
            return fn(*args, **kwargs)
        except MastodonRatelimitError:
            reset = self.limit[2] if self.limit else None
            raise XRateLimited(f"{what}: rate limited", reset_at=reset, capped=False) from None
        except MastodonUnauthorizedError:
            raise XAuthError("Mastodon refused the access token (401): check MASTODON_ACCESS_TOKEN") from None
        except MastodonNotFoundError as err:
            raise XError(f"{what}: not found ({_detail(err)})") from None
        except MastodonServerError as err:
            raise XTransient(f"{what}: Mastodon answered {_status(err)}") from None
        except MastodonNetworkError as err:
            raise XTransient(f"{what}: {type(err).__name__}") from None
        except MastodonAPIError as err:
            if _status(err) == 403:
                raise XForbidden(f"{what}: forbidden: {_detail(err)}", reason="other") from None
            raise XError(f"{what}: Mastodon answered {_status(err)}: {_detail(err)}") from None

    def _read(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """A GET, retried on transient failures with jittered backoff."""
        for attempt in stamina.retry_context(on=XTransient, attempts=3, timeout=30):
            with attempt:
                return self._call(what, fn, *args, **kwargs)
        raise AssertionError("unreachable")  # pragma: no cover

    def _user(self, account: Any) -> XUser:
        acct = str(account["acct"])
        self._accts[str(account["id"])] = acct
        return XUser(str(account["id"]), acct, str(account.get("display_name") or ""))

    # -------------------------------------------------------------------- port

    def me(self) -> XUser:
        """The bot's own account (verify_credentials)."""
        self._me = self._user(self._read("verify_credentials", self.api.account_verify_credentials))
        return self._me

    def is_bot(self) -> bool:
        """Whether the bot's account is flagged as a bot (Mastodon's `bot`), for `paybot doctor`."""
        return bool(self._read("verify_credentials", self.api.account_verify_credentials).get("bot"))

    def max_characters(self) -> int:
        """The instance's status length (configuration.statuses.max_characters), read once."""
        if self._max_characters is None:
            instance = self._read("instance", self.api.instance_v2)
            try:
                self._max_characters = int(instance["configuration"]["statuses"]["max_characters"])
            except (KeyError, TypeError, ValueError):
                self._max_characters = DEFAULT_MAX_CHARACTERS
        return self._max_characters

    def _my_id(self) -> str:
        return (self._me or self.me()).id

    def _domain(self) -> str:
        """The bot's instance's domain (from its profile's address), where accts carry no domain."""
        if self._own_domain is None:
            account = self._read("verify_credentials", self.api.account_verify_credentials)
            self._own_domain = urlsplit(str(account.get("url") or "")).hostname or ""
        return self._own_domain

    def _acct(self, user_id: str) -> str:
        if user_id not in self._accts:
            self._user(self._read("account", self.api.account, user_id))
        return self._accts[user_id]


def _status(err: MastodonAPIError) -> int:
    return int(err.args[1]) if len(err.args) > 1 and str(err.args[1]).isdigit() else 0


def _detail(err: MastodonAPIError) -> str:
    return str(err.args[3] if len(err.args) > 3 else err)[:200]
