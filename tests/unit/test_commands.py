"""The grammar: what paybot reads from a post or a DM, and what it refuses."""

from __future__ import annotations

import pytest

from bot.commands import parse_command, parse_dm
from bot.errors import CommandError
from tests.support.command_cases import DM_CASES, REFUSED, SEND_CASES


@pytest.mark.parametrize(("text", "amount", "currency", "recipients", "memo"), SEND_CASES)
def test_send_commands(text: str, amount: str, currency: str, recipients: list[str], memo: str | None) -> None:
    """Each accepted form of a send reads as the same kind of command."""
    out = parse_command(text).to_json()
    assert out["command"] == "send"
    assert (out["amount"], out["currency"], out["recipients"], out["memo"]) == (amount, currency, recipients, memo)


def test_bare_amounts_take_the_configured_currency() -> None:
    """--currency sets the currency of an amount written without one."""
    assert parse_command("@paybot send 5 to @alice", currency="EUR").to_json()["currency"] == "EUR"
    assert parse_command("@paybot send $5 to @alice", currency="EUR").to_json()["currency"] == "USD"


def test_another_bot_handle() -> None:
    """The bot's handle is a setting; other bots' mentions are not commands for it."""
    assert parse_command("@tipper send 5 to @alice", bot="tipper").recipients == ("alice",)
    with pytest.raises(CommandError):
        parse_command("@paybot send 5 to @alice", bot="tipper")


def test_help() -> None:
    assert parse_command("@paybot help").kind == "help"
    assert parse_command("@paybot ?").kind == "help"


@pytest.mark.parametrize(("text", "needle"), REFUSED)
def test_refusals_carry_a_sentence_for_the_user(text: str, needle: str) -> None:
    """A bad command is refused with a message the user can act on, never an exception of another type."""
    with pytest.raises(CommandError) as info:
        parse_command(text)
    assert needle in info.value.message
    assert not info.value.quiet


@pytest.mark.parametrize(
    "text", ["RT @bob: @paybot send 5 to @alice", "@paybot hello there", "no mention here", "@paybotx send 5 to @alice"]
)
def test_chatter_and_reposts_are_quiet(text: str) -> None:
    """Text that is not a command to the bot is refused quietly: the bot does not answer it."""
    with pytest.raises(CommandError) as info:
        parse_command(text)
    assert info.value.quiet


@pytest.mark.parametrize(("text", "kind", "code"), DM_CASES)
def test_dm_commands(text: str, kind: str, code: str | None) -> None:
    """DM words map to their commands, codes upper-cased."""
    cmd = parse_dm(text)
    assert (cmd.kind, cmd.code) == (kind, code)


@pytest.mark.parametrize("text", ["yess", "send 5 to @alice", "yes K7Q2 please", "", "yes\u200b"])
def test_unknown_dms_get_the_help_text(text: str) -> None:
    """Anything else in a DM is refused with the DM help as the answer."""
    with pytest.raises(CommandError) as info:
        parse_dm(text)
    assert "YES" in info.value.message or "invisible" in info.value.message
