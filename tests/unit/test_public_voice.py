"""The bot's public text is its own: what users wrote reaches a public reply only as plain words."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twitter_text.regexp.latin_accent_chars import latin_accent_chars

from bot.commands import parse_command
from bot.errors import CommandError
from bot.messages import CATALOG, PUBLIC_MEMO_MAX, public_memo, text, who


@given(st.text(max_size=300))
def test_a_public_memo_is_plain_words_whatever_was_written(memo: str) -> None:
    """No link, domain, mention, hashtag or new line can survive, and it fits in 40 characters."""
    out = public_memo(memo)
    assert len(out) <= PUBLIC_MEMO_MAX
    assert all(ch.isalnum() or ch == " " for ch in out)
    assert out == out.strip() and "  " not in out


def test_a_public_memo_keeps_the_words_it_can() -> None:
    """Plain words pass as written; a cut falls between words."""
    assert public_memo("the pizza") == "the pizza"
    assert public_memo("see evil.com/x @bob #win\nnow") == "see evil com x bob win now"
    assert public_memo("word " * 20) == " ".join(["word"] * 8)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_a_refused_command_never_says_the_amount_back(junk: str) -> None:
    """Whatever stands where the amount goes, a refusal never quotes it (X would make links of it)."""
    text = f"@paybot send {junk} to @alice"
    try:
        parse_command(text)
    except CommandError as err:
        said = err.message
        for token in re.findall(r"\S{4,}", junk):
            # (a token that is part of the bot's own handle, "payb", is in the refusal's example of a send)
            if token not in {"send", "alice"} and token not in "@paybot" and not token.isdigit():
                assert token not in said, (token, said)


def test_length_is_counted_as_x_counts_it() -> None:
    """Most CJK characters and emoji count 2, a link 23: 140 such characters fill a post."""
    from bot.messages import fits, weighted_length

    assert weighted_length("日" * 140) == 280 and fits("日" * 140) and not fits("日" * 141)
    assert weighted_length("😀") == 2 and weighted_length("https://example.com/a/very/long/path") == 23
    assert fits("a" * 280) and not fits("a" * 281)


# X's rule for a mention, as twitter-text writes it (validMentionOrList and endMentionMatch): an at sign
# not preceded by a letter, digit or one of _!#$%&*@＠ (or preceded by "RT"), then 1-20 of [A-Za-z0-9_], not
# followed by an at sign, a Latin accented letter or "://" (a list, @name/list, counted too). A handle itself
# is at most 15 of those.
_MENTION = re.compile(
    r"(?:^|(?<=[^a-zA-Z0-9_!#$%&*@＠])|(?<=(?:rt|RT|rT|Rt))|(?<=(?:rt|RT|rT|Rt):))[@＠]"
    r"([a-zA-Z0-9_]{1,20})"
)
_END_MENTION = re.compile(rf"[@＠{latin_accent_chars.pattern}]|://")


def x_mentions(text: str) -> list[str]:
    """The screen names X would make mentions of in `text`."""
    return [m.group(1) for m in _MENTION.finditer(text) if not _END_MENTION.match(text, m.end())]


def test_x_mentions_follows_x() -> None:
    assert x_mentions("@bob sent @alice $5 [K7Q2]") == ["bob", "alice"]
    assert x_mentions("RT @bob: hi, a@b.com, @alicé, @al://x, @…, @ and their handle") == ["bob"]


def test_the_bot_names_nobody_by_example() -> None:
    """No sentence the bot says, in either language, @-names anyone but the people its placeholders bring in
    (the bot itself, the sender, the recipient...): anyone can own @alice, or have told the bot STOP. An
    example recipient is written so that X makes no mention of it (`@…`)."""
    for key, templates in CATALOG.items():
        for template in templates:
            fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            values = {name: f"ph{i}" for i, name in enumerate(sorted(fields))}
            said = template.format(**values)
            # Strictest reading first: any @ or ＠ before a handle character at all.
            named = re.findall(r"[@＠]([A-Za-z0-9_]+)", said)
            assert set(named) <= set(values.values()), (key, said)
            assert set(x_mentions(said)) <= set(values.values()), (key, said)
    assert x_mentions(text("usage", "en", bot="paybot")) == ["paybot"]
    assert x_mentions(text("tweet_help", "fr", bot="paybot")) == ["paybot"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Refund desk - details at evil.com", "@mallory (Refund desk details)"),
        ("Café. NB: the real amount is $2.50", "@mallory (Café NB the)"),
        ("@bob says pay http://x.co", "@mallory (bob says pay)"),
        ("Jean-Luc O'Neil", "@mallory (Jean-Luc O'Neil)"),
        ("mallory", "@mallory"),
        ("Mallory99", "@mallory"),
        ("$$$ 100 ###", "@mallory"),
        ("", "@mallory"),
    ],
)
def test_a_display_name_is_shown_as_a_few_plain_words(name: str, shown: str) -> None:
    """A stranger's display name reaches a confirmation as at most three words of letters: no link, domain,
    amount or @-mention of theirs stands in the bot's own words."""
    assert who("mallory", name) == shown
