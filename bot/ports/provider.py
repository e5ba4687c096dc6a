"""The payment-provider port: what the service asks of a provider, and the value types it answers in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from bot.domain.values import PagePurpose
from bot.money import Money


class PayOutcome(StrEnum):
    PAID = "paid"  # the recipient has the money
    HELD = "held"  # charged to the platform, waiting for the recipient to claim
    DECLINED = "declined"
    NEEDS_AUTH = "needs_auth"  # the bank wants the sender to approve it
    NO_CARD = "no_card"


@dataclass(frozen=True)
class PayResult:
    outcome: PayOutcome
    ref: str | None = None
    reason: str | None = None
    url: str | None = None  # NEEDS_AUTH: the provider's page where the sender approves this payment
    valid_for: timedelta | None = None  # NEEDS_AUTH: how long that page stays open (None: the policy's auth window)
    # NEEDS_AUTH: the sender's card was already charged (Mangopay: the pay-in went through, the transfer waits
    # for their approval); if they do not approve, the charge is refunded. On a lapse: it was, then refunded.
    charged: bool = False


class EventKind(StrEnum):
    CARD_SAVED = "card_saved"  # user_id saved a card on the provider's page
    PAID = "paid"  # the payment of `key` went through (outcome PAID or HELD), e.g. after approval
    AUTH_LAPSED = "auth_lapsed"  # the approval page of `key` expired unused (`charged`: the charge was refunded)
    # The payment of `key` needs (another) approval of its sender on the page `url`, open `valid_for`: e.g. the
    # bank's 3DS went through and the transfer now waits for the sender's own approval (Mangopay's SCA).
    APPROVAL_NEEDED = "approval_needed"
    ACCOUNT_READY = "account_ready"  # user_id can receive now
    # user_id completed the provider's strong-authentication enrolment (Mangopay's SCA): their onboarding goes on
    ENROLLED = "enrolled"
    # The payment `ref` was refunded at the provider: by the refund `settle_ref` of `amount_minor` (all of it
    # when None), made with paybot's `key` or (key None) outside paybot, e.g. in the dashboard; `pending`
    # when the provider has not finished it. Every copy of one refund says the same.
    REFUNDED = "refunded"
    REFUND_SETTLED = "refund_settled"  # the pending refund `settle_ref` (paybot's `key`, or None) went through
    # The refund `settle_ref` (paybot's `key`, or None) of the payment `ref` failed (`reason`): the money is
    # back with the platform, not with the sender. It may come after REFUND_SETTLED (a late failure).
    REFUND_FAILED = "refund_failed"
    DISPUTED = "disputed"  # the payer's bank opened a dispute on the payment `ref`
    # A dispute (`settle_ref`) took `amount_minor` of the payment `ref` back from the platform's balance.
    FUNDS_WITHDRAWN = "funds_withdrawn"
    # A cash-out (payout to the user's bank account) made with paybot's `key` went through (`settle_ref`: the
    # provider's id of the payout, `amount_minor` what it paid out), or failed (`reason`; the money is back in the
    # user's account at the provider). Read from the payout itself, never from the event's word alone.
    PAYOUT_SUCCEEDED = "payout_succeeded"
    # A cash-out that went through came back from the bank (`key`, `settle_ref` the payout, `reason`): the money is
    # back in the user's account at the provider (Mangopay's PAYOUT_REFUND_SUCCEEDED).
    PAYOUT_RETURNED = "payout_returned"
    PAYOUT_FAILED = "payout_failed"


@dataclass(frozen=True)
class ProviderEvent:
    """Something that happened at the provider, in the port's words. An event may come more than once
    (two of the provider's events can tell one change): applying it again changes nothing."""

    id: str
    kind: EventKind
    user_id: str | None = None
    key: str | None = None
    ref: str | None = None
    outcome: PayOutcome | None = None
    settle_ref: str | None = None  # the provider's id of the refund or dispute the event is about
    amount_minor: int | None = None  # how much it moved, in the payment's minor units
    reason: str | None = None  # why it failed, in the provider's words (never card data)
    pending: bool = False  # REFUNDED: the provider has not finished it yet
    url: str | None = None  # APPROVAL_NEEDED: the page
    valid_for: timedelta | None = None  # APPROVAL_NEEDED: how long it stays open
    charged: bool = False  # APPROVAL_NEEDED, AUTH_LAPSED: as PayResult.charged


@dataclass(frozen=True)
class ProviderPayment:
    """What the provider holds about one payment paybot made, for reconciliation."""

    key: str
    ref: str
    amount_minor: int
    currency: str
    charged: bool  # the sender's money was taken
    delivered: bool  # the recipient has it (a destination charge or a transfer)
    refunded: bool  # refunded in full (refunds finished or in progress)
    refunded_minor: int | None = None  # how much was refunded (finished or in progress); None: not said


@dataclass(frozen=True)
class Settled:
    """What the provider did with a refund: its reference, and whether it is still in progress (its
    REFUNDED / REFUND_SETTLED or REFUND_FAILED event tells how it ends)."""

    ref: str
    pending: bool = False


@dataclass(frozen=True)
class Registration:
    """What REGISTER did: nothing (a card was already saved), saved one at once, or opened a page."""

    already: bool = False
    url: str | None = None  # the page where the card is saved; None: saved at once (or already)
    valid_for: timedelta | None = None  # how long that page's link works, when the provider says
    # A page of paybot's own (bot.web.page_links purpose, e.g. "card") where the card is saved: the service makes
    # its link in the same unit of work as the DM that carries it (`Service.page_link`); `url` is then None.
    page: PagePurpose | None = None


@dataclass(frozen=True)
class Onboarding:
    ready: bool
    url: str | None = None
    # Nothing was done: onboarding now would stop the user's account from releasing money it holds for others
    # (a wallet provider's Owner: Mangopay), so they wait until what they sent is claimed or returned.
    wait: bool = False
    # `url` enrols the user in the provider's strong customer authentication (Mangopay's SCA), open `valid_for`:
    # the step before identity verification; the user is told to come back once it is done.
    enrol: bool = False
    valid_for: timedelta | None = None


class CashOutOutcome(StrEnum):
    """What a cash-out request (CASHOUT) came to at the provider."""

    STARTED = "started"  # a payout of `amount` to the user's bank account is made (`ref`); its end is an event
    NOTHING = "nothing"  # nothing to pay out: the balance (less what must stay) is zero
    NEEDS_BANK = "needs_bank"  # no bank account registered: the page `url` registers one (open `valid_for`)
    NEEDS_KYC = "needs_kyc"  # the user's identity is not verified: the provider's onboarding page `url`
    AUTOMATIC = "automatic"  # the provider pays the user's balance out by itself, on its own schedule (Stripe)
    REFUSED = "refused"  # the provider refused it (`reason`, in plain words); the money stays where it is
    # The account to pay (`account_ref`, ending `last4`) is not among those the user confirmed: nothing is paid
    # until they confirm it by DM (someone who saw a bank-page link could have added it).
    NEW_ACCOUNT = "new_account"
    # the user must first pass the provider's strong customer authentication on the page `url` (open `valid_for`):
    # Mangopay's SCA enrolment of a new Owner, or its SCA to see their wallet (every 180 days)
    NEEDS_SCA = "needs_sca"


@dataclass(frozen=True)
class CashOut:
    """The provider's answer to a cash-out request. `last4`: the last four characters of the bank account's
    number, when the provider gives them (never more of it); `ref` with REFUSED: a payout was made and failed;
    `account_ref`: the provider's id of the account paid (or to confirm, with NEW_ACCOUNT)."""

    outcome: CashOutOutcome
    amount: Money | None = None
    ref: str | None = None
    last4: str | None = None
    account_ref: str | None = None
    url: str | None = None
    valid_for: timedelta | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PayoutAccounts:
    """What a user said by DM of their bank accounts, for a cash-out: the accounts (provider ids) they confirmed
    (only those are paid) and refused (never paid, nor asked about again); `pay_to`: the one they confirmed for this
    cash-out, paid that one or nothing (an account added meanwhile, newer, is not this cash-out's)."""

    confirmed: frozenset[str] = frozenset()
    refused: frozenset[str] = frozenset()
    pay_to: str | None = None


NO_ACCOUNTS = PayoutAccounts()


class PaymentProvider(Protocol):
    """A payment provider. Every call that moves money takes an idempotency key:
    the same key with the same arguments returns the first result."""

    name: str

    # The smallest charge the provider accepts per currency, in minor units (commands below are refused).
    @property
    def min_charge(self) -> Mapping[str, int]:
        """The provider's smallest charge per currency, in minor units (read only)."""
        ...

    def has_card(self, user_id: str) -> bool: ...

    def register(self, user_id: str) -> Registration:
        """Start saving a card (the service words the answer in the user's language)."""
        ...

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        """Start or finish the recipient's onboarding. `holds_for_others`: the user sent money that is still on
        its way or held; a provider whose onboarding would stop their account from releasing it answers `wait`."""
        ...

    def can_receive(self, user_id: str) -> bool: ...

    def pay(
        self,
        *,
        key: str,
        sender_id: str,
        recipient_id: str,
        amount: Money,
        memo: str | None,
        reference: dict[str, str] | None = None,
    ) -> PayResult:
        """Charge the sender's saved card; `reference` (transfer id, post id...) is recorded with it."""
        ...

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        """What became of the payment `sender_id` made with `key` (None: the provider never saw it).

        A payment still waiting for the sender's approval is NEEDS_AUTH; when
        its page has expired the provider makes sure it cannot be paid any more."""
        ...

    def events(self, after: str | None) -> tuple[list[ProviderEvent], str | None]:
        """Events since the cursor `after`, oldest first, and the cursor to pass next time."""
        ...

    def payments_since(self, since: datetime) -> list[ProviderPayment]:
        """Every payment paybot made since then (reconciliation)."""
        ...

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        """Pay held money to the recipient; returns the provider's reference.

        InsufficientBalance when the platform's balance cannot cover it now: nothing moved, and the
        provider may keep that answer under `key`, so a later attempt comes with a new key. Undeliverable
        when the provider will never make it (the money can then only go back to its sender)."""
        ...

    def refund(self, *, key: str, payment_ref: str, amount: Money, keep: int = 0) -> Settled:
        """Give money back to the sender: held money, or money that reached the recipient (taken back
        from them first, in proportion). `amount` may be part of the payment: several refunds, each with
        its own key, up to the payment's amount (ProviderError beyond it). The answer may be pending.
        `keep`: minor units the recipient's account must keep for other payments (a wallet provider keeps
        money the recipient sent and that is held or on its way in their own wallet): a provider that takes
        money back from the recipient's account refuses (ProviderError) rather than take any of it."""
        ...

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """Take back from the recipient their share of `amount` of a payment that reached them, or what they
        still hold of it when that is less (the platform keeps it: e.g. after a dispute took the payment back
        from the platform); returns the provider's reference. ProviderError when they hold nothing of it."""
        ...

    def holdings(self) -> list[tuple[str, Money]]:
        """What the provider keeps for users in accounts only a CASHOUT empties (a wallet provider: each X user's
        non-zero wallet balances); empty for a provider that pays accounts out by itself (Stripe Connect)."""
        ...

    def cash_out(
        self,
        *,
        key: str,
        user_id: str,
        currency: str,
        keep: int = 0,
        holds_for_others: bool = False,
        accounts: PayoutAccounts = NO_ACCOUNTS,
    ) -> CashOut:
        """Pay the user's balance in `currency` out to their bank account, less `keep` minor units that must stay
        (money they sent that is still on its way, held or being refunded, which a wallet provider keeps in the
        sender's own account). The same key answers the first payout made with it, however often it is asked
        (after a crash, a lost answer, or past the provider's key lifetime), never a second payout.
        `holds_for_others`: as for `onboard`, in any currency (a provider that would have to onboard the user
        refuses instead). `accounts`: what the user said of their accounts; a provider that pays to an account the
        user registered pays `accounts.pay_to` when given (REFUSED if it is no longer active), else their newest
        active account not refused, only if confirmed: otherwise it answers NEW_ACCOUNT and pays nothing."""
        ...
