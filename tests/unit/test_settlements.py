"""Money after the payment, one settlement per step: partial refunds, refunds that stay pending and then go
through or fail, releases the platform's balance cannot cover, disputes that take the money back and the
operator's reversal; what each tells whom, and what `paybot status` warns about.

The use cases run on the in-memory fake provider, or on the sandbox where the provider must play something
the fake cannot (a refund that stays pending, a dispute), with the real store on a file."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot import admin
from bot.domain.entities import Settlement, TransferEvent
from bot.faults import InjectedFault
from bot.providers.sandbox import SandboxProvider
from bot.repo.sql import SqlStore
from tests.support.fakes import FakeProvider
from tests.support.service_world import World


class SandboxWorld(World):
    """The same people on the sandbox: bob (10) pays with a good card, alice (11) can receive, carol (12)
    cannot yet."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        self.sandbox = SandboxProvider(tmp / "sandbox.db")
        self.sandbox.set_cards({"10": "ok", "13": "declined"})
        self.sandbox.set_payouts("11", True)
        self.svc.provider = self.sandbox


@pytest.fixture
def w(tmp_path: Path) -> World:
    return World(tmp_path)


@pytest.fixture
def sw(tmp_path: Path) -> SandboxWorld:
    return SandboxWorld(tmp_path)


def pay(w: World, text: str = "@paybot send 5 to @alice") -> None:
    w.svc.on_mention(w.posts.mention("bob", text))
    w.svc.on_dm(w.posts.dm("bob", "yes"))


def settlements(w: World) -> list[tuple[str, int, str, str | None]]:
    """(step, amount, status, key) of every settlement, oldest first."""
    assert isinstance(w.uow, SqlStore)
    with w.uow() as s:
        return [
            (st.step, st.amount_minor, st.status, st.key)
            for st in s.exec(select(Settlement).order_by(col(Settlement.id)))
        ]


def notes(w: World, transfer_id: int = 1) -> list[tuple[str, str]]:
    assert isinstance(w.uow, SqlStore)
    with w.uow() as s:
        return [
            (e.status, e.note or "")
            for e in s.exec(
                select(TransferEvent).where(TransferEvent.transfer_id == transfer_id).order_by(col(TransferEvent.id))
            )
        ]


def dms_to(w: World, user_id: str) -> list[str]:
    return [text for to, text in w.outbox() if to == user_id]


def warnings(w: World) -> list[tuple[int, str]]:
    assert isinstance(w.uow, SqlStore)
    return [(x["transfer"], x["what"]) for x in admin.money_warnings(w.uow, w.clock.now())]


def test_a_completed_transfer_is_refunded_in_parts_each_told_and_on_its_timeline(w: World) -> None:
    """Each part has its own key and its own DM; the timeline shows each amount; all of it makes the transfer
    returned; more than is left, or a part of held money, is refused with the reason."""
    pay(w)
    root = w.transfers()[0].root_tweet_id
    assert w.svc.operator_refund(1, 250) == (True, "transfer 1: $2.50 refunded; $2.50 of $5.00 refunded in all")
    assert w.statuses() == ["completed"]
    assert dms_to(w, "10")[-1] == "$2.50 of your $5.00 to @alice was refunded to you ($2.50 refunded in all). [AAAA]"
    refused = w.svc.operator_refund(1, 300)
    assert refused == (False, "transfer 1: $2.50 is left to refund, not $3.00")
    assert w.svc.operator_refund(1, 100)[0]
    assert w.svc.operator_refund(1) == (True, "transfer 1: $1.50 refunded; $5.00 of $5.00 refunded in all (returned)")
    assert w.statuses() == ["returned"]
    assert w.svc.operator_refund(1) == (True, "transfer 1 was already returned (refunded_ch_1_3)")
    assert settlements(w) == [
        ("refund", 250, "succeeded", f"refund:{root}:10:11"),
        ("refund", 100, "succeeded", f"refund:{root}:10:11:2"),
        ("refund", 150, "succeeded", f"refund:{root}:10:11:3"),
    ]
    assert notes(w)[-3:] == [
        ("completed", "refunded $2.50 to the sender (refunded_ch_1)"),
        ("completed", "refunded $1.00 to the sender (refunded_ch_1_2); $3.50 of $5.00 in all"),
        ("returned", "refunded $1.50 to the sender (refunded_ch_1_3); $5.00 of $5.00 in all"),
    ]
    assert dms_to(w, "10")[-1] == "$1.50 of your $5.00 to @alice was refunded to you ($5.00 refunded in all). [AAAA]"
    assert (w.provider.charges[0]["refunded"], w.provider.charges[0]["state"]) == (500, "refunded")
    pay(w, "@paybot send 3 to @carol")
    assert w.statuses()[-1] == "held"
    assert w.svc.operator_refund(2, 100) == (
        False,
        "transfer 2 is held: held money goes back whole (leave out --amount), or is claimed whole",
    )


