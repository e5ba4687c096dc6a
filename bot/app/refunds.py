"""The operator's money commands: refunds (whole or in parts), reversals, and cancelling a pending
transfer (`paybot refund`, `paybot reverse`, `paybot cancel`). Each refund or reversal is a settlement,
begun and driven as bot.app.settling does every one; what it did comes back as the line the CLI prints."""

from __future__ import annotations

from bot.app.base import Context, money, set_status
from bot.app.common import Common
from bot.app.ledger import disputed, ledger, refunded, reversed_, sid
from bot.app.settling import Driven, Settling
from bot.domain import REFUNDS, Cause, Reason, Settle, Status, Step
from bot.domain.entities import PRIORITY_OUTCOME, Settlement, Transfer
from bot.messages import text as say
from bot.money import Money


class Refunds:
    """The operator's cancels, refunds and reversals."""

    def __init__(self, ctx: Context, common: Common, settling: Settling) -> None:
        self.ctx = ctx
        self.common = common
        self.settling = settling

    def operator_cancel(self, transfer_id: int) -> tuple[bool, str]:
        """Cancel a pending transfer and tell its sender; anything else is refused with the reason."""
        with self.ctx.uow() as s:
            t = s.transfers.get(transfer_id)
            if t is None:
                return False, f"no transfer {transfer_id}"
            if t.status != Status.PENDING:
                return False, f"transfer {transfer_id} is {t.status}; only a pending one can be cancelled"
            set_status(s, t, Status.CANCELLED, self.ctx.clock.now(), reason=Reason.BY_OPERATOR)
            s.transfers.add(t)
            self.common.queue_dm(
                s, t.sender_id, say("cancelled", t.lang, code=t.code), PRIORITY_OUTCOME, root=t.root_tweet_id
            )
            s.commit()
        return True, f"transfer {transfer_id} cancelled"

    def refund_plan(self, transfer_id: int) -> tuple[Transfer | None, int, int]:
        """The transfer, what went back to its sender so far and what may still be refunded (minor units)."""
        with self.ctx.uow() as s:
            t = s.transfers.get(transfer_id)
            rows = ledger(s, transfer_id)
        if t is None:
            return None, 0, 0
        return t, refunded(rows), t.amount_minor - refunded(rows, in_flight=True)

    def operator_refund(
        self, transfer_id: int, amount_minor: int | None = None, *, finish_interrupted: bool = True
    ) -> tuple[bool, str]:
        """Give a completed or held transfer's money back to its sender: all that is left (the default, safe to
        repeat), or `amount_minor` of a completed one (several times, up to its amount; refused when nothing is left,
        since that amount did not move). A refund a crash
        interrupted is finished first, with its own key; the sender is told when the money is back. Without
        `finish_interrupted` (the console: its page named one refund, which must not be done as another) such a
        refund is left alone and the refund is refused, saying so."""
        with self.ctx.uow() as s:
            t = s.transfers.get(transfer_id)
            rows = ledger(s, transfer_id)
            contested = disputed(s, transfer_id)
        if t is None:
            return False, f"no transfer {transfer_id}"
        if (refused := _not_refundable(t, contested=contested)) is not None:
            return False, refused
        unsent = [st for st in rows if st.step in REFUNDS and st.status == Settle.PENDING and st.ref is None]
        if unsent:  # a refund a crash (or another operator, right now) left without its answer: finish it first
            st = unsent[-1]
            if not finish_interrupted:
                return False, (
                    f"transfer {transfer_id}: another refund of it ({Money(st.amount_minor, t.currency)}) "
                    "is under way or was interrupted; nothing was done. `paybot refund "
                    f"{transfer_id}` finishes it; then ask again"
                )
            return self._refund_said(
                transfer_id, self.settling.drive(sid(st)), Money(st.amount_minor, t.currency), interrupted=True
            )
        if t.status == Status.HELD and any(st.step == Step.RELEASE and st.status == Settle.PENDING for st in rows):
            return False, f"transfer {transfer_id}: a release to the recipient is under way; try again in a minute"
        left = t.amount_minor - refunded(rows, in_flight=True)
        if left <= 0:
            return _nothing_left(t, rows, amount_minor)
        amount = left if amount_minor is None else amount_minor
        if amount <= 0 or amount > left:
            return False, (
                f"transfer {transfer_id}: {Money(left, t.currency)} is left to refund, not "
                f"{Money(max(amount, 0), t.currency)}"
            )
        if t.status == Status.HELD and amount != t.amount_minor:
            return False, (
                f"transfer {transfer_id} is held: held money goes back whole (leave out --amount), or is claimed whole"
            )
        with self.ctx.uow() as s:
            row = s.transfers.get(transfer_id)
            now_left = row.amount_minor - refunded(ledger(s, transfer_id), in_flight=True) if row else 0
            if row is None or row.status != t.status or amount > now_left:
                return False, f"transfer {transfer_id} changed meanwhile; try again"
            st = self.settling.begin(
                s, row, Step.RETURN if t.status == Status.HELD else Step.REFUND, amount, Cause.OPERATOR
            )
            if not self.settling.commit(s):
                return False, f"transfer {transfer_id}: another refund of it began at the same moment; try again"
        return self._refund_said(transfer_id, self.settling.drive(sid(st)), Money(amount, t.currency))

    def _refund_said(
        self, transfer_id: int, outcome: str, amount: Money, *, interrupted: bool = False
    ) -> tuple[bool, str]:
        """What `paybot refund` prints for what `_drive` did."""
        with self.ctx.uow() as s:
            t = s.transfers.get(transfer_id)
            rows = ledger(s, transfer_id)
        if t is None:  # cannot happen: said so, rather than an assert that -O removes
            raise RuntimeError("t is missing")
        first = "an interrupted refund was finished: " if interrupted else ""
        if outcome == Driven.DONE:
            if t.status == Status.RETURNED and amount.minor == t.amount_minor:
                return True, f"transfer {transfer_id} refunded"
            return True, (
                f"transfer {transfer_id}: {first}{amount} refunded; {Money(refunded(rows), t.currency)} of "
                f"{money(t)} refunded in all" + (" (returned)" if t.status == Status.RETURNED else "")
            )
        if outcome == Driven.PENDING:
            return True, (
                f"transfer {transfer_id}: {first}the refund of {amount} is in progress at the provider; "
                "the sender is told when it goes through (`paybot status` warns if it fails)"
            )
        if outcome == Driven.GONE:
            if t.status == Status.RETURNED:
                last = next((st.ref for st in reversed(rows) if st.step in REFUNDS and st.ref), None)
                return True, f"transfer {transfer_id} was already returned ({last})"
            return True, f"transfer {transfer_id}: that refund was recorded by another process meanwhile"
        if outcome == Driven.REFUSED:
            failure = next((st.failure for st in reversed(rows) if st.step in REFUNDS and st.failure), "")
            return False, f"transfer {transfer_id}: the provider refused the refund ({failure}); nothing moved"
        return False, f"transfer {transfer_id}: the refund did not go through (see the log); try again"

    def operator_reverse(self, transfer_id: int) -> tuple[bool, str]:
        """Take back from the recipient what they still hold of a completed transfer (the platform keeps it:
        after a dispute took the payment back from the platform, say). Neither party is told by the bot."""
        with self.ctx.uow() as s:
            t = s.transfers.get(transfer_id)
            rows = ledger(s, transfer_id)
        if t is None:
            return False, f"no transfer {transfer_id}"
        unsent = [st for st in rows if st.step == Step.REVERSE and st.status == Settle.PENDING and st.ref is None]
        if unsent:
            st = unsent[-1]
            return self._reverse_said(transfer_id, self.settling.drive(sid(st)), Money(st.amount_minor, t.currency))
        if t.status != Status.COMPLETED or not t.payment_ref:
            return False, (
                f"transfer {transfer_id} is {t.status}: only a completed transfer's money is with its recipient"
            )
        holds = t.amount_minor - refunded(rows, in_flight=True) - reversed_(rows)
        if holds <= 0:
            return True, f"transfer {transfer_id}: the recipient holds nothing of it any more"
        with self.ctx.uow() as s:
            row = s.transfers.get(transfer_id)
            if row is None or row.status != Status.COMPLETED:
                return False, f"transfer {transfer_id} changed meanwhile; try again"
            st = self.settling.begin(s, row, Step.REVERSE, holds, Cause.OPERATOR)
            if not self.settling.commit(s):
                return False, f"transfer {transfer_id}: another reversal of it began at the same moment; try again"
        return self._reverse_said(transfer_id, self.settling.drive(sid(st)), Money(holds, t.currency))

    @staticmethod
    def _reverse_said(transfer_id: int, outcome: str, amount: Money) -> tuple[bool, str]:
        if outcome in (Driven.DONE, Driven.GONE):
            return True, (
                f"transfer {transfer_id}: {amount} taken back from the recipient; the platform keeps it "
                f"(`paybot refund {transfer_id}` gives it to the sender)"
            )
        if outcome == Driven.REFUSED:
            return False, (
                f"transfer {transfer_id}: the provider refused the reversal (see `paybot show`); nothing moved"
            )
        return False, f"transfer {transfer_id}: the reversal did not go through (see the log); try again"


