"""The operator's console in a real browser: Debian's Chromium, headless, through Playwright, on a phone's screen
(operators often look from one), as tests/e2e/test_web_browser.py drives the people's pages.

The app is served by waitress on 127.0.0.1 on the store of a real bot (X simulator, sandbox, SQLite) whose
transfers each test makes; the console tells time by the bot's clock, which the tests move. axe-core checks every
page for serious or critical violations. Screenshots go to browser-screenshots/ (gitignored); the ones the
documentation shows are written to docs/console-*.png too.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import admin
from bot.providers.stripe_webhook import webhook_server
from bot.reconcile import Mismatch, record
from tests.support.browser import accessible, heading, phone, shot
from tests.support.consoleworld import PASSWORD, ConsoleWorld, console_world

pytest.importorskip("playwright.sync_api", reason="playwright is not installed (the test extras)")
pytestmark = [pytest.mark.browser, pytest.mark.slow]
DOCS = Path(__file__).parents[2] / "docs"
SHOTS = Path(__file__).parents[2] / "browser-screenshots"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[ConsoleWorld]:
    """The console on a real bot's store, served by waitress on 127.0.0.1, with the operator ada."""
    world = console_world(tmp_path)
    world.operator()
    server = webhook_server(world.app(), "127.0.0.1", 0)
    world.base = f"http://127.0.0.1:{server.effective_port}"
    thread = threading.Thread(target=server.run, daemon=True, name="web")
    thread.start()
    yield world
    server.close()
    world.run.close()


def documented(page: Any, name: str) -> None:
    """A screenshot kept in docs/ for the console's documentation (and in browser-screenshots/)."""
    shot(page, f"console-{name}")
    shutil.copyfile(SHOTS / f"console-{name}.png", DOCS / f"console-{name}.png")


