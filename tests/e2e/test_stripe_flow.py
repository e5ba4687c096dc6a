"""The whole bot on Stripe: the real worker, stripe-python over loopback to the Stripe emulator.

Every scenario of tests/scenarios ends the same on Stripe as on the sandbox;
a crash between the charge and the commit charges once; a payment in doubt
past the key's lifetime is looked up, never charged again; events from
outside paybot (dashboard refunds, disputes) reach the store; reconciliation
finds what does not match.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from sqlmodel import col, select

from bot import migrate
from bot.domain.entities import Transfer, TransferEvent
from bot.faults import InjectedFault
from bot.providers.stripe_provider import StripeProvider
from bot.reconcile import reconcile
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore
from bot.sims.runner import STRIPE_CARDS, Run, ScenarioSettings, run_scenario
from bot.sims.stripe import StripeSim
from bot.sims.x import XSim
from tests.support.scenario_kit import not_listed_for
from tests.support.worker_kit import (
    pay_killed_after_the_charge,
    restart_until_replied,
    statuses,
    wait_for,
)
from tests.support.worker_kit import sim as xsim  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.process, pytest.mark.slow]


# Every scenario that does not name Stripe among its providers ("providers": [...]); those that do run on Stripe
# in test_scenarios.py (test_scenario_on_other_providers), with every check below and every DM: not run twice.
ONLY_HERE = not_listed_for("stripe")


# Not measured by coverage (pytest-cov's no_cover): the scenarios' code is measured on the sandbox
# (test_scenarios.py), the Stripe adapter's by the tests below and tests/integration/test_stripe.py (docs/testing.md).
@pytest.mark.no_cover
@pytest.mark.parametrize("path", ONLY_HERE, ids=[p.stem for p in ONLY_HERE])
def test_every_scenario_ends_the_same_on_stripe(path: Path) -> None:
    """The transfers end as the scenario expects (as on the sandbox), with the same public replies. (The scenarios
    that name Stripe among their providers run on it in test_scenarios.py, every message checked.)"""
    scenario = json.loads(path.read_text(encoding="utf-8"))
    outcome, _ = run_scenario(scenario, provider="stripe")
    expect = scenario["expect"]
    assert len(outcome["transfers"]) == len(expect["transfers"])
    for actual, wanted in zip(outcome["transfers"], expect["transfers"], strict=True):
        assert {k: actual[k] for k in wanted} == wanted, actual
    replies = [m for m in outcome["messages"] if m["type"] != "dm"]
    wanted_replies = [m for m in expect["messages"] if m["type"] != "dm"]
    assert len(replies) == len(wanted_replies), replies
    for actual, wanted in zip(replies, wanted_replies, strict=True):
        assert (
            wanted.get("contains", "") in actual["text"]
            and wanted.get("text", actual["text"]) == actual["text"]
            and actual["in_reply_to"] == wanted["in_reply_to"]
        )


def test_simulate_command_takes_the_stripe_provider(tmp_path: Path) -> None:
    scenario = Path(__file__).parents[1] / "scenarios" / "held_renamed_then_claimed.json"
    done = subprocess.run(
        [sys.executable, "-m", "bot", "simulate", str(scenario), "--provider", "stripe", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert [t["status"] for t in out["transfers"]] == ["completed"]
    assert any("finish setting up your account here: http://127.0.0.1:" in m["text"] for m in out["messages"])


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    users = {"bob": {"card": "ok"}, "alice": {"payouts": True}, "carol": {}}
    engine = make_engine(f"sqlite:///{tmp_path / 'paybot.db'}", create_tables=False)
    migrate.upgrade(engine)
    engine.dispose()
    r = Run({"users": users}, tmp_path, provider="stripe")
    yield r
    r.close()


def pay(r: Run, text: str, by: str = "bob") -> None:
    r.step({"tweet": text, "by": by})
    r.step({"dm": "yes", "by": by})


def transfers(r: Run) -> list[Transfer]:
    with cast(SqlStore, r.bot.service.uow)() as s:
        return list(s.exec(select(Transfer).order_by(col(Transfer.id))))


def crash_on_yes(run: Run, point: str, to: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """@bob pays `to` $5 and the worker dies at the fault point `point` after the yes."""
    monkeypatch.setenv("PAYBOT_FAULT", point)
    monkeypatch.setenv("PAYBOT_FAULT_MODE", "raise")
    run.step({"tweet": f"@paybot send 5 to @{to}", "by": "bob"})
    with pytest.raises(InjectedFault):
        run.step({"dm": "yes", "by": "bob"})
    monkeypatch.delenv("PAYBOT_FAULT")


def test_a_crash_after_the_charge_then_a_restart_charges_once(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run.stripe is not None
    crash_on_yes(run, "after_pay", "alice", monkeypatch)
    assert [t.status for t in transfers(run)] == ["executing"] and run.stripe.succeeded_charges() == 1
    run.step({"restart": True})
    assert [t.status for t in transfers(run)] == ["completed"]
    assert run.stripe.succeeded_charges() == 1 and len(run.stripe.of_kind("payment_intent")) == 1
    keys = [r["key"] for r in run.stripe.requests if r["route"] == "POST /v1/payment_intents"]
    assert len(keys) == 2 and len(set(keys)) == 1  # the restart reused the stored key


def test_a_payment_in_doubt_past_the_keys_lifetime_is_looked_up_not_charged_again(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run.stripe is not None
    crash_on_yes(run, "after_pay", "carol", monkeypatch)
    run.clock.advance(timedelta(hours=25))  # the worker was down for a day: Stripe forgot the key
    creates = sum(r["route"] == "POST /v1/payment_intents" for r in run.stripe.requests)
    run.step({"restart": True})
    [t] = transfers(run)
    assert t.status == "held" and t.payment_ref == run.stripe.of_kind("payment_intent")[0]["id"]
    assert sum(r["route"] == "POST /v1/payment_intents" for r in run.stripe.requests) == creates
    assert run.stripe.succeeded_charges() == 1


@pytest.mark.parametrize("key_lifetime", [timedelta(hours=24), timedelta(hours=48)], ids=["looked_up", "paid_again"])
def test_once_stripe_has_forgotten_the_key_only_the_lookup_stands_between_a_retry_and_a_second_charge(
    run: Run, monkeypatch: pytest.MonkeyPatch, key_lifetime: timedelta
) -> None:
    """The emulator forgets keys after 24 hours of its clock, as Stripe does. A payment in doubt older than that
    is looked up (Payments.execute: `stale`), and charged once. The control: a service that believed keys live
    for 48 hours retries with the forgotten key, and Stripe, having pruned it, charges a second time."""
    assert run.stripe is not None
    crash_on_yes(run, "after_pay", "carol", monkeypatch)
    run.clock.advance(timedelta(hours=25))  # the worker was down for a day
    run.restart()
    run.bot.service.policy = replace(run.bot.service.policy, key_lifetime=key_lifetime)
    run.idle()
    [t] = transfers(run)
    assert t.status == "held"
    if key_lifetime == timedelta(hours=24):
        assert run.stripe.succeeded_charges() == 1 and t.payment_ref == run.stripe.of_kind("payment_intent")[0]["id"]
    else:
        assert run.stripe.succeeded_charges() == 2  # what the stale path is there to prevent


def test_a_recipient_who_onboards_unseen_by_the_platforms_events_gets_the_held_money(run: Run) -> None:
    """account.updated of a connected account is a Connect event: the platform's GET /v1/events never lists
    it. The recipient claims, finishes onboarding on Stripe's page, and the held money is released anyway:
    the adapter asked Stripe for the account."""
    assert run.stripe is not None
    pay(run, "@paybot send 5 to @carol")
    assert [t.status for t in transfers(run)] == ["held"]
    run.step({"dm": "claim", "by": "carol"})  # the link is DMed; carol onboards on the page (Run.idle)
    [t] = transfers(run)
    assert t.status == "completed"
    provider: StripeProvider = run.bot.provider  # type: ignore[assignment]
    account = provider.account(run.sim.user_id("carol"))
    platform = provider.client.v1.events.list(params={"limit": 100})
    assert "account.updated" not in [e.type for e in platform.data]
    mine = provider.client.v1.events.list(params={"type": "account.updated"}, options={"stripe_account": account})
    assert [e.account for e in mine.data] == [account]  # it happened, as a Connect event of carol's account
    [transfer] = run.stripe.of_kind("transfer")
    assert transfer["destination"] == account and transfer["amount"] == 500
    dms = [m["text"] for m in run.outcome()["messages"] if m["type"] == "dm" and m["to"] == "carol"]
    assert "finish setting up your account here" in dms[-2] and "you received $5.00 from @bob" in dms[-1]


def test_a_payment_never_made_is_failed_by_lookup_after_a_day(run: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run.stripe is not None
    crash_on_yes(run, "before_pay", "alice", monkeypatch)
    run.clock.advance(timedelta(hours=25))
    run.step({"restart": True})
    [t] = transfers(run)
    assert t.status == "failed" and run.stripe.succeeded_charges() == 0
    assert "nothing was charged" in run.sim.bot_messages()[-1]["text"]


def test_a_dashboard_refund_and_a_dispute_reach_the_store(run: Run) -> None:
    assert run.stripe is not None
    pay(run, "@paybot send 5 to @alice")
    [t] = transfers(run)
    assert t.payment_ref is not None
    provider: StripeProvider = run.bot.provider  # type: ignore[assignment]
    pi = provider.client.v1.payment_intents.retrieve(t.payment_ref or "")
    provider.client.v1.refunds.create(params={"payment_intent": t.payment_ref, "reverse_transfer": True})
    run.stripe.dispute(cast(str, pi.latest_charge))
    run.step({"wait": "1m"})
    run.step({"wait": "1m"})  # a second poll applies nothing twice
    [t] = transfers(run)
    assert t.status == "returned"
    with cast(SqlStore, run.bot.service.uow)() as s:
        notes = [e.note for e in s.exec(select(TransferEvent).where(TransferEvent.transfer_id == t.id))]
    assert sum("disputed at the provider" in (n or "") for n in notes) == 1
    assert sum("refunded at the provider" in (n or "") for n in notes) == 1


def test_reconcile_finds_what_does_not_match(run: Run) -> None:
    assert run.stripe is not None
    pay(run, "@paybot send 5 to @alice")
    pay(run, "@paybot send 3 to @carol")
    since = run.clock.now() - timedelta(days=1)
    assert reconcile(run.bot.service, since) == ([], 0)
    with cast(SqlStore, run.bot.service.uow)() as s:  # the store loses a result, as a restored backup would
        row = s.exec(select(Transfer).where(Transfer.id == 1)).one()
        row.status = "failed"
        s.add(row)
        s.commit()
    provider: StripeProvider = run.bot.provider  # type: ignore[assignment]
    stray = provider.client.v1.payment_intents.create(
        params={  # a charge paybot never recorded
            "amount": 700,
            "currency": "usd",
            "customer": provider.customer(run.sim.user_id("bob")),
            "payment_method": cast(str, provider._card(run.sim.user_id("bob"))),
            "off_session": True,
            "confirm": True,
            "metadata": {"paybot_key": "pay:unknown"},
        }
    )
    mismatches, _ = reconcile(run.bot.service, since)
    assert [(m.transfer_id, m.ref) for m in mismatches] == [(1, transfers(run)[0].payment_ref), (None, stray.id)]
    assert "charged at the provider" in mismatches[0].what


def paybot(tmp: Path, run: Run, *args: str) -> subprocess.CompletedProcess[str]:
    assert run.stripe is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "SANDBOX_", "STRIPE_"))}
    env |= {
        "PAYBOT_DB_PATH": str(tmp / "paybot.db"),
        "PAYBOT_PROVIDER": "stripe",
        "COLUMNS": "200",
        "STRIPE_API_KEY": run.stripe.api_key,
        "STRIPE_API_BASE": run.stripe.base,
        "STRIPE_DB_PATH": str(tmp / "stripe.db"),
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=tmp, timeout=60
    )


def test_reconcile_and_refund_commands_on_stripe(run: Run, tmp_path: Path) -> None:
    pay(run, "@paybot send 5 to @alice")
    done = paybot(tmp_path, run, "reconcile", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"mismatches": [], "resolved_by_lookup": 0}
    assert "No mismatches" in paybot(tmp_path, run, "reconcile").stdout
    refunded = paybot(tmp_path, run, "refund", "1", "--yes", "--json")
    assert refunded.returncode == 0, refunded.stderr
    assert [t.status for t in transfers(run)] == ["returned"]
    [refund] = run.stripe.of_kind("refund")  # type: ignore[union-attr]
    assert refund["payment_intent"] == transfers(run)[0].payment_ref
    with cast(SqlStore, run.bot.service.uow)() as s:
        row = s.exec(select(Transfer)).one()
        row.status = "completed"
        s.add(row)
        s.commit()
    mismatch = paybot(tmp_path, run, "reconcile", "--json")
    assert mismatch.returncode == 1
    assert [m["transfer"] for m in json.loads(mismatch.stdout)["mismatches"]] == [1]


# ---------------------------------------------------------------- `paybot run` as a process


def stripe_env(stripe_sim: StripeSim, tmp: Path) -> dict[str, str]:
    return {
        "PAYBOT_PROVIDER": "stripe",
        "STRIPE_API_KEY": stripe_sim.api_key,
        "STRIPE_API_BASE": stripe_sim.base,
        "STRIPE_DB_PATH": str(tmp / "stripe.db"),
    }


def test_sigkill_after_the_charge_on_stripe_then_restart(xsim: XSim, tmp_path: Path) -> None:  # noqa: F811
    """Killed right after Stripe charged, the restarted worker completes it with one charge; no key in the log."""
    stripe_sim = StripeSim()
    stripe_sim.start()
    try:
        setup = StripeProvider.from_settings(
            ScenarioSettings(
                paybot_provider="stripe",
                stripe_api_key=stripe_sim.api_key,
                stripe_api_base=stripe_sim.base,
                stripe_db_path=str(tmp_path / "stripe.db"),
            ),
            stripe_sim.clock,
        )
        bob, alice = xsim.user_id("bob"), xsim.user_id("alice")
        setup.attach_card(bob, STRIPE_CARDS["ok"])
        stripe_sim.onboard(setup.account(alice))
        setup.close()
        env: dict[str, Any] = stripe_env(stripe_sim, tmp_path)
        post = pay_killed_after_the_charge(xsim, tmp_path, **env)
        assert statuses(tmp_path) == ["executing"] and stripe_sim.succeeded_charges() == 1
        restart_until_replied(xsim, tmp_path, post, **env)
        assert statuses(tmp_path) == ["completed"]
        assert stripe_sim.succeeded_charges() == 1 and len(stripe_sim.of_kind("payment_intent")) == 1
        [pi] = stripe_sim.of_kind("payment_intent")
        assert pi["transfer_data"] == {"destination": setup.account(alice)}
        assert stripe_sim.api_key not in (tmp_path / "worker.log").read_text()
    finally:
        stripe_sim.stop()


def test_a_live_key_without_paybot_live_refuses_to_start(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "X_", "STRIPE_"))}
    env |= {
        "PAYBOT_PROVIDER": "stripe",
        "STRIPE_API_KEY": "sk_live_51Abc0123456789xyz",
        "X_CONSUMER_KEY": "ck",
        "X_CONSUMER_SECRET": "cs",
        "X_ACCESS_TOKEN": "at",
        "X_ACCESS_TOKEN_SECRET": "ats",
        "X_API_BASE": "http://127.0.0.1:9",
        "PAYBOT_DB_PATH": str(tmp_path / "paybot.db"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 2
    assert "live key" in done.stderr and "PAYBOT_LIVE=1" in done.stderr
    assert "sk_live_51Abc0123456789xyz" not in done.stderr + done.stdout


@pytest.mark.parametrize("command", ["webhook", "web"])
def test_the_webhook_command_applies_signed_events_only(run: Run, tmp_path: Path, command: str) -> None:
    """`paybot webhook` as an operator runs it, and `paybot web`, which serves the same webhook at the same path
    beside the pages: a badly signed event is refused; a signed event Stripe never sent (an invented refund) is
    refused too, since each event is fetched again from Stripe; a real one (a dispute) is applied; a body that is
    not an event, or too big, is refused without harm."""
    import hashlib
    import hmac
    import time

    import requests

    from tests.support.stripe_kit import PLATFORM_SECRET as SECRET
    from tests.support.stripe_kit import free_port

    assert run.stripe is not None
    pay(run, "@paybot send 5 to @alice")
    [t] = transfers(run)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "SANDBOX_", "STRIPE_"))}
    env |= {
        "PAYBOT_DB_PATH": str(tmp_path / "paybot.db"),
        "PAYBOT_PROVIDER": "stripe",
        "STRIPE_API_KEY": run.stripe.api_key,
        "STRIPE_API_BASE": run.stripe.base,
        "STRIPE_DB_PATH": str(tmp_path / "stripe.db"),
        "STRIPE_WEBHOOK_SECRET": SECRET,
    }
    if command == "web":
        env |= {
            "PAYBOT_LINK_SECRET": "5f2b9c1e8d7a4036b1c9e2f7a8d3b6c04e1f9a7d2c8b5e3f",
            "PAYBOT_WEB_URL": f"http://127.0.0.1:{port}",
        }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", command, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/stripe/webhook"
        wait_for(lambda: proc.poll() is not None or _answers(url))

        def post(body: str) -> int:
            stamp = int(time.time())
            sig = hmac.new(SECRET.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
            return requests.post(
                url, data=body, headers={"Stripe-Signature": f"t={stamp},v1={sig}"}, timeout=30
            ).status_code

        invented = json.dumps(
            {
                "id": "evt_dash_1",
                "object": "event",
                "type": "charge.refunded",
                "created": int(time.time()),
                "data": {"object": {"object": "charge", "id": "ch_x", "payment_intent": t.payment_ref}},
            }
        )
        forged = requests.post(url, data=invented, headers={"Stripe-Signature": "t=1,v1=beef"}, timeout=10)
        assert forged.status_code == 400 and [t.status for t in transfers(run)] == ["completed"]
        if command == "web":  # the pages' headers on the webhook's answers too, and the pages beside it
            assert forged.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in forged.headers
            assert requests.get(f"http://127.0.0.1:{port}/identity", timeout=10).status_code == 403
        assert post(invented) == 400 and [t.status for t in transfers(run)] == ["completed"]
        assert post("[]") == 400 and post(json.dumps({"id": "evt_x"})) == 400
        assert post("x" * (2 * 1024 * 1024)) == 413
        pi = run.bot.provider.client.v1.payment_intents.retrieve(t.payment_ref or "")  # type: ignore[attr-defined]
        run.stripe.dispute(pi.latest_charge, withdraw=False)
        assert post(json.dumps(run.stripe.events[-1])) == 200
        with cast(SqlStore, run.bot.service.uow)() as s:
            notes = [e.note for e in s.exec(select(TransferEvent).where(TransferEvent.transfer_id == t.id))]
        assert sum("disputed at the provider" in (n or "") for n in notes) == 1
        assert [t.status for t in transfers(run)] == ["completed"]
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        out = proc.communicate()[0]
    assert code == 0, out
    assert "development server" not in out  # served by waitress, not werkzeug's server
    assert SECRET not in out and run.stripe.api_key not in out


@pytest.fixture
def approval(tmp_path: Path) -> Iterator[Run]:
    """@bob's bank wants him present: his payment of $5 to @alice waits in needs_auth, nothing charged. @mallory
    is a recipient who onboarded: a connected account paybot created for her."""
    users = {"bob": {"card": "needs_auth"}, "alice": {"payouts": True}, "mallory": {"payouts": True}}
    r = Run({"users": users}, tmp_path, provider="stripe")
    pay(r, "@paybot send 5 to @alice")
    assert r.stripe is not None and [t.status for t in transfers(r)] == ["needs_auth"]
    assert r.stripe.succeeded_charges() == 0
    yield r
    r.close()


def _webhook(r: Run) -> Any:
    from bot.providers.stripe_webhook import make_app
    from tests.support.stripe_kit import CONNECT_SECRET, PLATFORM_SECRET

    return make_app(
        r.bot.provider,  # type: ignore[arg-type]
        PLATFORM_SECRET,
        r.bot.service.apply_event,
        connect_secret=CONNECT_SECRET,
    ).test_client()


@pytest.mark.parametrize("whose", ["paybots_recipient", "unknown_to_paybot"])
def test_a_connected_accounts_payment_naming_someones_key_completes_nothing(approval: Run, whose: str) -> None:
    """A genuine payment_intent.succeeded inside another connected account, whose metadata carries the waiting
    transfer's key (pay:<root>:<sender>:<recipient>, all public), delivered by the Connect endpoint and signed
    with its secret: paybot takes only account.updated from connected accounts, and a payment only as it reads
    its own again on the platform. The transfer still waits, nothing is announced; signed with the platform's
    secret, the same body is refused. Then @bob approves, and it completes."""
    from bot.providers.stripe_webhook import PATH
    from tests.support.stripe_kit import CONNECT_SECRET, PLATFORM_SECRET, _signed

    r = approval
    assert r.stripe is not None
    provider: StripeProvider = r.bot.provider  # type: ignore[assignment]
    if whose == "paybots_recipient":
        account = provider.account(r.sim.user_id("mallory"))
    else:  # an account connected to the platform that paybot did not create
        account = provider.client.v1.accounts.create(params={"capabilities": {"transfers": {"requested": True}}}).id
    [t] = transfers(r)
    said = len(r.sim.bot_messages())
    pi = r.stripe.connected_payment(account, 500, "usd", {"paybot_key": t.pay_key or ""})
    event = r.stripe.events[-1]
    assert (event["type"], event["account"], event["data"]["object"]["id"]) == (
        "payment_intent.succeeded",
        account,
        pi["id"],
    )
    body = json.dumps(event)
    hook = _webhook(r)
    answer = hook.post(PATH, data=body, headers=_signed(body, CONNECT_SECRET))
    assert answer.status_code == 200 and answer.data == b"ignored"
    assert hook.post(PATH, data=body, headers=_signed(body, PLATFORM_SECRET)).status_code == 400
    r.work()
    assert [x.status for x in transfers(r)] == ["needs_auth"] and r.stripe.succeeded_charges() == 0
    assert len(r.sim.bot_messages()) == said
    r.step({"approve": "bob"})
    [t] = transfers(r)
    assert t.status == "completed" and t.payment_ref != pi["id"] and r.stripe.succeeded_charges() == 1


def test_a_platform_payment_paybot_did_not_make_completes_nothing_when_polled(approval: Run) -> None:
    """The polled events are the platform's own, but not all of the platform's payments are paybot's: another
    integration of the account (or its dashboard) can charge someone with paybot's key in the metadata, on a
    Checkout page of its own or off-session, or let such a page lapse. None of it completes or fails the
    waiting transfer: the payment paybot made for that key is read again from its own approval page. Then @bob
    approves, and it completes."""
    r = approval
    assert r.stripe is not None
    provider: StripeProvider = r.bot.provider  # type: ignore[assignment]
    [t] = transfers(r)
    key = t.pay_key or ""
    stranger = provider.client.v1.customers.create()
    card = provider.client.v1.payment_methods.attach("pm_card_visa", params={"customer": stranger.id})
    provider.client.v1.payment_intents.create(
        params={
            "amount": 500,
            "currency": "usd",
            "customer": stranger.id,
            "payment_method": card.id,
            "confirm": True,
            "off_session": True,
            "metadata": {"paybot_key": key},
        }
    )
    page = provider.client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "customer": stranger.id,
            "success_url": "https://x.com",
            "cancel_url": "https://x.com",
            "metadata": {"paybot_key": key},
            "payment_intent_data": {"metadata": {"paybot_key": key}},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "not paybot's"}},
                }
            ],
        }
    )
    r.stripe.complete_checkout(page.id)
    unused = provider.client.v1.checkout.sessions.create(
        params={  # and one of its pages with the key lapses
            "mode": "payment",
            "customer": stranger.id,
            "success_url": "https://x.com",
            "cancel_url": "https://x.com",
            "metadata": {"paybot_key": key},
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {"currency": "usd", "unit_amount": 500, "product_data": {"name": "not paybot's"}},
                }
            ],
        }
    )
    provider.client.v1.checkout.sessions.expire(unused.id)
    said = len(r.sim.bot_messages())
    r.work()
    assert [x.status for x in transfers(r)] == ["needs_auth"] and len(r.sim.bot_messages()) == said
    assert r.stripe.succeeded_charges() == 2  # the stranger's two payments, not bob's
    r.step({"approve": "bob"})
    [t] = transfers(r)
    assert t.status == "completed" and r.stripe.succeeded_charges() == 3
    mine = provider.client.v1.payment_intents.retrieve(t.payment_ref or "")
    assert mine.customer == provider.customer(r.sim.user_id("bob"))


def _answers(url: str) -> bool:
    import requests

    try:
        requests.get(url, timeout=1)
        return True
    except requests.ConnectionError:
        return False


def test_below_stripes_minimum_the_command_is_refused_with_that_minimum(tmp_path: Path) -> None:
    """PAYBOT_MIN_TRANSFER below Stripe's smallest charge: the command is answered with Stripe's minimum."""
    r = Run(
        {"users": {"bob": {"card": "ok"}, "alice": {"payouts": True}}, "settings": {"paybot_min_transfer": "0.10"}},
        tmp_path,
        provider="stripe",
    )
    try:
        r.step({"tweet": "@paybot send 0.40 to @alice", "by": "bob"})
        r.step({"tweet": "@paybot send £0.30 to @alice", "by": "bob"})
        r.step({"dm": "yes", "by": "bob"})
        [reply] = [m for m in r.outcome()["messages"] if m["type"] != "dm"][:1]
        assert "smallest payment I can send is $0.50" in reply["text"]
        assert [(t.amount_minor, t.currency, t.status) for t in transfers(r)] == [(30, "GBP", "completed")]
    finally:
        r.close()


def test_a_charge_stripe_finds_too_small_fails_with_a_dm_that_says_so(run: Run) -> None:
    """Stripe checks its minimum after converting to the platform's currency, so a charge paybot let
    through can still be refused: the transfer fails, nothing is charged, the DM says to send more."""
    assert run.stripe is not None
    run.bot.service.policy = replace(run.bot.service.policy, min_minor=10, currency_min={})
    pay(run, "@paybot send 0.40 to @alice")
    [t] = transfers(run)
    assert (t.status, t.reason) == ("failed", "not charged: too small")
    assert run.stripe.succeeded_charges() == 0
    dms = [m["text"] for m in run.outcome()["messages"] if m["type"] == "dm" and m["to"] == "bob"]
    assert "below the smallest charge the card network takes" in dms[-1] and "Post the command" not in dms[-1]


def test_a_claim_with_nothing_held_makes_nothing_at_stripe(run: Run) -> None:
    """A stranger's CLAIM (nothing held for them) is answered without a Connect account or a link."""
    assert run.stripe is not None
    accounts = len(run.stripe.of_kind("account"))
    run.step({"dm": "claim", "by": "mallory"})
    assert len(run.stripe.of_kind("account")) == accounts
    dms = [m["text"] for m in run.sim.bot_messages() if m["type"] == "dm"]
    assert len(dms) == 1 and "Nothing is waiting for you" in dms[0] and "http" not in dms[0]


