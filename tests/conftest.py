"""Test guards: no network but loopback, a clean environment, instant retries, and property tests
that draw the same examples every run (hypothesis derandomized, no deadline: a busy machine is slow,
not wrong). HYPOTHESIS_PROFILE=explore draws new examples each run."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina
from hypothesis import settings

# Fixtures more than one module uses, registered once (each is defined in its support module), and the rerun of a test
# whose worker died (tests/support/worker_deaths.py).
pytest_plugins = ["tests.support.browser", "tests.support.cashout_world", "tests.support.worker_deaths"]

settings.register_profile("paybot", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "paybot"))

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(address: object) -> None:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host not in _LOOPBACK and not host.startswith("127.") and not host.startswith("/"):
        raise RuntimeError(f"test tried to reach {host!r}: only 127.0.0.1 is allowed in tests")


def _guarded_connect(self: socket.socket, address: object) -> None:
    _check(address)
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    _check(address)
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


# (assignment: typeshed declares both on _socket.socket, the C base, so a socket.socket self does not match)
socket.socket.connect = _guarded_connect  # type: ignore[method-assign, assignment]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign, assignment]
stamina.set_testing(True, attempts=3)


# A long test's timeout, in seconds: at a load of 10 to 20 on two cores a crash run took four times its quiet time,
# past the 120 s default and the 900 s some had. A hang still ends within the CI's hour and a half.
SLOW_TIMEOUT = 1800


def _rank(item: pytest.Item) -> int:
    """0: a long test that starts processes of its own (the crash runs, the model test), 1: another long test, 2: the
    rest."""
    if item.get_closest_marker("slow") is None:
        return 2
    return 0 if item.get_closest_marker("process") is not None else 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests (marker `slow`) first, the longest kind (those that start processes) before the others, each
    kind in its files' order. scripts/test hands them out with pytest-xdist's work stealing (`--dist worksteal`): each
    worker starts on half of this order, and a worker whose half is done takes half of what the other has not
    started, from its end; so the two end together on the many short ones, rather than one worker finishing a crash
    run alone."""
    items.sort(key=_rank)
    for item in items:  # a timeout catches a hang, never a slow machine: a long test gets at least SLOW_TIMEOUT
        own = item.get_closest_marker("timeout")
        if item.get_closest_marker("slow") is not None and (own is None or own.args[0] < SLOW_TIMEOUT):
            item.add_marker(pytest.mark.timeout(SLOW_TIMEOUT), append=False)


_PREFIXES = ("X_", "PAYBOT_", "SANDBOX_", "DATABASE_URL", "LOG_LEVEL", "STRIPE_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts with no paybot settings in the environment and no .env in its folder."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[str]:
    """One PostgreSQL server for the whole run."""
    from tests.support.pg import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    from tests.support.pg import new_database

    return new_database(request.getfixturevalue("postgres_admin"))
