"""What the worker and the web app hand the core, one small frozen value each; `bot.service.Service.handle`
dispatches each by its type, through one table, to the use case that takes it. A provider's event is the
port's own `ProviderEvent` (polled by the tick, or pushed to Stripe's webhook)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain.marks import DmCursor, MentionCursor
from bot.ports import DirectMessage, Mention, ProviderEvent


@dataclass(frozen=True)
class MentionPage:
    """A page of mentions, oldest first; posts older than `since` are recorded, not acted on; `cursor`: the
    mentions mark to move in the page's unit of work."""

    mentions: tuple[Mention, ...]
    since: datetime | None = None
    cursor: MentionCursor | None = None


@dataclass(frozen=True)
class DmPage:
    """A page of DM events, oldest first; `cursor`: the DM mark to move in the page's unit of work."""

    dms: tuple[DirectMessage, ...]
    cursor: DmCursor | None = None


@dataclass(frozen=True)
class Expire:
    """The tick's first step: pending transfers past their time, once every DM sent before `read_until` is read."""

    read_until: datetime | None = None


@dataclass(frozen=True)
class Resume:
    """The tick: finish what a crash interrupted (payments, settlements, cash-outs)."""


@dataclass(frozen=True)
class ReadEvents:
    """The tick: read the provider's new events and apply each once."""


@dataclass(frozen=True)
class LapseApprovals:
    """The tick: close the approvals nobody gave in time."""


@dataclass(frozen=True)
class ReturnDue:
    """The tick: give held money back when its claim window is over."""


Input = MentionPage | DmPage | Expire | Resume | ReadEvents | LapseApprovals | ReturnDue | ProviderEvent
