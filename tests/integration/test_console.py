"""The operator's console without a browser (Flask's test client): off until an operator exists, nothing without a
session, sign-in's rules (wrong password, limits, TOTP, expiry), the CSRF token on every form, each view showing a
transfer the bot made in the same test, each action's confirmation and what it writes on the timeline, the charts,
`paybot operator add`. The same in Chromium: tests/e2e/test_console_browser.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
from argon2 import PasswordHasher, Type
from flask.testing import FlaskClient
from sqlmodel import col, delete, select
from typer.testing import CliRunner

from bot import admin
from bot.console import operators
from bot.console import read as console_read
from bot.console.pages import ROUTES as CONSOLE_ROUTES
from bot.console.records import Operator, SignInAttempt
from bot.reconcile import Mismatch, record
from bot.repo.sql import SqlStore
from bot.web.app import ROUTES
from tests.support.consoleworld import PASSWORD, ConsoleWorld, console_world, csrf_of, form_of, sign_in

# Argon2id at its library defaults (RFC 9106's second profile: 64 MiB, three passes, four lanes) is a quarter of this
# module's time, in the tens of hashes and checks its sign-ins make. Here the operators' hasher is the same algorithm
# at its lightest parameters; `test_the_hasher_is_argon2id_at_the_libraries_defaults` checks the real one.
LIGHT = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
REAL, REAL_DUMMY = operators._hasher, operators._dummy_hash()


@pytest.fixture(autouse=True)
def light_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(operators, "_hasher", LIGHT)
    monkeypatch.setattr(operators, "_DUMMY", LIGHT.hash("not anyone's password"))


def test_the_hasher_is_argon2id_at_the_libraries_defaults() -> None:
    """What sign-in uses outside these tests: argon2-cffi's defaults (RFC 9106's low-memory profile), a dummy hash
    of the same cost for a name with no operator, and a hash made with lighter parameters asks to be rehashed."""
    assert (REAL.time_cost, REAL.memory_cost, REAL.parallelism, REAL.type) == (3, 65536, 4, Type.ID)
    assert REAL_DUMMY.startswith("$argon2id$") and not REAL.check_needs_rehash(REAL_DUMMY)
    assert REAL.check_needs_rehash(LIGHT.hash(PASSWORD))
    assert REAL.verify(REAL.hash(PASSWORD), PASSWORD)


def test_the_dummy_hash_is_made_at_the_first_check_of_a_password_not_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    """Importing the console (the operator commands and the worker do) makes no 64 MiB hash; the first password
    checked makes it, whether its name is known or not, so that the first try with an unknown name takes no longer
    than one with a known name."""
    code = "import bot.console.operators as o; print(o._DUMMY)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "None"
    monkeypatch.setattr(operators, "_DUMMY", None)
    assert operators._password_ok(LIGHT.hash(PASSWORD), PASSWORD)  # a known name's right password
    made = operators._DUMMY
    assert made is not None and made.startswith("$argon2id$")
    assert not operators._password_ok(None, PASSWORD)  # an unknown name: checked against the same dummy
    assert operators._DUMMY == made


@pytest.fixture
def world(tmp_path: Path) -> Iterator[ConsoleWorld]:
    w = console_world(tmp_path)
    yield w
    w.run.close()


@pytest.fixture
def client(world: ConsoleWorld) -> FlaskClient:
    world.operator()
    c = world.app().test_client()
    assert sign_in(c).status_code == 303
    return c


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def h1(response: Any) -> str:
    found = re.search(r"<h1>(.*?)</h1>", text(response))
    return found.group(1) if found else ""


GETS = [
    "/console/",
    "/console/health",
    "/console/charts",
    "/console/transfers",
    "/console/transfers/1",
    "/console/people/bob",
    "/console/reconciliation",
    "/console/pause",
    "/console/resume",
    "/console/transfers/1/cancel",
    "/console/transfers/1/refund",
]
POSTS = [
    "/console/pause",
    "/console/resume",
    "/console/transfers/1/cancel",
    "/console/transfers/1/refund",
    "/console/sign-out",
]


def test_the_console_adds_only_its_declared_routes(world: ConsoleWorld) -> None:
    routes = {r.rule: set(r.methods or ()) - {"HEAD", "OPTIONS"} for r in world.app().url_map.iter_rules()}
    assert routes == {**ROUTES, **CONSOLE_ROUTES}
    assert {p for p in GETS} | {p for p in POSTS} >= {"/console/health", "/console/sign-out"}


def test_the_console_is_off_until_an_operator_exists(world: ConsoleWorld) -> None:
    """No operator: every console address, the sign-in page included, is the app's 404 page."""
    c = world.app().test_client()
    for path in [*GETS, "/console/sign-in"]:
        assert c.get(path).status_code == 404, path
    assert c.post("/console/sign-in", data={"name": "admin", "password": "admin"}).status_code == 404
    world.operator()
    assert c.get("/console/sign-in").status_code == 200


def test_no_page_is_reachable_without_signing_in(world: ConsoleWorld) -> None:
    """Every page sends the browser to the sign-in page; every form, with or without its token, changes nothing."""
    world.operator()
    transfer = world.send("@paybot send 5 to @alice")
    c = world.app().test_client()
    for path in GETS:
        r = c.get(path.replace("/1", f"/{transfer}"))
        assert r.status_code == 303 and r.headers["Location"].endswith("/console/sign-in"), path
    token = csrf_of(text(c.get("/console/sign-in")))
    for path in POSTS:
        r = c.post(path.replace("/1", f"/{transfer}"), data={"csrf": token})
        assert r.status_code == 303 and r.headers["Location"].endswith("/console/sign-in"), path
        assert c.post(path, data={}).status_code == 400
    assert world.run.bot.service.paused() is False
    with world.store() as s:
        assert s.transfers.get(transfer).status == "completed"  # type: ignore[union-attr]


def test_sign_in_and_out(world: ConsoleWorld) -> None:
    world.operator()
    c = world.app().test_client()
    wrong = sign_in(c, password="not the password")
    assert wrong.status_code == 401 and "That name, password or code is not right." in text(wrong)
    assert sign_in(c, name="nobody").status_code == 401
    assert c.get("/console/health").status_code == 303
    ok = sign_in(c)
    assert ok.status_code == 303 and ok.headers["Location"].endswith("/console/health")
    page = c.get("/console/health")
    assert page.status_code == 200 and h1(page) == "Health" and "Sign out ada" in text(page)
    out = c.post("/console/sign-out", data={"csrf": csrf_of(text(page))})
    assert out.status_code == 303 and c.get("/console/health").status_code == 303
    with world.store() as s:
        assert [a.ok for a in s.exec(select(SignInAttempt).order_by(col(SignInAttempt.id)))] == [False, False, True]


