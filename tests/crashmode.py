"""Seeded crash exploration in process: the real worker, killed at named points, on a virtual clock.

A run is a list of the people's moves (see `CrashRun.perform`): post a send or
a request, edit it, repost it, answer a confirmation with yes or no (with the
code, without, or with an old one), claim held money, approve a payment on
the page a DM sent them to (the bank's 3DS, Mangopay's SCA) or let it lapse,
DM STOP, START or a PRIVACY setting, rename themselves (to a new handle or to
one someone else gave up), chat with the bot so that others' DMs are read
later, let time pass, or do several of these before the bot looks (a yes ahead
of the command it could be taken for, a yes and an edit in one poll, a bare
yes from anyone), while the bot is made to die at the Nth passage of a named
fault point
(bot/faults.py) again and again. Each death drops every in-memory object and
builds the bot anew on the same database and simulators: `paybot simulate`'s
crash mode. A seed draws the moves (`python -m tests.crashmode --seed N`, from
the seed and the bot's own progress, never a clock); tests/test_model.py has
hypothesis draw them. Every move is a scenario step, so the generated scenario
replays through `paybot simulate`, and through `python -m tests.crashmode
--replay FILE`, which checks the invariants as well.

It runs on the sandbox, on Stripe and on Mangopay (`--provider`), each adapter
against its emulator, whose records are the provider's truth (`_payments`). On
Mangopay two of the card holders are verified Owners (see `scenario_base`):
their payments to Owners wait for their approval on Mangopay's SCA page, and
one's bank wants its 3DS page first; those pages lapse after 15 minutes.

At the end time passes until everything is settled, and the invariants are
checked, from X's own record where there is one:

- every command post was ingested; each one nothing could refuse (naming
  someone else, who never said STOP, within the cap) became its transfer,
  and nothing else made one (a repost never spends);
- money moved once per paid transfer (provider and store agree on each one;
  on Mangopay a card charged for a transfer its sender never approved on the
  SCA page has all of it back, refunded under that payment's key, before
  anyone had it, and its transfer failed), and only on its payer's yes (bare
  or with the code), sent after a
  confirmation that showed exactly that amount, other party and code (the DM
  of a send; the public reply, or the DM, of a request), and within the time
  that confirmation gave;
- no payer confirmed more than the daily cap in any 24 hours;
- no message went out more often than the store queued it, and none was lost;
- every public reply fits X's weighted 280 characters, has no link and no new
  line, and (while `CHECK_STOP_MENTIONS` is on) @-mentions nobody whose last
  STOP or START DM sent before it was STOP, unless it answers a post they made
  after that STOP;
- nothing is stuck: every transfer ended, the outbox is empty.

A violation raises `Violation`, whose text names the run, the crash just
before it, a file holding the generated scenario and its steps.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import re
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot import faults
from bot.messages import CATALOG, fits
from bot.sims.mangopay import MangopaySim
from bot.sims.runner import Run
from bot.sims.stripe import StripeSim
from bot.store import Outbox, ProcessedTweet, Transfer

# Whether to check that no public reply @-mentions someone who said STOP before it (False skips that check).
CHECK_STOP_MENTIONS = True

SENDERS = [f"c{i}" for i in range(5)]  # have a card
PAID = ["paid0", "paid1", "paid2"]  # can receive at once
CLAIMER, NEVER = "hold0", "hold1"  # cannot receive yet: one claims what is held, one never does
NOISE = "noise"  # chats with the bot, so others' DMs are read later
ASKED, OWNER = "c3", "c4"  # on Mangopay: verified Owners who send (ASKED's card wants 3DS every time)
PEOPLE = [*SENDERS, *PAID, CLAIMER, NEVER]
WAITS = ["20s", "2m", "11m", "40m", "2h"]
SAYINGS = ["STOP", "START", "PRIVACY QUIET", "PRIVACY PRIVATE", "PRIVACY PUBLIC"]
PROVIDERS = ("sandbox", "stripe", "mangopay")
PAID_STATES = {"completed", "held", "returned"}
ENDED = {"completed", "cancelled", "expired", "failed", "returned"}
CODE = re.compile(r"\[([A-Z0-9]{4})\]")
COMMAND = re.compile(r"@paybot (send|request) (\d+)\.(\d\d) (?:to|from) @\w+$")
ASKS = " asks you for "

Move = dict[str, Any]  # one move of the people, as JSON: {"do": "post", "by": "c0", ...} (see CrashRun.perform)


def _template(text: str) -> str:
    """A regular expression matching what the bot says from a message template, whatever fills it."""
    return ".*?".join(re.escape(part) for part in re.split(r"\{\w+\}", text))


# The DMs sending a payer to approve their payment on a page (the bank's 3DS, Mangopay's SCA), in either language.
APPROVAL = re.compile("|".join(f"(?:{_template(text)})" for key, texts in CATALOG.items()
                               if key.startswith("needs_auth.link") for text in texts), re.DOTALL)


class Violation(AssertionError):
    """An invariant broke; the message says how to replay it."""


def scenario_base(seed: int, page: int | None = None, settings: dict[str, Any] | None = None,
                  people: list[str] | None = None, provider: str = "sandbox") -> dict[str, Any]:
    """The people (all of PEOPLE and NOISE, or those of `people` and NOISE) and settings a crash run starts
    from. A small DM page (by seed, unless given) makes the bot read DMs several polls late, behind
    other people's chatter, as X's scarce DM reads do.

    On Mangopay two card holders can receive too (verified Owners, as anyone who claimed money is), so
    each payment they make to an Owner waits for their approval on Mangopay's SCA page (the card is
    charged first, and refunded if that page lapses), and their held money is not released by a claim
    (Mangopay wants them there): ASKED, whose bank also wants them on its 3DS page for every payment
    (first that page, then the SCA one), and OWNER."""
    users: dict[str, Any] = {h: {"card": "ok"} for h in SENDERS}
    if provider == "mangopay":
        users[ASKED] = {"card": "needs_auth", "payouts": True}
        users[OWNER] = {"card": "ok", "payouts": True}
    users |= {h: {"payouts": True} for h in PAID}
    users |= {CLAIMER: {}, NEVER: {}}
    users = {h: spec for h, spec in users.items() if people is None or h in people} | {NOISE: {}}
    page = page or random.Random(seed).choice((1, 2, 20))
    # The per-sender send limits are lifted: the invariants' oracle (`_unrefusable`) does not model them.
    base = {"paybot_claim_window": "30m", "paybot_request_ttl": "30m", "paybot_daily_max": "100000",
            "paybot_sends_per_hour": 1000, "paybot_pending_sends": 100, "paybot_pending_sends_no_card": 100,
            "paybot_dm_page_size": page}
    return {"seed": seed, "users": users, "steps": [], "settings": base | (settings or {})}


def _at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["created_at"].replace("Z", "+00:00"))


def dollars(minor: int) -> str:
    return f"${minor // 100}.{minor % 100:02d}"


def stripe_payments(sim: StripeSim) -> dict[str, dict[str, Any]]:
    """Each succeeded charge paybot made at the Stripe emulator, in the sandbox's words: paid, held,
    released or refunded (the provider's truth the store must agree with)."""
    refunded = {r["payment_intent"] for r in sim.of_kind("refund")}
    released = {t["source_transaction"] for t in sim.of_kind("transfer")}
    out = {}
    for pi in sim.of_kind("payment_intent"):
        if pi["status"] != "succeeded":
            continue
        state = ("refunded" if pi["id"] in refunded else "paid" if pi["transfer_data"]
                 else "released" if pi["latest_charge"] in released else "held")
        out[pi["id"]] = {"ref": pi["id"], "amount_minor": pi["amount"], "state": state}
    return out


def _tag(obj: dict[str, Any]) -> dict[str, Any]:
    """A Mangopay transaction's Tag, as the adapter writes it (JSON), or {}."""
    try:
        tag = json.loads(obj.get("Tag") or "")
    except ValueError:
        return {}
    return tag if isinstance(tag, dict) else {}


def mangopay_payments(sim: MangopaySim) -> dict[str, dict[str, Any]]:
    """Each succeeded pay-in paybot made at the Mangopay emulator, in the sandbox's words: paid (its money
    went to the recipient by the transfer made at pay time), released (by a later transfer, a release),
    held (still in the sender's wallet), refunded (back to the card by refunds of the pay-in), and one
    word of Mangopay's own: lapsed (charged, its transfer never approved by its sender on Mangopay's SCA
    page, and all of it refunded to the card under the payment's own `#lapse` key before anyone had it).

    Anything else is named as it is (part refunded, part delivered, delivered then refunded, ...), which no
    store status agrees with. Each entry also carries the payment's key (`key`)."""
    transfers = [t for t in sim.of_kind("transfer") if t["Status"] == "SUCCEEDED" and t["Nature"] == "REGULAR"]
    refunds = [r for r in sim.of_kind("refund") if r["Status"] == "SUCCEEDED"]
    taken_back = Counter[str]()  # transfer id -> what transfer refunds took back from its recipient
    for r in refunds:
        if r["InitialTransactionType"] == "TRANSFER":
            taken_back[r["InitialTransactionId"]] += r["DebitedFunds"]["Amount"]
    out = {}
    for payin in sim.of_kind("payin"):
        key = str(_tag(payin).get("paybot", ""))
        if payin["Status"] != "SUCCEEDED" or payin["Nature"] != "REGULAR" or not key.startswith("pay:"):
            continue
        amount = payin["DebitedFunds"]["Amount"]
        mine = [t for t in transfers if _tag(t).get("payin") == payin["Id"]]
        at_pay = [t for t in mine if _tag(t).get("paybot") == key]
        delivered = sum(t["DebitedFunds"]["Amount"] for t in mine)
        kept = delivered - sum(taken_back[t["Id"]] for t in mine)
        back = [r for r in refunds if r["InitialTransactionType"] == "PAYIN"
                and r["InitialTransactionId"] == payin["Id"]]
        refunded = sum(r["DebitedFunds"]["Amount"] for r in back)
        if refunded == amount and not mine and all(_tag(r).get("paybot") == f"{key}#lapse" for r in back):
            state = "lapsed"
        elif refunded == amount and kept == 0:
            state = "refunded" if not mine else "delivered, taken back and refunded"
        elif refunded:
            state = f"{refunded} of {amount} refunded, {kept} delivered"
        elif kept == amount and len(mine) == 1:
            state = "paid" if at_pay else "released"
        elif delivered == 0:
            state = "held"
        else:
            state = f"{kept} of {amount} delivered by {len(mine)} transfers"
        out[payin["Id"]] = {"ref": payin["Id"], "key": key, "amount_minor": amount, "state": state}
    return out


@dataclass
class Report:
    seed: int
    provider: str
    steps: int = 0
    crashes: Counter[str] = field(default_factory=Counter)
    transfers: int = 0
    payments: int = 0
    seconds: float = 0.0
    outcome: dict[str, Any] = field(default_factory=dict)  # `paybot simulate`'s document for the run


@dataclass
class CrashRun:
    """One run: its steps drawn from the seed, or the given moves, or a given scenario replayed; then
    the invariants checked."""

    seed: int
    provider: str = "sandbox"
    actions: int = 60
    workdir: Path | None = None
    crash_rate: float = 0.9  # chance, at each action with nothing armed, to arm a point
    moves: list[Move] | None = None  # played in order instead of drawing actions from the seed
    base: dict[str, Any] | None = None  # the scenario to start from (default: scenario_base(seed))
    replay: bool = False  # play base's steps as they are
    tmp_root: Path | None = None  # where the run's files go (default: the temp folder)
    rng: random.Random = field(init=False)
    scenario: dict[str, Any] = field(init=False)
    run: Run = field(init=False)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # alias -> by, to, amount, kind
    answered: dict[tuple[str, str], str] = field(default_factory=dict)  # (confirmation id, asked) -> yes/no
    claimed: set[str] = field(default_factory=set)  # "held for you" replies acted on
    approved: set[str] = field(default_factory=set)  # DMs linking an approval page acted on
    next_amount: int = 100
    handles: dict[str, str] = field(default_factory=dict)  # person (first handle) -> handle now
    ids: dict[str, str] = field(default_factory=dict)  # person (first handle) -> X id
    renamed: int = 0
    renames: list[tuple[int, str, str, str]] = field(default_factory=list)  # (next X id, user id, old, new)
    met: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # action -> passages
    times: Counter[str] = field(default_factory=Counter)  # action -> how often it was taken
    struck: Counter[str] = field(default_factory=Counter)  # point -> crashes there so far

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.scenario = json.loads(json.dumps(self.base)) if self.base else scenario_base(self.seed,
                                                                                           provider=self.provider)
        self.scenario["steps"] = []

    # ---------------------------------------------------------------- driving

    def execute(self) -> Report:
        """Generate and run the whole scenario, then check the invariants (raises Violation)."""
        started = time.monotonic()
        faults.disarm()
        with tempfile.TemporaryDirectory(prefix="paybot-crash-", dir=self.tmp_root) as tmp:
            self.run = Run(self.scenario, Path(tmp), provider=self.provider)
            try:
                self._watch_renames()
                self.handles = {p: p for p in self.scenario["users"]}
                self.ids = {p: self.run.sim.user_id(p) for p in self.scenario["users"]}
                if self.replay:
                    for step in (self.base or {}).get("steps", []):
                        self._step(step)
                else:
                    if self.moves is not None:
                        for move in self.moves:
                            self.perform(move)
                    else:
                        for _ in range(self.actions):
                            self._act()
                    self._finish()
                report = self._check()
                report.outcome = self.run.outcome()
            except Violation:
                raise
            except Exception as err:  # a crash of the runner itself is a finding too
                raise self._violation(f"the run raised {type(err).__name__}: {err}") from err
            finally:
                faults.disarm()
                self._close()
        report.seconds = time.monotonic() - started
        return report

    def _close(self) -> None:
        """Run.close, but the simulators' servers stop in the background: each waits for its poll loop."""
        run = self.run
        run.bot.close()
        run.sandbox.close()
        for server in (run.sim, run.stripe, run.mangopay):
            if server is not None:
                threading.Thread(target=server.stop, daemon=True).start()

    def _watch_renames(self) -> None:
        """Note each rename with the first X id after it, so a handle can be read as of any moment."""
        sim = self.run.sim
        rename = sim.rename

        def noted(handle: str, new: str) -> None:
            uid = sim.user_id(handle)
            rename(handle, new)
            self.renames.append((sim.next_post, uid, handle, new))

        sim.rename = noted  # type: ignore[method-assign]

    def _step(self, step: dict[str, Any]) -> None:
        self.scenario["steps"].append(step)
        self.run.step(step)

    def perform(self, move: Move) -> None:
        """Play one move, given as JSON; `person` below is someone's first handle (PEOPLE, NOISE):

        {"do": "post", "by": person, "kind": "send"|"request", "to": person, "dollars": 1, "then": "yes"}
            ("then": once the bot has looked, its payer answers "yes" or "no" with the newest code they were
            given, or "claim": yes, then a claim move, or "approve": yes, then their approve move; absent or
            "later": nobody answers yet. Inside
            "together", nobody answers)
        {"do": "edit", "post": i, "dollars": 20} (the i-th post, modulo their number: a new amount)
        {"do": "repost", "by": person, "post": i}
        {"do": "answer", "by": person or null, "yes": true, "code": "latest"|"first"|"none"}
            (the code of the newest or the first confirmation that asked them, or a bare yes / no;
            null: whoever the newest confirmation asked)
        {"do": "dm", "by": person, "text": "STOP"} (any DM: START, PRIVACY QUIET, CLAIM, ...)
        {"do": "chatter", "n": 12} (the noise person DMs HELP n times, all before the bot looks)
        {"do": "claim"} (everyone told money is held for them since their last claim DMs CLAIM)
        {"do": "approve", "by": person} (they approve what waits for them on their bank's or the provider's
            pages: 3DS, Mangopay's SCA; not inside "together")
        {"do": "rename", "who": person, "take": person or null} (their handle given up, if free; else a new one)
        {"do": "ambush", "by": person, "to": person, "dollars": 1, "edit": false, "chatter": 0}
            (their bare yes, then their new send, or an edit of their newest post, then chatter)
        {"do": "meanwhile", "by": person, "text": "STOP", "from": person, "kind": "request", "dollars": 1}
            (they DM that, then `from` posts a command naming them)
        {"do": "wait", "for": "2m"}
        {"do": "crash", "at": ["before_pay@1", "after_send@2"]} (deaths to come, each counted from the last)
        {"do": "restart"}
        {"do": "together", "moves": [...]} (people's moves, all before the bot looks)

        A move (but a crash, or one inside "together") may say "die": "before_pay@1": the bot dies there
        on its way.
        """
        do = move["do"]
        if move.get("die") and do != "crash":
            self._step({"crash": [move["die"]]})
        if do == "crash":
            self._step({"crash": list(move["at"])})
        elif do == "restart":
            self._step({"restart": True})
        else:
            inner = self._make(move)
            if len(inner) == 1:
                self._step(inner[0])
            elif inner:
                self._step({"together": inner})
            if do == "post" and move.get("then", "later") != "later":
                payer = move["by"] if move.get("kind", "send") == "send" else move["to"]
                self._step(self._answer_step(payer, move["then"] != "no", "latest"))
                if move["then"] == "claim":
                    self.perform({"do": "claim"})
                elif move["then"] == "approve":
                    self.perform({"do": "approve", "by": payer})

    def _make(self, move: Move) -> list[dict[str, Any]]:
        """The scenario steps of one of the people's moves (none when it has nothing to act on)."""
        do = move["do"]
        if do == "together":
            return [step for inner in move["moves"] for step in self._make(inner)]
        if do == "post":
            return [self._post_step(move["by"], move.get("kind", "send"), move["to"], move.get("dollars", 1))]
        if do == "edit":
            return [self._edit_step(list(self.posts)[move["post"] % len(self.posts)], move.get("dollars", 1))] \
                if self.posts else []
        if do == "repost":
            return [{"retweet": list(self.posts)[move["post"] % len(self.posts)], "by": self.handles[move["by"]]}] \
                if self.posts else []
        if do == "answer":
            return [self._answer_step(move["by"], move.get("yes", True), move.get("code", "latest"))]
        if do == "dm":
            return [{"dm": move["text"], "by": self.handles[move["by"]]}]
        if do == "approve":
            return [{"approve": self.handles[move["by"]]}]
        if do == "chatter":
            return [{"dm": "help", "by": NOISE}] * move["n"]
        if do == "claim":
            held = [m for m in self.run.sim.bot_messages() if m["type"] == "reply" and "held for you" in m["text"]
                    and m["id"] not in self.claimed]
            self.claimed.update(m["id"] for m in held)
            told = dict.fromkeys(u["id"] for m in held for u in self.run.sim.posts[m["id"]]["entities"]["mentions"]
                                 if f"@{u['username']}, it's held for you" in m["text"])
            return [{"dm": "claim", "by": self.run.sim.handle(uid)} for uid in told]
        if do == "rename":
            return [self._rename_step(move["who"], move.get("take"))]
        if do == "wait":
            return [{"wait": move["for"]}]
        if do == "meanwhile":
            return [{"dm": move["text"], "by": self.handles[move["by"]]},
                    self._post_step(move["from"], move.get("kind", "request"), move["by"], move.get("dollars", 1))]
        if do == "ambush":
            by = move["by"]
            theirs = [alias for alias, post in self.posts.items() if post["by"] == by]
            change = self._edit_step(theirs[-1], move.get("dollars", 1)) if move.get("edit") and theirs \
                else self._post_step(by, "send", move["to"], move.get("dollars", 1))
            return [{"dm": "yes", "by": self.handles[by]}, change, *[{"dm": "help", "by": NOISE}] * move["chatter"]]
        raise ValueError(f"unknown move: {move}")

    def _act(self) -> None:
        """One action of the people drawn from the seed, with the bot made to die somewhere on its way.

        The point is drawn in proportion to how often this kind of action met
        each point so far (every point keeps a small chance), so nearly every
        armed point strikes; the counts are the bot's own, so a seed replays."""
        pending = self._unanswered()
        links = self._approvals()  # none unless a bank or Mangopay wants someone on its page
        roll = self.rng.random()
        if links and self.rng.random() < 0.3:
            kind = "approve"
        elif roll < 0.35 or (not pending and roll < 0.6):
            kind = "post"
        elif roll < 0.70 and pending:
            kind = "answer"
        elif roll < 0.76 and self.posts:
            kind = "edit"
        elif roll < 0.80:
            kind = "rush"
        elif roll < 0.84:
            kind = "ambush"
        elif roll < 0.92:
            kind = "claim"
        elif roll < 0.96:
            kind = "social"
        else:
            kind = "wait"
        if kind == "ambush":
            self._ambush()
            self.times[kind] += 1
            return
        if kind == "claim" and not self._claimable():
            kind = "wait"  # nothing to claim: the claimer lets time pass instead (as `_claim` does)
        # Money is settled (released, or given back) only on a claim or a wait while some is held, a few
        # times a run: such actions are counted apart, each presumed to meet settle_called once until
        # seen otherwise, so that rare point gets its deaths.
        label = f"{kind}, money held" if kind in ("claim", "wait") and self._holding() else kind
        if self.rng.random() < self.crash_rate:
            met, times = self.met[label].copy(), max(1, self.times[label])
            if label != kind:
                met["settle_called"] += 1
                times += 1
            # How likely this action meets each point, over how often that point already struck:
            # the money points, met less often, get their share of deaths.
            weights = [min(1.0, met[p] / times) / (1 + self.struck[p]) + 0.01 for p in faults.POINTS]
            plan = []
            for _ in range(self.rng.choice((1, 1, 2, 3))):  # later deaths strike during the recovery
                point = self.rng.choices(faults.POINTS, weights)[0]
                plan.append(f"{point}@{self.rng.randint(1, max(1, min(3, round(met[point] / times))))}")
            self._step({"crash": plan})
        before = faults.reached.copy()
        if kind == "post":
            self._step(self._new_post())
        elif kind == "answer":
            self._answer(self.rng.choice(pending))
        elif kind == "edit":
            self._step(self._new_edit())
        elif kind == "rush":
            self._rush()
        elif kind == "claim":
            self._claim()
        elif kind == "social":
            self._social()
        elif kind == "approve":
            self._approve(links)
        else:
            self._step({"wait": self.rng.choice(WAITS)})
        self.times[label] += 1
        self.met[label].update(faults.reached - before)
        self.struck = Counter(c["point"] for c in self.run.crashes)

    def _new_post(self) -> dict[str, Any]:
        """A send from a card holder to someone who can receive (or not yet), or now and then a request
        from someone who can receive to a card holder."""
        if self.rng.random() < 0.2:
            return self._post_step(self.rng.choice([*PAID, CLAIMER]), "request", self.rng.choice(SENDERS), 1)
        return self._post_step(self.rng.choice(SENDERS), "send", self.rng.choice([*PAID, CLAIMER, NEVER]), 1)

    def _post_step(self, by: str, kind: str, to: str, whole: int) -> dict[str, Any]:
        alias = f"p{len(self.posts)}"
        self.posts[alias] = {"by": by, "to": to, "amount": self._amount(whole), "kind": kind}
        return {"tweet": self._command(self.posts[alias]), "by": self.handles[by], "id": alias}

    def _command(self, post: dict[str, Any]) -> str:
        how = "send {} to" if post["kind"] == "send" else "request {} from"
        return f"@paybot {how.format(dollars(post['amount'])[1:])} @{self.handles[post['to']]}"

    def _new_edit(self) -> dict[str, Any]:
        return self._edit_step(self.rng.choice(sorted(self.posts)), 1)

    def _edit_step(self, alias: str, whole: int) -> dict[str, Any]:
        """Its author changes the amount of a command, answered or not (an answered one must not change)."""
        self.posts[alias]["amount"] = self._amount(whole)
        return {"edit": alias, "text": self._command(self.posts[alias])}

    def _answer_step(self, person: str | None, yes: bool, which: str) -> dict[str, Any]:
        asks = self._asks()
        uid = self._uid(person) if person else asks[-1]["to"] if asks else next(iter(self.ids.values()))
        asked = [a for a in asks if a["to"] == uid]
        word, by = "yes" if yes else "no", self.run.sim.handle(uid)
        if which == "none" or not asked:
            return {"dm": word, "by": by}
        ask = asked[-1] if which == "latest" else asked[0]
        self.answered.setdefault((ask["id"], uid), word)
        return {"dm": f"{word} {ask['code']}", "by": by}

    def _rename_step(self, person: str, take: str | None) -> dict[str, Any]:
        """`person` takes the handle `take` once had, if nobody has it now; else a handle never used."""
        old = self.handles[person]
        new = take if take and take not in self.handles.values() else None
        if new is None:
            self.renamed += 1
            new = f"{person}n{self.renamed}"
        self.handles[person] = new
        return {"rename": old, "to": new}

    def _ambush(self) -> None:
        """The order most likely to catch a yes on the wrong side of a confirmation: the sender's yes,
        then their new command (or an edit), then chatter. The bot reads DMs newest first, ten pages a
        poll: with between ten and twenty pages of chatter after it, the yes is read in the poll just
        after the bot died sending that command's confirmation (or just after sending it), while its
        send is in doubt. Only with small DM pages (else a rush instead)."""
        page = self.scenario["settings"]["paybot_dm_page_size"]
        if page > 2:
            self._rush()
            return
        if self.posts and self.rng.random() < 0.5:
            change = self._new_edit()
            sender = self.posts[change["edit"]]["by"]
        else:
            change = self._new_post()
            sender = self.posts[change["id"]]["by"]
        chatter = [{"dm": "help", "by": NOISE}] * (10 * page + self.rng.randrange(10 * page))
        self._step({"crash": [self.rng.choice(("before_send@1", "after_send@1"))]})
        self._step({"together": [{"dm": "yes", "by": self.handles[sender]}, change, *chatter]})

    def _rush(self) -> None:
        """Careless and hostile orders: two or three things reach X before the bot looks. A bare yes
        from anyone, a yes to any confirmation ever sent (answered, stale or not), a new command or
        an edit, a few seconds passing; the yes may come before what it could be meant for."""
        confirmations = self._asks()
        inner: list[dict[str, Any]] = []
        for _ in range(self.rng.choice((2, 3))):
            roll = self.rng.random()
            if roll < 0.3:
                inner.append({"dm": "yes", "by": self.handles[self.rng.choice(SENDERS)]})
            elif roll < 0.5 and confirmations:
                ask = self.rng.choice(confirmations)
                self.answered.setdefault((ask["id"], ask["to"]), "yes")
                inner.append({"dm": f"yes {ask['code']}", "by": self.run.sim.handle(ask["to"])})
            elif roll < 0.75:
                inner.append(self._new_post())
            elif roll < 0.85 and self.posts:
                inner.append(self._new_edit())
            elif roll < 0.93:
                inner += [{"dm": "help", "by": NOISE}] * self.rng.randint(1, 4)
            else:
                inner.append({"wait": "20s"})
        self._step({"together": inner})

    def _social(self) -> None:
        """Someone DMs STOP, START or a PRIVACY setting, renames themselves, or reposts a command."""
        roll, person = self.rng.random(), self.rng.choice(PEOPLE)
        if roll < 0.5:
            self.perform({"do": "dm", "by": person, "text": self.rng.choice(SAYINGS)})
        elif roll < 0.75:
            self.perform({"do": "rename", "who": person, "take": self.rng.choice([None, *PEOPLE])})
        elif self.posts:
            self.perform({"do": "repost", "by": person, "post": self.rng.randrange(len(self.posts))})
        else:
            self._step({"wait": self.rng.choice(WAITS)})

    def _answer(self, ask: dict[str, str]) -> None:
        answer = "no" if self.rng.random() < 0.15 else "yes"
        self.answered[(ask["id"], ask["to"])] = answer
        self._step({"dm": f"{answer} {ask['code']}", "by": self.run.sim.handle(ask["to"])})

    def _approvals(self) -> list[dict[str, Any]]:
        """The bot's DMs sending someone to approve a payment on a page (their bank's 3DS, Mangopay's SCA)
        that they have not acted on."""
        return [m for m in self.run.sim.bot_messages() if m["type"] == "dm" and APPROVAL.fullmatch(m["text"])
                and m["id"] not in self.approved]

    def _approve(self, links: list[dict[str, Any]]) -> None:
        """Someone sent to an approval page goes there and approves what waits for them, or (one time in
        four) leaves it and lets 20 minutes pass: on Mangopay, 3DS and SCA pages lapse 15 minutes after
        they open, and the payment with them (a page already lapsed is gone: nothing to approve)."""
        link = self.rng.choice(links)
        self.approved.update(m["id"] for m in links if m["to_id"] == link["to_id"])
        if self.rng.random() < 0.25:
            self._step({"wait": "20m"})
        else:
            self._step({"approve": self.run.sim.handle(link["to_id"])})

    def _holding(self) -> bool:
        """Whether the store holds money for someone (a claim may release it, its window's end return it)."""
        with self.run.bot.service.uow() as s:
            return s.exec(select(Transfer.id).where(Transfer.status == "held").limit(1)).first() is not None

    def _claimable(self) -> list[dict[str, Any]]:
        """The public replies telling the claimer money is held for them that they have not acted on."""
        claimer = self._uid(CLAIMER)
        return [m for m in self.run.sim.bot_messages() if m["type"] == "reply" and "held for you" in m["text"]
                and claimer in self._mentioned(m["id"]) and m["id"] not in self.claimed]

    def _claim(self) -> None:
        held = self._claimable()
        if held:
            self.claimed.update(m["id"] for m in held)
            self._step({"dm": "claim", "by": self.handles[CLAIMER]})
        else:
            self._step({"wait": self.rng.choice(WAITS)})

    def _finish(self) -> None:
        """No more crashes: the last claim, then time enough for every window to close (after given moves,
        one wait through every deadline: claims are among the moves)."""
        if faults.armed() is not None:
            self._step({"disarm": True})
        if self.moves is not None:
            if self.run.bot.service.next_due() is not None:
                self._step({"wait": "5h"})
            return
        self._claim()
        for wait in ("11m", "2h", "2h"):
            self._step({"wait": wait})

    def _asks(self) -> list[dict[str, str]]:
        """Every confirmation the bot sent, from X's record: its id, whom it asked, and the code.
        A send's DM to its sender; a request's public reply to each payer it names, or its DM."""
        sim = self.run.sim
        out = []
        for m in sim.bot_messages():
            if m["type"] == "dm":
                code = CODE.search(m["text"])
                if code and m["text"].startswith(("Send ", "Pay ")):
                    out.append({"id": m["id"], "to": m["to_id"], "code": code.group(1)})
            elif ASKS in m["text"]:
                ids = {u["username"].lower(): u["id"] for u in sim.posts[m["id"]]["entities"].get("mentions", [])}
                pairs = re.findall(r"YES ([A-Z0-9]{4}) \(@(\w+)\)", m["text"])
                single = re.search(r"YES ([A-Z0-9]{4})", m["text"])
                payers = re.findall(r"@(\w+)", m["text"].split(":", 1)[0])
                if not pairs and single and len(payers) == 1:
                    pairs = [(single.group(1), payers[0])]
                out += [{"id": m["id"], "to": ids[h.lower()], "code": c} for c, h in pairs if h.lower() in ids]
        return out

    def _unanswered(self) -> list[dict[str, str]]:
        return [a for a in self._asks() if (a["id"], a["to"]) not in self.answered]

    def _uid(self, person: str) -> str:
        """The X id of someone named by their first handle."""
        return self.ids[person]

    def _mentioned(self, post_id: str) -> list[str]:
        """Whom a post @-mentions, as X resolved its handles when it was posted."""
        return [u["id"] for u in self.run.sim.posts[post_id]["entities"].get("mentions", [])]

    def _holder(self, handle: str, at: int) -> str | None:
        """Who had `handle` when X's ids were at `at`."""
        owner = {u["username"].lower(): uid for uid, u in self.run.sim.users.items()}
        for after, uid, old, new in reversed(self.renames):
            if after <= at:
                break
            owner.pop(new.lower(), None)
            owner[old.lower()] = uid
        return owner.get(handle.lower())

    def _amount(self, whole: int = 1) -> int:
        self.next_amount += 1
        return (whole - 1) * 100 + self.next_amount

    # --------------------------------------------------------------- checking

    def _check(self) -> Report:
        run = self.run
        with run.bot.service.uow() as s:
            transfers = list(s.exec(select(Transfer)))
            processed = set(s.exec(select(ProcessedTweet.id)))
            outbox = list(s.exec(select(Outbox)))
        payments = self._payments()
        handle = run.sim.handle
        roots = {t.root_tweet_id for t in transfers}
        commands = {run.aliases[a] for a in run.aliases}
        for alias in run.aliases:
            if run.latest[alias] not in processed:
                raise self._violation(f"post {alias} was not ingested")
            if run.aliases[alias] not in roots and self._unrefusable(alias):
                raise self._violation(f"post {alias} did not become its transfer")
        stray = [t.id for t in transfers if t.root_tweet_id not in commands]
        if stray:
            raise self._violation(f"transfers {stray} come from no command post")
        paid = [t for t in transfers if t.status in PAID_STATES]
        claimants = {e["sender_id"] for e in run.sim.dms if e["text"].strip().lower() == "claim"}
        # Mangopay charges the card before the transfer its sender must approve (an Owner paying an Owner):
        # one that lapsed was charged and given back whole, and its transfer failed (its own check below).
        lapsed = {ref: p for ref, p in payments.items() if p["state"] == "lapsed"}
        if len(payments) - len(lapsed) != len(paid):
            raise self._violation(f"{len(payments) - len(lapsed)} payments at the provider for {len(paid)} paid "
                                  f"transfers (and {len(lapsed)} charged, never approved and given back)")
        if len({t.payment_ref for t in paid}) != len(paid):
            raise self._violation("two paid transfers name the same payment at the provider")
        for ref, charge in lapsed.items():
            given_back = next((t for t in transfers if t.payment_ref == ref), None)
            if given_back is None or given_back.status != "failed" or given_back.pay_key != charge["key"]:
                found = given_back and (given_back.id, given_back.status, given_back.pay_key)
                raise self._violation(f"payment {ref} was charged, never approved and given back, but its transfer "
                                      f"is {found}, not its failed transfer")
            if not self._consented(given_back):
                raise self._violation(f"transfer {given_back.id} charged its sender without their yes, sent after a "
                                      f"confirmation that showed exactly that, within its time to answer")
        for t in transfers:
            story = f"transfer {t.id} ({t.kind}, {t.status}, {dollars(t.amount_minor)} from " \
                    f"@{handle(t.sender_id)} to @{handle(t.recipient_id)})"
            if t.status not in ENDED:
                raise self._violation(f"{story} never ended")
            if t.status not in PAID_STATES:
                continue
            if not self._consented(t):
                raise self._violation(f"{story} moved money without its sender's yes, sent after a confirmation "
                                      f"that showed exactly that, within its time to answer")
            pay = payments.get(t.payment_ref or "")
            if pay is None or pay["amount_minor"] != t.amount_minor:
                raise self._violation(f"{story} has no payment of that amount at the provider: {pay}")
            agree = {"completed": {"paid", "released"}, "returned": {"refunded"}}[t.status] \
                if t.status != "held" else {"held"}
            if pay["state"] not in agree:
                raise self._violation(f"{story} is {pay['state']} at the provider")
            if pay["state"] == "released" and t.recipient_id not in claimants:
                raise self._violation(f"{story} was released to someone who never claimed")
        self._check_cap(paid)
        queued = Counter((o.kind, o.to_user_id or o.in_reply_to, o.text) for o in outbox)
        stuck = [o.id for o in outbox if o.status in ("queued", "sending")]
        if stuck:
            raise self._violation(f"outbox messages {stuck} were never sent")
        went = Counter(("dm" if m["type"] == "dm" else "reply", m.get("to_id") or m["in_reply_to"], m["text"])
                       for m in run.sim.bot_messages())
        twice = [k for k, n in went.items() if n > queued[k]]
        if twice:
            raise self._violation(f"sent more often than queued: {twice[:3]}")
        # X refuses a post whose text the bot already posted (a duplicate-content 403, counted as sent),
        # even in reply to another post: such a reply went out once, elsewhere.
        posted = {m["text"] for m in run.sim.bot_messages() if m["type"] != "dm"}
        lost = [o.id for o in outbox if o.status == "sent" and not went[(o.kind, o.to_user_id or o.in_reply_to, o.text)]
                and not (o.kind == "reply" and o.text in posted)]
        if lost:
            raise self._violation(f"outbox messages {lost} are marked sent but never reached X")
        for m in run.sim.bot_messages():  # the bot's public voice is its own
            if m["type"] != "dm" and (not fits(m["text"]) or "http" in m["text"] or "\n" in m["text"]):
                raise self._violation(f"a public reply breaks the rules (length, link or new line): {m['text']!r}")
        if CHECK_STOP_MENTIONS:
            self._check_stop_mentions()
        if run.sim.violations:
            raise self._violation(f"{run.sim.violations} requests to X over its rate limits")
        return Report(self.seed, self.provider, len(self.scenario["steps"]),
                      Counter(c["point"] for c in run.crashes), len(transfers), len(payments))

    def _said(self) -> dict[str, list[tuple[int, bool]]]:
        """Each person's STOP (True) and START (False) DMs to the bot, as (X id, stopped), oldest first."""
        sim = self.run.sim
        said: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        for e in sim.dms:
            word = e["text"].strip().lower()
            if e["sender_id"] != sim.bot_id and sim.bot_id in e["participant_ids"] and word in ("stop", "start"):
                said[e["sender_id"]].append((int(e["id"]), word == "stop"))
        return said

    def _unrefusable(self, alias: str) -> bool:
        """Whether nothing could refuse the command first posted as `alias`: it names one person, not its
        author, who never said STOP; for a send, all its author could pay in the run (their sends and the
        requests to them, every version) fits the cap and their sends name no more people than the
        strangers' limit; for a request, fewer requests than the limits allow came before it from its
        author or to its payer (refused ones counted too)."""
        sim, policy = self.run.sim, self.run.bot.service.policy
        post = sim.posts[self.run.aliases[alias]]
        shape, named = self._shape(post)
        if shape is None or len(named) != 1 or named[0] == post["author_id"] \
                or any(stopped for _, stopped in self._said().get(named[0], [])):
            return False
        if shape.group(1) == "request":
            to_payer = from_author = 0
            for root in self.run.aliases.values():
                earlier, payers = self._shape(sim.posts[root])
                if int(root) < int(post["id"]) and earlier is not None and earlier.group(1) == "request":
                    to_payer += named[0] in payers
                    from_author += sim.posts[root]["author_id"] == post["author_id"]
            return to_payer < getattr(policy, "requests_per_payer_day", to_payer + 1) \
                and from_author < getattr(policy, "requests_per_hour", from_author + 1)
        total, people = 0, set()  # what the author could pay (sends, requests to them), whom they could pay
        for other in sim.posts.values():
            shown, named_there = self._shape(other)
            if shown is None:
                continue
            sent = shown.group(1) == "send" and other["author_id"] == post["author_id"]
            if sent or (shown.group(1) == "request" and post["author_id"] in named_there):
                total += int(shown.group(2)) * 100 + int(shown.group(3))
                people.update(named_there if sent else [])
        return total <= policy.daily_max_minor and len(people) <= getattr(policy, "strangers_per_day", len(people))

    def _shape(self, post: dict[str, Any]) -> tuple[re.Match[str] | None, list[str]]:
        """A command post's kind and amount (None if it is not one of the runner's), and whom it names."""
        return COMMAND.search(post["text"]), [uid for uid in self._mentioned(post["id"]) if uid != self.run.sim.bot_id]

    def _consented(self, t: Transfer) -> bool:
        """From X's own record: the bot asked the payer with a confirmation showing this amount, other
        party and code, and the payer then DMed "yes" or "yes CODE" within the time it gave to answer.

        A send's confirmation is a DM "Send AMOUNT to @recipient"; a request's is its public reply naming
        the payer (and the requester) with the amount and code, or, to a discreet payer, a DM "Pay AMOUNT to
        @requester". A handle counts for who had it when the command was posted or the DM sent."""
        sim, policy = self.run.sim, self.run.bot.service.policy
        ttl = policy.confirm_ttl if t.kind == "send" else policy.request_ttl
        amount = dollars(t.amount_minor)
        pair = sorted((t.sender_id, sim.bot_id), key=int)
        events = [e for e in sim.dms if e["participant_ids"] == pair]
        word = "Send" if t.kind == "send" else "Pay"
        shown = re.compile(rf"{word} {re.escape(amount)} to @(\w+)\b.*\[{t.code}\]")
        asked: list[tuple[int, datetime]] = []
        for e in events:
            m = shown.match(e["text"]) if e["sender_id"] == sim.bot_id else None
            if m and t.recipient_id in (self._holder(m.group(1), int(e["id"])),
                                        self._holder(m.group(1), int(t.command_tweet_id))):
                asked.append((int(e["id"]), _at(e)))
        if t.kind == "request":
            for reply in sim.bot_messages():
                post = sim.posts[reply["id"]] if reply["type"] == "reply" else None
                if post and f"{ASKS}{amount}" in post["text"] and f"YES {t.code}" in post["text"] \
                        and {t.sender_id, t.recipient_id} <= set(self._mentioned(post["id"])) \
                        and sim.posts[reply["in_reply_to"]]["edit_history_tweet_ids"][0] == t.root_tweet_id:
                    asked.append((int(post["id"]), _at(post)))
        said = [e for e in events if e["sender_id"] == t.sender_id
                and e["text"].strip().lower() in ("yes", f"yes {t.code.lower()}")]
        return any(int(y["id"]) > i and _at(y) - at <= ttl for i, at in asked for y in said)

    def _check_cap(self, paid: list[Transfer]) -> None:
        """What each payer confirmed in any 24 hours (every paid transfer, at its yes) is within the cap."""
        cap = self.run.bot.service.policy.daily_max_minor
        for t in paid:
            assert t.confirmed_at is not None
            window = [u for u in paid if u.sender_id == t.sender_id and u.confirmed_at is not None
                      and t.confirmed_at - timedelta(hours=24) <= u.confirmed_at <= t.confirmed_at]
            total = sum(u.amount_minor for u in window)
            if total > cap:
                raise self._violation(f"@{self.run.sim.handle(t.sender_id)} confirmed {dollars(total)} in 24 hours "
                                      f"(transfers {sorted(u.id or 0 for u in window)}), over the cap of "
                                      f"{dollars(cap)}")

    def _check_stop_mentions(self) -> None:
        """No public reply @-mentions anyone whose last STOP or START DM sent before it was STOP, unless it
        answers a post they made after that STOP (they addressed the bot in public again, and X tells them
        of the reply anyway). Handles as X resolved them when the reply was posted."""
        sim, said = self.run.sim, self._said()
        for m in sim.bot_messages():
            if m["type"] == "dm":
                continue
            answered = sim.posts.get(m["in_reply_to"] or "") or {"id": "0", "author_id": None}
            for uid in self._mentioned(m["id"]):
                before = [(i, stopped) for i, stopped in said.get(uid, []) if i < int(m["id"])]
                spoke_since = uid == answered["author_id"] and before and int(answered["id"]) > before[-1][0]
                if before and before[-1][1] and not spoke_since:
                    raise self._violation(
                        f"the public reply {m['id']} {m['text']!r} @-mentions user {uid}, who DMed STOP "
                        f"(event {before[-1][0]}) before it")

    def _payments(self) -> dict[str, dict[str, Any]]:
        """The provider's truth: each charge paybot made, as paid, held, released or refunded."""
        if self.run.mangopay is not None:
            return mangopay_payments(self.run.mangopay)
        if self.run.stripe is None:
            return {p["ref"]: p for p in self.run.sandbox.payments()}
        return stripe_payments(self.run.stripe)

    def _violation(self, what: str) -> Violation:
        crash = self.run.crashes[-1] if getattr(self, "run", None) and self.run.crashes else None
        folder = self.workdir or Path(tempfile.gettempdir())
        seeded = self.moves is None and not self.replay
        if seeded:
            path = folder / f"paybot-crash-{self.provider}-{self.seed}.json"
            again = f"python -m tests.crashmode --seed {self.seed} --provider {self.provider} --actions {self.actions}"
        else:
            digest = hashlib.sha1(json.dumps(self.scenario["steps"]).encode()).hexdigest()[:10]
            path = folder / f"paybot-model-{self.provider}-{digest}.json"
            again = f"python -m tests.crashmode --replay {path} --provider {self.provider}"
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.scenario, indent=1))
        return Violation(
            f"{f'seed {self.seed}' if seeded else 'a run'} on {self.provider}: {what}\n"
            f"  last crash before it: {crash}\n"
            f"  the generated scenario: {path}\n"
            f"  replay: {again}   (or: paybot simulate {path} --provider {self.provider})\n"
            f"  its steps:\n" + "\n".join(f"    {json.dumps(step)}" for step in self.scenario["steps"]))


