"""The lifecycles after the transfer's (bot.domain.TRANSFER): a settlement, a payout, an outbox message, and the two
registrations a person goes through at a wallet provider (a card, an identity). Pure: no I/O.

Each is a `Lifecycle` table; the use cases change these statuses only through its `move` (or `begin` for a new
row). The stored statuses keep the values their columns have held since each table exists.

    settlement:  pending ──▶ succeeded ──▶ failed (a refund that failed after it went through)
                    └──────▶ failed

    payout:      created ──▶ succeeded ──▶ failed (the bank sent it back)
                    ├──────▶ failed / not_made
                    └──────▶ confirm_account ──yes──▶ created
                                   └──no, late, replaced──▶ not_made

    outbox:      queued ──▶ sending ──▶ sent / failed / dropped
                    │          └──────▶ queued (the call was never made: a rate limit)
                    └──────▶ sent / failed / dropped

    card:        none ──▶ open ──▶ saved
                   │        └───▶ none (refused, or left too long)
                   └──────────────▶ saved (paybot's own card page)

    identity:    payer ──▶ owner ──▶ verifying ──▶ verified ──▶ owner / verifying (no longer verified)
                   │         └─────────────────▶ verified
                   └───────────────────────────▶ verified

The registrations have no status column: their step is read from the provider adapter's row (`card_step`,
`identity_step`), and the adapter checks each change of that row against the table (`Lifecycle.became`).
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


SETTLEMENT = Lifecycle(
    "settlement",
    Settle,
    # a refund made outside paybot is recorded when the provider says it happened (or is under way)
    starts=frozenset({Settle.PENDING, Settle.SUCCEEDED}),
    moves={
        Settle.PENDING: frozenset({Settle.SUCCEEDED, Settle.FAILED}),
        # a refund may fail after it succeeded (the provider's refund_failed, late)
        Settle.SUCCEEDED: frozenset({Settle.FAILED}),
    },
)


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


PAYOUT = Lifecycle(
    "payout",
    PayoutStatus,
    starts=frozenset({PayoutStatus.CREATED}),
    moves={
        PayoutStatus.CREATED: frozenset(
            {PayoutStatus.SUCCEEDED, PayoutStatus.FAILED, PayoutStatus.NOT_MADE, PayoutStatus.CONFIRM_ACCOUNT}
        ),
        PayoutStatus.CONFIRM_ACCOUNT: frozenset({PayoutStatus.CREATED, PayoutStatus.NOT_MADE}),
        # a payout that went through and came back from the bank (Mangopay's payout refund)
        PayoutStatus.SUCCEEDED: frozenset({PayoutStatus.FAILED}),
    },
)


class Send(StrEnum):
    """Where a message of the outbox is: waiting, in doubt (a DM whose send began), done, or given up."""

    QUEUED = "queued"
    SENDING = "sending"  # a DM marked before its call: found "sending", it may have reached X
    SENT = "sent"
    FAILED = "failed"  # X refused it, or every attempt failed
    DROPPED = "dropped"  # checked just before its send: nobody left to name (see prepare_reply)


WAITING = (Send.QUEUED, Send.SENDING)
_ENDS = frozenset({Send.SENT, Send.FAILED, Send.DROPPED})
OUTBOX = Lifecycle(
    "outbox message",
    Send,
    starts=frozenset({Send.QUEUED}),
    moves={Send.QUEUED: _ENDS | {Send.SENDING}, Send.SENDING: _ENDS | {Send.QUEUED}},
)


class CardStep(StrEnum):
    """Where saving a person's card at a wallet provider is, read from its adapter's row (no status is stored)."""

    NONE = "none"  # no card, and no registration open
    OPEN = "open"  # a registration was opened (its page's link sent) and is not finished
    SAVED = "saved"  # a card is saved (a newer card replacing it stays SAVED)


CARD = Lifecycle(
    "card registration",
    CardStep,
    starts=frozenset({CardStep.NONE}),
    moves={
        CardStep.NONE: frozenset({CardStep.OPEN, CardStep.SAVED}),  # paybot's card page opens none
        # refused, or left unfinished too long: REGISTER again
        CardStep.OPEN: frozenset({CardStep.NONE, CardStep.SAVED}),
    },
)


def card_step(card_id: str | None, registration_id: str | None) -> CardStep:
    """A card registration's step from what the adapter's row keeps: the saved card, the registration open."""
    return CardStep.SAVED if card_id else CardStep.OPEN if registration_id else CardStep.NONE


class IdentityStep(StrEnum):
    """Where a person's identity registration at a wallet provider is, to receive money (Mangopay's Owner and KYC),
    read from its adapter's row (no status is stored)."""

    PAYER = "payer"  # may pay, not receive
    OWNER = "owner"  # accepted the terms to hold an account: may receive once verified
    VERIFYING = "verifying"  # an identity verification was opened
    VERIFIED = "verified"  # verified (KYC REGULAR): may receive


IDENTITY = Lifecycle(
    "identity registration",
    IdentityStep,
    starts=frozenset({IdentityStep.PAYER}),
    moves={
        # the provider's word that they are verified, when paybot had not recorded them an Owner yet
        # (a crash between the provider's answer and paybot's record of it)
        IdentityStep.PAYER: frozenset({IdentityStep.OWNER, IdentityStep.VERIFIED}),
        IdentityStep.OWNER: frozenset({IdentityStep.VERIFYING, IdentityStep.VERIFIED}),
        IdentityStep.VERIFYING: frozenset({IdentityStep.VERIFIED}),
        # the provider refused a transfer to them: no longer verified (a new verification may begin)
        IdentityStep.VERIFIED: frozenset({IdentityStep.OWNER, IdentityStep.VERIFYING}),
    },
)


def identity_step(owner: bool, verification_id: str | None, verified: bool) -> IdentityStep:
    """An identity registration's step from what the adapter's row keeps."""
    if verified:
        return IdentityStep.VERIFIED
    if not owner:
        return IdentityStep.PAYER
    return IdentityStep.VERIFYING if verification_id else IdentityStep.OWNER
