"""The sandbox provider, pretend money in its own SQLite file, in parts: see `bot.providers.sandbox.provider`."""

from bot.providers.sandbox.provider import APPROVAL_URL, SandboxProvider
from bot.providers.sandbox.records import CARDS

__all__ = ["APPROVAL_URL", "CARDS", "SandboxProvider"]
