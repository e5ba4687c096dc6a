"""The parser over all of Unicode: any post or DM is a command or a CommandError, never a crash; and a
letter that only case-folds to an ASCII one (ſ, K, İ, ı) is never read as that letter in a keyword."""

from __future__ import annotations

import re
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands import Command, DmCommand, parse_command, parse_dm
from bot.errors import CommandError
from tests.test_commands import SEND_CASES
from tests.test_language import ACCEPTED, DM_ACCEPTED, DM_REFUSED, REFUSED

# The letters outside ASCII that Python's re matches to an ASCII letter case-insensitively
# (U+0130 İ, U+0131 ı, U+017F ſ, U+212A K when this was written), computed, not listed.
FOLDING = re.findall("[a-z]", "".join(map(chr, range(0x80, 0x110000))), re.I)
LOOK_ALIKES = {a: [c for c in FOLDING if re.fullmatch(a, c, re.I)] for a in string.ascii_lowercase}
LOOK_ALIKES = {a: cs for a, cs in LOOK_ALIKES.items() if cs}

# Every keyword of bot/grammar.lark (and of the module's own regexes), as the README writes them, by role.
VERBS = ["send", "pay", "tip", "give", "envoie", "envoyer", "envoyez", "paie", "paye", "payer", "donne", "donner",
         "request", "ask", "demande", "demander", "#send", "#envoyer"]
HELP = ["help", "aide", "?", "#help"]
LINKS = ["to", "à", "a", "from", "de"]
AMOUNTS = ["5", "5.50", "5,50", "1,000", "nan", "inf", "infinity", "-inf"]
UNITS = ["usd", "eur", "gbp", "cad", "aud", "chf", "jpy", "dollar", "dollars", "euro", "euros", "pound", "pounds",
         "livre", "livres", "$", "€", "£", "¥"]
PEOPLE = ["@alice", "@bob and @carol", "@bob et @carol chacun", "@kim & @sis each", "@ik, @ki chacune"]
TAILS = ["", "for pizza", "pour le café", "!"]
DM_WORDS = ["yes", "y", "ok", "okay", "confirm", "oui", "o", "no", "n", "cancel", "non", "annuler", "claim",
            "réclamer", "reclamer", "history", "historique", "register", "inscription", "cashout", "cash out",
            "cash-out", "withdraw", "retrait", "retirer", "virement", "privacy", "confidentialité",
            "confidentialite", "stop", "arrêt", "arret", "start", "reprendre", "help", "aide"]
DM_ARGS = ["", "public", "publique", "private", "privé", "prive", "privée", "quiet", "silencieux", "discret",
           "K7Q2", "kiss", *UNITS[:7]]
KEYWORDS = VERBS + HELP + LINKS + AMOUNTS + UNITS + ["and", "et", "&", "each", "chacun", "chacune", "for", "pour"]
KEYWORDS += DM_WORDS + DM_ARGS
EXAMPLES = ([t for t, _ in ACCEPTED] + [t for t, _ in REFUSED] + [t for t, *_ in SEND_CASES]
            + [t for t, _ in DM_ACCEPTED] + DM_REFUSED)
EXAMPLES = [t for t in EXAMPLES if len(t) <= 300]

_CASES = [str, str.upper, str.title]


def _word(words: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda word, case: case(word), st.sampled_from(words), st.sampled_from(_CASES))


_posts = st.builds(
    lambda verb, amount, unit, link, people, tail, unit_first: " ".join(
        [verb, f"{unit}{amount}" if unit_first else f"{amount} {unit}", link, people, tail]),
    _word(VERBS), st.sampled_from(AMOUNTS), _word(UNITS) | st.just(""), _word(LINKS), st.sampled_from(PEOPLE),
    st.sampled_from(TAILS), st.booleans())
_dms = st.builds(lambda word, arg: f"{word} {arg}", _word(DM_WORDS), _word(DM_ARGS))
_pieces = st.lists(_word([*KEYWORDS, "@alice", "5", "K7Q2"]), min_size=1, max_size=6).map(" ".join)
# A command built from the grammar's keywords (each in some case), a jumble of them, or an example command.
sentences = st.one_of(_posts, _dms, _pieces, st.sampled_from(EXAMPLES) | _word(HELP))
odd_letters = st.sampled_from(FOLDING) | st.characters()
# Each edit: 0 puts a letter that case-folds to the letter there in its place (the n-th such letter of the
# text), 1 replaces the character at n (modulo the length) with an odd letter, 2 inserts one there.
edits = st.lists(st.tuples(st.sampled_from([0, 0, 1, 2]), st.integers(min_value=0, max_value=300), odd_letters),
                 min_size=1, max_size=3)


