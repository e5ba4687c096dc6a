"""Hostile input, through the whole bot: each gets its clear answer, and the store stays consistent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from sqlmodel import select

from bot.domain.entities import Outbox, Transfer
from bot.repo.sql import SqlStore
from bot.sims.runner import Run
from bot.sims.x import XSim

POSTS = [
    # (who, text, what the public answer must say; None: no answer at all)
    ("mallory", "@paybot send 5 to @аlice", "not an X handle"),  # Cyrillic а
    ("mallory", "@paybot send 5 to @alice\u202e", "invisible"),
    ("mallory", "@paybot send 5 to @al\u200bice", "invisible"),
    ("mallory", "@paybot send 5 to @alice " + "x" * 25_000, "too long"),
    ("mallory", "@paybot send 99999999999 to @alice", "too large"),
    ("mallory", "@paybot send -5 to @alice", "positive"),
    ("mallory", "@paybot send 1e9 to @alice", "exponent"),
    ("mallory", "@paybot send 5 to @ghost_account", "can't find ghost_account on X"),
    ("mallory", "@paybot send 5 to @paybot", "can't receive"),
    ("mallory", "@paybot send 5 to @mallory", "yourself"),
    ("mallory", "@paybot send 300 to @alice", "largest payment"),
    ("mallory", "@paybot send 0.10 to @alice", "smallest payment"),
    ("mallory", "RT @bob: @paybot send 5 to @alice", None),
    ("mallory", "@paybot hello", None),
]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    users = {"bob": {"card": "ok"}, "alice": {"payouts": True}, "mallory": {"card": "ok"}}
    r = Run({"users": users}, tmp_path)
    yield r
    r.close()


def consistent(run: Run) -> None:
    """Nothing half-done: no transfer mid-flight, every message sent, provider and store agree."""
    with cast(SqlStore, run.bot.service.uow)() as s:
        transfers = list(s.exec(select(Transfer)))
        outbox = list(s.exec(select(Outbox)))
    assert all(t.status != "executing" for t in transfers)
    assert all(o.status == "sent" for o in outbox)
    refs = {p["ref"] for p in run.sandbox.payments()}
    assert refs == {t.payment_ref for t in transfers if t.payment_ref}


@pytest.mark.parametrize(("who", "text", "answer"), POSTS, ids=[p[1][:40] for p in POSTS])
def test_hostile_posts(run: Run, who: str, text: str, answer: str | None) -> None:
    run.sim.tweet(who, text)
    run.bot.worker.run_until_idle()
    said = run.sim.bot_messages()
    if answer is None:
        assert said == []
    else:
        assert len(said) == 1 and said[0]["type"] == "reply" and answer in said[0]["text"], said
    with cast(SqlStore, run.bot.service.uow)() as s:
        assert list(s.exec(select(Transfer))) == []
    consistent(run)


def test_someone_elses_yes_and_replayed_dm_ids(run: Run) -> None:
    """Mallory's yes spends nothing; a DM event delivered again is applied once."""
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    code = run._code("t1")
    for text in ("yes", f"yes {code}", f"YES {code.lower()}", "oui", "no", f"cancel {code}"):
        run.step({"dm": text, "by": "mallory"})
    with cast(SqlStore, run.bot.service.uow)() as s:
        assert [t.status for t in s.exec(select(Transfer))] == ["pending"]
    yes = run.sim.dm("bob", "yes")
    assert isinstance(run.sim, XSim)  # the run is on X
    run.sim.dms.append(dict(yes))  # X delivers the same event twice
    run.bot.worker.run_until_idle()
    assert len(run.sandbox.payments()) == 1
    consistent(run)


@pytest.mark.parametrize("text", ["x" * 25_000, "yes\u200b", "\u202eyes", "yes " + "A" * 5000, "", "🙂" * 300])
def test_hostile_dms_get_the_help_and_change_nothing(run: Run, text: str) -> None:
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    run.step({"dm": text, "by": "bob"})
    answer = run.sim.bot_messages()[-1]
    assert answer["type"] == "dm" and any(w in answer["text"] for w in ("YES", "invisible", "too long"))
    with cast(SqlStore, run.bot.service.uow)() as s:
        assert [t.status for t in s.exec(select(Transfer))] == ["pending"]
    consistent(run)


def test_edits_cannot_raise_a_confirmed_amount(run: Run) -> None:
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    run.step({"dm": "yes", "by": "bob"})
    for text in ("@paybot send 250 to @alice", "@paybot send 5 to @mallory", "@paybot send lots to @alice"):
        run.step({"edit": "t1", "text": text})
    assert [p["amount_minor"] for p in run.sandbox.payments()] == [500]
    assert [m["type"] for m in run.sim.bot_messages()] == ["dm", "reply"]
    consistent(run)


def test_a_deleted_command(run: Run) -> None:
    """Deleted before the bot read it: nothing happens. Deleted after the confirmation DM: the sender's
    explicit YES still pays (NO cancels), and since X refuses a reply to a deleted post, the outcome
    comes by DM instead of being lost."""
    gone = run.sim.tweet("bob", "@paybot send 5 to @alice")
    run.sim.delete(gone["id"])
    run.bot.worker.run_until_idle()
    assert run.sim.bot_messages() == []
    run.step({"tweet": "@paybot send 6 to @alice", "by": "bob", "id": "t2"})
    run.sim.delete(run.aliases["t2"])
    run.step({"dm": "yes", "by": "bob"})
    said = [(m["type"], m["text"]) for m in run.sim.bot_messages()]
    assert said[-1][0] == "dm" and said[-1][1].startswith("Sent: $6.00 to @alice")
    assert [p["amount_minor"] for p in run.sandbox.payments()] == [600]
