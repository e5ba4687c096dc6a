"""The command line, as operators and outside checks call it. A few tests start `python -m bot` as a process of its
own (what a process adds: the entry point, its exit code, nothing else on standard error); the others run the same
main() in the test's process (tests/support/cli.py), which checks the same and saves an interpreter's start each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import Done, paybot_in_process

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]


def paybot_process(
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as a process of its own."""
    full_env = {k: v for k, v in os.environ.items()} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


def paybot(*args: str, stdin: str | None = None, env: dict[str, str] | None = None, cwd: Path | None = None) -> Done:
    """The same command in this process (tests/support/cli.py): main(), the environment, the working directory,
    exit code, standard output and standard error as the process has them, without a new interpreter each time."""
    return paybot_in_process(*args, cwd=cwd or Path.cwd(), env=env, stdin=stdin)


def test_parse_one_text() -> None:
    """`paybot parse TEXT` prints the contract's JSON object (as a process: what outside checks run)."""
    out = paybot_process("parse", "@paybot send 5 to @alice for the pizza")
    assert out.returncode == 0
    assert json.loads(out.stdout) == {
        "ok": True,
        "command": "send",
        "amount": "5.00",
        "currency": "USD",
        "recipients": ["alice"],
        "memo": "the pizza",
        "lang": "en",
    }


def test_parse_lines_from_stdin_with_a_currency() -> None:
    """One JSON object per input line; exit 0 whatever the verdicts."""
    out = paybot("parse", "--currency", "EUR", stdin="@paybot send 5 to @alice\n@paybot send 0 to @bob\n@paybot help\n")
    assert out.returncode == 0
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [x["ok"] for x in lines] == [True, False, True]
    assert lines[0]["currency"] == "EUR" and lines[2]["command"] == "help"
    assert "more than zero" in lines[1]["error"]


def test_parse_dm() -> None:
    out = paybot("parse", "--dm", stdin="yes k7q2\nclaim\nwhat\n")
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert lines[0] == {"ok": True, "command": "confirm", "code": "K7Q2", "lang": "en"}
    assert lines[1] == {"ok": True, "command": "claim", "lang": "en"}
    assert lines[2]["ok"] is False and "YES" in lines[2]["error"]


def test_simulate_prints_one_json_document() -> None:
    out = paybot("simulate", str(ROOT / "tests" / "scenarios" / "happy_path.json"), "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert [t["status"] for t in doc["transfers"]] == ["completed"]
    assert [m["type"] for m in doc["messages"]] == ["dm", "reply"]


def test_simulate_a_missing_file_is_one_line() -> None:
    """As a process: a non-zero exit and one line on standard error, no traceback."""
    out = paybot_process("simulate", "/nonexistent.json")
    assert out.returncode != 0 and "Traceback" not in out.stderr
    assert out.stderr.strip().startswith("paybot: cannot read scenario")


def test_demo_runs() -> None:
    out = paybot("demo")
    assert out.returncode == 0, out.stderr
    assert "@bob sent @alice $5.00" in out.stdout and "declined" in out.stdout
    assert "you received $7.50 from @bob" in out.stdout


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "X_CONSUMER_KEY is not set"),
        (
            {
                "X_CONSUMER_KEY": "changethis",
                "X_CONSUMER_SECRET": "a",
                "X_ACCESS_TOKEN": "b",
                "X_ACCESS_TOKEN_SECRET": "c",
            },
            "X_CONSUMER_KEY still holds a placeholder",
        ),
        ({"X_CONSUMER_KEY": "k", "X_CONSUMER_SECRET": "s", "X_ACCESS_TOKEN": "t"}, "X_ACCESS_TOKEN_SECRET is not set"),
        ({"PAYBOT_CONFIRM_TTL": "soon"}, "PAYBOT_CONFIRM_TTL"),
        ({"PAYBOT_MAX_TRANSFER": "-5"}, "PAYBOT_MAX_TRANSFER"),
        ({"PAYBOT_CURRENCY": "XYZ"}, "PAYBOT_CURRENCY"),
    ],
)
def test_run_with_a_bad_setting_says_which_in_one_line(env: dict[str, str], needle: str, tmp_path: Path) -> None:
    """`paybot run` exits non-zero with one line naming the setting, and no traceback."""
    out = paybot("run", env=env, cwd=tmp_path)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out.stderr


