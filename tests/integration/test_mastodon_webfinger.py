"""A payment to an account of another instance that the bot's instance has never seen: the adapter resolves it
(a search with `resolve=true`, after `/api/v1/accounts/lookup` answered 404), takes only the account whose acct is
exactly the one written, and a handle nobody has ends with a specific refusal to the sender and nothing paid."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.mastodon.client import MastodonTimeline
from bot.ports import FakeClock
from bot.sims.mastodon import SIM_TOKEN, MastodonSim
from bot.sims.mastodon_world import MastodonWorld
from bot.sims.runner import Run
from tests.support.mastodon_entities import CASSETTES, problems


@pytest.fixture
def sim() -> Iterator[MastodonSim]:
    """The simulator with a remote alice it has never seen and a remote alicia it knows."""
    s = MastodonSim(FakeClock(), rate_limit=None)
    s.add_user("alice@other.example", "Alice Martin", known=False)
    s.add_user("alicia@other.example", "Alicia")
    s.start()
    yield s
    s.stop()


def _search(sim: MastodonSim, **params: Any) -> requests.Response:
    return requests.get(
        f"{sim.base}/api/v2/search", params=params, timeout=5, headers={"Authorization": f"Bearer {SIM_TOKEN}"}
    )


def test_an_unseen_remote_account_is_found_only_by_resolving(sim: MastodonSim) -> None:
    """Lookup skips WebFinger (404 for an account the instance never saw); a search without `resolve` does not
    find it either; with `resolve=true` it does, and from then on the instance knows it."""
    lookup = f"{sim.base}/api/v1/accounts/lookup"
    auth = {"Authorization": f"Bearer {SIM_TOKEN}"}
    assert requests.get(lookup, params={"acct": "alice@other.example"}, headers=auth, timeout=5).status_code == 404
    assert [a["acct"] for a in _search(sim, q="alice@other.example", type="accounts").json()["accounts"]] == []
    found = _search(sim, q="alice@other.example", resolve="true", type="accounts").json()
    assert found["accounts"][0]["acct"] == "alice@other.example"
    assert requests.get(lookup, params={"acct": "alice@other.example"}, headers=auth, timeout=5).status_code == 200


def test_the_search_answer_is_shaped_as_mastodons(sim: MastodonSim) -> None:
    """A search answer is a SearchV2 as Mastodon.py describes it, with the keys the real server's had
    (test_search.yaml)."""
    body = _search(sim, q="alice@other.example", resolve="true").json()
    assert problems("SearchV2", body) == []
    if CASSETTES.is_dir():
        yaml = pytest.importorskip("yaml")
        recorded = next(
            json.loads(i["response"]["body"]["string"])
            for i in yaml.safe_load((CASSETTES / "test_search.yaml").read_text())["interactions"]
            if "/api/v2/search" in i["request"]["uri"]
        )
        assert set(recorded) == set(body)
        # feature_approval: a 4.6 preview field Mastodon.py does not describe (as in test_mastosim_entities)
        assert set(recorded["accounts"][0]) - set(body["accounts"][0]) - {"feature_approval"} == set()


def test_the_adapter_resolves_and_takes_only_the_account_written(sim: MastodonSim) -> None:
    """users_by_handle resolves the unseen account after the lookup's 404; a handle nobody has is absent though
    the search answers a look-alike (alicia for ali); a handle of the bot's own instance is never searched."""
    timeline = MastodonTimeline(base_url=sim.base, access_token=SIM_TOKEN, clock=sim.clock)
    got = timeline.users_by_handle(["alice@other.example", "ali@other.example", "nobody"])
    assert {h: u.handle for h, u in got.items()} == {"alice@other.example": "alice@other.example"}
    assert got["alice@other.example"].id == sim.user_id("alice@other.example")
    searched = [e for e in sim.log if e["endpoint"] == "search"]
    assert len(searched) == 2  # alice and ali; never the local "nobody"


def _run(tmp_path: Path) -> Run:
    run = Run({"users": {"bob": {"card": "ok"}}, "limits": None}, tmp_path, timeline="mastodon")
    assert isinstance(run.sim, MastodonWorld)
    alice = run.sim.add_user("alice@other.example", "Alice Martin", known=False)
    run.sandbox.set_payouts(alice, True)
    return run


def test_a_payment_reaches_an_account_the_instance_had_never_seen(tmp_path: Path) -> None:
    """bob pays @alice@other.example, unknown to the bot's instance: the confirmation names her, his yes pays
    her account (the one her instance has), and the public reply names her with her instance."""
    run = _run(tmp_path)
    try:
        run.step({"tweet": "@paybot send 5 to @alice@other.example for the pizza", "by": "bob"})
        run.step({"dm": "yes", "by": "bob"})
        transfers = run.outcome()["transfers"]
        assert [(t["status"], t["to"], t["amount"], t["currency"]) for t in transfers] == [
            ("completed", "alice@other.example", "5.00", "USD")
        ]
        said = run.sim.bot_messages()
        assert "Send $5.00 to @alice@other.example (Alice Martin)" in said[0]["text"]
        assert said[-1]["type"] == "reply" and "@bob sent @alice@other.example $5.00" in said[-1]["text"]
        lookups = [e["status"] for e in run.sim.log if e["endpoint"] in ("account_lookup", "search")]
        assert lookups == [404, 200]  # looked up once, resolved once: she is remembered from then on
    finally:
        run.close()


@pytest.mark.parametrize(
    "text", ["@paybot send 5 to @ghost@nowhere.example", "@paybot envoie 5 à @ghost@nowhere.example"]
)
def test_an_account_nobody_has_is_refused_by_name_and_nothing_moves(tmp_path: Path, text: str) -> None:
    """A handle of another instance that resolves to nothing: one public answer saying so (in the command's
    language), no confirmation, no transfer, nothing paid."""
    run = _run(tmp_path)
    try:
        run.step({"tweet": text, "by": "bob"})
        assert run.outcome()["transfers"] == []
        said = run.sim.bot_messages()
        assert len(said) == 1 and said[0]["type"] == "reply"
        assert "ghost@nowhere.example" in said[0]["text"]
        assert (
            "its instance does not know that account" in said[0]["text"]
            or "son instance ne connaît pas ce compte" in said[0]["text"]
        )
        assert any(e["endpoint"] == "search" for e in run.sim.log)
    finally:
        run.close()
