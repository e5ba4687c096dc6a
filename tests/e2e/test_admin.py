"""The operator's commands, as an operator types them, on a store the real bot wrote."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import pytest
from sqlmodel import col, select

from bot import migrate
from bot.domain import Status
from bot.domain.entities import Transfer
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore
from bot.sims.runner import Run
from tests.support.cli import Done, paybot_in_process

pytestmark = pytest.mark.process


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Run]:
    engine = make_engine(f"sqlite:///{tmp_path / 'paybot.db'}", create_tables=False)
    migrate.upgrade(engine)
    engine.dispose()
    users = {"bob": {"card": "ok"}, "alice": {"payouts": True}, "carol": {}}
    # The operator commands run on the real clock, so the bot's virtual one starts at the real time
    # (not the default fixed date), as a store a real bot wrote today would be.
    r = Run({"users": users, "start": datetime.now(UTC).isoformat()}, tmp_path)
    for text in ("@paybot send 5 to @alice for lunch", "@paybot send 3 to @carol"):
        r.step({"tweet": text, "by": "bob"})
        r.step({"dm": "yes", "by": "bob"})
    r.step({"tweet": "@paybot send 2 to @alice", "by": "bob"})
    yield r
    r.close()


def operator_env(tmp: Path) -> dict[str, str]:
    """The environment an operator's command gets: the stores in `tmp`, no other PAYBOT_ or SANDBOX_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "SANDBOX_"))}
    return env | {
        "PAYBOT_DB_PATH": str(tmp / "paybot.db"),
        "SANDBOX_DB_PATH": str(tmp / "sandbox.db"),
        "COLUMNS": "200",
    }


def paybot_process(tmp: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as a process of its own, as an operator types it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=operator_env(tmp),
        cwd=tmp,
        timeout=60,
    )


def paybot(tmp: Path, *args: str) -> Done:
    """The same command in this process (tests/support/cli.py): the same main(), environment, working directory,
    exit code, standard output and standard error, without a new interpreter's start each time."""
    return paybot_in_process(
        *args,
        cwd=tmp,
        drop=("PAYBOT_", "SANDBOX_"),
        env={"PAYBOT_DB_PATH": str(tmp / "paybot.db"), "SANDBOX_DB_PATH": str(tmp / "sandbox.db"), "COLUMNS": "200"},
    )


def catch_up(run: Run) -> None:
    """The bot's clock reaches the real time, so it sees as due what the operator commands queued."""
    run.clock.set(datetime.now(UTC))


def statuses(run: Run) -> list[str]:
    with cast(SqlStore, run.bot.service.uow)() as s:
        return [t.status for t in s.exec(select(Transfer).order_by(col(Transfer.id)))]


def test_transfers_and_show(run: Run, tmp_path: Path) -> None:
    rows = json.loads(paybot(tmp_path, "transfers", "--json").stdout)
    assert [(r["id"], r["to"], r["amount"], r["status"]) for r in rows] == [
        (3, "alice", "2.00", "pending"),
        (2, "carol", "3.00", "held"),
        (1, "alice", "5.00", "completed"),
    ]
    assert [r["id"] for r in json.loads(paybot(tmp_path, "transfers", "--status", "held", "--json").stdout)] == [2]
    assert [r["id"] for r in json.loads(paybot(tmp_path, "transfers", "--user", "@carol", "--json").stdout)] == [2]
    table = paybot(tmp_path, "transfers").stdout
    assert "completed" in table and "lunch" in table
    shown = json.loads(paybot(tmp_path, "show", "1", "--json").stdout)
    assert [e["status"] for e in shown["timeline"]] == ["pending", "executing", "completed"]
    assert shown["payment_ref"] == run.sandbox.payments()[0]["ref"]
    assert [m["kind"] for m in shown["messages"]] == ["dm", "reply"]
    assert paybot(tmp_path, "show", "99").returncode == 1


