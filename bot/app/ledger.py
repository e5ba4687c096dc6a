"""What a transfer's settlements say: what went back to the sender, what was taken back from the recipient,
whether it was claimed or disputed, when a refused release is tried again, and what a user must keep at the
provider for their own payments. Functions of one unit of work, or of a transfer's settlement rows."""

from __future__ import annotations

from datetime import datetime

from bot.domain import REFUNDS, Fact, Settle, Status, Step, release_retry_after
from bot.domain.entities import BALANCE, Settlement
from bot.repo.port import Tx


def ledger(s: Tx, transfer_id: int | None) -> list[Settlement]:
    """A transfer's settlements, oldest first."""
    return s.settlements.of(transfer_id)


def sid(st: Settlement) -> int:
    """The id of a settlement row already written (flushed)."""
    if st.id is None:
        raise ValueError("a settlement needs to be saved first")
    return st.id


def refunded(rows: list[Settlement], *, in_flight: bool = False) -> int:
    """Minor units given back to the sender: refunds and returns that went through (`in_flight`: and those
    started and not failed, which may still go through)."""
    counted = (Settle.SUCCEEDED, Settle.PENDING) if in_flight else (Settle.SUCCEEDED,)
    return sum(st.amount_minor for st in rows if st.step in REFUNDS and st.status in counted)


def reversed_(rows: list[Settlement], *, in_flight: bool = True) -> int:
    counted = (Settle.SUCCEEDED, Settle.PENDING) if in_flight else (Settle.SUCCEEDED,)
    return sum(st.amount_minor for st in rows if st.step == Step.REVERSE and st.status in counted)


FUNDS_WITHDRAWN = "funds withdrawn by a dispute"  # how a transfer's timeline says it (its fact: FUNDS_WITHDRAWN)
DISPUTE_NOTES = (FUNDS_WITHDRAWN, "disputed at the provider")  # the timeline notes of a dispute, for people


def disputed(s: Tx, transfer_id: int | None) -> bool:
    """Whether the payer's bank disputed the payment (a line of its timeline records the fact): the bank gives the
    payer their money back itself, so paybot must not refund it too (Stripe refuses such refunds: charge_disputed)."""
    return s.timeline.recorded(transfer_id, Fact.DISPUTED, Fact.FUNDS_WITHDRAWN)


def claimed(rows: list[Settlement]) -> bool:
    """Whether the recipient claimed it and its release is under way: started, or refused for the platform's
    balance and waiting for its next attempt."""
    return any(st.step == Step.RELEASE and (st.status == Settle.PENDING or st.failure == BALANCE) for st in rows)


def release_due(rows: list[Settlement]) -> datetime | None:
    """When a release refused for the platform's balance is tried again (None: it is not waiting)."""
    releases = [st for st in rows if st.step == Step.RELEASE]
    if not releases or releases[-1].status != Settle.FAILED or releases[-1].failure != BALANCE:
        return None
    refusals = sum(st.failure == BALANCE for st in releases)
    return releases[-1].updated_at + release_retry_after(refusals)


def kept_for(s: Tx, user_id: str, currency: str, *, but: int | None = None) -> int:
    """Minor units of `currency` that must stay in the user's account at the provider: money they sent that
    is on its way, awaiting their approval or held (a wallet provider keeps it in the sender's own wallet),
    and money that a refund begun and not finished (other than settlement `but`) will take back from them or
    refund through them."""
    mine = [
        t
        for status in (Status.EXECUTING, Status.NEEDS_AUTH, Status.HELD)
        for t in s.transfers.with_status(status)
        if t.sender_id == user_id and t.currency == currency
    ]
    kept = sum(t.amount_minor for t in mine)
    unsent = [st for st in s.settlements.unsent() if st.step in REFUNDS and st.id != but]
    if unsent:
        done = {
            t.id: t
            for t in s.transfers.many({st.transfer_id for st in unsent})
            if t.status == Status.COMPLETED and t.currency == currency
        }
        kept += sum(
            st.amount_minor
            for st in unsent
            if st.transfer_id in done and user_id in (done[st.transfer_id].sender_id, done[st.transfer_id].recipient_id)
        )
    return kept


def holds_for_others(s: Tx, user_id: str) -> bool:
    """Whether money the user sent is on its way, awaiting their approval or held, in any currency: a wallet
    provider keeps it in their own account, which must stay able to release it (`Provider.onboard`)."""
    return any(
        t.sender_id == user_id
        for status in (Status.EXECUTING, Status.NEEDS_AUTH, Status.HELD)
        for t in s.transfers.with_status(status)
    )