def _edit(text: str, changes: list[tuple[int, int, str]]) -> str:
    for kind, n, ch in changes:
        if kind == 0:
            spots = [i for i, c in enumerate(text) if c.lower() in LOOK_ALIKES]
            if spots:
                i = spots[n % len(spots)]
                odd = LOOK_ALIKES[text[i].lower()]
                text = text[:i] + odd[n % len(odd)] + text[i + 1:]
            continue
        where = n % (len(text) + 1)
        text = text[:where] + ch + text[where + (1 if kind == 1 else 0):]
    return text


# A sentence with a letter or two swapped for the letters that case-fold to them, or replaced by or
# preceded by any character at all.
texts = st.builds(_edit, sentences, edits)


def _parses_or_refuses(text: str) -> None:
    for post in (text, "@paybot " + text):
        try:
            assert isinstance(parse_command(post), Command)
        except CommandError:
            pass
    try:
        assert isinstance(parse_dm(text), DmCommand)
    except CommandError:
        pass


def test_the_folding_letters_are_found() -> None:
    """The four letters Python's re folds to ASCII are all there (a newer Unicode may add more)."""
    assert {"\u0130", "\u0131", "\u017f", "\u212a"} <= set(FOLDING)


@given(texts)
@settings(max_examples=500)
def test_keywords_with_odd_letters_are_a_command_or_a_command_error(text: str) -> None:
    """A post (with or without the bot's mention in front) or a DM made of keywords and examples with odd
    letters in them is read or refused with a sentence, never anything else."""
    _parses_or_refuses(text)


@given(st.text(max_size=200))
@settings(max_examples=500)
def test_any_text_is_a_command_or_a_command_error(text: str) -> None:
    _parses_or_refuses(text)


def _outcome(text: str, dm: bool) -> dict[str, object] | None:
    try:
        return (parse_dm(text) if dm else parse_command(text)).to_json()
    except CommandError:
        return None


def test_a_look_alike_letter_is_never_read_as_the_letter() -> None:
    """Every accepted example, with any one letter after the bot's mention replaced by each letter that
    case-folds to it, is refused, or is accepted only because that letter went into the memo (kept as
    written): `ſend` is not `send`, `publİc` is not `public`, `euroſ` is not `euros`."""
    cases = [(t, False) for t, _ in ACCEPTED] + [(t, False) for t, *_ in SEND_CASES] + [(t, True) for t, _ in
                                                                                       DM_ACCEPTED]
    tried = 0
    for text, dm in cases:
        if len(text) > 300:
            continue
        assert _outcome(text, dm) is not None, text
        start = 0 if dm else re.search("[@＠]paybot", text, re.I).end()  # type: ignore[union-attr]
        for i in range(start, len(text)):
            for odd in LOOK_ALIKES.get(text[i].lower(), []):
                changed = text[:i] + odd + text[i + 1:]
                out = _outcome(changed, dm)
                tried += 1
                assert out is None or odd in str(out.get("memo") or ""), (changed, out)
    assert tried > 300


def test_the_look_alikes_of_issue_22() -> None:
    """The texts that crashed the parser or were read as something else, each refused with a sentence."""
    for post in ("@paybot send 5 euroſ to @a", "@paybot send 5 dollarſ to @a", "@paybot ſend 5 to @a",
                 "@paybot send 5 uſd to @a", "@paybot send 5uſd to @a", "@paybot \u212aeep 5 to @a",
                 "@paybot send ınf to @a", "@paybot aſk 5 from @a", "@paybot #tİp @a 5"):
        try:
            parse_command(post)
        except CommandError:
            continue
        raise AssertionError(f"{post!r} was accepted")
    for dm in ("privacy publİc", "privacy ſilencieux", "PRIVACY PUBLİC", "ſtop", "yeſ", "caſhout", "o\u212a",
               "confidentialité prİvée"):
        try:
            parse_dm(dm)
        except CommandError:
            continue
        raise AssertionError(f"{dm!r} was accepted")


def test_upper_case_french_keywords_still_read() -> None:
    """Reading keywords in ASCII keeps French accented words in any case."""
    assert parse_dm("RÉCLAMER").kind == "claim"
    assert parse_dm("ARRÊT").kind == "stop"
    assert parse_dm("CONFIDENTIALITÉ PRIVÉE").setting == "private"
    assert parse_dm("Confidentialité Privé").setting == "private"
    assert parse_command("@paybot envoie 5 À @alice").recipients == ("alice",)
