"""The identity-and-terms page's fields and the checks the server makes on them (the browser's own checks are
only a help: everything is checked here again).

Each error is a message (English source, translated by the page) naming what is wrong with that field.

The page names the X account its link was sent to, and its owner types their handle (`x_handle`): a link is a
bearer's, and one forwarded (or pushed on someone) must not put one person's name, e-mail and address on another's
Mangopay account. A handle that is not the link's account is an error like any other, so nothing is saved. The card
page asks the same (`same_handle`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

MAX_TEXT = 100  # characters in a name or an address line
ADULT = 18  # Mangopay's users are adults
OLDEST = 120
EMAIL = re.compile(
    r"[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)+"
)
POSTAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 -]{0,14}")
TEXT_FIELDS = ("first_name", "last_name", "email", "address_line1", "address_line2", "city", "region", "postal_code")
RECEIVE_FIELDS = (
    "birthday",
    "nationality",
    "residence",
    "address_line1",
    "address_line2",
    "city",
    "region",
    "postal_code",
)


def N_(text: str) -> str:
    """Marks a text for translation where it is written (the page translates it when shown)."""
    return text


Message = tuple[str, dict[str, object]]


@dataclass
class Form:
    """What was typed (as typed, trimmed) and what is wrong with it, field by field."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, Message] = field(default_factory=dict)
    birthday: date | None = None

    def error(self, name: str, text: str, **values: object) -> None:
        self.errors.setdefault(name, (text, values))


def _clean(raw: str) -> str:
    """Text as typed, trimmed, its inner runs of spaces made one, in Unicode's composed form."""
    return " ".join(unicodedata.normalize("NFC", raw).split())


def _has_control(text: str) -> bool:
    return any(unicodedata.category(c).startswith("C") for c in text)


def same_handle(typed: str, handle: str) -> bool:
    """Whether what the person typed names the X account `handle` (an @ and case aside)."""
    return bool(handle) and typed.strip().removeprefix("@").casefold() == handle.casefold()


def read(data: Mapping[str, str], *, receive: bool, countries: set[str], today: date, handle: str) -> Form:  # noqa: C901
    """The form posted: its values and its errors (none: it can be stored). `receive`: the link asks for what
    receiving money needs as well; `countries`: the ISO codes the lists offer; `handle`: the X handle of the
    account the link was sent to (as the bot last saw it), which the person must type."""
    form = Form()
    form.values["x_handle"] = _clean(data.get("x_handle", ""))[:100]
    if not form.values["x_handle"]:
        form.error("x_handle", N_("Enter your X handle."))
    elif not same_handle(form.values["x_handle"], handle):
        form.error(
            "x_handle",
            N_(
                "This page is for another X account than the one you typed, so nothing was saved. "
                "To give your own details, send the bot a direct message yourself."
            ),
        )
    names = TEXT_FIELDS + (("birthday", "nationality", "residence") if receive else ())
    for name in names:
        form.values[name] = _clean(data.get(name, ""))[:1000]
    for name in TEXT_FIELDS:
        if name in RECEIVE_FIELDS and not receive:
            continue
        value = form.values[name]
        if _has_control(value):
            form.error(name, N_("Use letters, digits and punctuation only."))
        elif len(value) > MAX_TEXT:
            form.error(name, N_("Use %(count)s characters at most."), count=MAX_TEXT)
    v = form.values
    if not v["first_name"]:
        form.error("first_name", N_("Enter your first name."))
    elif not any(c.isalpha() for c in v["first_name"]):
        form.error("first_name", N_("Enter your first name in letters, as on your identity document."))
    if not v["last_name"]:
        form.error("last_name", N_("Enter your last name."))
    elif not any(c.isalpha() for c in v["last_name"]):
        form.error("last_name", N_("Enter your last name in letters, as on your identity document."))
    if not v["email"]:
        form.error("email", N_("Enter your e-mail address."))
    elif len(v["email"]) > 254 or not EMAIL.fullmatch(v["email"]):
        form.error("email", N_("Enter an e-mail address like name@example.com."))
    if data.get("terms") != "yes":
        form.error("terms", N_("Accept Mangopay's terms to go on: Mangopay holds the money."))
    if receive:
        _receiving(form, countries, today)
    return form


def _receiving(form: Form, countries: set[str], today: date) -> None:  # noqa: C901
    v = form.values
    if not v["birthday"]:
        form.error("birthday", N_("Enter your date of birth."))
    else:
        try:
            born = date.fromisoformat(v["birthday"])
        except ValueError:
            form.error("birthday", N_("Enter a real date of birth, like 1990-03-31."))
        else:
            age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
            if born >= today:
                form.error("birthday", N_("Your date of birth must be in the past."))
            elif age < ADULT:
                form.error("birthday", N_("You must be %(age)s or older to receive money."), age=ADULT)
            elif age > OLDEST:
                form.error("birthday", N_("Check the year of your date of birth."))
            else:
                form.birthday = born
    if v["nationality"] not in countries:
        form.error("nationality", N_("Choose your nationality."))
    if v["residence"] not in countries:
        form.error("residence", N_("Choose the country you live in."))
    if not v["address_line1"]:
        form.error("address_line1", N_("Enter your street and number."))
    if not v["city"]:
        form.error("city", N_("Enter your town or city."))
    if not v["postal_code"]:
        form.error("postal_code", N_("Enter your postal code."))
    elif not POSTAL.fullmatch(v["postal_code"]):
        form.error("postal_code", N_("Enter a postal code of letters, digits, spaces or hyphens."))