def test_cancel_and_refund(run: Run, tmp_path: Path) -> None:
    """Cancel only what is pending; refund completed or held money once, however often asked."""
    refused = paybot(tmp_path, "cancel", "1", "--json")
    assert refused.returncode == 1 and json.loads(refused.stdout) == {
        "ok": False,
        "message": "transfer 1 is completed; only a pending one can be cancelled",
    }
    assert paybot(tmp_path, "cancel", "3").stdout.strip() == "transfer 3 cancelled"
    first = paybot(tmp_path, "refund", "1", "--yes")
    assert first.returncode == 0 and "transfer 1 refunded" in first.stdout
    again = paybot(tmp_path, "refund", "1", "--yes")
    assert again.returncode == 0 and "already returned" in again.stdout
    assert "refunded" in paybot(tmp_path, "refund", "2", "--yes").stdout
    assert paybot(tmp_path, "refund", "3", "--yes").returncode == 1  # cancelled: nothing moved
    assert statuses(run) == ["returned", "returned", "cancelled"]
    assert [p["state"] for p in run.sandbox.payments()] == ["refunded", "refunded"]
    catch_up(run)
    run.bot.worker.run_until_idle()
    texts = [m["text"] for m in run.sim.bot_messages() if m["type"] == "dm"]
    assert any("was refunded to you" in t for t in texts) and any(t.startswith("Cancelled.") for t in texts)


def test_pause_and_resume(run: Run, tmp_path: Path) -> None:
    """Paused: a confirmed payment waits and a new command gets the maintenance answer; resumed: it goes."""
    assert json.loads(paybot(tmp_path, "pause", "--json").stdout)["ok"] is True
    run.step({"dm": "yes", "by": "bob"})
    run.step({"tweet": "@paybot send 4 to @alice", "by": "bob", "id": "late"})
    assert statuses(run) == ["completed", "held", "executing"]
    assert "paused for maintenance" in run.sim.bot_messages()[-1]["text"]
    assert paybot(tmp_path, "resume").returncode == 0
    catch_up(run)
    run.bot.worker.run_until_idle()
    assert statuses(run) == ["completed", "held", "completed"]


def test_users_and_export(run: Run, tmp_path: Path) -> None:
    bob = json.loads(paybot(tmp_path, "users", "@bob", "--json").stdout)[0]
    assert (bob["handle"], bob["privacy"], bob["opted_out"], bob["sent"]) == ("bob", "public", False, 3)
    # The pending $2 does not count: the cap counts money when it moves.
    assert bob["sent_24h_minor"] == 800 and bob["daily_limit_minor"] == 50000
    assert paybot(tmp_path, "users", "@nobody").returncode == 1
    csv = paybot(tmp_path, "export", "--since", "30d").stdout.splitlines()
    assert csv[0] == "id,created_at,kind,from,to,amount,currency,memo,status,code,tweet"
    assert [line.split(",")[0] for line in csv[1:]] == ["1", "2", "3"]


def test_operator_commands_refuse_an_old_schema(tmp_path: Path) -> None:
    """As a process: `python -m bot` exits 2 with one line on standard error."""
    out = paybot_process(tmp_path, "transfers")
    assert out.returncode == 2 and "paybot db upgrade" in out.stderr


def test_status_from_another_process(run: Run, tmp_path: Path) -> None:
    """The worker's heartbeat, queues, rate-limit headroom and today's X spend, read by `paybot status`."""
    assert json.loads(paybot(tmp_path, "status", "--json").stdout)["worker"] == "never ran"
    run.bot.worker._jobs["mentions"] = {"ok": "2026-11-28T12:00:00+00:00"}
    run.bot.worker.heartbeat()
    data = json.loads(paybot(tmp_path, "status", "--json").stdout)
    assert data["queues"] == {"pending": 1, "executing": 0, "needs_auth": 0, "held": 1, "outbox": 0}
    assert data["jobs"]["mentions"]["ok"].startswith("2026-11-28")
    usage = data["x_usage_today"]
    assert usage["requests"]["dm_post"] == 3 and usage["requests"]["tweets_post"] == 2
    assert usage["usd"] > 0 and data["provider_errors_last_hour"] == 0 and data["paused"] is False
    text = paybot(tmp_path, "status").stdout
    assert "1 pending" in text and "X today" in text


def test_reconcile_on_the_sandbox(run: Run, tmp_path: Path) -> None:
    done = paybot(tmp_path, "reconcile", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"mismatches": [], "resolved_by_lookup": 0}
    with cast(SqlStore, run.bot.service.uow)() as s:  # the store says held money went back, the sandbox still holds it
        row = s.exec(select(Transfer).where(Transfer.id == 2)).one()
        row.status = "returned"
        s.add(row)
        s.commit()
    done = paybot(tmp_path, "reconcile", "--json")
    assert done.returncode == 1
    [m] = json.loads(done.stdout)["mismatches"]
    assert m["transfer"] == 2 and "not refunded" in m["what"]
    assert "Mismatches" in paybot(tmp_path, "reconcile").stdout


