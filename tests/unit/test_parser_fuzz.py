"""The parser over all of Unicode: any post or DM is a command or a CommandError, never a crash; a letter
that only case-folds to an ASCII one (ſ, K, İ, ı) is never read as that letter in a keyword; and
`paybot parse` answers any argument and any standard input, even bytes that are not UTF-8, without a
traceback."""

from __future__ import annotations

import json
import os
import re
import string
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.main import get_command

from bot.cli import app
from bot.commands import Command, DmCommand, parse_command, parse_dm
from bot.errors import CommandError
from tests.support.command_cases import SEND_CASES
from tests.support.language_cases import ACCEPTED, DM_ACCEPTED, DM_REFUSED, REFUSED

pytestmark = pytest.mark.process

# The letters outside ASCII that Python's re matches to an ASCII letter case-insensitively
# (U+0130 İ, U+0131 ı, U+017F ſ, U+212A K when this was written), computed, not listed.
FOLDING = re.findall("[a-z]", "".join(map(chr, range(0x80, 0x110000))), re.I)
LOOK_ALIKES = {a: [c for c in FOLDING if re.fullmatch(a, c, re.I)] for a in string.ascii_lowercase}
LOOK_ALIKES = {a: cs for a, cs in LOOK_ALIKES.items() if cs}

# Every keyword of bot/grammar.lark (and of the module's own regexes), as the docs write them, by role.
VERBS = [
    "send",
    "pay",
    "tip",
    "give",
    "envoie",
    "envoyer",
    "envoyez",
    "paie",
    "paye",
    "payer",
    "donne",
    "donner",
    "request",
    "ask",
    "demande",
    "demander",
    "#send",
    "#envoyer",
]
HELP = ["help", "aide", "?", "#help"]
LINKS = ["to", "à", "a", "from", "de"]
AMOUNTS = ["5", "5.50", "5,50", "1,000", "nan", "inf", "infinity", "-inf"]
UNITS = [
    "usd",
    "eur",
    "gbp",
    "cad",
    "aud",
    "chf",
    "jpy",
    "dollar",
    "dollars",
    "euro",
    "euros",
    "pound",
    "pounds",
    "livre",
    "livres",
    "$",
    "€",
    "£",
    "¥",
]
PEOPLE = ["@alice", "@bob and @carol", "@bob et @carol chacun", "@kim & @sis each", "@ik, @ki chacune"]
TAILS = ["", "for pizza", "pour le café", "!"]
DM_WORDS = [
    "yes",
    "y",
    "ok",
    "okay",
    "confirm",
    "oui",
    "o",
    "no",
    "n",
    "cancel",
    "non",
    "annuler",
    "claim",
    "réclamer",
    "reclamer",
    "history",
    "historique",
    "register",
    "inscription",
    "cashout",
    "cash out",
    "cash-out",
    "withdraw",
    "retrait",
    "retirer",
    "virement",
    "privacy",
    "confidentialité",
    "confidentialite",
    "stop",
    "arrêt",
    "arret",
    "start",
    "reprendre",
    "help",
    "aide",
]
DM_ARGS = [
    "",
    "public",
    "publique",
    "private",
    "privé",
    "prive",
    "privée",
    "quiet",
    "silencieux",
    "discret",
    "K7Q2",
    "kiss",
    *UNITS[:7],
]
KEYWORDS = VERBS + HELP + LINKS + AMOUNTS + UNITS + ["and", "et", "&", "each", "chacun", "chacune", "for", "pour"]
KEYWORDS += DM_WORDS + DM_ARGS
EXAMPLES = (
    [t for t, _ in ACCEPTED]
    + [t for t, _ in REFUSED]
    + [t for t, *_ in SEND_CASES]
    + [t for t, _ in DM_ACCEPTED]
    + DM_REFUSED
)
EXAMPLES = [t for t in EXAMPLES if len(t) <= 300]

_CASES = [str, str.upper, str.title]


def _word(words: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda word, case: case(word), st.sampled_from(words), st.sampled_from(_CASES))


_posts = st.builds(
    lambda verb, amount, unit, link, people, tail, unit_first: " ".join(
        [verb, f"{unit}{amount}" if unit_first else f"{amount} {unit}", link, people, tail]
    ),
    _word(VERBS),
    st.sampled_from(AMOUNTS),
    _word(UNITS) | st.just(""),
    _word(LINKS),
    st.sampled_from(PEOPLE),
    st.sampled_from(TAILS),
    st.booleans(),
)
_dms = st.builds(lambda word, arg: f"{word} {arg}", _word(DM_WORDS), _word(DM_ARGS))
_pieces = st.lists(_word([*KEYWORDS, "@alice", "5", "K7Q2"]), min_size=1, max_size=6).map(" ".join)
# A command built from the grammar's keywords (each in some case), a jumble of them, or an example command.
sentences = st.one_of(_posts, _dms, _pieces, st.sampled_from(EXAMPLES) | _word(HELP))
odd_letters = st.sampled_from(FOLDING) | st.characters()
# Each edit: 0 puts a letter that case-folds to the letter there in its place (the n-th such letter of the
# text), 1 replaces the character at n (modulo the length) with an odd letter, 2 inserts one there.
edits = st.lists(
    st.tuples(st.sampled_from([0, 0, 1, 2]), st.integers(min_value=0, max_value=300), odd_letters),
    min_size=1,
    max_size=3,
)


