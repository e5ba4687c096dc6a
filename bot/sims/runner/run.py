"""A scenario's run: the simulators, the bot on them, each step applied and the bot working after it, and the
outcome."""

from __future__ import annotations

import hashlib
import random
import re
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.bootstrap import Bot
from bot.config import parse_duration
from bot.faults import POINTS, InjectedFault, arm, disarm
from bot.money import Money
from bot.ports import FakeClock
from bot.providers.sandbox import SandboxProvider
from bot.repo import reports
from bot.repo.sql import SqlStore
from bot.sims.mangopay import MangopaySim
from bot.sims.mastodon import RATE_LIMIT, SIM_TOKEN
from bot.sims.mastodon_world import MastodonWorld
from bot.sims.runner.people import People
from bot.sims.runner.wiring import NO_PAGES, QUIET, TOGETHER, ScenarioSettings, build_on_sim
from bot.sims.stripe import StripeSim
from bot.sims.x import (
    PAY_PER_USE,
    ROUTES,
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    UNLIMITED,
    XSim,
)


@dataclass
class Run:
    """A scenario in progress: the simulator, the sandbox, the bot, and what happened."""

    scenario: dict[str, Any]
    workdir: Path
    provider: str = "sandbox"  # or "stripe" / "mangopay": that adapter against its emulator
    timeline: str = "x"  # or "mastodon": the Mastodon adapter against its simulator (bot/sims/mastodon_world.py)
    clock: FakeClock = field(default_factory=FakeClock)
    aliases: dict[str, str] = field(default_factory=dict)  # scenario id -> root post id
    latest: dict[str, str] = field(default_factory=dict)  # scenario id -> newest version id
    transcript: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    crashes: list[dict[str, Any]] = field(default_factory=list)  # {"point", "step"}: where the bot died
    _crash_plan: list[tuple[str, int]] = field(default_factory=list)  # deaths still to come, in order

    def __post_init__(self) -> None:
        sc = self.scenario
        if "start" in sc:
            self.clock = FakeClock(datetime.fromisoformat(sc["start"].replace("Z", "+00:00")))
        self.bot_handle = sc.get("bot", "paybot")
        limits = PAY_PER_USE if sc.get("limits") == "pay_per_use" else UNLIMITED
        if self.timeline == "mastodon":
            self.sim: XSim | MastodonWorld = MastodonWorld(
                self.clock, bot_handle=self.bot_handle, rate_limit=RATE_LIMIT if limits else None
            )
        elif self.timeline == "x":
            self.sim = XSim(self.clock, bot_handle=self.bot_handle, limits=limits)
        else:
            raise ValueError(f"unknown timeline {self.timeline!r}: x or mastodon")
        self.base = self.sim.start()
        self.sandbox = SandboxProvider(self.workdir / "sandbox.db")
        self.stripe: StripeSim | None = None
        self.mangopay: MangopaySim | None = None
        self.cards: dict[str, str] = {}  # user id -> the card they save on a hosted page
        self.rng = random.Random(sc.get("seed", 0))
        base_settings: dict[str, Any] = dict(
            paybot_handle=self.bot_handle,
            paybot_currency=sc.get("currency", "USD"),
            paybot_db_path=str(self.workdir / "paybot.db"),
            sandbox_db_path=str(self.workdir / "sandbox.db"),
            x_consumer_key=SIM_CONSUMER_KEY,
            x_consumer_secret=SIM_CONSUMER_SECRET,
            x_access_token=SIM_ACCESS_TOKEN,
            x_access_token_secret=SIM_ACCESS_TOKEN_SECRET,
            x_api_base=self.base,
            x_timeout=10,
            paybot_dms_idle_interval=0,
        )
        if self.timeline == "mastodon":
            base_settings.update(
                paybot_timeline="mastodon",
                mastodon_base_url=self.base,
                mastodon_access_token=SIM_TOKEN,
                x_api_base=None,
            )
        if self.provider == "stripe":
            self.stripe = StripeSim(self.clock)
            base_settings.update(
                paybot_provider="stripe",
                stripe_api_key=self.stripe.api_key,
                stripe_db_path=str(self.workdir / "stripe.db"),
                stripe_api_base=self.stripe.start(),
                stripe_max_network_retries=2,
            )
        elif self.provider == "mangopay":
            # its link secret from the seed: the links in DMs (signed with it) replay to the same words
            self.mangopay = MangopaySim(
                self.clock, link_secret=hashlib.sha256(f"paybot-sim-links:{sc.get('seed', 0)}".encode()).hexdigest()
            )
            base = self.mangopay.start()
            base_settings.update(
                paybot_provider="mangopay",
                mangopay_client_id=self.mangopay.client_id,
                mangopay_api_key=self.mangopay.api_key,
                mangopay_api_base=base,
                mangopay_card_page_url=base + "/_sim/card-page/{id}?user={user}&token={token}",
                paybot_link_secret=self.mangopay.link_secret,
                # the pages' links are made (and recorded) but no page is served: the people
                # of a scenario gave the identity page before it starts (`People.identity`)
                paybot_web_url=NO_PAGES,
                mangopay_db_path=str(self.workdir / "mangopay.db"),
            )
        elif self.provider != "sandbox":
            raise ValueError(f"unknown provider {self.provider!r}: sandbox, stripe or mangopay")
        self.settings = ScenarioSettings(**(base_settings | (sc.get("settings") or {})))
        self.people = People(
            self.sim,
            self.sandbox,
            self.stripe,
            self.mangopay,
            self.cards,
            self.clock,
            self.settings.mangopay_terms_url,
            bot=lambda: self.bot,
            work=self.work,
        )
        self.bot = self._build()
        for handle, spec in (sc.get("users") or {}).items():
            uid = self.sim.add_user(handle, (spec or {}).get("name"), accepts_dms=(spec or {}).get("accepts_dms", True))
            self.people.identity(uid)
            if (spec or {}).get("card"):
                self.people.save_card(uid, spec["card"])
            if (spec or {}).get("payouts"):
                self.people.onboard(uid)
        self.idle()

    def _build(self) -> Bot:
        return build_on_sim(self.settings, self.clock, None if self.stripe or self.mangopay else self.sandbox, self.rng)

    def close(self) -> None:
        self.bot.close()
        self.sandbox.close()
        self.sim.stop()
        if self.stripe:
            self.stripe.stop()
        if self.mangopay:
            self.mangopay.stop()

    def restart(self) -> None:
        """Drop every in-memory object and build the bot again on the same database, as a new process."""
        self.bot.close()
        self.bot = self._build()

    def work(self) -> None:
        """Let the bot work until idle, restarting it each time it dies at an armed fault point."""
        while True:
            try:
                self.bot.worker.run_until_idle()
                return
            except InjectedFault as died:
                if not died.planned:
                    raise  # armed by the environment: the caller expects it
                self.crashes.append({"point": died.point, "step": len(self.transcript)})
                self.restart()
                if self._crash_plan:  # the next death, counted from this restart
                    arm(*self._crash_plan.pop(0))

    # ------------------------------------------------------------------ steps

    def user(self, handle: str) -> str:
        """The id of @handle, creating an account (with no card) the first time it is named."""
        try:
            return self.sim.user_id(handle)
        except KeyError:
            uid = self.sim.add_user(handle)
            self.people.identity(uid)
            return uid

    def idle(self) -> None:
        """Let the bot work until idle; on Stripe and Mangopay, the people complete the pages it sent them to."""
        self.work()
        self.people.complete_pages()

    def step(self, step: dict[str, Any]) -> None:
        before = len(self.sim.bot_messages())
        label = self._apply(step)
        if not QUIET & step.keys():  # arming changes nothing the bot could see
            self.idle()
        self.transcript.append((label, self.sim.bot_messages()[before:]))

    def _apply(self, step: dict[str, Any]) -> str:  # noqa: C901
        if "together" in step:
            labels = []
            for inner in step["together"]:
                if not TOGETHER & inner.keys():
                    raise ValueError(f"a together step takes {', '.join(sorted(TOGETHER))} steps, not {inner}")
                if "wait" in inner:  # time passes, and the bot does not look
                    self.clock.set(self.clock.now() + parse_duration(inner["wait"]))
                    labels.append(f"{inner['wait']} pass")
                else:
                    labels.append(self._apply(inner))
            return "before the bot looks: " + "; ".join(labels)
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
            text = re.sub(r"\{code:([^}]+)\}", lambda m: self._code(m.group(1), by), step["dm"])
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
            self.people.save_card(self.user(step["register"]), step.get("card", "ok"))
            return f"@{step['register']} saves a card ({step.get('card', 'ok')})"
        if "approve" in step:
            self.people.approve(self.user(step["approve"]))
            return f"@{step['approve']} approves the payment on the bank's page"
        if "onboard" in step:
            self.people.onboard(self.user(step["onboard"]))
            return f"@{step['onboard']} finishes onboarding"
        if "rename" in step:
            self.sim.rename(step["rename"], step["to"])
            return f"@{step['rename']} is renamed @{step['to']}"
        if step.get("restart"):
            self.restart()
            return "the bot restarts"
        if "pause" in step or "resume" in step:
            # What `paybot pause` / `paybot resume` do, on the bot's store.
            self.bot.service.set_paused("pause" in step)
            return "the operator pauses payments" if "pause" in step else "the operator resumes payments"
        if "x_fault" in step:
            route, status, times = step["x_fault"], int(step.get("status", 503)), int(step.get("times", 1))
            if route not in ROUTES:
                raise ValueError(f"bad x_fault {route!r}: one of {', '.join(ROUTES)}")
            if not (500 <= status <= 599 or status == 429):
                raise ValueError(f"bad x_fault status {status}: a 5xx or 429")
            if times < 1:
                raise ValueError(f"bad x_fault times {times}: 1 or more")
            self.sim.inject(ROUTES[route], status, times)
            return f"X answers the next {times} {route} with {status}"
        if step.get("operator") == "wind-down":
            self.bot.service.wind_down()  # as `paybot wind-down` does, on the bot's store and provider
            return "the operator winds paybot down"
        if step.get("operator") in ("refund", "reverse"):
            # {"operator": "refund", "command": ALIAS, "to": H, "amount": "2.50"}: what `paybot refund ID --amount`
            # does to the transfer of that command to H (all that is left without "amount"); "reverse": what
            # `paybot reverse ID` does. "from": H picks a request's payer.
            from bot.money import parse_minor

            root = self.aliases[step["command"]]
            rows = [
                t
                for t in reports.command_transfers(SqlStore(self.bot.engine), root)
                if ("to" not in step or t.recipient_id == self.sim.user_id(step["to"]))
                and ("from" not in step or t.sender_id == self.sim.user_id(step["from"]))
            ]
            if len(rows) != 1:
                raise ValueError(f'{step}: names {len(rows)} transfers, not one (say "to" or "from")')
            t = rows[0]
            if step["operator"] == "reverse":
                _, said = self.bot.service.operator_reverse(t.id or 0)
            else:
                minor = parse_minor(step["amount"], t.currency) if "amount" in step else None
                _, said = self.bot.service.operator_refund(t.id or 0, minor)
            return f"the operator: paybot {step['operator']} {t.id}: {said}"
        if "crash" in step:
            plan = step["crash"] if isinstance(step["crash"], list) else [f"{step['crash']}@{step.get('hit', 1)}"]
            self._crash_plan = [_fault(spec) for spec in plan]
            arm(*self._crash_plan.pop(0))
            return "the bot will die at " + ", then ".join(plan)
        if step.get("disarm"):
            self._crash_plan = []
            disarm()
            return "the bot will die nowhere"
        raise ValueError(f"unknown step: {step}")

    def _alias(self, alias: str | None, post_id: str) -> None:
        if alias:
            self.aliases[alias] = post_id
            self.latest[alias] = post_id

    def _code(self, alias: str, by: str | None = None) -> str:
        """The code of the command posted as `alias`: the one asked of `by` (a request's payers each have
        their own), else the first."""
        root = self.aliases[alias]
        rows = reports.command_transfers(SqlStore(self.bot.engine), root)
        payer = self.user(by) if by is not None else None
        mine = [t for t in rows if t.sender_id == payer]
        t = mine[0] if mine else rows[0] if rows else None
        return t.code if t else "????"

    def _wait(self, text: str) -> None:
        target = self.clock.now() + parse_duration(text)
        for _ in range(10_000):
            due = self.bot.service.next_due()
            if due is None or due > target or (due <= self.clock.now() and _ > 0):
                break
            self.clock.set(due)
            self.idle()
        self.clock.set(target)

    # ------------------------------------------------------------------ result

    def outcome(self) -> dict[str, Any]:
        """The contract's JSON document: transfers and messages."""
        by_post = {}
        for alias, root in self.aliases.items():
            for post in self.sim.posts.values():
                if post["edit_history_tweet_ids"][0] == root:
                    by_post[post["id"]] = alias
        rows = reports.every_transfer(SqlStore(self.bot.engine))
        transfers = [
            {
                "tweet": by_post.get(t.root_tweet_id, t.root_tweet_id),
                "from": self.sim.handle(t.sender_id),
                "to": self.sim.handle(t.recipient_id),
                "amount": Money(t.amount_minor, t.currency).decimal(),
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
                messages.append({"type": m["type"], "in_reply_to": by_post.get(reply_to, reply_to), "text": m["text"]})
        out: dict[str, Any] = {"transfers": transfers, "messages": messages}
        if self.crashes:
            out["crashes"] = self.crashes
        return out


def _fault(spec: str) -> tuple[str, int]:
    """ "before_pay@2" -> ("before_pay", 2); a ValueError that names the points for anything else."""
    point, _, hit = str(spec).partition("@")
    if point not in POINTS or not (hit or "1").isdigit() or int(hit or "1") < 1:
        raise ValueError(f"bad crash {spec!r}: POINT or POINT@N (N from 1), the points being {', '.join(POINTS)}")
    return point, int(hit or "1")


def run_scenario(
    scenario: dict[str, Any],
    provider: str = "sandbox",
    timeline: str = "x",
) -> tuple[dict[str, Any], list[tuple[str, list[dict[str, Any]]]]]:
    """Run a scenario from start to end (on X's simulator or, `timeline="mastodon"`, Mastodon's); returns the
    outcome and a step-by-step transcript."""
    with tempfile.TemporaryDirectory(prefix="paybot-sim-") as tmp:
        run = Run(scenario, Path(tmp), provider=provider, timeline=timeline)
        try:
            for step in scenario.get("steps", []):
                run.step(step)
            return run.outcome(), run.transcript
        finally:
            disarm()  # a point armed but never reached must not strike whatever runs next
            run.close()
