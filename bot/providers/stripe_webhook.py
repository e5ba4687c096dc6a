"""Where Stripe's webhook endpoint used to live, kept for the code and tests that import it from here: it is
`bot.providers.stripe.webhook`."""

from bot.providers.stripe.webhook import (
    CHANNEL_TIMEOUT,
    CLEANUP_INTERVAL,
    CONNECTION_LIMIT,
    MAX_BODY,
    MAX_HEADERS,
    PATH,
    SERVER_SETTINGS,
    TOLERANCE,
    make_app,
    parse,
    register,
    signed_by,
    webhook_server,
)

__all__ = [
    "CHANNEL_TIMEOUT",
    "CLEANUP_INTERVAL",
    "CONNECTION_LIMIT",
    "MAX_BODY",
    "MAX_HEADERS",
    "PATH",
    "SERVER_SETTINGS",
    "TOLERANCE",
    "make_app",
    "parse",
    "register",
    "signed_by",
    "webhook_server",
]
