"""The parser's tables of posts and DMs (what the grammar accepts and refuses): read by the parser's tests, the fuzz
tests and scripts/command_reference.py."""

from __future__ import annotations

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


DM_CASES = [
    ("yes", "confirm", None),
    ("YES", "confirm", None),
    ("confirm", "confirm", None),
    ("oui", "confirm", None),
    ("yes k7q2", "confirm", "K7Q2"),
    ("  Yes K7Q2 ", "confirm", "K7Q2"),
    ("no", "cancel", None),
    ("cancel ABCD", "cancel", "ABCD"),
    ("non", "cancel", None),
    ("claim", "claim", None),
    ("CLAIM", "claim", None),
    ("register", "register", None),
    ("help", "help", None),
    ("?", "help", None),
]
