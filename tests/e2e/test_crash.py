"""Crashes, two ways: many deterministic deaths in process, and real SIGKILLs of the worker process.

In process (tests/support/crashmode.py): seeded runs of `paybot simulate`'s crash
mode, hundreds of deaths (1,000 with PAYBOT_CRASH_FULL=1) at every named fault
point on the sandbox, on Stripe and on Mangopay, on a virtual clock; a failing
seed replays exactly (tests/e2e/test_crash_mode.py).

As a process: `paybot run` is killed with SIGKILL at a named fault point
(bot/faults.py, at its first or second passage in that process's life) and
restarted, again and again, while people keep posting commands, answering
their confirmations and claiming held money. Each kill waits for its point to
be reached, never for a clock: the people act on what the bot has done. This
proves what in-process deaths cannot: SQLite's WAL and commit on disk, the
process's start and signal handling. At the end a clean worker finishes the
work, and the invariants are checked:

- every confirmed command was executed exactly once at the provider, and
  nothing was executed without its sender's yes;
- the provider's records and the store agree on every transfer;
- every command post was ingested (the since_id never skipped one);
- nobody got the same message twice, nor two contradicting outcomes.

It runs on the sandbox (16 kills: every point at its 1st and at its 2nd
passage in a process's life), on the sandbox with the store on PostgreSQL, on
the Stripe adapter against the Stripe emulator, on the Mangopay adapter,
through the official SDK, against the Mangopay emulator, whose records are
then the provider's truth, and on the Mastodon timeline, the sandbox paying
(8 kills each: every point once; the money side is the same code as on the
sandbox, so the fewer kills go to what differs: the store's commit, the
adapters' calls, the Mastodon adapter's readings and sends, its cursors, its
stream). PAYBOT_CRASH_FULL=1 runs the longer seeded runs: 50 kills on the
sandbox, 16 on PostgreSQL, 24 on Stripe, 16 on Mangopay, 8 on Mastodon.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from bot.domain.entities import IdentityRecord
from bot.faults import POINTS
from bot.providers.sandbox import SandboxProvider
from bot.sims.mangopay import CARD_OK, MangopaySim
from bot.sims.mastodon import SIM_TOKEN
from bot.sims.mastodon_world import MastodonWorld
from bot.sims.stripe import StripeSim
from bot.sims.x import UNLIMITED, XSim
from tests.support.crashmode import mangopay_payments, stripe_payments
from tests.support.workers import spawn_worker, stop

pytestmark = [pytest.mark.process, pytest.mark.slow]

# The default run kills every point once per run, and on the sandbox once more at its 2nd passage in a process's
# life (the plan below, once through); PAYBOT_CRASH_FULL=1 runs the longer seeded runs (50, 16, 24, 16, 8 kills).
FULL = os.environ.get("PAYBOT_CRASH_FULL") == "1"
KILLS = int(os.environ.get("PAYBOT_CRASH_KILLS", "50" if FULL else "16"))
STRIPE_KILLS = int(os.environ.get("PAYBOT_CRASH_KILLS_STRIPE", "24" if FULL else "8"))
MANGOPAY_KILLS = int(os.environ.get("PAYBOT_CRASH_KILLS_MANGOPAY", "16" if FULL else "8"))
SEED = int(os.environ.get("PAYBOT_CRASH_SEED", "7"))
PG_KILLS = int(os.environ.get("PAYBOT_CRASH_KILLS_PG", "16" if FULL else "8"))
MASTODON_KILLS = int(os.environ.get("PAYBOT_CRASH_KILLS_MASTODON", "8"))
KILL_BUDGET = 90.0  # seconds for one kill's point to be reached: a hang guard, far above the usual 1-3 s


@pytest.fixture
def sim() -> Iterator[XSim]:
    s = XSim(limits=UNLIMITED)
    s.base = s.start()
    yield s
    s.stop()


@pytest.fixture
def masto() -> Iterator[MastodonWorld]:
    """The Mastodon simulator, played as the X one is (statuses for posts, direct statuses for DMs), without its
    rate limit: as on X, the worker polls far faster than a real deployment would."""
    s = MastodonWorld(rate_limit=None)
    s.start()
    yield s
    s.stop()


Sim = XSim | MastodonWorld


class People:
    """The people on X (or on Mastodon, the same moves as statuses): they post, answer their confirmations, and
    claim."""

    def __init__(self, sim: Sim, money: Any, rng: random.Random) -> None:
        self.sim, self.rng, self.money = sim, rng, money
        self.senders = [sim.add_user(f"c{i}") for i in range(8)]
        for uid in self.senders:
            money.give_card(uid)
        self.paid = [sim.add_user(f"paid{i}") for i in range(3)]
        for uid in self.paid:
            money.onboard(uid)
        self.claimer = sim.add_user("hold0")  # claims what is held for them
        self.never = sim.add_user("hold1")  # never claims: their money goes back
        for uid in (self.claimer, self.never):
            getattr(money, "identity", lambda _uid: None)(uid)  # (Mangopay: they gave the identity page)
        self.posts: dict[str, dict[str, Any]] = {}  # post id -> what was asked
        self.said: dict[str, str] = {}  # post id -> "yes" / "no"
        self.answered_dms: set[str] = set()
        self.claimed_replies: set[str] = set()
        self.n = 0

    def caught_up(self) -> bool:
        """Whether the bot has asked about every command posted so far (then someone posts the next)."""
        asked = sum(1 for m in self.sim.bot_messages() if m["type"] == "dm" and m["text"].startswith("Send "))
        return asked >= self.n

    def post(self) -> None:
        i = self.n
        self.n += 1
        sender = self.senders[i % len(self.senders)]
        to = self.rng.choice([*self.paid, self.claimer, self.never])
        # Every amount is different, so every message about a payment is unique.
        post = self.sim.tweet(self.sim.handle(sender), f"@paybot send {self._amount(i)[1:]} to @{self.sim.handle(to)}")
        self.posts[post["id"]] = {"sender": sender, "to": to, "i": i}

    def react(self) -> None:
        """Answer each confirmation DM once; claim each held payment once."""
        for m in self.sim.bot_messages():
            if m["type"] == "dm" and m["text"].startswith("Send ") and m["id"] not in self.answered_dms:
                self.answered_dms.add(m["id"])
                post_id = next(
                    p
                    for p, v in self.posts.items()
                    if v["sender"] == m["to_id"] and f" {self._amount(v['i'])} " in m["text"]
                )
                answer = "no" if self.rng.random() < 0.15 else "yes"
                self.said[post_id] = answer
                code = re.search(r"\[([A-Z0-9]{4})\]", m["text"])
                assert code, m["text"]
                self.sim.dm(self.sim.handle(m["to_id"]), f"{answer} {code.group(1)}")
            if (
                m["type"] == "dm"
                and "finish setting up your account here:" in m["text"]
                and m["id"] not in self.answered_dms
            ):  # Stripe's onboarding page
                self.answered_dms.add(m["id"])
                self.money.finish_onboarding(m["text"])
            if (
                m["type"] == "dm" and "first secure your account" in m["text"] and m["id"] not in self.answered_dms
            ):  # Mangopay's SCA enrolment, before the identity check
                self.answered_dms.add(m["id"])
                self.money.finish_enrolment(m["text"])
            if m["type"] == "reply" and "held for you" in m["text"] and m["id"] not in self.claimed_replies:
                self.claimed_replies.add(m["id"])
                if f"@{self.sim.handle(self.claimer)}," in m["text"]:
                    self.sim.dm("hold0", "claim")

    @staticmethod
    def _amount(i: int) -> str:
        return f"${1 + i // 100}.{i % 100:02d}"


class SandboxMoney:
    """The sandbox as the provider: its records are the provider's truth."""

    def __init__(self, tmp: Path) -> None:
        self.env: dict[str, str] = {}  # the sandbox needs none; a test may give the store's address
        self.sandbox = SandboxProvider(tmp / "sandbox.db")

    def give_card(self, uid: str) -> None:
        self.sandbox.set_card(uid, "ok")

    def onboard(self, uid: str) -> None:
        self.sandbox.set_payouts(uid, True)

    def finish_onboarding(self, text: str) -> None:
        raise AssertionError(f"the sandbox onboards at once: {text}")

    def payments(self) -> dict[str, dict[str, Any]]:
        return {p["ref"]: p for p in self.sandbox.payments()}

    def close(self) -> None:
        self.sandbox.close()