def test_a_crash_between_a_partial_refund_and_its_record_is_finished_once_with_its_key(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    pay(w)
    monkeypatch.setenv("PAYBOT_FAULT", "settle_called")
    monkeypatch.setenv("PAYBOT_FAULT_MODE", "raise")
    with pytest.raises(InjectedFault):
        w.svc.operator_refund(1, 200)
    monkeypatch.delenv("PAYBOT_FAULT")
    [(step, amount, status, key)] = settlements(w)
    assert (step, amount, status) == ("refund", 200, "pending") and w.provider.charges[0]["refunded"] == 200
    assert w.svc.resume() == 1
    assert settlements(w) == [("refund", 200, "succeeded", key)] and w.provider.charges[0]["refunded"] == 200
    assert len([t for t in dms_to(w, "10") if "refunded to you" in t]) == 1
    assert w.svc.operator_refund(1, 200)[0] and w.provider.charges[0]["refunded"] == 400  # a second part: new key


def test_an_operators_refund_interrupted_is_finished_by_the_next_refund_command(w: World) -> None:
    pay(w)
    real = w.provider.refund
    w.provider.refund = lambda **kw: (_ for _ in ()).throw(InjectedFault("settle_called"))  # type: ignore[method-assign]
    with pytest.raises(InjectedFault):
        w.svc.operator_refund(1, 200)
    w.provider.refund = real  # type: ignore[method-assign]
    ok, said = w.svc.operator_refund(1, 300)  # the interrupted $2.00 first, not the $3.00
    assert ok and said.startswith("transfer 1: an interrupted refund was finished: $2.00 refunded")
    assert [a for _, a, _, _ in settlements(w)] == [200]


def test_a_pending_refund_is_told_only_when_it_goes_through(sw: SandboxWorld) -> None:
    """The sender hears "refunded" once, when the provider says the refund went through; until then the
    transfer stays completed and its timeline says the refund is in progress."""
    pay(sw)
    sw.sandbox.hold_refunds(True)
    ok, said = sw.svc.operator_refund(1)
    assert ok and "in progress at the provider" in said
    assert sw.statuses() == ["completed"] and not [t for t in dms_to(sw, "10") if "refunded" in t]
    assert "pending at the provider" in notes(sw)[-1][1]
    assert sw.svc.operator_refund(1)[1] == (
        "transfer 1: its refund is in progress at the provider; the sender is told when it goes through"
    )
    assert warnings(sw) == []
    sw.clock.advance(timedelta(days=8))  # a refund that takes over a week is worth the operator's look
    assert warnings(sw) == [(1, "refund_slow")]
    [movement] = sw.sandbox.movements()
    sw.sandbox.finish_refund(movement["ref"], ok=True)
    sw.svc.provider_events()
    assert sw.statuses() == ["returned"]
    assert [t for t in dms_to(sw, "10") if "refunded" in t] == ["Your $5.00 to @alice was refunded to you. [AAAA]"]
    events, _ = sw.sandbox.events(None)
    for event in events:  # the same events again change nothing
        sw.svc.apply_event(event)
    assert len([t for t in dms_to(sw, "10") if "refunded" in t]) == 1 and warnings(sw) == []


def test_a_failed_refund_warns_the_operator_and_the_money_is_not_returned(sw: SandboxWorld) -> None:
    pay(sw)
    sw.sandbox.hold_refunds(True)
    sw.svc.operator_refund(1)
    sw.sandbox.finish_refund(sw.sandbox.movements()[0]["ref"], ok=False, reason="expired_or_canceled_card")
    sw.svc.provider_events()
    assert sw.statuses() == ["completed"] and not [t for t in dms_to(sw, "10") if "refunded" in t]
    assert settlements(sw)[0][2] == "failed" and warnings(sw) == [(1, "refund_failed")]
    assert "failed at the provider (expired_or_canceled_card" in notes(sw)[-1][1]
    assert isinstance(sw.uow, SqlStore)
    [warning] = admin.money_warnings(sw.uow, sw.clock.now())
    assert "`paybot refund 1` tries again" in warning["text"]
    sw.sandbox.hold_refunds(False)
    assert sw.svc.operator_refund(1) == (True, "transfer 1 refunded")  # a new key; the failed one counts nothing
    assert [(st, k.rsplit(":", 1)[-1]) for _, _, st, k in settlements(sw) if k] == [
        ("failed", "11"),
        ("succeeded", "2"),
    ]
    assert sw.statuses() == ["returned"] and warnings(sw) == []
    assert [t for t in dms_to(sw, "10") if "refunded" in t] == ["Your $5.00 to @alice was refunded to you. [AAAA]"]


def test_a_refund_that_fails_after_it_went_through_is_the_operators_to_redo(sw: SandboxWorld) -> None:
    pay(sw)
    assert sw.svc.operator_refund(1) == (True, "transfer 1 refunded")
    sw.sandbox.finish_refund(sw.sandbox.movements()[0]["ref"], ok=False)
    sw.svc.provider_events()
    assert sw.statuses() == ["returned"] and warnings(sw) == [(1, "refund_failed")]
    assert "after it had gone through" in notes(sw)[-1][1]
    assert sw.svc.operator_refund(1) == (True, "transfer 1 refunded")
    assert warnings(sw) == [] and [p["state"] for p in sw.sandbox.payments()] == ["refunded"]


def test_a_release_the_platforms_balance_cannot_cover_is_retried_and_told_only_when_paid(w: World) -> None:
    """Refused for the platform's balance: the money stays held (the claim window does not send it back: it
    was claimed), the recipient hears it is delayed (once), each retry has a new key, after 5 min, 15 min,
    1 h..., and the recipient hears "received" when it went through."""
    pay(w, "@paybot send 5 to @carol")
    root = w.transfers()[0].root_tweet_id
    w.provider.balance_short = True
    w.svc.on_dm(w.posts.dm("carol", "claim"))
    assert w.statuses() == ["held"] and w.provider.charges[0]["state"] == "held"
    assert dms_to(w, "12") == [
        "$5.00 from @bob: the payout to you is delayed on our side. It is yours and stays "
        "safe; I'll DM you as soon as it arrives. No need to CLAIM again."
    ]
    assert warnings(w) == [(1, "release_waiting")]
    first = w.clock.now()
    assert w.svc.next_due() == first + timedelta(minutes=5)
    w.clock.advance(timedelta(minutes=4))
    assert w.svc.resume() == 0 and len(settlements(w)) == 1
    w.clock.advance(timedelta(minutes=1))
    assert w.svc.resume() == 1
    assert [(a, st, k) for _, a, st, k in settlements(w)] == [
        (500, "failed", f"release:{root}:10:12"),
        (500, "failed", f"release:{root}:10:12:2"),
    ]
    assert w.svc.next_due() == w.clock.now() + timedelta(minutes=15) and len(dms_to(w, "12")) == 1
    w.clock.advance(timedelta(days=15))  # the claim window is over: claimed money is not sent back
    assert w.svc.return_due() == 0 and w.statuses() == ["held"]
    w.provider.balance_short = False
    w.svc.resume()
    assert w.statuses() == ["completed"] and w.provider.charges[0]["state"] == "released"
    assert dms_to(w, "12")[-1] == "Done: you received $5.00 from @bob."
    assert [st for _, _, st, _ in settlements(w)] == ["failed", "failed", "succeeded"] and warnings(w) == []
    assert "released $5.00 to the recipient" in notes(w)[-1][1]


def test_a_claim_while_a_release_waits_for_the_balance_is_answered_without_asking_the_provider(w: World) -> None:
    pay(w, "@paybot send 5 to @carol")
    w.provider.balance_short = True
    w.svc.on_dm(w.posts.dm("carol", "claim"))
    w.provider.balance_short = False
    w.svc.on_dm(w.posts.dm("carol", "claim"))  # within the 5 minutes: the release waits its turn
    assert w.statuses() == ["held"] and len(settlements(w)) == 1
    assert dms_to(w, "12")[-1].startswith("$5.00 from @bob: the payout to you is delayed")


def test_a_dispute_that_withdraws_funds_is_told_to_the_operator_and_reversed_only_on_request(sw: SandboxWorld) -> None:
    pay(sw)
    ref = sw.transfers()[0].payment_ref or ""
    told = len(sw.outbox())
    sw.sandbox.dispute(ref)
    sw.svc.provider_events()
    assert sw.statuses() == ["completed"] and len(sw.outbox()) == told  # nobody is told by the bot
    assert [n.split(" (")[0] for _, n in notes(sw)[-2:]] == ["disputed at the provider", "funds withdrawn by a dispute"]
    assert warnings(sw) == [(1, "funds_withdrawn")]
    assert isinstance(sw.uow, SqlStore)
    assert "`paybot reverse 1`" in admin.money_warnings(sw.uow, sw.clock.now())[0]["text"]
    ok, said = sw.svc.operator_reverse(1)
    assert ok and said.startswith("transfer 1: $5.00 taken back from the recipient")
    assert [(m["kind"], m["amount_minor"]) for m in sw.sandbox.movements()] == [("reversal", 500)]
    assert settlements(sw)[0][:3] == ("reverse", 500, "succeeded") and warnings(sw) == []
    assert sw.svc.operator_reverse(1) == (True, "transfer 1: the recipient holds nothing of it any more")
    assert sw.statuses() == ["completed"] and len(sw.outbox()) == told
    events, _ = sw.sandbox.events(None)
    for event in events:
        sw.svc.apply_event(event)
    assert len([n for _, n in notes(sw) if n.startswith("funds withdrawn")]) == 1


def test_a_reversal_is_refused_for_what_is_not_with_the_recipient(w: World) -> None:
    pay(w, "@paybot send 5 to @carol")
    assert w.svc.operator_reverse(1) == (
        False,
        "transfer 1 is held: only a completed transfer's money is with its recipient",
    )
    assert w.svc.operator_reverse(9) == (False, "no transfer 9")


def test_the_fake_keeps_keys_for_partial_refunds_apart(tmp_path: Path) -> None:
    """The fake refuses a key used again for another part, as every provider does."""
    from bot.errors import IdempotencyError
    from bot.money import Money

    fake = FakeProvider(cards={"1": "ok"}, payouts={"2"})
    paid = fake.pay(key="pay:1", sender_id="1", recipient_id="2", amount=Money(500, "USD"), memo=None)
    fake.refund(key="refund:1", payment_ref=paid.ref or "", amount=Money(100, "USD"))
    with pytest.raises(IdempotencyError):
        fake.refund(key="refund:1", payment_ref=paid.ref or "", amount=Money(200, "USD"))