def test_at_debug_the_log_holds_no_link_and_no_key(xsim: XSim, tmp_path: Path) -> None:  # noqa: F811
    """`paybot run` at LOG_LEVEL=DEBUG through REGISTER, a held payment and a CLAIM: the card page and
    onboarding links (bearer credentials) and the Stripe key reach the people's DMs, never the log."""
    from tests.support.worker_kit import start
    from tests.support.workers import stop

    stripe_sim = StripeSim()
    stripe_sim.start()
    try:
        proc = start(
            xsim,
            tmp_path,
            LOG_LEVEL="DEBUG",
            PAYBOT_DMS_IDLE_INTERVAL="0",
            **cast(dict[str, Any], stripe_env(stripe_sim, tmp_path)),
        )
        try:

            def link_to(handle: str) -> bool:
                uid = xsim.user_id(handle)
                return any(m["type"] == "dm" and m["to_id"] == uid and "http" in m["text"] for m in xsim.bot_messages())

            xsim.dm("bob", "register")
            wait_for(lambda: link_to("bob"))
            for session in stripe_sim.open_sessions():
                stripe_sim.complete_checkout(session["id"], STRIPE_CARDS["ok"])
            wait_for(lambda: sum(m["type"] == "dm" for m in xsim.bot_messages()) >= 2)  # "card saved"
            xsim.tweet("bob", "@paybot send 5 to @alice for the tickets")
            wait_for(lambda: any(m["text"].startswith("Send ") for m in xsim.bot_messages()))
            xsim.dm("bob", "yes")
            wait_for(lambda: any("held for you" in m["text"] for m in xsim.bot_messages()))
            xsim.dm("alice", "claim")
            wait_for(lambda: link_to("alice"))
        finally:
            stop(proc)
        links = [word for m in xsim.bot_messages() for word in m["text"].split() if word.startswith("http")]
        assert len(links) == 2
        log = (tmp_path / "worker.log").read_text()
        assert " DEBUG " in log or '"level": "debug"' in log
        pieces = [part for link in links for part in link.split("/")[3:] if len(part) >= 12]  # ids and tokens
        assert pieces
        for secret in [*links, *pieces, stripe_sim.api_key, "tickets"]:
            assert secret not in log, secret
    finally:
        stripe_sim.stop()


