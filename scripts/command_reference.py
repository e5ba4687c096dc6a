"""Write docs/commands/reference.md, the command language's reference, from the grammar itself.

Nothing in the page is written by hand, so it cannot drift from what paybot reads:
- the rules are bot/grammar.lark's own, and its words are read from the grammar's terminals;
- the examples are the grammar's comments and the tables of tests/support/command_cases.py (the parser's tests);
- each example's answer is what `paybot parse` prints for it (one process for posts, one for DMs, with no
  settings of the operator's: USD, the default currencies, the handle paybot).

    .venv/bin/python scripts/command_reference.py          # writes the page
    .venv/bin/python scripts/command_reference.py --check  # exits 1, saying so, when the page is not current

tests/unit/test_docs.py runs `--check`; the documentation build (scripts/mkdocs_hooks.py) renders the page from
`generate()` whatever the file holds.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "commands" / "reference.md"
GRAMMAR = ROOT / "bot" / "grammar.lark"
# How a grammar comment's examples become whole texts: a post's words follow the bot's mention.
SHAPES = {"send": "@paybot {}", "request": "@paybot {}", "amount": "@paybot send {} to @alice"}
# The grammar's words, by what they do, in the order a reader meets them.
WORDS = [
    ("SEND", "send (post)"),
    ("REQUEST", "request (post)"),
    ("HELP", "help (post or DM)"),
    ("_TO", "to, before a send's people or a request's payers"),
    ("_FROM", "from, before a request's payers"),
    ("_AND", "and, between people"),
    ("_EACH", "each, after the people"),
    ("_FOR", "for, before the memo"),
    ("SYMBOL", "currency symbol"),
    ("CODE", "currency code"),
    ("CURRENCY_WORD", "currency word"),
    ("BAD_NUMBER", "refused as an amount"),
    ("CONFIRM", "yes (DM)"),
    ("CANCEL", "no (DM)"),
    ("CLAIM", "claim held money (DM)"),
    ("HISTORY", "the last 10 payments (DM)"),
    ("REGISTER", "save a card (DM)"),
    ("CASHOUT", "cash out, optionally followed by a currency code (DM)"),
    ("PRIVACY", "privacy setting (DM)"),
    ("PRIVACY_SETTING", "its values"),
    ("STOP", "stop being named (DM)"),
    ("START", "start again (DM)"),
]


def _paybot_parse(texts: list[str], *, dm: bool) -> list[str]:
    """What `paybot parse` prints for each text, run from an empty folder with no paybot setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "X_", "STRIPE_", "MANGOPAY_"))}
    env.pop("DATABASE_URL", None)
    with tempfile.TemporaryDirectory() as empty:
        run = subprocess.run(
            [sys.executable, "-m", "bot", "parse", *(["--dm"] if dm else [])],
            input="\n".join(texts) + "\n",
            capture_output=True,
            text=True,
            encoding="utf-8",
            cwd=empty,
            env={**env, "PYTHONPATH": str(ROOT)},
            check=True,
            timeout=60,
        )
    lines = run.stdout.splitlines()
    if len(lines) != len(texts):
        raise RuntimeError(f"paybot parse answered {len(lines)} lines for {len(texts)} texts: {run.stderr}")
    return lines


def _shown(text: str) -> str:
    """A text as the page shows it: invisible characters escaped, very long ones cut with their length."""
    out = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in text)
    if len(out) > 80:
        out = f"{out[:40]}… ({len(text)} characters)"
    return out


def _code(text: str) -> str:
    """A code span holding `text`, whatever backticks it holds. A pipe would end a table's cell: a text holding
    one is written as HTML, the pipe as an entity, which every Markdown reads alike."""
    if "|" in text:
        return "<code>" + html.escape(text, quote=False).replace("|", "&#124;") + "</code>"
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if text else "(empty)"


def _table(texts: list[str], answers: list[str]) -> list[str]:
    rows = ["| text | `paybot parse` |", "|---|---|"]
    rows += [f"| {_code(_shown(t))} | {_code(a)} |" for t, a in zip(texts, answers, strict=True)]
    return rows


def _grammar_examples(grammar: str) -> dict[str, list[str]]:
    """Each rule's examples: the comment line right above it, its examples separated by " · "."""
    found: dict[str, list[str]] = {}
    lines = grammar.splitlines()
    for above, line in itertools.pairwise(lines):
        rule = re.match(r"([a-z_]+):", line)
        if rule and above.startswith("// ") and rule.group(1) in SHAPES:
            said = above[3:].split(": ", 1)[-1]  # "an amount: 5 · 5.50" lists its examples after a colon
            found[rule.group(1)] = [e.strip() for e in said.split(" · ")]
    return found


