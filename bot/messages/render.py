"""Saying a sentence of the catalog, and the words sentences are made of: amounts, days, durations, statuses,
people's handles and names, memos as a public reply may show them, links kept out of what is stored, X's
weighted length."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from bot.messages.catalog import CATALOG

LANGS = ("en", "fr")
_FR_MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")


STATUS_WORDS = {
    "pending": ("pending", "en attente"),
    "executing": ("in progress", "en cours"),
    "completed": ("completed", "effectué"),
    "held": ("held", "en attente de réclamation"),
    "failed": ("failed", "échoué"),
    "cancelled": ("cancelled", "annulé"),
    "expired": ("expired", "expiré"),
    "returned": ("returned", "rendu"),
    "needs_auth": ("awaiting the bank's approval", "en attente de l'accord de la banque"),
    # What a recipient is told of a payment to them that did not go through: declined cards (and every other
    # reason a payer's payment failed) are nobody else's business.
    "not_paid": ("not paid", "non payé"),
}


LINK = re.compile(r"https?://\S+")


def without_links(words: str) -> str:
    """A message with its links (approval, card and bank pages: bearer credentials for their user) written as
    "<link>": what is kept of a DM once sent, and what operator reports show."""
    return LINK.sub("<link>", words)


def _fmt(value: Any, lang: str) -> Any:
    """Amounts (anything with `localized`, as Money) are written the way `lang` writes them."""
    localized = getattr(value, "localized", None)
    return localized(lang) if callable(localized) else value


# Sentences that name X or its handles, and have a Mastodon wording under KEY.mastodon.
NAMES_THE_TIMELINE = frozenset({"recipients.missing", "handle.bad", "recipient.unknown", "request_unposted"})


def on_timeline(key: str, *, mastodon: bool) -> str:
    """The key of sentence `key` as said on the bot's timeline: its `.mastodon` wording there when it has one."""
    return f"{key}.mastodon" if mastodon and key in NAMES_THE_TIMELINE else key


def text(key: str, lang: str = "en", **params: Any) -> str:
    """The sentence `key` in `lang` (English when the language is unknown)."""
    en, fr = CATALOG[key]
    template = fr if lang == "fr" else en
    return template.format(**{k: _fmt(v, lang) for k, v in params.items()})


# The providers' decline reasons (plain English, no card data), in French.
REASONS_FR = {
    "the bank account you confirmed is no longer active; DM CASHOUT again": (
        "le compte bancaire que vous avez confirmé n'est plus actif ; écrivez RETRAIT à nouveau"
    ),
    "payments you sent are still waiting for their recipients; cash out once they are claimed or returned": (
        "des paiements que vous avez envoyés attendent encore leurs destinataires ; retirez une fois qu'ils "
        "sont réclamés ou revenus"
    ),
    "card declined by the bank": "carte refusée par la banque",
    "declined by the bank": "refusée par la banque",
    "insufficient funds": "provision insuffisante",
    "the card has expired": "la carte a expiré",
    "the card's spending limit was reached": "le plafond de la carte est atteint",
    "the card's security code was refused": "le code de sécurité de la carte a été refusé",
    "the bank had a processing error; try again later": "erreur de traitement à la banque ; réessayez plus tard",
    "the card does not take this currency": "la carte n'accepte pas cette devise",
    # cash-outs (Mangopay's payout ResultCodes, in plain words)
    "a limit of your verified account was reached": "une limite de votre compte vérifié est atteinte",
    "your balance changed meanwhile": "votre solde a changé entre-temps",
    "the bank account must be registered again": "le compte bancaire doit être enregistré à nouveau",
    "the bank refused the transfer": "la banque a refusé le virement",
    "the payment provider refused it": "le prestataire de paiement l'a refusé",
    "not approved": "non approuvé",
    "the bank account is closed": "le compte bancaire est clôturé",
    "the bank account cannot take it": "le compte bancaire ne peut pas le recevoir",
    "the account details are wrong": "les coordonnées du compte sont erronées",
    "the bank sent it back": "la banque l'a renvoyé",
    "not approved in time": "non approuvé à temps",
    "your identity check is not finished yet: DM CLAIM for the link": (
        "votre vérification d'identité n'est pas terminée : écrivez RÉCLAMER pour recevoir le lien"
    ),
    "your payment account is not secured yet: DM CLAIM for the link": (
        "votre compte de paiement n'est pas encore sécurisé : écrivez RÉCLAMER pour recevoir le lien"
    ),
}


