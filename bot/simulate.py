"""`paybot simulate`: the real worker driven through a scenario on a virtual clock.

Real tweepy talks HTTP over loopback to the X simulator; the store is a real
SQLite file in a temporary folder; the provider is the sandbox. After every
step the bot works until idle. Format: see DESIGN ("paybot simulate").

Beyond the contract, a step's DM text may say "{code:t1}": it is replaced by
the confirmation code of the command posted as t1 (codes are random, seeded
by the scenario's "seed", default 0, so output is reproducible). A scenario may
also set "limits": "pay_per_use" to have the simulator enforce X's rate limits
(default: no limits, since a scenario's steps share one virtual instant), and
"settings": {"paybot_confirm_ttl": "5m", ...} to override settings.
"""

from __future__ import annotations

import random
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource
from sqlmodel import col, select

from bot.bootstrap import Bot, build
from bot.config import Settings, parse_duration
from bot.domain import CODE_ALPHABET
from bot.money import Money
from bot.ports import FakeClock
from bot.providers.sandbox import SandboxProvider
from bot.store import Transfer
from bot.x.client import XClient
from bot.x.sim import PAY_PER_USE, SIM_ACCESS_TOKEN, SIM_CONSUMER_KEY, UNLIMITED, XSim


class ScenarioSettings(Settings):
    """Settings from the scenario alone: the operator's environment and .env are ignored."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        *_others: PydanticBaseSettingsSource, **_kw: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def build_on_sim(settings: Settings, clock: FakeClock, sandbox: SandboxProvider, rng: random.Random) -> Bot:
    """The bot as `paybot run` builds it, on a virtual clock, with seeded confirmation codes."""
    timeline = XClient(**settings.require_x(), base_url=settings.x_api_base, clock=clock,
                       dm_page_size=settings.paybot_dm_page_size, timeout=settings.x_timeout)
    return build(settings, clock=clock, timeline=timeline, provider=sandbox,
                 new_code=lambda: "".join(rng.choice(CODE_ALPHABET) for _ in range(4)))


@dataclass
class Run:
    """A scenario in progress: the simulator, the sandbox, the bot, and what happened."""

    scenario: dict[str, Any]
    workdir: Path
    clock: FakeClock = field(default_factory=FakeClock)
    aliases: dict[str, str] = field(default_factory=dict)  # scenario id -> root post id
    latest: dict[str, str] = field(default_factory=dict)  # scenario id -> newest version id
    transcript: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        sc = self.scenario
        if "start" in sc:
            self.clock = FakeClock(datetime.fromisoformat(sc["start"].replace("Z", "+00:00")))
        self.bot_handle = sc.get("bot", "paybot")
        limits = PAY_PER_USE if sc.get("limits") == "pay_per_use" else UNLIMITED
        self.sim = XSim(self.clock, bot_handle=self.bot_handle, limits=limits)
        self.base = self.sim.start()
        self.sandbox = SandboxProvider(self.workdir / "sandbox.db")
        self.rng = random.Random(sc.get("seed", 0))
        for handle, spec in (sc.get("users") or {}).items():
            uid = self.sim.add_user(handle, (spec or {}).get("name"),
                                    accepts_dms=(spec or {}).get("accepts_dms", True))
            if (spec or {}).get("card"):
                self.sandbox.set_card(uid, spec["card"])
            if (spec or {}).get("payouts"):
                self.sandbox.set_payouts(uid, True)
        base_settings: dict[str, Any] = dict(
            paybot_handle=self.bot_handle,
            paybot_currency=sc.get("currency", "USD"),
            paybot_db_path=str(self.workdir / "paybot.db"),
            sandbox_db_path=str(self.workdir / "sandbox.db"),
            x_consumer_key=SIM_CONSUMER_KEY, x_consumer_secret="sim-consumer-secret",
            x_access_token=SIM_ACCESS_TOKEN, x_access_token_secret="sim-access-secret",
            x_api_base=self.base, x_timeout=10, paybot_dms_idle_interval=0,
        )
        self.settings = ScenarioSettings(**(base_settings | (sc.get("settings") or {})))
        self.bot = self._build()
        self.bot.worker.run_until_idle()

    def _build(self) -> Bot:
        return build_on_sim(self.settings, self.clock, self.sandbox, self.rng)

    def close(self) -> None:
        self.bot.close()
        self.sandbox.close()
        self.sim.stop()

    # ------------------------------------------------------------------ steps

    def user(self, handle: str) -> str:
        """The id of @handle, creating an account (with no card) the first time it is named."""
        try:
            return self.sim.user_id(handle)
        except KeyError:
            return self.sim.add_user(handle)

    def step(self, step: dict[str, Any]) -> None:
        before = len(self.sim.bot_messages())
        label = self._apply(step)
        self.bot.worker.run_until_idle()
        self.transcript.append((label, self.sim.bot_messages()[before:]))

    def _apply(self, step: dict[str, Any]) -> str:
        if "tweet" in step:
            by = step["by"]
            self.user(by)
            reply_to = self.latest.get(step.get("reply_to", ""), step.get("reply_to"))
            post = self.sim.tweet(by, step["tweet"], reply_to=reply_to)
            self._alias(step.get("id"), post["id"])
            return f"@{by} posts: {step['tweet']}"
        if "dm" in step:
            by = step["by"]
            self.user(by)
            text = re.sub(r"\{code:([^}]+)\}", lambda m: self._code(m.group(1)), step["dm"])
            self.sim.dm(by, text)
            return f"@{by} DMs @{self.bot_handle}: {text}"
        if "wait" in step:
            self._wait(step["wait"])
            return f"{step['wait']} pass"
        if "edit" in step:
            target = self.latest[step["edit"]]
            post = self.sim.edit(target, step["text"])
            self.latest[step["edit"]] = post["id"]
            return f"@{self.sim.handle(post['author_id'])} edits {step['edit']}: {step['text']}"
        if "retweet" in step:
            self.user(step["by"])
            post = self.sim.retweet(step["by"], self.latest[step["retweet"]])
            self._alias(step.get("id"), post["id"])
            return f"@{step['by']} reposts {step['retweet']}"
        if "quote" in step:
            self.user(step["by"])
            post = self.sim.quote(step["by"], self.latest[step["quote"]], step.get("text", ""))
            self._alias(step.get("id"), post["id"])
            return f"@{step['by']} quotes {step['quote']}: {step.get('text', '')}"
        if "register" in step:
            self.sandbox.set_card(self.user(step["register"]), step.get("card", "ok"))
            return f"@{step['register']} saves a card ({step.get('card', 'ok')})"
        if "approve" in step:
            self.sandbox.approve(self.user(step["approve"]))
            return f"@{step['approve']} approves the payment on the bank's page"
        if "onboard" in step:
            self.sandbox.set_payouts(self.user(step["onboard"]), True)
            return f"@{step['onboard']} finishes onboarding"
        if "rename" in step:
            self.sim.rename(step["rename"], step["to"])
            return f"@{step['rename']} is renamed @{step['to']}"
        if step.get("restart"):
            self.bot.close()
            self.bot = self._build()
            return "the bot restarts"
        raise ValueError(f"unknown step: {step}")

    def _alias(self, alias: str | None, post_id: str) -> None:
        if alias:
            self.aliases[alias] = post_id
            self.latest[alias] = post_id

    def _code(self, alias: str) -> str:
        root = self.aliases[alias]
        with self.bot.service.uow() as s:
            t = s.exec(select(Transfer).where(Transfer.root_tweet_id == root).limit(1)).first()
        return t.code if t else "????"

    def _wait(self, text: str) -> None:
        target = self.clock.now() + parse_duration(text)
        for _ in range(10_000):
            due = self.bot.service.next_due()
            if due is None or due > target or due <= self.clock.now() and _ > 0:
                break
            self.clock.set(due)
            self.bot.worker.run_until_idle()
        self.clock.set(target)

    # ------------------------------------------------------------------ result

    def outcome(self) -> dict[str, Any]:
        """The contract's JSON document: transfers and messages."""
        by_post = {}
        for alias, root in self.aliases.items():
            for post in self.sim.posts.values():
                if post["edit_history_tweet_ids"][0] == root:
                    by_post[post["id"]] = alias
        with self.bot.service.uow() as s:
            rows = list(s.exec(select(Transfer).order_by(col(Transfer.id))))
        transfers = [
            {
                "tweet": by_post.get(t.root_tweet_id, t.root_tweet_id),
                "from": self.sim.handle(t.sender_id),
                "to": self.sim.handle(t.recipient_id),
                "amount": _decimal(t.amount_minor, t.currency),
                "currency": t.currency,
                "memo": t.memo,
                "status": t.status,
            }
            for t in rows
        ]
        messages = []
        for m in self.sim.bot_messages():
            if m["type"] == "dm":
                messages.append({"type": "dm", "to": self.sim.handle(m["to_id"]), "text": m["text"]})
            else:
                reply_to = m["in_reply_to"]
                messages.append({"type": m["type"], "in_reply_to": by_post.get(reply_to, reply_to),
                                 "text": m["text"]})
        return {"transfers": transfers, "messages": messages}


def _decimal(minor: int, currency: str) -> str:
    return Money(minor, currency).decimal()


def run_scenario(scenario: dict[str, Any]) -> tuple[dict[str, Any], list[tuple[str, list[dict[str, Any]]]]]:
    """Run a scenario from start to end; returns the outcome and a step-by-step transcript."""
    with tempfile.TemporaryDirectory(prefix="paybot-sim-") as tmp:
        run = Run(scenario, Path(tmp))
        try:
            for step in scenario.get("steps", []):
                run.step(step)
            return run.outcome(), run.transcript
        finally:
            run.close()