# ---------------------------------------------------------------- money back in parts, as Stripe does it


def _settled(r: Run) -> list[tuple[str, int, str]]:
    from bot.domain.entities import Settlement

    with cast(SqlStore, r.bot.service.uow)() as s:
        return [(st.step, st.amount_minor, st.status) for st in s.exec(select(Settlement).order_by(col(Settlement.id)))]


def _dms(r: Run, to: str) -> list[str]:
    return [m["text"] for m in r.outcome()["messages"] if m["type"] == "dm" and m["to"] == to]


@pytest.mark.parametrize("ends", ["succeeded", "failed"])
def test_a_refund_stripe_leaves_pending_is_told_only_when_it_goes_through(run: Run, ends: str) -> None:
    """A partial refund Stripe answers "pending": nothing is said until refund.updated says it ended. Gone through,
    the sender hears of it; failed, they hear nothing, `paybot status` warns, and a new refund has a new key."""
    from bot import admin

    assert run.stripe is not None
    pay(run, "@paybot send 5 to @alice")
    run.stripe.hold_refunds(1)
    ok, said = run.bot.service.operator_refund(1, 200)
    assert ok and "in progress" in said
    run.step({"wait": "1m"})
    assert not [t for t in _dms(run, "bob") if "refunded" in t] and _settled(run) == [("refund", 200, "pending")]
    [refund] = run.stripe.of_kind("refund")
    run.stripe.settle_refund(refund["id"], ends)
    run.step({"wait": "1m"})
    run.step({"wait": "1m"})  # refund.updated and charge.refund.updated: applied once in effect
    told = [t for t in _dms(run, "bob") if "refunded" in t]
    warned = [w["what"] for w in admin.money_warnings(cast(SqlStore, run.bot.service.uow), run.clock.now())]
    if ends == "succeeded":
        assert told == ["$2.00 of your $5.00 to @alice was refunded to you ($2.00 refunded in all). [6P37]"]
        assert _settled(run) == [("refund", 200, "succeeded")] and warned == []
    else:
        assert told == [] and _settled(run) == [("refund", 200, "failed")] and warned == ["refund_failed"]
        assert run.bot.service.operator_refund(1, 200)[0]
        run.step({"wait": "1m"})  # the worker sends the DM
        assert _settled(run) == [("refund", 200, "failed"), ("refund", 200, "succeeded")]
        assert len([t for t in _dms(run, "bob") if "refunded" in t]) == 1
    # Either way alice gave back $2.00 once: the failed refund's reversal stays (Stripe does not undo it) and
    # counts towards the refund made after it.
    [transfer] = run.stripe.of_kind("transfer")
    assert transfer["amount_reversed"] == 200
    assert [t.status for t in transfers(run)] == ["completed"]
    assert reconcile(run.bot.service, run.clock.now() - timedelta(days=1)) == ([], 0)


