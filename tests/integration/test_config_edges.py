"""Settings at the edges: placeholder secrets refused, API overrides kept to emulators and tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.errors import ConfigError

pytestmark = pytest.mark.process

X: dict[str, Any]  # for Settings(**X): its fields are not all strings
X = {"x_consumer_key": "ck", "x_consumer_secret": "cs", "x_access_token": "at", "x_access_token_secret": "ats"}


@pytest.mark.parametrize("key", ["sk_test_changethis", "sk_live_changeme", "rk_test_xxxx", "sk_test_<your key>"])
def test_a_placeholder_stripe_key_is_refused_even_with_its_prefix(key: str) -> None:
    """config.example.env's sk_test_changethis is a placeholder, not a key."""
    with pytest.raises(ConfigError, match="STRIPE_API_KEY still holds a placeholder"):
        Settings(stripe_api_key=key, paybot_live=True).require_stripe()


PLATFORM = "whsec_DivICVUtnUjo0LmxqYt1GTQ0vDuXY1xM"  # Stripe's shape: whsec_ and 32 random characters
CONNECT = "whsec_OvHW8mJE5XRbvyCMfph5CQLk9Mm33KPi"
CLI = "whsec_" + "9f2c4be07a1d3e85" + "c61f0b7d29e4a358" + "7e0d94a1c5b26f83" + "d4a7196e0c3f5b28"  # the Stripe CLI's


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        (None, "is not set"),
        ("whsec_changethis", "placeholder"),
        ("changethis", "placeholder"),
        ("sk_test_abc", "does not look like a Stripe signing secret"),
    ],
)
def test_the_webhook_secret_must_be_a_real_signing_secret(secret: str | None, why: str) -> None:
    """Anyone could sign events with the example's secret: the webhook refuses to start with it (the Connect
    endpoint's secret is optional, and checked the same way when set)."""
    with pytest.raises(ConfigError, match=why):
        Settings(stripe_webhook_secret=secret).require_webhook_secrets()
    assert Settings(stripe_webhook_secret=PLATFORM).require_webhook_secrets() == (PLATFORM, None)
    assert Settings(stripe_webhook_secret=CLI).require_webhook_secrets() == (CLI, None)
    if secret is not None:
        with pytest.raises(ConfigError, match=f"STRIPE_CONNECT_WEBHOOK_SECRET .*{why}"):
            Settings(stripe_webhook_secret=PLATFORM, stripe_connect_webhook_secret=secret).require_webhook_secrets()
    both = Settings(stripe_webhook_secret=PLATFORM, stripe_connect_webhook_secret=CONNECT)
    assert both.require_webhook_secrets() == (PLATFORM, CONNECT) and CONNECT in both.secrets()


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_a",
        "whsec_test",
        "whsec_" + "a" * 40,
        "whsec_" + "test" * 10,
        "whsec_0123456789abcdef0123456789abcdef",
        "whsec_Zq8Lr2Tx" + "aaaaaaa" + "Mk4Pw9Vd3Hs6Jn1Cb5Gf7Ye0Ru",
        "whsec_" + "x7Kq9Lm2" * 5,
        "whsec_sUIZXjs4eHSZkEbLfIVhxbxChGRl",
        "whsec_sUIZXjs4eHSZkEbLfIVhx+xChGRlETUP",
    ],
)
def test_a_guessable_signing_secret_is_refused_without_being_shown(secret: str) -> None:
    """Stripe's signing secrets are whsec_ and at least 32 random characters: anything shorter, or made of few
    characters, a run or a repeated piece, could be guessed and used to sign events. The error names the
    setting and never the value, for either endpoint."""
    for settings, name in (
        (Settings(stripe_webhook_secret=secret), "STRIPE_WEBHOOK_SECRET"),
        (
            Settings(stripe_webhook_secret=PLATFORM, stripe_connect_webhook_secret=secret),
            "STRIPE_CONNECT_WEBHOOK_SECRET",
        ),
    ):
        with pytest.raises(ConfigError, match=name) as err:
            settings.require_webhook_secrets()
        body = secret.removeprefix("whsec_")
        assert secret not in str(err.value) and (len(body) < 6 or body not in str(err.value))


def test_the_two_endpoints_have_secrets_of_their_own() -> None:
    """paybot tells the platform's events from connected accounts' by the secret that signed them."""
    with pytest.raises(ConfigError, match="STRIPE_CONNECT_WEBHOOK_SECRET is the same as STRIPE_WEBHOOK_SECRET"):
        Settings(stripe_webhook_secret=PLATFORM, stripe_connect_webhook_secret=PLATFORM).require_webhook_secrets()