def test_export_cells_never_run_as_formulas_and_handles_match_exactly(tmp_path: Path) -> None:
    """A memo from any X user that starts like a formula is exported inert; `paybot users a_c` is not @abc."""
    from bot import admin
    from bot.domain import Policy
    from bot.domain.entities import User
    from bot.repo.sql import SqlStore

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    uow = SqlStore(engine)
    now = datetime.now(UTC)
    with uow() as s:
        s.add(User(id="1", handle="abc", updated_at=now))
        s.add(User(id="2", handle="a_c", updated_at=now))
        for i, memo in enumerate(['=HYPERLINK("http://evil.example","x")', "+1", "-2", "@SUM(A1)", "\tx", "pizza"]):
            s.add(
                Transfer(
                    root_tweet_id=str(10 + i),
                    command_tweet_id=str(10 + i),
                    sender_id="1",
                    recipient_id="2",
                    amount_minor=500,
                    currency="USD",
                    memo=memo,
                    code="AAAA",
                    status=Status.COMPLETED,
                    created_at=now,
                    updated_at=now,
                    expires_at=now,
                )
            )
        s.commit()
    rows = list(csv.DictReader(io.StringIO(admin.export_csv(uow, since=None, now=now))))
    assert [r["memo"] for r in rows] == [
        '\'=HYPERLINK("http://evil.example","x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "pizza",
    ]
    assert admin.user(uow, "a_c", Policy(), now)["id"] == "2"  # type: ignore[index]
    assert admin.user(uow, "@ABC", Policy(), now)["id"] == "1"  # type: ignore[index]
    assert admin.user(uow, "a%", Policy(), now) is None
    engine.dispose()


def test_files_are_the_operators_alone_and_never_written_through_a_symlink(run: Run, tmp_path: Path) -> None:
    """The store the CLI creates and an export are 0600; an export neither replaces a file without
    --force nor follows a symlink, even with it."""
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    done = paybot(fresh, "db", "upgrade")
    assert done.returncode == 0, done.stderr
    assert (fresh / "paybot.db").stat().st_mode & 0o777 == 0o600
    out = tmp_path / "export.csv"
    assert paybot(tmp_path, "export", "--output", str(out)).returncode == 0
    assert out.stat().st_mode & 0o777 == 0o600 and out.read_text().startswith("id,")
    again = paybot(tmp_path, "export", "--output", str(out))
    assert again.returncode != 0 and "--force" in again.stderr
    out.chmod(0o644)
    assert paybot(tmp_path, "export", "--output", str(out), "--force").returncode == 0
    assert out.stat().st_mode & 0o777 == 0o600
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    link = tmp_path / "link.csv"
    link.symlink_to(victim)
    for args in ([], ["--force"]):
        refused = paybot(tmp_path, "export", "--output", str(link), *args)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert victim.read_text() == "keep me"


def test_wind_down_from_the_command_line(run: Run, tmp_path: Path) -> None:
    """`paybot wind-down` cancels the pending, returns the held at once, says what is left (the messages
    it queued: the worker sends them), and a second run has nothing more to do; status shows it."""
    assert paybot(tmp_path, "wind-down").returncode == 1  # asks first; no answer on stdin: nothing done
    assert statuses(run) == ["completed", "held", "pending"]
    first = paybot(tmp_path, "wind-down", "--yes", "--json")
    report = json.loads(first.stdout)
    assert (report["cancelled"], report["returned"]) == (1, 1) and report["left"]["outbox"] == 2
    assert first.returncode == 1 and report["ok"] is False  # the two DMs are still to send
    assert statuses(run) == ["completed", "returned", "cancelled"]
    assert json.loads(paybot(tmp_path, "status", "--json").stdout)["winding_down"] is True
    catch_up(run)
    run.bot.worker.run_until_idle()
    again = paybot(tmp_path, "wind-down", "--yes")
    assert again.returncode == 0 and "nothing is left" in again.stdout
    texts = [m["text"] for m in run.sim.bot_messages() if m["type"] == "dm" and "closing down" in m["text"]]
    assert len(texts) == 2 and any("went back to you" in t for t in texts) and any("cancelled" in t for t in texts)


