"""The suite's own guard for a pytest-xdist worker that dies under a test (tests/support/worker_deaths.py): the test
runs once more on a new worker and is reported as RERUN; a second death fails it; a failure is never run again; a
rerun that never happens fails the run. Each test runs a small suite of its own, with the guard, in a pytest
process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = 'pytest_plugins = ["tests.support.worker_deaths"]\n'
TESTS = """
import os, signal
from pathlib import Path

def test_dies_once():
    mark = Path(os.environ["DEATH_MARK"])
    if not mark.exists():
        mark.write_text("died")
        os.kill(os.getpid(), signal.SIGSEGV)

def test_dies_every_time():
    os.kill(os.getpid(), signal.SIGSEGV)

def test_fails():
    assert 1 == 2
"""


def run(tmp_path: Path, tests: str, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_deaths.py").write_text(tests, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEATH_MARK": str(tmp_path / "mark")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *args, "test_deaths.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_test_whose_worker_dies_runs_once_more_and_a_second_death_or_a_failure_fails(tmp_path: Path) -> None:
    done = run(tmp_path, TESTS, "-n", "2", "--dist", "worksteal")
    out = done.stdout
    assert done.returncode == 1, out
    assert "RERUN test_deaths.py::test_dies_once: worker" in out
    assert "PASSED test_deaths.py::test_dies_once" in out
    assert "FAILED test_deaths.py::test_dies_every_time - worker" in out
    assert "FAILED test_deaths.py::test_fails" in out and "RERUN test_deaths.py::test_fails" not in out
    assert "2 failed, 1 passed, 2 rerun" in out


ALWAYS_DIES = """
import os, signal

def test_dies_every_time():
    os.kill(os.getpid(), signal.SIGSEGV)
"""

FIVE_DEATHS_THEN_FAILURES = """
import os, signal
from pathlib import Path
import pytest

@pytest.mark.parametrize("i", range(5))
def test_a_dies_once(i):
    mark = Path(os.environ["DEATH_MARK"] + str(i))
    if not mark.exists():
        mark.write_text("died")
        os.kill(os.getpid(), signal.SIGSEGV)

@pytest.mark.parametrize("i", range(5))
def test_b_fails(i):
    assert 1 == 2
"""

FAILS_THEN_DIES = """
import os, signal
from pathlib import Path
import pytest

@pytest.fixture
def dies_in_teardown_once():
    yield
    mark = Path(os.environ["DEATH_MARK"])
    if not mark.exists():
        mark.write_text("died")
        os.kill(os.getpid(), signal.SIGSEGV)

def test_fails(dies_in_teardown_once):
    with open(os.environ["DEATH_MARK"] + ".runs", "a") as runs:
        runs.write("ran\\n")
    assert 1 == 2
"""


def test_a_rerun_that_never_happens_fails_the_run(tmp_path: Path) -> None:
    """xdist replaces a dead worker four times (by default, per worker): the fifth death ends the run, with its
    rerun and the failing tests after it never run. The run fails all the same; and with no worker restart allowed
    at all, a test that dies every time fails the run."""
    used_up = run(tmp_path, FIVE_DEATHS_THEN_FAILURES, "-n", "1", "--dist", "worksteal")
    assert used_up.returncode == 1, used_up.stdout[-2000:]
    assert "its worker died and it never ran again" in used_up.stdout
    (tmp_path / "none").mkdir()
    none = run(tmp_path / "none", ALWAYS_DIES, "-n", "1", "--max-worker-restart=0")
    assert none.returncode == 1, none.stdout[-2000:]


def test_a_test_that_failed_is_never_run_again(tmp_path: Path) -> None:
    """Its assertion failed, then its worker died in its teardown: the failure stands, run once."""
    done = run(tmp_path, FAILS_THEN_DIES, "-n", "1")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "RERUN test_deaths.py::test_fails" not in done.stdout
    assert (tmp_path / "mark.runs").read_text().count("ran") == 1


def test_under_a_scheduler_that_cannot_take_a_test_back_the_death_is_the_failure(tmp_path: Path) -> None:
    done = run(tmp_path, ALWAYS_DIES, "-n", "1", "--dist", "loadfile")
    assert "INTERNALERROR" not in done.stdout + done.stderr, (done.stdout + done.stderr)[-2000:]
    assert done.returncode == 1 and "FAILED test_deaths.py::test_dies_every_time" in done.stdout
