"""The command language, rule by rule: a table of accepted and refused posts and DMs,
in English and French, and properties that hold for any text at all."""

from __future__ import annotations

import itertools
import string
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands import Command, parse_command, parse_dm
from bot.errors import CommandError
from bot.money import Money

# (text, expected): expected is a dict of JSON fields for an accepted command,
# or a string that the refusal must contain.
ACCEPTED: list[tuple[str, dict[str, object]]] = [
    # where the command starts
    ("@paybot send 5 to @alice", {"command": "send", "amount": "5.00", "recipients": ["alice"]}),
    ("hey @paybot send 5 to @alice", {"recipients": ["alice"]}),
    ("@carol @paybot send 5 to @alice", {"recipients": ["alice"]}),
    ("@PayBot send 5 to @alice", {"amount": "5.00"}),
    ("@PAYBOT SEND 5 TO @ALICE", {"recipients": ["alice"]}),
    ("＠paybot send 5 to @alice", {"recipients": ["alice"]}),
    ("@paybot   send   5   to   @alice  ", {"amount": "5.00"}),
    ("@paybot\nsend 5\nto @alice", {"amount": "5.00"}),
    # English send verbs and shapes
    ("@paybot pay 5 to @alice", {"command": "send"}),
    ("@paybot tip 5 to @alice", {"command": "send"}),
    ("@paybot give 5 to @alice", {"command": "send"}),
    ("@paybot #send 5 to @alice", {"command": "send"}),
    ("@paybot #tip @alice 2", {"command": "send", "amount": "2.00"}),
    ("@paybot send 5 @alice", {"recipients": ["alice"]}),
    ("@paybot pay @alice 5", {"recipients": ["alice"], "amount": "5.00"}),
    ("@paybot pay @alice 5 for lunch", {"memo": "lunch"}),
    ("@paybot tip @alice $3", {"amount": "3.00", "currency": "USD"}),
    ("@paybot send 5 to @alice for the pizza", {"memo": "the pizza"}),
    ("@paybot send 5 to @alice for The Pizza 🍕", {"memo": "The Pizza 🍕"}),
    ("@paybot send 5 to @alice FOR Lunch", {"memo": "Lunch"}),
    ("@paybot send 5 to @alice for lunch with @bob", {"recipients": ["alice"], "memo": "lunch with @bob"}),
    ("@paybot send 5 to @alice for   spaced out  ", {"memo": "spaced out"}),
    ("@paybot send 5 to @alice for " + "x" * 100, {"memo": "x" * 100}),
    # French send verbs
    ("@paybot envoie 5 à @alice", {"command": "send", "lang": "fr"}),
    ("@paybot envoyer 5 à @alice", {"lang": "fr"}),
    ("@paybot envoyez 5 à @alice", {"lang": "fr"}),
    ("@paybot paie 5 à @alice", {"lang": "fr"}),
    ("@paybot paye 5 à @alice", {"lang": "fr"}),
    ("@paybot payer 5 à @alice", {"lang": "fr"}),
    ("@paybot donne 5 à @alice", {"lang": "fr"}),
    ("@paybot donner 5 à @alice", {"lang": "fr"}),
    ("@paybot #envoyer 20€ @alice", {"amount": "20.00", "currency": "EUR", "lang": "fr"}),
    ("@paybot envoie 5 a @alice", {"recipients": ["alice"]}),
    ("@paybot Envoie 5,50 € à @alice pour le café", {"amount": "5.50", "memo": "le café"}),
    ("@paybot paye @alice 3 pour le pain", {"amount": "3.00", "memo": "le pain"}),
    ("@paybot envoie 5 à @alice et @bob chacun", {"recipients": ["alice", "bob"]}),
    ("@paybot envoie 5 à @alice et @bob chacune", {"recipients": ["alice", "bob"]}),
    # requests
    ("@paybot request 5 from @bob", {"command": "request", "recipients": ["bob"]}),
    ("@paybot ask 5 from @bob for pizza", {"command": "request", "memo": "pizza"}),
    ("@paybot request $12.50 from @bob and @carol", {"amount": "12.50", "recipients": ["bob", "carol"]}),
    ("@paybot ask @bob 5", {"command": "request"}),
    ("@paybot demande 5 à @bob", {"command": "request", "lang": "fr"}),
    ("@paybot demande 5 de @bob pour la pizza", {"command": "request", "memo": "la pizza"}),
    ("@paybot demander 5€ à @bob et @carol", {"recipients": ["bob", "carol"], "currency": "EUR"}),
    # help
    ("@paybot help", {"command": "help"}),
    ("@paybot HELP", {"command": "help"}),
    ("@paybot ?", {"command": "help"}),
    ("@paybot aide", {"command": "help", "lang": "fr"}),
    ("@paybot #help", {"command": "help"}),
    # recipients
    ("@paybot send 5 to @a @b", {"recipients": ["a", "b"]}),
    ("@paybot send 5 to @a, @b, @c", {"recipients": ["a", "b", "c"]}),
    ("@paybot send 5 to @a,@b", {"recipients": ["a", "b"]}),
    ("@paybot send 5 to @a and @b", {"recipients": ["a", "b"]}),
    ("@paybot send 5 to @a & @b", {"recipients": ["a", "b"]}),
    ("@paybot send 5 to @a, @b and @c each", {"recipients": ["a", "b", "c"]}),
    ("@paybot send 5 to @A_1 @b_2", {"recipients": ["a_1", "b_2"]}),
    ("@paybot send 5 to @abcdefghijklmno", {"recipients": ["abcdefghijklmno"]}),
    ("@paybot send 5 to " + " ".join(f"@u{i}" for i in range(10)), {"recipients": [f"u{i}" for i in range(10)]}),
    # trailing punctuation
    ("@paybot send 5 to @alice!", {"recipients": ["alice"]}),
    ("@paybot send 5 to @alice.", {"recipients": ["alice"]}),
    ("@paybot send 5 to @alice?", {"recipients": ["alice"]}),
    ("@paybot send 5 to @alice, @bob.", {"recipients": ["alice", "bob"]}),
    ("@paybot pay @alice 5!", {"amount": "5.00"}),
    ("@paybot pay @alice 5.", {"amount": "5.00"}),
    ("@paybot pay @alice 5,", {"amount": "5.00"}),
    # amounts
    ("@paybot send 5.5 to @a", {"amount": "5.50"}),
    ("@paybot send 5.50 to @a", {"amount": "5.50"}),
    ("@paybot send 5,50 to @a", {"amount": "5.50"}),
    ("@paybot send 5,5 to @a", {"amount": "5.50"}),
    ("@paybot send 0.50 to @a", {"amount": "0.50"}),
    ("@paybot send 1,000.50 to @a", {"amount": "1000.50"}),
    ("@paybot send 1.000,50 to @a", {"amount": "1000.50"}),
    ("@paybot send 1,234,567.89 to @a", {"amount": "1234567.89"}),
    ("@paybot send 1234567 to @a", {"amount": "1234567.00"}),
    ("@paybot send 007 to @a", {"amount": "7.00"}),
    ("@paybot send $5 to @a", {"currency": "USD"}),
    ("@paybot send 5$ to @a", {"currency": "USD"}),
    ("@paybot send 5 $ to @a", {"currency": "USD"}),
    ("@paybot send €5 to @a", {"currency": "EUR"}),
    ("@paybot send 5€ to @a", {"currency": "EUR"}),
    ("@paybot send £5 to @a", {"currency": "GBP"}),
    ("@paybot send 5£ to @a", {"currency": "GBP"}),
    ("@paybot send USD 5 to @a", {"currency": "USD"}),
    ("@paybot send usd5 to @a", {"currency": "USD"}),
    ("@paybot send 5usd to @a", {"currency": "USD"}),
    ("@paybot send 5 EUR to @a", {"currency": "EUR"}),
    ("@paybot send 5eur to @a", {"currency": "EUR"}),
    ("@paybot send 5 Gbp to @a", {"currency": "GBP"}),
    ("@paybot send 5 dollars to @a", {"currency": "USD"}),
    ("@paybot send 1 dollar to @a", {"currency": "USD"}),
    ("@paybot send 5 euros to @a", {"currency": "EUR"}),
    ("@paybot send 5 euro to @a", {"currency": "EUR"}),
    ("@paybot send 5 pounds to @a", {"currency": "GBP"}),
    ("@paybot envoie 5 livres à @a", {"currency": "GBP"}),
    ("@paybot send $5 USD to @a", {"currency": "USD"}),
    ("@paybot send 5.5€ to @a", {"amount": "5.50", "currency": "EUR"}),
]

