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
import sqlite3
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
from tests.support.browser import heading, phone, shot
from tests.support.card_kit import type_card

pytestmark = [pytest.mark.browser, pytest.mark.process, pytest.mark.slow]

DOC = Path(__file__).parents[2] / "docs" / "using-mangopay.md"
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
    answer = requests.request(
        method, f"http://{url}", data=body, headers={"content-type": "application/json"} if body else {}, timeout=10
    )
    assert answer.status_code < 400, (line, answer.text)
    return answer.json()


def wait_for(
    cond: Callable[[], Any], what: str, procs: dict[str, subprocess.Popen[bytes]], tmp: Path, timeout: float = 90
) -> Any:
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


def test_the_pages_commands_are_paybots_and_its_settings_are_read_as_written(tmp_path: Path) -> None:
    """Without a browser: each terminal's one command is a paybot command whose options parse (a renamed flag fails
    here), each listens on the port the settings point at, and the settings block makes a .env that paybot reads
    as Mangopay on the emulators, with a link secret strong enough to sign with."""
    import typer.main

    from bot.cli import app
    from bot.config import Settings

    named = blocks()
    assert set(named) >= {
        "settings",
        *TERMINALS,
        "people",
        "messages",
        "register",
        "send",
        "yes",
        "claim",
        "kyc",
        "cashout",
        "confirm-account",
        "payouts",
        "settle",
    }
    group: Any = typer.main.get_command(app)  # typer's own click group
    for name in TERMINALS:
        (command,) = [line for line in named[name].splitlines() if line.strip()]
        argv = shlex.split(command)
        assert argv[0] == ".venv/bin/paybot" and argv[1] == name, command
        sub = group.commands[argv[1]]
        sub.make_context(argv[1], argv[2:])  # raises on an option paybot does not have
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", named["settings"]],
        cwd=tmp_path,
        check=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PAYBOT_", "X_", "MANGOPAY_"))},
    )
    settings = Settings(_env_file=tmp_path / ".env")
    ports = {name: re.search(r"--port ([0-9]+)", named[name]) for name in ("sim-x", "sim-mangopay", "web")}
    assert settings.x_api_base == f"http://127.0.0.1:{ports['sim-x'].group(1)}"  # type: ignore[union-attr]
    assert settings.mangopay_api_base == f"http://127.0.0.1:{ports['sim-mangopay'].group(1)}"  # type: ignore[union-attr]
    assert settings.require_web()[0] == f"http://127.0.0.1:{ports['web'].group(1)}"  # type: ignore[union-attr]
    assert settings.paybot_provider == "mangopay" and settings.require_mangopay()[0] in named["sim-mangopay"]
    assert settings.mangopay_api_key is not None
    assert f"--api-key {settings.mangopay_api_key.get_secret_value()}" in named["sim-mangopay"]


