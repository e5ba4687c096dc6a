"""The grammar: what paybot reads from a post or a DM, and what it refuses."""

from __future__ import annotations

import pytest

from bot.commands import parse_command, parse_dm
from bot.errors import CommandError

SEND_CASES = [
    # text, amount, currency, recipients, memo
    ("@paybot send 5 to @alice for the pizza", "5.00", "USD", ["alice"], "the pizza"),
    ("@paybot send $5 to @alice", "5.00", "USD", ["alice"], None),
    ("@paybot send 5$ to @alice", "5.00", "USD", ["alice"], None),
    ("@paybot pay 5.50 to @Alice", "5.50", "USD", ["alice"], None),
    ("@paybot tip 5 USD to @alice", "5.00", "USD", ["alice"], None),
    ("@paybot tip 5usd to @alice", "5.00", "USD", ["alice"], None),
    ("@paybot send USD 5 to @alice", "5.00", "USD", ["alice"], None),
    ("@paybot send €5 to @alice", "5.00", "EUR", ["alice"], None),
    ("@paybot send 5€ to @alice", "5.00", "EUR", ["alice"], None),
    ("@paybot send £2.5 to @alice", "2.50", "GBP", ["alice"], None),
    ("@paybot send 5 dollars to @alice", "5.00", "USD", ["alice"], None),
    ("@paybot pay @alice 5", "5.00", "USD", ["alice"], None),
    ("@paybot tip @alice 5 for Coffee ☕", "5.00", "USD", ["alice"], "Coffee ☕"),
    ("@paybot give 3 to @a and @b each", "3.00", "USD", ["a", "b"], None),
    ("@paybot send 3 to @a, @b, @c", "3.00", "USD", ["a", "b", "c"], None),
    ("@paybot send 5 @alice", "5.00", "USD", ["alice"], None),
    ("@PAYBOT SEND 5 TO @ALICE FOR Lunch", "5.00", "USD", ["alice"], "Lunch"),
    ("hey @paybot send 5 to @alice!", "5.00", "USD", ["alice"], None),
    ("@paybot #send 5 to @alice", "5.00", "USD", ["alice"], None),
    ("@paybot send 5 to @alice for lunch with @bob", "5.00", "USD", ["alice"], "lunch with @bob"),
    ("＠paybot send 5 to @alice", "5.00", "USD", ["alice"], None),
    ("@paybot send 1,000.50 to @alice", "1000.50", "USD", ["alice"], None),
]


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


REFUSED = [
    ("@paybot send 5 to @alicé", "not an X handle"),  # a look-alike is never truncated to @alic
    ("@paybot send 5 to @abcdefghijklmnop", "not an X handle"),  # 16 characters
    ("@paybot send 0 to @alice", "more than zero"),
    ("@paybot send -5 to @alice", "positive"),
    ("@paybot send 1,000 to @alice", "ambiguous"),
    ("@paybot send 5 to @alice @alice", "twice"),
    ("@paybot send 5 to @paybot", "can't receive"),
    ("@paybot send 5 XYZ to @alice", "couldn't read"),
    ("@paybot send five to @alice", "couldn't read"),
    ("@paybot send 5", "Name who to pay"),
    ("@paybot send to @alice", "Tell me an amount"),
    ("@paybot send 5 to @alice for " + "x" * 101, "at most 100"),
    ("@paybot send 5 to @alice\u202e", "invisible"),
    ("@paybot send 5 to @al\u200bice", "invisible"),
    ("@paybot send 5 to @alice " + "a" * 1000, "too long"),
    ("@paybot send 5 to " + " ".join(f"@u{i}" for i in range(11)), "at most 10"),
]


@pytest.mark.parametrize(("text", "needle"), REFUSED)
def test_refusals_carry_a_sentence_for_the_user(text: str, needle: str) -> None:
    """A bad command is refused with a message the user can act on, never an exception of another type."""
    with pytest.raises(CommandError) as info:
        parse_command(text)
    assert needle in info.value.message
    assert not info.value.quiet


@pytest.mark.parametrize("text", ["RT @bob: @paybot send 5 to @alice", "@paybot hello there", "no mention here",
                                  "@paybotx send 5 to @alice"])
def test_chatter_and_reposts_are_quiet(text: str) -> None:
    """Text that is not a command to the bot is refused quietly: the bot does not answer it."""
    with pytest.raises(CommandError) as info:
        parse_command(text)
    assert info.value.quiet


DM_CASES = [
    ("yes", "confirm", None), ("YES", "confirm", None), ("confirm", "confirm", None),
    ("oui", "confirm", None), ("yes k7q2", "confirm", "K7Q2"), ("  Yes K7Q2 ", "confirm", "K7Q2"),
    ("no", "cancel", None), ("cancel ABCD", "cancel", "ABCD"), ("non", "cancel", None),
    ("claim", "claim", None), ("CLAIM", "claim", None), ("register", "register", None),
    ("help", "help", None), ("?", "help", None),
]


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
