"""Migrations: every revision applies on SQLite and PostgreSQL, the newest matches the models,
and data written at one revision survives the upgrade to the next."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import IntegrityError

from bot import migrate
from bot.repo.engine import make_engine
from bot.repo.schema import metadata

pytestmark = pytest.mark.process


def test_upgrading_an_empty_database_gives_the_models(database_url: str) -> None:
    """From nothing to head, and the schema is exactly what the models describe."""
    engine = create_engine(database_url)
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_each_revision_keeps_the_data_of_the_one_before(database_url: str) -> None:
    """Walk the revisions one by one, writing a row before each step and reading it after."""
    engine = create_engine(database_url)
    script = ScriptDirectory.from_config(migrate._config(None))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    when = datetime(2026, 11, 28, tzinfo=UTC).replace(tzinfo=None)
    for i, revision in enumerate(revisions):
        migrate.upgrade(engine, revision)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO checkpoint (name, value) VALUES (:n, :v)"), {"n": f"r{i}", "v": revision})
            if "lease" in inspect(conn).get_table_names():
                conn.execute(
                    text("INSERT INTO lease (name, holder, expires_at) VALUES (:n, 'x', :t)"),
                    {"n": f"l{i}", "t": when + timedelta(minutes=i)},
                )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        kept: dict[str, str] = dict(conn.execute(text("SELECT name, value FROM checkpoint")).all())
    engine.dispose()
    assert kept == {f"r{i}": r for i, r in enumerate(revisions)}


def test_a_database_made_before_migrations_is_adopted(database_url: str) -> None:
    """Tables made by the paybot before migrations (its create_all made revision 0001's schema, with no
    alembic_version) are stamped at 0001, then upgraded."""
    engine = make_engine(database_url, create_tables=False)
    migrate.upgrade(engine, migrate.FIRST_REVISION)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("INSERT INTO checkpoint (name, value) VALUES ('bot_id', '42')"))
    assert migrate.current(engine) is None
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM checkpoint WHERE name = 'bot_id'")).scalar() == "42"
    engine.dispose()


def test_db_commands(tmp_path: Path) -> None:
    """`paybot db upgrade` migrates the configured store; `paybot db current` tells where it is."""
    env = {**os.environ, "PAYBOT_DB_PATH": str(tmp_path / "p.db")}

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "db", *a], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
        )

    assert "store: not under migrations" in run("current").stdout
    up = run("upgrade")
    assert up.returncode == 0 and f"store at revision {migrate.head()}" in up.stdout
    assert f"store: {migrate.head()}; newest: {migrate.head()}" in run("current").stdout


def test_two_processes_migrating_a_new_database_at_once_take_turns(database_url: str) -> None:
    """Two workers started together on an empty database: both come up, the schema is made once."""
    from tests.support.racing import at_once

    engines = [make_engine(database_url, create_tables=False) for _ in range(2)]
    results = at_once(migrate.upgrade, engines)
    for e in engines:
        e.dispose()
    assert results == [migrate.head(), migrate.head()]


def test_each_transfers_settle_key_becomes_a_settlement_and_back(database_url: str) -> None:
    """0007: a transfer's one release/return/refund key becomes a settlement row (succeeded when its
    provider reference was recorded, else pending: crash recovery drives it again with the same key); a
    returned transfer with no key of paybot's (a dashboard refund) gets a keyless refund row; the columns
    go. A downgrade writes each transfer's latest keyed settlement back."""
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0006")
    when = datetime(2026, 11, 28, tzinfo=UTC).replace(tzinfo=None)
    rows = [
        (1, "completed", "release:100:10:11", "tr_1"),
        (2, "held", "return:101:10:12", None),
        (3, "returned", "refund:102:10:11", "re_3"),
        (4, "returned", None, None),
        (5, "completed", None, None),
    ]
    with engine.begin() as conn:
        for tid, status, key, ref in rows:
            conn.execute(
                text(
                    "INSERT INTO transfer (id, kind, lang, root_tweet_id, command_tweet_id, sender_id, recipient_id, "
                    "amount_minor, currency, code, status, created_at, updated_at, expires_at, settle_key, settle_ref) "
                    "VALUES (:id, 'send', 'en', :root, :root, '10', '11', 500, 'USD', 'AAAA', :status, :t, :t, :t, "
                    ":key, :ref)"
                ),
                {"id": tid, "root": str(99 + tid), "status": status, "t": when, "key": key, "ref": ref},
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        moved = conn.execute(
            text(
                "SELECT transfer_id, step, seq, amount_minor, key, ref, status, cause "
                "FROM settlement ORDER BY transfer_id"
            )
        ).all()
        columns = {c["name"] for c in inspect(conn).get_columns("transfer")}
    assert [tuple(r) for r in moved] == [
        (1, "release", 1, 500, "release:100:10:11", "tr_1", "succeeded", "claim"),
        (2, "return", 1, 500, "return:101:10:12", None, "pending", "window"),
        (3, "refund", 1, 500, "refund:102:10:11", "re_3", "succeeded", "operator"),
        (4, "refund", 1, 500, None, None, "succeeded", "provider"),
    ]
    assert not {"settle_key", "settle_ref"} & columns
    migrate.downgrade(engine, "0006")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT id, settle_key, settle_ref FROM transfer ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in back] == [(tid, key, ref) for tid, _, key, ref in rows]


