"""The scenarios on Mastodon: every scenario file in tests/scenarios runs the real worker through Mastodon.py
to the Mastodon simulator (a tweet is a public status, a DM a direct status: bot/sims/mastodon_world.py) and
must end as its "expect" says, except where Mastodon's rules differ from X's (DIFFERENT, with the reason)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bot.sims.runner import run_scenario
from tests.support.scenario_kit import SCENARIOS, check

pytestmark = pytest.mark.slow

# Where the scenario pins a rule of X's that Mastodon does not have, or its expected messages depend on X's
# ways; the money and the consent rules are the same.
DIFFERENT: dict[str, str] = {
    "consent_attack6_a_request_payer_who_cannot_be_dmed_is_never_named_in_public": (
        "anyone may be sent a direct status: a payer who refuses DMs (accepts_dms false) has no equivalent"
    ),
    "consent_attack6_one_payers_failed_dm_leaves_the_other_payers_part": (
        "anyone may be sent a direct status: a payer who refuses DMs (accepts_dms false) has no equivalent"
    ),
    "consent_attack9_a_bare_yes_meant_for_a_new_send_read_after_its_code_answer_pays_nothing_older": (
        "the scenario fails X's DM listing alone; Mastodon's mentions and direct statuses come from one "
        "notifications listing, so the fault also delays the $50's confirmation, and the coded yes, sent before "
        "it, pays nothing (the consent rule applied: less moves, never more)"
    ),
    "consent_attack_yes_before_edit_in_doubt": (
        "same transfers and the same answers; around the crash one more help answer goes out before the flood "
        "notice (within the ten an hour), and the stale-yes notice comes after them rather than between"
    ),
    "strangers_cannot_spend": "quotes are not modelled by the Mastodon simulator",
}


# The sentences that name the timeline (bot.messages.NAMES_THE_TIMELINE) as said on Mastodon.
WORDING = [
    (re.compile(r"I can't find (\w+) on X"), r"I can't find \1 on this Mastodon instance"),
    (re.compile(r"^X refused my reply"), "Mastodon refused my reply"),
]


def on_mastodon(expect: dict[str, Any]) -> dict[str, Any]:
    """The scenario's expected outcome with its sentences in their Mastodon wording."""

    def reword(said: str) -> str:
        for x, mastodon in WORDING:
            said = x.sub(mastodon, said)
        return said

    messages = [{k: reword(v) if k in ("contains", "text") else v for k, v in m.items()} for m in expect["messages"]]
    return {**expect, "messages": messages}


# Not measured by coverage (pytest-cov's no_cover): the scenarios' code is measured on X (test_scenarios.py), the
# Mastodon adapter's by the tests below and tests/integration/test_mastodon_*.py (docs/testing.md).
@pytest.mark.no_cover
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_on_mastodon(path: Path) -> None:
    if path.stem in DIFFERENT:
        pytest.skip(f"Mastodon: {DIFFERENT[path.stem]}")
    scenario = json.loads(path.read_text(encoding="utf-8"))
    outcome, _ = run_scenario(scenario, timeline="mastodon")
    check(outcome, on_mastodon(scenario["expect"]))


def test_the_demo_plays_on_mastodon() -> None:
    """`paybot demo --timeline mastodon`'s conversation: the payment, the decline and the held money, with the
    confirmation a direct status and the outcome a public reply."""
    scenario = json.loads((Path(__file__).parents[2] / "bot" / "scenarios" / "demo.json").read_text("utf-8"))
    outcome, transcript = run_scenario(scenario, timeline="mastodon")
    said = [m for _, messages in transcript for m in messages]
    assert any(m["type"] == "reply" and "@bob sent @alice $5.00" in m["text"] for m in said)
    assert any(m["type"] == "dm" and "you received $7.50 from @bob" in m["text"] for m in said)
    assert {t["status"] for t in outcome["transfers"]} >= {"completed", "failed"}


def test_the_cli_plays_on_mastodon(tmp_path: Path) -> None:
    """`paybot demo --timeline mastodon` prints the conversation; `paybot simulate --timeline mastodon` the
    outcome; an unknown timeline is refused."""
    from typer.testing import CliRunner

    from bot.cli import app

    runner = CliRunner()
    demo = runner.invoke(app, ["demo", "--timeline", "mastodon"])
    assert demo.exit_code == 0 and "Mastodon.py over loopback" in demo.output
    assert "@bob sent @alice $5.00" in demo.output
    path = Path(__file__).parents[1] / "scenarios" / "happy_path.json"
    simulated = runner.invoke(app, ["simulate", str(path), "--timeline", "mastodon", "--json"])
    assert simulated.exit_code == 0, simulated.output
    check(json.loads(simulated.output.strip().splitlines()[-1]), json.loads(path.read_text("utf-8"))["expect"])
    assert runner.invoke(app, ["demo", "--timeline", "myspace"]).exit_code != 0


# Two of the scenarios that name other providers, on each of them, on Mastodon: the adapters meet as on X.
ON_PROVIDERS = [
    (name, provider)
    for name in (
        "consent_attack5_a_requesters_edit_cannot_redirect_a_bare_yes",
        "consent_attack4_a_superseded_confirmation_is_never_sent",
    )
    for provider in ("stripe", "mangopay")
]


@pytest.mark.parametrize(("name", "provider"), ON_PROVIDERS, ids=[f"{n}-{p}" for n, p in ON_PROVIDERS])
def test_scenario_on_mastodon_and_other_providers(name: str, provider: str) -> None:
    path = Path(__file__).parents[1] / "scenarios" / f"{name}.json"
    scenario = json.loads(path.read_text(encoding="utf-8"))
    assert provider in scenario["providers"]
    outcome, _ = run_scenario(scenario, provider=provider, timeline="mastodon")
    check(outcome, scenario["expect"])