def _not_refundable(t: Transfer, *, contested: bool) -> str | None:
    """Why no refund of `t` may begin at all (disputed, or no money moved), or None."""
    if contested:
        return (
            f"transfer {t.id} is disputed: the payer's bank gives them their money back itself, so a refund "
            "would pay them twice (see `paybot show`)"
        )
    if t.status not in (Status.COMPLETED, Status.HELD, Status.RETURNED) or not t.payment_ref:
        return f"transfer {t.id} is {t.status}: no money moved, nothing to refund"
    return None


def _nothing_left(t: Transfer, rows: list[Settlement], amount_minor: int | None) -> tuple[bool, str]:
    """The answer to a refund of a transfer with nothing left to refund. A whole refund asked again is done (safe
    to repeat); an amount asked for (`--amount`, a console page) is refused, since that amount did not move."""
    returned = t.status == Status.RETURNED
    if amount_minor is not None:
        gone = "was already returned" if returned else "has its refund in progress at the provider"
        asked = Money(max(amount_minor, 0), t.currency)
        return False, f"transfer {t.id} {gone}: nothing is left to refund, not {asked}; nothing was done"
    if returned:
        last = next((st.ref for st in reversed(rows) if st.step in REFUNDS and st.ref), None)
        return True, f"transfer {t.id} was already returned ({last})"
    return True, f"transfer {t.id}: its refund is in progress at the provider; the sender is told when it goes through"
