"""The X adapter: tweepy.Client (OAuth 1.0a user context) behind the Timeline port.

tweepy objects never leave this module. Every request has a timeout (tweepy
sets none), no proxy variable can capture it, and it can be pointed at a local
base URL (the simulator) by rewriting https://api.twitter.com and
https://api.x.com. tweepy's wait_on_rate_limit is off: it can sleep forever on
a usage cap. Instead the rate-limit headers of each endpoint are remembered,
and a call that would exceed the limit raises XRateLimited before it is made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import stamina
import tweepy

from bot.errors import XAuthError, XError, XForbidden, XRateLimited, XTransient
from bot.ports import Clock, DirectMessage, DmPage, Mention, SentDm, SystemClock, XUser
from bot.x.pricing import Meter
from bot.x.transport import SignedClient

log = logging.getLogger(__name__)
DM_SENT_PAGES = 10  # how far back a send in doubt is looked for (50 events a page)

TWEET_FIELDS = [
    "author_id",
    "created_at",
    "conversation_id",
    "referenced_tweets",
    "entities",
    "display_text_range",
    "edit_history_tweet_ids",
]
MAX_MENTION_PAGES = 8  # 8 x 100 = the 800 mentions X lets anyone reach
USAGE_CAPPED = "usage-capped"


def _parse_time(raw: str | None) -> datetime:
    if not raw:
        return datetime.now(UTC)
    return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)


class XClient:
    """X, through tweepy; implements bot.ports.Timeline."""

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        base_url: str | None = None,
        timeout: float = 10.0,
        dm_page_size: int = 20,
        clock: Clock | None = None,
    ) -> None:
        self.client = SignedClient(
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            base_url=base_url,
            timeout=timeout,
        )
        self.dm_page_size = dm_page_size
        self.clock = clock or SystemClock()
        # endpoint -> (limit, remaining, reset time)
        self.limits: dict[str, tuple[int, int, datetime]] = {}
        self.paused: dict[str, datetime] = {}
        self.server_time: datetime | None = None  # X's clock, from the last answer's Date header
        self.meter = Meter()  # today's requests and their estimated cost

    def close(self) -> None:
        """Close the connections kept to X."""
        self.client.close()

    # ---------------------------------------------------------------- plumbing

    def _call(self, endpoint: str, fn: Callable[..., Any], **params: Any) -> dict[str, Any]:
        now = self.clock.now()
        until = self.paused.get(endpoint)
        if until and until > now:
            raise XRateLimited(f"{endpoint} is paused until {until:%H:%M:%S} UTC", reset_at=until, capped=False)
        known = self.limits.get(endpoint)
        if known and known[1] <= 0 and known[2] > now:
            raise XRateLimited(
                f"{endpoint}: rate limit reached until {known[2]:%H:%M:%S} UTC", reset_at=known[2], capped=False
            )
        try:
            resp = fn(**params, user_auth=True)
        except tweepy.TooManyRequests as err:
            self._remember(endpoint, err.response)
            capped = USAGE_CAPPED in (err.response.text or "")
            reset = self.limits.get(endpoint, (0, 0, None))[2] if not capped else None
            raise XRateLimited(
                f"{endpoint}: {'usage cap reached' if capped else 'rate limited'}", reset_at=reset, capped=capped
            ) from None
        except tweepy.Unauthorized:
            raise XAuthError("X refused the bot's credentials (401): check the X_* settings") from None
        except tweepy.Forbidden as err:
            detail = " ".join(err.api_messages) or (err.response.text or "")
            low = detail.lower()
            reason = "duplicate" if "duplicate" in low else "dm_closed" if "dm" in low else "other"
            raise XForbidden(f"{endpoint}: forbidden: {detail[:200]}", reason=reason) from None
        except tweepy.TwitterServerError as err:
            raise XTransient(f"{endpoint}: X answered {err.response.status_code}") from None
        except (requests.Timeout, requests.ConnectionError) as err:
            raise XTransient(f"{endpoint}: {type(err).__name__}") from None
        except tweepy.HTTPException as err:
            raise XError(f"{endpoint}: X answered {err.response.status_code}: {err.response.text[:200]}") from None
        self._remember(endpoint, resp)
        try:
            body = dict(resp.json())
        except (ValueError, TypeError):  # X answered, but not a JSON object: as if no answer came (a POST is in doubt)
            raise XTransient(f"{endpoint}: X answered {resp.status_code} with a body that is no JSON object") from None
        self._meter(endpoint, fn, body)
        return body

    def _meter(self, endpoint: str, fn: Callable[..., Any], body: dict[str, Any]) -> None:
        data = body.get("data")
        items = data if isinstance(data, list) else ([data] if isinstance(data, dict) else [])
        users = [u.get("id", "") for u in body.get("includes", {}).get("users", [])]
        if endpoint in ("users_by", "users_me", "users"):
            users, items = [i.get("id", "") for i in items], []
        method = "POST" if endpoint in ("dm_post", "tweets_post") else "GET"
        self.meter.add(f"{self.clock.now():%Y-%m-%d}", endpoint, method, [str(i.get("id", "")) for i in items], users)

    def _remember(self, endpoint: str, resp: requests.Response) -> None:
        h = resp.headers
        if "Date" in h:
            try:
                self.server_time = parsedate_to_datetime(h["Date"]).astimezone(UTC)
            except (TypeError, ValueError):
                pass
        if "x-rate-limit-limit" in h and "x-rate-limit-reset" in h:
            try:
                reset = datetime.fromtimestamp(int(h["x-rate-limit-reset"]), UTC)
                limit, remaining = int(h["x-rate-limit-limit"]), int(h.get("x-rate-limit-remaining", 0))
            except (ValueError, OverflowError, OSError):
                log.warning("%s: X's rate-limit headers are not numbers; not remembered", endpoint)
                return
            self.limits[endpoint] = (limit, remaining, reset)

    # -------------------------------------------------------------------- port

    def me(self) -> XUser:
        """The bot's own account."""
        body = self._read("users_me", self.client.get_me, user_fields=["username", "name"])
        data = body["data"]
        return XUser(data["id"], data["username"], data.get("name", ""))

    def mentions(self, user_id: str, since_id: str | None) -> list[Mention]:
        """Every mention newer than since_id (all pages, up to X's 800 horizon), oldest first."""
        found: list[Mention] = []
        token: str | None = None
        for _ in range(MAX_MENTION_PAGES):
            body = self._read(
                "mentions",
                self.client.get_users_mentions,
                id=user_id,
                since_id=since_id,
                max_results=100,
                pagination_token=token,
                tweet_fields=TWEET_FIELDS,
                expansions=["author_id", "entities.mentions.username"],
                user_fields=["username", "name"],
            )
            users = {u["id"]: u for u in body.get("includes", {}).get("users", [])}
            found.extend(self._mention(p, users) for p in body.get("data", []))
            token = body.get("meta", {}).get("next_token")
            if not token:
                break
        else:
            log.warning(
                "read %d pages of mentions and there are more: older mentions may be out "
                "of reach (X keeps the latest 800)",
                MAX_MENTION_PAGES,
            )
        found = self._fill_missing_ids(found)
        found.sort(key=lambda m: int(m.id))
        return found

    def dm_events(self, stop_at: str | None, resume: str | None = None, not_before: datetime | None = None) -> DmPage:
        """Message events newer than the event id `stop_at`, oldest first, up to 10 pages.

        When the pages run out before reaching `stop_at`, `resume` is the
        token to continue from on the next call, so a backlog larger than one
        call is read in several calls and nothing is skipped. Without a
        `stop_at` (nothing read yet), `not_before` is the mark instead: events
        sent before it are history and end the reading. With neither, three
        pages of the latest events are read."""
        found: list[DirectMessage] = []
        token: str | None = resume
        bounded = bool(stop_at) or not_before is not None
        for _ in range(10 if bounded else 3):
            body = self._read(
                "dm_events",
                self.client.get_direct_message_events,
                event_types="MessageCreate",
                max_results=self.dm_page_size,
                pagination_token=token,
                dm_event_fields=["id", "text", "sender_id", "created_at", "dm_conversation_id", "event_type"],
                expansions=["sender_id"],
                user_fields=["username"],
            )
            users = {u["id"]: u for u in body.get("includes", {}).get("users", [])}
            for e in body.get("data", []):
                created = _parse_time(e.get("created_at"))
                if (stop_at and int(e["id"]) <= int(stop_at)) or (
                    not stop_at and not_before is not None and created < not_before
                ):
                    token = None
                    break
                found.append(
                    DirectMessage(
                        id=e["id"],
                        sender_id=e.get("sender_id", ""),
                        text=e.get("text", ""),
                        created_at=created,
                        conversation_id=e.get("dm_conversation_id", ""),
                        sender_handle=users.get(e.get("sender_id"), {}).get("username", ""),
                    )
                )
            else:
                token = body.get("meta", {}).get("next_token")
                if token:
                    continue
            break
        found.sort(key=lambda d: int(d.id))
        return DmPage(found, token if bounded else None)

    def send_dm(self, user_id: str, text: str) -> str:
        body = self._call("dm_post", self.client.create_direct_message, participant_id=user_id, text=text)
        return str(body["data"]["dm_event_id"])

    def dm_sent(self, user_id: str, text: str, since: datetime) -> SentDm | None:
        """Look through the conversation with user_id, newest first and back to `since`, for this text
        from the bot; returns when X says it was sent. One page of 50 events is the usual cost; a busy
        conversation takes more. X keeps milliseconds: `since` is cut to them, so a DM sent in the same
        millisecond (recorded as before it) is still found."""
        since = since.replace(microsecond=since.microsecond // 1000 * 1000)
        token: str | None = None
        for _ in range(DM_SENT_PAGES):
            body = self._read(
                "dm_conversation_events",
                self.client.get_direct_message_events,
                participant_id=user_id,
                event_types="MessageCreate",
                max_results=50,
                pagination_token=token,
                dm_event_fields=["id", "text", "sender_id", "created_at"],
            )
            events = body.get("data", [])
            found = [
                SentDm(str(e.get("id")), at)
                for e in events
                if e.get("sender_id") != user_id
                and e.get("text") == text
                and (at := _parse_time(e.get("created_at"))) >= since
            ]
            if found:
                return min(found, key=lambda sent: sent.at)
            token = body.get("meta", {}).get("next_token")
            if not events or not token or any(_parse_time(e.get("created_at")) < since for e in events):
                return None
        log.warning(
            "looked through %d pages of the conversation with %s without reaching the send in doubt; sending it again",
            DM_SENT_PAGES,
            user_id,
        )
        return None

    def reply(self, in_reply_to: str, text: str) -> str:
        body = self._call("tweets_post", self.client.create_tweet, text=text, in_reply_to_tweet_id=in_reply_to)
        return str(body["data"]["id"])

    def users_by_handle(self, handles: list[str]) -> dict[str, XUser]:
        """Look handles up, 100 per request; unknown handles are simply absent."""
        out: dict[str, XUser] = {}
        names = list(dict.fromkeys(h.lower() for h in handles))
        for i in range(0, len(names), 100):
            body = self._read(
                "users_by", self.client.get_users, usernames=names[i : i + 100], user_fields=["username", "name"]
            )
            for u in body.get("data", []):
                out[u["username"].lower()] = XUser(u["id"], u["username"], u.get("name", ""))
        return out

    def users(self, ids: list[str]) -> dict[str, XUser]:
        """Look user ids up, 100 per request (renames); deleted or suspended accounts are absent."""
        out: dict[str, XUser] = {}
        wanted = list(dict.fromkeys(i for i in ids if i))
        for i in range(0, len(wanted), 100):
            body = self._read("users", self.client.get_users, ids=wanted[i : i + 100], user_fields=["username", "name"])
            for u in body.get("data", []):
                out[u["id"]] = XUser(u["id"], u["username"], u.get("name", ""))
        return out

    # ----------------------------------------------------------------- helpers

    def _read(self, endpoint: str, fn: Callable[..., Any], **params: Any) -> dict[str, Any]:
        """A GET, retried on transient failures with jittered backoff."""
        for attempt in stamina.retry_context(on=XTransient, attempts=3, timeout=30):
            with attempt:
                return self._call(endpoint, fn, **params)
        raise AssertionError("unreachable")  # pragma: no cover

    def _mention(self, p: dict[str, Any], users: dict[str, dict[str, Any]]) -> Mention:
        author = users.get(p.get("author_id", ""), {})
        mentioned: dict[str, XUser] = {}
        for m in (p.get("entities") or {}).get("mentions") or []:
            name = (m.get("username") or "").lower()
            if name:
                uid = m.get("id") or ""
                mentioned[name] = XUser(uid, m["username"], users.get(uid, {}).get("name", ""))
        refs = p.get("referenced_posts") or p.get("referenced_tweets") or []
        return Mention(
            id=p["id"],
            author_id=p.get("author_id", ""),
            text=p.get("text", ""),
            created_at=_parse_time(p.get("created_at")),
            author_handle=author.get("username", ""),
            author_name=author.get("name", ""),
            display_start=(p.get("display_text_range") or [0])[0],
            edit_ids=tuple(p.get("edit_history_post_ids") or p.get("edit_history_tweet_ids") or [p["id"]]),
            referenced=tuple((r["type"], r["id"]) for r in refs),
            mentioned=mentioned,
        )

    def _fill_missing_ids(self, mentions: list[Mention]) -> list[Mention]:
        """Entities normally carry ids (free); look up, in one batch, any that do not."""
        missing = sorted({h for m in mentions for h, u in m.mentioned.items() if not u.id})
        if not missing:
            return mentions
        found = self.users_by_handle(missing)
        out = []
        for m in mentions:
            fixed = {h: (found.get(h, u) if not u.id else u) for h, u in m.mentioned.items()}
            out.append(Mention(**{**m.__dict__, "mentioned": {h: u for h, u in fixed.items() if u.id}}))
        return out
