"""Seeded crash exploration in process: the real worker, killed at named points, on a virtual clock.

One seed makes one run. From the seed alone (and the bot's own progress, never
a clock) the people post commands, edit them, answer their confirmations with
yes or no, claim held money and let time pass, or do two or three of these
before the bot looks (a yes ahead of the command it could be taken for, a yes
and an edit in one poll, a bare yes from anyone), while the bot is made to die at
the Nth passage of a named fault point (bot/faults.py) again and again. Each
death drops every in-memory object and builds the bot anew on the same
database and simulators: `paybot simulate`'s crash mode. Everything the run
does is a scenario step, so the generated scenario replays through
`paybot simulate` as well as through `python -m tests.crashmode --seed N`.

At the end time passes until everything is settled, and the invariants are
checked:

- every command post was ingested, and became its transfer;
- money moved once per paid transfer (provider and store agree on each one),
  and only on its sender's yes (bare or with the code), sent, by X's own
  record, after a confirmation that showed exactly that amount, recipient and
  code, and within its 10 minutes;
- no message went out more often than the store queued it, and none was lost;
- nothing is stuck: every transfer ended, the outbox is empty.

A violation raises `Violation`, whose text names the seed, the provider, the
crash just before it and a file holding the generated scenario.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import select

from bot import faults
from bot.providers.stripe_sim import StripeSim
from bot.messages import fits
from bot.simulate import Run
from bot.store import Outbox, ProcessedTweet, Transfer

SENDERS = [f"c{i}" for i in range(5)]
PAID = ["paid0", "paid1", "paid2"]  # can receive at once
CLAIMER, NEVER = "hold0", "hold1"  # cannot receive yet: one claims what is held, one never does
NOISE = "noise"  # chats with the bot, so others' DMs are read later
WAITS = ["20s", "2m", "11m", "40m", "2h"]
PAID_STATES = {"completed", "held", "returned"}
ENDED = {"completed", "cancelled", "expired", "failed", "returned"}


class Violation(AssertionError):
    """An invariant broke; the message says how to replay it."""


def scenario_base(seed: int) -> dict[str, Any]:
    """The people and settings every crash run starts from. A small DM page (by seed) makes the bot
    read DMs several polls late, behind other people's chatter, as X's scarce DM reads do."""
    users: dict[str, Any] = {h: {"card": "ok"} for h in SENDERS}
    users |= {h: {"payouts": True} for h in PAID}
    users |= {CLAIMER: {}, NEVER: {}, NOISE: {}}
    page = random.Random(seed).choice((1, 2, 20))
    return {"seed": seed, "users": users, "steps": [],
            "settings": {"paybot_claim_window": "30m", "paybot_daily_max": "100000", "paybot_dm_page_size": page}}


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
    """One seeded run: generates the people's steps and the crashes, then checks the invariants."""

    seed: int
    provider: str = "sandbox"
    actions: int = 60
    workdir: Path | None = None
    crash_rate: float = 0.9  # chance, at each action with nothing armed, to arm a point
    rng: random.Random = field(init=False)
    scenario: dict[str, Any] = field(init=False)
    run: Run = field(init=False)
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)  # alias -> sender, recipient, amount
    answered: dict[str, str] = field(default_factory=dict)  # confirmation DM id -> "yes" / "no"
    claimed: set[str] = field(default_factory=set)  # "held for you" replies acted on
    next_amount: int = 100
    met: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # action -> passages
    times: Counter[str] = field(default_factory=Counter)  # action -> how often it was taken
    struck: Counter[str] = field(default_factory=Counter)  # point -> crashes there so far

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.scenario = scenario_base(self.seed)

    # ---------------------------------------------------------------- driving

    def execute(self) -> Report:
        """Generate and run the whole scenario, then check the invariants (raises Violation)."""
        started = time.monotonic()
        faults.disarm()
        with tempfile.TemporaryDirectory(prefix="paybot-crash-") as tmp:
            self.run = Run(self.scenario, Path(tmp), provider=self.provider)
            try:
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
                self.run.close()
        report.seconds = time.monotonic() - started
        return report

    def _step(self, step: dict[str, Any]) -> None:
        self.scenario["steps"].append(step)
        self.run.step(step)

    def _act(self) -> None:
        """One action of the people, with the bot made to die somewhere on its way.

        The point is drawn in proportion to how often this kind of action met
        each point so far (every point keeps a small chance), so nearly every
        armed point strikes; the counts are the bot's own, so a seed replays."""
        pending = self._unanswered()
        roll = self.rng.random()
        if roll < 0.35 or not pending and roll < 0.6:
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
        else:
            kind = "wait"
        if kind == "ambush":
            self._ambush()
            self.times[kind] += 1
            return
        if self.rng.random() < self.crash_rate:
            met, times = self.met[kind], max(1, self.times[kind])
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
            self._post()
        elif kind == "answer":
            self._answer(self.rng.choice(pending))
        elif kind == "edit":
            self._edit()
        elif kind == "rush":
            self._rush()
        elif kind == "claim":
            self._claim()
        else:
            self._step({"wait": self.rng.choice(WAITS)})
        self.times[kind] += 1
        self.met[kind].update(faults.reached - before)
        self.struck = Counter(c["point"] for c in self.run.crashes)

    def _post(self) -> None:
        self._step(self._new_post())

    def _new_post(self) -> dict[str, Any]:
        alias = f"p{len(self.posts)}"
        sender = self.rng.choice(SENDERS)
        to = self.rng.choice([*PAID, CLAIMER, NEVER])
        amount = self._amount()
        self.posts[alias] = {"sender": sender, "to": to, "amount": amount}
        return {"tweet": f"@paybot send {dollars(amount)[1:]} to @{to}", "by": sender, "id": alias}

    def _edit(self) -> None:
        if self.posts:
            self._step(self._new_edit())

    def _new_edit(self) -> dict[str, Any]:
        """A sender changes the amount of a command, answered or not (an answered one must not change)."""
        alias = self.rng.choice(sorted(self.posts))
        post = self.posts[alias]
        post["amount"] = self._amount()
        return {"edit": alias, "text": f"@paybot send {dollars(post['amount'])[1:]} to @{post['to']}"}

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
            sender = self.posts[change["edit"]]["sender"]
        else:
            change = self._new_post()
            sender = change["by"]
        chatter = [{"dm": "help", "by": NOISE}] * (10 * page + self.rng.randrange(10 * page))
        self._step({"crash": [self.rng.choice(("before_send@1", "after_send@1"))]})
        self._step({"together": [{"dm": "yes", "by": sender}, change, *chatter]})

    def _rush(self) -> None:
        """Careless and hostile orders: two or three things reach X before the bot looks. A bare yes
        from anyone, a yes to any confirmation ever sent (answered, stale or not), a new command or
        an edit, a few seconds passing; the yes may come before what it could be meant for."""
        confirmations = [m for m in self.run.sim.bot_messages()
                         if m["type"] == "dm" and m["text"].startswith("Send ")]
        inner: list[dict[str, Any]] = []
        for _ in range(self.rng.choice((2, 3))):
            roll = self.rng.random()
            if roll < 0.3:
                inner.append({"dm": "yes", "by": self.rng.choice(SENDERS)})
            elif roll < 0.5 and confirmations:
                dm = self.rng.choice(confirmations)
                code = re.search(r"\[([A-Z0-9]{4})\]", dm["text"])
                assert code is not None
                self.answered.setdefault(dm["id"], "yes")
                inner.append({"dm": f"yes {code.group(1)}", "by": self.run.sim.handle(dm["to_id"])})
            elif roll < 0.75:
                inner.append(self._new_post())
            elif roll < 0.85 and self.posts:
                inner.append(self._new_edit())
            elif roll < 0.93:
                inner += [{"dm": "help", "by": NOISE}] * self.rng.randint(1, 4)
            else:
                inner.append({"wait": "20s"})
        self._step({"together": inner})

    def _answer(self, dm: dict[str, Any]) -> None:
        code = re.search(r"\[([A-Z0-9]{4})\]", dm["text"])
        if code is None:
            raise self._violation(f"a confirmation without a code: {dm['text']}")
        answer = "no" if self.rng.random() < 0.15 else "yes"
        handle = self.run.sim.handle(dm["to_id"])
        self.answered[dm["id"]] = answer
        self._step({"dm": f"{answer} {code.group(1)}", "by": handle})

    def _claim(self) -> None:
        held = [m for m in self.run.sim.bot_messages() if m["type"] == "reply" and "held for you" in m["text"]
                and f"@{CLAIMER}," in m["text"] and m["id"] not in self.claimed]
        if held:
            self.claimed.update(m["id"] for m in held)
            self._step({"dm": "claim", "by": CLAIMER})
        else:
            self._step({"wait": self.rng.choice(WAITS)})

    def _finish(self) -> None:
        """No more crashes: the last claim, then time enough for every window to close."""
        if faults.armed() is not None:
            self._step({"disarm": True})
        self._claim()
        for wait in ("11m", "2h", "2h"):
            self._step({"wait": wait})

    def _unanswered(self) -> list[dict[str, Any]]:
        return [m for m in self.run.sim.bot_messages() if m["type"] == "dm" and m["text"].startswith("Send ")
                and m["id"] not in self.answered]

    def _amount(self) -> int:
        self.next_amount += 1
        return self.next_amount

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
        for alias in self.posts:
            if run.aliases[alias] not in roots or run.latest[alias] not in processed:
                raise self._violation(f"post {alias} was not ingested as a command")
        paid = [t for t in transfers if t.status in PAID_STATES]
        if len(payments) != len(paid):
            raise self._violation(f"{len(payments)} payments at the provider for {len(paid)} paid transfers")
        for t in transfers:
            story = f"transfer {t.id} ({t.status}, {dollars(t.amount_minor)} to @{handle(t.recipient_id)})"
            if t.status not in ENDED:
                raise self._violation(f"{story} never ended")
            if t.status not in PAID_STATES:
                continue
            if not self._consented(t):
                raise self._violation(f"{story} moved money without its sender's yes, sent after a confirmation "
                                      f"that showed exactly that, within its 10 minutes")
            pay = payments.get(t.payment_ref or "")
            if pay is None or pay["amount_minor"] != t.amount_minor:
                raise self._violation(f"{story} has no payment of that amount at the provider: {pay}")
            agree = {"completed": {"paid", "released"}, "returned": {"refunded"}}[t.status] \
                if t.status != "held" else {"held"}
            if pay["state"] not in agree:
                raise self._violation(f"{story} is {pay['state']} at the provider")
            if pay["state"] == "released" and handle(t.recipient_id) != CLAIMER:
                raise self._violation(f"{story} was released to someone who never claimed")
        queued = Counter((o.kind, o.to_user_id or o.in_reply_to, o.text) for o in outbox)
        stuck = [o.id for o in outbox if o.status in ("queued", "sending")]
        if stuck:
            raise self._violation(f"outbox messages {stuck} were never sent")
        went = Counter(("dm" if m["type"] == "dm" else "reply", m.get("to_id") or m["in_reply_to"], m["text"])
                       for m in run.sim.bot_messages())
        twice = [k for k, n in went.items() if n > queued[k]]
        if twice:
            raise self._violation(f"sent more often than queued: {twice[:3]}")
        lost = [o.id for o in outbox
                if o.status == "sent" and went[(o.kind, o.to_user_id or o.in_reply_to, o.text)] == 0]
        if lost:
            raise self._violation(f"outbox messages {lost} are marked sent but never reached X")
        for m in run.sim.bot_messages():  # the bot's public voice is its own
            if m["type"] != "dm" and (not fits(m["text"]) or "http" in m["text"] or "\n" in m["text"]):
                raise self._violation(f"a public reply breaks the rules (length, link or new line): {m['text']!r}")
        if run.sim.violations:
            raise self._violation(f"{run.sim.violations} requests to X over its rate limits")
        return Report(self.seed, self.provider, len(self.scenario["steps"]),
                      Counter(c["point"] for c in run.crashes), len(transfers), len(payments))

    def _consented(self, t: Transfer) -> bool:
        """From X's own record: the bot sent the sender a confirmation showing this amount, recipient
        and code, and the sender then DMed "yes" or "yes CODE" within the 10 minutes it gave."""
        sim = self.run.sim
        shown = re.compile(rf"Send {re.escape(dollars(t.amount_minor))} to @{sim.handle(t.recipient_id)}\b"
                           rf".*\[{t.code}\]$")
        pair = sorted((t.sender_id, sim.bot_id), key=int)
        events = [e for e in sim.dms if e["participant_ids"] == pair]
        asked = [e for e in events if e["sender_id"] == sim.bot_id and shown.match(e["text"])]
        said = [e for e in events if e["sender_id"] == t.sender_id
                and e["text"].strip().lower() in ("yes", f"yes {t.code.lower()}")]
        return any(int(y["id"]) > int(a["id"]) and _at(y) - _at(a) <= timedelta(minutes=10)
                   for a in asked for y in said)

    def _payments(self) -> dict[str, dict[str, Any]]:
        """The provider's truth: each charge paybot made, as paid, held, released or refunded."""
        if self.run.stripe is None:
            return {p["ref"]: p for p in self.run.sandbox.payments()}
        return stripe_payments(self.run.stripe)

    def _violation(self, what: str) -> Violation:
        crash = self.run.crashes[-1] if getattr(self, "run", None) and self.run.crashes else None
        folder = self.workdir or Path(tempfile.gettempdir())
        path = folder / f"paybot-crash-{self.provider}-{self.seed}.json"
        path.write_text(json.dumps(self.scenario, indent=1))
        return Violation(
            f"seed {self.seed} on {self.provider}: {what}\n"
            f"  last crash before it: {crash}\n"
            f"  the generated scenario: {path}\n"
            f"  replay: python -m tests.crashmode --seed {self.seed} --provider {self.provider} "
            f"--actions {self.actions}   (or: paybot simulate {path} --provider {self.provider})\n"
            f"  its steps:\n" + "\n".join(f"    {json.dumps(step)}" for step in self.scenario["steps"]))


