"""The command language: text -> Command, or CommandError with the sentence for the user.

Pure: no I/O, no settings. The grammar itself lives in grammar.lark beside
this file; this module finds where a command starts, runs the parser, and
turns the tree into value objects, checking what a grammar cannot (duplicate
recipients, the bot paying itself, the memo's length).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from lark import Lark, Token, Transformer, UnexpectedInput, v_args

from bot.errors import CommandError
from bot.money import CURRENCIES, SYMBOLS, WORDS, Money, parse_minor

MAX_TEXT = 1000
MAX_MEMO = 100
MAX_RECIPIENTS = 10
# Invisible and direction-control characters can make a post read differently
# from what is parsed, so any of them refuses the whole text.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_VERB_START = re.compile(r"\s*#?(send|pay|tip|give|help|aide|\?)(?![\w])", re.I)

TWEET_USAGE = "Try: @{bot} send 5 to @alice for pizza"
DM_HELP = (
    "Reply YES to confirm a payment (YES CODE when you have several), NO to cancel, "
    "CLAIM to receive money held for you, REGISTER to save a card, HELP for this message."
)


@dataclass(frozen=True)
class Command:
    """A public command: send money to recipients (each gets `amount`), or help."""

    kind: str  # "send" | "help"
    amount: Money | None = None
    recipients: tuple[str, ...] = ()
    memo: str | None = None
    lang: str = "en"

    def to_json(self) -> dict[str, object]:
        """The `paybot parse` contract's JSON object for this command."""
        return {
            "ok": True,
            "command": self.kind,
            "amount": self.amount.decimal() if self.amount else None,
            "currency": self.amount.currency if self.amount else None,
            "recipients": list(self.recipients),
            "memo": self.memo,
            "lang": self.lang,
        }


@dataclass(frozen=True)
class DmCommand:
    """A command sent by DM: confirm, cancel, claim, register, help."""

    kind: str
    code: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """The `paybot parse --dm` contract's JSON object for this command."""
        out: dict[str, object] = {"ok": True, "command": self.kind}
        if self.code:
            out["code"] = self.code
        return out


@cache
def _parser() -> Lark:
    text = resources.files("bot").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer="contextual", start=["tweet", "dm"])


@v_args(inline=True)
class _ToCommand(Transformer[Token, object]):
    def __init__(self, default_currency: str) -> None:
        super().__init__()
        self.default_currency = default_currency

    def unit(self, tok: Token) -> str:
        t = str(tok)
        if tok.type == "SYMBOL":
            return SYMBOLS[t]
        if tok.type == "CURRENCY_WORD":
            return WORDS[t.lower()]
        return t.upper()

    def amount_unit_after(self, number: Token, unit: str | None = None) -> Money:
        code = unit or self.default_currency
        return Money(parse_minor(str(number), code), code)

    def amount_unit_before(self, unit: str, number: Token) -> Money:
        return Money(parse_minor(str(number), unit), unit)

    def recipients(self, *handles: Token) -> tuple[str, ...]:
        return tuple(str(h)[1:].lower() for h in handles)

    def memo(self, text: Token) -> str:
        return str(text).strip()

    def send_amount_first(
        self, _verb: Token, amount: Money, recipients: tuple[str, ...], memo: str | None = None
    ) -> Command:
        return Command("send", amount, recipients, memo)

    def send_recipients_first(
        self, _verb: Token, recipients: tuple[str, ...], amount: Money, memo: str | None = None
    ) -> Command:
        return Command("send", amount, recipients, memo)

    def help(self, _tok: Token) -> Command:
        return Command("help")

    def tweet(self, command: Command) -> Command:
        return command

    def confirm(self, _tok: Token, code: Token | None = None) -> DmCommand:
        return DmCommand("confirm", str(code).upper() if code else None)

    def cancel(self, _tok: Token, code: Token | None = None) -> DmCommand:
        return DmCommand("cancel", str(code).upper() if code else None)

    def claim(self, _tok: Token) -> DmCommand:
        return DmCommand("claim")

    def register(self, _tok: Token) -> DmCommand:
        return DmCommand("register")


def _check_text(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise CommandError(f"That message is too long for me (over {MAX_TEXT} characters).")
    if _INVISIBLE.search(text):
        raise CommandError(
            "Your message contains invisible formatting characters; type it again without them."
        )
    return text.replace("\uff20", "@")


def _bot_mention(bot: str) -> re.Pattern[str]:
    return re.compile(rf"@{re.escape(bot)}(?![A-Za-z0-9_])", re.I)


def parse_command(text: str, *, bot: str = "paybot", currency: str = "USD") -> Command:
    """Parse a public post addressed to the bot.

    The command is what follows the first mention of the bot. Raises
    CommandError whose message tells the user what to write instead; its
    `quiet` attribute is True when the text is not addressed to the bot as a
    command at all (chatter the bot should not answer).
    """
    text = _check_text(text)
    usage = TWEET_USAGE.format(bot=bot)
    if text.lstrip().startswith("RT @"):
        raise CommandError("A repost is not a command.", quiet=True)
    m = _bot_mention(bot).search(text)
    if not m:
        raise CommandError(f"This is not a command for @{bot}. {usage}", quiet=True)
    rest = text[m.end() :]
    if not _VERB_START.match(rest):
        raise CommandError(f"I didn't understand that. {usage}", quiet=True)
    currency = currency.upper()
    if currency not in CURRENCIES:
        raise CommandError(f"I don't know the currency {currency}.")
    try:
        tree = _parser().parse(rest, start="tweet")
        cmd = _ToCommand(currency).transform(tree)
    except UnexpectedInput:
        raise CommandError(f"I couldn't read that command. {usage}") from None
    except Exception as exc:  # lark wraps errors raised inside the transformer
        inner = getattr(exc, "orig_exc", exc)
        if isinstance(inner, CommandError):
            raise inner from None
        raise
    assert isinstance(cmd, Command)
    _check_command(cmd, bot)
    return cmd


def _check_command(cmd: Command, bot: str) -> None:
    if cmd.kind != "send":
        return
    if len(cmd.recipients) > MAX_RECIPIENTS:
        raise CommandError(f"I can pay at most {MAX_RECIPIENTS} people in one command.")
    if len(set(cmd.recipients)) != len(cmd.recipients):
        dup = next(h for h in cmd.recipients if cmd.recipients.count(h) > 1)
        raise CommandError(f"@{dup} is named twice; name each person once.")
    if bot.lower() in cmd.recipients:
        raise CommandError(f"@{bot} can't receive payments; name the person to pay.")
    if cmd.memo is not None and len(cmd.memo) > MAX_MEMO:
        raise CommandError(f"The note after 'for' can be at most {MAX_MEMO} characters.")


def parse_dm(text: str) -> DmCommand:
    """Parse the text of a direct message to the bot; CommandError carries the DM help."""
    text = _check_text(text).strip()
    try:
        cmd = _parser().parse(text, start="dm")
        result = _ToCommand("USD").transform(cmd)
    except UnexpectedInput:
        raise CommandError(f"I didn't understand that. {DM_HELP}") from None
    if isinstance(result, Command):  # "help" is shared with the tweet grammar
        return DmCommand("help")
    assert isinstance(result, DmCommand)
    return result