# 0016: one row per word each checked column may hold (NULL too, where the column may be empty), written at 0015.
WORDS_0016: dict[tuple[str, str], list[str | None]] = {
    ("user", "privacy"): ["public", "private", "quiet"],
    ("transfer", "kind"): ["send", "request"],
    ("transfer", "status"): [
        "pending",
        "executing",
        "completed",
        "held",
        "failed",
        "cancelled",
        "expired",
        "returned",
        "needs_auth",
    ],
    ("transferevent", "status"): [
        "pending",
        "executing",
        "completed",
        "held",
        "failed",
        "cancelled",
        "expired",
        "returned",
        "needs_auth",
    ],
    ("settlement", "step"): ["release", "return", "refund", "reverse"],
    ("settlement", "status"): ["pending", "succeeded", "failed"],
    ("settlement", "cause"): ["claim", "window", "closing", "operator", "provider", "undeliverable", None],
    ("outbox", "kind"): ["dm", "reply"],
    ("outbox", "status"): ["queued", "sending", "sent", "failed", "dropped"],
    ("outbox", "category"): [
        "ask",
        "ask_by_dm",
        "dm_answer",
        "closing_cashout",
        "help",
        "maintenance",
        "limit",
        "error",
        None,
    ],
    ("payout", "status"): ["created", "succeeded", "failed", "not_made", "confirm_account"],
    ("page_link", "purpose"): ["pay", "receive", "card", "recipient", "enrolled", "wallet"],
}
ROWS_0016 = {  # each table's row, the checked column filled in per word; :i numbers it
    "user": (
        'INSERT INTO "user" (id, handle, name, privacy, opted_out, updated_at) '
        "VALUES (:s, :s, '', :privacy, false, :t)"
    ),
    "transfer": (
        "INSERT INTO transfer (id, kind, lang, root_tweet_id, command_tweet_id, sender_id, recipient_id, "
        "amount_minor, currency, code, status, created_at, updated_at, expires_at) VALUES (:i, :kind, 'en', "
        ":s, :s, '10', '11', 500, 'USD', 'AAAA', :status, :t, :t, :t)"
    ),
    "transferevent": "INSERT INTO transferevent (id, transfer_id, at, status) VALUES (:i, 1, :t, :status)",
    "settlement": (
        "INSERT INTO settlement (id, transfer_id, step, seq, amount_minor, status, cause, created_at, "
        "updated_at) VALUES (:i, 1, :step, :i, 100, :status, :cause, :t, :t)"
    ),
    "outbox": (
        "INSERT INTO outbox (id, kind, priority, text, status, attempts, next_attempt_at, created_at, category) "
        "VALUES (:i, :kind, 1, 'hello', :status, 0, :t, :t, :category)"
    ),
    "payout": (
        "INSERT INTO payout (id, user_id, key, currency, status, lang, created_at, updated_at) "
        "VALUES (:i, '10', :s, 'EUR', :status, 'en', :t, :t)"
    ),
    "page_link": (
        "INSERT INTO page_link (nonce, purpose, user_id, lang, created_at, expires_at) "
        "VALUES (:s, :purpose, '10', 'en', :t, :t)"
    ),
}
FIRST_WORDS = {
    "privacy": "public",
    "kind": "send",
    "status": "pending",
    "step": "release",
    "cause": "claim",
    "category": "ask",
    "purpose": "pay",
}