REFUSED: list[tuple[str, str]] = [
    # where the command starts
    ("RT @bob: @paybot send 5 to @alice", "repost"),
    ("send 5 to @alice", "not a command for @paybot"),
    ("@paybotx send 5 to @alice", "not a command for @paybot"),
    ("@paybot hello", "didn't understand"),
    ("@paybot sending 5 to @alice", "didn't understand"),
    ("@paybot " + "a" * 1000, "too long"),
    ("@paybot send 5 to @alice" + " " * 1000, "too long"),
    # invisible and direction-control characters
    *[(f"@paybot send 5 to @al{ch}ice", "invisible") for ch in
      ("\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
       "\u2060", "\u2061", "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff")],
    # amounts
    ("@paybot send 0 to @a", "more than zero"),
    ("@paybot send 0.00 to @a", "more than zero"),
    ("@paybot send 0,0 to @a", "more than zero"),
    ("@paybot send -5 to @a", "positive"),
    ("@paybot send −5 to @a", "positive"),
    ("@paybot send +5 to @a", "without a sign"),
    ("@paybot send 5.555 to @a", "ambiguous"),
    ("@paybot send 5.5555 to @a", "two decimals"),
    ("@paybot send 1,000.555 to @a", "two decimals"),
    ("@paybot send 1,000 to @a", "ambiguous"),
    ("@paybot send 1.000 to @a", "ambiguous"),
    ("@paybot send 12345678 to @a", "too large"),
    ("@paybot send 99999999.99 to @a", "too large"),
    ("@paybot send 1e3 to @a", "exponent"),
    ("@paybot send 1E3 to @a", "exponent"),
    ("@paybot send 2.5e2 to @a", "exponent"),
    ("@paybot send nan to @a", "not a number"),
    ("@paybot send NaN to @a", "not a number"),
    ("@paybot send inf to @a", "not a number"),
    ("@paybot send infinity to @a", "not a number"),
    ("@paybot send 0x10 to @a", "hexadecimal"),
    ("@paybot send 0XFF to @a", "hexadecimal"),
    ("@paybot send 1_000 to @a", "underscores"),
    ("@paybot send ٥ to @a", "digits 0-9"),
    ("@paybot send ５ to @a", "digits 0-9"),
    ("@paybot send 5٥ to @a", "digits 0-9"),
    ("@paybot send $5 EUR to @a", "two currencies"),
    ("@paybot send €5 USD to @a", "two currencies"),
    ("@paybot send 5usd € to @a", "two currencies"),
    ("@paybot send 5 CHF to @a", "I don't take CHF"),
    ("@paybot send 5 JPY to @a", "I don't take JPY"),
    ("@paybot send 5abc to @a", "I can't read that amount"),
    ("@paybot send 0.001 to @a", "at most two decimals"),
    ("@paybot send 1.evil.com to @a", "I can't read that amount; write it like 5 or 5.50."),
    ("@paybot send five to @a", "couldn't read"),
    ("@paybot send to @alice", "Tell me an amount"),
    ("@paybot envoie à @alice", "Indiquez un montant"),
    # people
    ("@paybot send 5", "Name who to pay"),
    ("@paybot send 5 to", "Name who to pay"),
    ("@paybot send 5 to @alicé", "not an X handle"),
    ("@paybot send 5 to @аlice", "not an X handle"),  # Cyrillic а
    ("@paybot send 5 to @αlice", "not an X handle"),  # Greek α
    ("@paybot send 5 to @alice😀", "not an X handle"),
    ("@paybot send 5 to @abcdefghijklmnop", "not an X handle"),
    ("@paybot send 5 to @", "not an X handle"),
    ("@paybot send 5 to @alice @alice", "named twice"),
    ("@paybot send 5 to @alice @ALICE", "named twice"),
    ("@paybot send 5 to @paybot", "can't receive"),
    ("@paybot send 5 to @PayBot and @alice", "can't receive"),
    ("@paybot send 5 to " + " ".join(f"@u{i}" for i in range(11)), "at most 10"),
    ("@paybot send 5 to @alice for " + "x" * 101, "at most 100"),
    ("@paybot send 5 to @alice for", "couldn't read"),
    # French answers
    ("@paybot envoie 0 à @alice", "supérieur à zéro"),
    ("@paybot envoie 5 à @alice @alice", "nommé deux fois"),
    ("@paybot envoie 5 CHF à @alice", "Je n'accepte pas CHF"),
    ("@paybot envoie 5 à @alicé", "n'est pas un compte X"),
    ("@paybot envoie 1,000 à @alice", "ambigu"),
    ("@paybot envoie cinq à @alice", "Je n'ai pas pu lire"),
    ("@paybot demande 5 à @paybot", "ne peut pas recevoir"),
]

