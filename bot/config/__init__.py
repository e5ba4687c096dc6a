"""Typed settings from the environment and `.env`. Built only when asked for, never at import.

config.example.env documents every setting; `Settings.require_x()` refuses a missing or placeholder credential
with one sentence naming the setting. `settings` holds `Settings` and `load_settings`; `checks` the rules several
settings share (durations, placeholders, strong secrets, the addresses credentials go to); `providers` the
payment providers' credentials and the link secret. Every name is importable from `bot.config`.
"""

from bot.config.checks import (
    MANGOPAY_HOSTS,
    MANGOPAY_PRODUCTION,
    MANGOPAY_SANDBOX,
    MIN_SECRET_CHARS,
    checked_base,
    database_password_parts,
    is_live_mangopay,
    is_loopback,
    is_placeholder,
    parse_duration,
    weak_secret,
)
from bot.config.settings import Settings, load_settings

__all__ = [
    "MANGOPAY_HOSTS",
    "MANGOPAY_PRODUCTION",
    "MANGOPAY_SANDBOX",
    "MIN_SECRET_CHARS",
    "Settings",
    "checked_base",
    "database_password_parts",
    "is_live_mangopay",
    "is_loopback",
    "is_placeholder",
    "load_settings",
    "parse_duration",
    "weak_secret",
]