@pytest.fixture
def walkthrough(tmp_path: Path) -> Iterator[tuple[dict[str, str], dict[int, int], dict[str, Any]]]:
    """The page's blocks (ports changed), its settings written, its four terminals started; stopped after."""
    mapping = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    swap = re.compile(r"\b(" + "|".join(map(str, PORTS)) + r")\b")
    named = {name: swap.sub(lambda m: str(mapping[int(m.group(1))]), body) for name, body in blocks().items()}
    venv = Path(sys.executable).parent.parent
    if not (venv / "bin" / "paybot").exists():  # the page runs .venv/bin/paybot: this Python's own
        pytest.skip(f"paybot is not installed beside {sys.executable} (the page's commands run .venv/bin/paybot)")
    (tmp_path / ".venv").symlink_to(venv)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PAYBOT_", "X_", "MANGOPAY_", "STRIPE_")) and k != "DATABASE_URL"
    }
    subprocess.run(["bash", "-euo", "pipefail", "-c", named["settings"]], cwd=tmp_path, env=env, check=True, timeout=60)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in TERMINALS:
            (command,) = [line for line in named[name].splitlines() if line.strip()]  # one command a terminal
            with (tmp_path / f"{name}.log").open("ab") as out:
                procs[name] = subprocess.Popen(
                    ["bash", "-c", f"exec {command}"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
                )
            if name != "run":
                port = int(re.search(r"--port ([0-9]+)", command).group(1))  # type: ignore[union-attr]
                wait_for(lambda p=port: answers(p), f"{name} listening", procs, tmp_path, 60)  # type: ignore[misc]
        # As the page says: people start once the bot's log says it leads (what was said before it first ran is
        # not its to answer).
        wait_for(
            lambda: "this worker is now the leader" in (tmp_path / "run.log").read_text(),
            "the worker leading",
            procs,
            tmp_path,
            60,
        )
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


class People:
    """The page's people, played through its own blocks: what they DM, and what the bot DMs them back."""

    def __init__(self, named: dict[str, str], procs: dict[str, subprocess.Popen[bytes]], tmp: Path) -> None:
        self.named, self.procs, self.tmp = named, procs, tmp
        lines = [line for line in named["people"].splitlines() if line.strip()]
        self.ids = {json.loads(shlex.split(line)[-1])["handle"]: curl(line)["id"] for line in lines[:2]}
        self.mark = 0
        for line in lines[2:]:
            self.run(line)

    def run(self, block_or_line: str, **fill: str) -> Any:
        """A block of the page (or one of its lines), its placeholders filled; the bot's messages before it are
        then old."""
        self.mark = max([int(m["id"]) for m in self.messages()] or [0])
        text = self.named.get(block_or_line, block_or_line)
        for name, value in fill.items():
            text = text.replace(name, value)
        answers = [curl(line) for line in text.splitlines() if line.strip()]
        return answers[-1]

    def messages(self) -> list[dict[str, Any]]:
        return curl(self.named["messages"].strip())

    def said(self, handle: str, pattern: str) -> re.Match[str]:
        """The first match of `pattern` in a DM the bot sent `handle` since their last action (waited for)."""

        def found() -> re.Match[str] | None:
            for m in self.messages():
                if m["type"] == "dm" and m["to_id"] == self.ids[handle] and int(m["id"]) > self.mark:
                    match = re.search(pattern, m["text"])
                    if match:
                        return match
            return None

        return wait_for(found, f"a DM to @{handle} matching {pattern!r}", self.procs, self.tmp)


def link(base: str, path: str = "/l/") -> str:
    return rf"{re.escape(base)}{re.escape(path)}[^\s]*[^\s.,)]"


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_using_mangopay_walkthrough_runs_as_written(browser: Any, walkthrough: Any) -> None:
    """ "Using Mangopay", from its own commands: Bob gives his identity, saves the 3-D Secure test card through the
    emulated bank, posts a payment and says yes, passes the bank's page again: his card is charged 5.00 EUR on the
    emulator, held in his wallet. Alice claims: her identity, her SCA enrolment, her identity check, and the 5.00
    EUR moves to her wallet; she cashes out: her wallet's SCA, her bank account (a Recipient, with its SCA), her
    YES to it, and a 5.00 EUR payout leaves her wallet on the emulator, which its bank then settles."""
    named, ports, ctx = walkthrough
    procs, tmp = ctx["procs"], ctx["tmp"]
    x_base, mp_base, web_base = (f"http://127.0.0.1:{ports[p]}" for p in PORTS)
    people = People(named, procs, tmp)
    page = phone(browser, "en")
    # Bob. 1. Who he is: the identity page's link.
    page.goto(people.said("bob", link(web_base)).group(0))
    assert page.url == f"{web_base}/identity" and heading(page) == "Your details"
    assert page.locator("#x_handle-for").inner_text() == "These details will be those of the X account @bob."
    fill_identity(page, "bob", "Bob", "Stone", "bob.stone@example.com")
    # 2. His card, through the emulated bank's 3-D Secure page.
    people.run("register")
    page.goto(people.said("bob", link(web_base)).group(0))
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
    post = people.run("send")
    people.said("bob", r"@alice.*YES")
    people.run("yes")
    page.goto(people.said("bob", link(mp_base, "/_sim/3ds-page/")).group(0))
    with page.expect_navigation(url=f"{x_base}/_sim/messages**"):  # MANGOPAY_RETURN_URL: back to the DMs
        page.get_by_role("button", name="Confirm").click()
    reply = wait_for(
        lambda: next((m for m in people.messages() if m["type"] == "reply" and m["in_reply_to"] == post["id"]), None),
        "the reply under bob's post",
        procs,
        tmp,
    )
    assert "@alice" in reply["text"] and "http" not in reply["text"]
    mango = Mangopay(mp_base, tmp)
    (payin,) = wait_for(
        lambda: [
            t
            for t in mango.transactions(people.ids["bob"])
            if t["Type"] == "PAYIN" and t["Status"] == "SUCCEEDED" and t["DebitedFunds"]["Amount"] == 500
        ],
        "the 5.00 EUR pay-in",
        procs,
        tmp,
    )
    assert payin["DebitedFunds"]["Currency"] == "EUR" and payin["AuthorId"] == payin["CreditedUserId"]
    assert mango.balance(payin["CreditedWalletId"]) == 500  # held for Alice in Bob's own wallet
    # Alice. 1. Who she is, to receive.
    people.run("claim")
    page = phone(browser, "en")
    page.goto(people.said("alice", link(web_base)).group(0))
    fill_identity(page, "alice", "Alice", "Martin", "alice.martin@example.com", receive=True)
    # 2. Her Mangopay account: SCA enrolment on the emulator's page, back to paybot's.
    people.run("claim")
    page.goto(people.said("alice", link(mp_base, "/_sim/sca")).group(0))
    page.get_by_role("button", name="Confirm").click()
    assert page.url == f"{web_base}/return/enrolled" and heading(page) == "Your account is secured"
    # 3. Her identity check, passed on the emulator; CLAIM once more moves the money.
    kyc = people.said("alice", link(mp_base, "/_sim/kyc-page/")).group(0)
    people.run("kyc", SESSION_ID=kyc.rsplit("/", 1)[1])
    people.run("claim")
    people.said("alice", r"you received €5\.00 from @bob")
    assert mango.balance(payin["CreditedWalletId"]) == 0
    # 4. Cashing out: her wallet's SCA, her bank account and its SCA, her YES to it.
    people.run("cashout")
    page.goto(people.said("alice", link(mp_base, "/_sim/sca")).group(0))
    page.get_by_role("button", name="Confirm").click()
    assert page.url == f"{web_base}/return/wallet" and heading(page) == "It's confirmed"
    people.run("cashout")
    page.goto(people.said("alice", link(web_base)).group(0))
    assert page.url == f"{web_base}/recipient" and heading(page) == "Your bank account"
    page.get_by_label("Account number").fill("FR76 3000 4000 0312 3456 7890 143")
    page.get_by_label("BIC (bank code)").fill("BNPAFRPP")
    page.get_by_role("button", name="Save my bank account").click()
    page.get_by_role("link", name="Continue to Mangopay").click()
    page.get_by_role("button", name="Confirm").click()
    assert heading(page) == "Your bank account is ready"
    people.run("cashout")
    people.said("alice", r"reply YES 0143")
    people.run("confirm-account")
    people.said("alice", r"€5\.00 is on its way to your bank account ending 0143")
    payouts = [t for t in mango.transactions(people.ids["alice"]) if t["Type"] == "PAYOUT"]
    assert [(t["DebitedFunds"]["Amount"], t["DebitedFunds"]["Currency"]) for t in payouts] == [(500, "EUR")]
    # 5. The emulator's bank pays it: the payout listed, settled, and the bot says so.
    (waiting,) = people.run("payouts")
    assert waiting["Id"] == payouts[0]["Id"]
    people.run("settle", PAYOUT_ID=waiting["Id"])
    people.said("alice", r"Done: your cash-out of €5\.00 was sent to your bank account")
    assert [t["Status"] for t in mango.transactions(people.ids["alice"]) if t["Type"] == "PAYOUT"] == ["SUCCEEDED"]


def fill_identity(page: Any, handle: str, first: str, last: str, email: str, *, receive: bool = False) -> None:
    """The identity page filled as the walk-through says, and saved."""
    page.get_by_label("Your X handle").fill(handle)
    page.get_by_label("First name").fill(first)
    page.get_by_label("Last name", exact=True).fill(last)
    page.get_by_label("E-mail address").fill(email)
    if receive:
        page.get_by_label("Date of birth").fill("1990-03-31")
        page.get_by_label("Nationality").select_option("FR")
        page.get_by_label("Country you live in").select_option("FR")
        page.get_by_label("Street and number").fill("12 rue de la Paix")
        page.get_by_label("Town or city").fill("Paris")
        page.get_by_label("Postal code").fill("75002")
    page.get_by_label("I have read Mangopay's terms and conditions and I accept them.").check()
    page.get_by_role("button", name="Save my details").click()
    assert heading(page) == "Your details are saved"


class Mangopay:
    """The emulator read through Mangopay's API, with the walk-through's credentials (its .env)."""

    def __init__(self, base: str, tmp: Path) -> None:
        settings = dict(line.split("=", 1) for line in (tmp / ".env").read_text().splitlines() if "=" in line)
        token = requests.post(
            f"{base}/v2.01/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(settings["MANGOPAY_CLIENT_ID"], settings["MANGOPAY_API_KEY"]),
            timeout=10,
        ).json()
        self.api = f"{base}/v2.01/{settings['MANGOPAY_CLIENT_ID']}"
        self.auth = {"Authorization": f"Bearer {token['access_token']}"}
        self.tmp = tmp

    def balance(self, wallet: str) -> int:
        answer = requests.get(f"{self.api}/wallets/{wallet}", headers=self.auth, timeout=10).json()
        assert answer["Balance"]["Currency"] == "EUR"
        return int(answer["Balance"]["Amount"])

    def transactions(self, x_user: str) -> list[dict[str, Any]]:
        """The transactions of X user `x_user`'s Mangopay user (their id read from the adapter's records), read as
        the person there (an Owner's need their SCA of the last 180 days)."""
        with sqlite3.connect(self.tmp / "paybot-mangopay.db") as db:
            row = db.execute("SELECT mangopay_user_id FROM mangopayuser WHERE user_id = ?", (x_user,)).fetchone()
        if row is None or row[0] is None:
            return []
        query: dict[str, str | int] = {"per_page": 100, "ScaContext": "USER_PRESENT"}
        answer = requests.get(f"{self.api}/users/{row[0]}/transactions", params=query, headers=self.auth, timeout=10)
        return list(answer.json()) if answer.status_code == 200 else []