def test_refund_in_parts_reverse_and_the_money_warnings_of_status(run: Run, tmp_path: Path) -> None:
    """`paybot refund --amount` gives part back (asking first, with what went back so far); `paybot status`
    warns of a dispute's withdrawal until `paybot reverse` takes the recipient's share back; `paybot show`
    lists every money step."""
    bad = paybot(tmp_path, "refund", "1", "--amount", "2.505", "--yes")
    assert bad.returncode == 2 and "--amount '2.505'" in bad.stderr
    part = paybot(tmp_path, "refund", "1", "--amount", "2.50", "--yes", "--json")
    assert json.loads(part.stdout) == {
        "ok": True,
        "message": "transfer 1: $2.50 refunded; $2.50 of $5.00 refunded in all",
    }
    # As a process: the question on standard output, the answer read from standard input.
    asked = paybot_process(tmp_path, "refund", "1", "--amount", "1", stdin="n\n")
    assert (
        asked.returncode == 1
        and "Refund $1.00 of transfer 1 to its sender ($2.50 of $5.00 refunded so far)?" in asked.stdout
    )
    [payment] = [p for p in run.sandbox.payments() if p["recipient_id"] == run.sim.user_id("alice")]
    run.sandbox.dispute(payment["ref"])
    run.bot.service.provider_events()  # the worker reads the provider's events
    [warning] = json.loads(paybot(tmp_path, "status", "--json").stdout)["money_warnings"]
    assert (warning["transfer"], warning["what"]) == (1, "funds_withdrawn")
    assert "WARNING: transfer 1: funds withdrawn by a dispute" in paybot(tmp_path, "status").stdout
    reversed_ = paybot(tmp_path, "reverse", "1", "--yes")
    assert reversed_.returncode == 0 and "$2.50 taken back from the recipient" in reversed_.stdout
    assert json.loads(paybot(tmp_path, "status", "--json").stdout)["money_warnings"] == []
    shown = json.loads(paybot(tmp_path, "show", "1", "--json").stdout)
    assert [(s["step"], s["amount"], s["status"]) for s in shown["settlements"]] == [
        ("refund", "2.50", "succeeded"),
        ("reverse", "2.50", "succeeded"),
    ]
    assert shown["refunded"] == "2.50" and shown["status"] == "completed"
    assert "Money after the payment" in paybot(tmp_path, "show", "1").stdout
    assert [(m["kind"], m["amount_minor"]) for m in run.sandbox.movements()] == [("refund", 250), ("reversal", 250)]
    assert paybot(tmp_path, "reverse", "2", "--yes").returncode == 1  # held: nothing is with the recipient


def test_show_never_prints_an_approval_link(run: Run, tmp_path: Path) -> None:
    """A payment waiting for the bank's approval: `paybot show` lists the DM that links the approval page, with
    the link written as <link> (a bearer credential of its payer), in JSON and as a table."""
    run.step({"register": "dave", "card": "needs_auth"})
    run.step({"tweet": "@paybot send 4 to @alice", "by": "dave"})
    run.step({"dm": "yes", "by": "dave"})
    tid = str(len(statuses(run)))
    assert statuses(run)[-1] == "needs_auth"
    shown = json.loads(paybot(tmp_path, "show", tid, "--json").stdout)
    texts = [m["text"] for m in shown["messages"]]
    assert any("<link>" in t for t in texts) and not any("http" in t for t in texts)
    assert "http" not in paybot(tmp_path, "show", tid).stdout


def test_a_sent_dm_keeps_no_link_in_the_store(run: Run) -> None:
    """The outbox kept every DM's text, approval and page links included (bearer credentials of their user), for
    whoever reads the database or a backup. Once a DM is sent its stored text says "<link>" instead; X got it
    whole."""
    from sqlmodel import select

    from bot.domain.entities import Outbox

    run.step({"register": "dave", "card": "needs_auth"})
    run.step({"tweet": "@paybot send 4 to @alice", "by": "dave"})
    run.step({"dm": "yes", "by": "dave"})
    on_x = [m["text"] for m in run.sim.bot_messages() if m["type"] == "dm" and "http" in m["text"]]
    assert on_x, "the approval DM carries its link on X"
    with cast(SqlStore, run.bot.service.uow)() as s:
        kept = [row.text for row in s.exec(select(Outbox)) if row.kind == "dm" and row.status == "sent"]
    assert kept and not any("http" in text for text in kept)
    assert sum("<link>" in text for text in kept) == len(on_x)
