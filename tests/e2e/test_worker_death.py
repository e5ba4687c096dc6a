"""The suite's own guard for a pytest-xdist worker that dies under a test (tests/conftest.py,
`pytest_handlecrashitem`): the test runs once more on a new worker and is reported as RERUN; a second death fails it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]

CONFTEST = "from tests.conftest import pytest_handlecrashitem, pytest_report_teststatus, pytest_terminal_summary\n"
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


def test_a_test_whose_worker_dies_runs_once_more_and_a_second_death_or_a_failure_fails(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_deaths.py").write_text(TESTS, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DEATH_MARK": str(tmp_path / "mark")}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "-p", "no:cacheprovider", "-q", "-rA", "test_deaths.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 1, out
    assert "RERUN test_deaths.py::test_dies_once: worker" in out
    assert "PASSED test_deaths.py::test_dies_once" in out
    assert "FAILED test_deaths.py::test_dies_every_time - worker" in out
    assert "FAILED test_deaths.py::test_fails" in out and "RERUN test_deaths.py::test_fails" not in out
    assert "2 failed, 1 passed, 2 rerun" in out
