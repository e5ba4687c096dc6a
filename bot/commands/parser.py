"""The command language's driver: text -> Command or DmCommand, or CommandError with the sentence for the user.

The grammar itself is bot/grammar.lark; this module finds where a command starts, runs the parser, and
turns the tree into value objects, checking what a grammar cannot (duplicate recipients, the bot paying
itself, currencies, the memo's length). A command written with a French verb is answered in French (`lang`).
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from functools import cache, lru_cache
from importlib import resources

from lark import Lark, Token, Transformer, UnexpectedInput, v_args
from lark.exceptions import VisitError

from bot.commands.types import Command, DmCommand, DmKind, PostKind
from bot.domain import Privacy
from bot.errors import CommandError
from bot.messages import on_timeline
from bot.messages import text as say
from bot.money import CURRENCIES, SYMBOLS, WORDS, Money, parse_minor

MAX_TEXT = 1000
MAX_MEMO = 100
MAX_RECIPIENTS = 10
DEFAULT_ENABLED = ("USD", "EUR", "GBP")
# Invisible and direction-control characters can make a post read differently
# from what is parsed, so any of them refuses the whole text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
# Keywords are matched in ASCII, as in the grammar: a letter that only case-folds to an ASCII one
# (ſ, K, İ, ı) is not that letter, so "ſend" is not "send". The look-aheads stay Unicode.
_VERB = re.compile(
    r"\s*#?((?a:send|pay|tip|give|request|ask|help|envoie|envoyer|envoyez|paie|paye|payer|donne|donner"
    r"|demande|demander|aide))(?![\w])|\s*\?",
    re.I,
)
_FRENCH_VERBS = {
    "envoie",
    "envoyer",
    "envoyez",
    "paie",
    "paye",
    "payer",
    "donne",
    "donner",
    "demande",
    "demander",
    "aide",
}
_FRENCH_DM_WORDS = {
    "oui",
    "o",
    "non",
    "annuler",
    "réclamer",
    "reclamer",
    "aide",
    "historique",
    "inscription",
    "confidentialité",
    "confidentialite",
    "arrêt",
    "arret",
    "reprendre",
    "retrait",
    "retirer",
    "virement",
}
_UNIT_SUFFIX = re.compile(r"^(.*?)(usd|eur|gbp|cad|aud|chf|jpy|dollars?|euros?|pounds?|livres?)?$", re.I | re.A)
# A CASHOUT the grammar cannot read (an amount, an unknown currency) gets its own answer, not the DM help.
_CASHOUT_WORD = re.compile(r"\s*(?a:cash[ -]?out|withdraw|retrait|retirer|virement)(?![\w])", re.I)
_AMOUNT_MISSING = re.compile(r"\s*(?a:to|[àÀa]|from|de)(?![\w])", re.I)
_PRIVACY = {
    "public": Privacy.PUBLIC,
    "publique": Privacy.PUBLIC,
    "private": Privacy.PRIVATE,
    "privé": Privacy.PRIVATE,
    "prive": Privacy.PRIVATE,
    "privée": Privacy.PRIVATE,
    "quiet": Privacy.QUIET,
    "silencieux": Privacy.QUIET,
    "discret": Privacy.QUIET,
}


@cache
def _grammar() -> str:
    return resources.files("bot").joinpath("grammar.lark").read_text(encoding="utf-8")


@cache
def _parser(default_currency: str = "USD", enabled: tuple[str, ...] = DEFAULT_ENABLED, lang: str = "en") -> Lark:
    """A parser that builds commands as it reads (no tree), one per configuration."""
    return Lark(
        _grammar(),
        parser="lalr",
        lexer="contextual",
        start=["tweet", "dm"],
        transformer=_ToCommand(default_currency, enabled, lang),
    )


@v_args(inline=True)
class _ToCommand(Transformer[Token, object]):
    def __init__(self, default_currency: str, enabled: tuple[str, ...], lang: str) -> None:
        super().__init__()
        self.default_currency = default_currency
        self.enabled = enabled
        self.lang = lang

    # -- amounts
    def unit(self, tok: Token) -> str:
        t = str(tok)
        if tok.type == "SYMBOL":
            code = SYMBOLS.get(t)
        elif tok.type == "CURRENCY_WORD":
            code = WORDS.get(t.lower())
        else:
            code = t.upper() if t.upper() in CURRENCIES else None
        if code is None:  # the grammar reads only known units, in ASCII; a miss is refused, never a KeyError
            raise CommandError("amount.unreadable")
        return code

    def amount(self, *parts: object) -> Money:
        units = [p for p in parts if isinstance(p, str) and not isinstance(p, Token)]
        number = next(p for p in parts if isinstance(p, Token))
        if number.type == "BAD_NUMBER":
            raise CommandError("amount.nan", text=str(number))
        m = _UNIT_SUFFIX.match(str(number))
        digits, suffix = (m.group(1), m.group(2)) if m else (str(number), None)
        if suffix and digits:
            units.append(WORDS.get(suffix.lower(), suffix.upper()))
        else:
            digits = str(number)
        digits = digits.rstrip(".,") or digits
        codes = list(dict.fromkeys(units))
        if len(codes) > 1:
            raise CommandError("currency.two", a=codes[0], b=codes[1])
        code = codes[0] if codes else self.default_currency
        if code not in self.enabled:
            raise CommandError("currency.disabled", code=code, enabled=_join(self.enabled, self.lang))
        return Money(parse_minor(digits, code), code)

    # -- people and memo
    def handle(self, tok: Token) -> str:
        if tok.type == "BAD_HANDLE":
            raise CommandError("handle.bad")  # the raw text is never said back (see Consent)
        return str(tok)[1:].lower()

    def recipients(self, *handles: str) -> tuple[str, ...]:
        return tuple(handles)

    def memo(self, tok: Token) -> str:
        return str(tok).strip()

    # -- commands
    def send_amount_first(self, _v: Token, amount: Money, people: tuple[str, ...], memo: str | None = None) -> Command:
        return Command(PostKind.SEND, amount, people, memo, self.lang)

    def send_recipients_first(
        self, _v: Token, people: tuple[str, ...], amount: Money, memo: str | None = None
    ) -> Command:
        return Command(PostKind.SEND, amount, people, memo, self.lang)

    def request_amount_first(
        self, _v: Token, amount: Money, people: tuple[str, ...], memo: str | None = None
    ) -> Command:
        return Command(PostKind.REQUEST, amount, people, memo, self.lang)

    def request_recipients_first(
        self, _v: Token, people: tuple[str, ...], amount: Money, memo: str | None = None
    ) -> Command:
        return Command(PostKind.REQUEST, amount, people, memo, self.lang)

    def help(self, _tok: Token) -> Command:
        return Command(PostKind.HELP, lang=self.lang)

    def tweet(self, command: Command) -> Command:
        return command

    # -- DMs
    def confirm(self, _tok: Token, code: Token | None = None) -> DmCommand:
        return DmCommand(DmKind.CONFIRM, str(code).upper() if code else None, lang=self.lang)

    def cancel(self, _tok: Token, code: Token | None = None) -> DmCommand:
        return DmCommand(DmKind.CANCEL, str(code).upper() if code else None, lang=self.lang)

    def privacy(self, _tok: Token, setting: Token) -> DmCommand:
        chosen = _PRIVACY.get(str(setting).lower())
        if chosen is None:  # the grammar reads only these words; a miss is refused, never a KeyError
            raise CommandError("dm.unknown", help=say("dm_help", self.lang))
        return DmCommand(DmKind.PRIVACY, setting=chosen, lang=self.lang)

    def _simple(self, kind: DmKind) -> DmCommand:
        return DmCommand(kind, lang=self.lang)

    def claim(self, _t: Token) -> DmCommand:
        return self._simple(DmKind.CLAIM)

    def history(self, _t: Token) -> DmCommand:
        return self._simple(DmKind.HISTORY)

    def register(self, _t: Token) -> DmCommand:
        return self._simple(DmKind.REGISTER)

    def cashout(self, _t: Token, code: Token | None = None) -> DmCommand:
        return DmCommand(DmKind.CASHOUT, currency=str(code).upper() if code else None, lang=self.lang)

    def stop(self, _t: Token) -> DmCommand:
        return self._simple(DmKind.STOP)

    def start(self, _t: Token) -> DmCommand:
        return self._simple(DmKind.START)


def _join(codes: tuple[str, ...], lang: str) -> str:
    if len(codes) == 1:
        return codes[0]
    return ", ".join(codes[:-1]) + (" ou " if lang == "fr" else " or ") + codes[-1]


def _check_text(text: str, lang: str = "en") -> str:
    if len(text) > MAX_TEXT:
        raise CommandError("text.too_long", lang=lang, max=MAX_TEXT)
    if _INVISIBLE.search(text):
        raise CommandError("text.invisible", lang=lang)
    return text.replace("\uff20", "@")


def _bot_mention(bot: str) -> re.Pattern[str]:
    return re.compile(rf"@(?a:{re.escape(bot)})(?![A-Za-z0-9_])", re.I)


def _transform(text: str, start: str, currency: str, enabled: tuple[str, ...], lang: str) -> object:
    try:
        return _parser(currency, enabled, lang).parse(text, start=start)
    except VisitError as exc:  # lark wraps errors raised inside the transformer
        if isinstance(exc.orig_exc, CommandError):
            exc.orig_exc.lang = lang
            raise exc.orig_exc from None
        raise
    except CommandError as err:
        err.lang = lang
        raise


def parse_command(
    text: str,
    *,
    bot: str = "paybot",
    currency: str = "USD",
    enabled: tuple[str, ...] | None = None,
    fediverse: bool = False,
) -> Command:
    """Parse a public post addressed to the bot.

    The command is what follows the first mention of the bot. Raises
    CommandError whose message tells the user what to write instead; its
    `quiet` attribute is True when the text is not a command to the bot at all
    (chatter, a repost), which the bot does not answer. `fediverse`: handles
    may name their instance (`@alice@other.example`, Mastodon); otherwise such
    a handle is refused as X refuses it.
    """
    try:
        if isinstance(enabled, Hashable):
            return _parsed_command(text, bot, currency, enabled, fediverse)
        return _parse_command(text, bot, currency, enabled, fediverse)
    except CommandError as err:
        err.key = on_timeline(err.key, mastodon=fediverse)  # "an X handle" is said otherwise on Mastodon
        raise


# The commands parsed lately: a post is read twice as it is handled (whether its author may be asked, then the
# post itself) and most DMs say the same few words ("yes"). A Command is frozen; a refusal is not kept (each
# caller gets its own CommandError, which it may change) and is worked out again.
PARSED_KEPT = 4096


@lru_cache(maxsize=PARSED_KEPT)
def _parsed_command(text: str, bot: str, currency: str, enabled: tuple[str, ...] | None, fediverse: bool) -> Command:
    return _parse_command(text, bot, currency, enabled, fediverse)


def _parse_command(text: str, bot: str, currency: str, enabled: tuple[str, ...] | None, fediverse: bool) -> Command:
    text = _check_text(text)
    if text.lstrip().startswith("RT @"):
        raise CommandError("text.repost", quiet=True)
    m = _bot_mention(bot).search(text)
    if not m:
        raise CommandError("text.not_for_bot", quiet=True, bot=bot)
    rest = text[m.end() :]
    verb = _VERB.match(rest)
    if not verb:
        raise CommandError("text.chatter", quiet=True, usage=say("usage", "en", bot=bot))
    lang = "fr" if (verb.group(1) or "").lower() in _FRENCH_VERBS else "en"
    currency = currency.upper()
    enabled = tuple(c.upper() for c in (enabled or DEFAULT_ENABLED))
    if currency not in CURRENCIES:
        raise CommandError("currency.unknown", lang=lang, code=currency)
    if currency not in enabled:
        enabled = (*enabled, currency)
    try:
        cmd = _transform(rest, "tweet", currency, enabled, lang)
    except UnexpectedInput as err:
        raise _unreadable(err, rest, bot, lang) from None
    if not isinstance(cmd, Command):  # cannot happen (not an assert: -O removes those)
        raise TypeError(f"cmd is {type(cmd).__name__}, not Command")
    if not fediverse and any("@" in h for h in cmd.recipients):
        raise CommandError("handle.bad", lang=lang)
    _check_command(cmd, bot)
    return cmd


def _unreadable(err: UnexpectedInput, text: str, bot: str, lang: str) -> CommandError:
    """The most helpful refusal for text the grammar could not follow."""
    expected = set(getattr(err, "expected", None) or getattr(err, "allowed", None) or ())
    token = getattr(err, "token", None)
    if isinstance(token, Token):
        rest = "" if token.type == "$END" else text[token.start_pos or 0 :]
    else:
        pos = getattr(err, "pos_in_stream", None)
        rest = text[pos:] if isinstance(pos, int) else ""
    if "NUMBER" in expected and _AMOUNT_MISSING.match(rest):
        return CommandError("amount.missing", lang=lang)
    if "HANDLE" in expected and not rest.strip(" .!?"):
        return CommandError("recipients.missing", lang=lang)
    return CommandError("cmd.unreadable", lang=lang, usage=say("usage", lang, bot=bot))


def _check_command(cmd: Command, bot: str) -> None:
    if cmd.kind == PostKind.HELP:
        return
    lang = cmd.lang
    if len(cmd.recipients) > MAX_RECIPIENTS:
        raise CommandError("recipients.too_many", lang=lang, max=MAX_RECIPIENTS)
    if len(set(cmd.recipients)) != len(cmd.recipients):
        dup = next(h for h in cmd.recipients if cmd.recipients.count(h) > 1)
        raise CommandError("recipients.twice", lang=lang, handle=dup)
    if bot.lower() in cmd.recipients:
        raise CommandError("recipients.bot", lang=lang, bot=bot)
    if cmd.memo is not None and len(cmd.memo) > MAX_MEMO:
        raise CommandError("memo.too_long", lang=lang, max=MAX_MEMO)


def dm_lang(text: str) -> str:
    first = text.strip().split(maxsplit=1)[0].lower() if text.strip() else ""
    return "fr" if first in _FRENCH_DM_WORDS else "en"


@lru_cache(maxsize=PARSED_KEPT)
def parse_dm(text: str) -> DmCommand:
    """Parse the text of a direct message to the bot; anything else is refused with the DM help. (The commands
    parsed lately are kept, as parse_command's: a DmCommand is frozen, a refusal is worked out again.)"""
    text = _check_text(text).strip()
    lang = dm_lang(text)
    try:
        result = _transform(text, "dm", "USD", DEFAULT_ENABLED, lang)
    except UnexpectedInput:
        if _CASHOUT_WORD.match(text):
            raise CommandError("cashout.usage", lang=lang) from None
        raise CommandError("dm.unknown", lang=lang, help=say("dm_help", lang)) from None
    if isinstance(result, Command):  # "help" is shared with the post grammar
        return DmCommand(DmKind.HELP, lang=lang)
    if not isinstance(result, DmCommand):  # cannot happen (not an assert: -O removes those)
        raise TypeError(f"result is {type(result).__name__}, not DmCommand")
    return result
