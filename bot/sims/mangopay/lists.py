"""Reading objects back: one object by id, and Mangopay's pages of a list (page, per_page, Sort, its headers)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request

from bot.sims.kit import link_header
from bot.sims.mangopay.errors import _param
from bot.sims.mangopay.facts import MAX_PER_PAGE
from bot.sims.mangopay.state import MangopayState


class Lists(MangopayState):
    """One object by id, and Mangopay's paginated lists."""

    def _retrieve(self, kind: str) -> Callable[..., dict[str, Any]]:
        def view(_args: Any, oid: str) -> dict[str, Any]:
            self._sweep()
            return self._public(self._get(kind, oid))

        return view

    def _page(
        self, rows: list[dict[str, Any]], args: Any, *, sort_field: str = "CreationDate", default: str = "ASC"
    ) -> tuple[list[dict[str, Any]], dict[str, str]]:
        """One page of a list, with Mangopay's pagination headers."""
        try:
            page = int(args.get("page", 1))
            per_page = int(args.get("per_page", 10))
        except ValueError:
            raise _param("page and per_page are numbers") from None
        if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
            raise _param(
                "One or several required parameters are missing or incorrect",
                per_page=f"per_page is between 1 and {MAX_PER_PAGE}; page starts at 1",
            )
        field, _, direction = (args.get("Sort") or f"{sort_field}:{default}").partition(":")
        if field not in ("CreationDate", "Date") or direction.upper() not in ("ASC", "DESC"):
            raise _param("Invalid sort", Sort="CreationDate:ASC or CreationDate:DESC")
        rows = (
            sorted(
                rows, key=lambda o: (o.get(sort_field), int(o.get("Id", 0) or 0)), reverse=direction.upper() == "DESC"
            )
            if sort_field == "CreationDate"
            else (rows[::-1] if direction.upper() == "DESC" else rows)
        )
        pages = max(1, -(-len(rows) // per_page))
        chunk = rows[(page - 1) * per_page : page * per_page]
        links = link_header(
            request.base_url,
            [
                (rel, {"page": p, "per_page": per_page})
                for rel, p in (
                    ("first", 1),
                    ("prev", max(1, page - 1)),
                    ("next", min(pages, page + 1)),
                    ("last", pages),
                )
            ],
        )
        headers = {"X-Number-Of-Pages": str(pages), "X-Number-Of-Items": str(len(rows)), "Link": links}
        return [self._public(o) if "_kind" in o else o for o in chunk], headers
