"""Reading objects back: one object by id (with `expand`), Stripe's cursor-paginated lists, and the events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request

from bot.sims.stripe.errors import _invalid, _missing
from bot.sims.stripe.params import _int
from bot.sims.stripe.state import StripeState


class Lists(StripeState):
    """One object by id, Stripe's lists, and the events."""

    def _retrieve(self, kind: str) -> Callable[..., dict[str, Any]]:
        def view(params: dict[str, Any], oid: str) -> dict[str, Any]:
            self._sweep()
            return self._expand(self._public(self._get(kind, oid)), params)

        return view

    def _expand(self, out: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """`expand[]`: each named top-level field that holds the id of an object the emulator keeps, answered as
        that object (a null stays null); Stripe refuses to expand anything else."""
        for name in (params.get("expand") or {}).values():
            value = out.get(name, "") if "." not in name else ""
            if value is None:
                continue
            target = self.objects.get(value) if isinstance(value, str) else None
            if target is None:
                raise _invalid(f"This property cannot be expanded ({name}).", "expand")
            out[name] = self._public(target)
        return out

    def _list(self, kind: str, *filters: str) -> Callable[..., dict[str, Any]]:
        def view(params: dict[str, Any]) -> dict[str, Any]:
            self._sweep()
            rows = [o for o in self.objects.values() if o["object"] == kind]
            for name in filters:
                if params.get(name):
                    rows = [o for o in rows if o.get(name) == params[name]]
            return self._page(rows, params, f"/v1/{kind.replace('.', '/')}s")

        return view

    def _page(self, rows: list[dict[str, Any]], params: dict[str, Any], url: str) -> dict[str, Any]:
        """Stripe's list: newest first, `limit`, cursors `starting_after` (older) and `ending_before` (newer)."""
        created = params.get("created") or {}
        if "gte" in created:
            rows = [o for o in rows if o["created"] >= int(created["gte"])]
        if "lte" in created:
            rows = [o for o in rows if o["created"] <= int(created["lte"])]
        rows = rows[::-1]  # objects are kept oldest first
        limit = max(1, min(100, _int(params, "limit", required=False) or 10))
        ids = [o["id"] for o in rows]
        if params.get("starting_after"):
            at = self._cursor(ids, params["starting_after"])
            window = rows[at + 1 :]
            page, more = window[:limit], len(window) > limit
        elif params.get("ending_before"):
            at = self._cursor(ids, params["ending_before"])
            window = rows[:at]
            page, more = window[-limit:], len(window) > limit
        else:
            page, more = rows[:limit], len(rows) > limit
        return {"object": "list", "url": url, "has_more": more, "data": [self._public(o) for o in page]}

    @staticmethod
    def _cursor(ids: list[str], oid: str) -> int:
        if oid not in ids:
            raise _missing("object", oid, "starting_after")
        return ids.index(oid)

    def _events_list(self, params: dict[str, Any]) -> dict[str, Any]:
        """The platform's events, or with Stripe-Account that connected account's events only."""
        self._sweep()
        acting = request.headers.get("Stripe-Account")
        rows = [e for e in self.events if e.get("account") == acting]
        types = set((params.get("types") or {}).values()) | ({params["type"]} if params.get("type") else set())
        if types:
            rows = [e for e in rows if e["type"] in types]
        return self._page(rows, params, "/v1/events")

    def _event_retrieve(self, _params: dict[str, Any], oid: str) -> dict[str, Any]:
        event = self._get("event", oid)
        if event.get("account") != request.headers.get("Stripe-Account"):
            raise _missing("event", oid)  # another account's event: this account has no such event
        return self._public(event)