@pytest.mark.parametrize("secret", ["key-12345", "sim-mangopay-api-key", "K" * 40])
def test_the_secret_that_signs_page_links_must_be_strong(secret: str) -> None:
    """On Mangopay, PAYBOT_LINK_SECRET signs the links' tokens (bot.links; never the API key):
    a guessable one would let anyone make a link. Refused, named, never shown; a strong one passes."""
    common = dict(
        paybot_provider="mangopay",
        mangopay_client_id="client-1",
        mangopay_api_key="NeoeP2LUK3qlb5lbdTF5yjTRrFSNdtORh8CESNrL",
        mangopay_card_page_url="https://pay.example.com/card/{id}?u={user}&t={token}",
        paybot_web_url="https://paybot.example.com",
    )
    with pytest.raises(ConfigError, match="PAYBOT_LINK_SECRET is too weak") as err:
        Settings(paybot_link_secret=secret, **common).require_mangopay()  # type: ignore[arg-type]
    assert secret not in str(err.value)
    strong = "Jq7vX2mR9tLw4ZcN8bYe3HsK6pUa5DgF"
    assert Settings(paybot_link_secret=strong, **common).require_mangopay()[0] == "client-1"  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["sk_live_abc123", "rk_live_abc123"])
def test_a_live_stripe_key_is_never_sent_to_an_override(key: str) -> None:
    """With a live key the emulator address is refused, even on this machine."""
    with pytest.raises(ConfigError, match="STRIPE_API_BASE is set, and this bot is live"):
        Settings(stripe_api_key=key, paybot_live=True, stripe_api_base="http://127.0.0.1:12111").require_stripe()


def test_a_live_bot_sends_its_x_credentials_only_to_x() -> None:
    with pytest.raises(ConfigError, match="X_API_BASE is set, and this bot is live"):
        Settings(**X, paybot_live=True, x_api_base="https://x-proxy.example").require_x()


@pytest.mark.parametrize("base", ["http://10.0.0.5:8099", "http://x.example", "ftp://127.0.0.1", "127.0.0.1:80"])
def test_an_override_in_clear_text_beyond_this_machine_is_refused(base: str) -> None:
    """Plain http only to loopback (an emulator); anything else carries the credentials in clear."""
    with pytest.raises(ConfigError, match="X_API_BASE"):
        Settings(**X, x_api_base=base).require_x()
    with pytest.raises(ConfigError, match="STRIPE_API_BASE"):
        Settings(stripe_api_key="sk_test_abc", stripe_api_base=base).require_stripe()


def test_emulators_on_this_machine_and_https_are_accepted_and_named() -> None:
    s = Settings(
        **X,
        x_api_base="http://127.0.0.1:8099",
        stripe_api_key="sk_test_abc",
        stripe_api_base="https://stripe-emulator.internal",
    )
    assert s.require_x()["consumer_key"] == "ck" and s.require_stripe() == "sk_test_abc"
    assert s.overrides() == ["X_API_BASE=http://127.0.0.1:8099", "STRIPE_API_BASE=https://stripe-emulator.internal"]


MANGOPAY = dict(
    paybot_provider="mangopay",
    mangopay_client_id="client-1",
    mangopay_api_key="NeoeP2LUK3qlb5lbdTF5yjTRrFSNdtORh8CESNrL",
    mangopay_card_page_url="https://pay.example.com/card/{id}?u={user}&t={token}",
    paybot_link_secret="Jq7vX2mR9tLw4ZcN8bYe3HsK6pUa5DgF",
    paybot_web_url="https://paybot.example.com",
)


@pytest.mark.parametrize(
    ("name", "settings", "check"),
    [
        ("X_API_BASE", dict(X, x_api_base="http://api.x.com"), "require_x"),
        (
            "STRIPE_API_BASE",
            dict(stripe_api_key="sk_test_abc", stripe_api_base="http://api.stripe.com"),
            "require_stripe",
        ),
        (
            "MANGOPAY_API_BASE",
            dict(MANGOPAY, mangopay_api_base="http://api.mangopay.com", paybot_live=True),
            "require_mangopay",
        ),
        ("MANGOPAY_API_BASE", dict(MANGOPAY, mangopay_api_base="http://api.sandbox.mangopay.com"), "require_mangopay"),
        (
            "MANGOPAY_CARD_PAGE_URL",
            dict(MANGOPAY, mangopay_card_page_url="http://pay.example.com/card/{id}?u={user}&t={token}"),
            "require_mangopay",
        ),
        ("PAYBOT_WEB_URL", dict(MANGOPAY, paybot_web_url="http://paybot.example.com"), "require_mangopay"),
    ],
    ids=["x", "stripe", "mangopay-live", "mangopay-sandbox", "card-page", "web-pages"],
)
def test_every_address_that_carries_credentials_is_https_beyond_this_machine(
    name: str, settings: dict[str, object], check: str
) -> None:
    """Each provider's API base (its key travels there) and each page whose links carry a bearer id or token
    goes through the same rule (`checked_base`): plain http only to this machine, even to the provider's
    own host (Mangopay's production with PAYBOT_LIVE=1 included)."""
    with pytest.raises(ConfigError, match=f"{name} uses plain http to"):
        getattr(Settings(**settings), check)()  # type: ignore[arg-type]


