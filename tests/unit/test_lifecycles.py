"""The lifecycles (bot.domain): each one's table of moves as drawn, the one function that refuses any other move,
and random sequences of moves that never leave the table."""

from __future__ import annotations

import itertools
from enum import StrEnum
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import (
    CARD,
    IDENTITY,
    OUTBOX,
    PAYOUT,
    SETTLEMENT,
    TRANSFER,
    Lifecycle,
    PagePurpose,
    PayoutStatus,
    Send,
    Settle,
    Status,
    card_step,
    identity_step,
)
from bot.errors import IllegalTransition
from bot.ports import FakeClock
from bot.ports.records import MangopayUser, StripeUser
from bot.providers.mangopay_provider import MangopayProvider
from bot.providers.stripe_provider import StripeProvider
from bot.repo.engine import UnitOfWork, make_engine
from bot.repo.provider_records import SqlMangopayRecords, SqlStripeRecords
from bot.web.page_links import PURPOSES

# Each lifecycle's moves, written out as the docstrings of bot/domain draw them.
DRAWN: dict[str, set[tuple[str, str]]] = {
    "transfer": {
        ("pending", "executing"),
        ("pending", "cancelled"),
        ("pending", "expired"),
        ("executing", "completed"),
        ("executing", "held"),
        ("executing", "failed"),
        ("executing", "needs_auth"),
        ("needs_auth", "completed"),
        ("needs_auth", "held"),
        ("needs_auth", "failed"),
        ("held", "completed"),
        ("held", "returned"),
        ("completed", "returned"),
    },
    "settlement": {("pending", "succeeded"), ("pending", "failed"), ("succeeded", "failed")},
    "payout": {
        ("created", "succeeded"),
        ("created", "failed"),
        ("created", "not_made"),
        ("created", "confirm_account"),
        ("confirm_account", "created"),
        ("confirm_account", "not_made"),
        ("succeeded", "failed"),
    },
    "outbox message": {
        ("queued", "sending"),
        ("queued", "sent"),
        ("queued", "failed"),
        ("queued", "dropped"),
        ("sending", "queued"),
        ("sending", "sent"),
        ("sending", "failed"),
        ("sending", "dropped"),
    },
    "card registration": {("none", "open"), ("none", "saved"), ("open", "none"), ("open", "saved")},
    "identity registration": {
        ("payer", "owner"),
        ("payer", "verified"),
        ("owner", "verifying"),
        ("owner", "verified"),
        ("verifying", "verified"),
        ("verified", "owner"),
        ("verified", "verifying"),
    },
}
STARTS = {
    "transfer": {"pending"},
    "settlement": {"pending", "succeeded"},
    "payout": {"created"},
    "outbox message": {"queued"},
    "card registration": {"none"},
    "identity registration": {"payer"},
}
LIFECYCLES: list[Lifecycle[Any]] = [TRANSFER, SETTLEMENT, PAYOUT, OUTBOX, CARD, IDENTITY]


def _states(lc: Lifecycle[Any]) -> list[StrEnum]:
    """A lifecycle's states (its enum's members), in their order."""
    return list(cast(Any, lc.states))


def _pairs() -> list[tuple[Lifecycle[Any], StrEnum, StrEnum]]:
    return [(lc, a, b) for lc in LIFECYCLES for a, b in itertools.product(_states(lc), _states(lc))]


@pytest.mark.parametrize(("lifecycle", "old", "new"), _pairs(), ids=lambda v: getattr(v, "name", str(v)))
def test_every_move_is_allowed_or_refused_as_drawn(lifecycle: Lifecycle[Any], old: StrEnum, new: StrEnum) -> None:
    """Exactly the drawn arrows are allowed; any other move, staying put included, is refused with the lifecycle,
    the state it was in and the one asked for."""
    if (old.value, new.value) in DRAWN[lifecycle.name]:
        assert lifecycle.move(old, new) == new
        assert lifecycle.allows(old, new)
    else:
        with pytest.raises(IllegalTransition) as refused:
            lifecycle.move(old, new)
        assert (refused.value.lifecycle, refused.value.current, refused.value.new) == (lifecycle.name, old, new)
        assert not lifecycle.allows(old, new)


@pytest.mark.parametrize("lifecycle", LIFECYCLES, ids=lambda lc: lc.name)
def test_each_lifecycle_begins_only_where_drawn(lifecycle: Lifecycle[Any]) -> None:
    """A new row begins in one of its lifecycle's first states; any other is refused."""
    for state in lifecycle.states:
        if state.value in STARTS[lifecycle.name]:
            assert lifecycle.begin(state) == state
        else:
            with pytest.raises(IllegalTransition, match=f"cannot begin {state}"):
                lifecycle.begin(state)


def test_the_states_keep_the_words_stored_before_them() -> None:
    """The enums' values are the strings rows already hold, so a stored row reads as the same state."""
    assert [s.value for s in Settle] == ["pending", "succeeded", "failed"]
    assert [s.value for s in PayoutStatus] == ["created", "succeeded", "failed", "not_made", "confirm_account"]
    assert [s.value for s in Send] == ["queued", "sending", "sent", "failed", "dropped"]
    assert Status("needs_auth") is Status.NEEDS_AUTH


def test_a_stored_word_that_is_no_state_is_refused_by_name() -> None:
    """A status the table does not know (a row written by hand) is refused, not taken for the first state."""
    with pytest.raises(IllegalTransition, match="'paid' is no state of a payout") as refused:
        PAYOUT.move("paid", PayoutStatus.FAILED)
    assert refused.value.current == "paid"
    assert not PAYOUT.allows("paid", PayoutStatus.FAILED)


