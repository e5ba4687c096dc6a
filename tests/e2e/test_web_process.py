"""`paybot run --web` (the Procfile's web line) as a real process: the worker and the pages in one process."""

from __future__ import annotations

import re
import signal
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from bot import links
from bot.domain import PagePurpose
from bot.ports import SystemClock
from bot.providers.sandbox import SandboxProvider
from bot.repo.engine import make_engine
from bot.repo.sql import SqlStore
from bot.sims.x import XSim
from bot.web import page_links
from tests.support.stripe_kit import free_port
from tests.support.webworld import FILLED, SECRET
from tests.support.worker_kit import sim as sim  # the X simulator with bob and alice (a fixture)
from tests.support.worker_kit import wait_for
from tests.support.workers import spawn_worker, stop

pytestmark = pytest.mark.process


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 403
    except requests.ConnectionError:
        return False


def test_run_with_web_pays_and_serves_the_pages_then_stops_on_sigterm(sim: XSim, tmp_path: Path) -> None:
    """One process takes a payment to completion and serves the pages on $PORT: a link made in its store opens the
    identity page, whose form is stored; SIGTERM stops both cleanly."""
    sandbox = SandboxProvider(tmp_path / "sandbox.db")
    sandbox.set_card(sim.user_id("bob"), "ok")
    sandbox.set_payouts(sim.user_id("alice"), True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = spawn_worker(
        sim,
        tmp_path,
        {
            "PAYBOT_MENTIONS_INTERVAL": "0.2",
            "PAYBOT_DMS_INTERVAL": "0.2",
            "PAYBOT_TICK_INTERVAL": "0.5",
            "PAYBOT_OUTBOX_INTERVAL": "0.2",
            "PORT": str(port),
            "PAYBOT_LINK_SECRET": SECRET,
            "PAYBOT_WEB_URL": base,
        },
        args=("--web", "--host", "127.0.0.1"),
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'paybot.db'}", create_tables=False)
    try:
        wait_for(lambda: proc.poll() is not None or answers(f"{base}/identity"))
        assert proc.poll() is None, (tmp_path / "worker.log").read_text()
        post = sim.tweet("bob", "@paybot send 5 to @alice")
        wait_for(lambda: any(m["type"] == "dm" for m in sim.bot_messages()))
        sim.dm("bob", "yes")
        wait_for(lambda: any(m["in_reply_to"] == post["id"] for m in sim.bot_messages() if m["type"] == "reply"))
        store = SqlStore(engine)
        with store() as tx:
            url = page_links.issue(
                tx,
                links.link_key(SECRET),
                base,
                PagePurpose.RECEIVE,
                sim.user_id("alice"),
                "en",
                SystemClock().now(),
                timedelta(minutes=15),
            )
            tx.commit()
        browser = requests.Session()
        page = browser.get(url, timeout=10)
        assert page.url == f"{base}/identity" and page.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf is not None
        saved = browser.post(
            f"{base}/identity", data={**FILLED, "x_handle": "alice", "csrf": csrf.group(1)}, timeout=10
        )
        assert saved.status_code == 200 and "Your details are saved" in saved.text
        with store() as tx:
            stored = tx.identities.get(sim.user_id("alice"))
            assert stored is not None and stored.city == "Paris"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop(proc)
        engine.dispose()
    log = (tmp_path / "worker.log").read_text()
    assert "worker stopped" in log and SECRET not in log and url.rsplit("/", 1)[1] not in log
    assert "Alice" not in log and "alice@example.com" not in log
