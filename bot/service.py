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
from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel import Session, col, select

from bot import messages as msg
from bot.commands import Command, DmCommand, parse_command, parse_dm
from bot.domain import COUNTS_TOWARDS_LIMIT, CodeFactory, Policy, Status, random_code, transition
from bot.errors import CommandError, ProviderError, ProviderTransient
from bot.faults import fault_point
from bot.money import Money
from bot.ports import Clock, DirectMessage, Mention, Onboarding, PaymentProvider, PayOutcome, XUser
from bot.store import (
    PRIORITY_CONFIRM,
    PRIORITY_OUTCOME,
    PRIORITY_REPLY,
    Outbox,
    ProcessedDm,
    ProcessedTweet,
    Transfer,
    UnitOfWork,
    User,
)

log = logging.getLogger(__name__)


@dataclass
class Service:
    uow: UnitOfWork
    provider: PaymentProvider
    clock: Clock
    policy: Policy
    bot_id: str
    bot_handle: str
    currency: str = "USD"
    new_code: CodeFactory = random_code

    # ----------------------------------------------------------------- mentions

    def on_mention(self, m: Mention, *, since: datetime | None = None) -> bool:
        """Handle one mention once. Posts older than `since` are recorded, not acted on.

        Returns True when the mention was new.
        """
        with self.uow() as s:
            if s.get(ProcessedTweet, m.id):
                return False
            s.add(ProcessedTweet(id=m.id, processed_at=self.clock.now()))
            self._remember(s, XUser(m.author_id, m.author_handle, m.author_name))
            for user in m.mentioned.values():
                self._remember(s, user)
            if since is None or m.created_at >= since:
                self._handle_mention(s, m)
            s.commit()
        return True

    def _handle_mention(self, s: Session, m: Mention) -> None:
        if m.author_id == self.bot_id or m.is_repost:
            return
        if m.id != m.root_id and self._answered(s, m.root_id):
            log.info("post %s edits a command already answered; ignored", m.id)
            return
        try:
            cmd = parse_command(self._command_text(m), bot=self.bot_handle, currency=self.currency)
        except CommandError as err:
            if not err.quiet:
                self._void_pending_edit(s, m)
                self._queue_reply(s, m.id, msg.error_reply(m.author_handle, err.message))
            return
        if cmd.kind == "help":
            self._queue_reply(s, m.id, msg.tweet_help(m.author_handle, self.bot_handle))
            return
        try:
            self._ask(s, m, cmd)
        except CommandError as err:
            self._void_pending_edit(s, m)
            self._queue_reply(s, m.id, msg.error_reply(m.author_handle, err.message))

    def _command_text(self, m: Mention) -> str:
        """The part of the post to parse: from display_text_range on, as if addressed to the bot.

        The leading @handles of a reply are context; when the bot is named only
        there, the visible text is still a command to it.
        """
        shown = m.text[m.display_start :]
        mention = re.compile(rf"@{re.escape(self.bot_handle)}(?![A-Za-z0-9_])", re.I)
        if not mention.search(shown) and mention.search(m.text[: m.display_start]):
            return f"@{self.bot_handle} {shown}"
        return shown

    def _ask(self, s: Session, m: Mention, cmd: Command) -> None:
        assert cmd.amount is not None
        existing = list(s.exec(select(Transfer).where(Transfer.root_tweet_id == m.root_id)))
        dropped = {t.recipient_id for t in existing if t.reason == "edited"}
        live = [t for t in existing if t.recipient_id not in dropped]
        if any(t.status != Status.PENDING for t in live):
            return
        if live and int(m.id) <= max(int(t.command_tweet_id) for t in live):
            return  # an older version delivered late
        recipients: list[XUser] = []
        for handle in cmd.recipients:
            user = m.mentioned.get(handle)
            if user is None:
                raise CommandError(f"I can't find @{handle} on X.")
            if user.id == m.author_id:
                raise CommandError("You can't send money to yourself.")
            if user.id == self.bot_id:
                raise CommandError(f"@{self.bot_handle} can't receive payments.")
            recipients.append(user)
        if dropped & {u.id for u in recipients}:
            # That recipient's row was voided by an earlier edit; a transfer is
            # keyed by (post, recipient), so it cannot be asked again.
            raise CommandError(msg.edit_too_late())
        by_recipient = {t.recipient_id: t for t in live}
        spent = self._spent_today(s, m.author_id, cmd.amount.currency, exclude=m.root_id)
        self.policy.check(cmd.amount, len(recipients), spent)
        now = self.clock.now()
        code = self._fresh_code(s, m.author_id)
        keep = {u.id for u in recipients}
        for t in live:
            if t.recipient_id not in keep:
                self._set_status(t, Status.CANCELLED, now, reason="edited")
                s.add(t)
        for user in recipients:
            t = by_recipient.get(user.id)
            if t is None:
                t = Transfer(
                    root_tweet_id=m.root_id,
                    recipient_id=user.id,
                    sender_id=m.author_id,
                    status=Status.PENDING,
                    created_at=now,
                    command_tweet_id=m.id,
                    amount_minor=0,
                    currency=cmd.amount.currency,
                    code=code,
                    expires_at=now,
                    updated_at=now,
                )
            t.command_tweet_id = m.id
            t.amount_minor = cmd.amount.minor
            t.currency = cmd.amount.currency
            t.memo = cmd.memo
            t.code = code
            t.expires_at = now + self.policy.confirm_ttl
            t.updated_at = now
            s.add(t)
        text = msg.confirm_request(
            cmd.amount,
            [(u.handle, u.name) for u in recipients],
            cmd.memo,
            self.policy.confirm_ttl,
            code,
            self.provider.has_card(m.author_id),
        )
        self._queue_dm(s, m.author_id, text, PRIORITY_CONFIRM, root=m.root_id)

    def _answered(self, s: Session, root_id: str) -> bool:
        """Whether the command posted as root_id got an answer (yes, no, expiry) already."""
        rows = s.exec(select(Transfer).where(Transfer.root_tweet_id == root_id))
        return any(t.status != Status.PENDING and t.reason != "edited" for t in rows)

    def _void_pending_edit(self, s: Session, m: Mention) -> None:
        """An edit that no longer reads as a valid command cancels the pending request."""
        if m.root_id == m.id:
            return
        now = self.clock.now()
        for t in s.exec(select(Transfer).where(Transfer.root_tweet_id == m.root_id)):
            if t.status == Status.PENDING:
                self._set_status(t, Status.CANCELLED, now, reason="edited")
                s.add(t)

    def _spent_today(self, s: Session, sender_id: str, currency: str, *, exclude: str) -> Money:
        midnight = datetime.combine(self.clock.now().date(), time(), tzinfo=self.clock.now().tzinfo)
        rows = s.exec(
            select(Transfer).where(
                Transfer.sender_id == sender_id,
                Transfer.currency == currency,
                col(Transfer.status).in_([str(x) for x in COUNTS_TOWARDS_LIMIT]),
                Transfer.created_at >= midnight,
                Transfer.root_tweet_id != exclude,
            )
        )
        return Money(sum(t.amount_minor for t in rows), currency)

    def _fresh_code(self, s: Session, sender_id: str) -> str:
        taken = set(
            s.exec(
                select(Transfer.code).where(
                    Transfer.sender_id == sender_id, Transfer.status == Status.PENDING
                )
            )
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
        claim = False
        with self.uow() as s:
            if s.get(ProcessedDm, dm.id):
                return False
            s.add(ProcessedDm(id=dm.id, processed_at=self.clock.now()))
            if dm.sender_id != self.bot_id and self._own_conversation(dm):
                if dm.sender_handle:
                    self._remember(s, XUser(dm.sender_id, dm.sender_handle))
                try:
                    cmd = parse_dm(dm.text)
                except CommandError as err:
                    self._queue_dm(s, dm.sender_id, err.message, PRIORITY_OUTCOME)
                else:
                    to_run, claim = self._dm_command(s, dm.sender_id, cmd)
            s.commit()
        for transfer_id in to_run:
            self.execute(transfer_id)
        if claim:
            self.claim(dm.sender_id)
        return True

    def _own_conversation(self, dm: DirectMessage) -> bool:
        """Only the one-to-one conversation between the sender and the bot counts."""
        if not dm.conversation_id:
            return True
        pair = "-".join(sorted((dm.sender_id, self.bot_id), key=int))
        return dm.conversation_id == pair

    def _dm_command(self, s: Session, user_id: str, cmd: DmCommand) -> tuple[list[int], bool]:
        if cmd.kind in ("confirm", "cancel"):
            return self._answer(s, user_id, cmd.code, confirm=cmd.kind == "confirm"), False
        if cmd.kind == "register":
            try:
                text = self.provider.register(user_id)
            except ProviderError:
                log.exception("register failed for user %s", user_id)
                text = "I couldn't start the card setup just now; please try REGISTER again later."
            self._queue_dm(s, user_id, text, PRIORITY_OUTCOME)
            return [], False
        if cmd.kind == "claim":
            return [], True
        self._queue_dm(s, user_id, msg.DM_HELP_TEXT, PRIORITY_OUTCOME)
        return [], False

    def _answer(self, s: Session, user_id: str, code: str | None, *, confirm: bool) -> list[int]:
        """Apply a yes or a no from `user_id`; returns the transfers to execute now."""
        now = self.clock.now()
        pending = list(
            s.exec(
                select(Transfer)
                .where(Transfer.sender_id == user_id, Transfer.status == Status.PENDING)
                .order_by(col(Transfer.id))
            )
        )
        for t in pending:
            if t.expires_at <= now:
                self._set_status(t, Status.EXPIRED, now)
                s.add(t)
        live = [t for t in pending if t.status == Status.PENDING]
        groups: dict[str, list[Transfer]] = defaultdict(list)
        for t in live:
            groups[t.code].append(t)
        if code:
            target = groups.get(code)
            if target is None:
                self._queue_dm(s, user_id, self._why_not(s, user_id, code), PRIORITY_OUTCOME)
                return []
        elif len(groups) == 1:
            target = next(iter(groups.values()))
        elif not groups:
            self._queue_dm(s, user_id, self._why_not(s, user_id, None), PRIORITY_OUTCOME)
            return []
        else:
            options = [
                (c, Money(ts[0].amount_minor, ts[0].currency), [self._handle(s, t.recipient_id) for t in ts])
                for c, ts in groups.items()
            ]
            self._queue_dm(s, user_id, msg.choose_code(options), PRIORITY_CONFIRM)
            return []
        first = target[0]
        if not confirm:
            for t in target:
                self._set_status(t, Status.CANCELLED, now, reason="sender said no")
                s.add(t)
            self._queue_dm(s, user_id, msg.cancelled(first.code), PRIORITY_OUTCOME)
            return []
        if not self.provider.has_card(user_id):
            self._queue_dm(s, user_id, msg.no_card(first.code), PRIORITY_OUTCOME)
            return []
        for t in target:
            self._set_status(t, Status.EXECUTING, now)
            t.pay_key = f"pay:{t.root_tweet_id}:{t.recipient_id}"
            s.add(t)
        return [t.id for t in target if t.id is not None]

    def _why_not(self, s: Session, user_id: str, code: str | None) -> str:
        """The answer to a yes/no that matches no pending request."""
        query = select(Transfer).where(Transfer.sender_id == user_id)
        if code:
            query = query.where(Transfer.code == code)
        last = s.exec(query.order_by(col(Transfer.updated_at).desc(), col(Transfer.id).desc())).first()
        if last is None:
            return msg.nothing_to_confirm(code)
        if last.status == Status.EXPIRED:
            group = s.exec(select(Transfer).where(Transfer.root_tweet_id == last.root_tweet_id))
            handles = [self._handle(s, t.recipient_id) for t in group if t.status == Status.EXPIRED]
            amount = Money(last.amount_minor, last.currency)
            return msg.expired(amount, handles, last.expires_at, last.code)
        if code or self.clock.now() - last.updated_at < self.policy.confirm_ttl:
            return msg.already_done(last.code, last.status)
        return msg.nothing_to_confirm(None)

    # -------------------------------------------------------------------- money

    def execute(self, transfer_id: int) -> None:
        """Drive one executing transfer through the provider and record the result."""
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            if t is None or t.status != Status.EXECUTING or not t.pay_key:
                return
            amount = Money(t.amount_minor, t.currency)
            args = dict(key=t.pay_key, sender_id=t.sender_id, recipient_id=t.recipient_id, memo=t.memo)
        fault_point("before_pay")
        try:
            result = self.provider.pay(amount=amount, **args)  # type: ignore[arg-type]
        except ProviderTransient:
            log.warning("provider did not answer for transfer %s; will retry", transfer_id)
            return
        fault_point("after_pay")
        now = self.clock.now()
        with self.uow() as s:
            t = s.get(Transfer, transfer_id)
            if t is None or t.status != Status.EXECUTING:
                return
            sender, recipient = self._handle(s, t.sender_id), self._handle(s, t.recipient_id)
            t.payment_ref = result.ref
            if result.outcome == PayOutcome.PAID:
                self._set_status(t, Status.COMPLETED, now)
                self._queue_reply(s, t.command_tweet_id, msg.sent_reply(sender, recipient, amount, t.code), root=t.root_tweet_id)
            elif result.outcome == PayOutcome.HELD:
                self._set_status(t, Status.HELD, now)
                t.hold_until = now + self.policy.claim_window
                self._queue_reply(
                    s, t.command_tweet_id,
                    msg.held_reply(sender, recipient, amount, t.hold_until, t.code),
                    root=t.root_tweet_id,
                )
            else:
                self._set_status(t, Status.FAILED, now, reason=result.reason or str(result.outcome))
                if result.outcome == PayOutcome.NEEDS_AUTH:
                    text = msg.needs_auth(recipient, amount, t.code)
                elif result.outcome == PayOutcome.NO_CARD:
                    text = msg.no_card(t.code)
                else:
                    text = msg.declined(recipient, amount, result.reason or "declined", t.code)
                self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
            s.add(t)
            s.commit()
        fault_point("after_commit")

    def resume(self) -> int:
        """Finish what a crash interrupted: executing transfers and half-done releases."""
        with self.uow() as s:
            executing = list(s.exec(select(Transfer.id).where(Transfer.status == Status.EXECUTING)))
            releasing = list(
                s.exec(
                    select(Transfer.recipient_id).where(
                        Transfer.status == Status.HELD, col(Transfer.settle_key).startswith("release:")
                    )
                )
            )
        for transfer_id in executing:
            if transfer_id is not None:
                self.execute(transfer_id)
        for user_id in set(releasing):
            self.claim(user_id, resuming=True)
        return len(executing) + len(set(releasing))

    def expire_due(self) -> int:
        """Move every pending request past its time to expired (no message: a late yes is answered)."""
        now = self.clock.now()
        with self.uow() as s:
            rows = list(
                s.exec(select(Transfer).where(Transfer.status == Status.PENDING, Transfer.expires_at <= now))
            )
            for t in rows:
                self._set_status(t, Status.EXPIRED, now)
                s.add(t)
            s.commit()
        return len(rows)

    def claim(self, user_id: str, *, resuming: bool = False) -> None:
        """The recipient asked for the money held for them: onboard, then release each transfer.

        `resuming` finishes releases a crash interrupted, without onboarding again."""
        try:
            onboarding = Onboarding(ready=True) if resuming else self.provider.onboard(user_id)
        except ProviderError:
            log.exception("onboarding failed for user %s", user_id)
            return
        if not onboarding.ready:
            with self.uow() as s:
                self._queue_dm(s, user_id, msg.onboarding_link(onboarding.url or ""), PRIORITY_OUTCOME)
                s.commit()
            return
        with self.uow() as s:
            held = list(
                s.exec(
                    select(Transfer)
                    .where(Transfer.recipient_id == user_id, Transfer.status == Status.HELD)
                    .order_by(col(Transfer.id))
                )
            )
        # A transfer already being returned to its sender is not released.
        held = [t for t in held if not (t.settle_key or "").startswith("return:")]
        done: list[tuple[str, Money]] = []

        def release(t: Transfer) -> str:
            return self.provider.release(key=t.settle_key or "", payment_ref=t.payment_ref or "",
                                         recipient_id=user_id, amount=Money(t.amount_minor, t.currency))

        def record(s: Session, t: Transfer) -> None:
            done.append((self._handle(s, t.sender_id), Money(t.amount_minor, t.currency)))

        self._settle(held, "release", release, Status.COMPLETED, record)
        if done or not resuming:
            with self.uow() as s:
                text = msg.claimed(done) if done else msg.claim_nothing()
                self._queue_dm(s, user_id, text, PRIORITY_OUTCOME)
                s.commit()

    def return_due(self) -> int:
        """Give held money back to the sender when the claim window is over."""
        with self.uow() as s:
            due = list(
                s.exec(
                    select(Transfer).where(Transfer.status == Status.HELD, col(Transfer.hold_until) <= self.clock.now())
                )
            )
        # A release under way (the recipient claimed) wins over the return.
        due = [t for t in due if not (t.settle_key or "").startswith("release:")]

        def refund(t: Transfer) -> str:
            return self.provider.refund(key=t.settle_key or "", payment_ref=t.payment_ref or "",
                                        amount=Money(t.amount_minor, t.currency))

        def tell_sender(s: Session, t: Transfer) -> None:
            amount = Money(t.amount_minor, t.currency)
            text = msg.returned(self._handle(s, t.recipient_id), amount, self.policy.claim_window.days, t.code)
            self._queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)

        return len(self._settle(due, "return", refund, Status.RETURNED, tell_sender))

    def _settle(
        self,
        transfers: list[Transfer],
        step: str,
        call: Callable[[Transfer], str],
        new: Status,
        on_done: Callable[[Session, Transfer], None],
    ) -> list[Transfer]:
        """Settle held money in the same three steps as a payment: store the key, call, record.

        `on_done` runs in the transaction that records the new status, so a
        message about it is queued exactly when the status changes."""
        with self.uow() as s:
            for t in transfers:
                row = s.get(Transfer, t.id)
                if row is not None and not row.settle_key:
                    row.settle_key = t.settle_key = f"{step}:{row.root_tweet_id}:{row.recipient_id}"
                    s.add(row)
            s.commit()
        settled = []
        for t in transfers:
            try:
                ref = call(t)
            except ProviderTransient:
                log.warning("%s of transfer %s did not finish; will retry", step, t.id)
                continue
            except ProviderError:
                log.exception("%s of transfer %s was refused by the provider", step, t.id)
                continue
            with self.uow() as s:
                row = s.get(Transfer, t.id)
                if row is None or row.status != Status.HELD:
                    continue
                row.settle_ref = ref
                self._set_status(row, new, self.clock.now())
                s.add(row)
                on_done(s, row)
                s.commit()
                settled.append(row)
        return settled

    def dm_undeliverable(self, message: Outbox) -> None:
        """A confirmation DM could not be delivered: cancel the request and say so publicly."""
        if message.priority != PRIORITY_CONFIRM or not message.transfer_root:
            return
        now = self.clock.now()
        with self.uow() as s:
            rows = list(s.exec(select(Transfer).where(Transfer.root_tweet_id == message.transfer_root)))
            pending = [t for t in rows if t.status == Status.PENDING]
            for t in pending:
                self._set_status(t, Status.CANCELLED, now, reason="confirmation DM refused by X")
                s.add(t)
            if pending:
                handle = self._handle(s, pending[0].sender_id)
                self._queue_reply(s, pending[0].command_tweet_id, msg.cant_dm(handle), root=message.transfer_root)
            s.commit()

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
                s.exec(select(Transfer.expires_at).where(Transfer.status == Status.PENDING).order_by(col(Transfer.expires_at))).first(),
                s.exec(select(Transfer.hold_until).where(Transfer.status == Status.HELD).order_by(col(Transfer.hold_until))).first(),
            ]
        found = [t for t in times if t is not None]
        return min(found) if found else None

    # ------------------------------------------------------------------ helpers

    def _set_status(self, t: Transfer, new: Status, now: datetime, reason: str | None = None) -> None:
        t.status = transition(t.status, new)
        t.updated_at = now
        if reason:
            t.reason = reason

    def _remember(self, s: Session, user: XUser) -> None:
        if not user.id or not user.handle:
            return
        row = s.get(User, user.id)
        if row is None:
            row = User(id=user.id, handle=user.handle, name=user.name, updated_at=self.clock.now())
        elif row.handle != user.handle or (user.name and row.name != user.name):
            row.handle = user.handle
            row.name = user.name or row.name
            row.updated_at = self.clock.now()
        else:
            return
        s.add(row)

    def _handle(self, s: Session, user_id: str) -> str:
        row = s.get(User, user_id)
        return row.handle if row else user_id

    def _queue_dm(self, s: Session, user_id: str, text: str, priority: int, root: str | None = None) -> None:
        now = self.clock.now()
        s.add(Outbox(kind="dm", priority=priority, to_user_id=user_id, text=text,
                     next_attempt_at=now, created_at=now, transfer_root=root))

    def _queue_reply(self, s: Session, tweet_id: str, text: str, root: str | None = None) -> None:
        now = self.clock.now()
        s.add(Outbox(kind="reply", priority=PRIORITY_REPLY, in_reply_to=tweet_id, text=text,
                     next_attempt_at=now, created_at=now, transfer_root=root))
