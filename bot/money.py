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
        Currency("GBP", 2, "£", ("pound", "pounds", "livre", "livres")),
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
        raise CommandError("currency.unknown", code=code.upper()) from None


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

    def localized(self, lang: str = "en") -> str:
        """The amount as a sentence in `lang` shows it (what messages.text writes)."""
        return self.format(lang)

    def format(self, lang: str = "en") -> str:
        """The amount for people: "$5.00", "€1,234.50"; in French "5,00 $", "1 234,50 €"."""
        cur = currency(self.currency)
        whole, _, frac = self.decimal().lstrip("-").partition(".")
        sign = "-" if self.minor < 0 else ""
        if lang == "fr":
            text = f"{int(whole):,}".replace(",", "\u202f") + (f",{frac}" if frac else "")
            return f"{sign}{text} {cur.symbol.strip()}"
        text = f"{int(whole):,}" + (f".{frac}" if frac else "")
        return f"{sign}{cur.symbol}{text}"

    def __str__(self) -> str:
        return self.format()


_PLAIN = re.compile(r"\d+")
_DECIMAL = re.compile(r"(\d+)[.,](\d{1,2})")
_GROUPED_COMMA = re.compile(r"(\d{1,3}(?:,\d{3})+)(?:\.(\d{1,2}))?")
_GROUPED_DOT = re.compile(r"(\d{1,3}(?:\.\d{3})+)(?:,(\d{1,2}))?")
_NON_ASCII_DIGIT = re.compile(r"[^\x00-\x7f]")


def _refuse(t: str) -> None:
    """Raise the most specific refusal for a text that is not a plain amount."""
    low = t.lower()
    if t[0] in "-−":
        raise CommandError("amount.negative")
    if t[0] == "+":
        raise CommandError("amount.sign")
    if any(ch.isdigit() and ch not in "0123456789" for ch in t) or _NON_ASCII_DIGIT.search(t):
        raise CommandError("amount.digits")
    if low.lstrip("+-").rstrip(".,") in {"nan", "inf", "infinity"}:
        raise CommandError("amount.nan")
    if re.fullmatch(r"0x[0-9a-f]+", low):
        raise CommandError("amount.hex")
    if re.fullmatch(r"[0-9.,]+e[+-]?[0-9]+", low):
        raise CommandError("amount.exponent")
    if "_" in t:
        raise CommandError("amount.underscore")
    if re.fullmatch(r"\d+[.,]\d{3,}", t) or re.fullmatch(r"\d{1,3}(?:,\d{3})+\.\d{3,}|\d{1,3}(?:\.\d{3})+,\d{3,}", t):
        raise CommandError("amount.decimals")
    raise CommandError("amount.unreadable")


def parse_minor(text: str, code: str) -> int:
    """Read an amount written by a person ("5", "5.50", "5,5", "1,000.50") as minor units.

    Raises CommandError, naming what is wrong, when the text is not a
    positive amount this bot accepts.
    """
    cur = currency(code)
    t = text.strip()
    if not t:
        raise CommandError("amount.missing")
    whole: str
    frac: str | None
    if _PLAIN.fullmatch(t) and t.isascii():
        whole, frac = t, None
    elif (m := _DECIMAL.fullmatch(t)) and t.isascii():
        whole, frac = m.group(1), m.group(2)
    elif ((m := _GROUPED_COMMA.fullmatch(t)) or (m := _GROUPED_DOT.fullmatch(t))) and t.isascii():
        whole, frac = re.sub(r"[.,]", "", m.group(1)), m.group(2)
        if frac is None and t.count(",") + t.count(".") == 1:
            if int(whole[:-3]) == 0:  # "0.001" groups no thousands: three decimals
                raise CommandError("amount.decimals")
            raise CommandError("amount.ambiguous", a=str(int(whole)), b=f"{int(whole[:-3])}.{whole[-3:-1]}")
    else:
        _refuse(t)
        raise AssertionError("unreachable")  # pragma: no cover
    whole = whole.lstrip("0") or "0"
    if len(whole) > MAX_INTEGER_DIGITS:
        raise CommandError("amount.too_large")
    if frac is not None and cur.digits == 0:
        raise CommandError("amount.no_decimals", code=cur.code)
    frac_digits = (frac or "").ljust(cur.digits, "0")
    minor: int = int(whole) * 10 ** int(cur.digits) + (int(frac_digits) if frac_digits else 0)
    if minor == 0:
        raise CommandError("amount.zero")
    return minor


def parse_money(text: str, code: str) -> Money:
    """`parse_minor` wrapped in Money."""
    return Money(parse_minor(text, code), currency(code).code)
