"""The bot's public text is its own: what users wrote reaches a public reply only as plain words."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.commands import parse_command
from bot.errors import CommandError
from bot.messages import PUBLIC_MEMO_MAX, public_memo


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
            if token not in {"send", "alice"} and not token.isdigit():
                assert token not in said, (token, said)


def test_length_is_counted_as_x_counts_it() -> None:
    """Most CJK characters and emoji count 2, a link 23: 140 such characters fill a post."""
    from bot.messages import fits, weighted_length

    assert weighted_length("日" * 140) == 280 and fits("日" * 140) and not fits("日" * 141)
    assert weighted_length("😀") == 2 and weighted_length("https://example.com/a/very/long/path") == 23
    assert fits("a" * 280) and not fits("a" * 281)