def test_settings_are_read_from_dotenv(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("X_CONSUMER_KEY=changethis\n")
    out = paybot_process("run", cwd=tmp_path)  # as a process started in the folder holding .env
    assert "X_CONSUMER_KEY still holds a placeholder" in out.stderr


def test_secrets_do_not_reach_the_console(tmp_path: Path) -> None:
    """A wrong credential is reported by name; its value is never printed."""
    secret = "s3cr3t-value-that-must-not-leak"
    out = paybot_process(  # as a process: nothing it prints, from its start on, holds the secret
        "run",
        env={
            "X_CONSUMER_KEY": "k",
            "X_CONSUMER_SECRET": secret,
            "X_ACCESS_TOKEN": "changethis",
            "X_ACCESS_TOKEN_SECRET": secret,
        },
        cwd=tmp_path,
    )
    assert secret not in out.stderr + out.stdout and "X_ACCESS_TOKEN" in out.stderr


def test_init_writes_a_starter_env(tmp_path: Path) -> None:
    """`paybot init` asks for the values that matter and writes them into the template, for the owner only."""
    answers = "ck-123456\ncs-123456\nat-123456\nas-123456\n@tipjar\neur\n\n"
    out = paybot("init", stdin=answers, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    env = (tmp_path / ".env").read_text()
    for line in (
        "X_CONSUMER_KEY=ck-123456",
        "X_ACCESS_TOKEN_SECRET=as-123456",
        "PAYBOT_HANDLE=tipjar",
        "PAYBOT_CURRENCY=EUR",
        "# DATABASE_URL=postgresql://",
    ):
        assert line in env
    assert (tmp_path / ".env").stat().st_mode & 0o077 == 0
    assert "ck-123456" not in out.stdout
    again = paybot("init", stdin=answers, cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr


def test_init_hides_the_database_url_and_never_writes_through_a_symlink(tmp_path: Path) -> None:
    """The DATABASE_URL typed (it holds a password) is not echoed; with --force, a .env that is a
    symlink is refused, and the file it points to is left as it was."""
    answers = "ck-123456\ncs-123456\nat-123456\nas-123456\n@tipjar\nusd\npostgresql://u:Sekrit-99@db/p\n"
    out = paybot("init", "--path", "fresh.env", stdin=answers, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "Sekrit-99" not in out.stdout + out.stderr
    assert "DATABASE_URL=postgresql://u:Sekrit-99@db/p" in (tmp_path / "fresh.env").read_text()
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    (tmp_path / ".env").symlink_to(target)
    refused = paybot("init", "--force", stdin=answers, cwd=tmp_path)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert target.read_text() == "keep me"


def test_the_webhook_command_gives_waitress_limits_for_an_endpoint_on_the_internet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """waitress's defaults (100 connections, an idle one kept 120 s, checked every 30 s) let about 120 idle
    sockets lock everyone out of `paybot webhook` for minutes. The command hands waitress limits of its own
    (checked here as waitress receives them, and by waitress itself: it refuses a name it does not know)."""
    import waitress
    from waitress.adjustments import Adjustments

    from bot.providers.stripe_webhook import MAX_BODY
    from tests.support.stripe_kit import PLATFORM_SECRET

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "STRIPE_", "DATABASE_", "X_"))}
    env |= {
        "PAYBOT_DB_PATH": str(tmp_path / "paybot.db"),
        "PAYBOT_PROVIDER": "stripe",
        "STRIPE_API_KEY": "sk_test_abc",
        "STRIPE_DB_PATH": str(tmp_path / "stripe.db"),
        "STRIPE_WEBHOOK_SECRET": PLATFORM_SECRET,
    }
    unset = {k: v for k, v in os.environ.items() if k.startswith(("PAYBOT_", "STRIPE_", "DATABASE_", "X_"))}
    for key in unset:
        monkeypatch.delenv(key)
    assert paybot("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    given: list[dict[str, object]] = []

    def create_server(app: object, **kw: object) -> None:
        given.append(kw)
        raise SystemExit(0)

    monkeypatch.setattr(waitress, "create_server", create_server)
    done = paybot("webhook", "--host", "127.0.0.1", "--port", "0", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    adj = Adjustments(**given[0])
    assert adj.connection_limit >= 500 and adj.channel_timeout <= 15 and adj.cleanup_interval <= 5
    assert adj.max_request_body_size == MAX_BODY and adj.max_request_header_size <= 16 * 1024
    assert adj.asyncore_use_poll  # select() stops at 1,024 sockets


def test_sim_mangopay_serves_the_emulator_to_the_official_sdk_with_the_credentials_it_prints() -> None:
    """`paybot sim-mangopay` serves the emulator on 127.0.0.1 with the client id and API key it is given (and says
    them): the official SDK makes a user with them, and is refused with another key."""
    import re as _re

    from mangopay.api import APIRequest
    from mangopay.exceptions import APIError
    from mangopay.resources import NaturalUser

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "sim-mangopay",
            "--port",
            "0",
            "--client-id",
            "club",
            "--api-key",
            "k3y-of-the-club-emulator",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"COLUMNS": "400"},
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        found = _re.search(r"MANGOPAY_API_BASE=(http://127\.0\.0\.1:\d+)", banner)
        assert found and "MANGOPAY_CLIENT_ID=club" in banner and "MANGOPAY_API_KEY=k3y-of-the-club-emulator" in banner
        base = found.group(1)

        def user_with(key: str) -> NaturalUser:
            handler = APIRequest(
                client_id="club", apikey=key, api_url=base + "/v2.01/", api_sandbox_url=base + "/v2.01/", sandbox=False
            )
            user = NaturalUser(
                first_name="Chloé",
                last_name="Dubois",
                email="chloe.dubois@example.org",
                terms_and_conditions_accepted=True,
                user_category="PAYER",
                handler=handler,
            )
            user.save(handler=handler)
            return user

        assert user_with("k3y-of-the-club-emulator").id
        with pytest.raises(APIError):
            user_with("another-key-entirely")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
