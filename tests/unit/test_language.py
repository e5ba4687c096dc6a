"""The command language, rule by rule: a table of accepted and refused posts and DMs,
in English and French, and properties that hold for any text at all."""

from __future__ import annotations

import itertools
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import Command, PostKind, parse_command, parse_dm
from bot.errors import CommandError
from bot.money import Money
from tests.support.language_cases import ACCEPTED, DM_ACCEPTED, DM_REFUSED, REFUSED


@pytest.mark.parametrize(("text", "fields"), ACCEPTED)
def test_accepted(text: str, fields: dict[str, object]) -> None:
    """Each accepted form reads as the command it says."""
    out = parse_command(text).to_json()
    assert {k: out[k] for k in fields} == fields


@pytest.mark.parametrize(("text", "needle"), REFUSED)
def test_refused(text: str, needle: str) -> None:
    """Each refusal is a CommandError whose sentence says what is wrong."""
    with pytest.raises(CommandError) as info:
        parse_command(text)
    assert needle in info.value.message


@pytest.mark.parametrize(("text", "fields"), DM_ACCEPTED)
def test_dm_accepted(text: str, fields: dict[str, object]) -> None:
    out = parse_dm(text).to_json()
    assert {k: out[k] for k in fields} == fields


@pytest.mark.parametrize("text", DM_REFUSED)
def test_dm_refused_with_the_help(text: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_dm(text)
    assert any(w in info.value.message for w in ("YES", "OUI", "invisible", "too long"))


def test_the_table_is_big_enough() -> None:
    assert len(ACCEPTED) + len(REFUSED) + len(DM_ACCEPTED) + len(DM_REFUSED) >= 150


def test_enabled_currencies_come_from_the_caller() -> None:
    """Only enabled currencies are accepted; the default currency is always one of them."""
    assert parse_command("@paybot send 5 CHF to @a", enabled=("USD", "CHF")).amount == Money(500, "CHF")
    with pytest.raises(CommandError, match="I don't take EUR here; use USD or CHF"):
        parse_command("@paybot send 5€ to @a", enabled=("USD", "CHF"))
    assert parse_command("@paybot send 5 to @a", currency="CAD", enabled=("USD",)).amount == Money(500, "CAD")


# ---------------------------------------------------------------- properties

handles = st.text(alphabet=string.ascii_lowercase + string.digits + "_", min_size=1, max_size=15).filter(
    lambda h: h != "paybot"
)
memos = (
    st.text(alphabet=string.ascii_letters + string.digits + " .,!?'-éà€$@", min_size=1, max_size=100)
    .map(str.strip)
    .filter(bool)
)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    kind = draw(st.sampled_from(["send", "request"]))
    code = draw(st.sampled_from(["USD", "EUR", "GBP"]))
    minor = draw(st.integers(min_value=1, max_value=9_999_999_99))
    people = tuple(draw(st.lists(handles, min_size=1, max_size=10, unique=True)))
    memo = draw(st.none() | memos)
    return Command(PostKind(kind), Money(minor, code), people, memo)


@given(commands())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_command_written_out_parses_back_to_itself(cmd: Command) -> None:
    """Rendering a command in canonical form and parsing it gives the same command."""
    assert parse_command(cmd.canonical()) == cmd


@given(st.text(max_size=300))
@settings(max_examples=500, deadline=None)
def test_any_text_is_a_command_or_a_command_error(text: str) -> None:
    """parse never raises anything but CommandError, whatever the text."""
    for candidate in (text, "@paybot " + text, "@paybot send " + text, "@paybot pay @alice " + text):
        try:
            parse_command(candidate)
        except CommandError:
            pass
        try:
            parse_dm(candidate)
        except CommandError:
            pass


amount_texts = st.from_regex(r"[-+]?[0-9]{0,9}([.,][0-9]{0,4})?(e[0-9])?", fullmatch=True)


@given(amount_texts, st.sampled_from(["", "$", "€", " USD", "eur"]))
@settings(max_examples=300, deadline=None)
def test_amounts_are_never_floats(number: str, unit: str) -> None:
    """An accepted amount is an int of minor units whose decimal string has exactly two decimals."""
    try:
        cmd = parse_command(f"@paybot send {number}{unit} to @alice")
    except CommandError:
        return
    assert cmd.amount is not None and type(cmd.amount.minor) is int and cmd.amount.minor > 0
    amount = cmd.to_json()["amount"]
    assert isinstance(amount, str)
    whole, _, frac = amount.partition(".")
    assert whole.isdigit() and len(frac) == 2


def test_every_verb_in_every_shape() -> None:
    """All send and request verbs work in each of their shapes, with the language they imply."""
    send = ["send", "pay", "tip", "give", "envoie", "envoyer", "envoyez", "paie", "paye", "payer", "donne", "donner"]
    request = ["request", "ask", "demande", "demander"]
    french = {"envoie", "envoyer", "envoyez", "paie", "paye", "payer", "donne", "donner", "demande", "demander"}
    for verb, shape in itertools.product(send, ["{v} 5 to @a", "{v} @a 5", "#{v} 5 @a"]):
        cmd = parse_command("@paybot " + shape.format(v=verb))
        assert (cmd.kind, cmd.lang) == ("send", "fr" if verb in french else "en")
    for verb, shape in itertools.product(request, ["{v} 5 from @a", "{v} 5 à @a", "{v} @a 5"]):
        assert parse_command("@paybot " + shape.format(v=verb)).kind == "request"