class StripeMoney:
    """The Stripe emulator as the provider, the worker talking to it with the real adapter."""

    def __init__(self, tmp: Path) -> None:
        from bot.providers.stripe_provider import StripeProvider
        from bot.sims.runner import ScenarioSettings

        self.sim = StripeSim()
        self.sim.start()
        self.env = {
            "PAYBOT_PROVIDER": "stripe",
            "STRIPE_API_KEY": self.sim.api_key,
            "STRIPE_API_BASE": self.sim.base,
            "STRIPE_DB_PATH": str(tmp / "stripe.db"),
        }
        self.setup = StripeProvider.from_settings(
            ScenarioSettings(
                paybot_provider="stripe",
                stripe_api_key=self.sim.api_key,
                stripe_api_base=self.sim.base,
                stripe_db_path=str(tmp / "stripe.db"),
            ),
            self.sim.clock,
        )

    def give_card(self, uid: str) -> None:
        self.setup.attach_card(uid, "pm_card_visa")

    def onboard(self, uid: str) -> None:
        self.sim.onboard(self.setup.account(uid))

    def finish_onboarding(self, text: str) -> None:
        found = re.search(r"/setup/e/(acct_\w+)/", text)
        assert found, text
        if found.group(1) in self.sim.awaiting_onboarding():
            self.sim.onboard(found.group(1))

    def payments(self) -> dict[str, dict[str, Any]]:
        """Each succeeded charge paybot made, in the sandbox's words: paid, held, released or refunded."""
        return stripe_payments(self.sim)

    def close(self) -> None:
        self.setup.close()
        self.sim.stop()


