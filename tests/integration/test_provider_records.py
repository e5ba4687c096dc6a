"""The providers' records (bot.repo.provider_records) as their adapters use them, on a SQLite file and on
PostgreSQL: the tables made when missing, each read and write one short transaction, a registration moving only
along its lifecycle, and the identity page's record read on a reader engine."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bot.domain.entities import IdentityRecord
from bot.errors import IllegalTransition
from bot.money import Money
from bot.ports import FakeClock, PayOutcome
from bot.providers.mangopay.users import MangopayUsers
from bot.repo.engine import make_engine, make_reader
from bot.repo.errors import UnknownWord
from bot.repo.provider_records import SqlMangopayRecords, SqlStripeRecords, read_identity
from bot.repo.sql import SqlStore
from tests.support.pg import new_database


def test_the_stripe_records(database_url: str) -> None:
    clock = FakeClock()
    records = SqlStripeRecords.open(database_url, clock)
    try:
        fresh = records.row("10")
        assert (fresh.user_id, fresh.customer_id, fresh.account_id, fresh.account_ready) == ("10", None, None, False)
        assert records.user_of_customer("cus_1") is None and records.user_of_account("acct_1") is None
        started = clock.now()
        records.save("10", customer_id="cus_1", payment_method_id="pm_1", account_id="acct_1")
        records.save("11", account_id="acct_2")
        assert records.user_of_customer("cus_1") == "10"
        assert records.user_of_account("acct_2") == "11" and records.user_of_account("acct_9") is None
        assert sorted(r.user_id for r in records.awaiting(started)) == ["10", "11"]
        assert records.awaiting(started + timedelta(seconds=1)) == []
        assert records.mark_ready("acct_1") == "10" and records.mark_ready("acct_9") is None
        assert [r.user_id for r in records.awaiting(started)] == ["11"]
        with pytest.raises(IllegalTransition):
            records.save("10", payment_method_id=None)  # a saved card is never forgotten
        assert records.row("10").payment_method_id == "pm_1", "a refused change saves nothing"
        with pytest.raises(ValueError, match="StripeUser has no field 'custmer_id'"):
            records.save("12", custmer_id="cus_9")  # a misspelt field: refused, no row made
        assert records.user_of_customer("cus_9") is None

        assert records.payment("k1") is None
        records.record("k1", "cus_1", Money(500, "USD"), payment_intent="pi_1", session="cs_1")
        records.record("k1", "cus_1", Money(500, "USD"), payment_intent="pi_1", outcome=PayOutcome.PAID)
        records.record("k1", "cus_1", Money(500, "USD"), payment_intent="pi_2")  # known outcome: the intent stays
        paid = records.payment("k1")
        assert paid is not None
        assert (paid.customer_id, paid.amount_minor, paid.currency) == ("cus_1", 500, "usd")
        assert (paid.payment_intent_id, paid.session_id, paid.outcome) == ("pi_1", "cs_1", "paid")
    finally:
        records.close()


def test_a_stripe_payments_outcome_is_read_back_as_its_word(database_url: str) -> None:
    """`stripepayment.outcome` holds a `PayOutcome`'s word and is read back as the member; a word that is none (a
    row edited by hand) is `UnknownWord`, naming the column, never a plain string."""
    records = SqlStripeRecords.open(database_url, FakeClock())
    try:
        records.record("k1", "cus_1", Money(500, "USD"), outcome=PayOutcome.HELD)
        held = records.payment("k1")
        assert held is not None and type(held.outcome) is PayOutcome and held.outcome is PayOutcome.HELD
        with records.uow() as s:
            s.execute(text("UPDATE stripepayment SET outcome = 'kept' WHERE key = 'k1'"))
            s.commit()
        with pytest.raises(UnknownWord, match=r"stripepayment\.outcome holds 'kept'"):
            records.payment("k1")
    finally:
        records.close()


def test_the_mangopay_records(database_url: str) -> None:
    clock = FakeClock()
    records = SqlMangopayRecords.open(database_url, clock)
    try:
        assert records.row("10").mangopay_user_id is None and records.by_mangopay_id("m1") is None
        saved = records.save("10", mangopay_user_id="m1", wallets='{"EUR": "w1"}', card_registration_id="cr_1")
        assert saved.wallets == '{"EUR": "w1"}'
        records.save("09", mangopay_user_id="m0", card_registration_id="cr_0")
        records.save("11", owner=True)
        found = records.by_mangopay_id("m1")
        assert found is not None and found.user_id == "10"
        assert [r.user_id for r in records.with_wallets()] == ["10"]
        assert sorted(records.authors()) == ["m0", "m1"]
        assert records.open_registrations() == [("09", "cr_0"), ("10", "cr_1")]
        records.save("10", card_id="c_1", card_registration_id=None)
        assert records.open_registrations() == [("09", "cr_0")]
        with pytest.raises(IllegalTransition):
            records.save("10", card_id=None)
        assert records.row("10").card_id == "c_1"
        with pytest.raises(ValueError, match="MangopayUser has no field 'card'"):
            records.save("10", card="c_2")
        assert records.row("10").card_id == "c_1"
    finally:
        records.close()


def test_an_identity_is_read_on_a_reader(database_url: str) -> None:
    engine = make_engine(database_url)
    reader = make_reader(database_url)
    try:
        assert read_identity(reader, "10") is None
        now = FakeClock().now()
        store = SqlStore(engine)
        with store() as tx:
            tx.identities.add(
                IdentityRecord(
                    user_id="10",
                    first_name="Alice",
                    last_name="Martin",
                    email="alice@example.com",
                    terms_url="https://mangopay.com/terms",
                    terms_accepted_at=now,
                    updated_at=now,
                )
            )
            tx.commit()
        found = read_identity(reader, "10")
        assert found is not None and (found.first_name, found.terms_accepted_at) == ("Alice", now)
    finally:
        reader.dispose()
        engine.dispose()


class MeetingClock:
    """A clock whose first two readings wait for each other: by then both saves have read that there is no row."""

    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=5)
        self.calls = 0

    def now(self) -> datetime:
        self.calls += 1
        if self.calls <= 2:
            with contextlib.suppress(threading.BrokenBarrierError):
                self.barrier.wait()
        return datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def race(*saves: Callable[[], object]) -> list[BaseException]:
    errors: list[BaseException] = []

    def run(save: Callable[[], object]) -> None:
        try:
            save()
        except Exception as err:
            errors.append(err)

    threads = [threading.Thread(target=run, args=(save,)) for save in saves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


@pytest.mark.parametrize("kind", ["stripe", "mangopay"])
def test_two_first_saves_of_one_person_at_once_both_land(postgres_admin: str, kind: str) -> None:
    """On PostgreSQL two processes may save a person's first row at once (the worker the Customer, the web the
    Connect account): both read no row and insert; the second meets the first's key and saves again on its row."""
    url = new_database(postgres_admin)
    if kind == "stripe":
        stripe = SqlStripeRecords.open(url, MeetingClock())
        try:
            assert (
                race(lambda: stripe.save("10", customer_id="cus_1"), lambda: stripe.save("10", account_id="acct_1"))
                == []
            )
            row = stripe.row("10")
            assert (row.customer_id, row.account_id) == ("cus_1", "acct_1")
        finally:
            stripe.close()
    else:
        mangopay = SqlMangopayRecords.open(url, MeetingClock())
        try:
            errors = race(
                lambda: mangopay.save("10", mangopay_user_id="u_1"), lambda: mangopay.save("10", kyc_session_id="k_1")
            )
            assert errors == []
            got = mangopay.row("10")
            assert (got.mangopay_user_id, got.kyc_session_id) == ("u_1", "k_1")
        finally:
            mangopay.close()


