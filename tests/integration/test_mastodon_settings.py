"""Choosing the Mastodon timeline: PAYBOT_TIMELINE, MASTODON_BASE_URL and MASTODON_ACCESS_TOKEN, what
bootstrap builds from them, and what `paybot doctor` checks against the Mastodon simulator."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.bootstrap import make_timeline
from bot.config import Settings
from bot.doctor import FAIL, OK, WARN, run_checks
from bot.errors import ConfigError
from bot.mastodon.client import MastodonTimeline
from bot.ports import FakeClock
from bot.sims.mastodon import SIM_TOKEN, MastodonSim
from bot.sims.runner import ScenarioSettings
from bot.x.client import XClient


@pytest.fixture
def sim() -> Iterator[MastodonSim]:
    s = MastodonSim()
    s.start()
    yield s
    s.stop()


def settings(sim: MastodonSim, tmp: Path, **over: object) -> ScenarioSettings:
    base = dict(
        paybot_timeline="mastodon",
        mastodon_base_url=sim.base,
        mastodon_access_token=SIM_TOKEN,
        paybot_db_path=str(tmp / "p.db"),
        sandbox_db_path=str(tmp / "s.db"),
    )
    return ScenarioSettings(**(base | over))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("over", "says"),
    [
        ({}, "MASTODON_BASE_URL is not set"),
        ({"mastodon_base_url": "https://mastodon.example"}, "MASTODON_ACCESS_TOKEN is not set"),
        ({"mastodon_base_url": "https://mastodon.example", "mastodon_access_token": "changethis"}, "placeholder"),
        ({"mastodon_base_url": "http://mastodon.example", "mastodon_access_token": "t0k3n"}, "plain http"),
        ({"mastodon_base_url": "ftp://mastodon.example", "mastodon_access_token": "t0k3n"}, "not an http(s) address"),
    ],
)
def test_the_mastodon_settings_are_refused_until_usable(over: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings(paybot_timeline="mastodon", **over).require_timeline()  # type: ignore[arg-type]
    assert says in str(err.value)


def test_https_or_this_machine_and_the_token_is_a_secret() -> None:
    """An instance over https (live or not: it is the operator's own, not an override) or a simulator on
    127.0.0.1; the token is among the secrets the logs redact."""
    live = Settings(
        paybot_timeline="mastodon",
        mastodon_base_url="https://mastodon.example",
        mastodon_access_token="t0k3n-abc",
        paybot_live=True,
    )
    assert live.require_mastodon() == ("https://mastodon.example", "t0k3n-abc") and "t0k3n-abc" in live.secrets()
    local = Settings(mastodon_base_url="http://127.0.0.1:8123", mastodon_access_token="t")
    assert local.require_mastodon()[0] == "http://127.0.0.1:8123"
    with pytest.raises(ConfigError):  # X stays the default timeline, with its own settings
        Settings().require_timeline()


def test_bootstrap_builds_the_timeline_the_settings_name(sim: MastodonSim, tmp_path: Path) -> None:
    clock = FakeClock()
    masto = make_timeline(settings(sim, tmp_path), clock)
    assert isinstance(masto, MastodonTimeline) and masto.me().id == sim.bot_id
    x = make_timeline(
        ScenarioSettings(x_consumer_key="k1", x_consumer_secret="s1", x_access_token="t1", x_access_token_secret="s2"),
        clock,
    )
    assert isinstance(x, XClient)


def test_doctor_on_a_healthy_mastodon_setup(sim: MastodonSim, tmp_path: Path) -> None:
    checks = {c.name: (c.status, c.detail) for c in run_checks(settings(sim, tmp_path))}
    assert checks["Mastodon token"] == (OK, f"@paybot on {sim.base} (id {sim.bot_id})")
    assert checks["token scopes"] == (OK, "read, write") and checks["bot flag"][0] == OK
    assert checks["notifications"][0] == OK and checks["status length"] == (OK, "500 characters per status")
    assert checks["rate limit"][0] == OK and checks["streaming"][0] == OK
    assert "X credentials" not in checks


def test_doctor_says_what_is_wrong_with_mastodon(sim: MastodonSim, tmp_path: Path) -> None:
    """A token refused, another account's, too few scopes, an account not flagged as a bot."""
    refused = {c.name: c for c in run_checks(settings(sim, tmp_path, mastodon_access_token="wrong"))}
    assert refused["Mastodon token"].status == FAIL and "401" in refused["Mastodon token"].detail
    other = {c.name: c for c in run_checks(settings(sim, tmp_path, paybot_handle="tipjar"))}
    assert other["Mastodon token"].status == FAIL and "@tipjar" in other["Mastodon token"].detail
    sim.scopes = ["read:accounts", "write:statuses"]
    sim.accounts[sim.bot_id]["bot"] = False
    checks = {c.name: c for c in run_checks(settings(sim, tmp_path))}
    assert checks["token scopes"].status == FAIL and "read notifications" in checks["token scopes"].detail
    assert "post replies" not in checks["token scopes"].detail
    assert checks["bot flag"].status == WARN
    sim.stop()  # nothing answers any more: the streaming check is not what fails the doctor
    assert {c.name: c for c in run_checks(settings(sim, tmp_path))}["Mastodon token"].status == FAIL


def test_init_asks_for_the_mastodon_settings(tmp_path: Path) -> None:
    """`paybot init --timeline mastodon` asks for the instance and the token (not echoed) instead of X's."""
    import os

    from typer.testing import CliRunner

    from bot.cli import app

    answers = "https://mastodon.example\ntok-123456\n@tipjar\neur\n\n"
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        out = CliRunner().invoke(app, ["init", "--timeline", "mastodon"], input=answers)
    finally:
        os.chdir(here)
    assert out.exit_code == 0, out.output
    env = (tmp_path / ".env").read_text()
    for line in (
        "PAYBOT_TIMELINE=mastodon",
        "MASTODON_BASE_URL=https://mastodon.example",
        "MASTODON_ACCESS_TOKEN=tok-123456",
        "PAYBOT_HANDLE=tipjar",
    ):
        assert line in env.splitlines()
    assert "tok-123456" not in out.output
