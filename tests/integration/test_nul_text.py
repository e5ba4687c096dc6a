"""A NUL character (JSON's "\\u0000") in a post or in a display name, on SQLite and PostgreSQL: PostgreSQL refuses it
in text, so it is replaced (U+FFFD) where the timeline's values are made (bot.ports.timeline); the payer gets the same
confirmation on both stores, and the next mention is handled."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from bot.ports.timeline import DirectMessage, Mention, XUser
from bot.sims.runner import Run
from bot.sims.x import XSim


def _run(database_url: str, tmp_path: Path, users: dict[str, Any], posts: list[dict[str, str]]) -> list[str]:
    settings = {"database_url": database_url} if database_url.startswith("postgres") else {}
    r = Run({"settings": settings, "users": users}, tmp_path)
    try:
        for post in posts:
            r.step(post)
        return [m.get("text", "") for m in cast(XSim, r.sim).bot_messages()]
    finally:
        r.close()


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_a_nul_in_a_memo_is_shown_and_kept_replaced(database_url: str, tmp_path: Path) -> None:
    said = _run(
        database_url,
        tmp_path,
        {"bob": {"card": "ok"}, "alice": {"payouts": True}, "carol": {"card": "ok"}},
        [
            {"tweet": "@paybot send 5 to @alice for pi\x00zza", "by": "bob", "id": "t1"},
            {"tweet": "@paybot send 3 to @alice for tea", "by": "carol", "id": "t2"},
        ],
    )
    assert any(t.startswith('Send $5.00 to @alice for "pi\ufffdzza"?') for t in said), said
    assert any(t.startswith('Send $3.00 to @alice for "tea"?') for t in said), said
    assert not any("\x00" in t for t in said)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_a_nul_in_a_display_name_does_not_stop_payments_to_them(database_url: str, tmp_path: Path) -> None:
    said = _run(
        database_url,
        tmp_path,
        {"bob": {"card": "ok"}, "alice": {"payouts": True, "name": "Al\x00ice"}},
        [{"tweet": "@paybot send 5 to @alice for pizza", "by": "bob", "id": "t1"}],
    )
    assert any(t.startswith("Send $5.00 to @alice (") and 'for "pizza"?' in t for t in said), said
    assert not any("\x00" in t for t in said)


def test_the_timelines_values_carry_no_nul() -> None:
    at = cast(Any, None)
    user = XUser("1", "a\x00b", "c\x00d")
    mention = Mention("2", "1", "x\x00y", at, author_handle="h\x00", author_name="\x00n")
    dm = DirectMessage("3", "1", "y\x00es", at, sender_handle="\x00h")
    assert (user.handle, user.name) == ("a\ufffdb", "c\ufffdd")
    assert (mention.text, mention.author_handle, mention.author_name) == ("x\ufffdy", "h\ufffd", "\ufffdn")
    assert (dm.text, dm.sender_handle) == ("y\ufffdes", "\ufffdh")