def _words(grammar: str, name: str) -> str:
    """The words a terminal of the grammar matches, as the grammar spells them."""
    match = re.search(rf"^{name}(?:\.\d)?: /(.*)/i?$", grammar, re.M)
    if match is None:
        raise RuntimeError(f"bot/grammar.lark has no terminal {name}")
    pattern = match.group(1)
    inner = re.search(r"\(\?a:(.*?)\)\(\?!", pattern)
    body = inner.group(1) if inner else pattern
    if body.startswith("[") and body.endswith("]"):
        return " ".join(_code(c) for c in body[1:-1])
    parts, depth, start = [], 0, 0
    for i, c in enumerate(body):  # the alternatives at the top level: not inside (...) or [...]
        depth += c in "([" and not body[i - 1 : i] == "\\"
        depth -= c in ")]" and not body[i - 1 : i] == "\\"
        if c == "|" and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    parts = [p.replace("(?:", "(") for p in parts]
    extra = " (an optional leading `#`)" if pattern.startswith("#?") else ""
    if name == "HELP":
        extra += ", or `?`"
    return " · ".join(_code(p) for p in parts) + extra


def generate() -> str:
    """The page, from the grammar, the parser's tests and `paybot parse`."""
    sys.path.insert(0, str(ROOT))
    from tests.support import command_cases as cases

    grammar = GRAMMAR.read_text(encoding="utf-8")
    rules = grammar.split("// ---------------------------------------------------------------- words")[0]
    rules = rules.split("// ---------------------------------------------------------------- posts")[1]
    examples = _grammar_examples(grammar)
    shaped = [SHAPES[rule].format(e) for rule in SHAPES for e in examples.get(rule, [])]
    posts = [c[0] for c in cases.SEND_CASES]
    refused = [c[0] for c in cases.REFUSED]
    quiet = ["RT @bob: @paybot send 5 to @alice", "@paybot hello there", "no mention here", "@paybotx send 5 to @alice"]
    dms = [c[0] for c in cases.DM_CASES] + [
        "history",
        "historique",
        "cashout",
        "CASHOUT EUR",
        "retrait",
        "privacy quiet",
        "confidentialité privé",
        "stop",
        "start",
    ]
    dm_refused = ["yess", "send 5 to @alice", "yes K7Q2 please", "cashout 5", "privacy loud"]
    answers = _paybot_parse(shaped + posts + refused + quiet, dm=False)
    a_shaped, rest = answers[: len(shaped)], answers[len(shaped) :]
    a_posts, rest = rest[: len(posts)], rest[len(posts) :]
    a_refused, a_quiet = rest[: len(refused)], rest[len(refused) :]
    dm_answers = _paybot_parse(dms + dm_refused, dm=True)
    for text, answer in zip(posts + dms, a_posts + dm_answers[: len(dms)], strict=True):
        if not json.loads(answer)["ok"]:
            raise RuntimeError(f"a test's accepted example is refused: {text!r}: {answer}")
    out = [
        "# Command reference",
        "",
        "<!-- Generated by scripts/command_reference.py from bot/grammar.lark, tests/support/command_cases.py and",
        "     `paybot parse`: do not edit; run `.venv/bin/python scripts/command_reference.py`. -->",
        "",
        "Generated from the grammar (`bot/grammar.lark`), its examples and the parser's tests",
        "(`tests/support/command_cases.py`), each answered by `paybot parse` as it runs today (USD for bare amounts,",
        "the bot's handle `paybot`). [The command language](language.md) says the same in prose; the JSON is",
        "`paybot parse`'s contract, in [the design](../DESIGN.md#6-contracts).",
        "",
        "## The rules",
        "",
        "```",
        rules.strip("\n"),
        "```",
        "",
        "## The words",
        "",
        "Read in the letters they are written in, in any case, as the grammar spells them: `[éÉe]` is any one of "
        "those letters, and `?` makes what comes before it optional.",
        "",
        "| role | words |",
        "|---|---|",
        *[f"| {role} | {_words(grammar, name)} |" for name, role in WORDS],
        "",
        "## The grammar's own examples",
        "",
        *_table(shaped, a_shaped),
        "",
        "## Posts the parser's tests accept",
        "",
        *_table(posts, a_posts),
        "",
        "## Posts refused, each with its sentence",
        "",
        *_table(refused, a_refused),
        "",
        "## Posts that get no answer",
        "",
        "Reposts, chatter, and posts that do not mention the bot are refused quietly: the bot says nothing.",
        "",
        *_table(quiet, a_quiet),
        "",
        "## DMs",
        "",
        *_table(dms + dm_refused, dm_answers),
        "",
    ]
    return "\n".join(out)


def main() -> int:
    page = generate()
    if "--check" in sys.argv[1:]:
        if not PAGE.exists() or PAGE.read_text(encoding="utf-8") != page:
            print(
                f"{PAGE.relative_to(ROOT)} is not current: run .venv/bin/python scripts/command_reference.py",
                file=sys.stderr,
            )
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