def reason(words: str, lang: str) -> str:
    """A provider's decline reason in `lang` (as given when there is no translation)."""
    return REASONS_FR.get(words, words) if lang == "fr" else words


def status_word(status: str, lang: str) -> str:
    en, fr = STATUS_WORDS.get(status, (status, status))
    return fr if lang == "fr" else en


def day(when: datetime, lang: str) -> str:
    """A calendar day: "Dec 12" or "12 déc."."""
    if lang == "fr":
        return f"{when.day} {_FR_MONTHS[when.month - 1]}"
    return f"{when:%b} {when.day}"


def duration(ttl: timedelta, lang: str) -> str:
    minutes = int(ttl.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} {'jours' if lang == 'fr' else 'days'}"


def span(ttl: timedelta, lang: str) -> str:
    """How long something lasts, in words: "15 minutes", "24 hours", "3 days" (whole units, rounded down; seconds
    under a minute, as a test's short settings make it)."""
    if ttl < timedelta(minutes=1):
        seconds = int(ttl.total_seconds())
        return (
            f"{seconds} {'secondes' if lang == 'fr' else 'seconds'}"
            if seconds != 1
            else ("1 seconde" if lang == "fr" else "1 second")
        )
    minutes = int(ttl.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes" if minutes != 1 else "1 minute"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} {'heures' if lang == 'fr' else 'hours'}"
    return f"{hours // 24} {'jours' if lang == 'fr' else 'days'}"


NAME_MAX = 30  # characters of a display name a confirmation shows
NAME_WORDS = 3  # and words: a name, not a sentence


def who(handle: str, name: str = "") -> str:
    """@handle, with the person's display name as plain words (see `plain_name`) when it says more."""
    shown = plain_name(name)
    says_more = shown and name.lower() != handle.lower() and shown.lower() != plain_name(handle).lower()
    return f"@{handle} ({shown})" if says_more else f"@{handle}"


def plain_name(name: str | None) -> str:
    """A display name as a confirmation may show it: letters and spaces only (an apostrophe or hyphen inside a
    word kept), at most NAME_WORDS words and NAME_MAX characters, cut between words. A name is chosen by its
    owner, a stranger to the payer: no link, domain, amount, @-mention or sentence of theirs may stand in the
    bot's confirmation
    ("Refund desk - details at evil.com" -> "Refund desk details"; "Café. NB: the real amount is $2.50" ->
    "Café NB the")."""
    words = [
        "".join(ch for ch in word if ch.isalpha() or ch in "'-").strip("'-")
        for word in "".join(ch if ch.isalpha() or ch in "'-" else " " for ch in name or "").split()
    ]
    out = ""
    for word in list(filter(None, words))[:NAME_WORDS]:
        if len(out) + len(word) + (1 if out else 0) > NAME_MAX:
            break
        out = f"{out} {word}" if out else word
    return out


def handles(names: list[str]) -> str:
    return ", ".join(f"@{h}" for h in names)


def listing(amounts: list[Any], lang: str = "en") -> str:
    """Amounts in one phrase: "$5.00", "$5.00 and €3.00", "$5.00, €3.00 and £1.00" (French: "et")."""
    shown = [str(_fmt(a, lang)) for a in amounts]
    if len(shown) < 2:
        return "".join(shown)
    return ", ".join(shown[:-1]) + (" et " if lang == "fr" else " and ") + shown[-1]


PUBLIC_MEMO_MAX = 40


def public_memo(memo: str | None) -> str:
    """A memo as a public reply may show it: plain words only, at most 40 characters.

    Everything but letters, digits and spaces becomes a space, so no link, domain,
    @-mention, hashtag or new line survives ("see evil.com @bob" -> "see evil com bob");
    the cut falls between words. Empty when nothing is left."""
    words = "".join(ch if ch.isalnum() else " " for ch in memo or "").split()
    out = ""
    for word in words:
        if len(out) + len(word) + (1 if out else 0) > PUBLIC_MEMO_MAX:
            break
        out = f"{out} {word}" if out else word
    return out


POST_MAX = 280  # X's limit, in its weighted characters


def weighted_length(text: str) -> int:
    """A post's length as X counts it (twitter-text: most CJK characters and emoji count 2, a link 23)."""
    from twitter_text import parse_tweet

    return int(parse_tweet(text).weightedLength)


def fits(text: str) -> bool:
    """Whether X takes `text` as one post."""
    return weighted_length(text) <= POST_MAX
