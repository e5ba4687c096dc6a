"""The simulator as an operator uses it standalone: the control API over HTTP, and state kept in a file."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from bot.bootstrap import build
from bot.errors import ConfigError
from bot.ports import FakeClock
from bot.sims.runner import ScenarioSettings
from bot.sims.x import (
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    UNLIMITED,
    XSim,
)
from bot.x.client import XClient


def session() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def test_control_api_and_state_file(tmp_path: Path) -> None:
    """People act through /_sim/; a new simulator on the same state file remembers everything."""
    state = tmp_path / "x.json"
    sim = XSim(FakeClock(), limits=UNLIMITED, state_path=state)
    base = sim.start()
    try:
        http = session()
        bob = http.post(f"{base}/_sim/users", json={"handle": "bob"}, timeout=5).json()["id"]
        http.post(f"{base}/_sim/users", json={"handle": "alice", "accepts_dms": False}, timeout=5)
        post = http.post(
            f"{base}/_sim/tweets", json={"by": "bob", "text": "@paybot send 5 to @alice"}, timeout=5
        ).json()
        edited = http.post(
            f"{base}/_sim/edit", json={"id": post["id"], "text": "@paybot send 6 to @alice"}, timeout=5
        ).json()
        http.post(f"{base}/_sim/dm", json={"by": "bob", "text": "yes"}, timeout=5)
        http.post(f"{base}/_sim/rename", json={"handle": "bob", "to": "bobby"}, timeout=5)
        bad = http.post(f"{base}/_sim/tweets", json={"by": "nobody", "text": "hi"}, timeout=5)
        assert bad.status_code == 400
    finally:
        sim.stop()
    again = XSim(FakeClock(), limits=UNLIMITED, state_path=state)
    assert again.handle(bob) == "bobby" and again.bot_id == sim.bot_id
    assert again.posts[edited["id"]]["edit_history_tweet_ids"] == [post["id"], edited["id"]]
    assert [e["text"] for e in again.dms] == ["yes"]
    assert not again.users[again.user_id("alice")]["accepts_dms"]


def test_the_credentials_must_be_the_bot_named_in_the_settings(tmp_path: Path) -> None:
    """At the first start the bot checks that its credentials belong to PAYBOT_HANDLE."""
    clock = FakeClock()
    sim = XSim(clock, bot_handle="tipjar", limits=UNLIMITED)
    base = sim.start()
    try:
        settings = ScenarioSettings(
            paybot_handle="paybot", paybot_db_path=str(tmp_path / "p.db"), sandbox_db_path=str(tmp_path / "s.db")
        )
        x = XClient(
            consumer_key=SIM_CONSUMER_KEY,
            consumer_secret=SIM_CONSUMER_SECRET,
            access_token=SIM_ACCESS_TOKEN,
            access_token_secret=SIM_ACCESS_TOKEN_SECRET,
            base_url=base,
            clock=clock,
        )
        with pytest.raises(ConfigError, match="PAYBOT_HANDLE is @paybot but the X credentials are those of @tipjar"):
            build(settings, clock=clock, timeline=x)
    finally:
        sim.stop()
