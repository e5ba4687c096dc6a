"""Money: integer minor units, read and written by the rules in bot/money.py."""

from __future__ import annotations

import pytest

from bot.errors import CommandError
from bot.money import Money, parse_minor


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [
        ("5", "USD", 500),
        ("5.5", "USD", 550),
        ("5.50", "USD", 550),
        ("5,50", "EUR", 550),
        ("0.50", "USD", 50),
        ("1,000.50", "USD", 100050),
        ("1.000,50", "EUR", 100050),
        ("12,345,678", "USD", None),  # eight integer digits: refused below
        ("1234567", "USD", 123456700),
        ("007", "USD", 700),
        ("500", "JPY", 500),
    ],
)
def test_amounts_read_as_integer_minor_units(text: str, code: str, minor: int | None) -> None:
    """Accepted amounts become exact integers of the currency's minor unit."""
    if minor is None:
        with pytest.raises(CommandError):
            parse_minor(text, code)
        return
    got = parse_minor(text, code)
    assert got == minor and isinstance(got, int)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("0", "more than zero"),
        ("0.00", "more than zero"),
        ("-5", "positive"),
        ("5.5555", "two decimals"),
        ("5.555", "ambiguous"),
        ("1,000", "ambiguous"),
        ("1.000", "ambiguous"),
        ("1e3", "exponent"),
        ("nan", "not a number"),
        ("0x10", "hexadecimal"),
        ("1_000", "underscores"),
        ("٥", "digits 0-9"),
        ("５", "digits 0-9"),
        ("12345678", "too large"),
        ("", "amount"),
    ],
)
def test_bad_amounts_are_refused_with_their_own_message(text: str, needle: str) -> None:
    """Each kind of bad amount gets a sentence that says what is wrong."""
    with pytest.raises(CommandError) as info:
        parse_minor(text, "USD")
    assert needle in info.value.message


def test_yen_has_no_decimals() -> None:
    """A currency without minor digits refuses decimals."""
    with pytest.raises(CommandError, match="no decimals"):
        parse_minor("5.50", "JPY")


def test_formatting() -> None:
    """Money prints with the currency's symbol, grouping and minor digits."""
    assert Money(500, "USD").format() == "$5.00"
    assert Money(123456, "EUR").format() == "€1,234.56"
    assert Money(5, "GBP").decimal() == "0.05"
    assert Money(500, "JPY").decimal() == "500"
    assert str(Money(1999, "GBP")) == "£19.99"


def test_money_refuses_floats_and_mixed_currencies() -> None:
    """A float can never become money, and dollars never add to euros."""
    with pytest.raises(TypeError):
        Money(5.0, "USD")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="cannot add EUR to USD"):
        Money(1, "USD") + Money(1, "EUR")
    assert Money(250, "USD") * 3 == Money(750, "USD")
