"""Every sentence the bot says on X, in one place.

Public replies never contain a link (a post with a URL costs $0.20 and reads
like spam); links go by DM. Replies carry the request's code so that two equal
payments on one day are not refused by X as duplicate content.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.commands import DM_HELP
from bot.money import Money


def who(handle: str, name: str = "") -> str:
    return f"@{handle} ({name})" if name and name.lower() != handle.lower() else f"@{handle}"


def _minutes(ttl: timedelta) -> str:
    minutes = int(ttl.total_seconds() // 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"


def confirm_request(
    amount: Money,
    recipients: list[tuple[str, str]],
    memo: str | None,
    ttl: timedelta,
    code: str,
    has_card: bool,
) -> str:
    names = ", ".join(who(h, n) for h, n in recipients)
    if len(recipients) == 1:
        what = f"Send {amount} to {names}"
    else:
        what = f"Send {amount} each to {names} ({amount * len(recipients)} in all)"
    if memo:
        what += f' for "{memo}"'
    text = (
        f"{what}? Reply YES to confirm, NO to cancel. Expires in {_minutes(ttl)}. [{code}]"
    )
    if not has_card:
        text += " You have no saved card yet: reply REGISTER first, then YES."
    return text


def choose_code(options: list[tuple[str, Money, list[str]]]) -> str:
    parts = [
        f"YES {code} for {amount} to " + ", ".join(f"@{h}" for h in handles)
        for code, amount, handles in options
    ]
    return f"You have {len(options)} payments waiting. Reply " + ", or ".join(parts) + "."


def nothing_to_confirm(code: str | None) -> str:
    if code:
        return f"I have no payment waiting with the code {code}. Check the code in my last message."
    return "You have no payment waiting for confirmation. Post a command to start one."


def expired(amount: Money, handles: list[str], at: datetime, code: str) -> str:
    to = ", ".join(f"@{h}" for h in handles)
    return (
        f"Your payment of {amount} to {to} expired at {at:%H:%M} UTC and was not sent. "
        f"Post the command again to start over. [{code}]"
    )


def already_done(code: str, status: str) -> str:
    return f"The payment [{code}] is already {status}; nothing changed."


def no_card(code: str) -> str:
    return f"You have no saved card yet. Reply REGISTER to save one, then YES {code}."


def cancelled(code: str) -> str:
    return f"Cancelled. No money moved. [{code}]"


def sent_reply(sender: str, recipient: str, amount: Money, code: str) -> str:
    return f"@{sender} sent @{recipient} {amount} ✅ [{code}]"


def held_reply(sender: str, recipient: str, amount: Money, until: datetime, code: str) -> str:
    return (
        f"@{sender} sent @{recipient} {amount}. @{recipient}, it's held for you: "
        f"DM me CLAIM by {until:%b} {until.day} to receive it. [{code}]"
    )


def declined(recipient: str, amount: Money, reason: str, code: str) -> str:
    return (
        f"Your card was declined ({reason}), so {amount} was not sent to @{recipient}. "
        f"Nothing was charged. [{code}]"
    )


def needs_auth(recipient: str, amount: Money, code: str) -> str:
    return (
        f"Your bank wants you to approve the payment of {amount} to @{recipient} and the "
        f"sandbox cannot ask it, so it was not sent. Nothing was charged. [{code}]"
    )


def returned(recipient: str, amount: Money, days: int, code: str) -> str:
    return (
        f"@{recipient} did not claim your {amount} within {days} days, "
        f"so it went back to you. [{code}]"
    )


def claimed(items: list[tuple[str, Money]]) -> str:
    parts = ", ".join(f"{amount} from @{sender}" for sender, amount in items)
    return f"Done: you received {parts}."


def claim_nothing() -> str:
    return "You're set up to receive payments. Nothing is waiting for you right now."


def onboarding_link(url: str) -> str:
    return f"To receive payments, finish setting up your account here: {url}"


def error_reply(handle: str, message: str) -> str:
    return f"@{handle} {message}"


def cant_dm(handle: str) -> str:
    return (
        f"@{handle} I couldn't send you the confirmation by DM. Allow DMs from me "
        f"(or DM me HELP first), then post the command again."
    )


def edit_too_late() -> str:
    return "This edit names someone an earlier edit removed; post a new command instead."


def tweet_help(handle: str, bot: str) -> str:
    return (
        f"@{handle} Send money with: @{bot} send 5 to @alice for pizza. "
        f"I'll DM you to confirm before anything moves."
    )


DM_HELP_TEXT = DM_HELP