def test_the_final_states_are_those_nothing_leaves() -> None:
    assert TRANSFER.final == {Status.FAILED, Status.CANCELLED, Status.EXPIRED, Status.RETURNED}
    assert SETTLEMENT.final == {Settle.FAILED}
    assert PAYOUT.final == {PayoutStatus.FAILED, PayoutStatus.NOT_MADE}
    assert OUTBOX.final == {Send.SENT, Send.FAILED, Send.DROPPED}
    assert {s.value for s in CARD.final} == {"saved"}
    assert not IDENTITY.final  # verification can be lost, and begun again


def test_a_table_that_moves_a_state_to_itself_is_refused_when_made() -> None:
    """A lifecycle is checked when it is written: a move to itself, or no first state, is a mistake in the table."""
    with pytest.raises(ValueError, match="moving to itself"):
        Lifecycle("broken", Send, starts=frozenset({Send.QUEUED}), moves={Send.QUEUED: frozenset({Send.QUEUED})})
    with pytest.raises(ValueError, match="nothing could begin"):
        Lifecycle("broken", Send, starts=frozenset(), moves={})


def test_every_page_link_purpose_is_one_the_store_accepts() -> None:
    """The pages' purposes (bot.web.page_links) are exactly the enum the store's CHECK lists."""
    assert set(PURPOSES) == set(PagePurpose)


def test_a_registrations_step_is_read_from_the_adapters_row() -> None:
    """The registrations store no status: a saved card wins over an open registration; verified wins over all,
    and someone not an Owner is a payer whatever verification was opened."""
    assert [card_step(None, None), card_step(None, "cr_1"), card_step("c_1", "cr_1")] == ["none", "open", "saved"]
    assert identity_step(owner=False, verification_id="kyc_1", verified=False) == "payer"
    assert identity_step(owner=True, verification_id=None, verified=False) == "owner"
    assert identity_step(owner=True, verification_id="kyc_1", verified=False) == "verifying"
    assert identity_step(owner=False, verification_id=None, verified=True) == "verified"


def test_the_mangopay_adapter_saves_a_registration_only_along_its_table(tmp_path: Any) -> None:
    """Every change of the Mangopay adapter's row is checked: a verification opened and then lost its record, or a
    saved card forgotten, is refused and nothing is saved; the moves of the tables go through."""
    uow = UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'mangopay.db'}"))
    clock = FakeClock()
    mp = MangopayProvider(object(), SqlMangopayRecords(uow, clock), clock, card_page_url="https://pages.test/card")
    mp._save("10", card_registration_id="cr_1", owner=True)
    mp._save("10", kyc_session_id="kyc_1")
    with pytest.raises(IllegalTransition, match="a verifying identity registration cannot become owner"):
        mp._save("10", kyc_session_id=None)
    mp._save("10", card_id="c_1", card_registration_id=None)
    with pytest.raises(IllegalTransition, match="a saved card registration cannot become none"):
        mp._save("10", card_id=None)
    mp._save("10", kyc_regular=True)
    with uow() as s:
        row = s.get(MangopayUser, "10")
    assert row is not None
    assert (row.card_id, row.kyc_session_id, row.kyc_regular) == ("c_1", "kyc_1", True)


def test_the_stripe_adapter_saves_a_registration_only_along_its_table(tmp_path: Any) -> None:
    """On Stripe a Connect account is the identity registration: ready, it may lose its capability and be ready
    again; a saved card may be replaced, never forgotten; an account never vanishes."""
    uow = UnitOfWork(make_engine(f"sqlite:///{tmp_path / 'stripe.db'}"))
    clock = FakeClock()
    sp = StripeProvider(object(), SqlStripeRecords(uow, clock), clock)  # type: ignore[arg-type]
    sp._save("10", payment_method_id="pm_1", account_id="acct_1")
    sp._save("10", account_ready=True)
    sp._save("10", account_ready=False)
    sp._save("10", account_ready=True, payment_method_id="pm_2")
    with pytest.raises(IllegalTransition, match="a saved card registration cannot become none"):
        sp._save("10", payment_method_id=None)
    with pytest.raises(IllegalTransition, match="a verified identity registration cannot become payer"):
        sp._save("10", account_id=None, account_ready=False)
    with uow() as s:
        row = s.get(StripeUser, "10")
    assert row is not None
    assert (row.payment_method_id, row.account_id, row.account_ready) == ("pm_2", "acct_1", True)


@given(lifecycle=st.sampled_from(LIFECYCLES), data=st.data())
def test_random_moves_never_leave_the_table(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """From any first state, any sequence of asked moves: each one either follows an arrow of the drawn table or
    is refused and changes nothing, so no state outside the enum and no move outside the table is ever reached."""
    state = data.draw(st.sampled_from(sorted(lifecycle.starts)))
    asked = data.draw(st.lists(st.sampled_from(_states(lifecycle)), max_size=30))
    reached: list[tuple[str, str]] = []
    for new in asked:
        try:
            moved = lifecycle.move(state, new)
        except IllegalTransition:
            assert (state.value, new.value) not in DRAWN[lifecycle.name]
            continue
        reached.append((state.value, moved.value))
        state = moved
    assert set(reached) <= DRAWN[lifecycle.name]
    assert state in set(_states(lifecycle))
    if state in lifecycle.final:
        assert not any(lifecycle.allows(state, s) for s in lifecycle.states)