DM_ACCEPTED: list[tuple[str, Mapping[str, object]]] = [
    *[(w, {"command": "confirm"}) for w in ("yes", "YES", "Yes", "confirm", "oui", "OUI")],
    *[(w, {"command": "cancel"}) for w in ("no", "NO", "n", "cancel", "non", "annuler")],
    ("yes k7q2", {"command": "confirm", "code": "K7Q2"}),
    ("oui K7Q2", {"command": "confirm", "code": "K7Q2", "lang": "fr"}),
    ("  yes   ABCD  ", {"command": "confirm", "code": "ABCD"}),
    ("no abcd", {"command": "cancel", "code": "ABCD"}),
    ("annuler ABCD", {"command": "cancel", "code": "ABCD", "lang": "fr"}),
    ("claim", {"command": "claim"}),
    ("réclamer", {"command": "claim", "lang": "fr"}),
    ("reclamer", {"command": "claim", "lang": "fr"}),
    ("help", {"command": "help"}),
    ("?", {"command": "help"}),
    ("aide", {"command": "help", "lang": "fr"}),
    ("history", {"command": "history"}),
    ("historique", {"command": "history", "lang": "fr"}),
    ("register", {"command": "register"}),
    ("inscription", {"command": "register", "lang": "fr"}),
    ("privacy public", {"command": "privacy", "setting": "public"}),
    ("privacy private", {"command": "privacy", "setting": "private"}),
    ("privacy quiet", {"command": "privacy", "setting": "quiet"}),
    ("PRIVACY QUIET", {"command": "privacy", "setting": "quiet"}),
    ("confidentialité privé", {"command": "privacy", "setting": "private", "lang": "fr"}),
    ("confidentialite silencieux", {"command": "privacy", "setting": "quiet", "lang": "fr"}),
    ("stop", {"command": "stop"}),
    ("STOP", {"command": "stop"}),
    ("arrêt", {"command": "stop", "lang": "fr"}),
    ("start", {"command": "start"}),
    ("reprendre", {"command": "start", "lang": "fr"}),
]

DM_REFUSED = ["ok", "okay", "y", "o", "OK",  # acknowledgements, not a yes
              "yess", "yes please", "yes K7Q2 now", "privacy", "privacy loud", "send 5 to @alice", "",
              "yes\u200b", "claim\u202e", "x" * 1001, "🙂", "oui oui"]


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
    lambda h: h != "paybot")
memos = st.text(alphabet=string.ascii_letters + string.digits + " .,!?'-éà€$@", min_size=1, max_size=100).map(
    str.strip).filter(bool)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    kind = draw(st.sampled_from(["send", "request"]))
    code = draw(st.sampled_from(["USD", "EUR", "GBP"]))
    minor = draw(st.integers(min_value=1, max_value=9_999_999_99))
    people = tuple(draw(st.lists(handles, min_size=1, max_size=10, unique=True)))
    memo = draw(st.none() | memos)
    return Command(kind, Money(minor, code), people, memo)


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
