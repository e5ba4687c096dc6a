"""The use cases: a mention arrives, a DM arrives, time passes, money moves.

The service receives its ports (store, provider, clock) and touches X only
through the outbox table. Money moves in three steps so that a crash at any
point is recoverable: (1) commit the transfer as executing with its
idempotency key, (2) call the provider with that key, (3) commit the result.
A transfer left in executing is driven again with the same key, which the
provider answers with the first result.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, or_, select

from bot import messages as msg
from bot.commands import DEFAULT_ENABLED, Command, DmCommand, parse_command, parse_dm
from bot.domain import REFUNDS, CodeFactory, Policy, Status, Step, money_key, random_code, step_of, transition
from bot.errors import AmountTooSmall, AnswerInDoubt, CommandError, IdempotencyError, ProviderError, ProviderTransient
from bot.faults import fault_point
from bot.logs import transfer_context
from bot.messages import text as say
from bot.money import Money
from bot.ports import (
    Clock,
    DirectMessage,
    EventKind,
    Mention,
    Onboarding,
    PaymentProvider,
    PayOutcome,
    PayResult,
    ProviderEvent,
    XUser,
)
from bot.store import (
    PRIORITY_CONFIRM,
    PRIORITY_OUTCOME,
    PRIORITY_REPLY,
    Outbox,
    ProcessedDm,
    ProcessedTweet,
    Transfer,
    TransferEvent,
    UnitOfWork,
    User,
    get_checkpoint,
    moved_since,
    set_checkpoint,
)

log = logging.getLogger(__name__)

ERROR_REPLY_EVERY = timedelta(hours=1)
ENDED_BY_EDIT = "an edit changed who pays, or edited it too often"  # the command is over: needs a new post
MAX_VERSIONS = 3  # a command and two edits are asked; a further edit cancels it
SEEN_EVERY = timedelta(minutes=5)  # how stale a user's "seen" time may grow before it is written again
# A public reply names people by the handle X showed within this time (longer than a send's confirmation
# window, so a plain send needs no lookup); anyone not seen since is looked up just before it is sent.
HANDLE_FRESH = timedelta(minutes=15)


def party(t: Transfer) -> str:
    """The person the command named: the recipient of a send, the payer of a request."""
    return t.recipient_id if t.kind == "send" else t.sender_id


def _named(names: str | None) -> list[tuple[str, str]]:
    """The (user id, handle) pairs an outbox reply names (`Outbox.names`)."""
    return [(uid, handle) for uid, _, handle in (pair.partition(":") for pair in (names or "").split())]


def saved_id(t: Transfer) -> int:
    """The id of a transfer row already written (flushed): its timeline refers to it."""
    if t.id is None:
        raise ValueError("a transfer needs to be saved before its timeline is written")
    return t.id


def money(t: Transfer) -> Money:
    return Money(t.amount_minor, t.currency)


def _after(a: str | None, b: str | None) -> bool | None:
    """Whether X's id `a` came after X's id `b` (ids grow with time); None when either is unknown."""
    return int(a) > int(b) if a and b and a.isdigit() and b.isdigit() else None


def answers(t: Transfer, said_at: datetime, said_id: str | None) -> bool:
    """Whether an answer sent at `said_at` (X's event `said_id`) can answer the version `t` shows:
    only once its confirmation reached X, and only if sent after it, and after the post that made
    this version. X's ids grow with time, so they decide when known; else X's timestamp against
    when the bot saw the confirmation's send succeed."""
    if t.asked_at is None or _after(said_id, t.command_tweet_id) is False:
        return False
    after_ask = _after(said_id, t.asked_id)
    return after_ask if after_ask is not None else said_at > t.asked_at  # a tie is no proof of "after"


@dataclass(frozen=True)
class Ask:
    """What a request shows its payers: the amount, the memo, who asks, in the command's language."""

    amount: Money
    lang: str
    memo: str | None
    requester: XUser


@dataclass
class Service:
    uow: UnitOfWork
    provider: PaymentProvider
    clock: Clock
    policy: Policy
    bot_id: str
    bot_handle: str
    currency: str = "USD"
    enabled: tuple[str, ...] = DEFAULT_ENABLED
    new_code: CodeFactory = random_code
    provider_errors: list[datetime] = field(default_factory=list)  # when the provider failed us, for status

    def provider_failed(self) -> None:
        now = self.clock.now()
        self.provider_errors = [t for t in self.provider_errors if now - t < timedelta(hours=1)] + [now]

    # ----------------------------------------------------------------- mentions

    def on_mention(self, m: Mention, *, since: datetime | None = None) -> bool:
        """Handle one mention once. Posts older than `since` are recorded, not acted on.

        Returns True when the mention was new.
        """
        with self.uow() as s:
            if s.get(ProcessedTweet, m.id):
                return False
            s.add(ProcessedTweet(id=m.id, processed_at=self.clock.now()))
            self._remember(s, XUser(m.author_id, m.author_handle, m.author_name), wrote=True)
            for user in m.mentioned.values():
                self._remember(s, user)
            if since is None or m.created_at >= since:
                self._handle_mention(s, m)
            s.commit()
        fault_point("mention_committed")
        return True

    def unseen(self, ids: list[str], *, dms: bool = False) -> set[str]:
        """Which of these post (or DM event) ids have not been processed yet: one query per page."""
        table = ProcessedDm if dms else ProcessedTweet
        with self.uow() as s:
            seen = set(s.exec(select(table.id).where(col(table.id).in_(ids))))
        return set(ids) - seen

    def _handle_mention(self, s: Session, m: Mention) -> None:
        if m.author_id == self.bot_id or m.is_repost:
            return
        if m.id != m.root_id and self._answered(s, m.root_id):
            log.info("post %s edits a command already answered; ignored", m.id)
            return
        try:
            cmd = parse_command(self._command_text(m), bot=self.bot_handle, currency=self.currency,
                                enabled=self.enabled)
            if cmd.kind == "help":
                self._answer_publicly(s, m, say("tweet_help", cmd.lang, bot=self.bot_handle), "help")
                return
            if get_checkpoint(s, "paused") == "1":
                self._answer_publicly(s, m, say("maintenance", cmd.lang), "maintenance")
                return
            self._ask(s, m, cmd)
        except CommandError as err:
            self._void_pending_edit(s, m)
            if err.quiet or self._in_reply_context_only(m):
                # Where the bot is only among a reply's leading mentions, the post is conversation
                # in a thread that named it ("send my regards"): what does not parse gets no answer.
                return
            if err.key == "limit.daily" and (s.get(User, m.author_id) or User(id="", handle="")).privacy != "public":
                # What is left of the cap tells what they sent: a discreet sender hears it by DM only.
                self._answer_dm(s, m.author_id, err.message, err.lang)
                return
            # A refusal for the limits is its own kind of answer: an earlier typo's reply within the
            # hour must not silence it (each kind is still said at most once an hour).
            self._answer_publicly(s, m, err.message, "limit" if err.key.startswith("limit.") else "error")

    def _answer_publicly(self, s: Session, m: Mention, sentence: str, category: str) -> None:
        """Reply to a command with help or a refusal, at most once per user per hour."""
        since = self.clock.now() - ERROR_REPLY_EVERY
        recent = s.exec(
            select(Outbox.id).where(Outbox.about_user_id == m.author_id, Outbox.category == category,
                                    Outbox.created_at >= since).limit(1)
        ).first()
        if recent is not None:
            log.info("not answering user %s again within the hour (%s): %s", m.author_id, category, sentence)
            return
        self._queue_reply(s, m.id, f"@{m.author_handle} {sentence}", category=category, about=m.author_id)

    def _command_text(self, m: Mention) -> str:
        """The part of the post to parse: from display_text_range on, as if addressed to the bot.

        The leading @handles of a reply are context; when the bot is named only
        there, the visible text is still a command to it.
        """
        shown = m.text[m.display_start :]
        return f"@{self.bot_handle} {shown}" if self._in_reply_context_only(m) else shown

    def _in_reply_context_only(self, m: Mention) -> bool:
        """Whether the bot is named only among the leading @handles of a reply, not in its text."""
        mention = re.compile(rf"@{re.escape(self.bot_handle)}(?![A-Za-z0-9_])", re.I)
        return not mention.search(m.text[m.display_start :]) and bool(mention.search(m.text[: m.display_start]))

    def _ask(self, s: Session, m: Mention, cmd: Command) -> None:
        """Turn a send or a request into pending transfers and ask for confirmation."""
        assert cmd.amount is not None
        lang, is_send = cmd.lang, cmd.kind == "send"
        existing = list(s.exec(select(Transfer).where(Transfer.root_tweet_id == m.root_id)))
        dropped = {party(t) for t in existing if t.reason == "edited"}
        live = [t for t in existing if party(t) not in dropped]
        if any(t.status != Status.PENDING for t in live):
            return
        if live and int(m.id) <= max(int(t.command_tweet_id) for t in live):
            return  # an older version delivered late
        if live and any(t.kind != cmd.kind for t in live):
            # Who pays is part of what a yes answers: a send edited into a request (or back) is a new
            # command, so the old one ends here and nobody's earlier answer can reach the new one.
            self._void_pending_edit(s, m, reason=ENDED_BY_EDIT)
            raise CommandError("edit.new_post", lang=lang)
        if m.id != m.root_id and len(m.edit_ids) > MAX_VERSIONS:
            # Each version is asked again (in public, for a request): a bounded number of times.
            self._void_pending_edit(s, m, reason=ENDED_BY_EDIT)
            raise CommandError("edit.too_many", lang=lang, n=MAX_VERSIONS - 1)
        people: list[XUser] = []
        for handle in cmd.recipients:
            user = m.mentioned.get(handle)
            if user is None or not user.id:
                raise CommandError("recipient.unknown", lang=lang, handle=handle)
            if user.id == m.author_id:
                raise CommandError("recipient.self" if is_send else "request.self", lang=lang)
            if user.id == self.bot_id:
                raise CommandError("recipients.bot", lang=lang, bot=self.bot_handle)
            row = s.get(User, user.id)
            if row is not None and row.opted_out:
                raise CommandError("recipient.opted_out" if is_send else "payer.opted_out", lang=lang,
                                   handle=user.handle)
            people.append(user)
        if live and not is_send and {party(t) for t in live} != {u.id for u in people}:
            # Who pays is part of what a yes answers: a request edited to other payers is a new command.
            self._void_pending_edit(s, m, reason=ENDED_BY_EDIT)
            raise CommandError("edit.new_post", lang=lang)
        if dropped & {u.id for u in people}:
            # That person's row was voided by an earlier edit; a transfer is keyed
            # by (post, sender, recipient), so it cannot be asked again.
            raise CommandError("edit.too_late", lang=lang)
        if is_send:  # refused early when it could not pass at the yes; the yes checks again
            self.policy.check(cmd.amount, len(people), self._moved_24h(s, m.author_id, cmd.amount.currency))
        else:
            self.policy.check_amount(cmd.amount)
        if not live or is_send:  # an edit of a send may name new people; a request's payers cannot change
            self._check_reach(s, m, is_send, people)
        now = self.clock.now()
        keep = {u.id for u in people}
        for t in live:
            if party(t) not in keep:
                self._set_status(s, t, Status.CANCELLED, now, reason="edited")
                s.add(t)
        by_party = {party(t): t for t in live}
        ttl = self.policy.confirm_ttl if is_send else self.policy.request_ttl
        group_code = self._fresh_code(s, m.author_id) if is_send else ""
        codes: dict[str, str] = {}
        rows: dict[str, Transfer] = {}
        for user in people:
            sender, recipient = (m.author_id, user.id) if is_send else (user.id, m.author_id)
            t = by_party.get(user.id) or Transfer(
                root_tweet_id=m.root_id, sender_id=sender, recipient_id=recipient, kind=cmd.kind,
                status=Status.PENDING, created_at=now, command_tweet_id=m.id, amount_minor=0,
                currency=cmd.amount.currency, code="", expires_at=now, updated_at=now,
            )
            t.code = codes[user.id] = group_code or self._fresh_code(s, user.id)
            # A request's payers see the memo as plain words: that is what their yes pays for (and records).
            t.command_tweet_id, t.lang = m.id, lang
            t.memo = cmd.memo if is_send else (msg.public_memo(cmd.memo) or None)
            t.amount_minor, t.currency = cmd.amount.minor, cmd.amount.currency
            t.expires_at, t.updated_at = now + ttl, now
            t.asked_at = t.asked_id = None  # a new version: no answer counts until its confirmation is out
            s.add(t)
            rows[user.id] = t
        s.flush()  # new rows get their ids, for their timelines
        for user_id, t in rows.items():
            note = f"asked again after an edit (post {m.id})" if user_id in by_party else f"command post {m.id}"
            s.add(TransferEvent(transfer_id=saved_id(t), at=now, status="pending", note=note))
        if is_send:
            self._queue_dm(s, m.author_id, self._confirm_text(cmd, m.author_id, people, group_code), PRIORITY_CONFIRM,
                           root=m.root_id, version=m.id)
        else:
            # A payer who keeps their payments out of public (private, quiet) is asked by DM, with the
            # amount; the public reply only tells them to look there (they wrote to the bot: DMs reach them).
            # Each public reply is checked again just before it is sent, once every DM sent before it
            # was read: a payer who said STOP meanwhile is dropped, one who went discreet is asked by DM
            # (`prepare_reply`), and everyone is named by their current handle.
            discreet = [u for u in people if (s.get(User, u.id) or User(id="", handle="")).privacy != "public"]
            shown = [u for u in people if u not in discreet]
            ask = Ask(cmd.amount, lang, cmd.memo, XUser(m.author_id, m.author_handle, m.author_name))
            for text, group in self._request_texts(ask, shown, codes) if shown else []:
                self._queue_reply(s, m.id, text, root=m.root_id, priority=PRIORITY_CONFIRM, version=m.id,
                                  category="ask", names=[m.author_id, *(u.id for u in group)])
            if discreet:
                self._queue_reply(s, m.id, self._by_dm_text(ask, discreet), root=m.root_id,
                                  priority=PRIORITY_CONFIRM, version=m.id, category="ask_by_dm",
                                  names=[m.author_id, *(u.id for u in discreet)])
            for user in discreet:
                self._queue_dm(s, user.id, self._ask_dm_text(ask, codes[user.id]), PRIORITY_CONFIRM, root=m.root_id,
                               version=m.id)

    def _ask_dm_text(self, ask: Ask, code: str) -> str:
        """A request's confirmation by DM, for a payer who keeps payments out of public."""
        what = say("confirm.pay", ask.lang, amount=ask.amount, names=msg.who(ask.requester.handle, ask.requester.name))
        if plain := msg.public_memo(ask.memo):  # someone else's words: plain, even in a DM
            what += say("confirm.memo", ask.lang, memo=plain)
        return say("confirm.ask", ask.lang, what=what, ttl=msg.duration(self.policy.request_ttl, ask.lang), code=code)

    @staticmethod
    def _by_dm_text(ask: Ask, payers: list[XUser]) -> str:
        return say("request_reply.by_dm", ask.lang, requester=ask.requester.handle,
                   payers=" ".join(f"@{u.handle}" for u in payers))

    def _check_reach(self, s: Session, m: Mention, is_send: bool, people: list[XUser]) -> None:
        """Bound what one person's posts make the bot say to others: requests per requester per hour
        and per payer per day, and payments (each a public "held for you") to people who never wrote
        to the bot, per sender per day. Edits of a command already counted are not counted again."""
        now = self.clock.now()
        roots = func.count(func.distinct(Transfer.root_tweet_id))
        if not is_send:
            asked = s.exec(select(roots).where(Transfer.kind == "request", Transfer.recipient_id == m.author_id,
                                               Transfer.created_at >= now - timedelta(hours=1))).one()
            if asked >= self.policy.requests_per_hour:
                raise CommandError("limit.requests", n=asked)
            for user in people:
                n = s.exec(select(roots).where(Transfer.kind == "request", Transfer.sender_id == user.id,
                                               Transfer.created_at >= now - timedelta(hours=24))).one()
                if n >= self.policy.requests_per_payer_day:
                    raise CommandError("limit.payer", n=n)
            return
        new = [u.id for u in people if (row := s.get(User, u.id)) is None or row.wrote_at is None]
        if not new:
            return
        before = set(s.exec(
            select(Transfer.recipient_id).join(User, col(User.id) == Transfer.recipient_id).where(
                Transfer.kind == "send", Transfer.sender_id == m.author_id, Transfer.root_tweet_id != m.root_id,
                Transfer.created_at >= now - timedelta(hours=24), col(User.wrote_at).is_(None),
                col(Transfer.status).notin_([str(Status.CANCELLED), str(Status.EXPIRED), str(Status.FAILED)]))))
        if len(before | set(new)) > self.policy.strangers_per_day:
            raise CommandError("limit.strangers", n=self.policy.strangers_per_day)

    def _confirm_text(self, cmd: Command, author_id: str, people: list[XUser], code: str) -> str:
        assert cmd.amount is not None
        lang = cmd.lang
        names = ", ".join(msg.who(u.handle, u.name) for u in people)
        if len(people) == 1:
            what = say("confirm.one", lang, amount=cmd.amount, names=names)
        else:
            what = say("confirm.many", lang, amount=cmd.amount, names=names, total=cmd.amount * len(people))
        if cmd.memo:
            what += say("confirm.memo", lang, memo=cmd.memo)
        ttl = msg.duration(self.policy.confirm_ttl, lang)
        out = say("confirm.ask", lang, what=what, ttl=ttl, code=code)
        if not self._may_have_card(author_id):
            out += say("confirm.no_card", lang)
        return out

    def _may_have_card(self, user_id: str) -> bool:
        """Whether the user has a saved card; True when the provider cannot say right now.

        The answer only shapes a message or lets a payment start: a payment
        without a card comes back NO_CARD from pay() and is told as such, so a
        provider outage must not stop (or lose) a command here."""
        try:
            return self.provider.has_card(user_id)
        except ProviderError as err:
            log.warning("could not ask the provider whether user %s has a card (%s); going on",
                        user_id, err, extra={"user_id": user_id})
            self.provider_failed()
            return True

    @staticmethod
    def _request_texts(ask: Ask, people: list[XUser], codes: dict[str, str]) -> list[tuple[str, list[XUser]]]:
        """The public reply that asks the payers, each with their code: one reply, or as few as X's
        280 weighted characters allow (each payer named in exactly one; a yes counts once its reply is out).
        Each text comes with the payers it names."""
        groups: list[list[XUser]] = []
        for user in people:
            if groups and msg.fits(Service._request_text(ask, [*groups[-1], user], codes)):
                groups[-1].append(user)
            else:
                groups.append([user])
        return [(Service._request_text(ask, group, codes), group) for group in groups]

    @staticmethod
    def _request_text(ask: Ask, people: list[XUser], codes: dict[str, str]) -> str:
        lang = ask.lang
        if len(people) == 1:
            code_text = say("request_reply.code", lang, code=codes[people[0].id])
        else:
            code_text = say("choose.or", lang).join(
                say("request_reply.code_for", lang, code=codes[u.id], handle=u.handle) for u in people)
        plain = msg.public_memo(ask.memo)  # said in public: plain words only (see Consent)
        memo = say("confirm.memo", lang, memo=plain) if plain else ""
        payers = " ".join(f"@{u.handle}" for u in people)
        return say("request_reply", lang, payers=payers, requester=ask.requester.handle, amount=ask.amount,
                   memo=memo, codes=code_text)

    def _answered(self, s: Session, root_id: str) -> bool:
        """Whether the command posted as root_id got an answer (yes, no, expiry) already."""
        rows = s.exec(select(Transfer).where(Transfer.root_tweet_id == root_id))
        return any(t.status != Status.PENDING and t.reason != "edited" for t in rows)

    def _void_pending_edit(self, s: Session, m: Mention, reason: str = "edited") -> None:
        """An edit that no longer reads as a valid command cancels the pending request. With
        ENDED_BY_EDIT the command is over: later edits of it are ignored (see `_answered`)."""
        if m.root_id == m.id:
            return
        now = self.clock.now()
        for t in s.exec(select(Transfer).where(Transfer.root_tweet_id == m.root_id)):
            if t.status == Status.PENDING:
                self._set_status(s, t, Status.CANCELLED, now, reason=reason)
                s.add(t)

    def _moved_24h(self, s: Session, sender_id: str, currency: str) -> Money:
        """What the sender confirmed in the last 24 hours, every currency counted in its minor units
        (see `moved_since`), shown in `currency`: the rolling cap's measure."""
        return Money(moved_since(s, sender_id, self.clock.now() - timedelta(hours=24)), currency)

    def _fresh_code(self, s: Session, sender_id: str) -> str:
        taken = set(
            s.exec(select(Transfer.code).where(Transfer.sender_id == sender_id, Transfer.status == Status.PENDING))
        )
        for _ in range(50):
            code = self.new_code()
            if code not in taken:
                return code
        raise RuntimeError("could not find a free confirmation code")

    # ---------------------------------------------------------------------- DMs

    def on_dm(self, dm: DirectMessage) -> bool:
        """Handle one DM event once; returns True when it was new."""
        to_run: list[int] = []
        claim_lang: str | None = None
        with self.uow() as s:
            if s.get(ProcessedDm, dm.id):
                return False
            s.add(ProcessedDm(id=dm.id, processed_at=self.clock.now()))
            if dm.sender_id != self.bot_id and self._own_conversation(dm):
                if dm.sender_handle:
                    self._remember(s, XUser(dm.sender_id, dm.sender_handle), wrote=True)
                try:
                    cmd = parse_dm(dm.text)
                except CommandError as err:
                    self._answer_dm(s, dm.sender_id, err.message, err.lang)
                else:
                    to_run = self._dm_command(s, dm, cmd)
                    # A CLAIM asks the provider (a new onboarding page each time): within the allowance.
                    if cmd.kind == "claim" and self._may_answer(s, dm.sender_id, cmd.lang):
                        claim_lang = cmd.lang
            s.commit()
        fault_point("dm_committed")
        for transfer_id in to_run:
            self.execute(transfer_id)
        if claim_lang:
            self.claim(dm.sender_id, lang=claim_lang)
        return True

    def _own_conversation(self, dm: DirectMessage) -> bool:
        """Only the one-to-one conversation between the sender and the bot counts."""
        if not dm.conversation_id:
            return True
        pair = "-".join(sorted((dm.sender_id, self.bot_id), key=int))
        return dm.conversation_id == pair

    def _dm_command(self, s: Session, dm: DirectMessage, cmd: DmCommand) -> list[int]:
        """Apply a DM command; returns the transfers to execute once it is committed."""
        user_id, lang = dm.sender_id, cmd.lang
        if cmd.kind in ("confirm", "cancel"):
            return self._answer(s, user_id, cmd.code, confirm=cmd.kind == "confirm", lang=lang,
                                said_at=dm.created_at, said_id=dm.id)
        if cmd.kind in ("register", "history", "privacy", "stop", "start") and not self._may_answer(s, user_id, lang):
            return []  # over the hourly allowance: not even the provider is asked (a Stripe page each time)
        if cmd.kind == "register":
            try:
                reg = self.provider.register(user_id)
                key = "register.already" if reg.already else "register.link" if reg.url else "register.saved"
                sentence = say(key, lang, url=reg.url or "")
            except ProviderError:
                log.exception("register failed for user %s", user_id)
                sentence = say("register.failed", lang)
            self._queue_dm(s, user_id, sentence, PRIORITY_OUTCOME, category="dm_answer")
        elif cmd.kind == "history":
            self._queue_dm(s, user_id, self._history(s, user_id, lang), PRIORITY_OUTCOME, category="dm_answer")
        elif cmd.kind in ("privacy", "stop", "start"):
            user = s.get(User, user_id) or User(id=user_id, handle=dm.sender_handle or user_id,
                                                updated_at=self.clock.now())
            if cmd.kind == "privacy":
                user.privacy = cmd.setting or "public"
                sentence = say(f"privacy.{user.privacy}", lang)
            else:
                user.opted_out = cmd.kind == "stop"
                sentence = say("stopped" if user.opted_out else "started", lang)
            user.updated_at = self.clock.now()
            s.add(user)
            self._queue_dm(s, user_id, sentence, PRIORITY_OUTCOME, category="dm_answer")
        elif cmd.kind == "help":
            self._answer_dm(s, user_id, say("dm_help", lang), lang)
        return []

    def _answer(self, s: Session, user_id: str, code: str | None, *, confirm: bool, lang: str,
                said_at: datetime | None = None, said_id: str | None = None) -> list[int]:
        """Apply a yes or a no from `user_id`, sent at `said_at` as X's event `said_id`; returns the
        transfers to execute now.

        An answer counts only for a version whose confirmation reached X before the answer was sent
        (see `answers`): a yes sent earlier, or one that an edit overtook, confirms nothing."""
        now = self.clock.now()
        said_at = min(said_at or now, now)
        pending = list(
            s.exec(
                select(Transfer)
                .where(Transfer.sender_id == user_id, Transfer.status == Status.PENDING)
                .order_by(col(Transfer.id))
            )
        )
        doubt = self._in_doubt(s, [t for t in pending if t.asked_at is None])
        if any(code in (None, t.code) and t.command_tweet_id in doubt and _after(said_id, t.command_tweet_id)
               is not False and said_at >= doubt[t.command_tweet_id] for t in pending):
            raise AnswerInDoubt(f"an answer from {user_id} waits for a confirmation's send to be settled")
        for t in pending:
            if t.expires_at <= said_at and answers(t, said_at, said_id):
                self._set_status(s, t, Status.EXPIRED, now)
                s.add(t)
        groups: dict[str, list[Transfer]] = defaultdict(list)
        unasked = False
        for t in pending:
            if t.status != Status.PENDING:
                continue
            if answers(t, said_at, said_id):
                groups[t.code].append(t)
            else:
                unasked = unasked or code in (None, t.code)
        # A bare yes sent after a post that made a version not asked yet may be meant for that one: it
        # confirms nothing else (someone's older request must not catch the yes for one's own new send).
        earlier = code is None and any(t.status == Status.PENDING and t.asked_at is None
                                       and _after(said_id, t.command_tweet_id) is not False for t in pending)
        if unasked and (not groups or (code and code not in groups) or earlier):
            # Sent before the confirmation it could be meant for: kept for nothing, answered once.
            self._answer_dm(s, user_id, say("answer.too_early", lang), lang)
            return []
        if code:
            target = groups.get(code)
        elif len(groups) == 1:
            target = next(iter(groups.values()))
        elif groups:
            options = [
                say("choose.option", lang, code=c, amount=money(ts[0]),
                    handles=msg.handles([self._handle(s, t.recipient_id) for t in ts]))
                for c, ts in groups.items()
            ]
            text = say("choose", lang, n=len(groups), options=say("choose.or", lang).join(options))
            self._answer_dm(s, user_id, text, lang, PRIORITY_CONFIRM)
            return []
        else:
            target = None
        if target is None:
            self._answer_dm(s, user_id, self._why_not(s, user_id, code, lang), lang)
            return []
        first = target[0]
        if not confirm:
            for t in target:
                self._set_status(s, t, Status.CANCELLED, now, reason="sender said no")
                s.add(t)
            self._queue_dm(s, user_id, say("cancelled", lang, code=first.code), PRIORITY_OUTCOME)
            if first.kind == "request":
                text = say("request_declined", first.lang, payer=self._handle(s, user_id), amount=money(first),
                           code=first.code)
                self._queue_dm(s, first.recipient_id, text, PRIORITY_OUTCOME, root=first.root_tweet_id)
            return []
        if not self._may_have_card(user_id):  # a yes that moves nothing is answered within the allowance
            self._answer_dm(s, user_id, say("no_card", lang, code=first.code), lang)
            return []
        try:  # the cap counts money when it moves: the last 24 hours, every currency, sends and requests
            self.policy.check(money(first), len(target), self._moved_24h(s, user_id, first.currency))
        except CommandError as err:
            self._answer_dm(s, user_id, say(err.key, lang, **err.params), lang)
            return []
        for t in target:
            self._set_status(s, t, Status.EXECUTING, now)
            t.pay_key = money_key(Step.PAY, t.root_tweet_id, t.sender_id, t.recipient_id)
            t.confirmed_at = now
            s.add(t)
        return [t.id for t in target if t.id is not None]

    @staticmethod
    def _in_doubt(s: Session, unasked: list[Transfer]) -> dict[str, datetime]:
        """For versions not known to be asked: when the send of their confirmation began, if that send
        is in doubt (marked sending, X may have it). Keyed by version (command post id)."""
        if not unasked:
            return {}
        rows = s.exec(select(Outbox).where(col(Outbox.version).in_({t.command_tweet_id for t in unasked}),
                                           Outbox.status == "sending", Outbox.priority == PRIORITY_CONFIRM))
        return {r.version: r.attempted_at for r in rows if r.version and r.attempted_at}

    def _why_not(self, s: Session, user_id: str, code: str | None, lang: str) -> str:
        """The answer to a yes/no that matches no pending request."""
        query = select(Transfer).where(Transfer.sender_id == user_id)
        if code:
            query = query.where(Transfer.code == code)
        last = s.exec(query.order_by(col(Transfer.updated_at).desc(), col(Transfer.id).desc()).limit(1)).first()
        if last is None:
            return say("nothing.code", lang, code=code) if code else say("nothing", lang)
        if last.status == Status.EXPIRED:
            group = s.exec(select(Transfer).where(Transfer.root_tweet_id == last.root_tweet_id,
                                                  Transfer.sender_id == user_id))
            names = [self._handle(s, t.recipient_id) for t in group if t.status == Status.EXPIRED]
            return say("expired", lang, amount=money(last), handles=msg.handles(names),
                       at=f"{last.expires_at:%H:%M}", code=last.code)
        if code or self.clock.now() - last.updated_at < self.policy.confirm_ttl:
            return say("already", lang, code=last.code, status=msg.status_word(last.status, lang))
        return say("nothing", lang)

    def _history(self, s: Session, user_id: str, lang: str) -> str:
        rows = list(s.exec(
            select(Transfer)
            .where(or_(Transfer.sender_id == user_id, Transfer.recipient_id == user_id))
            .order_by(col(Transfer.created_at).desc(), col(Transfer.id).desc())
            .limit(10)
        ))
        if not rows:
            return say("history.empty", lang)
        lines = [say("history.head", lang, n=len(rows)) if len(rows) > 1 else say("history.head_one", lang)]
        for t in rows:
            out = t.sender_id == user_id
            lines.append(say("history.out" if out else "history.in", lang, when=msg.day(t.created_at, lang),
                             amount=money(t), other=self._handle(s, t.recipient_id if out else t.sender_id),
                             status=msg.status_word(t.status, lang)))
        return "\n".join(lines)

    # -------------------------------------------------------------------- money

    def execute(self, transfer_id: int) -> None:
        """Drive one executing transfer through the provider and record the result."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            if t is None or t.status != Status.EXECUTING or not t.pay_key:
                return
            if get_checkpoint(s, "paused") == "1":
                return  # confirmed, and executed when an operator resumes
            recipient = s.get(User, t.recipient_id)
            if recipient is not None and recipient.opted_out:
                # Refused before anyone is charged.
                self._record(s, t, PayResult(PayOutcome.DECLINED, reason="recipient opted out"))
                s.commit()
                return
            args = dict(key=t.pay_key, sender_id=t.sender_id, recipient_id=t.recipient_id, memo=t.memo,
                        reference={"transfer_id": str(t.id), "root_tweet_id": t.root_tweet_id,
                                   "sender_x_id": t.sender_id, "recipient_x_id": t.recipient_id})
            amount = money(t)
            # The provider forgets keys after a day: past that, a retry could charge twice, so look it up.
            stale = self.clock.now() - t.updated_at > self.policy.key_lifetime
        fault_point("before_pay")
        try:
            if stale:
                found = self.provider.lookup(t.pay_key, t.sender_id)
                result = found or PayResult(PayOutcome.DECLINED, reason="not charged: the provider has no "
                                                                         "record of this payment")
            else:
                result = self.provider.pay(amount=amount, **args)  # type: ignore[arg-type]
        except ProviderTransient:
            log.warning("provider did not answer for transfer %s; will retry", transfer_id,
                        extra={"transfer_id": transfer_id, "user_id": args["sender_id"]})
            self.provider_failed()
            return
        except IdempotencyError:
            # The key was used with other parameters and the provider cannot say what became of it:
            # left executing for an operator (`paybot reconcile` lists it), never charged again.
            log.error("transfer %s: its payment key was used with other parameters; see paybot reconcile",
                      transfer_id, extra={"transfer_id": transfer_id, "user_id": args["sender_id"]})
            self.provider_failed()
            return
        except AmountTooSmall as err:  # below the provider's minimum after conversion: retrying cannot help
            log.warning("provider refused transfer %s as too small: %s", transfer_id, err,
                        extra={"transfer_id": transfer_id, "user_id": args["sender_id"]})
            result = PayResult(PayOutcome.DECLINED, reason="not charged: too small")
        except ProviderError as err:  # refused outright (a 4xx): nothing was charged
            log.error("provider refused transfer %s: %s", transfer_id, err,
                      extra={"transfer_id": transfer_id, "user_id": args["sender_id"]})
            self.provider_failed()
            result = PayResult(PayOutcome.DECLINED, reason=f"not charged: {err}")
        fault_point("after_pay")
        self._apply_result(transfer_id, result, (Status.EXECUTING,))
        fault_point("after_commit")

    def _apply_result(self, transfer_id: int, result: PayResult, expected: tuple[Status, ...]) -> bool:
        """Record the provider's answer if the transfer is still in one of the `expected` statuses."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            if t is None or t.status not in expected:
                return False
            self._record(s, t, result)
            s.commit()
            log.info("transfer %s: %s", transfer_id, t.status, extra=transfer_context(t))
        return True

    def _record(self, s: Session, t: Transfer, result: PayResult) -> None:
        """Apply the provider's answer to an executing transfer and queue what it says."""
        now = self.clock.now()
        lang, amount = t.lang, money(t)
        sender, recipient = self._handle(s, t.sender_id), self._handle(s, t.recipient_id)
        privacy = (s.get(User, t.sender_id) or User(id="", handle="")).privacy
        was = t.status
        t.payment_ref = result.ref or t.payment_ref
        words = dict(sender=sender, recipient=recipient, amount=amount, code=t.code)
        if result.outcome == PayOutcome.NEEDS_AUTH and result.url and t.status == Status.EXECUTING:
            # Recoverable: the sender approves this very payment on the provider's page.
            self._set_status(s, t, Status.NEEDS_AUTH, now, reason="the bank asked the sender to approve it")
            t.hold_until = now + self.policy.auth_window
            text = say("needs_auth.link", lang, url=result.url, **words)
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
        elif result.outcome in (PayOutcome.PAID, PayOutcome.HELD):
            held = result.outcome == PayOutcome.HELD
            self._set_status(s, t, Status.HELD if held else Status.COMPLETED, now)
            if held:
                t.hold_until = now + self.policy.claim_window
            self._tell_outcome(s, t, privacy)
        else:
            self._set_status(s, t, Status.FAILED, now, reason=result.reason or str(result.outcome))
            if result.reason == "recipient opted out":
                text = say("recipient_left", lang, **words)
            elif result.reason == "not charged: too small":
                text = say("too_small", lang, **words)
            elif (result.reason or "").startswith("not charged"):
                text = say("not_charged", lang, **words)
            elif was == Status.NEEDS_AUTH:
                text = say("auth_lapsed", lang, **words)
            elif result.outcome == PayOutcome.NEEDS_AUTH:
                text = say("needs_auth", lang, **words)
            elif result.outcome == PayOutcome.NO_CARD:
                text = say("no_card", lang, code=t.code)
            else:
                text = say("declined", lang, reason=msg.reason(result.reason or "declined by the bank", lang),
                           **words)
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
            self._tell_outcome(s, t, privacy)  # the others of its command may have been waiting for it
        s.add(t)

    def _tell_outcome(self, s: Session, t: Transfer, privacy: str) -> None:
        """One public reply (and, for a discreet sender, one receipt DM) per command, however many people
        it paid: the last of the command's transfers to settle tells about all of them, in the transaction
        that records it (so a crash can neither lose nor repeat it)."""
        group = [t, *(g for g in s.exec(select(Transfer).where(
            Transfer.root_tweet_id == t.root_tweet_id, Transfer.sender_id == t.sender_id, Transfer.code == t.code,
            col(Transfer.confirmed_at).is_not(None))) if g.id != t.id)]
        group.sort(key=lambda g: g.id or 0)
        if any(g.status in (Status.EXECUTING, Status.NEEDS_AUTH) for g in group):
            return
        paid = [g for g in group if g.status == Status.COMPLETED]
        held = [g for g in group if g.status == Status.HELD]
        if not paid and not held:
            return
        lang, amount = t.lang, money(t)
        sender = self._handle(s, t.sender_id)
        if privacy != "public":
            who = [self._handle(s, g.recipient_id) for g in paid + held]
            text = (say("receipt", lang, amount=amount, recipient=who[0], code=t.code) if len(who) == 1 else
                    say("receipt.many", lang, amount=amount, recipients=msg.handles(who), code=t.code))
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
        if privacy == "quiet":
            paid = []  # the recipient of held money must still learn to claim it; the rest stays out of public
        if not paid and not held:
            return
        until = msg.day(held[0].hold_until or self.clock.now(), lang) if held else ""
        for text, named in self._outcome_texts(s, privacy, t, sender, paid, held, until):
            self._queue_reply(s, t.command_tweet_id, text, root=t.root_tweet_id, names=[t.sender_id, *named])

    def _outcome_texts(self, s: Session, privacy: str, t: Transfer, sender: str, paid: list[Transfer],
                       held: list[Transfer], until: str) -> list[tuple[str, list[str]]]:
        """The outcome reply of a command, split only when its handles cannot fit in one post (each
        handle counted at X's longest, 15 characters, as it is checked again before sending)."""
        lang = t.lang

        def name(g: Transfer, widest: bool) -> str:
            return "x" * 15 if widest else self._handle(s, g.recipient_id)

        def text(p: list[Transfer], h: list[Transfer], widest: bool = False) -> str:
            words = dict(sender="x" * 15 if widest else sender, amount=money(t), code=t.code, until=until)
            private = "" if privacy == "public" else ".private"
            if p and h:
                return say("sent_held" + private, lang, paid=msg.handles([name(g, widest) for g in p]),
                           held=msg.handles([name(g, widest) for g in h]), **words)
            group = p or h
            if len(group) == 1:
                one = name(group[0], widest)
                if h:
                    return say("held" + private, lang, recipient=one, **words)
                key = ("sent" if t.kind == "send" else "paid_request") if privacy == "public" else "sent.private"
                return say(key, lang, recipient=one, **words)
            return say(("sent.many" if p else "held.many") + private, lang,
                       recipients=msg.handles([name(g, widest) for g in group]), **words)

        parts: list[tuple[list[Transfer], list[Transfer]]] = []
        for g in paid + held:
            side = 0 if g in paid else 1
            if parts:
                trial = (parts[-1][0] + [g], parts[-1][1]) if side == 0 else (parts[-1][0], parts[-1][1] + [g])
                if msg.fits(text(*trial, widest=True)):
                    parts[-1] = trial
                    continue
            parts.append(([g], []) if side == 0 else ([], [g]))
        return [(text(p, h), [g.recipient_id for g in p + h]) for p, h in parts]

    def resume(self) -> int:
        """Finish what a crash interrupted: executing transfers and half-done releases."""
        with self.uow() as s:
            executing = list(s.exec(select(Transfer.id).where(Transfer.status == Status.EXECUTING)))
            releasing = list(
                s.exec(
                    select(Transfer.recipient_id).where(
                        Transfer.status == Status.HELD, col(Transfer.settle_key).startswith(f"{Step.RELEASE}:")
                    )
                )
            )
        for transfer_id in executing:
            if transfer_id is not None:
                self.execute(transfer_id)
        for user_id in set(releasing):
            self.claim(user_id, resuming=True)
        return len(executing) + len(set(releasing))

    def expire_due(self, *, read_until: datetime | None = None) -> int:
        """Move every pending request past its time to expired.

        The sender of an expired send is not told (a late yes is answered); the
        author of an expired request is, by DM.

        `read_until`: every DM sent before this time has been read. A request
        is only expired once its deadline is behind that mark, so a "yes" sent
        in time but read late (DM reads are rate-limited) still counts."""
        now = self.clock.now()
        cutoff = min(now, read_until) if read_until else now
        with self.uow() as s:
            rows = list(s.exec(select(Transfer).where(Transfer.status == Status.PENDING,
                                                      Transfer.expires_at <= cutoff)))
            # A request whose confirmation is still waiting to be sent has not started its clock.
            unsent = set(s.exec(select(Outbox.transfer_root).where(col(Outbox.status).in_(("queued", "sending")),
                                                                  Outbox.priority == PRIORITY_CONFIRM)))
            rows = [t for t in rows if t.root_tweet_id not in unsent]
            for t in rows:
                self._set_status(s, t, Status.EXPIRED, now)
                s.add(t)
                if t.kind == "request":  # the requester waited days: tell them
                    text = say("request_expired", t.lang, payer=self._handle(s, t.sender_id), amount=money(t),
                               days=self.policy.request_ttl.days, code=t.code)
                    self._queue_dm(s, t.recipient_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
            s.commit()
        return len(rows)

    def _held_for(self, user_id: str) -> list[Transfer]:
        """The money held for `user_id` that a claim may release (not what is already going back)."""
        with self.uow() as s:
            held = list(s.exec(
                select(Transfer)
                .where(Transfer.recipient_id == user_id, Transfer.status == Status.HELD)
                .order_by(col(Transfer.id))
            ))
        return [t for t in held if step_of(t.settle_key) != Step.RETURN]

    def claim(self, user_id: str, *, resuming: bool = False, lang: str = "en") -> None:
        """The recipient asked for the money held for them: onboard, then release each transfer.

        `resuming` finishes releases a crash interrupted, without onboarding again. With nothing
        held, the provider is not asked for anything (no account is made for a stranger's CLAIM)."""
        if not resuming and not self._held_for(user_id):
            with self.uow() as s:
                self._queue_dm(s, user_id, say("claim_nothing", lang), PRIORITY_OUTCOME, category="dm_answer")
                s.commit()
            return
        try:
            onboarding = Onboarding(ready=True) if resuming else self.provider.onboard(user_id)
        except ProviderError as err:
            # The user asked: they hear why nothing happened. Held money stays held either way.
            transient = isinstance(err, ProviderTransient)
            log.log(logging.WARNING if transient else logging.ERROR, "onboarding failed for user %s: %s",
                    user_id, err, extra={"user_id": user_id})
            self.provider_failed()
            with self.uow() as s:
                self._queue_dm(s, user_id, say("claim.retry" if transient else "claim.failed", lang),
                               PRIORITY_OUTCOME, category="dm_answer")
                s.commit()
            return
        if not onboarding.ready:
            with self.uow() as s:
                self._queue_dm(s, user_id, say("onboarding", lang, url=onboarding.url or ""), PRIORITY_OUTCOME,
                               category="dm_answer")
                s.commit()
            return
        held = self._held_for(user_id)
        done: list[str] = []

        def release(t: Transfer) -> str:
            return self.provider.release(key=t.settle_key or "", payment_ref=t.payment_ref or "",
                                         recipient_id=user_id, amount=money(t))

        def record(s: Session, t: Transfer) -> None:
            done.append(say("claimed.item", lang, amount=money(t), sender=self._handle(s, t.sender_id)))

        self._settle(held, Step.RELEASE, release, Status.COMPLETED, record)
        if done or not resuming:
            with self.uow() as s:
                text = say("claimed", lang, items=", ".join(done)) if done else say("claim_nothing", lang)
                self._queue_dm(s, user_id, text, PRIORITY_OUTCOME)
                s.commit()

    def return_due(self) -> int:
        """Give held money back to the sender when the claim window is over."""
        with self.uow() as s:
            due = list(s.exec(
                select(Transfer).where(Transfer.status == Status.HELD, col(Transfer.hold_until) <= self.clock.now())
            ))
        # A release under way (the recipient claimed) wins over the return.
        due = [t for t in due if step_of(t.settle_key) != Step.RELEASE]

        def refund(t: Transfer) -> str:
            return self.provider.refund(key=t.settle_key or "", payment_ref=t.payment_ref or "", amount=money(t))

        def tell_sender(s: Session, t: Transfer) -> None:
            # One DM per command, however many of its recipients never claimed: the last of them to go
            # back tells, in the transaction that returns it (so a crash can neither lose nor repeat it).
            group = list(s.exec(select(Transfer).where(Transfer.root_tweet_id == t.root_tweet_id,
                                                       Transfer.sender_id == t.sender_id, Transfer.code == t.code)))
            if any(g.status == Status.HELD for g in group if g.id != t.id):
                return
            back = [g for g in group if g.id == t.id or (g.status == Status.RETURNED
                                                         and step_of(g.settle_key) == Step.RETURN)]
            key = "returned" if len(back) == 1 else "returned.many"
            text = say(key, t.lang, recipient=self._handle(s, t.recipient_id), amount=money(t),
                       handles=msg.handles([self._handle(s, g.recipient_id) for g in back]),
                       total=money(t) * len(back), days=self.policy.claim_window.days, code=t.code)
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)

        return len(self._settle(due, Step.RETURN, refund, Status.RETURNED, tell_sender))

    def lapse_auth(self) -> int:
        """Close the approvals nobody gave in time: look each payment up, record what the provider says."""
        with self.uow() as s:
            due = list(s.exec(select(Transfer).where(Transfer.status == Status.NEEDS_AUTH,
                                                     col(Transfer.hold_until) <= self.clock.now())))
        done = 0
        for t in due:
            try:
                found = self.provider.lookup(t.pay_key or "", t.sender_id)
            except ProviderError:
                log.warning("could not look up transfer %s; will retry", t.id, extra=transfer_context(t))
                self.provider_failed()
                continue
            if found is None or found.outcome == PayOutcome.NEEDS_AUTH:
                found = PayResult(PayOutcome.NEEDS_AUTH, reason="not approved in time")
            done += self._apply_result(t.id or 0, found, (Status.NEEDS_AUTH,))
        return done

    def provider_events(self) -> int:
        """Apply the provider's new events (cards saved, approvals, onboarding, refunds, disputes) once each."""
        with self.uow() as s:
            cursor = get_checkpoint(s, "provider_events")
        try:
            events, new_cursor = self.provider.events(cursor or None)
        except ProviderError as err:
            log.warning("could not read the provider's events: %s", err)
            self.provider_failed()
            return 0
        for event in events:
            self.apply_event(event)
        if new_cursor and new_cursor != cursor:
            with self.uow() as s:
                set_checkpoint(s, "provider_events", new_cursor)
                s.commit()
        return len(events)

    def apply_event(self, event: ProviderEvent) -> None:
        """Apply one provider event; applying it twice changes nothing more."""
        if event.kind == EventKind.CARD_SAVED and event.user_id:
            with self.uow() as s:  # remembered beside the DM ids ("event:" never starts an X id)
                if s.get(ProcessedDm, f"event:{event.id}") is None:
                    s.add(ProcessedDm(id=f"event:{event.id}", processed_at=self.clock.now()))
                    self._queue_dm(s, event.user_id, say("card_saved", self._lang_of(s, event.user_id)),
                                   PRIORITY_OUTCOME)
                    s.commit()
        elif event.kind in (EventKind.PAID, EventKind.AUTH_LAPSED) and event.key:
            with self.uow() as s:
                t = s.exec(select(Transfer).where(Transfer.pay_key == event.key)).first()
            if t is None or t.id is None:
                return
            if event.kind == EventKind.PAID:
                result = PayResult(event.outcome or PayOutcome.PAID, ref=event.ref)
            else:
                result = PayResult(PayOutcome.NEEDS_AUTH, reason="not approved in time")
            self._apply_result(t.id, result, (Status.NEEDS_AUTH,))
        elif event.kind == EventKind.ACCOUNT_READY and event.user_id:
            with self.uow() as s:
                waiting = s.exec(select(Transfer.id).where(Transfer.recipient_id == event.user_id,
                                                           Transfer.status == Status.HELD).limit(1)).first()
            if waiting is not None:  # they finished onboarding: pay out what waits for them
                self.claim(event.user_id, resuming=True)
        elif event.kind in (EventKind.REFUNDED, EventKind.DISPUTED) and event.ref:
            self._note_at_provider(event)

    def _note_at_provider(self, event: ProviderEvent) -> None:
        """A refund or dispute made outside paybot (the provider's dashboard, the payer's bank)."""
        now = self.clock.now()
        with self.uow() as s:
            t = s.exec(select(Transfer).where(Transfer.payment_ref == event.ref)).first()
            if t is None:
                log.warning("%s of payment %s, which no transfer knows", event.kind, event.ref)
                return
            if event.kind == EventKind.REFUNDED and step_of(t.settle_key) in REFUNDS:
                return  # paybot's own refund (a return, or an operator's refund): recorded by `_settle`
            note = f"{event.kind} at the provider ({event.id})"
            if s.exec(select(TransferEvent).where(TransferEvent.transfer_id == t.id,
                                                  TransferEvent.note == note)).first() is not None:
                return
            if event.kind == EventKind.REFUNDED and t.status in (Status.COMPLETED, Status.HELD):
                self._set_status(s, t, Status.RETURNED, now, reason=note)
            else:
                s.add(TransferEvent(transfer_id=saved_id(t), at=now, status=t.status, note=note))
            s.add(t)
            s.commit()
            log.warning("transfer %s: %s", t.id, note, extra=transfer_context(t))

    def _lang_of(self, s: Session, user_id: str) -> str:
        last = s.exec(select(Transfer.lang).where(Transfer.sender_id == user_id)
                      .order_by(col(Transfer.id).desc()).limit(1)).first()
        return last or "en"

    def _settle(
        self,
        transfers: list[Transfer],
        step: Step,
        call: Callable[[Transfer], str],
        new: Status,
        on_done: Callable[[Session, Transfer], None],
        from_status: Status = Status.HELD,
    ) -> list[Transfer]:
        """Settle held money in the same three steps as a payment: store the key, call, record.

        `on_done` runs in the transaction that records the new status, so a
        message about it is queued exactly when the status changes."""
        with self.uow() as s:
            for t in transfers:
                row = s.get(Transfer, t.id)
                if row is not None and not row.settle_key:
                    row.settle_key = t.settle_key = money_key(step, row.root_tweet_id, row.sender_id, row.recipient_id)
                    s.add(row)
            s.commit()
        settled = []
        for t in transfers:
            try:
                ref = call(t)
            except ProviderTransient:
                log.warning("%s of transfer %s did not finish; will retry", step, t.id, extra=transfer_context(t))
                self.provider_failed()
                continue
            except ProviderError:
                log.exception("%s of transfer %s was refused by the provider", step, t.id, extra=transfer_context(t))
                self.provider_failed()
                continue
            fault_point("settle_called")
            with self.uow() as s:
                row = s.get(Transfer, t.id)
                if row is None or row.status != from_status:
                    continue
                row.settle_ref = ref
                self._set_status(s, row, new, self.clock.now())
                s.add(row)
                on_done(s, row)
                s.commit()
                settled.append(row)
        return settled

    def dm_undeliverable(self, message: Outbox) -> None:
        """A confirmation DM could not be delivered: cancel the request and say so publicly."""
        if message.priority != PRIORITY_CONFIRM or message.kind != "dm" or not message.transfer_root:
            return
        now = self.clock.now()
        with self.uow() as s:
            rows = list(s.exec(select(Transfer).where(Transfer.root_tweet_id == message.transfer_root)))
            pending = [t for t in rows if t.status == Status.PENDING]
            for t in pending:
                self._set_status(s, t, Status.CANCELLED, now, reason="confirmation DM refused by X")
                s.add(t)
            if pending:
                first = pending[0]
                text = f"@{self._handle(s, first.sender_id)} {say('cant_dm', first.lang)}"
                self._queue_reply(s, first.command_tweet_id, text, root=message.transfer_root)
            s.commit()

    # ---------------------------------------------------------------- operator

    def paused(self) -> bool:
        """Whether an operator paused payments (`paybot pause`)."""
        with self.uow() as s:
            return get_checkpoint(s, "paused") == "1"

    def set_paused(self, on: bool) -> None:
        with self.uow() as s:
            set_checkpoint(s, "paused", "1" if on else "")
            s.commit()

    def operator_cancel(self, transfer_id: int) -> tuple[bool, str]:
        """Cancel a pending transfer and tell its sender; anything else is refused with the reason."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            if t is None:
                return False, f"no transfer {transfer_id}"
            if t.status != Status.PENDING:
                return False, f"transfer {transfer_id} is {t.status}; only a pending one can be cancelled"
            self._set_status(s, t, Status.CANCELLED, self.clock.now(), reason="cancelled by the operator")
            s.add(t)
            self._queue_dm(s, t.sender_id, say("cancelled", t.lang, code=t.code), PRIORITY_OUTCOME,
                           root=t.root_tweet_id)
            s.commit()
        return True, f"transfer {transfer_id} cancelled"

    def operator_refund(self, transfer_id: int) -> tuple[bool, str]:
        """Give a completed or held transfer's money back to its sender, once (the key makes it idempotent)."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
        if t is None:
            return False, f"no transfer {transfer_id}"
        if t.status == Status.RETURNED:
            return True, f"transfer {transfer_id} was already returned ({t.settle_ref})"
        if t.status not in (Status.COMPLETED, Status.HELD) or not t.payment_ref:
            return False, f"transfer {transfer_id} is {t.status}: no money moved, nothing to refund"

        def refund(row: Transfer) -> str:
            return self.provider.refund(key=row.settle_key or "", payment_ref=row.payment_ref or "",
                                        amount=money(row))

        def tell_sender(s: Session, row: Transfer) -> None:
            text = say("operator_refund", row.lang, recipient=self._handle(s, row.recipient_id), amount=money(row),
                       code=row.code)
            self._queue_dm(s, row.sender_id, text, PRIORITY_OUTCOME, root=row.root_tweet_id)

        if t.status == Status.COMPLETED:
            if step_of(t.settle_key) != Step.REFUND:
                # A claimed transfer's release key is spent; the refund gets one of its own.
                with self.uow() as s:
                    row = s.get(Transfer, t.id)
                    assert row is not None
                    row.settle_key = t.settle_key = None
                    s.add(row)
                    s.commit()
            done = self._settle([t], Step.REFUND, refund, Status.RETURNED, tell_sender, from_status=Status.COMPLETED)
        else:
            done = self._settle([t], Step.RETURN, refund, Status.RETURNED, tell_sender)
        if done:
            return True, f"transfer {transfer_id} refunded"
        with self.uow() as s:  # another refund of it (a second operator, the claim window) may have won
            now_row = s.get(Transfer, transfer_id)
        if now_row is not None and now_row.status == Status.RETURNED:
            return True, f"transfer {transfer_id} was already returned ({now_row.settle_ref})"
        return False, f"transfer {transfer_id}: the refund did not go through (see the log); try again"

    def reply_undeliverable(self, message: Outbox) -> None:
        """An outcome reply X refused (the command post was deleted): tell the payer by DM instead."""
        if not message.transfer_root or message.priority != PRIORITY_REPLY:
            return
        with self.uow() as s:
            told: dict[str, list[Transfer]] = defaultdict(list)
            for t in s.exec(select(Transfer).where(Transfer.root_tweet_id == message.transfer_root)):
                if t.status in (Status.COMPLETED, Status.HELD) and f"[{t.code}]" in message.text:
                    told[t.sender_id].append(t)
            for sender_id, rows in told.items():  # one receipt per payer, however many the reply named
                first, who = rows[0], msg.handles([self._handle(s, t.recipient_id) for t in rows])
                text = (say("receipt", first.lang, recipient=self._handle(s, first.recipient_id), amount=money(first),
                            code=first.code) if len(rows) == 1 else
                        say("receipt.many", first.lang, recipients=who, amount=money(first), code=first.code))
                self._queue_dm(s, sender_id, text, PRIORITY_OUTCOME, root=first.root_tweet_id)
            s.commit()

    def stale_names(self, items: list[Outbox]) -> set[str]:
        """The people these replies name whose handle X has not shown within HANDLE_FRESH: to look up."""
        ids = {uid for item in items for uid, _ in _named(item.names)}
        if not ids:
            return set()
        fresh_since = self.clock.now() - HANDLE_FRESH
        with self.uow() as s:
            rows = s.exec(select(User).where(col(User.id).in_(ids)))
            return {u.id for u in rows if u.seen_at is None or u.seen_at < fresh_since}

    def saw_users(self, found: dict[str, XUser]) -> None:
        """Record what a users lookup returned: current handles (renames) and when they were seen."""
        with self.uow() as s:
            for user in found.values():
                self._remember(s, user)
            s.commit()

    def prepare_reply(self, item_id: int, missing: frozenset[str] = frozenset()) -> Outbox | None:
        """Make a queued public reply's text final, just before its first send; None: nothing to send.

        - A request's reply drops a payer who said STOP since (their transfer is cancelled and the
          requester told by DM) and asks by DM one who went quiet or private; with nobody left, the
          reply is dropped. The caller only gets here once every DM sent before the reply was queued
          has been read.
        - Everyone else it names is named by the handle X showed last (after a rename, the new one);
          someone who said STOP, or whom X no longer knows (`missing`), is written without the @.
        The text is then stored as final (a resend after a crash posts the same text, which X refuses
        as a duplicate)."""
        with self.uow() as s:
            item = s.get(Outbox, item_id)
            if item is None or item.status not in ("queued", "sending"):
                return None
            if item.names is None:
                return item
            named = _named(item.names)
            texts = [item.text]
            rebuilt = item.category in ("ask", "ask_by_dm") and bool(item.version)
            if rebuilt:  # written again from the rows, with current handles
                texts = self._ask_again(s, item, {uid for uid, _ in named})
            renamed: dict[str, str] = {}
            for uid, old in [] if rebuilt else named:
                user = s.get(User, uid)
                if user is None:
                    continue
                if user.opted_out or uid in missing:
                    renamed[old.lower()] = old
                elif user.handle != old:
                    renamed[old.lower()] = f"@{user.handle}"
            if renamed:
                pattern = re.compile(r"@(" + "|".join(re.escape(h) for h in renamed) + r")(?![A-Za-z0-9_])", re.I)
                texts = [pattern.sub(lambda found: renamed[found.group(1).lower()], text) for text in texts]
            now = self.clock.now()
            item.names = None
            if not texts:
                item.status, item.error = "dropped", "nobody left to name"
            else:
                item.text = texts[0]
            for extra in texts[1:]:  # new handles too long for one post: the rest in replies of their own
                s.add(Outbox(kind="reply", priority=item.priority, in_reply_to=item.in_reply_to, text=extra,
                             next_attempt_at=now, created_at=now, transfer_root=item.transfer_root,
                             category=item.category, version=item.version))
            s.add(item)
            s.commit()
            return item if texts else None

    def _ask_again(self, s: Session, item: Outbox, named: set[str]) -> list[str]:
        """A request's public reply as it must read now: only the payers it names who are still pending,
        have not said STOP and still allow public replies, by their current handles."""
        rows = [t for t in s.exec(select(Transfer).where(
            Transfer.root_tweet_id == item.transfer_root, Transfer.command_tweet_id == item.version,
            Transfer.kind == "request", Transfer.status == Status.PENDING)) if t.sender_id in named]
        if not rows:
            return []
        first = rows[0]
        requester = s.get(User, first.recipient_id) or User(id=first.recipient_id, handle=first.recipient_id)
        now = self.clock.now()
        if requester.opted_out:  # they said STOP after asking: the request ends, nobody is named
            for t in rows:
                self._set_status(s, t, Status.CANCELLED, now, reason="the requester said STOP")
                s.add(t)
            return []
        ask = Ask(money(first), first.lang, first.memo, XUser(requester.id, requester.handle, requester.name))
        keep: list[XUser] = []
        codes: dict[str, str] = {}
        for t in rows:
            payer = s.get(User, t.sender_id) or User(id=t.sender_id, handle=t.sender_id)
            if payer.opted_out:
                self._set_status(s, t, Status.CANCELLED, now, reason="the payer said STOP")
                s.add(t)
                text = say("request_payer_left", t.lang, payer=payer.handle, amount=money(t), code=t.code)
                self._queue_dm(s, t.recipient_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
            elif payer.privacy != "public" and item.category == "ask":
                self._queue_dm(s, t.sender_id, self._ask_dm_text(ask, t.code), PRIORITY_CONFIRM,
                               root=t.root_tweet_id, version=t.command_tweet_id)
            else:
                keep.append(XUser(payer.id, payer.handle, payer.name))
                codes[payer.id] = t.code
        if not keep:
            return []
        if item.category == "ask_by_dm":
            return [self._by_dm_text(ask, keep)]
        return [text for text, _ in self._request_texts(ask, keep, codes)]

    def confirmation_sent(self, s: Session, message: Outbox) -> None:
        """A confirmation request went out: its time to answer runs from now, not from the post.

        Under DM rate limits a confirmation can wait in the outbox; the person
        is told "expires in 10 min" and must have those 10 minutes. Runs in
        the caller's transaction (the one that marks the message sent)."""
        if message.priority != PRIORITY_CONFIRM or not message.transfer_root:
            return
        now = self.clock.now()
        at = min(message.sent_at or now, now)
        query = select(Transfer).where(Transfer.root_tweet_id == message.transfer_root,
                                       Transfer.status == Status.PENDING)
        if message.version:  # an older version's confirmation asks nothing of the newer one
            query = query.where(Transfer.command_tweet_id == message.version)
        for t in s.exec(query):
            if message.kind == "dm" and t.sender_id != message.to_user_id:
                continue
            if message.kind == "reply" and say("request_reply.code", t.lang, code=t.code) not in message.text:
                continue  # a request's payers may be asked in several replies: each asks those it names
            ttl = self.policy.confirm_ttl if t.kind == "send" else self.policy.request_ttl
            if t.expires_at < at + ttl:
                t.expires_at = at + ttl
            if t.asked_at is None:
                t.asked_at, t.asked_id = at, message.x_id
            s.add(t)

    def awaiting_answers(self) -> bool:
        """Whether anyone has a confirmation to answer (pending transfers)."""
        with self.uow() as s:
            return s.exec(select(Transfer.id).where(Transfer.status == Status.PENDING).limit(1)).first() is not None

    def set_aside(self, what: str) -> None:
        """Mark a mention or DM that keeps failing as processed, so it stops blocking the rest."""
        kind, _, xid = what.partition(" ")
        table = ProcessedTweet if kind == "mention" else ProcessedDm
        with self.uow() as s:
            if s.get(table, xid) is None:
                s.add(table(id=xid, processed_at=self.clock.now()))
                s.commit()
        log.error("%s set aside after repeated failures", what)

    def next_due(self) -> datetime | None:
        """The next time something becomes due (an expiry or the end of a claim window)."""
        with self.uow() as s:
            times = [
                s.exec(select(Transfer.expires_at).where(Transfer.status == Status.PENDING)
                       .order_by(col(Transfer.expires_at)).limit(1)).first(),
                s.exec(select(Transfer.hold_until).where(col(Transfer.status).in_((Status.HELD, Status.NEEDS_AUTH)))
                       .order_by(col(Transfer.hold_until)).limit(1)).first(),
            ]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    # ------------------------------------------------------------------ helpers

    def _set_status(self, s: Session, t: Transfer, new: Status, now: datetime, reason: str | None = None) -> None:
        """Move a transfer along the state machine and write the step to its timeline."""
        t.status = transition(t.status, new)
        t.updated_at = now
        if reason:
            t.reason = reason
        s.add(TransferEvent(transfer_id=saved_id(t), at=now, status=str(new), note=reason))

    def _remember(self, s: Session, user: XUser, *, wrote: bool = False) -> None:
        """Keep what X just showed of a user: the handle (renames), when it was seen, and whether they
        wrote to the bot. The times are only rewritten when older than SEEN_EVERY (fewer writes)."""
        if not user.id or not user.handle:
            return
        now = self.clock.now()
        row = s.get(User, user.id)
        if row is None:
            row = User(id=user.id, handle=user.handle, name=user.name, updated_at=now, seen_at=now,
                       wrote_at=now if wrote else None)
        elif (row.handle != user.handle or (user.name and row.name != user.name)
              or row.seen_at is None or now - row.seen_at > SEEN_EVERY
              or (wrote and (row.wrote_at is None or now - row.wrote_at > SEEN_EVERY))):
            if row.handle != user.handle or (user.name and row.name != user.name):
                row.handle = user.handle
                row.name = user.name or row.name
                row.updated_at = now
            row.seen_at = now
            if wrote:
                row.wrote_at = now
        else:
            return
        s.add(row)

    def _handle(self, s: Session, user_id: str) -> str:
        row = s.get(User, user_id)
        return row.handle if row else user_id

    def _queue_dm(self, s: Session, user_id: str, text: str, priority: int, root: str | None = None,
                  version: str | None = None, category: str | None = None) -> None:
        now = self.clock.now()
        s.add(Outbox(kind="dm", priority=priority, to_user_id=user_id, text=text, next_attempt_at=now,
                     created_at=now, transfer_root=root, version=version, category=category,
                     about_user_id=user_id if category else None))

    def _may_answer(self, s: Session, user_id: str, lang: str) -> bool:
        """Whether a DM that moves no money (help, history, settings, an unreadable or unmatched
        answer) may still be answered: at most `policy.dm_answers_per_hour` an hour per person, the
        last of them saying so. Each answer is a paid DM from a shared daily budget."""
        since = self.clock.now() - timedelta(hours=1)
        sent = s.exec(select(func.count()).select_from(Outbox).where(
            Outbox.about_user_id == user_id, Outbox.category == "dm_answer", Outbox.created_at >= since)).one()
        limit = self.policy.dm_answers_per_hour
        if sent == limit - 1:
            self._queue_dm(s, user_id, say("dm.slow_down", lang), PRIORITY_OUTCOME, category="dm_answer")
        if sent >= limit - 1:
            log.info("not answering user %s again within the hour: %d answers already", user_id, sent,
                     extra={"user_id": user_id})
            return False
        return True

    def _answer_dm(self, s: Session, user_id: str, text: str, lang: str, priority: int = PRIORITY_OUTCOME) -> None:
        """Queue an answer that moves no money, within the per-person hourly allowance."""
        if self._may_answer(s, user_id, lang):
            self._queue_dm(s, user_id, text, priority, category="dm_answer")

    def _queue_reply(self, s: Session, tweet_id: str, text: str, *, root: str | None = None,
                     priority: int = PRIORITY_REPLY, category: str | None = None, about: str | None = None,
                     version: str | None = None, names: list[str] | None = None) -> None:
        """Queue a public reply. `names`: the user ids it @-names, checked again before it is sent."""
        now = self.clock.now()
        named = " ".join(f"{uid}:{self._handle(s, uid)}" for uid in dict.fromkeys(names)) if names else None
        s.add(Outbox(kind="reply", priority=priority, in_reply_to=tweet_id, text=text, next_attempt_at=now,
                     created_at=now, transfer_root=root, category=category, about_user_id=about, version=version,
                     names=named))