class MangopayMoney:
    """The Mangopay emulator as the provider, the worker talking to it through the official SDK with the
    real adapter; REGISTER links to the emulator's own card page, as `paybot simulate` does."""

    def __init__(self, tmp: Path) -> None:
        from bot.providers.mangopay_provider import MangopayProvider
        from bot.sims.runner import ScenarioSettings

        self.sim = MangopaySim()
        base = self.sim.start()
        settings: dict[str, Any]  # for Settings(**settings): its fields are not all strings
        settings = {
            "paybot_provider": "mangopay",
            "mangopay_client_id": self.sim.client_id,
            "mangopay_api_key": self.sim.api_key,
            "mangopay_api_base": base,
            "mangopay_card_page_url": base + "/_sim/card-page/{id}?user={user}&token={token}",
            "paybot_link_secret": self.sim.link_secret,
            "paybot_web_url": "http://127.0.0.1:9",
            "paybot_db_path": str(tmp / "paybot.db"),
            "mangopay_db_path": str(tmp / "mangopay.db"),
        }
        self.env = {name.upper(): value for name, value in settings.items()}
        # Everyone gave paybot's identity page before the run (Mangopay is sent only a person's identity): the
        # worker's store, migrated as `paybot run` would, holds their records.
        from bot import migrate
        from bot.repo.engine import make_engine
        from bot.repo.sql import SqlStore

        self.engine = make_engine(f"sqlite:///{tmp / 'paybot.db'}", create_tables=False)
        migrate.upgrade(self.engine)
        self.store = SqlStore(self.engine)
        self.setup = MangopayProvider.from_settings(ScenarioSettings(**settings), self.sim.clock, store=self.store)

    def identity(self, uid: str) -> None:
        from tests.support.mangopay_people import person

        who = person(uid)
        assert who.address is not None
        with self.store() as tx:
            tx.identities.add(
                IdentityRecord(
                    user_id=uid,
                    first_name=who.first_name,
                    last_name=who.last_name,
                    email=who.email,
                    birthday=who.birthday,
                    nationality=who.nationality,
                    residence=who.residence,
                    address_line1=who.address.line1,
                    city=who.address.city,
                    postal_code=who.address.postal_code,
                    terms_url=who.terms_url,
                    terms_accepted_at=who.terms_accepted_at,
                    updated_at=who.terms_accepted_at,
                )
            )
            tx.commit()

    def give_card(self, uid: str) -> None:
        """The user saved a card on the card page before the run (a frictionless one)."""
        self.identity(uid)
        self.setup.register(uid)
        self.sim.complete_card_page(str(self.setup._row(uid).card_registration_id), CARD_OK)
        assert self.setup.has_card(uid)

    def onboard(self, uid: str) -> None:
        """The user is a verified Owner, enrolled in SCA, who opened their account once: they can receive at once."""
        self.identity(uid)
        onboarding = self.setup.onboard(uid)
        if onboarding.enrol and onboarding.url:
            self.sim.follow_sca_link(onboarding.url)
            onboarding = self.setup.onboard(uid)
        if not onboarding.ready:
            self.sim.pass_kyc(str(self.setup._row(uid).kyc_session_id))
        self.sim.pass_wallet_sca(str(self.setup._row(uid).mangopay_user_id))

    def finish_enrolment(self, text: str) -> None:
        """The claimer enrols in SCA through the link the bot sent them, while its session is open."""
        found = re.search(r"\S+/_sim/sca\?token=(\w+)\S*", text)
        assert found, text
        if any(s["Token"] == found.group(1) for s in self.sim.open_sca_sessions("ENROLMENT")):
            self.sim.follow_sca_link(found.group(0))

    def finish_onboarding(self, text: str) -> None:
        """The claimer passes the identity verification the bot sent them to (once: a later link of theirs
        finds them verified)."""
        found = re.search(r"/_sim/kyc-page/(\w+)", text)
        assert found, text
        if any(session["Id"] == found.group(1) for session in self.sim.open_kyc()):
            self.sim.pass_kyc(found.group(1))

    def payments(self) -> dict[str, dict[str, Any]]:
        """Each succeeded pay-in paybot made, in the sandbox's words (tests/support/crashmode.py)."""
        return mangopay_payments(self.sim)

    def close(self) -> None:
        self.setup.close()
        self.engine.dispose()
        self.sim.stop()


