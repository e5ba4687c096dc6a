"""What X's pay-per-use API costs, and a meter that prices requests as they are made.

Prices in USD from docs/DESIGN.md ("Platform facts": X's pricing as of 2026).
Reads are billed per resource returned in a successful response, once per
resource per UTC day; writes per request.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

PRICES = {
    "owned_post_read": 0.001,  # posts from the bot's own mentions timeline (since Apr 2026)
    "post_read": 0.005,
    "user_read": 0.010,
    "dm_event_read": 0.010,
    "post_create": 0.015,
    "summoned_reply": 0.010,  # a reply to a post that mentioned the bot
    "dm_create": 0.015,
}
_READ_KIND = {"mentions": "owned_post_read", "dm_events": "dm_event_read", "dm_conversation_events": "dm_event_read"}


@dataclass
class Meter:
    """Requests and dollars of one UTC day; `add` one successful request at a time."""

    day: str = ""
    requests: Counter[str] = field(default_factory=Counter)
    usd: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    _seen: set[tuple[str, str]] = field(default_factory=set)

    def add(self, day: str, endpoint: str, method: str, ids: list[str], user_ids: list[str]) -> None:
        if day != self.day:
            self.day, self.requests, self.usd, self._seen = day, Counter(), defaultdict(float), set()
        self.requests[endpoint] += 1
        if method == "GET":
            kind = _READ_KIND.get(endpoint, "post_read")
            for rid in ids:
                self._read(kind, rid)
            for uid in user_ids:
                self._read("user_read", uid)
        elif endpoint == "dm_post":
            self.usd["dm_create"] += PRICES["dm_create"]
        elif endpoint == "tweets_post":
            self.usd["summoned_reply"] += PRICES["summoned_reply"]

    def _read(self, kind: str, rid: str) -> None:
        if (kind, rid) not in self._seen:
            self._seen.add((kind, rid))
            self.usd[kind] += PRICES[kind]

    def summary(self) -> dict[str, Any]:
        return {
            "day": self.day,
            "requests": dict(self.requests),
            "requests_total": sum(self.requests.values()),
            "usd": round(sum(self.usd.values()), 4),
            "usd_by_line": {k: round(v, 4) for k, v in self.usd.items()},
        }


def bill(log: list[dict[str, Any]]) -> dict[str, float]:
    """Dollars by price line for a request log (the X simulator's), each day billed on its own."""
    meters: dict[str, Meter] = {}
    for e in log:
        if 200 <= e["status"] < 300:
            day = e["at"][:10]
            meters.setdefault(day, Meter()).add(day, e["endpoint"], e["method"], e["ids"], e["user_ids"])
    out = dict.fromkeys(PRICES, 0.0)
    for m in meters.values():
        for k, v in m.usd.items():
            out[k] += v
    return out
