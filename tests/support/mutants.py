"""Mutations of the consent rules that the model test (tests/e2e/test_model.py) must find.

Each mutation breaks one rule by a textual replacement of exact lines of bot/. `bash scripts/mutants`
applies them one at a time to a copy of the tree (never to the tree itself), runs the model test's fixed
examples on the copy and says whether the model found it. A replacement whose old text is not in its
file exactly once is an error, so a mutation that no longer applies cannot silently test nothing
(tests/unit/test_mutants.py checks that in the default run).

    python -m tests.support.mutants list              the mutations' names, one a line
    python -m tests.support.mutants check [ROOT]      each old text is found exactly once in ROOT (default: this tree)
    python -m tests.support.mutants copy NAME DEST    a copy of this tree in DEST (no .git, .venv or caches), mutated
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str  # the rule it breaks
    path: str  # the file, from the tree's root
    old: str  # exact lines, found exactly once in the file
    new: str


MUTATIONS = [
    Mutation(
        "answer-before-confirmation",
        "any answer sent after the post counts, even before its confirmation reached X (answers() in base.py "
        "without its sent-after-the-confirmation check)",
        "bot/app/base.py",
        """    if t.asked_at is None or id_after(said_id, t.command_tweet_id) is False:
        return False
    after_ask = id_after(said_id, t.asked_id)
    return after_ask if after_ask is not None else said_at > t.asked_at  # a tie is no proof of "after"
""",
        """    return id_after(said_id, t.command_tweet_id) is not False
""",
    ),
    Mutation(
        "late-bare-answer",
        "a bare answer after one's confirmation lapsed unanswered confirms another waiting group (rule 1 off)",
        "bot/app/confirming.py",
        """        if code is None and groups and (gone := self._closed_meanwhile(""",
        """        if False and (gone := self._closed_meanwhile(""",
    ),
    Mutation(
        "bare-answer-edited-meanwhile",
        "a bare answer with a payment waiting whose post is edited after the answer is judged as if that payment "
        "had not been waiting (the older of two sends is paid)",
        "bot/app/confirming.py",
        """        if code is None and groups and (other := self._in_view(""",
        """        if False and (other := self._in_view(""",
    ),
    Mutation(
        "bare-answer-after-own-post-asked-late",
        "a bare answer sent after one's own post counts for an older send once that post's confirmation went out "
        "after the answer (the check looks at whether it is asked when read, not when the answer was sent)",
        "bot/app/confirming.py",
        "            t.kind == TransferKind.SEND\n"
        "            and not answers(t, said_at, said_id)\n"
        "            and id_after(said_id, t.command_tweet_id) is not False\n",
        "            t.kind == TransferKind.SEND\n"
        "            and t.status == Status.PENDING\n"
        "            and t.asked_at is None\n"
        "            and id_after(said_id, t.command_tweet_id) is not False\n",
    ),
    Mutation(
        "refusal-menu-says-yes",
        "a bare no with several payments waiting is answered with a menu of YES codes (rule 2 reverted)",
        "bot/app/confirming.py",
        """                    "choose.option" if confirm else "choose.option_no",\n""",
        """                    "choose.option",\n""",
    ),
    Mutation(
        "superseded-confirmation-sent",
        "a confirmation of a version no longer current is still sent, after the newer one (rule 3 off)",
        "bot/sending.py",
        """            asking = [i for i in ready if i.version and i.priority == PRIORITY_CONFIRM]
""",
        """            asking: list[Outbox] = []
""",
    ),
    Mutation(
        "stop-within-allowance",
        "STOP and START only take effect within the hourly allowance of DM answers (rule 4 reverted for STOP)",
        "bot/app/answers.py",
        """        if cmd.kind == DmKind.HISTORY and not self.common.may_answer(s, dm.sender_id, cmd.lang):""",
        """        if cmd.kind in (DmKind.HISTORY, DmKind.STOP, DmKind.START) """
        """and not self.common.may_answer(s, dm.sender_id, cmd.lang):""",
    ),
    Mutation(
        "privacy-within-allowance",
        "PRIVACY only takes effect within the hourly allowance of DM answers (rule 4 reverted for PRIVACY)",
        "bot/app/answers.py",
        """        if cmd.kind == DmKind.HISTORY and not self.common.may_answer(s, dm.sender_id, cmd.lang):""",
        """        if cmd.kind in (DmKind.HISTORY, DmKind.PRIVACY) """
        """and not self.common.may_answer(s, dm.sender_id, cmd.lang):""",
    ),
    Mutation(
        "edit-into-help-keeps-version",
        "an edit of a pending command into '@paybot help' leaves the version it replaces pending (rule 5 off)",
        "bot/app/asking.py",
        """            if cmd.kind == PostKind.HELP:
                self._void_pending_edit(s, m)
""",
        """            if cmd.kind == PostKind.HELP:
""",
    ),
    Mutation(
        "edit-while-paused-ignored",
        "an edit while paused gets the maintenance answer and is not applied (rule 6 reverted)",
        "bot/app/asking.py",
        """            if s.checkpoints.flag(Mark.PAUSED) and not self._edits_pending(s, m):""",
        """            if s.checkpoints.flag(Mark.PAUSED):""",
    ),
]

BY_NAME = {m.name: m for m in MUTATIONS}


def problems(root: Path = ROOT) -> list[str]:
    """Each mutation whose old text is not found exactly once in its file under `root`."""
    out = []
    for m in MUTATIONS:
        file = root / m.path
        found = file.read_text().count(m.old) if file.is_file() else 0
        if found != 1:
            out.append(f"{m.name}: its old text is found {found} times in {m.path}, not once")
    return out


def mutate(root: Path, m: Mutation) -> None:
    """Apply one mutation to the tree at `root` (a copy); fails loudly if its old text is not there once."""
    file = root / m.path
    text = file.read_text()
    if text.count(m.old) != 1:
        raise SystemExit(f"mutation {m.name}: its old text is found {text.count(m.old)} times in {m.path}, not once")
    file.write_text(text.replace(m.old, m.new))


def copy(dest: Path, root: Path = ROOT) -> None:
    """This tree's files as they are now (uncommitted changes too), without .git, the venv or caches."""
    shutil.copytree(
        root,
        dest,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", ".hypothesis", ".pytest_cache", "__pycache__", "*.egg-info", ".mypy_cache", ".ruff_cache"
        ),
    )


def main(argv: list[str]) -> int:
    if argv[:1] == ["list"]:
        print("\n".join(m.name for m in MUTATIONS))
        return 0
    if argv[:1] == ["check"]:
        found = problems(Path(argv[1]) if len(argv) > 1 else ROOT)
        for line in found:
            print(line, file=sys.stderr)
        return 1 if found else 0
    if argv[:1] == ["copy"] and len(argv) == 3:
        if argv[1] not in BY_NAME:
            print(f"no mutation {argv[1]!r}: one of {', '.join(BY_NAME)}", file=sys.stderr)
            return 2
        copy(Path(argv[2]))
        mutate(Path(argv[2]), BY_NAME[argv[1]])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
