"""The checkpoints the bot keeps (poll marks, the pause switch, the heartbeat, ...) by name, and the cursors the
mention and DM polls read from and write back to them. Pure: the store keeps them as name and value."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

__all__ = ["DmCursor", "Mark", "Marks", "MentionCursor"]


class Mark(StrEnum):
    """The name of every checkpoint the bot keeps: a typo is a type error, not a silently new row."""

    BOT_ID = "bot_id"  # the bot's X user id, checked against PAYBOT_HANDLE once
    STARTED_AT = "started_at"  # the first start: older posts and DMs are history
    HEARTBEAT = "heartbeat"  # the worker's last jobs, for `paybot status`
    PAUSED = "paused"  # "1": `paybot pause`, no money moves
    PAUSED_AT = "paused_at"  # when `paybot pause` last began (ISO 8601)
    WINDING_DOWN = "winding_down"  # "1": `paybot wind-down`, no new command is taken
    MENTIONS_SINCE = "mentions_since"
    MENTIONS_NEWEST = "mentions_newest"
    DM_NEWEST = "dm_newest"
    DM_RESUME = "dm_resume"
    DM_SWEEP_TOP = "dm_sweep_top"
    PROVIDER_EVENTS = "provider_events"  # the provider's event cursor
    RECONCILED = "reconciled"  # the last reconciliation's findings (JSON), for the console


class Marks(Protocol):
    """Where checkpoints are read and written (the repository port's `Checkpoints`)."""

    def get(self, name: Mark) -> str | None: ...

    def set(self, name: Mark, value: str) -> None: ...


@dataclass(frozen=True)
class MentionCursor:
    """Where the mentions poll reads from: `since` (X's since_id) trails `newest` by one poll, so a
    mention X indexed late still falls inside the next window. Both None before the first poll."""

    since: str | None = None
    newest: str | None = None

    @classmethod
    def read(cls, marks: Marks) -> MentionCursor:
        return cls(marks.get(Mark.MENTIONS_SINCE) or None, marks.get(Mark.MENTIONS_NEWEST) or None)

    def after(self, top: str) -> MentionCursor | None:
        """The cursor once a poll whose newest mention is `top` was handled; None: unchanged."""
        if self.newest is None:
            return MentionCursor(top, top)
        if int(top) > int(self.newest):
            return MentionCursor(self.newest, top)
        return None

    def write(self, marks: Marks) -> None:
        marks.set(Mark.MENTIONS_SINCE, self.since or "")
        marks.set(Mark.MENTIONS_NEWEST, self.newest or "")


@dataclass(frozen=True)
class DmCursor:
    """Where the DM reading stands: `newest` is the stop mark (every event up to it was read);
    while older unread events remain below a page, `resume` says where reading goes on and
    `sweep_top` keeps the newest id seen meanwhile, which becomes the stop mark at the end."""

    newest: str | None = None
    resume: str | None = None
    sweep_top: str | None = None

    @classmethod
    def read(cls, marks: Marks) -> DmCursor:
        return cls(
            marks.get(Mark.DM_NEWEST) or None, marks.get(Mark.DM_RESUME) or None, marks.get(Mark.DM_SWEEP_TOP) or None
        )

    def after(self, ids: list[str], resume: str | None) -> DmCursor:
        """The cursor once a page of these event ids was handled (`resume`: the page said more remain)."""
        seen = [*ids, *([self.sweep_top] if self.sweep_top else [])]
        top = max(seen, key=int) if seen else None
        if resume:
            return DmCursor(self.newest, resume, top or self.sweep_top)
        return DmCursor(top or self.newest, None, None)

    def write(self, marks: Marks) -> None:
        if self.newest is not None:
            marks.set(Mark.DM_NEWEST, self.newest)
        marks.set(Mark.DM_RESUME, self.resume or "")
        marks.set(Mark.DM_SWEEP_TOP, self.sweep_top or "")
