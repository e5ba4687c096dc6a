"""Money in integer minor units, and the rules for reading and writing amounts.

An amount is never a float: text is read with integer arithmetic only, and
`Money.minor` is the number of cents (or the currency's smallest unit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.errors import CommandError


@dataclass(frozen=True)
class Currency:
    code: str
    digits: int
    symbol: str
    words: tuple[str, ...] = ()


CURRENCIES: dict[str, Currency] = {
    c.code: c
    for c in (
        Currency("USD", 2, "$", ("dollar", "dollars")),
        Currency("EUR", 2, "€", ("euro", "euros")),
        Currency("GBP", 2, "£", ("pound", "pounds")),
        Currency("CAD", 2, "CA$"),
        Currency("AUD", 2, "A$"),
        Currency("CHF", 2, "CHF "),
        Currency("JPY", 0, "¥"),
    )
}
SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
WORDS = {w: c.code for c in CURRENCIES.values() for w in c.words}

MAX_INTEGER_DIGITS = 7


def currency(code: str) -> Currency:
    """The currency for an ISO code (any case); CommandError if paybot does not know it."""
    try:
        return CURRENCIES[code.upper()]
    except KeyError:
        raise CommandError(f"I don't know the currency {code.upper()}.") from None


@dataclass(frozen=True, order=True)
class Money:
    """An amount of one currency, in integer minor units."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("Money.minor must be an int")

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.minor + other.minor, self.currency)

    def __mul__(self, n: int) -> Money:
        return Money(self.minor * n, self.currency)

    def decimal(self) -> str:
        """The amount as a decimal string with the currency's minor digits: "5.00"."""
        digits = currency(self.currency).digits
        sign = "-" if self.minor < 0 else ""
        whole, frac = divmod(abs(self.minor), 10**digits)
        return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"

    def format(self) -> str:
        """The amount for people: "$5.00", "€12.50", "£1,000.00"."""
        cur = currency(self.currency)
        whole, _, frac = self.decimal().lstrip("-").partition(".")
        text = f"{int(whole):,}" + (f".{frac}" if frac else "")
        sign = "-" if self.minor < 0 else ""
        return f"{sign}{cur.symbol}{text}"

    def __str__(self) -> str:
        return self.format()


_PLAIN = re.compile(r"\d+")
_DECIMAL = re.compile(r"(\d+)[.,](\d{1,2})")
_GROUPED_COMMA = re.compile(r"(\d{1,3}(?:,\d{3})+)(?:\.(\d{1,2}))?")
_GROUPED_DOT = re.compile(r"(\d{1,3}(?:\.\d{3})+)(?:,(\d{1,2}))?")


def parse_minor(text: str, code: str) -> int:
    """Read an amount written by a person ("5", "5.50", "5,5", "1,000.50") as minor units.

    Raises CommandError with a sentence for the user when the text is not a
    positive amount this bot accepts.
    """
    cur = currency(code)
    t = text.strip()
    if not t:
        raise CommandError("Tell me an amount, like 5 or 5.50.")
    if t.startswith("-"):
        raise CommandError("The amount must be positive.")
    if any(ch.isdigit() and not ("0" <= ch <= "9") for ch in t):
        raise CommandError("Write the amount with the digits 0-9.")
    low = t.lower()
    if low in {"nan", "inf", "infinity"} or low.startswith("0x") or "e" in low or "_" in t:
        raise CommandError(f"'{t}' is not an amount I can read; write it like 5 or 5.50.")
    whole: str
    frac: str | None
    if _PLAIN.fullmatch(t):
        whole, frac = t, None
    elif m := _DECIMAL.fullmatch(t):
        whole, frac = m.group(1), m.group(2)
    elif (m := _GROUPED_COMMA.fullmatch(t)) or (m := _GROUPED_DOT.fullmatch(t)):
        whole, frac = re.sub(r"[.,]", "", m.group(1)), m.group(2)
        if frac is None and t.count(",") + t.count(".") == 1:
            raise CommandError(
                f"'{t}' is ambiguous: write {whole} or {whole[:-3]}.{whole[-3:-1]} instead."
            )
    elif re.fullmatch(r"\d+[.,]\d{3,}", t):
        raise CommandError("Amounts can have at most two decimals, like 5.50.")
    else:
        raise CommandError(f"'{t}' is not an amount I can read; write it like 5 or 5.50.")
    whole = whole.lstrip("0") or "0"
    if len(whole) > MAX_INTEGER_DIGITS:
        raise CommandError("That amount is too large.")
    if frac is not None and cur.digits == 0:
        raise CommandError(f"{cur.code} amounts have no decimals.")
    frac_digits = (frac or "").ljust(cur.digits, "0")
    minor = int(whole) * 10**cur.digits + (int(frac_digits) if frac_digits else 0)
    if minor == 0:
        raise CommandError("The amount must be more than zero.")
    return minor


def parse_money(text: str, code: str) -> Money:
    """`parse_minor` wrapped in Money."""
    return Money(parse_minor(text, code), currency(code).code)
