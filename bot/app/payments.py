"""Money moves: drive an executing transfer through the provider, record the answer, tell the outcome."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot import messages as msg
from bot.app.base import Context, handle_of, money, saved_id, set_status
from bot.app.common import Common
from bot.domain import Privacy, Reason, Status, TransferKind
from bot.domain.entities import PRIORITY_OUTCOME, PRIORITY_URGENT, Transfer, User
from bot.domain.marks import Mark
from bot.errors import AmountTooSmall, IdempotencyError, ProviderError, ProviderTransient, ScaRequired
from bot.faults import fault_point
from bot.logs import transfer_context
from bot.messages import span
from bot.messages import text as say
from bot.ports import PayOutcome, PayResult
from bot.repo.port import Tx

log = logging.getLogger(__name__)


class Payments:
    """Executing transfers through the provider, and their outcome."""

    def __init__(self, ctx: Context, common: Common) -> None:
        self.ctx = ctx
        self.common = common

    def execute(self, transfer_id: int) -> None:
        """Drive one executing transfer through the provider and record the result."""
        self.execute_many([transfer_id])

    def execute_many(self, ids: list[int]) -> None:
        """Drive these executing transfers through the provider: read in one unit of work, each paid with its
        key, the answers recorded in one (a crash in between leaves them executing, driven again with the
        same keys)."""
        plans: list[tuple[int, bool, dict[str, Any]]] = []
        with self.ctx.uow() as s:
            if s.checkpoints.flag(Mark.PAUSED):
                return  # confirmed, and executed when an operator resumes
            rows = [t for t in s.transfers.many(ids) if t.status == Status.EXECUTING and t.pay_key]
            s.users.many({t.recipient_id for t in rows})  # one read for the checks below
            refused = False
            for t in rows:
                recipient = s.users.get(t.recipient_id)
                if recipient is not None and recipient.opted_out:
                    # Refused before anyone is charged.
                    self._record(s, t, PayResult(PayOutcome.DECLINED, reason=Reason.RECIPIENT_OPTED_OUT))
                    refused = True
                    continue
                args = dict(
                    key=t.pay_key,
                    sender_id=t.sender_id,
                    recipient_id=t.recipient_id,
                    memo=t.memo,
                    amount=money(t),
                    reference={
                        "transfer_id": str(t.id),
                        "root_tweet_id": t.root_tweet_id,
                        "sender_x_id": t.sender_id,
                        "recipient_x_id": t.recipient_id,
                    },
                )
                # The provider forgets keys after a day: past that, a retry could charge twice, so look it up.
                stale = self.ctx.clock.now() - t.updated_at > self.ctx.policy.key_lifetime
                plans.append((saved_id(t), stale, args))
            if refused:
                s.commit()
        results: list[tuple[int, PayResult]] = []
        for transfer_id, stale, args in plans:
            fault_point("before_pay")
            result = self._pay(transfer_id, stale, args)
            fault_point("after_pay")
            if result is not None:
                results.append((transfer_id, result))
        if results:
            self.apply_results(results, (Status.EXECUTING,))
            fault_point("after_commit")

    def _pay(self, transfer_id: int, stale: bool, args: dict[str, Any]) -> PayResult | None:
        """The provider's answer for one payment; None when it must be tried again later (left executing)."""
        try:
            if stale:
                found = self.ctx.provider.lookup(args["key"], args["sender_id"])
                return found or PayResult(
                    PayOutcome.DECLINED, reason="not charged: the provider has no record of this payment"
                )
            return self.ctx.provider.pay(**args)
        except ProviderTransient:
            log.warning(
                "provider did not answer for transfer %s; will retry",
                transfer_id,
                extra={"transfer_id": transfer_id, "user_id": args["sender_id"]},
            )
            self.common.provider_failed()
            return None
        except IdempotencyError:
            # The key was used with other parameters and the provider cannot say what became of it:
            # left executing for an operator (`paybot reconcile` lists it), never charged again.
            log.error(
                "transfer %s: its payment key was used with other parameters; see paybot reconcile",
                transfer_id,
                extra={"transfer_id": transfer_id, "user_id": args["sender_id"]},
            )
            self.common.provider_failed()
            return None
        except ScaRequired:
            # The sender's account cannot be read without their own SCA (a Mangopay Owner's wallet, every 180 days):
            # what became of the payment is not known, so nothing is concluded (never "not charged").
            log.error(
                "transfer %s: the sender's account cannot be read without their SCA; left executing, see "
                "paybot reconcile",
                transfer_id,
                extra={"transfer_id": transfer_id, "user_id": args["sender_id"]},
            )
            self.common.provider_failed()
            return None
        except AmountTooSmall as err:  # below the provider's minimum after conversion: retrying cannot help
            log.warning(
                "provider refused transfer %s as too small: %s",
                transfer_id,
                err,
                extra={"transfer_id": transfer_id, "user_id": args["sender_id"]},
            )
            return PayResult(PayOutcome.DECLINED, reason=Reason.TOO_SMALL)
        except ProviderError as err:  # refused outright (a 4xx): nothing was charged
            log.error(
                "provider refused transfer %s: %s",
                transfer_id,
                err,
                extra={"transfer_id": transfer_id, "user_id": args["sender_id"]},
            )
            self.common.provider_failed()
            return PayResult(PayOutcome.DECLINED, reason=f"not charged: {err}")

    def queue_approval(
        self, s: Tx, t: Transfer, lang: str, url: str, valid_for: timedelta | None, charged: bool, words: dict[str, Any]
    ) -> None:
        """The DM with the page where the sender approves this payment, saying how long it stays open and
        whether their card was already charged. A page that closes within the hour goes before every
        other message (a queue of confirmations must not keep it back until it has closed)."""
        window = valid_for or self.ctx.policy.auth_window
        text = say(
            "needs_auth.link_charged" if charged else "needs_auth.link",
            lang,
            url=url,
            within=span(window, lang),
            **words,
        )
        urgent = window <= timedelta(hours=1)
        self.common.queue_dm(
            s, t.sender_id, text, PRIORITY_URGENT if urgent else PRIORITY_OUTCOME, root=t.root_tweet_id
        )

    def apply_result(self, transfer_id: int, result: PayResult, expected: tuple[Status, ...]) -> bool:
        """Record the provider's answer if the transfer is still in one of the `expected` statuses."""
        return self.apply_results([(transfer_id, result)], expected) == 1

    def apply_results(self, results: list[tuple[int, PayResult]], expected: tuple[Status, ...]) -> int:
        """Record the provider's answers, in one unit of work, for the transfers still in one of the
        `expected` statuses; returns how many were recorded."""
        done: list[Transfer] = []
        with self.ctx.uow() as s:
            rows = {t.id: t for t in s.transfers.many([tid for tid, _ in results])}
            s.users.many({uid for t in rows.values() for uid in (t.sender_id, t.recipient_id)})  # one read
            s.transfers.of_roots({t.root_tweet_id for t in rows.values()})  # one read for their commands
            for transfer_id, result in results:
                t = rows.get(transfer_id)
                if t is None or t.status not in expected:
                    continue
                self._record(s, t, result)
                done.append(t)
            if done:
                s.commit()
        for t in done:
            log.info("transfer %s: %s", t.id, t.status, extra=transfer_context(t))
        return len(done)

    def _record(self, s: Tx, t: Transfer, result: PayResult) -> None:
        """Apply the provider's answer to an executing transfer and queue what it says."""
        now = self.ctx.clock.now()
        lang, amount = t.lang, money(t)
        sender, recipient = handle_of(s, t.sender_id), handle_of(s, t.recipient_id)
        privacy = (s.users.get(t.sender_id) or User(id="", handle="")).privacy
        was = t.status
        t.payment_ref = result.ref or t.payment_ref
        words = dict(sender=sender, recipient=recipient, amount=amount, code=t.code)
        if result.outcome == PayOutcome.NEEDS_AUTH and result.url and t.status == Status.EXECUTING:
            # Recoverable: the sender approves this very payment on the provider's page.
            set_status(s, t, Status.NEEDS_AUTH, now, reason=Reason.APPROVAL_ASKED)
            t.hold_until = now + self.ctx.policy.auth_window
            self.queue_approval(s, t, lang, result.url, result.valid_for, result.charged, words)
        elif result.outcome in (PayOutcome.PAID, PayOutcome.HELD):
            held = result.outcome == PayOutcome.HELD
            set_status(s, t, Status.HELD if held else Status.COMPLETED, now)
            if held:
                t.hold_until = now + self.ctx.policy.claim_window
            self._tell_outcome(s, t, privacy)
        else:
            set_status(s, t, Status.FAILED, now, reason=result.reason or str(result.outcome))
            if result.reason == Reason.RECIPIENT_OPTED_OUT:
                text = say("recipient_left", lang, **words)
            elif result.reason == Reason.TOO_SMALL:
                text = say("too_small", lang, **words)
            elif (result.reason or "").startswith("not charged"):
                text = say("not_charged", lang, **words)
            elif was == Status.NEEDS_AUTH:
                text = say("auth_lapsed.refunded" if result.charged else "auth_lapsed", lang, **words)
            elif result.outcome == PayOutcome.NEEDS_AUTH:
                text = say("needs_auth", lang, **words)
            elif result.outcome == PayOutcome.NO_CARD:
                text = say("no_card", lang, code=t.code)
            elif (result.reason or "").startswith("your "):  # the payer's own account stopped it, not their card
                text = say("declined.account", lang, reason=msg.reason(result.reason or "", lang), **words)
            else:
                text = say("declined", lang, reason=msg.reason(result.reason or "declined by the bank", lang), **words)
            self.common.queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
            self._tell_outcome(s, t, privacy)  # the others of its command may have been waiting for it
        s.transfers.add(t)

    def _tell_outcome(self, s: Tx, t: Transfer, privacy: str) -> None:
        """One public reply (and, for a discreet sender, one receipt DM) per command, however many people
        it paid: the last of the command's transfers to settle tells about all of them, in the transaction
        that records it (so a crash can neither lose nor repeat it)."""
        group = [
            t,
            *(
                g
                for g in s.transfers.of_root(t.root_tweet_id, sender_id=t.sender_id, code=t.code)
                if g.confirmed_at is not None and g.id != t.id
            ),
        ]
        group.sort(key=lambda g: g.id or 0)
        if any(g.status in (Status.EXECUTING, Status.NEEDS_AUTH) for g in group):
            return
        paid = [g for g in group if g.status == Status.COMPLETED]
        held = [g for g in group if g.status == Status.HELD]
        if not paid and not held:
            return
        lang, amount = t.lang, money(t)
        sender = handle_of(s, t.sender_id)
        if privacy != Privacy.PUBLIC:
            who = [handle_of(s, g.recipient_id) for g in paid + held]
            text = (
                say("receipt", lang, amount=amount, recipient=who[0], code=t.code)
                if len(who) == 1
                else say("receipt.many", lang, amount=amount, recipients=msg.handles(who), code=t.code)
            )
            self.common.queue_dm(s, t.sender_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
        if privacy == Privacy.QUIET:
            paid = []  # the recipient of held money must still learn to claim it; the rest stays out of public
        if not paid and not held:
            return
        until = msg.day(held[0].hold_until or self.ctx.clock.now(), lang) if held else ""
        for text, named in self._outcome_texts(s, privacy, t, sender, paid, held, until):
            self.common.queue_reply(s, t.command_tweet_id, text, root=t.root_tweet_id, names=[t.sender_id, *named])

    def _outcome_texts(
        self, s: Tx, privacy: str, t: Transfer, sender: str, paid: list[Transfer], held: list[Transfer], until: str
    ) -> list[tuple[str, list[str]]]:
        """The outcome reply of a command, split only when its handles cannot fit in one post (each
        handle counted at X's longest, 15 characters, as it is checked again before sending)."""
        lang = t.lang

        def name(g: Transfer, widest: bool) -> str:
            return "x" * 15 if widest else handle_of(s, g.recipient_id)

        def text(p: list[Transfer], h: list[Transfer], widest: bool = False) -> str:
            words = dict(sender="x" * 15 if widest else sender, amount=money(t), code=t.code, until=until)
            private = "" if privacy == Privacy.PUBLIC else ".private"
            if p and h:
                return say(
                    "sent_held" + private,
                    lang,
                    paid=msg.handles([name(g, widest) for g in p]),
                    held=msg.handles([name(g, widest) for g in h]),
                    **words,
                )
            group = p or h
            if len(group) == 1:
                one = name(group[0], widest)
                if h:
                    return say("held" + private, lang, recipient=one, **words)
                key = "sent" if t.kind == TransferKind.SEND else "paid_request"
                key = key if privacy == Privacy.PUBLIC else "sent.private"
                return say(key, lang, recipient=one, **words)
            return say(
                ("sent.many" if p else "held.many") + private,
                lang,
                recipients=msg.handles([name(g, widest) for g in group]),
                **words,
            )

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

    def expire_due(self, *, read_until: datetime | None = None) -> int:
        """Move every pending request past its time to expired.

        The sender of an expired send is not told (a late yes is answered); the
        author of an expired request is, by DM.

        `read_until`: every DM sent before this time has been read. A request
        is only expired once its deadline is behind that mark, so a "yes" sent
        in time but read late (DM reads are rate-limited) still counts."""
        now = self.ctx.clock.now()
        cutoff = min(now, read_until) if read_until else now
        with self.ctx.uow() as s:
            rows = s.transfers.with_status(Status.PENDING, expires_by=cutoff)
            # A request whose confirmation is still waiting to be sent has not started its clock.
            unsent = s.outbox.roots_awaiting_confirmation()
            rows = [t for t in rows if t.root_tweet_id not in unsent]
            for t in rows:
                set_status(s, t, Status.EXPIRED, now)
                if t.kind == TransferKind.REQUEST:  # the requester waited days: tell them
                    text = say(
                        "request_expired",
                        t.lang,
                        payer=handle_of(s, t.sender_id),
                        amount=money(t),
                        within=span(self.ctx.policy.request_ttl, t.lang),
                        code=t.code,
                    )
                    self.common.queue_dm(s, t.recipient_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
            s.commit()
        return len(rows)
