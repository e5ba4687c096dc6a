"""`paybot doctor`'s checks of the Mastodon timeline (PAYBOT_TIMELINE=mastodon): the token, its scopes, the
account's bot flag, the instance's status length and the rate-limit budget. Nothing is posted."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from bot.errors import ConfigError, XAuthError, XError
from bot.mastodon.client import MastodonTimeline

if TYPE_CHECKING:
    from bot.config import Settings

OK, WARN, FAIL = "ok", "warn", "fail"  # bot.doctor's statuses (which turns each Check into its own)


class Check(NamedTuple):
    name: str
    status: str
    detail: str


# What paybot does with the token, and the scopes that allow it (the broad scope or the granular one)
NEEDED = {
    "read:notifications": "read notifications (mentions and direct statuses)",
    "read:accounts": "look accounts up",
    "read:statuses": "read its own statuses (a send in doubt)",
    "write:statuses": "post replies and direct statuses",
}


def mastodon_checks(settings: Settings) -> list[Check]:
    """The Mastodon checks, in order; the first failure that makes the rest meaningless ends them."""
    try:
        base, token = settings.require_mastodon()
    except ConfigError as err:
        return [Check("Mastodon settings", FAIL, str(err))]
    timeline = MastodonTimeline(base_url=base, access_token=token, timeout=settings.x_timeout)
    try:
        me = timeline.me()
    except XAuthError:
        return [
            Check(
                "Mastodon token",
                FAIL,
                "the instance refused MASTODON_ACCESS_TOKEN (401): copy it again "
                "from the bot account's Preferences → Development",
            )
        ]
    except XError as err:
        return [Check("Mastodon token", FAIL, f"could not reach {base}: {err}")]
    out = []
    if me.handle.lower() != settings.paybot_handle.lower():
        out.append(
            Check("Mastodon token", FAIL, f"it is @{me.handle}'s, but PAYBOT_HANDLE is @{settings.paybot_handle}")
        )
    else:
        out.append(Check("Mastodon token", OK, f"@{me.handle} on {base} (id {me.id})"))
    try:
        app = timeline.api.app_verify_credentials()
        granted = set(app.get("scopes") or [])
    except Exception:  # older instances do not say; reading notifications below still tells
        granted = set()
    if granted:
        missing = [why for scope, why in NEEDED.items() if scope not in granted and scope.split(":")[0] not in granted]
        out.append(
            Check(
                "token scopes",
                FAIL if missing else OK,
                ("missing: it cannot " + "; ".join(missing)) if missing else ", ".join(sorted(granted)),
            )
        )
    out.append(
        Check(
            "bot flag",
            OK if timeline.is_bot() else WARN,
            "the account is flagged as a bot"
            if timeline.is_bot()
            else 'the account is not flagged as a bot: tick "This is an automated account" in its profile',
        )
    )
    try:
        timeline.dm_events(None)
        out.append(Check("notifications", OK, "reading mentions and direct statuses works"))
    except XError as err:
        out.append(Check("notifications", FAIL, f"reading notifications failed: {err}"))
    out.append(Check("status length", OK, f"{timeline.max_characters()} characters per status"))
    if timeline.limit:
        out.append(Check("rate limit", OK, f"{timeline.limit[1]} of {timeline.limit[0]} requests left in this window"))
    if timeline.streaming_healthy():
        out.append(Check("streaming", OK, "reachable: the worker follows the user stream and reads at once"))
    else:
        out.append(
            Check(
                "streaming",
                WARN,
                "the streaming server does not answer its health check: the worker "
                "will only poll (every PAYBOT_MENTIONS_INTERVAL)",
            )
        )
    return out
