"""The parsed commands: what a public post (`Command`) or a DM (`DmCommand`) asks, as value objects."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain import Privacy
from bot.money import Money


class PostKind(StrEnum):
    """What a public command asks (a send's and a request's words are a transfer's kind too)."""

    SEND = "send"
    REQUEST = "request"
    HELP = "help"


class DmKind(StrEnum):
    """What a DM command asks."""

    CONFIRM = "confirm"  # YES, with or without a code
    CANCEL = "cancel"  # NO, with or without a code
    CLAIM = "claim"
    HISTORY = "history"
    REGISTER = "register"
    CASHOUT = "cashout"
    PRIVACY = "privacy"
    STOP = "stop"
    START = "start"
    HELP = "help"


@dataclass(frozen=True)
class Command:
    """A public command: send money (each recipient gets `amount`), request it, or help.

    For a request, `recipients` are the people asked to pay."""

    kind: PostKind
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

    def canonical(self, bot: str = "paybot") -> str:
        """This command written out in its plainest English form."""
        if self.kind == PostKind.HELP or self.amount is None:
            return f"@{bot} help"
        names = " ".join(f"@{h}" for h in self.recipients)
        verb, link = ("send", "to") if self.kind == PostKind.SEND else ("request", "from")
        out = f"@{bot} {verb} {self.amount.decimal()} {self.amount.currency} {link} {names}"
        return out + (f" for {self.memo}" if self.memo else "")


@dataclass(frozen=True)
class DmCommand:
    """A command sent by DM."""

    kind: DmKind
    code: str | None = None
    setting: Privacy | None = None  # PRIVACY: the one chosen
    lang: str = "en"
    currency: str | None = None  # cashout: the currency named (None: the operator's default)

    def to_json(self) -> dict[str, object]:
        """The `paybot parse --dm` contract's JSON object for this command."""
        out: dict[str, object] = {"ok": True, "command": self.kind}
        if self.code:
            out["code"] = self.code
        if self.setting:
            out["setting"] = self.setting
        if self.currency:
            out["currency"] = self.currency
        out["lang"] = self.lang
        return out
