"""The lifecycles (bot.domain): each one's table of moves as drawn, the one function that refuses any other move,
and random sequences of moves that never leave the table."""

from __future__ import annotations

import itertools
from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain import (
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
)
from bot.errors import IllegalTransition
from bot.web.page_links import PURPOSES

# Each lifecycle's moves, written out as the docstrings of bot/domain draw them.
DRAWN: dict[str, set[tuple[str, str]]] = {
    "transfer": {
        ("pending", "executing"), ("pending", "cancelled"), ("pending", "expired"),
        ("executing", "completed"), ("executing", "held"), ("executing", "failed"), ("executing", "needs_auth"),
        ("needs_auth", "completed"), ("needs_auth", "held"), ("needs_auth", "failed"),
        ("held", "completed"), ("held", "returned"), ("completed", "returned"),
    },
    "settlement": {("pending", "succeeded"), ("pending", "failed"), ("succeeded", "failed")},
    "payout": {
        ("created", "succeeded"), ("created", "failed"), ("created", "not_made"), ("created", "confirm_account"),
        ("confirm_account", "created"), ("confirm_account", "not_made"), ("succeeded", "failed"),
    },
    "outbox message": {
        ("queued", "sending"), ("queued", "sent"), ("queued", "failed"), ("queued", "dropped"),
        ("sending", "queued"), ("sending", "sent"), ("sending", "failed"), ("sending", "dropped"),
    },
}
STARTS = {"transfer": {"pending"}, "settlement": {"pending", "succeeded"}, "payout": {"created"},
          "outbox message": {"queued"}}
LIFECYCLES: list[Lifecycle[Any]] = [TRANSFER, SETTLEMENT, PAYOUT, OUTBOX]


def _pairs() -> list[tuple[Lifecycle[Any], StrEnum, StrEnum]]:
    return [(lc, a, b) for lc in LIFECYCLES for a, b in itertools.product(lc.states, lc.states)]


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


def test_a_table_that_moves_a_state_to_itself_is_refused_when_made() -> None:
    """A lifecycle is checked when it is written: a move to itself, or no first state, is a mistake in the table."""
    with pytest.raises(ValueError, match="moving to itself"):
        Lifecycle("broken", Send, starts=frozenset({Send.QUEUED}), moves={Send.QUEUED: frozenset({Send.QUEUED})})
    with pytest.raises(ValueError, match="nothing could begin"):
        Lifecycle("broken", Send, starts=frozenset(), moves={})


def test_every_page_link_purpose_is_one_the_store_accepts() -> None:
    """The pages' purposes (bot.web.page_links) are exactly the enum the store's CHECK lists."""
    assert set(PURPOSES) == set(PagePurpose)


@given(lifecycle=st.sampled_from(LIFECYCLES), data=st.data())
def test_random_moves_never_leave_the_table(lifecycle: Lifecycle[Any], data: st.DataObject) -> None:
    """From any first state, any sequence of asked moves: each one either follows an arrow of the drawn table or
    is refused and changes nothing, so no state outside the enum and no move outside the table is ever reached."""
    state = data.draw(st.sampled_from(sorted(lifecycle.starts)))
    asked = data.draw(st.lists(st.sampled_from(list(lifecycle.states)), max_size=30))
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
    assert state in set(lifecycle.states)
    if state in lifecycle.final:
        assert not any(lifecycle.allows(state, s) for s in lifecycle.states)