def test_a_release_stripe_refuses_for_the_platforms_balance_is_retried_with_new_keys(run: Run) -> None:
    assert run.stripe is not None
    pay(run, "@paybot send 5 to @carol")
    run.stripe.inject("POST /v1/transfers", 400, times=2, code="balance_insufficient")
    run.step({"dm": "claim", "by": "carol"})  # carol onboards on the page; the release is refused
    assert [t.status for t in transfers(run)] == ["held"] and run.stripe.of_kind("transfer") == []
    assert "the payout to you is delayed" in _dms(run, "carol")[-1]
    run.step({"wait": "5m"})  # tried again: refused again, and carol is not told twice
    assert [t.status for t in transfers(run)] == ["held"] and "delayed" in _dms(run, "carol")[-1]
    run.step({"wait": "15m"})
    assert [t.status for t in transfers(run)] == ["completed"]
    assert _dms(run, "carol")[-1] == "Done: you received $5.00 from @bob."
    keys = [r["key"] for r in run.stripe.requests if r["route"] == "POST /v1/transfers"]
    assert len(keys) == len(set(keys)) == 3 and [t["amount"] for t in run.stripe.of_kind("transfer")] == [500]


def test_a_dispute_that_withdraws_funds_warns_until_the_operator_reverses_the_transfer(run: Run) -> None:
    from bot import admin

    assert run.stripe is not None
    pay(run, "@paybot send 5 to @alice")
    [t] = transfers(run)
    provider: StripeProvider = run.bot.provider  # type: ignore[assignment]
    run.stripe.dispute(cast(str, provider.client.v1.payment_intents.retrieve(t.payment_ref or "").latest_charge))
    run.step({"wait": "1m"})
    warned = admin.money_warnings(cast(SqlStore, run.bot.service.uow), run.clock.now())
    assert [w["what"] for w in warned] == ["funds_withdrawn"]
    assert "the payer's bank took $5.00 back" in warned[0]["text"]
    assert run.bot.service.operator_reverse(1)[0]
    [transfer] = run.stripe.of_kind("transfer")
    assert (transfer["amount_reversed"], transfer["reversed"]) == (500, True)
    assert admin.money_warnings(cast(SqlStore, run.bot.service.uow), run.clock.now()) == []
    assert [tr.status for tr in transfers(run)] == ["completed"] and run.stripe.of_kind("refund") == []