def start_worker(sim: Sim, tmp: Path, fault: str | None, env: dict[str, str]) -> subprocess.Popen[bytes]:
    settings = {
        "PAYBOT_MENTIONS_INTERVAL": "0.05",
        "PAYBOT_DMS_INTERVAL": "0.05",
        "PAYBOT_DMS_IDLE_INTERVAL": "0",
        "PAYBOT_TICK_INTERVAL": "0.1",
        "PAYBOT_OUTBOX_INTERVAL": "0.05",
        "PAYBOT_LEASE_TTL": "0.5",
        "PAYBOT_CLAIM_WINDOW": "3s",
        "PAYBOT_DAILY_MAX": "100000",
        "LOG_LEVEL": "INFO",
        # The simulator keeps X's time by this machine's clock: no skew to allow for, and every answer judged at
        # the next reading (the default margin would hold each answer 5 s, past the runs' time budgets).
        "PAYBOT_ANSWER_MARGIN": "0s",
        # Eight people post a few hundred commands within the hour: the per-sender hourly limit (20 by default)
        # would answer the 21st with a refusal the people never await.
        "PAYBOT_SENDS_PER_HOUR": "1000",
    }
    if fault:
        settings["PAYBOT_FAULT"] = fault
    return spawn_worker(sim, tmp, settings | env)


def _why(db: str, sim: Sim, people: People, root: str) -> dict[str, Any]:
    """What is known of one transfer, for a failure message."""
    return {
        "asked": people.posts.get(root),
        "said": people.said.get(root),
        "transfer": rows(db, f"SELECT * FROM transfer WHERE root_tweet_id = '{root}'"),
        "timeline": rows(
            db,
            f"SELECT e.* FROM transferevent e JOIN transfer t ON e.transfer_id = t.id WHERE t.root_tweet_id = '{root}'",
        ),
        "outbox": rows(db, f"SELECT * FROM outbox WHERE transfer_root = '{root}'"),
        "dms_to_sender": [
            m["text"]
            for m in sim.bot_messages()
            if m["type"] == "dm" and m["to_id"] == (people.posts.get(root) or {}).get("sender")
        ][-5:],
        "checkpoints": rows(db, "SELECT * FROM checkpoint WHERE name LIKE 'dm%'"),
    }


