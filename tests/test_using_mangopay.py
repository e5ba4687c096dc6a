"""docs/using-mangopay.md ("Using Mangopay"), run as one: the page's own command blocks, read from it, started as
processes, and its people played as it says, through the X simulator's control API and in Chromium.

The commands come from one place, the page: each block marked `<!-- walkthrough: NAME -->` is read here and run as
written (the settings block by bash; each terminal's command by bash, `exec`ed so that SIGTERM reaches paybot), in a
directory whose `.venv` is this one; only the documented ports (8090, 8091, 8092) are changed to free ones, the same
way everywhere. The people's `curl` lines are read and sent with requests (same method, address and body). So the
page cannot drift from what works: a changed flag, setting or step fails here.

The test plays section 6: Bob's identity page, his card page with the 3-D Secure test card and the emulated bank's
page, a payment and its YES, the bank's page again (the emulator's challenge card asks at every payment), and the
money: a pay-in of 5.00 EUR SUCCEEDED on the emulator, held in Bob's wallet, read through Mangopay's API.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bot.sims.mangopay import CARD_3DS
from tests import test_web_browser
from tests.test_web_browser import heading, phone, shot
from tests.test_web_card_browser import type_card

browser = test_web_browser.browser  # Debian's Chromium, headless (the same fixture)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
DOC = Path(__file__).parent.parent / "docs" / "using-mangopay.md"
PORTS = (8090, 8091, 8092)  # the X simulator, the Mangopay emulator, paybot's pages, as the page writes them
TERMINALS = ("sim-x", "sim-mangopay", "web", "run")  # the processes, in the page's order
BLOCK = re.compile(r"<!-- walkthrough: ([a-z-]+) -->\n[ ]*```bash\n(.*?)\n[ ]*```", re.S)


def blocks() -> dict[str, str]:
    """The page's walk-through blocks by name, each as written (dedented)."""
    found = BLOCK.findall(DOC.read_text())
    named = {name: textwrap.dedent(body) for name, body in found}
    assert len(named) == len(found), "two blocks share a name"
    return named


def free_ports(n: int) -> list[int]:
    held, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        held.append(s)
        ports.append(s.getsockname()[1])
    for s in held:
        s.close()
    return ports


def curl(line: str) -> Any:
    """A `curl` line of the page (its ports changed already), sent with requests: its method, address and JSON
    body; the JSON answer."""
    args = shlex.split(line)
    assert args[0] == "curl", line
    method, body, url = "GET", None, None
    rest = iter(args[1:])
    for arg in rest:
        if arg.startswith("-X"):
            method = arg[2:]
        elif arg in ("-H", "-d"):
            value = next(rest)
            if arg == "-d":
                body = value
        elif not arg.startswith("-"):
            url = arg
    assert url is not None, line
    assert re.fullmatch(r"127\.0\.0\.1:[0-9]+/.*", url), line
    answer = requests.request(method, f"http://{url}", data=body,
                              headers={"content-type": "application/json"} if body else {}, timeout=10)
    assert answer.status_code < 400, (line, answer.text)
    return answer.json()