def _write_every_word(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    """One row per word of each checked column (the table's other checked columns at a word they accept; a
    payout's and an outbox message's first words fit every table); returns each table's rows as read back."""
    when = datetime(2026, 11, 28, tzinfo=UTC).replace(tzinfo=None)
    n = 0
    for (table, column), words in WORDS_0016.items():
        for word in words:
            n += 1
            first = {
                "status": "queued" if table == "outbox" else "created" if table == "payout" else "pending",
                "kind": "dm" if table == "outbox" else "send",
            }
            values = {**FIRST_WORDS, **first, column: word, "i": n, "s": f"r{n}", "t": when}
            conn.execute(text(ROWS_0016[table]), values)
    return _read_checked(conn)


def _read_checked(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    read: dict[str, list[tuple[Any, ...]]] = {}
    for table in ROWS_0016:
        columns = [c for t, c in WORDS_0016 if t == table]
        key = "nonce" if table == "page_link" else "id"
        rows = conn.execute(text(f'SELECT {key}, {", ".join(columns)} FROM "{table}" ORDER BY {key}')).all()
        read[table] = [tuple(r) for r in rows]
    return read


def test_0016_keeps_a_row_in_every_state_and_then_refuses_any_other_word(database_url: str) -> None:
    """A store at 0015 holding a row in every status, kind, privacy, category, cause and purpose upgrades with
    every row as it was; afterwards the database itself refuses a word outside the enums, in each column."""
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0015")
    with engine.begin() as conn:
        before = _write_every_word(conn)
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        assert _read_checked(conn) == before
    for table, column in WORDS_0016:
        with engine.connect() as conn:
            key = "nonce" if table == "page_link" else "id"
            first = conn.execute(text(f'SELECT {key} FROM "{table}" ORDER BY {key}')).scalar()
            with pytest.raises(IntegrityError, match=f"ck_{table}_{column}|CHECK constraint failed"):
                conn.execute(text(f'UPDATE "{table}" SET {column} = :w WHERE {key} = :k'), {"w": "made_up", "k": first})
            conn.rollback()
    engine.dispose()


def test_0016_stops_before_any_change_when_a_row_holds_a_word_paybot_never_writes(database_url: str) -> None:
    """A transfer whose status was written by hand stops the upgrade, naming the table, column and word; the
    store stays at 0015 with the row as it was, for the operator to decide."""
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0015")
    when = datetime(2026, 11, 28, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(ROWS_0016["transfer"]), {"i": 1, "s": "100", "kind": "send", "status": "refunded_by_hand", "t": when}
        )
    with pytest.raises(RuntimeError, match="table transfer, column status holds 'refunded_by_hand'"):
        migrate.upgrade(engine)
    assert migrate.current(engine) == "0015"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM transfer")).scalar() == "refunded_by_hand"
        assert not inspect(conn).get_check_constraints("transfer")
    engine.dispose()


def test_0016_checks_are_the_models_and_go_away_on_downgrade(
    database_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """The CHECK constraints the migrations make are those a store made from the models has, word for word (alembic's
    comparison of schemas does not look at CHECKs); a downgrade to 0015 drops them and keeps the rows."""
    migrated, fresh = create_engine(database_url), make_engine(_another_database(database_url, request, tmp_path))
    migrate.upgrade(migrated)

    def checks(engine: Any) -> dict[str, list[tuple[str, str]]]:
        seen = inspect(engine)
        return {t: sorted((c["name"], c["sqltext"]) for c in seen.get_check_constraints(t)) for t in ROWS_0016}

    made = checks(migrated)
    assert made == checks(fresh)
    assert {name for found in made.values() for name, _ in found} == {f"ck_{t}_{c}" for t, c in WORDS_0016} | {
        "ck_transferevent_fact"
    }
    with migrated.begin() as conn:
        conn.execute(
            text(ROWS_0016["page_link"]),
            {"s": "n1", "purpose": "card", "t": datetime(2026, 11, 28, tzinfo=UTC).replace(tzinfo=None)},
        )
    migrate.downgrade(migrated, "0015")
    assert all(not found for found in checks(migrated).values())
    assert "fact" not in {c["name"] for c in inspect(migrated).get_columns("transferevent")}
    with migrated.connect() as conn:
        assert conn.execute(text("SELECT purpose FROM page_link")).scalar() == "card"
    migrated.dispose()
    fresh.dispose()


def _another_database(url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    from tests.support.pg import new_database

    return new_database(request.getfixturevalue("postgres_admin"))


def test_0016_gives_a_disputes_timeline_lines_their_fact(database_url: str) -> None:
    """The lines paybot wrote for a dispute and for the money it withdrew record that fact after 0016 (the code
    reads the fact, not the words); other lines record none, however they read; a made-up fact is refused."""
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0015")
    when = datetime(2026, 11, 28, tzinfo=UTC).replace(tzinfo=None)
    notes = [
        "disputed at the provider (evt_1)",
        "funds withdrawn by a dispute (du_1): the bank took $5.00 back",
        "refunded at the provider (evt_2)",
        "the operator read: disputed at the provider",
        None,
    ]
    with engine.begin() as conn:
        for i, note in enumerate(notes, 1):
            conn.execute(
                text(
                    "INSERT INTO transferevent (id, transfer_id, at, status, note) "
                    "VALUES (:i, 1, :t, 'completed', :note)"
                ),
                {"i": i, "t": when, "note": note},
            )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        facts = conn.execute(text("SELECT note, fact FROM transferevent ORDER BY id")).all()
        assert [tuple(r) for r in facts] == list(
            zip(notes, ["disputed", "funds_withdrawn", None, None, None], strict=True)
        )
        with pytest.raises(IntegrityError, match=r"ck_transferevent_fact|CHECK constraint failed"):
            conn.execute(text("UPDATE transferevent SET fact = 'chargeback' WHERE id = 3"))
    engine.dispose()


def test_0018c_adds_console_action_with_one_row_per_token_and_drops_it_on_downgrade(database_url: str) -> None:
    """The console's single-use confirmation tokens (bot.console.actions): the table comes at 0018c, a token's
    hash is stored once (a second row with it is refused), and the downgrade to 0018 removes the table."""
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0018")
    assert "console_action" not in inspect(engine).get_table_names()
    migrate.upgrade(engine, "0018c")
    assert migrate.current(engine) == "0018c"
    insert = text(
        "INSERT INTO console_action (token_hash, operator, action, transfer_id, amount_minor, question, "
        "created_at) VALUES (:h, 'ada', 'refund', 1, 200, 'Refund $2.00 of transfer 1 to its sender?', "
        ":t)"
    )
    when = datetime(2026, 12, 7, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(insert, {"h": "a" * 64, "t": when})
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"h": "a" * 64, "t": when})
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT operator, action, transfer_id, amount_minor, used_at FROM console_action")
        ).all()
    assert [tuple(r) for r in rows] == [("ada", "refund", 1, 200, None)]
    migrate.downgrade(engine, "0018")
    tables = inspect(engine).get_table_names()
    engine.dispose()
    assert "console_action" not in tables and "chart_hour" in tables


def test_0020_adds_the_session_of_a_console_action_and_drops_it_on_downgrade(database_url: str) -> None:
    """A confirmation token is bound to the session its page was shown in (bot.console.actions): 0020 adds
    console_action.session_hash (a row from before keeps none, so it is never spent), and the downgrade to 0018c
    removes the column and keeps the rows."""
    engine = create_engine(database_url)
    migrate.upgrade(engine, "0018c")
    when = datetime(2026, 12, 7, tzinfo=UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO console_action (token_hash, operator, action, question, created_at) "
                "VALUES (:h, 'ada', 'pause', 'Pause?', :t)"
            ),
            {"h": "a" * 64, "t": when},
        )
    migrate.upgrade(engine, "0020")
    assert migrate.current(engine) == "0020"
    assert "session_hash" in {c["name"] for c in inspect(engine).get_columns("console_action")}
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO console_action (token_hash, session_hash, operator, action, question, created_at) "
                "VALUES (:h, :s, 'ada', 'pause', 'Pause?', :t)"
            ),
            {"h": "b" * 64, "s": "c" * 64, "t": when},
        )
        rows = conn.execute(text("SELECT token_hash, session_hash FROM console_action ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [("a" * 64, None), ("b" * 64, "c" * 64)]
    migrate.downgrade(engine, "0018c")
    columns = {c["name"] for c in inspect(engine).get_columns("console_action")}
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT count(*) FROM console_action")).scalar_one()
    engine.dispose()
    assert "session_hash" not in columns and kept == 2