def test_a_dashboard_refund_in_parts_counts_each_part(run: Run) -> None:
    """A refund made in Stripe's dashboard is recorded with its amount: part of it leaves the transfer completed
    (its timeline says how much), the rest makes it returned; the sender is not told by the bot."""
    pay(run, "@paybot send 5 to @alice")
    [t] = transfers(run)
    provider: StripeProvider = run.bot.provider  # type: ignore[assignment]
    provider.client.v1.refunds.create(
        params={"payment_intent": t.payment_ref or "", "amount": 150, "reverse_transfer": True}
    )
    run.step({"wait": "1m"})
    assert [tr.status for tr in transfers(run)] == ["completed"] and _settled(run) == [("refund", 150, "succeeded")]
    provider.client.v1.refunds.create(params={"payment_intent": t.payment_ref or "", "reverse_transfer": True})
    run.step({"wait": "1m"})
    run.step({"wait": "1m"})
    assert [tr.status for tr in transfers(run)] == ["returned"]
    assert _settled(run) == [("refund", 150, "succeeded"), ("refund", 350, "succeeded")]
    with cast(SqlStore, run.bot.service.uow)() as s:
        notes = [e.note or "" for e in s.exec(select(TransferEvent).where(TransferEvent.transfer_id == t.id))]
    assert sum("refunded at the provider" in n for n in notes) == 2
    assert not [m for m in _dms(run, "bob") if "refunded" in m]
    assert reconcile(run.bot.service, run.clock.now() - timedelta(days=1)) == ([], 0)
