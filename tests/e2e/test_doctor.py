"""`paybot doctor` against the X simulator: what it finds, and its exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.doctor import FAIL, OK, WARN, run_checks
from bot.sims.runner import ScenarioSettings
from bot.sims.x import (
    PAY_PER_USE,
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    XSim,
)

pytestmark = pytest.mark.process


@pytest.fixture
def sim() -> Iterator[XSim]:
    s = XSim(limits=PAY_PER_USE)
    s.base = s.start()
    yield s
    s.stop()


def settings(sim: XSim, tmp: Path, **over: object) -> ScenarioSettings:
    base = dict(
        x_consumer_key=SIM_CONSUMER_KEY,
        x_consumer_secret=SIM_CONSUMER_SECRET,
        x_access_token=SIM_ACCESS_TOKEN,
        x_access_token_secret=SIM_ACCESS_TOKEN_SECRET,
        x_api_base=sim.base,
        paybot_db_path=str(tmp / "p.db"),
        sandbox_db_path=str(tmp / "s.db"),
    )
    return ScenarioSettings(**(base | over))  # type: ignore[arg-type]


def by_name(checks: list) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.detail) for c in checks}


def test_a_healthy_setup(sim: XSim, tmp_path: Path) -> None:
    from bot import migrate
    from bot.repo.engine import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}", create_tables=False)
    migrate.upgrade(engine)
    engine.dispose()
    checks = by_name(run_checks(settings(sim, tmp_path)))
    assert checks["X credentials"] == (OK, f"@paybot (id {sim.bot_id})")
    assert checks["clock"][0] == OK and checks["DM access"][0] == OK and checks["store schema"][0] == OK
    assert checks["DM sending"][0] == WARN
    assert checks["API override"][0] == WARN and sim.base in checks["API override"][1]  # the simulator's
    assert not [n for n, (status, _) in checks.items() if status == FAIL]


def test_what_goes_wrong(sim: XSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrong credentials, another account, an unmigrated store, SQLite on Heroku: each named."""
    assert by_name(run_checks(settings(sim, tmp_path, x_access_token="nope")))["X credentials"][0] == FAIL
    other = by_name(run_checks(settings(sim, tmp_path, paybot_handle="tipjar")))
    assert other["X credentials"] == (FAIL, "they are @paybot's, but PAYBOT_HANDLE is @tipjar")
    monkeypatch.setenv("DYNO", "worker.1")
    checks = by_name(run_checks(settings(sim, tmp_path)))
    assert checks["store schema"][0] == FAIL and "paybot db upgrade" in checks["store schema"][1]
    assert checks["store durability"][0] == WARN and "Heroku Postgres" in checks["store durability"][1]


def test_the_basic_tier_is_called_out(tmp_path: Path) -> None:
    """Basic allows one DM read a day: the doctor says the DM flow cannot run on it."""
    sim = XSim(limits={**PAY_PER_USE, "dm_events": 1})
    sim.base = sim.start()
    try:
        checks = by_name(run_checks(settings(sim, tmp_path)))
    finally:
        sim.stop()
    assert checks["access tier"][0] == FAIL and "Basic" in checks["access tier"][1]


def test_the_command_exits_non_zero_on_failure(sim: XSim, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "X_API_BASE": sim.base,
        "X_CONSUMER_KEY": SIM_CONSUMER_KEY,
        "X_CONSUMER_SECRET": SIM_CONSUMER_SECRET,
        "X_ACCESS_TOKEN": SIM_ACCESS_TOKEN,
        "X_ACCESS_TOKEN_SECRET": SIM_ACCESS_TOKEN_SECRET,
        "PAYBOT_DB_PATH": str(tmp_path / "p.db"),
        "SANDBOX_DB_PATH": str(tmp_path / "s.db"),
        "COLUMNS": "200",
    }
    first = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert first.returncode == 1 and "paybot db upgrade" in first.stdout
    subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    second = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert second.returncode == 0, second.stdout
    assert "@paybot" in second.stdout


def test_the_stripe_provider_is_checked(sim: XSim, tmp_path: Path) -> None:
    from bot.sims.stripe import StripeSim

    stripe_sim = StripeSim()
    base = stripe_sim.start()
    try:
        good = by_name(
            run_checks(
                settings(
                    sim, tmp_path, paybot_provider="stripe", stripe_api_key=stripe_sim.api_key, stripe_api_base=base
                )
            )
        )
        assert good["payment provider"] == (OK, "stripe (test mode), account acct_sim_platform")
        wrong = by_name(
            run_checks(
                settings(sim, tmp_path, paybot_provider="stripe", stripe_api_key="sk_test_nope", stripe_api_base=base)
            )
        )
        assert wrong["payment provider"][0] == FAIL and "refused STRIPE_API_KEY" in wrong["payment provider"][1]
        live = by_name(
            run_checks(
                settings(sim, tmp_path, paybot_provider="stripe", stripe_api_key="sk_live_x1", stripe_api_base=base)
            )
        )
        assert live["payment provider"][0] == FAIL and "PAYBOT_LIVE=1" in live["payment provider"][1]
        small = by_name(
            run_checks(
                settings(
                    sim,
                    tmp_path,
                    paybot_provider="stripe",
                    stripe_api_key=stripe_sim.api_key,
                    stripe_api_base=base,
                    paybot_currency="GBP",
                    paybot_min_transfer="0.20",
                )
            )
        )
        assert small["payment provider"] == (
            WARN,
            "stripe (test mode), account acct_sim_platform: PAYBOT_MIN_TRANSFER "
            "0.20 is below Stripe's smallest charge, £0.30; smaller commands "
            "are refused with that minimum",
        )
    finally:
        stripe_sim.stop()
