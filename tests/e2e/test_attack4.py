"""Breaks a hostile review found in the money after the payment, each with the test that failed before its fix.

- A disputed payment was refunded on top of the chargeback (the operator's refund, the claim window's return
  and a wind-down all did it): the payer got the money twice.
- A Stripe release whose first answer was a 500 after the Transfer was made stayed pending forever (Stripe
  replays the 500 under its key), while the recipient had the money and was told it was delayed.
- The one DM per command about money that went back counted recipients an operator had refunded (or whose
  money was undeliverable) a second time, and said they "did not claim".
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.sims.runner import Run


@pytest.fixture
def stripe_run() -> Iterator[Any]:
    runs: list[Run] = []

    def make(users: dict[str, Any], provider: str = "stripe") -> Run:
        run = Run({"users": users}, Path(tempfile.mkdtemp(prefix="paybot-test-")), provider=provider)
        runs.append(run)
        return run

    yield make
    for run in runs:
        run.close()


def dms_to(run: Run, handle: str) -> list[str]:
    uid = run.sim.user_id(handle)
    return [m["text"] for m in run.sim.bot_messages() if m["type"] == "dm" and m["to_id"] == uid]


def statuses(run: Run) -> list[str]:
    return [t["status"] for t in run.outcome()["transfers"]]


def test_a_disputed_payment_is_not_refunded_on_top_of_the_chargeback(stripe_run: Any) -> None:
    run = stripe_run({"bob": {"card": "ok"}, "alice": {"payouts": True}})
    run.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
    run.step({"dm": "yes", "by": "bob"})
    assert run.stripe is not None
    run.stripe.dispute(run.stripe.of_kind("charge")[0]["id"])
    run.step({"wait": "1m"})  # the worker reads the dispute's events
    ok, said = run.bot.service.operator_refund(1)
    assert not ok and "disputed" in said and "twice" in said
    assert run.stripe.of_kind("refund") == [] and statuses(run) == ["completed"]
    assert not any("refunded" in text for text in dms_to(run, "bob"))


@pytest.mark.parametrize("how", ["window", "wind-down"])
def test_disputed_held_money_is_not_given_back_by_the_window_or_a_wind_down(stripe_run: Any, how: str) -> None:
    run = stripe_run({"bob": {"card": "ok"}, "carol": {}})
    run.step({"tweet": "@paybot send 5 to @carol", "by": "bob", "id": "t1"})
    run.step({"dm": "yes", "by": "bob"})
    assert run.stripe is not None and statuses(run) == ["held"]
    run.stripe.dispute(run.stripe.of_kind("charge")[0]["id"])
    run.step({"wait": "15d"} if how == "window" else {"operator": "wind-down"})
    assert run.stripe.of_kind("refund") == []
    assert not any("went back to you" in text for text in dms_to(run, "bob"))


def test_a_release_answered_by_a_saved_500_after_the_transfer_is_found_not_stuck(stripe_run: Any) -> None:
    run = stripe_run({"bob": {"card": "ok"}, "carol": {}})
    run.step({"tweet": "@paybot send 5 to @carol", "by": "bob", "id": "t1"})
    run.step({"dm": "yes", "by": "bob"})
    assert run.stripe is not None
    run.stripe.inject("POST /v1/transfers", 500, 1, work=True)
    run.step({"dm": "claim", "by": "carol"})
    run.step({"wait": "1h"})
    assert statuses(run) == ["completed"]
    assert len(run.stripe.of_kind("transfer")) == 1
    assert any("you received" in text.lower() for text in dms_to(run, "carol"))


@pytest.mark.parametrize("provider", ["sandbox", "stripe", "mangopay"])
def test_the_return_dm_names_only_those_who_did_not_claim(stripe_run: Any, provider: str) -> None:
    run = stripe_run({"bob": {"card": "ok"}, "carol": {}, "dave": {}}, provider)
    run.step({"tweet": "@paybot send 5 to @carol and @dave", "by": "bob", "id": "t1"})
    run.step({"dm": "yes", "by": "bob"})
    run.step({"operator": "refund", "command": "t1", "to": "carol"})
    run.step({"wait": "15d"})
    said = dms_to(run, "bob")
    went_back = [text for text in said if "went back to you" in text]
    assert len(went_back) == 1 and "@dave" in went_back[0] and "@carol" not in went_back[0], said
    assert "$10.00" not in went_back[0]
