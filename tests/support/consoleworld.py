"""What the console's tests share: a real bot (the X simulator's conversation, the sandbox, a SQLite store) whose
store the console reads, on the bot's own clock, with one operator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from flask import Flask

from bot.console import operators
from bot.console.pages import register
from bot.repo.sql import SqlStore
from bot.sims.runner import Run
from bot.web.app import create_app
from tests.support.webworld import web_settings

PASSWORD = "correct horse battery"
USERS = {"bob": {"card": "ok"}, "alice": {"payouts": True}, "carol": {}}


@dataclass
class ConsoleWorld:
    run: Run
    store: SqlStore
    base: str = "http://127.0.0.1"

    def app(self) -> Flask:
        return create_app(
            web_settings(self.base),
            self.store,
            self.run.clock,
            console=partial(
                register, store=self.store, clock=self.run.clock, service=self.run.bot.service, budget_usd=5.0
            ),
        )

    def operator(self, name: str = "ada", *, totp: bool = False) -> str | None:
        return operators.add(self.store, name, PASSWORD, self.run.clock.now(), totp=totp)

    def send(self, text: str, *, by: str = "bob", answer: str | None = "yes") -> int:
        """A command posted (and answered by DM) on X; the id of the newest transfer."""
        self.run.step({"tweet": text, "by": by})
        if answer:
            self.run.step({"dm": answer, "by": by})
        with self.store() as s:
            from sqlmodel import col, select

            from bot.domain.entities import Transfer

            newest = s.exec(select(Transfer.id).order_by(col(Transfer.id).desc())).first()
        assert newest is not None
        return int(newest)


def console_world(tmp_path: Path) -> ConsoleWorld:
    run = Run({"users": USERS}, tmp_path)
    return ConsoleWorld(run, SqlStore(run.bot.engine))


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def form_of(html: str) -> dict[str, str]:
    """The hidden fields of a confirmation page's form (its CSRF token, its action token, the amount asked)."""
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def sign_in(client: Any, name: str = "ada", password: str = PASSWORD, code: str = "") -> Any:
    token = csrf_of(client.get("/console/sign-in").get_data(as_text=True))
    return client.post("/console/sign-in", data={"csrf": token, "name": name, "password": password, "code": code})
