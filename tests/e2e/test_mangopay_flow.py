"""The whole bot on Mangopay: every scenario of tests/scenarios through the real worker, the Mangopay
adapter and the official SDK over loopback to the Mangopay emulator, ends as it does on the sandbox.

Two scenarios end otherwise, by Mangopay's own rules, and say so here (the difference is asserted, so a
change that hides it fails):
- an Owner paying an Owner must approve the transfer on Mangopay's SCA page (PSD2: both hold a Mangopay
  Account), so a payment the sandbox completes waits in needs_auth;
- Mangopay's 3DS page lapses after 15 minutes, where the sandbox's approval page lasts 24 hours, so an
  approval 20 minutes later comes too late and the payment fails, nothing charged.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bot.sims.runner import Run, run_scenario
from tests.support.scenario_kit import not_listed_for

pytestmark = [pytest.mark.process, pytest.mark.slow]

# Scenario -> the rule of Mangopay's that ends it otherwise.
OTHERWISE = {
    "wind_down_returns_everything_and_tells_each_sender_once": "an Owner paying an Owner waits for SCA",
    "public_attack3_a_renamed_senders_reply_still_fits": "the 3DS page lapsed before the approval",
}


# Every scenario that does not name Mangopay among its providers ("providers": [...]); those that do run on Mangopay
# in test_scenarios.py (test_scenario_on_other_providers), with every check below and every DM: not run twice.
ONLY_HERE = not_listed_for("mangopay")


# Not measured by coverage (pytest-cov's no_cover): the scenarios' code is measured on the sandbox
# (test_scenarios.py), the Mangopay adapter's by the tests below and tests/integration/test_mangopay*.py.
@pytest.mark.no_cover
@pytest.mark.parametrize("path", ONLY_HERE, ids=[p.stem for p in ONLY_HERE])
def test_every_scenario_ends_the_same_on_mangopay(path: Path) -> None:
    """The transfers end as the scenario expects (as on the sandbox), with the same public replies. (The scenarios
    that name Mangopay among their providers run on it in test_scenarios.py, every message checked.)"""
    scenario = json.loads(path.read_text(encoding="utf-8"))
    outcome, _ = run_scenario(scenario, provider="mangopay")
    expect = scenario["expect"]
    got = [
        {k: actual[k] for k in wanted}
        for actual, wanted in zip(outcome["transfers"], expect["transfers"], strict=False)
    ]
    same = len(outcome["transfers"]) == len(expect["transfers"]) and got == expect["transfers"]
    if path.stem in OTHERWISE:
        assert not same, f"{path.stem} now ends as on the sandbox: {OTHERWISE[path.stem]} no longer holds"
        return
    assert same, json.dumps(outcome["transfers"], indent=1)
    replies = [m for m in outcome["messages"] if m["type"] != "dm"]
    wanted_replies = [m for m in expect["messages"] if m["type"] != "dm"]
    assert len(replies) == len(wanted_replies), replies
    for actual, wanted in zip(replies, wanted_replies, strict=True):
        assert (
            wanted.get("contains", "") in actual["text"]
            and wanted.get("text", actual["text"]) == actual["text"]
            and actual["in_reply_to"] == wanted["in_reply_to"]
        )


def test_simulate_command_takes_the_mangopay_provider(tmp_path: Path) -> None:
    scenario = Path(__file__).parents[1] / "scenarios" / "held_renamed_then_claimed.json"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "simulate", str(scenario), "--provider", "mangopay", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [t["status"] for t in out["transfers"]] == ["completed"]


def test_the_links_say_how_long_mangopays_pages_stay_open() -> None:
    """Mangopay's 3DS page closes after 15 minutes: the DM says so (Stripe's says 24 hours); its card page
    is the operator's, whose lifetime paybot does not know, so that DM promises none."""
    scenario = {
        "users": {"erin": {"card": "needs_auth"}, "alice": {"payouts": True}, "dan": {}},
        "steps": [
            {"tweet": "@paybot send 5 to @alice", "by": "erin", "id": "t1"},
            {"dm": "yes", "by": "erin"},
            {"dm": "register", "by": "dan"},
        ],
    }

    def dms(provider: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for m in run_scenario(scenario, provider=provider)[0]["messages"]:
            if m["type"] == "dm":
                out[m["to"]] = out.get(m["to"], "") + m["text"] + "\n"
        return out

    on_mangopay, on_stripe = dms("mangopay"), dms("stripe")
    assert "Approve it here within 15 minutes: http://127.0.0.1:" in on_mangopay["erin"]
    assert "Save your card on the secure card page: http://127.0.0.1:" in on_mangopay["dan"]
    assert "hours" not in on_mangopay["dan"]
    assert "Approve it here within 24 hours: http://127.0.0.1:" in on_stripe["erin"]
    assert "The link works for 24 hours." in on_stripe["dan"]


def test_an_owners_held_money_that_mangopay_will_not_release_goes_back_at_once() -> None:
    """Found by an attack: an Owner's held money could never be released (a transfer made without them needs
    their standing consent), so it stayed in their wallet for good while the recipient was told it was
    coming. Now the claim tells the recipient the truth and the money goes back to the sender's card."""
    scenario: dict[str, Any]  # for run.step(step): a step is a dict
    scenario = {
        "users": {"alice": {"card": "ok", "payouts": True}, "carol": {}},
        "steps": [
            {"tweet": "@paybot send 5 to @carol", "by": "alice", "id": "t1"},
            {"dm": "yes", "by": "alice"},
            {"dm": "claim", "by": "carol"},
            {"dm": "claim", "by": "carol"},
            {"wait": "15d"},
        ],
    }
    run = Run(scenario, Path(tempfile.mkdtemp(prefix="paybot-test-")), provider="mangopay")
    try:
        for step in scenario["steps"]:
            run.step(step)
        outcome = run.outcome()
        assert [t["status"] for t in outcome["transfers"]] == ["returned"]
        said = [(m["to"], m["text"]) for m in outcome["messages"] if m["type"] == "dm"]
        assert any(to == "carol" and "goes back to them" in text for to, text in said)
        assert [text for to, text in said if to == "alice" and "went back to you" in text] != []
        assert not any("stays safe" in text for _, text in said)
        assert run.mangopay is not None
        refunds = [r for r in run.mangopay.of_kind("refund") if r["Status"] == "SUCCEEDED"]
        assert len(refunds) == 1  # the pay-in, back to the card: nothing left in alice's wallet
        wallets = [w for w in run.mangopay.of_kind("wallet") if int(w["Balance"]["Amount"]) != 0]
        assert wallets == []
        assert sum(r["route"] == "POST /transfers" for r in run.mangopay.requests) == 0  # never asked in vain
    finally:
        run.close()


def _run(scenario: dict[str, Any]) -> dict[str, Any]:
    return run_scenario(scenario, provider="mangopay")[0]


def _dms_to(outcome: dict[str, Any], handle: str) -> list[str]:
    return [m["text"] for m in outcome["messages"] if m["type"] == "dm" and m["to"] == handle]


def test_an_owner_whose_bank_wants_3ds_gets_the_second_link_too() -> None:
    """Found by an attack: after the bank's 3DS, an Owner paying an Owner must approve the transfer on
    Mangopay's page, whose link was never sent; the payment lapsed (and the scenario runner approved the
    unsent page). Now the sender gets that link, says the card was charged, and approving it pays."""
    people = {"alice": {"card": "needs_auth", "payouts": True}, "carol": {"payouts": True}}
    steps: list[dict[str, Any]] = [
        {"tweet": "@paybot send 5 to @carol", "by": "alice", "id": "t1"},
        {"dm": "yes", "by": "alice"},
        {"approve": "alice"},
    ]
    paid = _run({"users": people, "steps": steps})
    assert [t["status"] for t in paid["transfers"]] == ["completed"]
    links = [text for text in _dms_to(paid, "alice") if "Approve it here within" in text]
    assert len(links) == 2 and "within 15 minutes" in links[0]  # the bank's 3DS page
    assert "Your card has been charged" in links[1] and "within 10 minutes" in links[1]  # Mangopay's SCA session
    lapsed = _run({"users": people, "steps": [*steps[:2], {"approve": "alice"}, {"wait": "1m"}]})
    assert [t["status"] for t in lapsed["transfers"]] == ["completed"]  # approving both pages pays


def test_an_unapproved_owner_to_owner_payment_says_it_was_charged_then_refunded() -> None:
    """Found by an attack: Mangopay charges the card before the Owner's approval of the transfer, but the
    DMs said "Nothing is charged until you do" and, at the lapse, "Nothing was charged"."""
    outcome = _run(
        {
            "users": {"alice": {"card": "ok", "payouts": True}, "carol": {"payouts": True}},
            "steps": [
                {"tweet": "@paybot send 5 to @carol", "by": "alice", "id": "t1"},
                {"dm": "yes", "by": "alice"},
                {"wait": "20m"},
                {"approve": "alice"},
                {"wait": "1h"},
            ],
        }
    )
    assert [t["status"] for t in outcome["transfers"]] == ["failed"]
    said = " ".join(_dms_to(outcome, "alice"))
    assert "Your card has been charged; if you don't approve in time, the charge is refunded." in said
    assert "The charge on your card was refunded." in said and "Nothing" not in said


def test_an_approval_link_that_closes_soon_goes_before_a_queue_of_confirmations() -> None:
    """Found by an attack: fourteen confirmations queued ahead used X's DM allowance (15 per 15 minutes), and
    the 3DS link went out when its 15-minute page closed. A page that closes within the hour now goes before
    what is queued. (Confirmations already sent before the yes still use the allowance: docs/not-built.md.)"""
    tweets = [{"tweet": f"@paybot send 1 to @alice for thing {i}", "by": "mallory"} for i in range(14)]
    outcome = _run(
        {
            "limits": "pay_per_use",
            "users": {"erin": {"card": "needs_auth"}, "alice": {"payouts": True}, "mallory": {"card": "ok"}},
            "steps": [
                {"tweet": "@paybot send 5 to @alice", "by": "erin", "id": "t1"},
                {"together": [*tweets, {"dm": "yes", "by": "erin"}]},
                {"wait": "10m"},
                {"approve": "erin"},
                {"wait": "20m"},
            ],
        }
    )
    erins = [t for t in outcome["transfers"] if t["from"] == "erin"]
    assert [t["status"] for t in erins] == ["completed"], erins