def signed_in(browser: Any, site: ConsoleWorld | str) -> Any:
    """A phone's page signed in as ada to the console of `site` (or at the sign-in address given)."""
    page = phone(browser, "en")
    page.goto(site if isinstance(site, str) else f"{site.base}/console/sign-in")
    page.get_by_label("Name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert heading(page) == "Health"
    return page


def test_sign_in_a_wrong_password_then_the_right_one(browser: Any, site: ConsoleWorld) -> None:
    page = phone(browser, "en")
    page.goto(f"{site.base}/console/sign-in")
    assert heading(page) == "Sign in"
    accessible(page)
    documented(page, "sign-in")
    page.get_by_label("Name").fill("ada")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "That name, password or code is not right."
    accessible(page)
    shot(page, "console-sign-in-wrong")
    page.get_by_label("Name").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    assert heading(page) == "Health" and page.get_by_role("button", name="Sign out ada").is_visible()
    cookie = next(c for c in page.context.cookies() if c["name"] == "paybot")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    page.get_by_role("button", name="Sign out ada").click()
    assert heading(page) == "Sign in"
    page.goto(f"{site.base}/console/health")
    assert heading(page) == "Sign in"
    assert page.csp_errors == []


def test_an_expired_session_asks_to_sign_in_again(browser: Any, site: ConsoleWorld) -> None:
    page = signed_in(browser, site)
    site.run.clock.advance(timedelta(minutes=31))
    page.goto(f"{site.base}/console/transfers")
    assert heading(page) == "Sign in"
    assert page.get_by_role("status").inner_text() == "Your session has ended. Sign in again."
    accessible(page)
    shot(page, "console-session-ended")


def test_no_page_opens_without_signing_in(browser: Any, site: ConsoleWorld) -> None:
    transfer = site.send("@paybot send 5 to @alice")
    page = phone(browser, "en")
    for path in (
        "",
        "health",
        "charts",
        "transfers",
        f"transfers/{transfer}",
        "people/alice",
        "reconciliation",
        "pause",
        f"transfers/{transfer}/refund?amount=1",
    ):
        page.goto(f"{site.base}/console/{path}")
        assert heading(page) == "Sign in", path
        assert page.url.startswith(f"{site.base}/console/sign-in"), path


def test_each_view_shows_a_transfer_made_in_the_test(browser: Any, site: ConsoleWorld) -> None:
    transfer = site.send("@paybot send 5 to @alice for the browser")
    held = site.send("@paybot send 3 to @carol")
    record(
        site.store,
        site.run.clock.now(),
        7,
        [Mismatch(held, "pay_x", "held", "no payment", "the provider has no payment for this transfer")],
        0,
    )
    page = signed_in(browser, site)
    assert "1 held" in page.locator("main").inner_text()
    accessible(page)
    documented(page, "health")
    page.get_by_role("link", name="Transfers").click()
    assert heading(page) == "Transfers"
    row = page.get_by_role("row").filter(has_text="the browser")
    assert row.get_by_role("cell").first.inner_text() == str(transfer)
    accessible(page)
    documented(page, "transfers")
    page.get_by_label("Status").select_option("held")
    page.get_by_role("button", name="Show").click()
    assert [page.get_by_role("link", name=str(held)).count(), page.get_by_role("link", name=str(transfer)).count()] == [
        1,
        0,
    ]
    page.goto(f"{site.base}/console/transfers")
    page.get_by_role("link", name=str(transfer), exact=True).click()
    assert heading(page) == f"Transfer {transfer}"
    assert "the browser" in page.locator("dl").inner_text()
    assert page.locator(".timeline li").last.inner_text().endswith("completed")
    accessible(page)
    documented(page, "transfer")
    page.get_by_role("link", name="@alice").first.click()
    assert heading(page) == "@alice" and page.get_by_role("link", name=str(transfer), exact=True).count() == 1
    accessible(page)
    shot(page, "console-person")
    page.get_by_role("link", name="Reconciliation").click()
    assert "the provider has no payment for this transfer" in page.locator("table").inner_text()
    assert page.get_by_role("link", name=str(held), exact=True).count() == 1
    accessible(page)
    shot(page, "console-reconciliation")
    page.get_by_role("link", name="Charts").click()
    assert page.locator("svg.chart").count() == 7
    assert page.locator("svg.chart desc").first.text_content() == "Transfers made per day: 2 in all, at most 2"
    accessible(page)
    documented(page, "charts")
    assert page.csp_errors == []


def test_each_action_asks_first_then_is_written_with_the_operators_name(browser: Any, site: ConsoleWorld) -> None:
    transfer = site.send("@paybot send 5 to @alice")
    pending = site.send("@paybot send 2 to @carol", answer=None)
    page = signed_in(browser, site)
    page.get_by_role("link", name="Pause payments").click()
    assert heading(page) == "Are you sure?" and page.locator(".question").inner_text() == admin.PAUSE_QUESTION
    accessible(page)
    shot(page, "console-pause-confirm")
    assert site.run.bot.service.paused() is False
    page.get_by_role("button", name="Yes, do it").click()
    assert "PAYMENTS PAUSED" in page.locator(".worker").inner_text() and site.run.bot.service.paused() is True
    page.get_by_role("link", name="Resume payments").click()
    assert page.locator(".question").inner_text() == admin.RESUME_QUESTION
    page.get_by_role("button", name="Yes, do it").click()
    assert site.run.bot.service.paused() is False

    page.goto(f"{site.base}/console/transfers/{pending}")
    page.get_by_role("link", name="Cancel this transfer").click()
    assert page.locator(".question").inner_text() == admin.cancel_question(pending)
    page.get_by_role("button", name="Yes, do it").click()
    assert heading(page) == "Done" and page.get_by_role("status").inner_text() == f"transfer {pending} cancelled"

    page.goto(f"{site.base}/console/transfers/{transfer}")
    page.get_by_label("Refund to the sender").fill("2")
    page.get_by_role("button", name="Refund…").click()
    assert page.locator(".question").inner_text() == f"Refund $2.00 of transfer {transfer} to its sender?"
    accessible(page)
    documented(page, "refund-confirm")
    page.get_by_role("button", name="Yes, do it").click()
    assert heading(page) == "Done"
    accessible(page)
    page.reload()  # the outcome is a page of its own (POST, then 303): a reload posts nothing again
    assert heading(page) == "Done" and admin.show(site.store, transfer)["refunded"] == "2.00"  # type: ignore[index]
    page.get_by_role("link", name="Back to the transfer").click()
    last = page.locator(".timeline li").last.inner_text()
    assert "refund of $2.00 asked by operator ada in the console" in last
    assert "refunded" in page.locator("dl").inner_text()
    shot(page, "console-refunded")


def test_a_form_without_its_csrf_token_is_refused(browser: Any, site: ConsoleWorld) -> None:
    transfer = site.send("@paybot send 5 to @alice")
    page = signed_in(browser, site)
    page.goto(f"{site.base}/console/transfers/{transfer}/refund")
    page.locator("main input[name=csrf]").evaluate("e => e.remove()")
    page.get_by_role("button", name="Yes, do it").click()
    assert heading(page) == "This form was not accepted"
    story = admin.show(site.store, transfer)
    assert story is not None and story["refunded"] == "0.00" and story["status"] == "completed"
    accessible(page)
    shot(page, "console-csrf-refused")


def test_a_newcomer_signs_in_to_the_running_demo_finds_a_transfer_refunds_part_and_sees_the_charts(
    browser: Any,
) -> None:
    """The path the README gives a newcomer, played as they would: `scripts/console-demo` (the X simulator and
    `paybot run --web` as processes, a transfer made by people on X through the simulator, the operator ada, whose
    password is typed at its prompt), then in the browser: sign in at the address it prints, find the transfer
    under Transfers, refund part of it, see it on the timeline, and see the charts."""
    import os
    import signal
    import socket
    import subprocess

    root = Path(__file__).parents[2]  # the project: tests/e2e/ is two folders down
    if not (root / ".venv" / "bin" / "paybot").exists() or shutil.which("curl") is None:
        pytest.skip("scripts/console-demo runs paybot from .venv (scripts/test installs it) and needs curl")
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    env = {**os.environ, "X_PORT": str(ports[0]), "WEB_PORT": str(ports[1]), "PAYBOT_NO_INSTALL": "1"}
    demo = subprocess.Popen(
        ["bash", str(root / "scripts" / "console-demo")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert demo.stdin is not None and demo.stdout is not None
        demo.stdin.write(f"{PASSWORD}\n{PASSWORD}\n")
        demo.stdin.flush()
        said = ""
        while "Open " not in said:
            line = demo.stdout.readline()
            assert line, f"scripts/console-demo stopped: {said}"
            said += line
        address = said.split("Open ", 1)[1].split()[0]
        assert address == f"http://127.0.0.1:{ports[1]}/console/sign-in"

        page = signed_in(browser, address)
        page.get_by_role("link", name="Transfers").click()
        row = page.get_by_role("row").filter(has_text="the pizza")
        assert "@bob" in row.inner_text() and "completed" in row.inner_text()
        row.get_by_role("link").first.click()
        assert heading(page).startswith("Transfer ")
        page.get_by_label("Refund to the sender").fill("2")
        page.get_by_role("button", name="Refund…").click()
        assert page.locator(".question").inner_text().startswith("Refund $2.00 of transfer ")
        page.get_by_role("button", name="Yes, do it").click()
        assert heading(page) == "Done" and "$2.00 of $5.00 refunded in all" in page.get_by_role("status").inner_text()
        page.get_by_role("link", name="Back to the transfer").click()
        assert "refund of $2.00 asked by operator ada in the console" in page.locator(".timeline li").last.inner_text()
        page.get_by_role("link", name="Charts").click()
        assert page.locator("svg.chart").count() == 7
        assert page.locator("svg.chart desc").first.text_content() == "Transfers made per day: 1 in all, at most 1"
        accessible(page)
        assert page.csp_errors == []
    finally:
        os.killpg(demo.pid, signal.SIGTERM)  # the script's own group: it stops the simulator and paybot
        demo.communicate(timeout=30)  # and closes the pipes
