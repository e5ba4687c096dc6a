"""End to end: every scenario file in tests/scenarios runs the real worker (tweepy over
loopback to the X simulator, a SQLite file, the sandbox) and must end as its "expect" says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.sims.runner import run_scenario
from tests.support.scenario_kit import SCENARIOS, check, listed_providers

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    scenario = json.loads(path.read_text(encoding="utf-8"))
    outcome, _ = run_scenario(scenario)
    check(outcome, scenario["expect"])


ON_PROVIDERS = [(path, provider) for path in SCENARIOS for provider in listed_providers(path) if provider != "sandbox"]


# Not measured by coverage (pytest-cov's no_cover): the same runs as test_scenario's, on a provider whose adapter
# the flows and the integration tests measure (docs/testing.md).
@pytest.mark.no_cover
@pytest.mark.parametrize(("path", "provider"), ON_PROVIDERS, ids=[f"{p.stem}-{v}" for p, v in ON_PROVIDERS])
def test_scenario_on_other_providers(path: Path, provider: str) -> None:
    """A scenario that lists providers ("providers": [...]) ends the same way on each: the rules it pins are
    paybot's, not one provider's."""
    scenario = json.loads(path.read_text(encoding="utf-8"))
    outcome, _ = run_scenario(scenario, provider=provider)
    check(outcome, scenario["expect"])


ON_POSTGRES = [
    "happy_path",
    "restarts_everywhere",
    "request_paid_and_declined",
    "held_then_returned",
    "edit_pending",
    "two_pending_and_a_code",
]


@pytest.mark.parametrize("name", ON_POSTGRES)
def test_scenario_on_postgres(name: str, postgres_admin: str) -> None:
    """The same scenarios end the same way with the store on PostgreSQL."""
    from tests.support.pg import new_database

    scenario = json.loads((Path(__file__).parents[1] / "scenarios" / f"{name}.json").read_text(encoding="utf-8"))
    scenario["settings"] = {**scenario.get("settings", {}), "database_url": new_database(postgres_admin)}
    outcome, _ = run_scenario(scenario)
    check(outcome, scenario["expect"])


def test_there_are_enough_scenarios() -> None:
    assert len(SCENARIOS) >= 5


def test_the_same_seed_gives_the_same_outcome() -> None:
    """Codes are seeded: a scenario's output is reproducible, byte for byte."""
    scenario = json.loads((Path(__file__).parents[1] / "scenarios" / "two_pending_and_a_code.json").read_text())
    assert run_scenario(scenario)[0] == run_scenario(scenario)[0]