def test_the_pages_and_mangopays_own_hosts_are_not_overrides() -> None:
    """Mangopay's hosts over https, and the operator's pages (https, or http on this machine for the emulator),
    are no override: accepted live, never warned about."""
    live = Settings(**MANGOPAY, mangopay_api_base="https://api.mangopay.com", paybot_live=True)  # type: ignore[arg-type]
    assert live.require_mangopay()[2] == "https://api.mangopay.com" and live.overrides() == []
    local = Settings(
        **(
            MANGOPAY
            | dict(
                mangopay_card_page_url="http://127.0.0.1:8097/card/{id}?u={user}&t={token}",  # type: ignore[arg-type]
                paybot_web_url="http://127.0.0.1:8097",
            )
        )
    )
    assert local.require_mangopay()[0] == "client-1"


PASSWORD = "S3cr@t-Passw0rd"
URL = f"postgresql+psycopg://paybot:{PASSWORD}@db.invalid:5432/paybot"


def test_a_database_password_with_an_at_sign_is_known_whole_and_in_pieces() -> None:
    """A driver that splits the URL at the first "@" shows "t-Passw0rd@db.invalid" as the host."""
    parts = Settings(database_url=URL).secrets()
    assert PASSWORD in parts and "t-Passw0rd" in parts


@pytest.mark.parametrize("args", [["doctor"], ["status"], ["transfers"], ["users", "@bob"]])
def test_operator_commands_never_show_the_database_password(args: list[str], tmp_path: Path) -> None:
    """Each says in one line that the store could not be used, with no piece of the password."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "X_", "DATABASE_", "STRIPE_"))}
    env |= {
        "DATABASE_URL": URL,
        "X_CONSUMER_KEY": "ck1234",
        "X_CONSUMER_SECRET": "cs1234",
        "X_ACCESS_TOKEN": "at1234",
        "X_ACCESS_TOKEN_SECRET": "ats1234",
        "X_API_BASE": "http://127.0.0.1:9",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    out = done.stdout + done.stderr
    assert done.returncode != 0, out
    assert "Passw0rd" not in out and "S3cr" not in out, out
    assert "Traceback" not in out, out


def test_doctor_reports_a_malformed_database_url_instead_of_crashing(tmp_path: Path) -> None:
    from bot.doctor import FAIL, run_checks

    checks = {
        c.name: c
        for c in run_checks(
            Settings(database_url=f"postgresql://u:{PASSWORD}@h:notaport/db", paybot_db_path=str(tmp_path / "p.db"))
        )
    }
    assert checks["store"].status == FAIL and "Passw0rd" not in checks["store"].detail


def _pins(lock: str) -> dict[str, str]:
    from packaging.utils import canonicalize_name

    pinned = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\", lock, re.M)
    return {canonicalize_name(name): version for name, version in pinned}


@pytest.mark.parametrize(("lock_file", "extras"), [("requirements.lock", ()), ("requirements-test.lock", ("test",))])
def test_the_lock_file_pins_every_dependency_with_hashes(lock_file: str, extras: tuple[str, ...]) -> None:
    """requirements.lock (for deployments: pip install --require-hashes) pins each runtime dependency of
    pyproject.toml, and requirements-test.lock (which scripts/test installs from) each runtime and test dependency,
    at a version its floor admits, with hashes (regenerate both with scripts/lock)."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for extra in extras for r in project["optional-dependencies"][extra]]
    lock = (root / lock_file).read_text()
    pins = _pins(lock)
    assert lock.count("--hash=sha256:") >= len(pins)
    for req in wanted:
        name = canonicalize_name(req.name)
        assert name in pins, req.name
        assert req.specifier.contains(pins[name], prereleases=True), (req, pins[name])


def test_the_test_lock_pins_the_runtime_as_the_runtime_lock_does() -> None:
    """CI tests the versions a deployment installs: every package both locks pin is pinned at the same version."""
    root = Path(__file__).resolve().parents[2]
    runtime = _pins((root / "requirements.lock").read_text())
    test = _pins((root / "requirements-test.lock").read_text())
    differ = {name: (version, test[name]) for name, version in runtime.items() if test.get(name, version) != version}
    assert not differ
    assert set(runtime) <= set(test)


@pytest.mark.parametrize("host", ["127.evil.invalid", "127.0.0.1.attacker.example", "localhost.example"])
def test_a_name_that_looks_like_loopback_is_not_loopback(host: str) -> None:
    """Plain http is allowed to this machine only: an address, not a name that starts like one."""
    with pytest.raises(ConfigError, match="plain http"):
        Settings(**X, x_api_base=f"http://{host}:8099").require_x()
    for ok in ("http://127.0.0.2:8099", "http://[::1]:8099", "http://localhost:8099"):
        assert Settings(**X, x_api_base=ok).require_x()


def test_a_password_with_at_and_colon_signs_is_never_shown(tmp_path: Path) -> None:
    """A URL the driver cannot even parse (the password holds "@" then ":") gives one line, no piece."""
    url = "postgresql+psycopg://u:a@b:VeryLongSecretTail99@db.invalid:5432/p"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "X_", "DATABASE_", "STRIPE_"))}
    env |= {"DATABASE_URL": url}
    for args in (["status"], ["doctor"], ["users", "@bob"]):
        done = subprocess.run(
            [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
        )
        out = done.stdout + done.stderr
        assert done.returncode != 0 and "VeryLongSecretTail99" not in out and "Traceback" not in out, out