def main(argv: list[str] | None = None) -> int:
    """Run seeds and print each run's verdict, failures with their replay line; exit 1 on any failure.

    --seed N runs one seed; --crashes K runs seeds from --first-seed on until
    K crashes have struck (the same seeds every time); --minutes M runs random
    seeds that long; --replay FILE runs a scenario a failure wrote and checks
    it again. --json ends with one line of JSON: the totals."""
    ap = argparse.ArgumentParser(prog="python -m tests.crashmode", description=__doc__.split("\n\n")[0])
    ap.add_argument("--provider", choices=(*PROVIDERS, "all", "both"), default="all",
                    help="one provider, or all of them (\"both\", from when there were two, means all)")
    ap.add_argument("--actions", type=int, default=60, help="people's actions per run (default 60)")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--seed", type=int, help="run this seed only")
    how.add_argument("--crashes", type=int, help="run seeds from --first-seed on until this many crashes")
    how.add_argument("--minutes", type=float, help="run random seeds this long (default: 1 minute)")
    how.add_argument("--replay", type=Path, help="run this scenario file's steps and check the invariants")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--each-point", type=int, default=0,
                    help="with --crashes: go on until every point has struck this often too")
    ap.add_argument("--json", action="store_true", help="end with one JSON line of totals")
    ap.add_argument("--out", type=Path, help="where a failing run's scenario is written (default: the temp folder)")
    args = ap.parse_args(argv)
    providers = PROVIDERS if args.provider in ("all", "both") else (args.provider,)
    logging.disable(logging.CRITICAL)  # the bot logs every crash's aftermath; the verdicts are printed
    started = time.monotonic()
    deadline = started + (args.minutes or 1.0) * 60
    reached_before = faults.reached.copy()
    crashes: Counter[str] = Counter()
    failures: list[str] = []
    runs = 0
    seed = args.seed if args.seed is not None else args.first_seed
    replay = json.loads(args.replay.read_text()) if args.replay else None
    while True:
        if args.seed is None and args.crashes is None and replay is None:
            seed = random.SystemRandom().randrange(2**32)
        for provider in providers:
            runs += 1
            try:
                if replay is not None:
                    report = CrashRun(replay.get("seed", 0), provider, base=replay, replay=True,
                                      workdir=args.out).execute()
                else:
                    report = CrashRun(seed, provider, args.actions, workdir=args.out).execute()
            except Violation as err:
                failures.append(str(err))
                print(f"FAIL {err}", flush=True)
                continue
            crashes.update(report.crashes)
            print(f"ok   {'replay' if replay else f'seed {seed}'} on {provider}: {sum(report.crashes.values())} "
                  f"crashes, {report.transfers} transfers, {report.payments} payments, {report.seconds:.1f} s",
                  flush=True)
        if args.seed is not None or replay is not None:
            break
        if args.crashes is not None:
            if sum(crashes.values()) >= args.crashes and all(crashes[p] >= args.each_point for p in faults.POINTS):
                break
            seed += 1
        elif time.monotonic() >= deadline:
            break
    totals = {"providers": list(providers), "runs": runs, "failures": failures, "seeds": [args.first_seed, seed],
              "crashes": {p: crashes[p] for p in faults.POINTS},
              "reached": {p: (faults.reached - reached_before)[p] for p in faults.POINTS},
              "seconds": round(time.monotonic() - started, 1)}
    print(f"{runs} runs, {len(failures)} failed, {sum(crashes.values())} crashes in {totals['seconds']} s; "
          f"per point: {totals['crashes']}", flush=True)
    if args.json:
        print(json.dumps(totals), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
