"""The pages' languages: English (the source text) and French, with Babel.

The French catalog is `translations/fr/LC_MESSAGES/messages.po`, compiled in memory when the app is made (no
.mo file is kept in git); the test suite checks that every text of the pages has a French translation.
Country names come from Babel's CLDR data, in the page's language.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import resources

from babel import Locale, negotiate_locale
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGS = ("en", "fr")
DEFAULT = "en"
# Babel's territories that are no ISO 3166-1 country (regions, reserved and exceptional codes).
NOT_COUNTRIES = {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"}

Gettext = Callable[..., str]


def catalogs() -> dict[str, NullTranslations]:
    """Each language's translations (English: the text as written)."""
    out: dict[str, NullTranslations] = {"en": NullTranslations()}
    for lang in LANGS[1:]:
        po = resources.files("bot.web").joinpath(f"translations/{lang}/LC_MESSAGES/messages.po")
        with po.open("rb") as f:
            catalog = read_po(f, locale=lang)
        mo = io.BytesIO()
        write_mo(mo, catalog)
        mo.seek(0)
        out[lang] = Translations(mo)
    return out


def supported(lang: str | None) -> str:
    """`lang` if the pages speak it (a bot language such as "fr" or "fr-CA"), else English."""
    base = (lang or "").replace("_", "-").split("-")[0].lower()
    return base if base in LANGS else DEFAULT


def negotiate(accepted: Iterable[str]) -> str:
    """The language of a page shown without a link (a forged one): the browser's first that the pages speak."""
    wanted = [a.replace("-", "_") for a in accepted]
    return negotiate_locale(wanted, list(LANGS)) or supported(next(iter(wanted), None))


def gettext_for(translations: NullTranslations) -> Gettext:
    """`_(text, **values)`: the translation of `text`, with `%(name)s` filled from `values`."""

    def _(text: str, **values: object) -> str:
        out = translations.gettext(text)
        return out % values if values else out

    return _


def countries(lang: str) -> list[tuple[str, str]]:
    """Every country as (ISO 3166-1 alpha-2 code, name in `lang`), by name."""
    names = Locale.parse(lang).territories
    found = [
        (code, name) for code, name in names.items() if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    ]
    return sorted(found, key=lambda item: item[1].casefold())


def when(moment: datetime, lang: str, _: Gettext) -> str:
    """A moment written for a person, in `lang` ("7 December 2026 at 06:05 UTC"; `_` translates the joint)."""
    return _(
        "%(date)s at %(time)s UTC",
        date=format_date(moment, "long", locale=lang),
        time=format_time(moment, "HH:mm", tzinfo=UTC, locale=lang),
    )
