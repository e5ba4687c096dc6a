"""An edit that federates late, on the Mastodon simulator through the real adapter and the whole bot.

A status from another instance is edited there at some time; its Update reaches the bot's instance later,
after the bot's mentions cursor has moved past that time (other mentions came in between). Mastodon keeps
the edit's own time: the status's `edited_at` and its version's `created_at` in `/history`
(../shared/specs/mastodon/srcgen/return_types.json, "Toot / Status" `edited_at` and "Status edit"
`created_at`; tests/cassettes/test_status_edit.yaml). The adapter's port id for that version comes from it,
so it may sort below the cursor: the catch-up reads it all the same, and the core applies X's version rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.mastodon.client import MastodonTimeline, port_id, status_of
from bot.ports import FakeClock
from bot.sims.mastodon import SIM_TOKEN, MastodonSim
from bot.sims.mastodon_world import MastodonWorld
from bot.sims.runner import Run

BOB = "bob@other.example"  # on another instance: his edits reach the bot's instance by federation
ASKED = re.compile(r"Send \$(\d+\.\d\d) to .*\[([A-Z0-9]{4})\]")


def test_the_catch_up_reads_an_edit_whose_time_is_below_the_cursor() -> None:
    """An edit made before the newest mention read, delivered after it, is a mention of its own (its id from its
    edit time, root first), though its id is below the cursor; it is read once more per reading within the hour,
    which the core keeps once."""
    clock = FakeClock()
    sim = MastodonSim(clock, rate_limit=None)
    sim.start()
    try:
        for handle in (BOB, "alice", "carol"):
            sim.add_user(handle)
        x = MastodonTimeline(base_url=sim.base, access_token=SIM_TOKEN, clock=clock, timeout=5)
        first = sim.post(BOB, "@paybot send 5 to @alice")
        [m] = x.mentions(sim.bot_id, None)
        made = clock.now() + timedelta(seconds=1)  # bob edits on his instance
        clock.advance(timedelta(seconds=2))
        later = sim.post("carol", "@paybot send 1 to @alice")
        [n] = x.mentions(sim.bot_id, m.id)
        assert n.id == port_id(later["id"])
        clock.advance(timedelta(seconds=30))  # bob's Update reaches the bot's instance now
        status = sim.edit(first["id"], "@paybot send 50 to @alice", edited_at=made)
        edit = port_id(first["id"], made, 1)
        assert status["edited_at"] == made and int(edit) < int(n.id)
        got = x.mentions(sim.bot_id, n.id)
        assert [(g.id, g.edit_ids, g.text, g.created_at) for g in got] == [
            (edit, (m.id, edit), "@paybot send 50 to @alice", made)
        ]
        clock.advance(timedelta(hours=2))
        assert x.mentions(sim.bot_id, n.id) == []  # past the edit horizon nothing is read again
    finally:
        sim.stop()


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    """The bot on the Mastodon simulator: bob (remote) and carol with cards, alice able to receive."""
    scenario: dict[str, Any] = {
        "users": {BOB: {"card": "ok"}, "carol": {"card": "ok"}, "alice": {"payouts": True}},
        "steps": [],
    }
    r = Run(scenario, tmp_path, timeline="mastodon")
    yield r
    r.close()


def _asked(run: Run, whom: str) -> list[tuple[str, str]]:
    """The confirmations the bot sent @whom, oldest first: (amount, code)."""
    uid = run.sim.user_id(whom)
    return [
        (m.group(1), m.group(2))
        for m in (ASKED.match(d["text"]) for d in run.sim.bot_messages() if d["type"] == "dm" and d["to_id"] == uid)
        if m
    ]


def _paid(run: Run) -> list[int]:
    return sorted(p["amount_minor"] for p in run.sandbox.payments())


def _move_cursor(run: Run) -> None:
    """Carol posts two commands, read in two polls: the mentions cursor (which trails its newest mention by one
    poll, as on X) moves past everything before them."""
    for i in (1, 2):
        run.step({"tweet": f"@paybot send {i} to @alice", "by": "carol", "id": f"c{i}"})


def _late_edit(run: Run, alias: str, text: str, made: Any) -> None:
    """The author's edit, made at `made` on their instance, reaches the bot's now."""
    assert isinstance(run.sim, MastodonWorld)
    run.sim.instance.edit(status_of(run.latest[alias]), text, edited_at=made)


def test_a_late_edit_voids_the_version_it_replaces_and_is_asked_anew(run: Run) -> None:
    """The cursor moved past the edit's time before it arrived: the bot still reads it, the $5 version is void
    (a yes with its code pays nothing) and the $50 one is asked with a code of its own, paid only on that."""
    run.step({"tweet": "@paybot send 5 to @alice", "by": BOB, "id": "t1"})
    [(five, old)] = _asked(run, BOB)
    made = run.clock.now() + timedelta(seconds=1)
    run.step({"wait": "2s"})
    _move_cursor(run)
    run.step({"wait": "30s"})
    _late_edit(run, "t1", "@paybot send 50 to @alice", made)
    run.idle()
    assert five == "5.00" and [a for a, _ in _asked(run, BOB)] == ["5.00", "50.00"]
    new = _asked(run, BOB)[-1][1]
    assert new != old
    run.step({"dm": f"yes {old}", "by": BOB})
    assert _paid(run) == []
    run.step({"dm": f"yes {new}", "by": BOB})
    assert _paid(run) == [5000]


def test_a_yes_sent_after_the_edit_was_made_pays_neither_version(run: Run) -> None:
    """Bob edits his command on his instance, then says yes to the old confirmation; the bot gets the edit
    after the yes was sent but reads it first: the old version was void when the yes was sent, and the new one
    was not asked yet, so nothing moves; the new version is asked."""
    run.step({"tweet": "@paybot send 5 to @alice", "by": BOB, "id": "t1"})
    [(_, old)] = _asked(run, BOB)
    made = run.clock.now() + timedelta(seconds=1)
    run.step({"wait": "2s"})
    _move_cursor(run)
    run.sim.tweet("carol", "@paybot send 3 to @alice")  # all before the bot looks again
    run.clock.advance(timedelta(seconds=2))
    run.sim.dm(BOB, f"yes {old}")
    run.clock.advance(timedelta(seconds=2))
    _late_edit(run, "t1", "@paybot send 50 to @alice", made)
    run.idle()
    assert [a for a, _ in _asked(run, BOB)] == ["5.00", "50.00"]
    run.step({"wait": "11m"})
    assert _paid(run) == []


def test_an_edit_arriving_after_the_paid_yes_changes_nothing(run: Run) -> None:
    """The yes to the $5 confirmation was read and paid before the edit's Update came (made before that yes, so
    the bot could not know): what was paid is what bob was shown, and the late edit, read, changes nothing and
    is never asked or paid (X's rule: an edit after the answer changes nothing)."""
    run.step({"tweet": "@paybot send 5 to @alice", "by": BOB, "id": "t1"})
    [(_, old)] = _asked(run, BOB)
    made = run.clock.now() + timedelta(seconds=1)
    run.step({"wait": "2s"})
    run.step({"dm": f"yes {old}", "by": BOB})
    assert _paid(run) == [500]
    _move_cursor(run)
    run.step({"wait": "1m"})
    _late_edit(run, "t1", "@paybot send 50 to @alice", made)
    run.idle()
    run.step({"wait": "11m"})
    assert _paid(run) == [500]
    assert [a for a, _ in _asked(run, BOB)] == ["5.00"]
