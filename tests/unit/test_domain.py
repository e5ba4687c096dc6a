"""The state machine and the money policy."""

from __future__ import annotations

import itertools

import pytest

from bot.domain import ALLOWED, CODE_ALPHABET, Policy, Status, random_code, transition
from bot.errors import CommandError, IllegalTransition
from bot.money import Money

LEGAL = {
    ("pending", "executing"),
    ("pending", "cancelled"),
    ("pending", "expired"),
    ("executing", "completed"),
    ("executing", "held"),
    ("executing", "failed"),
    ("held", "completed"),
    ("held", "returned"),
    ("completed", "returned"),
    # the bank wants the sender to approve: recoverable until the approval page lapses
    ("executing", "needs_auth"),
    ("needs_auth", "completed"),
    ("needs_auth", "held"),
    ("needs_auth", "failed"),
}


@pytest.mark.parametrize(("old", "new"), list(itertools.product(Status, Status)))
def test_every_transition_is_allowed_or_refused_as_drawn(old: Status, new: Status) -> None:
    """Exactly the arrows of docs/DESIGN.md's diagram are allowed; every other change is refused."""
    if (old.value, new.value) in LEGAL:
        assert transition(old, new) == new
    else:
        with pytest.raises(IllegalTransition):
            transition(old, new)


def test_the_table_matches_the_diagram() -> None:
    assert {(a.value, b.value) for a, bs in ALLOWED.items() for b in bs} == LEGAL


def test_limits() -> None:
    """Minimum 0.50, maximum per transfer, and the daily maximum including today's spending."""
    p = Policy()
    usd = lambda minor: Money(minor, "USD")  # noqa: E731
    p.check(usd(50), 1, usd(0))
    with pytest.raises(CommandError, match="smallest"):
        p.check(usd(49), 1, usd(0))
    with pytest.raises(CommandError, match="largest"):
        p.check(usd(250_01), 1, usd(0))
    p.check(usd(250_00), 2, usd(0))
    with pytest.raises(CommandError, match=r"limit of \$500.00 in 24 hours; you can send \$100.00 more"):
        p.check(usd(200_00), 2, usd(400_00))


def test_the_providers_smallest_charge_raises_the_minimum_per_currency() -> None:
    p = Policy(min_minor=10, currency_min={"USD": 50, "GBP": 30})
    p.check_amount(Money(50, "USD"))
    p.check_amount(Money(30, "GBP"))
    p.check_amount(Money(10, "EUR"))  # no provider minimum known: the setting's
    with pytest.raises(CommandError, match=r"smallest payment I can send is \$0.50"):
        p.check_amount(Money(49, "USD"))
    with pytest.raises(CommandError, match=r"£0\.30"):
        p.check_amount(Money(29, "GBP"))
    assert Policy(min_minor=100, currency_min={"USD": 50}).min_for("USD") == 100


def test_codes_are_four_unambiguous_characters() -> None:
    codes = {random_code() for _ in range(200)}
    assert all(len(c) == 4 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert len(codes) > 150


def test_every_money_step_has_its_own_key_built_in_one_place() -> None:
    """Each step of one transfer gets a distinct key, and the key says which step it was."""
    from bot.domain import Step, money_key, step_of

    keys = {step: money_key(step, "100", "10", "11") for step in Step}
    assert len(set(keys.values())) == len(Step)
    assert all(step_of(key) is step for step, key in keys.items())
    assert step_of(None) is None and money_key(Step.PAY, "100", "10", "11") == "pay:100:10:11"


def test_several_steps_of_one_kind_get_numbered_keys_the_first_unchanged() -> None:
    """Partial refunds (or a release tried again) each get a key of their own; the first keeps the key a store
    made before there could be several, so a step interrupted across the upgrade is finished with it."""
    import pytest

    from bot.domain import Step, money_key, release_retry_after, step_of

    keys = [money_key(Step.REFUND, "100", "10", "11", seq) for seq in (1, 2, 3)]
    assert keys == ["refund:100:10:11", "refund:100:10:11:2", "refund:100:10:11:3"]
    assert all(step_of(k) is Step.REFUND for k in keys) and step_of("reverse:1:2:3") is Step.REVERSE
    with pytest.raises(ValueError, match="counts from 1"):
        money_key(Step.REFUND, "100", "10", "11", 0)
    assert [release_retry_after(n).total_seconds() / 60 for n in (1, 2, 3, 4, 5, 9)] == [5, 15, 60, 180, 360, 360]
