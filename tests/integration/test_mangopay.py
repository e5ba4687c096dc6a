"""The Mangopay provider through the official SDK to the project's Mangopay emulator on 127.0.0.1.

Idempotency is proven where it can break: a connection dropped after the pay-in or the transfer was made,
a 5xx (with and without the work done), a 409 (a key already used, or still running), and a key Mangopay
forgot after 24 hours: never a second pay-in or transfer. Also declines, 3DS and SCA approvals (and their
lapse), held money then claimed, refunds, settings, `paybot doctor`, and no secret in the logs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import MANGOPAY_PRODUCTION, Settings
from bot.errors import ConfigError, ProviderError, ProviderTransient
from bot.money import Money
from bot.ports import EventKind, FakeClock, PayOutcome, PayResult, ProviderEvent
from bot.providers.mangopay_provider import MangopayProvider, idempotency_key
from bot.sims.mangopay import CARD_3DS, CARD_DECLINED, DROP, PAGE_LIFETIME, SCA_SESSION_LIFETIME, MangopaySim
from tests.support.mangopay_kit import ALICE, BOB, CAROL, EUR5, give_card, make_receiver, pay, provider

PAYINS = "POST /payins/recurring/card/direct"
TRANSFERS = "POST /transfers"


@pytest.fixture
def sim() -> Iterator[MangopaySim]:
    s = MangopaySim(FakeClock())
    s.start()
    yield s
    s.stop()


@pytest.fixture
def mp(sim: MangopaySim, tmp_path: Path) -> Iterator[MangopayProvider]:
    p = provider(sim, tmp_path)
    yield p
    p.close()


def clock(sim: MangopaySim) -> FakeClock:
    assert isinstance(sim.clock, FakeClock)
    return sim.clock


def payins(sim: MangopaySim, status: str = "SUCCEEDED") -> list[dict[str, object]]:
    return [p for p in sim.of_kind("payin") if p["Status"] == status]


def transfers(sim: MangopaySim) -> list[dict[str, object]]:
    return [t for t in sim.of_kind("transfer") if t["Status"] == "SUCCEEDED"]


def balance(sim: MangopaySim, mp: MangopayProvider, user: str) -> int:
    author = mp._row(user).mangopay_user_id
    return sum(int(w["Balance"]["Amount"]) for w in sim.of_kind("wallet") if author in w["Owners"])


# ---------------------------------------------------------------- idempotency


def test_every_post_carries_a_uuid5_key_derived_from_paybots_key(sim: MangopaySim, mp: MangopayProvider) -> None:
    give_card(sim, mp, BOB)
    make_receiver(sim, mp, ALICE)
    assert pay(mp).outcome == PayOutcome.PAID
    posts = [r for r in sim.requests if r["route"].startswith("POST")]
    assert posts and all(r["key"] and len(r["key"]) == 36 for r in posts)
    [payin_post] = [r for r in posts if r["route"] == PAYINS]
    [transfer_post] = [r for r in posts if r["route"] == TRANSFERS]
    assert payin_post["key"] == idempotency_key("pay:1:10:11")
    assert transfer_post["key"] == idempotency_key("pay:1:10:11#transfer")
    [payin] = payins(sim)
    assert '"paybot":"pay:1:10:11"' in str(payin["Tag"]) and '"to":"11"' in str(payin["Tag"])


@pytest.mark.parametrize("route", [PAYINS, TRANSFERS])
def test_a_connection_dropped_after_the_work_gives_the_first_answer_not_a_second_one(
    sim: MangopaySim, mp: MangopayProvider, route: str
) -> None:
    give_card(sim, mp, BOB)
    make_receiver(sim, mp, ALICE)
    sim.inject(route, DROP)
    result = pay(mp)  # the adapter asks again at once: 409, then the stored answer
    assert result.outcome == PayOutcome.PAID and result.ref == payins(sim)[0]["Id"]
    assert len(payins(sim)) == 1 and len(transfers(sim)) == 1
    assert pay(mp) == result and len(payins(sim)) == 1 and len(transfers(sim)) == 1


def test_a_drop_with_no_retry_left_is_transient_and_the_next_attempt_finds_the_pay_in(
    sim: MangopaySim, tmp_path: Path
) -> None:
    mp = provider(sim, tmp_path, retries=0)
    give_card(sim, mp, BOB)
    sim.inject(PAYINS, DROP)
    with pytest.raises(ProviderTransient):
        pay(mp)
    assert len(payins(sim)) == 1  # made, unheard of
    result = pay(mp)  # a new process, the same key: 409, the stored answer
    assert result == PayResult(PayOutcome.HELD, ref=str(payins(sim)[0]["Id"])) and len(payins(sim)) == 1
    mp.close()


@pytest.mark.parametrize("work", [True, False], ids=["made_then_500", "500_before_the_work"])
def test_a_5xx_is_settled_by_the_tag_never_by_a_second_pay_in(
    sim: MangopaySim, mp: MangopayProvider, work: bool
) -> None:
    give_card(sim, mp, BOB)
    sim.inject(PAYINS, 500, work=work)
    result = pay(mp)
    assert result.outcome == PayOutcome.HELD and len(payins(sim)) == 1
    keys = [r["key"] for r in sim.requests if r["route"] == PAYINS]
    if work:  # found by its Tag: nothing posted again
        assert keys == [idempotency_key("pay:1:10:11")]
    else:  # nothing was made under the first key: the next key of the step's name
        assert keys == [idempotency_key("pay:1:10:11"), idempotency_key("pay:1:10:11~1")]
    assert pay(mp) == result and len(payins(sim)) == 1


def test_a_key_still_running_is_transient_then_its_answer(sim: MangopaySim, mp: MangopayProvider) -> None:
    give_card(sim, mp, BOB)
    entered, release = threading.Event(), threading.Event()

    def hold(record: dict[str, object]) -> None:
        if record["route"] == PAYINS and not entered.is_set():
            entered.set()
            release.wait(30)

    sim.on_execute = hold
    first: list[PayResult] = []
    worker = threading.Thread(target=lambda: first.append(pay(mp)))
    worker.start()
    try:
        assert entered.wait(30)
        with pytest.raises(ProviderTransient):  # 409, and no stored answer yet
            pay(mp)
    finally:
        release.set()
        worker.join(30)
    assert first and pay(mp) == first[0] and len(payins(sim)) == 1


def test_past_24_hours_the_payment_is_looked_up_by_its_tag_never_posted_again(
    sim: MangopaySim, mp: MangopayProvider
) -> None:
    give_card(sim, mp, BOB)
    make_receiver(sim, mp, ALICE)
    sim.inject(TRANSFERS, 503, times=8)  # the pay-in went through; the transfer never did (an outage)
    with pytest.raises(ProviderTransient):
        pay(mp)
    sim.faults.clear()
    assert len(payins(sim)) == 1 and transfers(sim) == []
    clock(sim).advance(timedelta(hours=25))  # Mangopay forgot every key: a POST would run again
    posted = len([r for r in sim.requests if r["route"] == PAYINS])
    found = mp.lookup("pay:1:10:11", BOB)
    assert found == PayResult(PayOutcome.PAID, ref=str(payins(sim)[0]["Id"]))
    assert len(payins(sim)) == 1 and len(transfers(sim)) == 1
    assert len([r for r in sim.requests if r["route"] == PAYINS]) == posted  # no pay-in POSTed
    assert mp.lookup("pay:1:10:11", BOB) == found and len(transfers(sim)) == 1
    assert mp.lookup("pay:never", BOB) is None


# ---------------------------------------------------------------- declines and approvals


def test_a_declined_card_is_declined_with_plain_words(sim: MangopaySim, mp: MangopayProvider) -> None:
    give_card(sim, mp, BOB, CARD_DECLINED)
    result = pay(mp)
    assert (result.outcome, result.reason) == (PayOutcome.DECLINED, "declined by the bank")
    assert pay(mp) == result and payins(sim) == [] and mp.lookup("pay:1:10:11", BOB) == result


def test_a_3ds_card_waits_for_the_bank_then_pays_the_recipient(sim: MangopaySim, mp: MangopayProvider) -> None:
    give_card(sim, mp, BOB, CARD_3DS)
    make_receiver(sim, mp, ALICE)
    _, cursor = mp.events(None)
    waiting = pay(mp)
    assert waiting.outcome == PayOutcome.NEEDS_AUTH and waiting.url and "/_sim/3ds-page/" in waiting.url
    assert pay(mp) == waiting and payins(sim) == []
    sim.complete_3ds(str(waiting.ref))
    events, cursor = mp.events(cursor)
    assert [(e.kind, e.key, e.ref, e.outcome) for e in events] == [
        (EventKind.PAID, "pay:1:10:11", waiting.ref, PayOutcome.PAID)
    ]
    assert len(transfers(sim)) == 1 and balance(sim, mp, ALICE) == 500
    assert mp.events(cursor)[0] == []
    # The next payment is an MIT the issuer refuses: a new CIT, its own page.
    again = pay(mp, "pay:2:10:11")
    assert again.outcome == PayOutcome.NEEDS_AUTH and again.url != waiting.url
    clock(sim).advance(PAGE_LIFETIME)  # nobody approves it
    events, _ = mp.events(cursor)
    assert [(e.kind, e.key) for e in events] == [(EventKind.AUTH_LAPSED, "pay:2:10:11")]
    lapsed = mp.lookup("pay:2:10:11", BOB)
    assert lapsed is not None and lapsed.outcome == PayOutcome.NEEDS_AUTH


def test_an_owner_paying_an_owner_approves_the_transfer_on_mangopays_sca_page(
    sim: MangopaySim, mp: MangopayProvider
) -> None:
    make_receiver(sim, mp, BOB)  # bob claimed money once: he is an OWNER now
    give_card(sim, mp, BOB)
    make_receiver(sim, mp, ALICE)
    _, cursor = mp.events(None)
    waiting = pay(mp)
    assert waiting.outcome == PayOutcome.NEEDS_AUTH and waiting.url and "/_sim/sca?token=" in waiting.url
    assert waiting.url.endswith("&returnUrl=https%3A%2F%2Fx.com%2Fmessages")  # Mangopay's page sends them back
    assert waiting.valid_for == SCA_SESSION_LIFETIME == timedelta(minutes=10)
    assert len(payins(sim)) == 1 and transfers(sim) == [] and pay(mp) == waiting
    assert sim.follow_sca_link(waiting.url)["controlStatus"] == "VALIDATED"
    events, cursor = mp.events(cursor)
    assert [(e.kind, e.ref, e.outcome) for e in events] == [(EventKind.PAID, waiting.ref, PayOutcome.PAID)]
    assert balance(sim, mp, ALICE) == 500
    lapsing = pay(mp, "pay:2:10:11")
    assert lapsing.outcome == PayOutcome.NEEDS_AUTH
    clock(sim).advance(SCA_SESSION_LIFETIME)
    events, _ = mp.events(cursor)
    assert [(e.kind, e.key) for e in events if e.kind == EventKind.AUTH_LAPSED] == [
        (EventKind.AUTH_LAPSED, "pay:2:10:11")
    ]
    # the charged money went back to the card: nothing stays in bob's wallet, alice got only the first
    assert balance(sim, mp, BOB) == 0 and balance(sim, mp, ALICE) == 500


# ---------------------------------------------------------------- held, claimed, refunded


def test_held_money_is_released_when_the_recipient_is_verified(sim: MangopaySim, mp: MangopayProvider) -> None:
    give_card(sim, mp, BOB)
    held = pay(mp)
    assert held.outcome == PayOutcome.HELD and balance(sim, mp, BOB) == 500 and transfers(sim) == []
    _, cursor = mp.events(None)
    enrolment = mp.onboard(ALICE)
    assert enrolment.enrol and enrolment.url and not mp.can_receive(ALICE)
    sim.follow_sca_link(enrolment.url)
    onboarding = mp.onboard(ALICE)
    assert not onboarding.ready and onboarding.url and not mp.can_receive(ALICE)
    [session] = sim.open_kyc()
    sim.pass_kyc(session["Id"])
    events, _ = mp.events(cursor)
    assert [(e.kind, e.user_id) for e in events] == [(EventKind.ENROLLED, ALICE), (EventKind.ACCOUNT_READY, ALICE)]
    ref = mp.release(key="release:1:10:11", payment_ref=str(held.ref), recipient_id=ALICE, amount=EUR5)
    assert mp.release(key="release:1:10:11", payment_ref=str(held.ref), recipient_id=ALICE, amount=EUR5) == ref
    assert (balance(sim, mp, BOB), balance(sim, mp, ALICE)) == (0, 500) and len(transfers(sim)) == 1
    with pytest.raises(ProviderError):  # someone who never claimed cannot receive
        mp.release(key="release:1:10:12", payment_ref=str(held.ref), recipient_id=CAROL, amount=EUR5)


def test_held_money_goes_back_to_the_card_and_the_refund_is_an_event(sim: MangopaySim, mp: MangopayProvider) -> None:
    give_card(sim, mp, BOB)
    held = pay(mp)
    _, cursor = mp.events(None)
    settled = mp.refund(key="return:1:10:11", payment_ref=str(held.ref), amount=EUR5)
    assert settled.ref and not settled.pending and balance(sim, mp, BOB) == 0
    assert mp.refund(key="return:1:10:11", payment_ref=str(held.ref), amount=EUR5) == settled
    events, _ = mp.events(cursor)
    assert events == [
        ProviderEvent(
            events[0].id,
            EventKind.REFUNDED,
            key="return:1:10:11",
            ref=held.ref,
            settle_ref=settled.ref,
            amount_minor=500,
        )
    ]


def test_an_operators_refund_of_delivered_money_takes_it_back_from_the_recipient_first(
    sim: MangopaySim, mp: MangopayProvider
) -> None:
    give_card(sim, mp, BOB)
    make_receiver(sim, mp, ALICE)
    paid = pay(mp)
    assert balance(sim, mp, ALICE) == 500
    mp.refund(key="refund:1:10:11", payment_ref=str(paid.ref), amount=Money(200, "EUR"))
    assert (balance(sim, mp, ALICE), balance(sim, mp, BOB)) == (300, 0)
    mp.refund(key="refund:1:10:11:2", payment_ref=str(paid.ref), amount=Money(300, "EUR"))
    assert (balance(sim, mp, ALICE), balance(sim, mp, BOB)) == (0, 0)
    with pytest.raises(ProviderError):  # nothing left to refund
        mp.refund(key="refund:1:10:11:3", payment_ref=str(paid.ref), amount=Money(1, "EUR"))
    [payment] = mp.payments_since(clock(sim).now() - timedelta(days=1))
    assert (payment.refunded, payment.refunded_minor, payment.delivered) == (True, 500, False)


@pytest.mark.parametrize("errors", [1, 5])
def test_a_take_back_answered_by_a_5xx_after_the_work_is_not_made_twice(
    sim: MangopaySim, mp: MangopayProvider, errors: int
) -> None:
    """Found by an attack: the transfer refund that takes money back from the recipient had no finder, so a
    5xx after the work (and each 5xx after) made another one under the next key."""
    give_card(sim, mp, BOB)
    make_receiver(sim, mp, ALICE)
    paid = pay(mp)
    sim.inject("POST /transfers/{id}/refunds", 500, times=errors, work=True)
    mp.refund(key="refund:1:10:11", payment_ref=str(paid.ref), amount=Money(200, "EUR"))
    assert (balance(sim, mp, ALICE), balance(sim, mp, BOB)) == (300, 0)  # 2.00 taken back once, and refunded


# ---------------------------------------------------------------- tokens, settings, doctor, logs


def test_an_expired_token_is_renewed_once(sim: MangopaySim, mp: MangopayProvider) -> None:
    give_card(sim, mp, BOB)
    sim.forget_tokens()
    assert pay(mp).outcome == PayOutcome.HELD


def settings(sim: MangopaySim, tmp: Path, **over: object) -> Settings:
    base: dict[str, object] = dict(
        paybot_provider="mangopay",
        mangopay_client_id=sim.client_id,
        mangopay_api_key=sim.api_key,
        mangopay_api_base=sim.base,
        mangopay_card_page_url=sim.base + "/_sim/card-page/{id}?user={user}&token={token}",
        paybot_link_secret=sim.link_secret,
        paybot_web_url="http://127.0.0.1:9",
        mangopay_db_path=str(tmp / "mp.db"),
        paybot_db_path=str(tmp / "p.db"),
    )
    return Settings(**(base | over))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("over", "why"),
    [
        ({"mangopay_client_id": None}, "MANGOPAY_CLIENT_ID is not set"),
        ({"mangopay_api_key": "changethis"}, "MANGOPAY_API_KEY still holds a placeholder"),
        ({"mangopay_api_base": MANGOPAY_PRODUCTION}, "production: it moves real money"),
        ({"paybot_live": True}, "MANGOPAY_API_BASE is set, and this bot is live"),
        ({"mangopay_api_base": "http://10.1.2.3:8080"}, "plain http"),
        ({"mangopay_card_page_url": None, "paybot_web_url": None}, "MANGOPAY_CARD_PAGE_URL"),
        ({"mangopay_card_page_url": "https://pay.example.com/card/{id}"}, "MANGOPAY_CARD_PAGE_URL must carry"),
        ({"paybot_link_secret": None}, "PAYBOT_LINK_SECRET is not set"),
    ],
)
def test_settings_refuse_what_would_go_wrong(
    sim: MangopaySim, tmp_path: Path, over: dict[str, object], why: str
) -> None:
    with pytest.raises(ConfigError, match=why):
        settings(sim, tmp_path, **over).require_mangopay()


def test_production_needs_paybot_live_and_the_emulator_is_named_as_an_override(
    sim: MangopaySim, tmp_path: Path
) -> None:
    live = settings(sim, tmp_path, mangopay_api_base=MANGOPAY_PRODUCTION, paybot_live=True)
    assert live.require_mangopay()[2] == MANGOPAY_PRODUCTION and live.overrides() == []
    s = settings(sim, tmp_path)
    assert s.overrides() == [f"MANGOPAY_API_BASE={sim.base}"] and sim.api_key in s.secrets()


def test_bootstrap_builds_it_and_doctor_checks_it(sim: MangopaySim, tmp_path: Path) -> None:
    from bot.bootstrap import make_provider
    from bot.doctor import FAIL, OK, _provider

    built = make_provider(settings(sim, tmp_path), clock(sim))
    assert isinstance(built, MangopayProvider) and built.name == "mangopay"
    assert not built.has_card(BOB)
    built.close()
    check = _provider(settings(sim, tmp_path))
    assert (check.status, check.detail) == (OK, f"mangopay (sandbox), client {sim.client_id}")
    assert _provider(settings(sim, tmp_path, mangopay_api_key="wrong-key-123")).status == FAIL


def test_no_secret_reaches_the_logs(sim: MangopaySim, mp: MangopayProvider, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    give_card(sim, mp, BOB)
    sim.inject(PAYINS, 500, times=8)  # errors are logged by the adapter (and by the SDK, silenced)
    with pytest.raises(ProviderTransient):
        pay(mp)
    token = mp.handler.auth_manager.get_token().removeprefix("Bearer ")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert sim.api_key not in text and token not in text