class WalletDesk:
    """Mangopay's `/wallets` as one adapter's transport sees it: each wallet made waits until the other adapter has
    made its own (both have read the person's row by then), and is named after its currency."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier

    def post(self, name: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        assert path == "/wallets"
        with contextlib.suppress(threading.BrokenBarrierError):
            self.barrier.wait()
        return {"Id": f"w_{body['Currency'].lower()}"}


def test_two_first_wallets_of_one_person_at_once_both_land(database_url: str) -> None:
    """Two processes (the worker paying in USD, the card page opening the EUR wallet) each make a wallet for one person
    at once: both read the person's wallets before either writes; both wallets are kept, neither overwrites the
    other's."""
    url = database_url
    first = SqlMangopayRecords.open(url, FakeClock())
    second = SqlMangopayRecords.open(url, FakeClock())
    try:
        first.save("10", mangopay_user_id="u_1")  # the Natural User is made: only the wallets are left to make
        barrier = threading.Barrier(2, timeout=5)
        worker, page = (
            MangopayUsers(WalletDesk(barrier), records, None)  # type: ignore[arg-type]
            for records in (first, second)
        )
        assert race(lambda: worker.wallet("10", "USD"), lambda: page.wallet("10", "EUR")) == []
        assert json.loads(first.row("10").wallets) == {"EUR": "w_eur", "USD": "w_usd"}
        assert worker.wallet("10", "EUR") == "w_eur" and page.wallet("10", "USD") == "w_usd"
    finally:
        first.close()
        second.close()
