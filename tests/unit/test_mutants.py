"""The mutations that `bash scripts/mutants` applies (tests/support/mutants.py) still apply to the tree: each one's old
text is in its file exactly once, so none can silently test nothing. Cheap: no model run (the script runs the
model test on each mutated copy)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import mutants


def test_every_mutation_still_applies_to_the_tree() -> None:
    assert len(mutants.MUTATIONS) == len(mutants.BY_NAME) >= 5
    assert mutants.problems() == []
    assert os.access(mutants.ROOT / "scripts" / "mutants", os.X_OK)


def test_a_mutation_whose_old_text_is_missing_fails_loudly(tmp_path: Path) -> None:
    m = mutants.MUTATIONS[0]
    (tmp_path / m.path).parent.mkdir(parents=True)
    (tmp_path / m.path).write_text("nothing of it\n")
    assert mutants.problems(tmp_path)[0].startswith(f"{m.name}: its old text is found 0 times")
    with pytest.raises(SystemExit, match="found 0 times"):
        mutants.mutate(tmp_path, m)


def test_a_mutation_changes_the_copy_only(tmp_path: Path) -> None:
    m = mutants.BY_NAME["answer-before-confirmation"]
    (tmp_path / m.path).parent.mkdir(parents=True)
    before = (mutants.ROOT / m.path).read_text()
    (tmp_path / m.path).write_text(before)
    mutants.mutate(tmp_path, m)
    assert m.new in (tmp_path / m.path).read_text() and m.old not in (tmp_path / m.path).read_text()
    assert (mutants.ROOT / m.path).read_text() == before
