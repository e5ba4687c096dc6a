"""Seeded crash exploration in process: the real worker, killed at named points, on a virtual clock.

A run is a list of the people's moves (see `CrashRun.perform`): post a send or
a request, edit it, repost it, answer a confirmation with yes or no (with the
code, without, or with an old one), claim held money, approve a payment on
the page a DM sent them to (the bank's 3DS, Mangopay's SCA) or let it lapse,
DM STOP, START or a PRIVACY setting, rename themselves (to a new handle or to
one someone else gave up), chat with the bot so that others' DMs are read
later, let time pass, or do several of these before the bot looks (a yes ahead
of the command it could be taken for, a yes and an edit in one poll, a bare
yes from anyone). Given moves also play the orders where consent is at stake:
an answer between a post and its confirmation (which X may refuse once, so it
goes out late), a bare answer after one's send lapsed while a request waits,
a bare answer and then the bot's menu of codes followed word for word, an edit
(to a new amount, into help, chatter, an unreadable command or the other kind
of command) after X refused the confirmation once, edits and answers while the
operator has paused payments, X refusing DM sends or posts (5xx, 429), and
STOP or PRIVACY past the hourly allowance of answers before a command names
that person. Meanwhile the bot is made to die at the Nth passage of a named
fault point
(bot/faults.py) again and again. Each death drops every in-memory object and
builds the bot anew on the same database and simulators: `paybot simulate`'s
crash mode. A seed draws the moves (`python -m tests.support.crashmode --seed N`, from
the seed and the bot's own progress, never a clock); tests/e2e/test_model.py has
hypothesis draw them. Every move is a scenario step, so the generated scenario
replays through `paybot simulate`, and through `python -m tests.support.crashmode
--replay FILE`, which checks the invariants as well.

It runs on the sandbox, on Stripe and on Mangopay (`--provider`), each adapter
against its emulator, whose records are the provider's truth (`_payments`).
With `--timeline mastodon` the people are on the Mastodon simulator, through
the Mastodon adapter, and X's record below is the simulator's statuses in X's
shapes (tests/support/mastodon_record.py); nobody renames themselves there (Mastodon's
usernames do not change), and an edit made over an hour after its command is
out of the bot's reach (Mastodon notifies nobody of an edit). On
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
  of a send; the public reply, or the DM, of a request), within the time
  that confirmation gave, and before the bot first told of the payment;
- current version: that yes was sent before any newer version (an edit,
  whatever it says) of the command post than the one the confirmation showed;
- informed bare yes: a transfer paid on a bare yes (no "yes CODE" for it) was
  the only confirmation its payer could mean: the newest confirmation they had
  received before that yes (of those not answered with their code, and not
  replaced by a newer confirmation of the same command) is this transfer's,
  and no other confirmation of theirs lapsed unanswered (its time to answer,
  from when X got it, ran out with no answer from them, its command unedited)
  between this transfer's confirmation and the yes;
- intent: nobody paid what they meant no to (the runner remembers: a "no
  CODE", or the refusal of someone who followed the bot's menu word for word);
- no payer confirmed more than the daily cap in any 24 hours;
- no message went out more often than the store queued it, and none was lost;
- every public reply fits X's weighted 280 characters, has no link and no new
  line, and (while `CHECK_STOP_MENTIONS` is on) @-mentions nobody whose last
  STOP or START DM sent before it was STOP, unless it answers a post they made
  after that STOP; and shows the amount of no payer whose last PRIVACY DM
  sent before it said quiet or private (but an outcome written as of a yes
  sent before that DM: a known gap, see docs/consent.md);
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
from typing import Any, cast

from sqlmodel import col, select

from bot import faults
from bot.domain.entities import Outbox, ProcessedTweet, Transfer
from bot.mastodon.client import port_id, status_of
from bot.messages import CATALOG, fits, without_links
from bot.repo.sql import SqlStore
from bot.sims.mangopay import MangopaySim
from bot.sims.runner import Run
from bot.sims.stripe import StripeSim
from bot.sims.x import XSim
from tests.support.mastodon_record import MastodonRecord

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
ASKS_FOR = re.compile(r" asks you for \$(\d+)\.(\d\d)")  # a request's public reply: the amount
SHOWN = re.compile(r"(Send|Pay) \$(\d+)\.(\d\d) to @")  # a confirmation's DM: what it asks to pay
MENU = re.compile(r"^You have \d+ payments waiting\. Reply ")
OPTION = re.compile(r"\b(YES|NO) ([A-Z0-9]{4}) for \$(\d+)\.(\d\d) to ")
# X's routes a "fault" move strikes: the bot's DM sends, its posts (replies).
ROUTE = {
    "dm": "POST /2/dm_conversations/with/:participant_id/messages",
    "reply": "POST /2/tweets",
    "read": "GET /2/dm_events",
}
ANSWER = re.compile(r"(YES|NO)(?: ([A-Z0-9]{4}))?")  # a DM answering a confirmation, upper-cased
PRIVACY = re.compile(r"privacy (public|private|quiet)")  # a DM choosing a privacy setting, lower-cased
AMOUNT = re.compile(r"\$\d")
# What an edit may turn a command into, besides a new amount: help, chatter, a command that does not parse.
EDITS = {"help": "@paybot help", "chatter": "@paybot thanks, you are the best", "junk": "@paybot send lots to @{to}"}

Move = dict[str, Any]  # one move of the people, as JSON: {"do": "post", "by": "c0", ...} (see CrashRun.perform)


def _template(text: str) -> str:
    """A regular expression matching what the bot says from a message template, whatever fills it."""
    return ".*?".join(re.escape(part) for part in re.split(r"\{\w+\}", text))


# The DMs sending a payer to approve their payment on a page (the bank's 3DS, Mangopay's SCA), in either language.
APPROVAL = re.compile(
    "|".join(
        f"(?:{_template(text)})"
        for key, texts in CATALOG.items()
        if key.startswith("needs_auth.link")
        for text in texts
    ),
    re.DOTALL,
)


# A confirmation that asks for a bare answer ("Reply YES to confirm"), in either language.
BARE = re.compile("|".join(_template(text) for text in CATALOG["confirm.ask"]), re.DOTALL)
# Public replies whose amount is nobody's payment: the smallest and largest amounts the bot takes.
GENERIC = re.compile("|".join(_template(text) for key in ("limit.min", "limit.max") for text in CATALOG[key]))


class Violation(AssertionError):
    """An invariant broke; the message says how to replay it."""


def scenario_base(
    seed: int,
    page: int | None = None,
    settings: dict[str, Any] | None = None,
    people: list[str] | None = None,
    provider: str = "sandbox",
) -> dict[str, Any]:
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
    base = {
        "paybot_claim_window": "30m",
        "paybot_request_ttl": "30m",
        "paybot_daily_max": "100000",
        "paybot_sends_per_hour": 1000,
        "paybot_pending_sends": 100,
        "paybot_pending_sends_no_card": 100,
        "paybot_dm_page_size": page,
    }
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
        state = (
            "refunded"
            if pi["id"] in refunded
            else "paid"
            if pi["transfer_data"]
            else "released"
            if pi["latest_charge"] in released
            else "held"
        )
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
        back = [
            r for r in refunds if r["InitialTransactionType"] == "PAYIN" and r["InitialTransactionId"] == payin["Id"]
        ]
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
    timeline: str = "x"  # or "mastodon": the people on the Mastodon simulator, judged from its record
    rng: random.Random = field(init=False)
    scenario: dict[str, Any] = field(init=False)
    run: Run = field(init=False)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # alias -> by, to, amount, kind
    answered: dict[tuple[str, str], str] = field(default_factory=dict)  # (confirmation id, asked) -> yes/no
    # What each person meant by their first answer with a code to a confirmation (read from the steps, so a
    # replay knows it too): (payer id, the amount it showed them) -> ("yes" / "no", their DM's text, the X id
    # from which on it was sent). A DM step's "means" says what they meant, when its words say otherwise.
    intent: dict[tuple[str, int], tuple[str, str, int]] = field(default_factory=dict)
    meant: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # payer id -> their last bare answer
    pauses: list[tuple[int, int]] = field(default_factory=list)  # X ids from a pause to its resume
    paused_since: int | None = None  # the X id at a pause not resumed yet
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
        self.scenario = (
            json.loads(json.dumps(self.base)) if self.base else scenario_base(self.seed, provider=self.provider)
        )
        self.scenario["steps"] = []

    # ---------------------------------------------------------------- driving

    def execute(self) -> Report:
        """Generate and run the whole scenario, then check the invariants (raises Violation)."""
        started = time.monotonic()
        faults.disarm()
        with tempfile.TemporaryDirectory(prefix="paybot-crash-", dir=self.tmp_root) as tmp:
            self.run = Run(self.scenario, Path(tmp), provider=self.provider, timeline=self.timeline)
            if self.timeline == "mastodon":  # its record in X's shapes, which the invariants read
                self.run.sim = MastodonRecord(self.run.sim)  # type: ignore[arg-type,assignment]
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
        assert isinstance(sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
        rename = sim.rename

        def noted(handle: str, new: str) -> None:
            uid = sim.user_id(handle)
            rename(handle, new)
            self.renames.append((sim.next_post, uid, handle, new))

        sim.rename = noted  # type: ignore[method-assign]

    def _step(self, step: dict[str, Any]) -> None:
        self.scenario["steps"].append(step)
        for inner in step.get("together", [step]):
            self._note_intent(inner)
        assert isinstance(self.run.sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
        if "pause" in step or "resume" in step:  # posts between a pause and its resume meet "maintenance"
            if "pause" in step and self.paused_since is None:
                self.paused_since = self.run.sim.next_post
            elif "resume" in step and self.paused_since is not None:
                self.pauses.append((self.paused_since, self.run.sim.next_post))
                self.paused_since = None
        self.run.step(step)

    def _note_intent(self, step: dict[str, Any]) -> None:
        """Remember what someone means by a DM answering a confirmation with its code (its words, or the step's
        "means"), the first time they answer it."""
        said = ANSWER.fullmatch(step["dm"].strip().upper()) if "dm" in step else None
        if said is None or not said.group(2):
            return
        try:
            uid = self.run.sim.user_id(step["by"])
        except KeyError:  # a handle someone takes in the same "together", before this DM
            return
        shown = [a["amount"] for a in self._asks() if a["to"] == uid and a["code"] == said.group(2)]
        if shown:
            assert isinstance(self.run.sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
            self.intent.setdefault(
                (uid, shown[-1]), (step.get("means", said.group(1).lower()), step["dm"], self.run.sim.next_post)
            )

    def perform(self, move: Move) -> None:
        """Play one move, given as JSON; `person` below is someone's first handle (PEOPLE, NOISE):

        {"do": "post", "by": person, "kind": "send"|"request", "to": person, "dollars": 1, "then": "yes"}
            ("then": once the bot has looked, its payer answers "yes" or "no" with the newest code they were
            given, or "claim": yes, then a claim move, or "approve": yes, then their approve move; absent or
            "later": nobody answers yet. Inside
            "together", nobody answers)
        {"do": "edit", "post": i, "dollars": 20, "into": "amount"} (the i-th post, modulo their number, -1 the
            newest: a new amount; or "into" "help", "chatter", "junk" (a command that does not parse), "flip"
            (a send made a request of the same person, or back))
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
        {"do": "fault", "route": "dm"|"reply", "status": 503, "times": 1} (X answers the next `times` DM sends,
            or posts, with that status: what the bot sends then goes out late, after a retry)
        {"do": "blind", "by": person, "kind": "send", "to": person, "dollars": 1, "yes": true, "delay": false}
            (the command, and its payer's bare answer before the bot looks: sent between the post and its
            confirmation; "delay": X refuses the confirmation's first send, so it goes out 20 s later)
        {"do": "late", "by": person, "to": person, "second": "send", "from": person, "gap": 2, "dollars": 1,
            "yes": true, "tight": false} (their send to `to`; `gap` minutes later another send of theirs, or
            ("second": "request") `from`'s request from them; 11 minutes after the first they answer bare:
            after their first send lapsed, while the second waits; "tight": in the same breath as the time
            passing, before the bot could expire anything)
        {"do": "menu", "by": person, "posts": 2, "to": person, "dollars": 1, "yes": false, "edit": null}
            (they send to `to` that many times first; then they answer bare, meaning the newest confirmation
            they have not answered (with "edit": 20, in the same breath they edit their newest post to $20);
            if the bot answers with a menu of codes, they reply with the exact words of the option for what they
            meant (else the first option), keeping their intent)
        {"do": "overtake", "by": person, "to": person, "second": "send"|"request", "from": person, "dollars": 1,
            "yes": true, "edit": 20, "into": "amount"} (their send, asked; a second send of theirs or `from`'s
            request from them, asked; then their bare answer and the second's edit (as in "edit") in one breath)
        {"do": "hasty", "by": person, "to": person, "dollars": 1, "second": 20, "yes": true, "late": "read"}
            (their send, asked; then in one breath a new send of theirs and their bare answer, which the bot reads
            late: X fails its DM readings ("read"), or an edit of the new post into chatter follows ("edit"))
        {"do": "revise", "by": person, "kind": "send", "to": person, "dollars": 1, "into": "amount", "edit": 20,
            "fault": null|"dm"|"reply", "status": 503, "wait": "1m", "yes": true}
            (X refuses the next send on that route, if any; the command; its edit, into a new amount or as
            "into" says; time passes; its payer's bare answer)
        {"do": "paused", "first": move or null, "moves": [...]} (the first move, then the operator pauses
            payments, the moves, the operator resumes)
        {"do": "pause"} / {"do": "resume"} (the operator; a run still paused at its end is resumed)
        {"do": "flood", "by": person, "n": 10, "say": "STOP", "together": true, "from": person, "kind": "request",
            "dollars": 1} (they DM HELP n times, past the bot's hourly allowance of answers, then say that, in
            one go or after; then `from` posts a request from them, or a send to them ("send", its sender
            confirming), or they pay `from` themselves ("own", confirming))
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
        elif do in ("pause", "resume"):
            self._step({do: True})
        elif do in ("blind", "late", "menu", "overtake", "hasty", "revise", "paused", "flood"):
            getattr(self, f"_{do}")(move)
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

    def _make(self, move: Move) -> list[dict[str, Any]]:  # noqa: C901
        """The scenario steps of one of the people's moves (none when it has nothing to act on)."""
        do = move["do"]
        if do == "together":
            return [step for inner in move["moves"] for step in self._make(inner)]
        if do == "post":
            return [self._post_step(move["by"], move.get("kind", "send"), move["to"], move.get("dollars", 1))]
        if do == "edit":
            return (
                [
                    self._edit_step(
                        list(self.posts)[move["post"] % len(self.posts)],
                        move.get("dollars", 1),
                        move.get("into", "amount"),
                    )
                ]
                if self.posts
                else []
            )
        if do == "repost":
            return (
                [{"retweet": list(self.posts)[move["post"] % len(self.posts)], "by": self.handles[move["by"]]}]
                if self.posts
                else []
            )
        if do == "answer":
            return [self._answer_step(move["by"], move.get("yes", True), move.get("code", "latest"))]
        if do == "dm":
            return [{"dm": move["text"], "by": self.handles[move["by"]]}]
        if do == "approve":
            return [{"approve": self.handles[move["by"]]}]
        if do == "chatter":
            return [{"dm": "help", "by": NOISE}] * move["n"]
        if do == "claim":
            held = [
                m
                for m in self.run.sim.bot_messages()
                if m["type"] == "reply" and "held for you" in m["text"] and m["id"] not in self.claimed
            ]
            self.claimed.update(m["id"] for m in held)
            told = dict.fromkeys(
                u["id"]
                for m in held
                for u in self.run.sim.posts[m["id"]]["entities"]["mentions"]
                if f"@{u['username']}, it's held for you" in m["text"]
            )
            return [{"dm": "claim", "by": self.run.sim.handle(uid)} for uid in told]
        if do == "rename":
            return [self._rename_step(move["who"], move.get("take"))]
        if do == "wait":
            return [{"wait": move["for"]}]
        if do == "fault":
            return [self._fault_step(move["route"], move.get("status", 503), move.get("times", 1))]
        if do == "meanwhile":
            return [
                {"dm": move["text"], "by": self.handles[move["by"]]},
                self._post_step(move["from"], move.get("kind", "request"), move["by"], move.get("dollars", 1)),
            ]
        if do == "ambush":
            by = move["by"]
            theirs = [alias for alias, post in self.posts.items() if post["by"] == by]
            change = (
                self._edit_step(theirs[-1], move.get("dollars", 1))
                if move.get("edit") and theirs
                else self._post_step(by, "send", move["to"], move.get("dollars", 1))
            )
            return [{"dm": "yes", "by": self.handles[by]}, change, *[{"dm": "help", "by": NOISE}] * move["chatter"]]
        raise ValueError(f"unknown move: {move}")

    @staticmethod
    def _fault_step(route: str, status: int, times: int) -> dict[str, Any]:
        """X answers the next `times` DM sends ("dm") or posts ("reply") with `status` (5xx or 429)."""
        return {"x_fault": ROUTE[route], "status": status, "times": times}

    def _bare(self, person: str, yes: bool) -> dict[str, Any]:
        """A bare yes or no from `person`: they mean the newest confirmation they have not answered with its code
        (remembered, for a menu the bot may answer with)."""
        uid = self._uid(person)
        word = "yes" if yes else "no"
        mine = [a for a in self._asks() if a["to"] == uid and (uid, a["amount"]) not in self.intent]
        self.meant[uid] = (word, mine[-1]["amount"] if mine else None)
        return {"dm": word, "by": self.run.sim.handle(uid)}

    def _blind(self, move: Move) -> None:
        """The command, and its payer's bare answer before the bot looks (between the post and its
        confirmation); with "delay", X refuses the confirmation's first send, which goes out 20 s later."""
        kind = move.get("kind", "send")
        payer = move["by"] if kind == "send" else move["to"]
        if move.get("delay"):
            self._step(self._fault_step("dm" if kind == "send" else "reply", move.get("status", 503), 1))
        post = self._post_step(move["by"], kind, move["to"], move.get("dollars", 1))
        word = "yes" if move.get("yes", True) else "no"  # answered "too early": no intent kept
        self._step({"together": [post, {"dm": word, "by": self.handles[payer]}]})
        if move.get("delay"):
            self._step({"wait": "20s"})

    def _late(self, move: Move) -> None:
        """Their send, asked; `gap` minutes later a second command waiting for them, asked: another send of
        theirs ("second": "send") or `from`'s request from them; 11 minutes after the first, a bare answer:
        their first send lapsed unanswered while the second waits, so the answer may be meant for the first."""
        payer, whole, gap = move["by"], move.get("dollars", 1), move.get("gap", 2)
        self._step(self._post_step(payer, "send", move["to"], whole))
        if gap:
            self._step({"wait": f"{gap}m"})
        self._step(
            self._post_step(payer, "send", move["to"], whole)
            if move.get("second", "send") == "send"
            else self._post_step(move["from"], "request", payer, whole)
        )
        answer = self._bare(payer, move.get("yes", True))
        if move.get("tight"):  # the answer right after the deadline, before the bot could expire anything
            self._step({"together": [{"wait": f"{11 - gap}m"}, answer]})
        else:
            self._step({"wait": f"{11 - gap}m"})
            self._step(answer)

    def _menu(self, move: Move) -> None:
        """A bare answer from someone (after new sends of theirs, if "posts"); if the bot answers with a menu
        of codes, they reply with the exact words of the option for what they meant (the newest confirmation
        they had not answered), else of the first option: following the menu literally, their intent kept."""
        payer = move["by"]
        uid = self._uid(payer)
        for _ in range(move.get("posts", 0)):
            self._step(self._post_step(payer, "send", move["to"], move.get("dollars", 1)))
        before = len(self.run.sim.bot_messages())
        theirs = [alias for alias, post in self.posts.items() if post["by"] == payer]
        if move.get("edit") and theirs:
            # In the same breath as the answer (X has both before the bot reads either), they edit their newest
            # post: the answer was given with that payment in view.
            self._step(
                {"together": [self._bare(payer, move.get("yes", False)), self._edit_step(theirs[-1], move["edit"])]}
            )
        else:
            self._step(self._bare(payer, move.get("yes", False)))
        menus = [
            m
            for m in self.run.sim.bot_messages()[before:]
            if m["type"] == "dm" and m["to_id"] == uid and MENU.search(m["text"])
        ]
        if not menus:
            return
        options = [
            (word, code, int(whole) * 100 + int(cents))
            for word, code, whole, cents in OPTION.findall(menus[-1]["text"])
        ]
        if not options:
            return
        meant_word, meant_amount = self.meant[uid]
        word, code, _ = next((o for o in options if o[2] == meant_amount), options[0])
        # What they mean, whatever words the menu gave them
        self._step({"dm": f"{word} {code}", "by": self.run.sim.handle(uid), "means": meant_word})

    def _overtake(self, move: Move) -> None:
        """Their send, asked; then a second command waiting for them, asked (another send of theirs, or `from`'s
        request from them); then, in the same breath (X has both before the bot reads either), their bare answer
        and an edit of the second command by its author: the answer was given with both in view."""
        payer, whole = move["by"], move.get("dollars", 1)
        self._step(self._post_step(payer, "send", move["to"], whole))
        second = (
            self._post_step(payer, "send", move["to"], whole)
            if move.get("second", "send") == "send"
            else self._post_step(move["from"], "request", payer, whole)
        )
        self._step(second)
        self._step(
            {
                "together": [
                    self._bare(payer, move.get("yes", True)),
                    self._edit_step(second["id"], move.get("edit", 20), move.get("into", "amount")),
                ]
            }
        )

    def _hasty(self, move: Move) -> None:
        """Their send, asked; then, in one breath, a new send of theirs and their bare answer (meant for it); the
        bot reads the answer late: X fails its DM readings a while ("late": "read", so the new confirmation goes
        out first), or an edit of the new post into chatter follows ("late": "edit", read before the answer)."""
        payer, whole = move["by"], move.get("dollars", 1)
        self._step(self._post_step(payer, "send", move["to"], whole))
        late = move.get("late", "read")
        steps = [self._fault_step("read", 503, 5)] if late == "read" else []
        post = self._post_step(payer, "send", move["to"], move.get("second", 20))
        steps += [post, {"wait": "2s"}, {"dm": "yes" if move.get("yes", True) else "no", "by": self.handles[payer]}]
        if late == "edit":
            steps += [{"wait": "2s"}, self._edit_step(post["id"], 1, "chatter")]
        self._step({"together": steps})

    def _revise(self, move: Move) -> None:
        """X refuses the next send on a route (if "fault"); the command; its edit; time passes; a bare answer
        from its payer (who has seen whatever confirmations reached them)."""
        kind = move.get("kind", "send")
        payer = move["by"] if kind == "send" else move["to"]
        if move.get("fault"):
            self._step(self._fault_step(move["fault"], move.get("status", 503), move.get("times", 1)))
        post = self._post_step(move["by"], kind, move["to"], move.get("dollars", 1))
        self._step(post)
        self._step(self._edit_step(post["id"], move.get("edit", 1), move.get("into", "amount")))
        if move.get("wait"):
            self._step({"wait": move["wait"]})
        self._step(self._bare(payer, move.get("yes", True)))

    def _paused(self, move: Move) -> None:
        """A first move (if any) before the operator pauses payments, the people's moves, the operator
        resumes."""
        if move.get("first"):
            self.perform(move["first"])
        self._step({"pause": True})
        for inner in move["moves"]:
            self.perform(inner)
        self._step({"resume": True})

    def _flood(self, move: Move) -> None:
        """Someone DMs HELP past the hourly allowance of answers, then STOP or a PRIVACY setting (with the HELPs
        or after them); then a command names them: `from`'s request from them, `from`'s send to them (its
        sender confirming), or their own send to `from` ("own", confirming)."""
        person, other, kind = move["by"], move["from"], move.get("kind", "request")
        helps = [{"dm": "help", "by": self.handles[person]}] * move.get("n", 10)
        saying = {"dm": move["say"], "by": self.handles[person]}
        if move.get("together", True):
            self._step({"together": [*helps, saying]})
        else:
            self._step({"together": helps})
            self._step(saying)
        if kind == "own":
            self._step(self._post_step(person, "send", other, move.get("dollars", 1)))
            self._step(self._answer_step(person, True, "latest"))
        elif kind == "send":
            self._step(self._post_step(other, "send", person, move.get("dollars", 1)))
            self._step(self._answer_step(other, True, "latest"))
        else:
            self._step(self._post_step(other, "request", person, move.get("dollars", 1)))

    def _act(self) -> None:  # noqa: C901
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
        elif roll < 0.98:
            kind = "consent"
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
        elif kind == "consent":
            self.perform(self._consent_move())
        else:
            self._step({"wait": self.rng.choice(WAITS)})
        self.times[label] += 1
        self.met[label].update(faults.reached - before)
        self.struck = Counter(c["point"] for c in self.run.crashes)

    def _consent_move(self) -> Move:
        """One of the orders where consent is at stake (see `perform`), drawn from the seed: an answer between a
        post and its confirmation, a bare answer after a lapse, a menu followed word for word, an edit after X
        refused a confirmation, edits and an answer while paused, STOP or PRIVACY past the allowance."""
        pick, rng = self.rng.choice, self.rng
        sender, other = pick(SENDERS), pick([*PAID, CLAIMER])
        answer = rng.random() < 0.8
        kind = pick(("blind", "late", "menu", "revise", "paused", "flood"))
        if kind == "blind":
            return {
                "do": "blind",
                "by": sender,
                "kind": "send",
                "to": other,
                "yes": answer,
                "delay": rng.random() < 0.5,
            }
        if kind == "late":
            return {
                "do": "late",
                "by": sender,
                "to": other,
                "second": pick(("send", "request")),
                "from": pick(PAID),
                "gap": pick((2, 5)),
                "yes": answer,
                "tight": rng.random() < 0.5,
            }
        if kind == "menu":
            return {
                "do": "menu",
                "by": sender,
                "posts": pick((1, 2)),
                "to": other,
                "yes": not answer,
                "edit": pick((None, 20)),
            }
        if kind == "revise":
            return {
                "do": "revise",
                "by": sender,
                "kind": "send",
                "to": other,
                "fault": pick(("dm", None)),
                "status": pick((503, 429)),
                "into": pick(("amount", "amount", *EDITS, "flip")),
                "wait": pick(("1m", None)),
                "yes": answer,
            }
        if kind == "paused":
            edit = {"do": "edit", "post": -1, "into": pick(("amount", *EDITS))}
            return {
                "do": "paused",
                "first": {"do": "post", "by": sender, "kind": "send", "to": other},
                "moves": [edit, {"do": "answer", "by": sender, "yes": answer, "code": pick(("latest", "none"))}],
            }
        return {
            "do": "flood",
            "by": pick([*SENDERS, CLAIMER]),
            "n": pick((9, 10, 12)),
            "say": pick(SAYINGS[:4]),
            "together": rng.random() < 0.5,
            "from": pick(PAID),
            "kind": "request",
        }

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

    def _edit_step(self, alias: str, whole: int, into: str = "amount") -> dict[str, Any]:
        """Its author edits a command, answered or not (an answered one must not change): a new amount, or
        (`into`) help, chatter, a command that does not parse, or the other kind of command (a send made a
        request from the same person, or back)."""
        post = self.posts[alias]
        if into in EDITS:
            return {"edit": alias, "text": EDITS[into].format(to=self.handles[post["to"]])}
        if into == "flip":
            post["kind"] = "request" if post["kind"] == "send" else "send"
        post["amount"] = self._amount(whole)
        return {"edit": alias, "text": self._command(post)}

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
        elif roll < 0.75 and self.timeline == "x":  # Mastodon's usernames do not change (a move is a new account)
            self.perform({"do": "rename", "who": person, "take": self.rng.choice([None, *PEOPLE])})
        elif self.posts:
            self.perform({"do": "repost", "by": person, "post": self.rng.randrange(len(self.posts))})
        else:
            self._step({"wait": self.rng.choice(WAITS)})

    def _answer(self, ask: dict[str, Any]) -> None:
        answer = "no" if self.rng.random() < 0.15 else "yes"
        self.answered[(ask["id"], ask["to"])] = answer
        self._step({"dm": f"{answer} {ask['code']}", "by": self.run.sim.handle(ask["to"])})

    def _approvals(self) -> list[dict[str, Any]]:
        """The bot's DMs sending someone to approve a payment on a page (their bank's 3DS, Mangopay's SCA)
        that they have not acted on."""
        return [
            m
            for m in self.run.sim.bot_messages()
            if m["type"] == "dm" and APPROVAL.fullmatch(m["text"]) and m["id"] not in self.approved
        ]

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
        with cast(SqlStore, self.run.bot.service.uow)() as s:
            return s.exec(select(Transfer.id).where(Transfer.status == "held").limit(1)).first() is not None

    def _claimable(self) -> list[dict[str, Any]]:
        """The public replies telling the claimer money is held for them that they have not acted on."""
        claimer = self._uid(CLAIMER)
        return [
            m
            for m in self.run.sim.bot_messages()
            if m["type"] == "reply"
            and "held for you" in m["text"]
            and claimer in self._mentioned(m["id"])
            and m["id"] not in self.claimed
        ]

    def _claim(self) -> None:
        held = self._claimable()
        if held:
            self.claimed.update(m["id"] for m in held)
            self._step({"dm": "claim", "by": self.handles[CLAIMER]})
        else:
            self._step({"wait": self.rng.choice(WAITS)})

    def _finish(self) -> None:
        """No more crashes: the last claim, then time enough for every window to close (after given moves,
        one wait through every deadline: claims are among the moves; then, while the bot still has messages
        to send, time for X's refusals and pauses to pass). A run still paused is resumed first."""
        if faults.armed() is not None:
            self._step({"disarm": True})
        if self.paused_since is not None:
            self._step({"resume": True})
        if self.moves is not None:
            if self.run.bot.service.next_due() is not None or self._outbox_waits():
                self._step({"wait": "5h"})
            for _ in range(6):  # what X refused (a fault, a rate limit's pause of 15 minutes) goes out later
                if not self._outbox_waits() and self.run.bot.service.next_due() is None:
                    break
                self._step({"wait": "20m"})
            return
        self._claim()
        for wait in ("11m", "2h", "2h"):
            self._step({"wait": wait})

    def _outbox_waits(self) -> bool:
        """Whether the bot has messages still to send (a retry after X refused one, a rate limit's pause)."""
        with cast(SqlStore, self.run.bot.service.uow)() as s:
            return (
                s.exec(select(Outbox.id).where(col(Outbox.status).in_(("queued", "sending"))).limit(1)).first()
                is not None
            )

    def _asks(self) -> list[dict[str, Any]]:
        """Every confirmation the bot sent, from X's record, oldest first: its id, whom it asked, the code,
        the amount it showed (in minor units), what kind of command it asks about, when X got it, and whether it
        asks for a bare answer ("Reply YES to confirm", not "YES CODE").
        A send's DM to its sender; a request's public reply to each payer it names, or its DM."""
        sim = self.run.sim
        assert isinstance(sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
        out: list[dict[str, Any]] = []
        sent = {e["id"]: e for e in sim.dms if e["sender_id"] == sim.bot_id}
        for m in sim.bot_messages():
            if m["type"] == "dm":
                code, shown = CODE.search(m["text"]), SHOWN.match(m["text"])
                if code and shown:
                    out.append(
                        {
                            "id": m["id"],
                            "to": m["to_id"],
                            "code": code.group(1),
                            "at": _at(sent[m["id"]]),
                            "amount": int(shown.group(2)) * 100 + int(shown.group(3)),
                            "kind": "send" if shown.group(1) == "Send" else "request",
                            "bare": bool(BARE.search(m["text"])),
                        }
                    )
            elif ASKS in m["text"]:
                ids = {u["username"].lower(): u["id"] for u in sim.posts[m["id"]]["entities"].get("mentions", [])}
                pairs = re.findall(r"YES ([A-Z0-9]{4}) \(@(\w+)\)", m["text"])
                single = re.search(r"YES ([A-Z0-9]{4})", m["text"])
                payers = re.findall(r"@(\w+)", m["text"].split(":", 1)[0])
                if not pairs and single and len(payers) == 1:
                    pairs = [(single.group(1), payers[0])]
                asked = ASKS_FOR.search(m["text"])
                amount = int(asked.group(1)) * 100 + int(asked.group(2)) if asked else 0
                out += [
                    {
                        "id": m["id"],
                        "to": ids[h.lower()],
                        "code": c,
                        "at": _at(sim.posts[m["id"]]),
                        "amount": amount,
                        "kind": "request",
                        "bare": False,
                    }
                    for c, h in pairs
                    if h.lower() in ids
                ]
        return out

    def _unanswered(self) -> list[dict[str, Any]]:
        return [a for a in self._asks() if (a["id"], a["to"]) not in self.answered]

    def _uid(self, person: str) -> str:
        """The X id of someone named by their first handle."""
        return self.ids[person]

    def _mentioned(self, post_id: str) -> list[str]:
        """Whom a post @-mentions, as X resolved its handles when it was posted."""
        return [u["id"] for u in self.run.sim.posts[post_id]["entities"].get("mentions", [])]

    def _holder(self, handle: str, at: int) -> str | None:
        """Who had `handle` when X's ids were at `at`."""
        assert isinstance(self.run.sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
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

    def _check(self) -> Report:  # noqa: C901
        run = self.run
        assert isinstance(run.sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
        with cast(SqlStore, run.bot.service.uow)() as s:
            transfers = list(s.exec(select(Transfer)))
            processed = set(s.exec(select(ProcessedTweet.id)))
            outbox = list(s.exec(select(Outbox)))
        payments = self._payments()
        handle = run.sim.handle
        roots = {t.root_tweet_id for t in transfers}
        commands = {run.aliases[a] for a in run.aliases}
        for alias in run.aliases:
            if run.latest[alias] not in processed and not self._edit_out_of_reach(alias):
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
            raise self._violation(
                f"{len(payments) - len(lapsed)} payments at the provider for {len(paid)} paid "
                f"transfers (and {len(lapsed)} charged, never approved and given back)"
            )
        if len({t.payment_ref for t in paid}) != len(paid):
            raise self._violation("two paid transfers name the same payment at the provider")
        for ref, charge in lapsed.items():
            given_back = next((t for t in transfers if t.payment_ref == ref), None)
            if given_back is None or given_back.status != "failed" or given_back.pay_key != charge["key"]:
                found = given_back and (given_back.id, given_back.status, given_back.pay_key)
                raise self._violation(
                    f"payment {ref} was charged, never approved and given back, but its transfer "
                    f"is {found}, not its failed transfer"
                )
            problem = self._consent_problem(given_back)
            if problem:
                raise self._violation(f"transfer {given_back.id}, charged and given back, {problem}")
        for t in transfers:
            story = (
                f"transfer {t.id} ({t.kind}, {t.status}, {dollars(t.amount_minor)} from "
                f"@{handle(t.sender_id)} to @{handle(t.recipient_id)})"
            )
            if t.status not in ENDED:
                raise self._violation(f"{story} never ended")
            if t.status not in PAID_STATES:
                continue
            problem = self._consent_problem(t)
            if problem:
                raise self._violation(f"{story} {problem}")
            pay = payments.get(t.payment_ref or "")
            if pay is None or pay["amount_minor"] != t.amount_minor:
                raise self._violation(f"{story} has no payment of that amount at the provider: {pay}")
            agree = (
                {"completed": {"paid", "released"}, "returned": {"refunded"}}[t.status]
                if t.status != "held"
                else {"held"}
            )
            if pay["state"] not in agree:
                raise self._violation(f"{story} is {pay['state']} at the provider")
            if pay["state"] == "released" and t.recipient_id not in claimants:
                raise self._violation(f"{story} was released to someone who never claimed")
        self._check_cap(paid)
        # A sent DM keeps no link in the store (`<link>`): X's copies are compared the same way.
        queued = Counter((o.kind, o.to_user_id or self._under(o.in_reply_to), without_links(o.text)) for o in outbox)
        stuck = [o.id for o in outbox if o.status in ("queued", "sending")]
        if stuck:
            raise self._violation(f"outbox messages {stuck} were never sent")
        went = Counter(
            ("dm" if m["type"] == "dm" else "reply", m.get("to_id") or m["in_reply_to"], without_links(m["text"]))
            for m in run.sim.bot_messages()
        )
        twice = [k for k, n in went.items() if n > queued[k]]
        if twice:
            raise self._violation(f"sent more often than queued: {twice[:3]}")
        # X refuses a post whose text the bot already posted (a duplicate-content 403, counted as sent),
        # even in reply to another post: such a reply went out once, elsewhere.
        posted = {m["text"] for m in run.sim.bot_messages() if m["type"] != "dm"}
        lost = [
            o.id
            for o in outbox
            if o.status == "sent"
            and not went[(o.kind, o.to_user_id or self._under(o.in_reply_to), without_links(o.text))]
            and not (o.kind == "reply" and o.text in posted)
        ]
        if lost:
            raise self._violation(f"outbox messages {lost} are marked sent but never reached X")
        for m in run.sim.bot_messages():  # the bot's public voice is its own
            if m["type"] != "dm" and (not fits(m["text"]) or "http" in m["text"] or "\n" in m["text"]):
                raise self._violation(f"a public reply breaks the rules (length, link or new line): {m['text']!r}")
        if CHECK_STOP_MENTIONS:
            self._check_stop_mentions()
        self._check_privacy()
        if run.sim.violations:
            raise self._violation(f"{run.sim.violations} requests to X over its rate limits")
        return Report(
            self.seed,
            self.provider,
            len(self.scenario["steps"]),
            Counter(c["point"] for c in run.crashes),
            len(transfers),
            len(payments),
        )

    def _under(self, post_id: str | None) -> str | None:
        """Where a reply to this post (version) goes in the timeline's record: under that version on X; on
        Mastodon, where a status keeps its id through its edits, under the status (its first version's id)."""
        return post_id if post_id is None or self.timeline == "x" else port_id(status_of(post_id))

    def _edit_out_of_reach(self, alias: str) -> bool:
        """On Mastodon, whether the newest version of this command is an edit made longer after the status than
        the adapter's edit horizon (an hour): Mastodon notifies nobody of an edit, so the bot finds edits among
        the mentions of the last hour only (docs/using-mastodon.md). By then the command was answered or lapsed
        (its time to answer is shorter), and an edit changes nothing (X allows edits within an hour only)."""
        if self.timeline == "x":
            return False
        posts, horizon = self.run.sim.posts, self.run.bot.worker.timeline.edit_horizon  # type: ignore[attr-defined]
        return bool(_at(posts[self.run.latest[alias]]) - _at(posts[self.run.aliases[alias]]) > horizon)

    def _said(self) -> dict[str, list[tuple[int, bool]]]:
        """Each person's STOP (True) and START (False) DMs to the bot, as (X id, stopped), oldest first."""
        sim = self.run.sim
        assert isinstance(sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
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
        if any(start <= int(post["id"]) < end for start, end in self._paused_ids()):
            return False  # paused: new commands get the maintenance answer
        shape, named = self._shape(post)
        if (
            shape is None
            or len(named) != 1
            or named[0] == post["author_id"]
            or any(stopped for _, stopped in self._said().get(named[0], []))
        ):
            return False
        if shape.group(1) == "request":
            to_payer = from_author = 0
            for root in self.run.aliases.values():
                earlier, payers = self._shape(sim.posts[root])
                if int(root) < int(post["id"]) and earlier is not None and earlier.group(1) == "request":
                    to_payer += named[0] in payers
                    from_author += sim.posts[root]["author_id"] == post["author_id"]
            return to_payer < getattr(policy, "requests_per_payer_day", to_payer + 1) and from_author < getattr(
                policy, "requests_per_hour", from_author + 1
            )
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

    def _paused_ids(self) -> list[tuple[int, int]]:
        """The X ids from each pause to its resume (to any id, while still paused)."""
        return self.pauses + ([(self.paused_since, 2**63)] if self.paused_since is not None else [])

    def _shape(self, post: dict[str, Any]) -> tuple[re.Match[str] | None, list[str]]:
        """A command post's kind and amount (None if it is not one of the runner's), and whom it names."""
        return COMMAND.search(post["text"]), [uid for uid in self._mentioned(post["id"]) if uid != self.run.sim.bot_id]

    def _yeses(self, t: Transfer) -> list[tuple[int, datetime, dict[str, Any]]]:
        """From X's own record: each yes ("yes" or "yes CODE") the payer DMed after a confirmation that showed
        this amount, other party and code, within the time it gave to answer, and before the bot first told
        anyone of the payment (its first message with the code in brackets, confirmations aside: a yes sent
        after that did not start it), with that confirmation's id and time: (confirmation id, when X got it,
        the yes).

        A send's confirmation is a DM "Send AMOUNT to @recipient"; a request's is its public reply naming
        the payer (and the requester) with the amount and code, or, to a discreet payer, a DM "Pay AMOUNT to
        @requester". A handle counts for who had it when the command was posted or the DM sent."""
        sim = self.run.sim
        assert isinstance(sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
        ttl = self._ttl(t.kind)
        amount = dollars(t.amount_minor)
        pair = sorted((t.sender_id, sim.bot_id), key=int)
        events = [e for e in sim.dms if e["participant_ids"] == pair]
        word = "Send" if t.kind == "send" else "Pay"
        shown = re.compile(rf"{word} {re.escape(amount)} to @(\w+)\b.*\[{t.code}\]")
        asked: list[tuple[int, datetime]] = []
        for e in events:
            m = shown.match(e["text"]) if e["sender_id"] == sim.bot_id else None
            if m and t.recipient_id in (
                self._holder(m.group(1), int(e["id"])),
                self._holder(m.group(1), int(t.command_tweet_id)),
            ):
                asked.append((int(e["id"]), _at(e)))
        if t.kind == "request":
            for reply in sim.bot_messages():
                post = sim.posts[reply["id"]] if reply["type"] == "reply" else None
                if (
                    post
                    and f"{ASKS}{amount}" in post["text"]
                    and f"YES {t.code}" in post["text"]
                    and {t.sender_id, t.recipient_id} <= set(self._mentioned(post["id"]))
                    and sim.posts[reply["in_reply_to"]]["edit_history_tweet_ids"][0] == t.root_tweet_id
                ):
                    asked.append((int(post["id"]), _at(post)))
        said = [
            e
            for e in events
            if e["sender_id"] == t.sender_id and e["text"].strip().lower() in ("yes", f"yes {t.code.lower()}")
        ]
        confirmations = {i for i, _ in asked}
        told = [
            int(m["id"])
            for m in sim.bot_messages()
            if f"[{t.code}]" in m["text"]
            and int(m["id"]) not in confirmations
            and asked
            and int(m["id"]) > min(confirmations)
        ]
        before = min(told, default=None)
        return [
            (i, at, y)
            for i, at in asked
            for y in said
            if int(y["id"]) > i and _at(y) - at <= ttl and (before is None or int(y["id"]) < before)
        ]

    def _consented(self, t: Transfer) -> bool:
        """Whether the payer said yes (bare or with the code) after a confirmation that showed exactly this
        transfer, within its time to answer (`_yeses`)."""
        return bool(self._yeses(t))

    def _consent_problem(self, t: Transfer) -> str | None:
        """What is wrong with the yes that paid this transfer, judged from X's record and what the people
        meant; None when nothing is. A yes that could have paid it must have been sent
        - after a confirmation showing exactly it, within its time to answer (`_yeses`);
        - before any newer version (an edit, whatever it says) of the command post whose version that
          confirmation showed: every edit voids the version it replaces;
        - with its code, or bare while this was the only confirmation its payer could mean (`_ambiguity`);
        and the payer did not mean no to it before any such yes (a person following a menu keeps their intent).
        A transfer paid on a yes that meets none of these is a violation."""
        yeses = self._yeses(t)
        if not yeses:
            return (
                "moved money without its sender's yes, sent after a confirmation that showed exactly that, "
                "within its time to answer"
            )
        meant, text, since = self.intent.get((t.sender_id, t.amount_minor), ("yes", "", 0))
        assert isinstance(self.run.sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
        said = [
            int(e["id"])
            for e in self.run.sim.dms
            if e["sender_id"] == t.sender_id and e["text"] == text and int(e["id"]) >= since
        ]
        if meant == "no" and said and not any(int(y["id"]) < min(said) for _, _, y in yeses):
            return (
                "was paid, though its payer meant no to what it showed before any yes (they said no, or "
                "followed a menu to refuse)"
            )
        newer = self._newer_versions(t.amount_minor)
        current = [(i, at, y) for i, at, y in yeses if not any(v < int(y["id"]) for v in newer)]
        if not current:
            return (
                f"was paid on a yes sent after its command was edited (post {min(newer)}): a newer version "
                f"than the one its confirmation showed"
            )
        reasons = []
        for i, at, y in current:
            if y["text"].strip().lower() != "yes":
                return None  # with its code
            reason = self._ambiguity(t, {c for c, _, _ in yeses}, i, at, y)
            if reason is None:
                return None
            reasons.append(reason)
        return (
            f"was paid on a bare yes (DM {current[-1][2]['id']}) its payer could have meant for another "
            f"confirmation: {reasons[-1]}"
        )

    def _ambiguity(
        self, t: Transfer, shown: set[int], asked_id: int, asked_at: datetime, yes: dict[str, Any]
    ) -> str | None:
        """Why a bare yes could have been meant for another confirmation than this transfer's (`shown`, the ids
        of the confirmations showing exactly it; `asked_id`, `asked_at` the one the yes follows), or None.
        The confirmations a bare answer can be meant for are those that ask for one ("Reply YES to confirm":
        a send's DM); a request's, in public or by DM, asks for "YES CODE" (docs/consent.md: a bare answer
        answers only one's own send). A bare yes is ambiguous when
        - the confirmation it follows asks for a code;
        - or the newest confirmation asking for a bare answer that its payer had received before it, of those
          they had not answered with their code and that no newer confirmation of the same command replaced,
          is not this transfer's;
        - or another such confirmation of theirs lapsed unanswered (its time to answer, from when X got it,
          ran out with no answer from them, while its command was not edited) after this transfer's was sent
          and before the yes;
        - or one of their own posts came before the yes and its confirmation (asking for a bare answer) after it:
          the yes may be meant for that post (docs/consent.md: a bare yes sent after one's own post whose
          confirmation has not gone out yet confirms nothing)."""
        uid, yes_id, yes_at = t.sender_id, int(yes["id"]), _at(yes)
        for a in self._asks():
            version = self._version_of(a["amount"]) if a["to"] == uid and a["bare"] and int(a["id"]) > yes_id else None
            if version is not None and version < yes_id and int(a["id"]) not in shown:
                return (
                    f"their post {version} came before the yes, and its confirmation {a['kind']} "
                    f"{dollars(a['amount'])} [{a['code']}] (message {a['id']}) after it"
                )
        everything = [a for a in self._asks() if a["to"] == uid and int(a["id"]) < yes_id]
        if not any(a["bare"] for a in everything if int(a["id"]) == asked_id):
            return f"its confirmation (message {asked_id}) asks for a yes with its code"
        asks = [a for a in everything if a["bare"]]
        said = self._answers_by(uid)
        roots = {a["id"]: self._root_of(a["amount"]) for a in asks}
        current = [
            a
            for a in asks
            if not any(code == a["code"] and int(a["id"]) < i < yes_id for i, _, code in said)
            and not any(
                int(b["id"]) > int(a["id"]) and roots[b["id"]] is not None and roots[b["id"]] == roots[a["id"]]
                for b in asks
            )
        ]
        if current and int(current[-1]["id"]) not in shown:
            a = current[-1]
            return (
                f"the newest confirmation it had received was {a['kind']} {dollars(a['amount'])} [{a['code']}] "
                f"(message {a['id']})"
            )
        for a in asks:
            lapse = a["at"] + self._ttl(a["kind"])
            if int(a["id"]) in shown or not asked_at < lapse <= yes_at:
                continue
            if any(int(a["id"]) < i and at < lapse and code in (None, a["code"]) for i, at, code in said):
                continue  # answered in time
            root = roots[a["id"]]
            version = self._version_of(a["amount"])
            if (
                root is not None
                and version is not None
                and any(int(p["id"]) > version and _at(p) < lapse for p in self._versions(root))
            ):
                continue  # its command was edited before its time ran out: it was replaced or voided, not lapsed
            return (
                f"{a['kind']} {dollars(a['amount'])} [{a['code']}] (message {a['id']}) lapsed unanswered at "
                f"{lapse:%H:%M:%S}, after this transfer's confirmation (message {asked_id}) and before the yes"
            )
        return None

    def _ttl(self, kind: str) -> timedelta:
        """The time a confirmation gives to answer: a send's, a request's."""
        policy = self.run.bot.service.policy
        return policy.confirm_ttl if kind == "send" else policy.request_ttl

    def _answers_by(self, uid: str, yes: bool = False) -> list[tuple[int, datetime, str | None]]:
        """Each yes or no (`yes`: each yes) the person DMed the bot, oldest first: (X id, when, the code or None
        when bare)."""
        out = []
        assert isinstance(self.run.sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
        for e in self.run.sim.dms:
            if e["sender_id"] == uid and self.run.sim.bot_id in e["participant_ids"]:
                m = ANSWER.fullmatch(e["text"].strip().upper())
                if m and (m.group(1) == "YES" or not yes):
                    out.append((int(e["id"]), _at(e), m.group(2)))
        return out

    def _command_posts(self) -> dict[int, dict[str, Any]]:
        """Each version of the runner's commands on X, by the amount it says (every version has an amount of
        its own), reposts aside."""
        out = {}
        for post in self.run.sim.posts.values():
            shape = COMMAND.search(post["text"])
            if shape and not any(r["type"] == "retweeted" for r in post["referenced_tweets"]):
                out[int(shape.group(2)) * 100 + int(shape.group(3))] = post
        return out

    def _version_of(self, amount: int) -> int | None:
        """The X id of the command post (a version) that says this amount."""
        post = self._command_posts().get(amount)
        return int(post["id"]) if post else None

    def _root_of(self, amount: int) -> str | None:
        """The root post of the command whose version says this amount."""
        post = self._command_posts().get(amount)
        return str(post["edit_history_tweet_ids"][0]) if post else None

    def _versions(self, root: str) -> list[dict[str, Any]]:
        """Every version of the post `root` on X (the post and its edits, whatever they say)."""
        return [p for p in self.run.sim.posts.values() if p["edit_history_tweet_ids"][0] == root]

    def _newer_versions(self, amount: int) -> list[int]:
        """The X ids of the edits made after the version that says this amount."""
        version, root = self._version_of(amount), self._root_of(amount)
        if version is None or root is None:
            return []
        return sorted(int(p["id"]) for p in self._versions(root) if int(p["id"]) > version)

    def _check_cap(self, paid: list[Transfer]) -> None:
        """What each payer confirmed in any 24 hours (every paid transfer, at its yes) is within the cap."""
        cap = self.run.bot.service.policy.daily_max_minor
        for t in paid:
            assert t.confirmed_at is not None
            window = [
                u
                for u in paid
                if u.sender_id == t.sender_id
                and u.confirmed_at is not None
                and t.confirmed_at - timedelta(hours=24) <= u.confirmed_at <= t.confirmed_at
            ]
            total = sum(u.amount_minor for u in window)
            if total > cap:
                raise self._violation(
                    f"@{self.run.sim.handle(t.sender_id)} confirmed {dollars(total)} in 24 hours "
                    f"(transfers {sorted(u.id or 0 for u in window)}), over the cap of "
                    f"{dollars(cap)}"
                )

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
                        f"(event {before[-1][0]}) before it"
                    )

    def _check_privacy(self) -> None:
        """No public reply shows the amount of a payer whose last PRIVACY DM sent before it said quiet or
        private (they get receipts by DM): a request's reply asking them, an outcome naming them first (the
        one who paid), a refusal telling them what is left of their cap. Known gap (docs/consent.md): an
        outcome reply written at a yes sent before the PRIVACY DM. Handles as X resolved them."""
        sim = self.run.sim
        assert isinstance(sim, XSim | MastodonRecord)  # X, or Mastodon seen in X's shapes
        settings: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for e in sim.dms:
            m = PRIVACY.fullmatch(e["text"].strip().lower())
            if m and e["sender_id"] != sim.bot_id and sim.bot_id in e["participant_ids"]:
                settings[e["sender_id"]].append((int(e["id"]), m.group(1)))
        for reply in sim.bot_messages():
            text = reply["text"]
            if reply["type"] == "dm" or not AMOUNT.search(text) or GENERIC.search(text):
                continue
            mentions = sim.posts[reply["id"]]["entities"].get("mentions", [])
            head = text.index(":") if ASKS in text else 1
            for uid in [u["id"] for u in mentions if u["start"] < head]:
                said = [(i, setting) for i, setting in settings.get(uid, []) if i < int(reply["id"])]
                if not said or said[-1][1] == "public":
                    continue
                code = CODE.search(text)
                if ASKS not in text and code and self._yes_before(uid, code.group(1), said[-1][0]):
                    continue  # known gap: the outcome was written as of a yes sent before the setting
                raise self._violation(
                    f"the public reply {reply['id']} {text!r} shows the amount of user {uid}, who "
                    f"DMed PRIVACY {said[-1][1].upper()} (event {said[-1][0]}) before it"
                )

    def _yes_before(self, uid: str, code: str, before: int) -> bool:
        """Whether the person said yes (bare or with this code) after a confirmation with this code and before
        the X id `before`."""
        asked = [int(a["id"]) for a in self._asks() if a["to"] == uid and a["code"] == code]
        return any(
            word_code in (None, code) and any(a < i for a in asked) and i < before
            for i, _, word_code in self._answers_by(uid, yes=True)
        )

    def _payments(self) -> dict[str, dict[str, Any]]:
        """The provider's truth: each charge paybot made, as paid, held, released or refunded."""
        if self.run.mangopay is not None:
            return mangopay_payments(self.run.mangopay)
        if self.run.stripe is None:
            return {p["ref"]: p for p in self.run.sandbox.payments()}
        return stripe_payments(self.run.stripe)

    @property
    def where(self) -> str:
        """The provider, and the timeline when it is not X: "stripe", "sandbox-mastodon"."""
        return self.provider if self.timeline == "x" else f"{self.provider}-{self.timeline}"

    @property
    def timeline_option(self) -> str:
        return "" if self.timeline == "x" else f" --timeline {self.timeline}"

    def _violation(self, what: str) -> Violation:
        crash = self.run.crashes[-1] if getattr(self, "run", None) and self.run.crashes else None
        folder = self.workdir or Path(tempfile.gettempdir())
        seeded = self.moves is None and not self.replay
        if seeded:
            path = folder / f"paybot-crash-{self.where}-{self.seed}.json"
            again = (
                f"python -m tests.support.crashmode --seed {self.seed} --provider {self.provider} "
                f"--actions {self.actions}{self.timeline_option}"
            )
        else:
            digest = hashlib.sha1(json.dumps(self.scenario["steps"]).encode(), usedforsecurity=False).hexdigest()[:10]
            path = folder / f"paybot-model-{self.where}-{digest}.json"
            again = (
                f"python -m tests.support.crashmode --replay {path} --provider {self.provider}{self.timeline_option}"
            )
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.scenario, indent=1))
        return Violation(
            f"{f'seed {self.seed}' if seeded else 'a run'} on {self.where}: {what}\n"
            f"  last crash before it: {crash}\n"
            f"  the generated scenario: {path}\n"
            f"  replay: {again}   (or: paybot simulate {path} --provider {self.provider}{self.timeline_option})\n"
            f"  its steps:\n" + "\n".join(f"    {json.dumps(step)}" for step in self.scenario["steps"])
        )


def main(argv: list[str] | None = None) -> int:
    """Run seeds and print each run's verdict, failures with their replay line; exit 1 on any failure.

    --seed N runs one seed; --crashes K runs seeds from --first-seed on until
    K crashes have struck (the same seeds every time); --minutes M runs random
    seeds that long; --replay FILE runs a scenario a failure wrote and checks
    it again. --json ends with one line of JSON: the totals."""
    ap = argparse.ArgumentParser(prog="python -m tests.support.crashmode", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--timeline",
        choices=("x", "mastodon"),
        default="x",
        help="the people on X's simulator or on Mastodon's (no renames there: usernames do not change)",
    )
    ap.add_argument(
        "--provider",
        choices=(*PROVIDERS, "all", "both"),
        default="all",
        help='one provider, or all of them ("both", from when there were two, means all)',
    )
    ap.add_argument("--actions", type=int, default=60, help="people's actions per run (default 60)")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--seed", type=int, help="run this seed only")
    how.add_argument("--crashes", type=int, help="run seeds from --first-seed on until this many crashes")
    how.add_argument("--minutes", type=float, help="run random seeds this long (default: 1 minute)")
    how.add_argument("--replay", type=Path, help="run this scenario file's steps and check the invariants")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument(
        "--each-point", type=int, default=0, help="with --crashes: go on until every point has struck this often too"
    )
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
                    report = CrashRun(
                        replay.get("seed", 0),
                        provider,
                        base=replay,
                        replay=True,
                        workdir=args.out,
                        timeline=args.timeline,
                    ).execute()
                else:
                    report = CrashRun(seed, provider, args.actions, workdir=args.out, timeline=args.timeline).execute()
            except Violation as err:
                failures.append(str(err))
                print(f"FAIL {err}", flush=True)
                continue
            crashes.update(report.crashes)
            print(
                f"ok   {'replay' if replay else f'seed {seed}'} on {provider}: {sum(report.crashes.values())} "
                f"crashes, {report.transfers} transfers, {report.payments} payments, {report.seconds:.1f} s",
                flush=True,
            )
        if args.seed is not None or replay is not None:
            break
        if args.crashes is not None:
            if sum(crashes.values()) >= args.crashes and all(crashes[p] >= args.each_point for p in faults.POINTS):
                break
            seed += 1
        elif time.monotonic() >= deadline:
            break
    totals = {
        "providers": list(providers),
        "timeline": args.timeline,
        "runs": runs,
        "failures": failures,
        "seeds": [args.first_seed, seed],
        "crashes": {p: crashes[p] for p in faults.POINTS},
        "reached": {p: (faults.reached - reached_before)[p] for p in faults.POINTS},
        "seconds": round(time.monotonic() - started, 1),
    }
    print(
        f"{runs} runs, {len(failures)} failed, {sum(crashes.values())} crashes in {totals['seconds']} s; "
        f"per point: {totals['crashes']}",
        flush=True,
    )
    if args.json:
        print(json.dumps(totals), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
