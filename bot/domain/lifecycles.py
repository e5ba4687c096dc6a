"""The lifecycles after the transfer's (bot.domain.TRANSFER): a settlement, a payout, an outbox message. Pure: no I/O.

Each is a `Lifecycle` table; the use cases change these statuses only through its `move` (or `begin` for a new
row). The values are the ones stored since each table exists, unchanged.

    settlement:  pending ──▶ succeeded ──▶ failed (a refund that failed after it went through)
                    └──────▶ failed

    payout:      created ──▶ succeeded ──▶ failed (the bank sent it back)
                    ├──────▶ failed / not_made
                    └──────▶ confirm_account ──yes──▶ created
                                   └──no, late, replaced──▶ not_made

    outbox:      queued ──▶ sending ──▶ sent / failed / dropped
                    │          └──────▶ queued (the call was never made: a rate limit)
                    └──────▶ sent / failed / dropped

"""

from __future__ import annotations

from enum import StrEnum

from bot.domain.lifecycle import Lifecycle


class Settle(StrEnum):
    """Where a settlement (a release, return, refund or reversal) is. PENDING with no provider ref: the
    key is stored and the call's answer is not (drive it again with the same key); PENDING with a ref:
    the provider took it and has not finished it (a refund in progress: its event says how it ends)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # refused or failed at the provider: no money moved (or it came back)


SETTLEMENT = Lifecycle("settlement", Settle,
                       # a refund made outside paybot is recorded when the provider says it happened (or is under way)
                       starts=frozenset({Settle.PENDING, Settle.SUCCEEDED}),
                       moves={Settle.PENDING: frozenset({Settle.SUCCEEDED, Settle.FAILED}),
                              # a refund may fail after it succeeded (the provider's refund_failed, late)
                              Settle.SUCCEEDED: frozenset({Settle.FAILED})})


class PayoutStatus(StrEnum):
    """Where a cash-out is. CREATED with no `ref`: its key is stored and the provider's answer is not (driven
    again with the same key); CREATED with a `ref`: the payout is on its way to the bank (its event ends it)."""

    CREATED = "created"
    SUCCEEDED = "succeeded"  # the provider paid it out to the bank account
    FAILED = "failed"  # made, then failed (or refused when made): the money is back in the user's account
    NOT_MADE = "not_made"  # no payout was made: nothing to pay, no bank account or verified identity, refused
    # The account to pay is new (never confirmed by this user): they were asked by DM to reply YES <account_code>
    # (the account's last four characters) within the confirmation time; their yes makes it CREATED again.
    CONFIRM_ACCOUNT = "confirm_account"


PAYOUT = Lifecycle("payout", PayoutStatus, starts=frozenset({PayoutStatus.CREATED}),
                   moves={PayoutStatus.CREATED: frozenset({PayoutStatus.SUCCEEDED, PayoutStatus.FAILED,
                                                           PayoutStatus.NOT_MADE, PayoutStatus.CONFIRM_ACCOUNT}),
                          PayoutStatus.CONFIRM_ACCOUNT: frozenset({PayoutStatus.CREATED, PayoutStatus.NOT_MADE}),
                          # a payout that went through and came back from the bank (Mangopay's payout refund)
                          PayoutStatus.SUCCEEDED: frozenset({PayoutStatus.FAILED})})


class Send(StrEnum):
    """Where a message of the outbox is: waiting, in doubt (a DM whose send began), done, or given up."""

    QUEUED = "queued"
    SENDING = "sending"  # a DM marked before its call: found "sending", it may have reached X
    SENT = "sent"
    FAILED = "failed"  # X refused it, or every attempt failed
    DROPPED = "dropped"  # checked just before its send: nobody left to name (see prepare_reply)


WAITING = (Send.QUEUED, Send.SENDING)
_ENDS = frozenset({Send.SENT, Send.FAILED, Send.DROPPED})
OUTBOX = Lifecycle("outbox message", Send, starts=frozenset({Send.QUEUED}),
                   moves={Send.QUEUED: _ENDS | {Send.SENDING}, Send.SENDING: _ENDS | {Send.QUEUED}})