def wait_for(
    done: Any, proc: subprocess.Popen[bytes], tmp: Path, what: str, *, pause: float = 0.05, must_live: bool = True
) -> None:
    """Poll `done()` until true. The worker dying unasked (`must_live`) fails at once; KILL_BUDGET
    seconds without it is a hang, and fails with the log's tail. No verdict depends on speed."""
    deadline = time.monotonic() + KILL_BUDGET
    while not done():
        if must_live and proc.poll() is not None:
            pytest.fail(f"the worker stopped while waiting for {what}:\n" + (tmp / "worker.log").read_text()[-3000:])
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f"{what} not reached in {KILL_BUDGET:.0f} s:\n" + (tmp / "worker.log").read_text()[-3000:])
        time.sleep(pause)


def rows(db: str, sql: str) -> list[Any]:
    engine = create_engine(db)
    with engine.connect() as conn:
        out = list(conn.execute(text(sql)))
    engine.dispose()
    return out


@pytest.mark.timeout(120 + KILLS * KILL_BUDGET)
def test_sigkill_anywhere_loses_nothing_and_does_nothing_twice(
    sim: XSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    money = SandboxMoney(tmp_path)
    try:
        crash_again_and_again(sim, tmp_path, money, KILLS, capsys)
    finally:
        money.close()


@pytest.mark.timeout(120 + STRIPE_KILLS * KILL_BUDGET)
def test_sigkill_anywhere_on_stripe(sim: XSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same, with the Stripe adapter against the Stripe emulator (fewer kills: each point once, three times
    with PAYBOT_CRASH_FULL=1)."""
    money = StripeMoney(tmp_path)
    try:
        crash_again_and_again(sim, tmp_path, money, STRIPE_KILLS, capsys)
    finally:
        money.close()


@pytest.mark.timeout(120 + MANGOPAY_KILLS * KILL_BUDGET)
def test_sigkill_anywhere_on_mangopay(sim: XSim, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same, with the Mangopay adapter (the official SDK) against the Mangopay emulator (fewer kills: each
    point once, twice with PAYBOT_CRASH_FULL=1). Its people are PAYERs with frictionless cards, so nothing waits
    on a 3DS or SCA page (tests/support/crashmode.py's people on Mangopay meet those)."""
    money = MangopayMoney(tmp_path)
    try:
        crash_again_and_again(sim, tmp_path, money, MANGOPAY_KILLS, capsys)
    finally:
        money.close()


@pytest.mark.timeout(120 + MASTODON_KILLS * KILL_BUDGET)
def test_sigkill_anywhere_on_mastodon(masto: MastodonWorld, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The same on the Mastodon timeline: `paybot run` reads the simulator's notifications and follows its user
    stream, its cursors in the store, killed at every point once (at its first passage in a process's life)."""
    money = SandboxMoney(tmp_path)
    money.env = {"PAYBOT_TIMELINE": "mastodon", "MASTODON_BASE_URL": masto.base, "MASTODON_ACCESS_TOKEN": SIM_TOKEN}
    try:
        crash_again_and_again(masto, tmp_path, money, MASTODON_KILLS, capsys)
    finally:
        money.close()


@pytest.mark.timeout(120 + PG_KILLS * KILL_BUDGET)
def test_sigkill_anywhere_with_the_store_on_postgresql(
    sim: XSim, tmp_path: Path, postgres_admin: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same on the sandbox with the store on PostgreSQL: what a commit there promises survives a kill."""
    from tests.support.pg import new_database

    money = SandboxMoney(tmp_path)
    money.env = {"DATABASE_URL": new_database(postgres_admin)}
    try:
        crash_again_and_again(sim, tmp_path, money, PG_KILLS, capsys)
    finally:
        money.close()


def crash_again_and_again(  # noqa: C901
    sim: Sim,
    tmp_path: Path,
    money: Any,
    n_kills: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = random.Random(SEED)
    people = People(sim, money, rng)
    db = money.env.get("DATABASE_URL", f"sqlite:///{tmp_path / 'paybot.db'}")
    kills: Counter[str] = Counter()
    plan = [f"{p}@{k}" for k in (1, 2) for p in POINTS]
    started = time.monotonic()
    # A first start records when the bot began; posts older than that are history.
    proc = start_worker(sim, tmp_path, None, money.env)
    wait_for(lambda: "worker started" in (tmp_path / "worker.log").read_text(), proc, tmp_path, "the first start")
    stop(proc)
    while sum(kills.values()) < n_kills:
        fault = plan[sum(kills.values()) % len(plan)]
        proc = start_worker(sim, tmp_path, fault, money.env)

        def died(proc: subprocess.Popen[bytes] = proc) -> bool:
            # The people act on what the bot did: a new command once it asked about the last one.
            people.react()
            if people.caught_up():
                people.post()
            return proc.poll() is not None

        wait_for(died, proc, tmp_path, f"the fault point {fault}", pause=0.03, must_live=False)
        assert proc.returncode == -signal.SIGKILL, (
            fault,
            proc.returncode,
            (tmp_path / "worker.log").read_text()[-3000:],
        )
        kills[fault.split("@")[0]] += 1
    # A clean worker finishes everything: the people answer until every transfer has ended.
    proc = start_worker(sim, tmp_path, None, money.env)
    try:

        def settled() -> bool:
            people.react()
            open_ = rows(
                db,
                "SELECT COUNT(*) FROM transfer WHERE status NOT IN "
                "('completed', 'cancelled', 'expired', 'failed', 'returned')",
            )[0][0]
            unsent = rows(db, "SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")[0][0]
            return open_ == 0 and unsent == 0 and people.caught_up()

        wait_for(settled, proc, tmp_path, "every transfer to end", pause=0.1)
    finally:
        stop(proc)
    elapsed = time.monotonic() - started

    transfers = rows(
        db, "SELECT root_tweet_id, sender_id, recipient_id, amount_minor, status, payment_ref, pay_key FROM transfer"
    )
    payments = money.payments()
    by_root = {t[0]: t for t in transfers}

    # Every command post was ingested and became a transfer.
    processed = {r[0] for r in rows(db, "SELECT id FROM processedtweet")}
    assert set(people.posts) <= processed
    assert set(people.posts) == set(by_root)
    # Executed exactly once, and only after a yes.
    paid_states = {"completed", "held", "returned"}
    assert len(payments) == sum(t[4] in paid_states for t in transfers)
    for root, _sender, _recipient, minor, status, ref, _key in transfers:
        if status in paid_states:
            assert ref in payments and payments[ref]["amount_minor"] == minor
            assert people.said.get(root) == "yes", (root, status)
        else:
            if status not in {"cancelled", "expired", "failed"}:
                (tmp_path / "why.json").write_text(json.dumps(_why(db, sim, people, root), default=str, indent=1))
                pytest.fail(
                    f"transfer of post {root} ended {status}; its story: {tmp_path / 'why.json'}\n"
                    + (tmp_path / "why.json").read_text()
                )
            if people.said.get(root) == "yes":
                assert status != "cancelled"
    # The provider and the store agree.
    agree = {"completed": {"paid", "released"}, "held": {"held"}, "returned": {"refunded"}}
    for _root, _s, recipient, _m, status, ref, _k in transfers:
        if status in agree:
            assert payments[ref]["state"] in agree[status], (status, payments[ref])
            if payments[ref]["state"] == "released":
                assert recipient == people.claimer
    # Nobody got the same message twice, and no payment got two outcomes.
    # (One answer may rightly repeat: a second CLAIM after the first released everything.)
    said = Counter(
        (m["type"], m.get("to_id") or m.get("in_reply_to"), m["text"])
        for m in sim.bot_messages()
        if "Nothing is waiting for you" not in m["text"]
    )
    assert [k for k, n in said.items() if n > 1] == []
    outcomes = Counter(m["in_reply_to"] for m in sim.bot_messages() if m["type"] == "reply")
    assert all(n == 1 for n in outcomes.values())
    if isinstance(sim, MastodonWorld):  # (run without its limit: no request may have been refused)
        assert [r for r in sim.log if r["status"] == 429] == []
    else:
        assert sim.violations == 0
    with capsys.disabled():
        print(
            f"\nSIGKILL: {sum(kills.values())} kills, each at its point ({dict(kills)}), seed {SEED}, "
            f"{people.n} commands, {len(payments)} payments, {elapsed:.0f} s"
        )