def test_the_session_cookie_is_httponly_samesite_and_secure_on_https(world: ConsoleWorld) -> None:
    world.operator()
    world.base = "https://pay.example"
    c = world.app().test_client()
    r = sign_in(c)
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("__Host-paybot=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_a_session_ends_after_30_idle_minutes_and_after_12_hours(world: ConsoleWorld, client: FlaskClient) -> None:
    clock = world.run.clock
    clock.advance(timedelta(minutes=29))
    assert client.get("/console/health").status_code == 200
    for _ in range(24):  # busy all day: still the session ends 12 hours after sign-in
        clock.advance(timedelta(minutes=29))
        r = client.get("/console/health")
        if r.status_code != 200:
            break
    assert r.status_code == 303 and r.headers["Location"].endswith("/console/sign-in?ended=1")
    assert "Your session has ended" in text(client.get("/console/sign-in?ended=1"))
    assert sign_in(client).status_code == 303
    clock.advance(operators.IDLE)
    r = client.get("/console/transfers")
    assert r.status_code == 303 and "ended=1" in r.headers["Location"]


def test_sign_in_is_limited_per_name_and_per_address(world: ConsoleWorld) -> None:
    """Five wrong passwords for a name: the right one is refused too for 15 minutes; twenty failures from one
    address: every name is refused from it."""
    world.operator()
    c = world.app().test_client()
    for _ in range(operators.NAME_FAILURES):
        assert sign_in(c, password="guess guess guess").status_code == 401
    limited = sign_in(c)
    assert limited.status_code == 429 and "Too many tries" in text(limited)
    world.run.clock.advance(operators.WINDOW)
    assert sign_in(c).status_code == 303
    other = world.app().test_client()
    for i in range(operators.IP_FAILURES):
        assert sign_in(other, name=f"someone{i}").status_code == 401
    world.operator("grace")
    assert sign_in(other, name="grace").status_code == 429
    again = world.app().test_client()
    again.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert sign_in(again, name="grace").status_code == 303


def test_a_burst_of_simultaneous_tries_checks_no_more_than_the_limit(database_url: str) -> None:
    """Tries at one name sent at the same instant, from as many addresses, on SQLite and on PostgreSQL: exactly
    NAME_FAILURES of them are checked (and stored), every other one is refused unchecked. Each try, once it has
    counted the failures, waits (up to a second) for every other try to have counted too: without the tries taking
    turns, they would all count none and all be checked."""
    import threading

    from sqlalchemy import event

    from bot import migrate
    from bot.repo.engine import make_engine
    from tests.support.racing import at_once

    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine)
    store = SqlStore(engine)
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    operators.add(store, "ada", PASSWORD, now)
    tries = operators.NAME_FAILURES + 3
    counted = threading.Barrier(tries, timeout=1.0)

    @event.listens_for(engine, "after_cursor_execute")
    def wait_for_the_others(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "count(*)" in statement and "sign_in_attempt.name =" in statement:
            try:
                counted.wait()
            except threading.BrokenBarrierError:
                pass  # the tries take turns: the others are waiting for this one to end

    outcomes = at_once(
        lambda ip: operators.sign_in(store, "ada", "guess guess guess", "", ip, now),
        [f"192.0.2.{i}" for i in range(tries)],
    )
    with store() as s:
        stored = s.exec(select(SignInAttempt).where(SignInAttempt.name == "ada")).all()
    engine.dispose()
    refusals = sorted(str(o.refusal) for o in outcomes if isinstance(o, operators.SignIn))
    assert refusals == ["limited"] * (tries - operators.NAME_FAILURES) + ["wrong"] * operators.NAME_FAILURES
    assert len(stored) == operators.NAME_FAILURES


def test_an_operator_with_totp_needs_the_code(world: ConsoleWorld) -> None:
    secret = world.operator("ada", totp=True)
    assert secret is not None
    c = world.app().test_client()
    assert sign_in(c).status_code == 401
    assert sign_in(c, code="000000" if pyotp.TOTP(secret).now() != "000000" else "111111").status_code == 401
    code = pyotp.TOTP(secret).at(world.run.clock.now())
    assert sign_in(c, code=code).status_code == 303


def test_passwords_are_stored_hashed_and_never_default(world: ConsoleWorld) -> None:
    with pytest.raises(operators.OperatorError, match="12 characters"):
        operators.add(world.store, "ada", "short", world.run.clock.now())
    with pytest.raises(operators.OperatorError, match="a name is"):
        operators.add(world.store, "Ada Lovelace", PASSWORD, world.run.clock.now())
    world.operator()
    with pytest.raises(operators.OperatorError, match="already"):
        world.operator()
    with world.store() as s:
        row = s.get(Operator, "ada")
    assert row is not None and row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash


def test_every_form_refuses_a_missing_or_wrong_csrf_token(world: ConsoleWorld, client: FlaskClient) -> None:
    transfer = world.send("@paybot send 5 to @alice")
    for path in ["/console/pause", f"/console/transfers/{transfer}/refund", "/console/sign-out"]:
        for sent in ({}, {"csrf": "forged"}):
            r = client.post(path, data=sent)
            assert r.status_code == 400 and h1(r) == "This form was not accepted", path
    assert world.run.bot.service.paused() is False and client.get("/console/health").status_code == 200
    with world.store() as s:
        assert s.transfers.get(transfer).status == "completed"  # type: ignore[union-attr]
    fresh = world.app().test_client()
    assert fresh.post("/console/sign-in", data={"name": "ada", "password": PASSWORD}).status_code == 400


def test_the_views_show_a_transfer_made_now(world: ConsoleWorld, client: FlaskClient) -> None:
    transfer = world.send("@paybot send 5 to @alice for the console")
    held = world.send("@paybot send 3 to @carol")
    listed = text(client.get("/console/transfers"))
    assert f'/console/transfers/{transfer}"' in listed and "the console" in listed
    only_held = text(client.get("/console/transfers?status=held"))
    assert f'/console/transfers/{held}"' in only_held and f'/console/transfers/{transfer}"' not in only_held
    by_carol = text(client.get("/console/transfers?person=@carol&since=1d"))
    assert f'/console/transfers/{held}"' in by_carol and f'/console/transfers/{transfer}"' not in by_carol
    assert "is not a duration" in text(client.get("/console/transfers?since=soon"))
    shown = client.get(f"/console/transfers/{transfer}")
    assert h1(shown) == f"Transfer {transfer}" and "the console" in text(shown) and "completed" in text(shown)
    person = client.get("/console/people/alice")
    assert h1(person) == "@alice" and f'/console/transfers/{transfer}"' in text(person)
    health = text(client.get("/console/health"))
    assert "1 held" in health and "Pause payments" in health
    assert client.get("/console/transfers/999").status_code == 404
    assert client.get("/console/people/nobody").status_code == 404


def test_transfers_are_paged_newest_first_by_keyset(world: ConsoleWorld, client: FlaskClient) -> None:
    made = [world.send(f"@paybot send {n} to @alice") for n in (1, 2, 3)]
    first = console_read.transfers(world.store, size=2)
    assert [r["id"] for r in first.rows] == made[::-1][:2] and first.next
    second = console_read.transfers(world.store, size=2, after=first.next)
    assert [r["id"] for r in second.rows] == [made[0]] and second.next is None
    page = text(client.get("/console/transfers"))
    assert 'rel="next"' not in page
    assert [r["id"] for r in console_read.transfers(world.store, person="alice", size=2, after=first.next).rows] == [
        made[0]
    ]
    assert console_read.transfers(world.store, person="nobody").rows == []
    assert console_read.cursor_of("not a cursor") is None


def test_reconciliation_shows_its_last_findings(world: ConsoleWorld, client: FlaskClient) -> None:
    assert "No reconciliation has run yet" in text(client.get("/console/reconciliation"))
    transfer = world.send("@paybot send 5 to @alice")
    record(
        world.store,
        world.run.clock.now(),
        7,
        [Mismatch(transfer, "pay_1", "completed", "no payment", "the provider has no payment for it")],
        0,
    )
    page = text(client.get("/console/reconciliation"))
    assert "1 mismatch(es)" in page and "the provider has no payment for it" in page
    assert f'/console/transfers/{transfer}"' in page


def test_pause_and_resume_ask_first(world: ConsoleWorld, client: FlaskClient) -> None:
    asked = client.get("/console/pause")
    assert admin.PAUSE_QUESTION in text(asked) and world.run.bot.service.paused() is False
    done = client.post("/console/pause", data=form_of(text(asked)))
    assert done.status_code == 303 and world.run.bot.service.paused() is True
    assert "PAYMENTS PAUSED" in text(client.get("/console/health"))
    asked = client.get("/console/resume")
    assert admin.RESUME_QUESTION in text(asked)
    client.post("/console/resume", data=form_of(text(asked)))
    assert world.run.bot.service.paused() is False
    again = client.post(
        "/console/pause",
        data=form_of(text(client.get("/console/pause"))) | {"action_token": form_of(text(asked))["action_token"]},
    )  # resume's token posted to pause: refused
    assert again.status_code == 400 and world.run.bot.service.paused() is False


def test_cancel_asks_first_and_is_written_on_the_timeline(world: ConsoleWorld, client: FlaskClient) -> None:
    pending = world.send("@paybot send 2 to @alice", answer=None)
    asked = client.get(f"/console/transfers/{pending}/cancel")
    assert admin.cancel_question(pending) in text(asked)
    with world.store() as s:
        assert s.transfers.get(pending).status == "pending"  # type: ignore[union-attr]
    done = client.post(f"/console/transfers/{pending}/cancel", data=form_of(text(asked)))
    assert done.status_code == 303
    assert f"transfer {pending} cancelled" in text(client.get(done.headers["Location"]))
    story = admin.show(world.store, pending)
    assert story is not None and story["status"] == "cancelled"
    assert story["timeline"][-1]["note"] == (
        f"cancel asked by operator ada in the console: transfer {pending} cancelled"
    )
    again = client.post(f"/console/transfers/{pending}/cancel", data=form_of(text(asked)))
    assert again.status_code == 303 and "already used" in text(client.get(again.headers["Location"]))
    asked = client.get(f"/console/transfers/{pending}/cancel")
    refused = client.get(
        client.post(f"/console/transfers/{pending}/cancel", data=form_of(text(asked))).headers["Location"]
    )
    assert refused.status_code == 409 and "only a pending one can be cancelled" in text(refused)


def test_a_part_refund_asks_the_clis_question_then_refunds(world: ConsoleWorld, client: FlaskClient) -> None:
    transfer = world.send("@paybot send 5 to @alice")
    asked = client.get(f"/console/transfers/{transfer}/refund?amount=2")
    t, back, left = world.run.bot.service.refund_plan(transfer)
    assert t is not None
    question = admin.refund_question(transfer, t, back, 200, left)
    assert question == f"Refund $2.00 of transfer {transfer} to its sender?" and question in text(asked)
    done = client.post(f"/console/transfers/{transfer}/refund", data=form_of(text(asked)))
    assert done.status_code == 303 and client.get(done.headers["Location"]).status_code == 200
    story = admin.show(world.store, transfer)
    assert story is not None and story["refunded"] == "2.00"
    assert story["timeline"][-1]["note"].startswith("refund of $2.00 asked by operator ada in the console: ")
    rest = client.get(f"/console/transfers/{transfer}/refund")
    assert f"Refund $3.00 of transfer {transfer} to its sender ($2.00 of $5.00 refunded so far)?" in text(rest)
    bad = client.get(f"/console/transfers/{transfer}/refund?amount=lots")
    assert bad.status_code == 422 and "&#39;lots&#39;" in text(bad)


def test_the_charts_are_inline_svg_drawn_from_the_store(world: ConsoleWorld, client: FlaskClient) -> None:
    world.send("@paybot send 5 to @alice")
    page = text(client.get("/console/charts"))
    assert page.count("<svg") == 7 and "<script" not in page
    assert "Transfers made per day: 1 in all" in page
    assert "budget 5 USD" in page and "X&#39;s allowance 15" in page
    data = console_read.charts(world.store, world.run.clock.now(), "USD")
    assert sum(v for _, v in data["moved"]) == 5.0 and len(data["made"]) == 31 and len(data["dms"]) == 30 * 24 + 1
    assert sum(v for _, v in data["requests"]) >= 2  # the DMs and the reply that went out


def test_past_hours_are_counted_once_and_kept(world: ConsoleWorld) -> None:
    """A drawing keeps the counts of hours over for an hour in chart_hour and reads them back instead of counting
    again (a kept count changed by hand shows); the hours since are counted afresh; the series are the same as a
    drawing that counts everything anew; the queue's depth ends at the messages waiting now; hours older than the
    charts' month are deleted."""
    from sqlmodel import col, delete

    from bot.console.records import ChartHour
    from bot.domain import WAITING
    from bot.domain.entities import Outbox

    clock = world.run.clock
    world.send("@paybot send 5 to @alice")
    first_hour = int(clock.now().timestamp()) // console_read.HOUR
    clock.advance(timedelta(hours=3))
    world.send("@paybot send 2 to @alice")
    drawn = console_read.charts(world.store, clock.now(), "USD")
    with world.store() as s:
        kept = {row.hour: row for row in s.exec(select(ChartHour))}
    now_hour = int(clock.now().timestamp()) // console_read.HOUR
    assert first_hour in kept and kept[first_hour].made == 1 and kept[first_hour].sent_dm >= 1
    assert now_hour - 1 not in kept and now_hour not in kept  # not over for an hour yet: counted at each drawing
    clock.advance(timedelta(hours=2))
    world.send("@paybot send 3 to @alice", answer="no")
    again = console_read.charts(world.store, clock.now(), "USD")
    assert sum(v for _, v in again["made"]) == 3 and sum(v for _, v in drawn["made"]) == 2
    with world.store() as s:
        s.session.execute(delete(ChartHour))
        s.session.commit()
    assert console_read.charts(world.store, clock.now(), "USD") == again  # counted anew: the same
    with world.store() as s:
        waiting = len(s.exec(select(Outbox).where(col(Outbox.status).in_(WAITING))).all())
    assert again["queue"][-1][1] == waiting and min(v for _, v in again["queue"]) >= 0
    with world.store() as s:
        row = s.get(ChartHour, first_hour)
        assert row is not None
        row.made = 100
        s.add(row)
        s.commit()
    assert sum(v for _, v in console_read.charts(world.store, clock.now(), "USD")["made"]) == 102  # read, not recounted
    clock.advance(timedelta(days=console_read.DAYS, hours=2))
    console_read.charts(world.store, clock.now(), "USD")
    with world.store() as s:
        assert s.get(ChartHour, first_hour) is None  # older than any drawing reads: deleted


def test_the_charts_count_alike_from_kept_hours_and_anew_on_both_stores(database_url: str) -> None:
    """On SQLite and PostgreSQL, on a store filled as bench.web fills one: a drawing with every hour kept gives the
    same series as one counting the month anew, and as many transfers made as the store holds since the month's
    first hour; a second drawing keeps nothing more."""
    from sqlmodel import delete, func

    from bench.web import NOW, fill
    from bot import migrate
    from bot.console.records import ChartHour
    from bot.domain.entities import Transfer
    from bot.repo.engine import make_engine

    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine)
    fill(engine, 3000)
    store = SqlStore(engine)
    first = console_read.charts(store, NOW, "USD")
    with store() as s:
        kept = s.exec(select(func.count()).select_from(ChartHour)).one()
        since = datetime.fromtimestamp(int((NOW - timedelta(days=30)).timestamp()) // 3600 * 3600, UTC)
        made = s.exec(select(func.count()).select_from(Transfer).where(Transfer.created_at >= since)).one()
    assert console_read.charts(store, NOW, "USD") == first
    with store() as s:
        assert s.exec(select(func.count()).select_from(ChartHour)).one() == kept == 30 * 24 - 1
        s.session.execute(delete(ChartHour))
        s.session.commit()
    assert console_read.charts(store, NOW, "USD") == first
    engine.dispose()
    assert sum(v for _, v in first["made"]) == made > 0 and sum(v for _, v in first["requests"]) == 2 * made


def test_paybot_operator_add_asks_for_the_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import migrate
    from bot.cli import app
    from bot.repo.engine import make_engine
    from bot.repo.sql import SqlStore

    for key in ("DATABASE_URL", "PAYBOT_PROVIDER"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PAYBOT_DB_PATH", str(tmp_path / "paybot.db"))
    monkeypatch.setenv("SANDBOX_DB_PATH", str(tmp_path / "sandbox.db"))
    engine = make_engine(f"sqlite:///{tmp_path / 'paybot.db'}", create_tables=False)
    migrate.upgrade(engine)
    runner = CliRunner()
    short = runner.invoke(app, ["operator", "add", "ada"], input="short\nshort\n")
    assert short.exit_code == 2 and "12 characters" in short.output
    made = runner.invoke(app, ["operator", "add", "ada", "--totp"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert made.exit_code == 0, made.output
    assert "otpauth://totp/paybot:ada?secret=" in made.output and PASSWORD not in made.output
    assert "at PAYBOT_WEB_URL/console/sign-in" in made.output  # no address set: the setting is named
    monkeypatch.setenv("PAYBOT_WEB_URL", "https://pay.example.com/")
    again = runner.invoke(app, ["operator", "add", "bea"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert "operator bea can sign in at https://pay.example.com/console/sign-in" in again.output, again.output
    assert runner.invoke(app, ["operator", "remove", "bea"]).exit_code == 0
    assert operators.names(SqlStore(engine)) == ["ada"]
    assert runner.invoke(app, ["operator", "list"]).output.split() == ["ada"]
    assert runner.invoke(app, ["operator", "remove", "ada"]).exit_code == 0
    assert operators.any_operator(SqlStore(engine)) is False
    engine.dispose()


def test_the_console_pages_carry_the_security_headers(world: ConsoleWorld, client: FlaskClient) -> None:
    """The pages' own headers: nothing but paybot's origin, no framing, no caching of what an operator reads."""
    for path in ("/console/sign-in", "/console/health", "/console/charts", "/console/nowhere"):
        r = client.get(path)
        csp = r.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self';" in csp, path
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["Cache-Control"] == "no-store", path


def test_the_benchmark_runs_every_page_on_a_filled_store(tmp_path: Path) -> None:
    """`python -m bench.web` on a small store: every page answers 200 (measure checks it) and has its figures;
    the store holds what `fill` says (counts, not timings)."""
    from sqlmodel import func

    from bench import web as bench
    from bot.domain.entities import Outbox, Transfer, TransferEvent
    from bot.repo.engine import make_engine

    figures = bench.measure(f"sqlite:///{tmp_path / 'store.db'}", 300, 2, tmp_path)
    assert set(figures) == set(bench.pages(300, "x"))
    assert all(p50 > 0 and p99 >= p50 for p50, p99 in figures.values())
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}", create_tables=False)
    with SqlStore(engine)() as s:
        counts = [s.exec(select(func.count()).select_from(t)).one() for t in (Transfer, TransferEvent, Outbox)]
    engine.dispose()
    assert counts == [300, 900, 600]


def test_a_totp_code_signs_in_once(world: ConsoleWorld) -> None:
    """RFC 6238, 5.2: a code accepted once is refused after, in another browser too; the next step's code works."""
    secret = world.operator("ada", totp=True)
    assert secret is not None
    now = world.run.clock.now()
    code = pyotp.TOTP(secret).at(now)
    assert sign_in(world.app().test_client(), code=code).status_code == 303
    assert sign_in(world.app().test_client(), code=code).status_code == 401  # seen over a shoulder: no use
    world.run.clock.advance(timedelta(seconds=30))
    assert sign_in(world.app().test_client(), code=pyotp.TOTP(secret).at(world.run.clock.now())).status_code == 303


def test_checking_a_password_holds_no_write_lock(world: ConsoleWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The password's hashing (a quarter of a second) runs outside any unit of work: while it runs, the store takes
    a write at once (with the check inside one, SQLite's writer would wait for it: anonymous tries could stall the
    worker), and the try is already counted against the limits."""
    world.operator()
    store = SqlStore(world.run.bot.engine)
    checked = operators._password_ok
    seen: list[int] = []

    def while_checking(password_hash: str | None, password: str) -> bool:
        with store() as s:
            s.add(SignInAttempt(name="someone-else", ip="192.0.2.1", at=world.run.clock.now(), ok=False))
            s.commit()  # fails with "database is locked" if the sign-in held the write lock
        with store() as s:
            seen.append(len(s.exec(select(SignInAttempt).where(SignInAttempt.name == "ada")).all()))
        return checked(password_hash, password)

    monkeypatch.setattr(operators, "_password_ok", while_checking)
    assert sign_in(world.app().test_client()).status_code == 303
    assert seen == [1]


def _a_page_in_adas_session(
    database_url: str, action: str, transfer_id: int | None, amount_minor: int | None, question: str
) -> tuple[Any, SqlStore, datetime, str, str]:
    """A migrated store with operator ada signed in, and a confirmation page of `action` shown in her session:
    (engine, store, now, her session's token, the page's token)."""
    from bot import migrate
    from bot.console import actions
    from bot.repo.engine import make_engine

    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine)
    store = SqlStore(engine)
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    operators.add(store, "ada", PASSWORD, now)
    seat = operators.sign_in(store, "ada", PASSWORD, "", "10.0.0.1", now).token
    assert seat is not None
    return (
        engine,
        store,
        now,
        seat,
        actions.issue(store, "ada", action, transfer_id, amount_minor, question, now, session=seat),
    )


def _refused_in(client: FlaskClient, transfer: int, old: dict[str, str], world: ConsoleWorld) -> None:
    """`old`, a refund page's form shown in another session, posted in `client`'s with its own CSRF token: refused,
    nothing refunded."""
    csrf = csrf_of(client.get(f"/console/transfers/{transfer}").get_data(as_text=True))
    r = client.post(f"/console/transfers/{transfer}/refund", data={**old, "csrf": csrf})
    assert r.status_code == 400 and "nothing was done" in text(r)
    assert admin.show(world.store, transfer)["refunded"] == "0.00"  # type: ignore[index]


# ------------------------------------------------ a confirmation page does what it said, once (attack-f, break 1)


def test_one_refund_confirmation_refunds_once_however_often_it_is_posted(
    world: ConsoleWorld, client: FlaskClient
) -> None:
    """A double click, or a reload of the outcome page, posts "Yes, do it" again: the page said $2.00, so $2.00
    goes back, once. The POST answers with a 303 to the result page (a reload of which posts nothing); the second
    POST does nothing and is sent to the same result, saying so."""
    transfer = world.send("@paybot send 5 to @alice")
    asked = client.get(f"/console/transfers/{transfer}/refund?amount=2")
    assert f"Refund $2.00 of transfer {transfer} to its sender?" in text(asked)
    form = form_of(text(asked))
    first = client.post(f"/console/transfers/{transfer}/refund", data=form)
    again = client.post(f"/console/transfers/{transfer}/refund", data=form)
    story = admin.show(world.store, transfer)
    assert story is not None
    assert story["refunded"] == "2.00", f"one confirmation refunded ${story['refunded']}"
    assert first.status_code == 303 and again.status_code == 303
    result = first.headers["Location"]
    assert result.startswith("/console/done/") and again.headers["Location"] == f"{result}?again=1"
    shown = client.get(result)
    assert shown.status_code == 200 and h1(shown) == "Done" and "$2.00 refunded" in text(shown)
    assert "already used" not in text(shown) and client.get(result).status_code == 200  # a reload: nothing done
    replayed = client.get(again.headers["Location"])
    assert "This confirmation was already used: nothing more was done." in text(replayed)
    assert admin.show(world.store, transfer)["refunded"] == "2.00"  # type: ignore[index]
    notes = [e["note"] for e in admin.show(world.store, transfer)["timeline"]]  # type: ignore[index]
    assert len([n for n in notes if n and "asked by operator ada" in n]) == 1


def test_refund_the_rest_refunds_the_rest_the_page_showed(world: ConsoleWorld, client: FlaskClient) -> None:
    """The page said "Refund $5.00" (all that was left); $2.00 went back by the CLI meanwhile: posting the page
    must not refund the $3.00 now left (the page never said so): it is refused, and nothing moves."""
    transfer = world.send("@paybot send 5 to @alice")
    asked = client.get(f"/console/transfers/{transfer}/refund")
    assert f"Refund $5.00 of transfer {transfer} to its sender?" in text(asked)
    assert world.run.bot.service.operator_refund(transfer, 200)[0] is True
    done = client.post(f"/console/transfers/{transfer}/refund", data=form_of(text(asked)))
    story = admin.show(world.store, transfer)
    assert story is not None and story["refunded"] == "2.00", f"the page said $5.00; ${story and story['refunded']}"
    shown = client.get(done.headers["Location"])
    assert shown.status_code == 409 and "$3.00 is left to refund, not $5.00" in text(shown)
    rest = client.get(f"/console/transfers/{transfer}/refund")
    assert "Refund $3.00" in text(rest)
    client.post(f"/console/transfers/{transfer}/refund", data=form_of(text(rest)))
    assert admin.show(world.store, transfer)["refunded"] == "5.00"  # type: ignore[index]


def test_a_refund_confirmed_while_another_is_in_flight_does_not_finish_that_one(
    world: ConsoleWorld, client: FlaskClient
) -> None:
    """A refund of $1.00 begun elsewhere (another operator, or one a crash interrupted) has no answer yet; the page
    asks for $2.00. Posting it must not finish the $1.00 refund in its place: it is refused, saying why."""
    from bot.domain import Cause, Settle, Step
    from bot.domain.entities import Settlement

    transfer = world.send("@paybot send 5 to @alice")
    service = world.run.bot.service
    with service.uow() as s:
        row = s.transfers.get(transfer)
        assert row is not None
        service.settling.begin(s, row, Step.REFUND, 100, Cause.OPERATOR)
        assert service.settling.commit(s)
    asked = client.get(f"/console/transfers/{transfer}/refund?amount=2")
    assert f"Refund $2.00 of transfer {transfer} to its sender?" in text(asked)
    done = client.post(f"/console/transfers/{transfer}/refund", data=form_of(text(asked)))
    story = admin.show(world.store, transfer)
    assert story is not None and story["refunded"] == "0.00", f"${story and story['refunded']} went back"
    with world.store() as s:
        refunds = s.exec(
            select(Settlement).where(col(Settlement.transfer_id) == transfer, col(Settlement.step) == Step.REFUND)
        ).all()
    assert [(r.amount_minor, r.status, r.ref) for r in refunds] == [(100, Settle.PENDING, None)]
    shown = client.get(done.headers["Location"])
    assert shown.status_code == 409 and "another refund of it ($1.00) is under way" in text(shown)


def test_a_confirmation_works_only_for_what_it_was_shown_for(world: ConsoleWorld, client: FlaskClient) -> None:
    """The token of transfer A's page refunds nothing of transfer B, cancels nothing, and a form without a token
    (made by hand, or from before the tokens) does nothing: each says so."""
    a = world.send("@paybot send 5 to @alice")
    b = world.send("@paybot send 3 to @alice")
    form = form_of(text(client.get(f"/console/transfers/{a}/refund?amount=2")))
    for path, data in [
        (f"/console/transfers/{b}/refund", form),
        (f"/console/transfers/{a}/cancel", form),
        ("/console/pause", form),
        (f"/console/transfers/{a}/refund", {"csrf": form["csrf"], "amount": "2"}),
    ]:
        r = client.post(path, data=data)
        assert r.status_code == 400 and "nothing was done" in text(r), path
    assert world.run.bot.service.paused() is False
    for t in (a, b):
        assert admin.show(world.store, t)["refunded"] == "0.00"  # type: ignore[index]
    assert client.post(f"/console/transfers/{a}/refund", data=form).status_code == 303  # still good for A
    assert admin.show(world.store, a)["refunded"] == "2.00"  # type: ignore[index]


def test_simultaneous_posts_of_one_confirmation_spend_it_once(database_url: str) -> None:
    """Two posts of one page at the same instant (a double click reaching two web processes), on SQLite and on
    PostgreSQL: one claim is fresh, the other finds it used."""
    from bot.console import actions
    from tests.support.racing import at_once

    question = "Refund $2.00 of transfer 7 to its sender?"
    engine, store, now, seat, token = _a_page_in_adas_session(database_url, "refund", 7, 200, question)
    claims = at_once(lambda _: actions.claim(store, token, "ada", "refund", 7, now, session=seat), [1, 2, 3])
    for minutes in range(20, 121, 20):  # the session kept alive by a page every 20 minutes, past VALID
        assert operators.operator_of(store, seat, now + timedelta(minutes=minutes)) == "ada"
    later = actions.claim(store, token, "ada", "refund", 7, now + actions.VALID * 2, session=seat)
    engine.dispose()
    assert sorted((c.fresh, c.used) for c in claims if isinstance(c, actions.Claim)) == [
        (False, True),
        (False, True),
        (True, False),
    ]
    assert all(isinstance(c, actions.Claim) and c.amount_minor == 200 for c in claims)
    assert (later.fresh, later.used) == (False, True)


def test_a_confirmation_expires(world: ConsoleWorld, client: FlaskClient) -> None:
    asked = client.get("/console/pause")
    world.run.clock.advance(timedelta(hours=1, seconds=1))
    client = world.app().test_client()
    assert sign_in(client).status_code == 303
    form = form_of(text(asked))
    form["csrf"] = csrf_of(text(client.get("/console/pause")))
    r = client.post("/console/pause", data=form)
    assert r.status_code == 400 and world.run.bot.service.paused() is False


# ------------------------------------------------ sign-in against itself and a new password, on PostgreSQL too
# (attack-f, breaks 2 and 3)


class _PausingHasher:
    """operators._hasher, which waits in check_needs_rehash: called in sign-in's last unit of work, right after the
    operator's row was read and its TOTP step checked."""

    def __init__(self, real: Any, wait: Any) -> None:
        self.real, self.wait = real, wait

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def check_needs_rehash(self, h: str) -> bool:
        self.wait()
        return bool(self.real.check_needs_rehash(h))


def test_one_totp_code_sent_twice_at_once_signs_in_once(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both tries pass the password check; each waits in its last unit of work for the other to have checked the
    step too (a barrier; with the row locked the other cannot get there, and the barrier gives up after 3 s): one
    session, not two."""
    import threading

    from bot import migrate
    from bot.console.records import OperatorSession
    from bot.repo.engine import make_engine
    from tests.support.racing import at_once

    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine)
    store = SqlStore(engine)
    now = datetime(2026, 12, 7, 12, 0, 10, tzinfo=UTC)
    secret = operators.add(store, "ada", PASSWORD, now, totp=True)
    assert secret
    code = pyotp.TOTP(secret).at(now)
    barrier = threading.Barrier(2, timeout=3.0)

    def both_checked() -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass  # the other try waits for this unit of work to end

    monkeypatch.setattr(operators, "_hasher", _PausingHasher(operators._hasher, both_checked))
    outcomes = at_once(
        lambda ip: operators.sign_in(store, "ada", PASSWORD, code, ip, now), ["192.0.2.1", "198.51.100.7"]
    )
    with store() as s:
        sessions = len(s.exec(select(OperatorSession)).all())
    engine.dispose()
    tokens = [o.token for o in outcomes if isinstance(o, operators.SignIn) and o.token]
    assert len(tokens) == 1 and sessions == 1, f"one TOTP code made {len(tokens)} sessions: {outcomes}"


def test_a_new_password_ends_a_session_whose_sign_in_was_under_way(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paybot operator add ada --replace` while a sign-in with the old password is between its check of the row
    and its new session: the reset wins, whichever commits first (the sign-in waits up to 2 s for the reset; with
    the row locked, the reset waits for the sign-in instead, and then deletes its session)."""
    import threading

    from bot import migrate
    from bot.repo.engine import make_engine

    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine)
    store = SqlStore(engine)
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    operators.add(store, "ada", PASSWORD, now)
    ready, replaced = threading.Event(), threading.Event()

    def let_the_reset_in() -> None:
        ready.set()
        replaced.wait(timeout=2.0)

    monkeypatch.setattr(operators, "_hasher", _PausingHasher(operators._hasher, let_the_reset_in))
    out: dict[str, Any] = {}

    def attacker() -> None:
        out["signin"] = operators.sign_in(store, "ada", PASSWORD, "", "203.0.113.66", now)

    def owner() -> None:
        assert ready.wait(timeout=10)
        operators.add(store, "ada", "a brand new passphrase", now, replace=True)
        replaced.set()

    threads = [threading.Thread(target=attacker), threading.Thread(target=owner)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert replaced.is_set() and "signin" in out
    token = out["signin"].token
    alive = operators.operator_of(store, token, now) if token else None
    engine.dispose()
    assert alive is None, "a session made with the replaced password still works"


# ------------------------------------------------------------ a confirmation is bound to its session


def test_a_removal_between_the_guard_and_the_spend_stops_the_action(
    world: ConsoleWorld, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paybot operator remove ada` commits after ada's POST passed the session check but before its token is
    spent: the spend, under the operator row's lock, finds the session gone; nothing is refunded, and a 400 page
    says so."""
    from bot.console import actions

    transfer = world.send("@paybot send 5 to @alice")
    form = form_of(client.get(f"/console/transfers/{transfer}/refund?amount=2").get_data(as_text=True))
    real = actions.claim

    def removed_first(*a: Any, **kw: Any) -> Any:  # the removal lands between the guard and the spend
        assert operators.remove(world.store, "ada")
        return real(*a, **kw)

    monkeypatch.setattr(actions, "claim", removed_first)
    r = client.post(f"/console/transfers/{transfer}/refund", data=form)
    assert operators.names(world.store) == []
    assert r.status_code == 400 and "nothing was done" in text(r)
    assert admin.show(world.store, transfer)["refunded"] == "0.00"  # type: ignore[index]


def test_a_spend_that_wins_the_lock_before_a_removal_acts(world: ConsoleWorld, client: FlaskClient) -> None:
    """The other order: the spend commits first (it was confirmed by an operator then), the removal after it."""
    transfer = world.send("@paybot send 5 to @alice")
    form = form_of(client.get(f"/console/transfers/{transfer}/refund?amount=2").get_data(as_text=True))
    assert client.post(f"/console/transfers/{transfer}/refund", data=form).status_code == 303
    assert operators.remove(world.store, "ada")
    assert admin.show(world.store, transfer)["refunded"] == "2.00"  # type: ignore[index]


def test_a_page_shown_to_a_removed_operator_does_nothing_for_a_new_one_of_that_name(
    world: ConsoleWorld, client: FlaskClient
) -> None:
    """ada sees a refund page; ada is removed and a new operator "ada" added: the old page's token does nothing in
    the new ada's session (it is bound to the session it was shown in, not to a name)."""
    transfer = world.send("@paybot send 5 to @alice")
    old = form_of(client.get(f"/console/transfers/{transfer}/refund?amount=2").get_data(as_text=True))
    assert operators.remove(world.store, "ada")
    operators.add(world.store, "ada", PASSWORD + "x", world.run.clock.now())
    c2 = world.app().test_client()
    assert sign_in(c2, password=PASSWORD + "x").status_code == 303
    _refused_in(c2, transfer, old, world)


def test_a_page_shown_before_a_sign_out_does_nothing_after_signing_in_again(
    world: ConsoleWorld, client: FlaskClient
) -> None:
    transfer = world.send("@paybot send 5 to @alice")
    old = form_of(client.get(f"/console/transfers/{transfer}/refund?amount=2").get_data(as_text=True))
    client.post("/console/sign-out", data={"csrf": csrf_of(client.get("/console/health").get_data(as_text=True))})
    assert sign_in(client).status_code == 303
    _refused_in(client, transfer, old, world)


def test_a_page_shown_in_one_session_does_nothing_in_another_of_the_same_operator(
    world: ConsoleWorld, client: FlaskClient
) -> None:
    """Two sessions of ada at once (two browsers): a page shown in one is spent only there."""
    transfer = world.send("@paybot send 5 to @alice")
    form = form_of(client.get(f"/console/transfers/{transfer}/refund?amount=2").get_data(as_text=True))
    other = world.app().test_client()
    assert sign_in(other).status_code == 303
    csrf = csrf_of(other.get(f"/console/transfers/{transfer}").get_data(as_text=True))
    assert other.post(f"/console/transfers/{transfer}/refund", data={**form, "csrf": csrf}).status_code == 400
    assert admin.show(world.store, transfer)["refunded"] == "0.00"  # type: ignore[index]
    assert client.post(f"/console/transfers/{transfer}/refund", data=form).status_code == 303  # still good here
    assert admin.show(world.store, transfer)["refunded"] == "2.00"  # type: ignore[index]


def test_a_spend_waits_for_the_operator_rows_lock_and_then_finds_the_session_gone(database_url: str) -> None:
    """On SQLite and PostgreSQL: a removal holding the operator's row lock (as `remove` does) makes a spend wait;
    when the removal commits, the spend finds the session gone and does nothing. Ordered by a barrier: the spend
    starts only once the lock is held."""
    import threading

    from bot.console import actions
    from bot.console.records import Operator, OperatorSession

    engine, store, now, seat, token = _a_page_in_adas_session(database_url, "pause", None, None, "Pause?")
    locked, claims = threading.Event(), []

    def spend() -> None:
        assert locked.wait(10)
        claims.append(actions.claim(store, token, "ada", "pause", None, now, session=seat))

    spender = threading.Thread(target=spend)
    spender.start()
    with store() as s:  # what `operators.remove` does, with the spend started while the lock is held
        row = s.session.get(Operator, "ada", with_for_update=True)
        locked.set()
        s.session.delete(row)
        s.session.execute(delete(OperatorSession).where(col(OperatorSession.operator) == "ada"))
        s.commit()
    spender.join(30)
    engine.dispose()
    assert [(c.fresh, c.used) for c in claims] == [(False, False)]


def test_a_result_page_is_shown_only_in_the_session_that_spent_its_confirmation(
    world: ConsoleWorld, client: FlaskClient
) -> None:
    """The 303's result page says what was done: the session that confirmed reads it; another session of the same
    operator, and a new operator given a removed one's name, are told there is no such action of theirs."""
    transfer = world.send("@paybot send 5 to @alice")
    form = form_of(client.get(f"/console/transfers/{transfer}/refund?amount=2").get_data(as_text=True))
    result = client.post(f"/console/transfers/{transfer}/refund", data=form).headers["Location"]
    assert client.get(result).status_code == 200 and "$2.00 refunded" in text(client.get(result))
    other = world.app().test_client()
    assert sign_in(other).status_code == 303
    assert other.get(result).status_code == 404 and "$2.00" not in text(other.get(result))
    assert operators.remove(world.store, "ada")
    operators.add(world.store, "ada", PASSWORD + "x", world.run.clock.now())
    heir = world.app().test_client()
    assert sign_in(heir, password=PASSWORD + "x").status_code == 303
    shown = heir.get(result)
    assert shown.status_code == 404 and "no such action of yours" in text(shown)


def test_a_sign_out_during_a_spend_waits_for_it(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite and PostgreSQL: a sign-out sent while a confirmation of that session is being spent (its session
    checked, not yet committed) waits for the spend, as a removal does: the spend acted for a session that lasted
    until it committed, never for one that had ended. Ordered: the spend holds after its check until the sign-out
    has had 3 s to finish (on the code before, PostgreSQL's sign-out committed within them)."""
    import threading

    from bot.console import actions

    engine, store, now, seat, token = _a_page_in_adas_session(database_url, "pause", None, None, "Pause payments?")
    checked, let_go = threading.Event(), threading.Event()
    lasts = actions._session_lasts

    def held_after_the_check(*args: Any, **kwargs: Any) -> bool:
        ok = lasts(*args, **kwargs)
        checked.set()
        let_go.wait(timeout=30)
        return ok

    monkeypatch.setattr(actions, "_session_lasts", held_after_the_check)
    claims: list[actions.Claim] = []
    spender = threading.Thread(
        target=lambda: claims.append(actions.claim(store, token, "ada", "pause", None, now, session=seat))
    )
    spender.start()
    assert checked.wait(30)
    out = threading.Thread(target=operators.sign_out, args=(store, seat))
    out.start()
    out.join(timeout=3.0)
    signed_out_first = not out.is_alive()
    let_go.set()
    spender.join(30)
    out.join(30)
    ended = operators.operator_of(store, seat, now) is None
    engine.dispose()
    assert ended, "the sign-out did not end the session"
    assert not signed_out_first, "the sign-out committed while the spend of its session was under way"
    assert [(c.fresh, c.used) for c in claims] == [(True, False)]


def test_a_refund_page_whose_money_all_went_back_meanwhile_is_refused_not_done(
    world: ConsoleWorld, client: FlaskClient
) -> None:
    """The page said "Refund $5.00"; the whole $5.00 went back by the CLI before it was posted. This confirmation
    moved nothing, so its result says "Not done" (409) with why, as when part went back meanwhile; never "Done"."""
    transfer = world.send("@paybot send 5 to @alice")
    asked = client.get(f"/console/transfers/{transfer}/refund")
    assert f"Refund $5.00 of transfer {transfer} to its sender?" in text(asked)
    assert world.run.bot.service.operator_refund(transfer)[0] is True
    posted = client.post(f"/console/transfers/{transfer}/refund", data=form_of(text(asked)))
    shown = client.get(posted.headers["Location"])
    assert admin.show(world.store, transfer)["refunded"] == "5.00"  # type: ignore[index]
    assert (shown.status_code, h1(shown)) == (409, "Not done"), text(shown)
    assert "was already returned: nothing is left to refund, not $5.00; nothing was done" in text(shown)


def test_a_refund_page_posted_while_the_whole_amount_is_at_the_provider_is_refused(
    world: ConsoleWorld, client: FlaskClient
) -> None:
    """The whole amount is being refunded another way (sent to the provider, no answer yet) when the page is
    posted: this confirmation moves nothing and says so; if that other refund fails, no operator was told theirs
    was done."""
    from bot.domain import Cause, Step

    transfer = world.send("@paybot send 5 to @alice")
    asked = client.get(f"/console/transfers/{transfer}/refund")
    service = world.run.bot.service
    with service.uow() as s:
        row = s.transfers.get(transfer)
        assert row is not None
        st = service.settling.begin(s, row, Step.REFUND, 500, Cause.OPERATOR)
        st.ref = "re_elsewhere"
        s.settlements.add(st)
        assert service.settling.commit(s)
    posted = client.post(f"/console/transfers/{transfer}/refund", data=form_of(text(asked)))
    shown = client.get(posted.headers["Location"])
    assert (shown.status_code, h1(shown)) == (409, "Not done"), text(shown)
    assert "has its refund in progress at the provider: nothing is left to refund, not $5.00" in text(shown)


def test_the_hour_keeper_keeps_the_month_so_a_drawing_counts_only_the_last_hours(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite and PostgreSQL, on a store filled as bench.web fills one: one turn of the keeper (which `paybot
    web` runs beside the app) keeps every past hour of the month, so the first drawing counts only the hours not
    yet over for an hour, and draws what counting the month anew draws."""
    from sqlmodel import delete, func

    from bench.web import NOW, fill
    from bot import migrate
    from bot.console.keeper import HourKeeper
    from bot.console.records import ChartHour
    from bot.ports import FakeClock
    from bot.repo import console as console_sql
    from bot.repo.engine import make_engine

    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine)
    fill(engine, 3000)
    store = SqlStore(engine)
    assert HourKeeper(store, FakeClock(NOW)).keep()
    with store() as s:
        assert s.exec(select(func.count()).select_from(ChartHour)).one() == 30 * 24 - 1
    counted: list[datetime] = []
    count = console_sql._count

    def counting(db: Any, store_: Any, since: datetime, until: datetime | None) -> Any:
        counted.append(since)
        return count(db, store_, since, until)

    monkeypatch.setattr(console_sql, "_count", counting)
    drawn = console_read.charts(store, NOW, "USD")
    assert counted and min(counted) >= NOW - timedelta(hours=2), f"a drawing counted from {min(counted)}"
    with store() as s:
        s.session.execute(delete(ChartHour))
        s.session.commit()
    assert console_read.charts(store, NOW, "USD") == drawn
    engine.dispose()


def test_the_hour_keeper_logs_a_failure_and_goes_on(world: ConsoleWorld, caplog: pytest.LogCaptureFixture) -> None:
    from bot.console import keeper

    def broken(*_: Any) -> None:
        raise RuntimeError("the store is away")

    hours = keeper.HourKeeper(world.store, world.run.clock)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(console_read, "keep", broken)
        assert hours.keep() is False
    assert "could not keep the console charts' hours" in caplog.text
    assert hours.keep() is True


def test_paybot_web_keeps_the_charts_hours_when_it_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server `paybot web` (and `paybot run --web`) makes starts the keeper: the month's hours are kept
    without anyone drawing the charts."""
    import time

    from sqlmodel import func

    from bot import migrate
    from bot.cli.running import web_server
    from bot.config import load_settings
    from bot.console.records import ChartHour
    from bot.repo.engine import make_engine

    monkeypatch.setenv("PAYBOT_WEB_URL", "http://127.0.0.1:8000")
    monkeypatch.setenv("PAYBOT_LINK_SECRET", "Zq3vN8pX2mL7rT4wY6bH1cJ5sD9fG0kRa7Le")
    engine = make_engine(f"sqlite:///{tmp_path / 'paybot.db'}", create_tables=False)
    migrate.upgrade(engine)
    server = web_server(load_settings(), engine, "127.0.0.1", 0)
    store = SqlStore(engine)
    kept = 0
    for _ in range(600):  # waits for the keeper's thread (up to a minute on a busy machine), judges no speed
        with store() as s:
            kept = s.exec(select(func.count()).select_from(ChartHour)).one()
        if kept:
            break
        time.sleep(0.1)
    server.close()
    engine.dispose()
    assert kept == 30 * 24 - 1
