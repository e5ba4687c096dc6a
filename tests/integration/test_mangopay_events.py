"""How the Mangopay adapter reads Mangopay's events: one EventType a request (Mangopay requires it), never further
back than the 45 days Mangopay keeps them, within the 2,300 calls Mangopay allows in 15 minutes (the poll waits
while few are left; a 429 is asked again at the next poll, not in a loop)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from bot.errors import ProviderTransient
from bot.ports import EventKind, FakeClock
from bot.providers.mangopay_provider import EVENT_RETENTION, EVENT_TYPES, EVENTS_RESERVE, MangopayProvider
from bot.sims.mangopay import MangopaySim
from tests.support.mangopay_kit import ALICE, BOB, give_card, make_receiver, pay, provider


def _event_reads(sim: MangopaySim, since: int = 0) -> list[dict[str, list[str]]]:
    return [parse_qs(r["query"]) for r in sim.requests[since:] if r["route"] == "GET /events"]


@pytest.fixture
def small(tmp_path: Path) -> Iterator[tuple[MangopaySim, MangopayProvider]]:
    """An emulator allowing few calls in 15 minutes (EVENTS_RESERVE and 120), as if the rest of Mangopay's 2,300
    were spent already."""
    sim = MangopaySim(FakeClock(), rate_limits=((timedelta(minutes=15), EVENTS_RESERVE + 120),))
    sim.start()
    mp = provider(sim, tmp_path)
    yield sim, mp
    mp.close()
    sim.stop()


def test_events_are_read_one_type_a_request_and_only_those_paybot_needs(
    small: tuple[MangopaySim, MangopayProvider],
) -> None:
    """A poll asks each event type paybot translates, once each, and translates what it finds in date order."""
    sim, mp = small
    give_card(sim, mp, BOB)
    make_receiver(sim, mp, ALICE)
    before = len(sim.requests)
    events, cursor = mp.events(None)
    assert sorted(q["EventType"][0] for q in _event_reads(sim, before)) == sorted(EVENT_TYPES)
    assert [e.kind for e in events if e.user_id == ALICE] == [EventKind.ENROLLED, EventKind.ACCOUNT_READY]
    assert mp.events(cursor)[0] == []  # nothing read twice


def test_a_poll_never_asks_for_events_older_than_the_45_days_mangopay_keeps(
    small: tuple[MangopaySim, MangopayProvider], caplog: pytest.LogCaptureFixture
) -> None:
    """After 50 days without a poll, the next one asks from 45 days back (what is older is gone, and said so)."""
    sim, mp = small
    make_receiver(sim, mp, ALICE)
    _, cursor = mp.events(None)
    assert isinstance(sim.clock, FakeClock)
    sim.clock.advance(timedelta(days=50))
    before = len(sim.requests)
    mp.events(cursor)
    oldest = int((sim.clock.now() - EVENT_RETENTION).timestamp())
    dates = [int(q["AfterDate"][0]) for q in _event_reads(sim, before) if "AfterDate" in q]
    assert dates and min(dates) >= oldest
    assert "may have passed their 45 days unread" in caplog.text


def test_the_poll_waits_while_few_calls_are_left_and_a_429_is_not_asked_again_in_a_loop(
    small: tuple[MangopaySim, MangopayProvider],
) -> None:
    """With fewer than EVENTS_RESERVE calls left in the 15 minutes, the poll reads nothing and keeps its cursor;
    past the window it reads again. A 429 on the events is one request, told as transient."""
    sim, mp = small
    give_card(sim, mp, BOB)
    make_receiver(sim, mp, ALICE)
    _, cursor = mp.events(None)
    pay(mp)
    while mp._rate_left is None or mp._rate_left >= EVENTS_RESERVE:
        mp._get(f"/users/{mp._row(BOB).mangopay_user_id}")  # other calls spend the window, as a busy worker's
    before = len(sim.requests)
    assert mp.events(cursor) == ([], cursor) and _event_reads(sim, before) == []
    assert isinstance(sim.clock, FakeClock)
    sim.clock.advance(timedelta(minutes=15))
    mp._get(f"/users/{mp._row(BOB).mangopay_user_id}")  # the window has passed: Mangopay says so
    sim.inject("GET /events", 429)
    before = len(sim.requests)
    with pytest.raises(ProviderTransient):
        mp.events(cursor)
    assert [r["status"] for r in sim.requests[before:] if r["route"] == "GET /events"] == [429]
    before = len(sim.requests)
    mp.events(cursor)  # the next poll reads them
    assert {r["status"] for r in sim.requests[before:] if r["route"] == "GET /events"} == {200}