def wait_for(cond: Callable[[], Any], what: str, procs: dict[str, subprocess.Popen[bytes]], tmp: Path,
             timeout: float = 90) -> Any:
    """cond()'s first truthy answer; a process that died, or the time running out, fails with the logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            assert proc.poll() is None, f"{name} stopped:\n" + (tmp / f"{name}.log").read_text()
        found = cond()
        if found:
            return found
        time.sleep(0.2)
    logs = "\n".join(f"--- {n}\n{(tmp / f'{n}.log').read_text()[-3000:]}" for n in procs)
    raise AssertionError(f"not in time: {what}\n{logs}")


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def walkthrough(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[int, int], dict[str, Any]]]:
    """The page's blocks (ports changed), its settings written, its four terminals started; stopped after."""
    mapping = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    swap = re.compile(r"\b(" + "|".join(map(str, PORTS)) + r")\b")
    named = {name: swap.sub(lambda m: str(mapping[int(m.group(1))]), body) for name, body in blocks().items()}
    (tmp_path / ".venv").symlink_to(Path(sys.executable).parent.parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "X_", "MANGOPAY_", "STRIPE_"))
           and k != "DATABASE_URL"}
    subprocess.run(["bash", "-euo", "pipefail", "-c", named["settings"]], cwd=tmp_path, env=env, check=True,
                   timeout=60)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in TERMINALS:
            (command,) = [line for line in named[name].splitlines() if line.strip()]  # one command a terminal
            with (tmp_path / f"{name}.log").open("ab") as out:
                procs[name] = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=tmp_path, env=env,
                                               stdout=out, stderr=subprocess.STDOUT)
            if name != "run":
                port = int(re.search(r"--port ([0-9]+)", command).group(1))  # type: ignore[union-attr]
                wait_for(lambda p=port: answers(p), f"{name} listening", procs, tmp_path, 60)  # type: ignore[misc]
        # As the page says: people start once the bot's log says it leads (what was said before it first ran is
        # not its to answer).
        wait_for(lambda: "this worker is now the leader" in (tmp_path / "run.log").read_text(), "the worker leading",
                 procs, tmp_path, 60)
        yield named, mapping, {"procs": procs, "tmp": tmp_path}
    finally:
        for proc in reversed(procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def test_the_using_mangopay_walkthrough_runs_as_written(browser: Any, walkthrough: Any) -> None:
    """Section 6 of "Using Mangopay", from its own commands: Bob gives his identity, saves the 3-D Secure test card
    through the emulated bank, posts a payment and says yes, passes the bank's page again, and his card is charged
    5.00 EUR on the emulator, held in his wallet for Alice; the bot says so under his post."""
    named, ports, ctx = walkthrough
    procs, tmp = ctx["procs"], ctx["tmp"]
    x_base, mp_base, web_base = (f"http://127.0.0.1:{ports[p]}" for p in PORTS)
    people = [line for line in named["people"].splitlines() if line.strip()]
    users = {curl(line)["id"]: json.loads(shlex.split(line)[-1])["handle"] for line in people[:2]}
    bob = next(uid for uid, handle in users.items() if handle == "bob")
    for line in people[2:]:
        curl(line)

    def messages() -> list[dict[str, Any]]:
        return curl(named["messages"].strip())  # type: ignore[no-any-return]

    def new_link_to_bob(seen: set[str], base: str, path: str) -> str:
        def found() -> str | None:
            for m in messages():
                if m["type"] == "dm" and m["to_id"] == bob:
                    for url in re.findall(rf"{re.escape(base)}{path}[^\s]+", m["text"]):
                        if url not in seen:
                            return url.rstrip(".,)")
            return None
        url = wait_for(found, f"a DM to bob with a link under {base}{path}", procs, tmp)
        seen.add(url)
        return str(url)

    seen: set[str] = set()
    page = phone(browser, "en")
    # 1. Who Bob is: the identity page's link.
    page.goto(new_link_to_bob(seen, web_base, "/l/"))
    assert page.url == f"{web_base}/identity" and heading(page) == "Your details"
    assert page.locator("#x_handle-for").inner_text() == "These details will be those of the X account @bob."
    page.get_by_label("Your X handle").fill("bob")
    page.get_by_label("First name").fill("Bob")
    page.get_by_label("Last name", exact=True).fill("Stone")
    page.get_by_label("E-mail address").fill("bob.stone@example.com")
    page.get_by_label("I have read Mangopay's terms and conditions and I accept them.").check()
    page.get_by_role("button", name="Save my details").click()
    assert heading(page) == "Your details are saved"
    shot(page, "walkthrough-identity-saved")
    # 2. Bob's card, through the emulated bank's 3-D Secure page.
    curl(named["register"].strip())
    page.goto(new_link_to_bob(seen, web_base, "/l/"))
    assert page.url == f"{web_base}/card" and heading(page) == "Save a card"
    type_card(page, CARD_3DS)
    assert heading(page) == "Confirm with your bank"
    page.get_by_role("link", name="Continue to your bank").click()
    assert page.url.startswith(f"{mp_base}/_sim/3ds-page/")
    with page.expect_navigation(url=f"{web_base}/card/return**"):
        page.get_by_role("button", name="Confirm").click()
    assert heading(page) == "Your card is saved"
    shot(page, "walkthrough-card-saved")
    # 3. The payment, its yes, and the bank's page again.
    (post,) = [curl(line) for line in named["send"].splitlines() if line.strip()]
    wait_for(lambda: any(m["type"] == "dm" and m["to_id"] == bob and "alice" in m["text"] and "YES" in m["text"]
                         for m in messages()), "the confirmation DM", procs, tmp)
    curl(named["yes"].strip())
    bank = new_link_to_bob(seen, mp_base, "/_sim/3ds-page/")
    page.goto(bank)
    with page.expect_navigation(url=f"{x_base}/_sim/messages**"):  # MANGOPAY_RETURN_URL: back to the DMs
        page.get_by_role("button", name="Confirm").click()
    reply = wait_for(lambda: next((m for m in messages() if m["type"] == "reply" and m["in_reply_to"] == post["id"]),
                                  None), "the public reply under bob's post", procs, tmp)
    assert "@alice" in reply["text"] and "http" not in reply["text"]
    # The money, as Mangopay's API tells it: a 5.00 EUR pay-in from Bob's card, SUCCEEDED, into his own wallet.
    settings = dict(line.split("=", 1) for line in (tmp / ".env").read_text().splitlines() if "=" in line)
    token = requests.post(f"{mp_base}/v2.01/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(settings["MANGOPAY_CLIENT_ID"], settings["MANGOPAY_API_KEY"]), timeout=10).json()
    api = f"{mp_base}/v2.01/{settings['MANGOPAY_CLIENT_ID']}"
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    payins = wait_for(lambda: [t for t in _transactions(api, auth, tmp, bob) if t["Type"] == "PAYIN"
                               and t["Status"] == "SUCCEEDED" and t["DebitedFunds"]["Amount"] == 500],
                      "the 5.00 EUR pay-in", procs, tmp)
    (payin,) = payins
    assert payin["DebitedFunds"]["Currency"] == "EUR" and payin["AuthorId"] == payin["CreditedUserId"]
    wallet = requests.get(f"{api}/wallets/{payin['CreditedWalletId']}", headers=auth, timeout=10).json()
    assert wallet["Balance"] == {"Currency": "EUR", "Amount": 500}  # held for Alice in Bob's wallet


def _transactions(api: str, auth: dict[str, str], tmp: Path, x_user: str) -> list[dict[str, Any]]:
    """The Mangopay user's transactions of X user `x_user` (their Mangopay id read from the adapter's records)."""
    import sqlite3

    with sqlite3.connect(tmp / "paybot-mangopay.db") as db:
        row = db.execute("SELECT mangopay_user_id FROM mangopayuser WHERE user_id = ?", (x_user,)).fetchone()
    if row is None:
        return []
    answer = requests.get(f"{api}/users/{row[0]}/transactions", params={"per_page": 100}, headers=auth, timeout=10)
    return list(answer.json()) if answer.status_code == 200 else []
