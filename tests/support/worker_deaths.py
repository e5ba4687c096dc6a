"""A test whose pytest-xdist worker dies under it (a fatal signal in the interpreter or a compiled library, not a
failed assertion) runs once more, from its start, on the worker xdist starts in its place (docs/testing.md, "A worker
that dies"). Registered for the suite by tests/conftest.py's `pytest_plugins`; these hooks act in the controller.

- It is reported as RERUN ("R") with the death's message; faulthandler's traceback is in the worker's output above.
- A test that already reported a failure (its assertion failed, then the worker died in its teardown) is not run
  again: the failure stands, as the death's.
- A second death of the same test fails it.
- If the scheduler cannot take a test back (xdist's `--dist loadfile`, `loadscope`, ...), the death is the failure.
- A rerun that never reported again (no worker was left to run it: xdist's restart limit, or the run stopped) fails
  the run at its end, however the rest went."""

from __future__ import annotations

import pytest

_rerun: set[str] = set()  # tests run again after a death
_failed: set[str] = set()  # tests that reported a failure, in any phase
_done: set[str] = set()  # tests run again that reported their teardown since


@pytest.hookimpl(optionalhook=True)
def pytest_handlecrashitem(crashitem: str, report: pytest.TestReport, sched: object) -> None:
    if crashitem in _rerun or crashitem in _failed:
        return
    try:
        sched.mark_test_pending(crashitem)  # type: ignore[attr-defined]
    except NotImplementedError:
        return
    _rerun.add(crashitem)
    report.outcome = "rerun"  # type: ignore[assignment]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.outcome == "rerun":  # type: ignore[comparison-overlap]
        return
    if report.failed:
        _failed.add(report.nodeid)
    if report.nodeid in _rerun and report.when == "teardown":
        _done.add(report.nodeid)


def pytest_report_teststatus(report: pytest.TestReport) -> tuple[str, str, str] | None:
    if report.outcome == "rerun":  # type: ignore[comparison-overlap]
        return "rerun", "R", "RERUN"
    return None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for report in terminalreporter.stats.get("rerun", []):
        terminalreporter.write_line(f"RERUN {report.nodeid}: {report.longrepr}, run again on a new worker")
    for nodeid in sorted(_rerun - _done):
        terminalreporter.write_line(f"FAILED {nodeid}: its worker died and it never ran again (no worker left)")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    if _rerun - _done and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