def main(argv: list[str] | None = None) -> int:
    """Run seeds and print each run's verdict, failures with their replay line; exit 1 on any failure.

    --seed N runs one seed; --crashes K runs seeds from --first-seed on until
    K crashes have struck (the same seeds every time); --minutes M runs random
    seeds that long. --json ends with one line of JSON: the totals."""
    ap = argparse.ArgumentParser(prog="python -m tests.crashmode", description=__doc__.split("\n\n")[0])
    ap.add_argument("--provider", choices=("sandbox", "stripe", "both"), default="both")
    ap.add_argument("--actions", type=int, default=60, help="people's actions per run (default 60)")
    how = ap.add_mutually_exclusive_group()
    how.add_argument("--seed", type=int, help="run this seed only")
    how.add_argument("--crashes", type=int, help="run seeds from --first-seed on until this many crashes")
    how.add_argument("--minutes", type=float, help="run random seeds this long (default: 1 minute)")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--each-point", type=int, default=0,
                    help="with --crashes: go on until every point has struck this often too")
    ap.add_argument("--json", action="store_true", help="end with one JSON line of totals")
    ap.add_argument("--out", type=Path, help="where a failing run's scenario is written (default: the temp folder)")
    args = ap.parse_args(argv)
    providers = ("sandbox", "stripe") if args.provider == "both" else (args.provider,)
    logging.disable(logging.CRITICAL)  # the bot logs every crash's aftermath; the verdicts are printed
    started = time.monotonic()
    deadline = started + (args.minutes or 1.0) * 60
    reached_before = faults.reached.copy()
    crashes: Counter[str] = Counter()
    failures: list[str] = []
    runs = 0
    seed = args.seed if args.seed is not None else args.first_seed
    while True:
        if args.seed is None and args.crashes is None:
            seed = random.SystemRandom().randrange(2**32)
        for provider in providers:
            runs += 1
            try:
                report = CrashRun(seed, provider, args.actions, workdir=args.out).execute()
            except Violation as err:
                failures.append(str(err))
                print(f"FAIL {err}", flush=True)
                continue
            crashes.update(report.crashes)
            print(f"ok   seed {seed} on {provider}: {sum(report.crashes.values())} crashes, {report.transfers} "
                  f"transfers, {report.payments} payments, {report.seconds:.1f} s", flush=True)
        if args.seed is not None:
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
