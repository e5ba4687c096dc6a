"""Mastodon's user stream: the simulator sends each new notification as a server-sent event, the adapter follows
it through Mastodon.py's StreamListener, and the worker reads at once when one comes instead of at its next
poll (polling stays, for what a dropped stream missed). Waits are bounded; what is asserted is what happened."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.bootstrap import build
from bot.mastodon.client import MastodonTimeline
from bot.ports import FakeClock
from bot.sims.mastodon import SIM_TOKEN, MastodonSim
from bot.sims.runner import ScenarioSettings

WAIT = 20.0  # seconds at most for something pushed to arrive


def until(condition: Callable[[], bool]) -> bool:
    end = time.monotonic() + WAIT
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def sim() -> Iterator[MastodonSim]:
    s = MastodonSim(rate_limit=None)
    for handle in ("bob", "alice"):
        s.add_user(handle)
    s.start()
    yield s
    s.stop()


def test_each_notification_of_the_bot_wakes_the_listener(sim: MastodonSim) -> None:
    """A mention and a direct status wake it; a status that does not name the bot does not."""
    sim.clock = FakeClock()
    woken: list[float] = []
    stop = MastodonTimeline(base_url=sim.base, access_token=SIM_TOKEN).listen(lambda: woken.append(1))
    try:
        assert until(lambda: sim.streams == 1)
        sim.post("bob", "lunch with @alice")
        sim.post("bob", "@paybot send 5 to @alice")
        assert until(lambda: len(woken) == 1)
        sim.direct("bob", "yes")
        assert until(lambda: len(woken) == 2)
    finally:
        stop()


def test_an_edit_of_a_status_naming_the_bot_wakes_the_listener(sim: MastodonSim) -> None:
    """An edit notifies nobody already named (Mastodon.py's `update` notification is for those who interacted),
    so the user stream's `status.update` (test_stream_user_direct.yaml) is what wakes the reading of an edited
    command; an edit of a status that does not name the bot does not."""
    sim.clock = FakeClock()
    woken: list[float] = []
    stop = MastodonTimeline(base_url=sim.base, access_token=SIM_TOKEN).listen(lambda: woken.append(1))
    try:
        assert until(lambda: sim.streams == 1)
        command = sim.post("bob", "@paybot send 5 to @alice")
        lunch = sim.post("bob", "lunch with @alice")
        assert until(lambda: len(woken) == 1)
        sim.edit(lunch["id"], "lunch with @alice at noon")
        sim.edit(command["id"], "@paybot send 50 to @alice")
        assert until(lambda: len(woken) == 2)
        assert len([n for n in sim.notifications if n["status_id"] == command["id"] and n["to"] == sim.bot_id]) == 1
        time.sleep(0.3)  # a wake the lunch's edit would wrongly give has had time to come
        assert len(woken) == 2
    finally:
        stop()


def test_a_stream_that_drops_is_opened_again(sim: MastodonSim) -> None:
    woken: list[int] = []
    stop = MastodonTimeline(base_url=sim.base, access_token=SIM_TOKEN).listen(
        lambda: woken.append(1), reconnect_after=0.05
    )
    try:
        assert until(lambda: sim.streams == 1)
        sim.closing.set()  # the server ends the stream (and any opened meanwhile)
        time.sleep(0.2)
        sim.closing.clear()
        assert until(lambda: sim.streams > 1)  # opened again
        posted: list[float] = []

        def heard() -> bool:
            # A stream opened while the server was ending them may have ended too; the one after is heard. Post
            # again every half second until a wake comes (no wake at all is the failure).
            if not woken and (not posted or time.monotonic() - posted[-1] > 0.5):
                posted.append(time.monotonic())
                sim.post("bob", "@paybot help")
            return bool(woken)

        assert until(heard)
    finally:
        stop()


def test_the_worker_confirms_as_soon_as_the_stream_says(sim: MastodonSim, tmp_path: Path) -> None:
    """Polls an hour apart: the command posted after the first reading is confirmed by DM only because the
    stream woke the worker."""
    settings = ScenarioSettings(
        paybot_timeline="mastodon",
        mastodon_base_url=sim.base,
        mastodon_access_token=SIM_TOKEN,
        paybot_db_path=str(tmp_path / "p.db"),
        sandbox_db_path=str(tmp_path / "s.db"),
    )
    bot = build(settings, migrate_schema=True)
    stop_event = threading.Event()
    confirmed: list[str] = []

    def people() -> None:
        try:
            if not until(lambda: sim.streams == 1 and any(e["endpoint"] == "notifications" for e in sim.log)):
                return
            sim.post("bob", "@paybot send 5 to @alice")
            if until(lambda: any(m["type"] == "dm" for m in sim.bot_messages())):
                confirmed.extend(m["text"] for m in sim.bot_messages() if m["type"] == "dm")
        finally:
            stop_event.set()

    thread = threading.Thread(target=people)
    thread.start()
    try:
        bot.worker.run_scheduler({"mentions": 3600, "dms": 3600, "tick": 3600, "outbox": 3600}, stop_event)
    finally:
        thread.join()
        bot.close()
    assert len(confirmed) == 1 and confirmed[0].startswith("@bob ") and "$5.00" in confirmed[0]
