"""Handles that name their instance (`@alice@other.example`, Mastodon's form) in the command language: read only
when the timeline is Mastodon's (`fediverse=True`), refused as X refuses them otherwise, X's own handles read as
before either way."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import parse_command
from bot.errors import CommandError

USER = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_", min_size=1, max_size=30)
LABEL = st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=12)
DOMAIN = st.lists(LABEL, min_size=2, max_size=4).map(".".join)


@pytest.mark.parametrize(
    ("text", "recipients"),
    [
        ("@paybot send 5 to @alice@other.example", ("alice@other.example",)),
        ("@paybot send 5 to @Alice@Other.Example for pizza", ("alice@other.example",)),
        ("@paybot send 5 to @alice@other.example.", ("alice@other.example",)),  # the full stop ends the sentence
        ("@paybot pay @bob @carol@social.example.org 2", ("bob", "carol@social.example.org")),
        ("@paybot request 5 from @dana@m.example and @eve", ("dana@m.example", "eve")),
        ("@paybot send 5 to @a_thirty_character_username_x@m.example", ("a_thirty_character_username_x@m.example",)),
    ],
)
def test_mastodon_handles_are_read_on_mastodon(text: str, recipients: tuple[str, ...]) -> None:
    assert parse_command(text, fediverse=True).recipients == recipients


@pytest.mark.parametrize(
    "text",
    [
        "@paybot send 5 to @alice@other",  # no dot: not an instance
        "@paybot send 5 to @alice@@other.example",
        "@paybot send 5 to @alicé@other.example",
        "@paybot send 5 to @a_thirty_one_character_username@m.example",
        "@paybot send 5 to @abcdefghijklmnop",  # a bare handle stays at most 15
    ],
)
def test_malformed_mastodon_handles_are_refused_never_cut_short(text: str) -> None:
    with pytest.raises(CommandError) as err:
        parse_command(text, fediverse=True)
    assert err.value.key == "handle.bad.mastodon"


def test_on_x_a_handle_naming_an_instance_is_refused() -> None:
    """X has no instances: @alice@other.example is no X handle (and is never looked up there)."""
    with pytest.raises(CommandError) as err:
        parse_command("@paybot send 5 to @alice@other.example")
    assert err.value.key == "handle.bad"
    assert parse_command("@paybot send 5 to @alice").recipients == ("alice",)


@given(user=USER, domain=DOMAIN, punct=st.sampled_from(["", ".", "!", ",", "?"]))
def test_any_well_formed_mastodon_handle_is_read_whole(user: str, domain: str, punct: str) -> None:
    """Whatever the user and instance, the handle comes out whole and in lower case, never cut."""
    if domain.endswith("-") or "-." in domain:  # still a well-formed token for the grammar; kept simple here
        domain = domain.replace("-", "a")
    cmd = parse_command(f"@paybot send 5 to @{user}@{domain}{punct}", fediverse=True)
    assert cmd.recipients == (f"{user}@{domain}".lower(),)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("@paybot send 5 to @alice@@other.example", "handle.bad"),
        ("@paybot envoie 5 à @alice@@other.example", "handle.bad"),
        ("@paybot send 5 to", "recipients.missing"),
        ("@paybot envoie 5 à", "recipients.missing"),
    ],
)
def test_on_mastodon_the_refusal_speaks_of_mastodon_handles_in_each_language(text: str, key: str) -> None:
    """The refusal of a malformed or missing handle names Mastodon there, never X, in English and in French; on X
    the same text keeps X's wording."""
    with pytest.raises(CommandError) as masto:
        parse_command(text, fediverse=True)
    assert masto.value.key == f"{key}.mastodon"
    assert "Mastodon" in masto.value.message and " X" not in masto.value.message
    with pytest.raises(CommandError) as x:
        parse_command(text)
    assert x.value.key == key and " X" in x.value.message