def _edit(text: str, changes: list[tuple[int, int, str]]) -> str:
    for kind, n, ch in changes:
        if kind == 0:
            spots = [i for i, c in enumerate(text) if c.lower() in LOOK_ALIKES]
            if spots:
                i = spots[n % len(spots)]
                odd = LOOK_ALIKES[text[i].lower()]
                text = text[:i] + odd[n % len(odd)] + text[i + 1 :]
            continue
        where = n % (len(text) + 1)
        text = text[:where] + ch + text[where + (1 if kind == 1 else 0) :]
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
    cases = (
        [(t, False) for t, _ in ACCEPTED] + [(t, False) for t, *_ in SEND_CASES] + [(t, True) for t, _ in DM_ACCEPTED]
    )
    tried = 0
    for text, dm in cases:
        if len(text) > 300:
            continue
        assert _outcome(text, dm) is not None, text
        start = 0 if dm else re.search("[@＠]paybot", text, re.I).end()  # type: ignore[union-attr]
        for i in range(start, len(text)):
            for odd in LOOK_ALIKES.get(text[i].lower(), []):
                changed = text[:i] + odd + text[i + 1 :]
                out = _outcome(changed, dm)
                tried += 1
                assert out is None or odd in str(out.get("memo") or ""), (changed, out)
    assert tried > 300


def test_the_look_alikes_of_issue_22() -> None:
    """The texts that crashed the parser or were read as something else, each refused with a sentence."""
    for post in (
        "@paybot send 5 euroſ to @a",
        "@paybot send 5 dollarſ to @a",
        "@paybot ſend 5 to @a",
        "@paybot send 5 uſd to @a",
        "@paybot send 5uſd to @a",
        "@paybot \u212aeep 5 to @a",
        "@paybot send ınf to @a",
        "@paybot aſk 5 from @a",
        "@paybot #tİp @a 5",
    ):
        try:
            parse_command(post)
        except CommandError:
            continue
        raise AssertionError(f"{post!r} was accepted")
    for dm in (
        "privacy publİc",
        "privacy ſilencieux",
        "PRIVACY PUBLİC",
        "ſtop",
        "yeſ",
        "caſhout",
        "o\u212a",
        "confidentialité prİvée",
    ):
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


# ---------------------------------------------------------------- paybot parse

runner = CliRunner()
command = get_command(app)  # built once: typer's own runner builds it again for every call
# (typer vendors click, so to mypy its Command is not click's, though click's runner drives it: the ignores below)
# Arguments and lines: keyword texts with odd letters, any text, and text with lone surrogates
# (what Python makes of argv bytes that are not UTF-8).
cli_texts = (
    texts | st.text(max_size=80) | st.text(st.characters(codec=None, categories=["Cs", "Ll", "Zs"]), max_size=20)
)


def _check_lines(stdout: str, n: int) -> None:
    lines = stdout.splitlines()
    assert len(lines) == n, stdout
    for line in lines:
        out = json.loads(line)
        assert out["ok"] is True or (out["ok"] is False and isinstance(out["error"], str) and out["error"])


@given(
    cli_texts,
    st.booleans(),
    st.none() | st.sampled_from(["USD", "eur", "JPY"]) | cli_texts,
    st.none() | st.from_regex(r"@?[A-Za-z0-9_]{1,15}", fullmatch=True) | cli_texts,
)
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_paybot_parse_with_any_argument(text: str, dm: bool, currency: str | None, bot: str | None) -> None:
    """`paybot parse [--dm] [--currency C] [--bot B] -- TEXT` prints one JSON line, or refuses an option
    with one line and exit 2: never a traceback."""
    args = ["parse"] + (["--dm"] if dm else [])
    args += [f"--currency={currency}"] if currency is not None else []
    args += [f"--bot={bot}"] if bot is not None else []
    result = runner.invoke(command, [*args, "--", text])  # type: ignore[arg-type]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2) and "Traceback" not in result.output
    if result.exit_code == 0:
        _check_lines(result.stdout, 1)


@given(st.lists(cli_texts | st.binary(max_size=40), max_size=6), st.booleans())
@settings(max_examples=50, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_paybot_parse_with_any_standard_input(lines: list[str | bytes], dm: bool) -> None:
    """One JSON line per line of standard input, whatever its bytes: a line that is not UTF-8 gets
    `{"ok": false, "error": ...}`."""
    data = b"\n".join(x if isinstance(x, bytes) else x.encode("utf-8", "surrogatepass") for x in lines)
    expected = len(data.decode("utf-8", "surrogateescape").splitlines())
    result = runner.invoke(command, ["parse", *(["--dm"] if dm else [])], input=data)  # type: ignore[arg-type]
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0
    _check_lines(result.stdout, expected)


def test_paybot_parse_reads_bytes_that_are_not_utf8() -> None:
    """The real command, its standard streams strict UTF-8 (as in a UTF-8 locale), fed lines that are not
    UTF-8 between good ones: a clear error line for each, the others parsed, exit 0, nothing on standard
    error."""
    data = b"@paybot send 5 to @alice\n@paybot send 5 to @b\xffob\n\xed\xa0\x80\n@paybot help\n"
    env = os.environ | {"PYTHONIOENCODING": "utf-8:strict"}
    out = subprocess.run([sys.executable, "-m", "bot", "parse"], input=data, capture_output=True, env=env, timeout=60)
    assert out.returncode == 0 and out.stderr == b""
    lines = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    assert [x["ok"] for x in lines] == [True, False, False, True]
    assert lines[1] == lines[2] == {"ok": False, "error": "the text is not valid UTF-8"}
