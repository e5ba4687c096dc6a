"""The Stripe provider: paybot's payment port on Stripe Connect.

- Senders save a card once on a Checkout Session in setup mode; charges are
  off-session PaymentIntents on that card.
- Recipients onboard to an Express-style Connect account (Stripe collects
  the requirements); the AccountLink is minted when they ask, never ahead.
  Whether they finished is learnt by asking: account.updated of a connected
  account is a Connect event (sent to Connect webhook endpoints, listed only
  with the Stripe-Account header), never in the platform's own event list,
  so `events` retrieves each account still awaiting onboarding on a bounded
  schedule (`_onboarding_events`) and reports ACCOUNT_READY once.
- A recipient who can receive gets a destination charge; for anyone else the
  money is charged to the platform with a transfer_group and held, then
  released with a Transfer from that charge, or returned with a Refund.
- A bank that wants the sender present (402 authentication_required) gets a
  Checkout Session in payment mode for exactly that transfer; the transfer
  completes when that page, read again on the platform, was paid by the
  sender for the amount (`_paid`): an event only says when to look.
- Every POST carries an idempotency key: the service's key for the money
  steps (`pay:...`, `release:...`, `return:...`, all stored before the call),
  keys derived from it for the approval page (`auth:...`), and per-user keys
  for the Customer and the Connect account. The client retries network
  errors itself (`max_network_retries`) with the same key.

Stripe objects never leave this module: the port speaks PayResult,
ProviderEvent and ProviderPayment. What it knows of each X user (Customer,
saved card, Connect account) lives in table stripeuser, and what it made for
each payment key in table stripepayment: in the bot's PostgreSQL database,
or in a SQLite file of its own (see `from_settings`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import stripe
from sqlmodel import SQLModel, col, select

from bot.domain import CARD, IDENTITY, CardStep, IdentityStep, card_step, identity_step
from bot.errors import AmountTooSmall, IdempotencyError, InsufficientBalance, ProviderError, ProviderTransient
from bot.money import Money
from bot.ports import (
    NO_ACCOUNTS,
    CashOut,
    CashOutOutcome,
    Clock,
    EventKind,
    Onboarding,
    PayoutAccounts,
    PayOutcome,
    PayResult,
    ProviderEvent,
    ProviderPayment,
    Registration,
    Settled,
)
from bot.store import StripePayment, StripeUser, UnitOfWork, database_url, make_engine

log = logging.getLogger(__name__)

T = TypeVar("T")

# The platform's own events paybot reads. account.updated of a connected account is not among them: it is a
# Connect event (see `_onboarding_events`); `translate_connect_event` reads it when a Connect webhook brings it.
EVENT_TYPES = (
    "checkout.session.completed", "checkout.session.expired", "payment_intent.succeeded",
    "payment_intent.payment_failed", "charge.refunded", "charge.dispute.created",
    # A refund that was pending ends (succeeded or failed); Stripe sends both for one change.
    "charge.refund.updated", "refund.updated",
    "charge.dispute.funds_withdrawn",
)
# Accounts awaiting onboarding are retrieved on a schedule that slows as the wait grows: again once a quarter
# of the time since the link was minted has passed (every tick at first), at least hourly, for 30 days,
# and at most 20 accounts per poll (the longest unchecked first).
ONBOARDING_WATCH = timedelta(days=30)
ONBOARDING_MAX_INTERVAL = timedelta(hours=1)
ONBOARDING_CHECKS_PER_POLL = 20
# What the sender reads when their bank declines: never the card number, never Stripe's raw error.
DECLINE_WORDS = {
    "insufficient_funds": "insufficient funds",
    "expired_card": "the card has expired",
    "card_velocity_exceeded": "the card's spending limit was reached",
    "withdrawal_count_limit_exceeded": "the card's spending limit was reached",
    "incorrect_cvc": "the card's security code was refused",
    "processing_error": "the bank had a processing error; try again later",
    "currency_not_supported": "the card does not take this currency",
}
DEFAULT_DECLINE = "declined by the bank"
# Stripe's smallest charge in each currency paybot knows, in minor units (docs: Currencies, "Minimum and
# maximum charge amounts"). Stripe checks it after converting to the platform's settlement currency, so a
# charge in another currency can still be refused: that answer is AmountTooSmall.
MIN_CHARGE = {"USD": 50, "EUR": 50, "GBP": 30, "CAD": 50, "AUD": 50, "CHF": 50, "JPY": 50}
AUTH_PAGE_LIFETIME = 24 * 3600 - 60  # Checkout Sessions live at most 24 h
CHECKOUT_LIFETIME = timedelta(hours=24)  # what the DM says of a Checkout page (setup or approval)


def is_live_key(key: str) -> bool:
    return key.startswith(("sk_live_", "rk_live_"))


class StripeProvider:
    """The payment port on Stripe; see the module docstring."""

    name = "stripe"
    min_charge = MIN_CHARGE

    def __init__(
        self,
        client: stripe.StripeClient,
        uow: UnitOfWork,
        clock: Clock,
        *,
        return_url: str = "https://x.com/messages",
        currency: str = "USD",
        fee_bps: int = 0,
        connect: bool = True,
    ) -> None:
        self.client = client
        self.uow = uow
        self.clock = clock
        self.return_url = return_url
        self.currency = currency.lower()  # the card-setup page's currency (the operator's default)
        self.fee_bps = fee_bps
        self.connect = connect  # False: a Stripe account without Connect (nobody can receive; tests)
        self._checked: dict[str, datetime] = {}  # account awaiting onboarding -> when it was last retrieved
        self._became_ready: dict[str, str] = {}  # account seen ready outside the poll -> user, to report once

    @classmethod
    def from_settings(cls, settings: Any, clock: Clock) -> StripeProvider:
        """The provider the settings describe: ConfigError for a missing, malformed or unannounced live key.

        Its records live in DATABASE_URL when that is set (PostgreSQL), else in
        their own SQLite file (STRIPE_DB_PATH): the service calls the provider
        inside its own transactions, and SQLite has one writer at a time."""
        key = settings.require_stripe()
        options: dict[str, Any] = {"max_network_retries": settings.stripe_max_network_retries}
        if settings.stripe_api_base:
            options["base_addresses"] = {"api": settings.stripe_api_base}
        client = stripe.StripeClient(key, **options)
        engine = make_engine(database_url(settings.database_url, settings.stripe_db_path), create_tables=False)
        SQLModel.metadata.create_all(engine, tables=[SQLModel.metadata.tables[name]
                                                     for name in ("stripeuser", "stripepayment")])
        return cls(client, UnitOfWork(engine), clock, return_url=settings.stripe_return_url,
                   currency=settings.paybot_currency, fee_bps=settings.stripe_application_fee_bps)

    def close(self) -> None:
        self.uow.engine.dispose()

    # ------------------------------------------------------------------ people

    def has_card(self, user_id: str) -> bool:
        return self._card(user_id) is not None

    def register(self, user_id: str) -> Registration:
        if self._card(user_id):
            return Registration(already=True)
        customer = self.customer(user_id)
        session = self._call(lambda: self.client.v1.checkout.sessions.create(params={
            "mode": "setup", "customer": customer, "currency": self.currency,
            "success_url": self.return_url, "cancel_url": self.return_url,
            "metadata": {"paybot_user": user_id},
            "setup_intent_data": {"metadata": {"paybot_user": user_id}},
        }))
        return Registration(url=session.url, valid_for=CHECKOUT_LIFETIME)

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        if not self.connect:
            raise ProviderError("this Stripe account does not use Connect: nobody can receive")
        account = self.account(user_id)
        if self._ready(user_id, account):
            return Onboarding(ready=True)
        link = self._call(lambda: self.client.v1.account_links.create(params={
            "account": account, "refresh_url": self.return_url, "return_url": self.return_url,
            "type": "account_onboarding",
        }))
        self._save(user_id)  # a new link: the onboarding schedule starts again (updated_at)
        self._checked.pop(account, None)
        return Onboarding(ready=False, url=link.url)

    def can_receive(self, user_id: str) -> bool:
        return self._destination(user_id) is not None

    # ------------------------------------------------------------------ money

    def pay(  # noqa: C901
        self, *, key: str, sender_id: str, recipient_id: str, amount: Money, memo: str | None,
        reference: dict[str, str] | None = None,
    ) -> PayResult:
        customer, card = self._row(sender_id).customer_id, self._card(sender_id)
        if customer is None or card is None:
            return PayResult(PayOutcome.NO_CARD, reason="no saved card")
        destination = self._destination(recipient_id)
        # The recipient is part of what the key pays for, even when no destination carries it (held money).
        metadata = {"paybot_key": key, "paybot_recipient": recipient_id, **(reference or {})}
        if memo:
            metadata["memo"] = memo[:500]
        charge = self._charge_params(amount, destination, metadata)
        params: Any = {**charge, "customer": customer, "payment_method": card, "off_session": True, "confirm": True}
        try:
            pi = self.client.v1.payment_intents.create(params=params, options={"idempotency_key": key})
        except stripe.InvalidRequestError as err:
            if destination is None or err.code != "insufficient_capabilities_for_transfer":
                raise _translate(err) from None
            # The recipient's account lost its transfers capability since paybot saw it ready: hold the
            # money instead. Stripe saves no result for a refused request, so the key is still free.
            log.warning("recipient %s cannot take transfers any more; holding the payment", recipient_id)
            self._save(recipient_id, account_ready=False)
            return self.pay(key=key, sender_id=sender_id, recipient_id=recipient_id, amount=amount, memo=memo,
                            reference=reference)
        except stripe.CardError as err:
            return self._declined(err, key, customer, amount, charge)
        except stripe.IdempotencyError:
            # Another attempt with this key chose differently (the recipient onboarded in between):
            # what that attempt did is the answer, if it paid the same amount to the same person.
            if self._paid_otherwise(key, customer, amount, recipient_id, metadata.get("memo")):
                raise IdempotencyError(f"key {key} was used with other parameters") from None
            found = self.lookup(key, sender_id)
            if found is None:
                raise IdempotencyError(f"key {key} was used with other parameters") from None
            return found
        except stripe.StripeError as err:
            if (getattr(err, "http_status", None) or 0) >= 500:
                # Stripe saves a 500 under the key and replays it for a day, whether or not the charge was
                # made before it failed: what was charged under the key is the answer, when there is one.
                paid = self._paid_with(key, customer)
                if paid is not None:
                    return paid
            raise _translate(err) from None
        if pi.status != "succeeded":
            return PayResult(PayOutcome.DECLINED, ref=pi.id, reason=f"the payment is {pi.status}")
        outcome = PayOutcome.PAID if destination else PayOutcome.HELD
        self._record(key, customer, amount, payment_intent=pi.id, outcome=outcome)
        return PayResult(outcome, ref=pi.id)

    def _charge_params(self, amount: Money, destination: str | None, metadata: dict[str, str]) -> dict[str, Any]:
        params: dict[str, Any] = {"amount": amount.minor, "currency": amount.currency.lower(), "metadata": metadata}
        if destination:
            params["transfer_data"] = {"destination": destination}
            fee = self._fee(amount.minor)
            if fee:
                params["application_fee_amount"] = fee
        elif self.connect:
            params["transfer_group"] = f"paybot-{metadata.get('transfer_id') or metadata['paybot_key']}"
        return params

    def _declined(self, err: stripe.CardError, key: str, customer: str, amount: Money,
                  charge: dict[str, Any]) -> PayResult:
        error = err.error
        pi = getattr(error, "payment_intent", None) if error else None
        ref = _f(pi, "id")
        if err.code == "authentication_required":
            # The bank wants the sender present: a hosted page for exactly this payment.
            created = int(_f(pi, "created") or self.clock.now().timestamp())
            data = {k: charge[k] for k in ("metadata", "transfer_data", "transfer_group", "application_fee_amount")
                    if k in charge}
            page: Any = {
                "mode": "payment", "customer": customer,
                "success_url": self.return_url, "cancel_url": self.return_url,
                "expires_at": created + AUTH_PAGE_LIFETIME,
                "metadata": {"paybot_key": key},
                "line_items": [{"quantity": 1, "price_data": {
                    "currency": charge["currency"], "unit_amount": amount.minor,
                    "product_data": {"name": "Payment sent with paybot"}}}],
                "payment_intent_data": data,
            }
            session = self._call(lambda: self.client.v1.checkout.sessions.create(
                params=page, options={"idempotency_key": "auth:" + key.removeprefix("pay:")}))
            self._record(key, customer, amount, payment_intent=ref, session=session.id)
            self._abandon(ref, "cancel:" + key.removeprefix("pay:"))
            return PayResult(PayOutcome.NEEDS_AUTH, ref=ref, reason="authentication required", url=session.url,
                             valid_for=CHECKOUT_LIFETIME)
        decline = getattr(error, "decline_code", None) or err.code or ""
        return PayResult(PayOutcome.DECLINED, ref=ref, reason=DECLINE_WORDS.get(decline, DEFAULT_DECLINE))

    def _abandon(self, ref: str | None, key: str) -> None:
        """Cancel the off-session PaymentIntent the bank refused: the page's own PaymentIntent replaces
        it, and the dashboard shows one canceled attempt instead of an incomplete payment forever."""
        if ref is None:
            return
        try:
            self.client.v1.payment_intents.cancel(ref, params={"cancellation_reason": "abandoned"},
                                                  options={"idempotency_key": key})
        except stripe.StripeError as err:  # tidiness only: the payment goes on without it
            log.warning("could not cancel the refused PaymentIntent %s: %s", ref,
                        err.user_message or type(err).__name__)

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        destination = self._destination(recipient_id)
        if destination is None:
            raise ProviderError("the recipient cannot receive payments yet")
        pi = self._call(lambda: self.client.v1.payment_intents.retrieve(payment_ref))
        group = pi.transfer_group or f"paybot-{payment_ref}"
        # A Transfer already made with this key is the answer: Stripe replays a 500 under its key for 24 h
        # (and then forgets the key), so a release whose first answer was a 500 after the work is found here.
        made = next((tr for tr in self._each(self.client.v1.transfers.list, {"transfer_group": group})
                     if _f(tr, "metadata", "paybot_key") == key), None)
        if made is not None:
            if _f(made, "amount") != amount.minor - self._fee(amount.minor) or _f(made, "destination") != destination:
                raise IdempotencyError(f"key {key} was used with other parameters")
            return str(made.id)
        transfer = self._call(lambda: self.client.v1.transfers.create(params={
            "amount": amount.minor - self._fee(amount.minor), "currency": amount.currency.lower(),
            "destination": destination, "source_transaction": _f(pi, "latest_charge"),
            "transfer_group": group, "metadata": {"paybot_key": key},
        }, options={"idempotency_key": key}))
        return str(transfer.id)

    def refund(self, *, key: str, payment_ref: str, amount: Money, keep: int = 0) -> Settled:
        """A refund of `amount` (all or part of the payment), taking the recipient's share back first when the
        money reached them: for a destination charge with `reverse_transfer` (Stripe reverses the transfer in
        proportion), for released held money with a reversal of its Transfer (key `<key>:reversal:<id>`).
        What was already taken back from the recipient beyond the shares of the standing refunds (an operator's
        reversal, or the reversal of a refund that failed: Stripe does not undo it) counts towards it.

        A refund already made with `key` (found among the payment's refunds by its metadata) is the answer,
        so a retry after Stripe forgot the key (24 h) cannot refund twice. Pending while Stripe finishes it."""
        done = self._refund_made(key, payment_ref, amount.minor)
        if done is not None:
            return done
        pi = self._call(lambda: self.client.v1.payment_intents.retrieve(payment_ref))
        params: Any = {"payment_intent": payment_ref, "amount": amount.minor, "metadata": {"paybot_key": key}}
        delivered = bool(_f(pi, "transfer_data")) or (self.connect and bool(_f(pi, "transfer_group")))
        charge = self._charge_of(pi) if delivered else None  # money that may have reached the recipient
        if charge is not None and _f(pi, "transfer_data") and _f(charge, "transfer"):
            transfer = self._call(partial(self.client.v1.transfers.retrieve, str(_f(charge, "transfer"))))
            take, share = _take_back(amount.minor, charge, transfer)
            if take == share and take > 0:  # Stripe's reverse_transfer takes exactly the share
                params.update(reverse_transfer=True, refund_application_fee=True)
            elif take > 0:
                self._reverse_once(transfer, take, f"{key}:reversal:{transfer.id}")
        elif charge is not None and self.connect and _f(pi, "transfer_group"):
            # Held money that was released: the recipient's share first, so the platform does not pay it out of
            # its own balance.
            released = self._each(lambda p: self.client.v1.transfers.list(params=p),
                                  {"transfer_group": pi.transfer_group, "limit": 100})
            for transfer in released:
                take, _ = _take_back(amount.minor, charge, transfer)
                if take > 0:
                    self._reverse_once(transfer, take, f"{key}:reversal:{transfer.id}")
        try:
            refund = self.client.v1.refunds.create(params=params, options={"idempotency_key": key})
        except stripe.IdempotencyError:
            # The first attempt with this key chose other parameters (a reversal made since changed the plan):
            # what it did is the answer.
            found = self._refund_made(key, payment_ref, amount.minor)
            if found is None:
                raise IdempotencyError(f"key {key} was used with other parameters") from None
            return found
        except stripe.StripeError as err:
            raise _translate(err) from None
        return Settled(str(refund.id), pending=refund.status == "pending")

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """Take back what the recipient still holds of their share of `amount` of the payment (the platform
        keeps it): a reversal of the destination charge's Transfer, or of the Transfer that released held money.
        ProviderError when they hold nothing of it."""
        pi = self._call(lambda: self.client.v1.payment_intents.retrieve(payment_ref))
        charge = self._charge_of(pi)
        if charge is None:
            raise ProviderError(f"Stripe: payment {payment_ref} has no charge")
        if _f(pi, "transfer_data") and _f(charge, "transfer"):
            transfers = [self._call(partial(self.client.v1.transfers.retrieve, str(_f(charge, "transfer"))))]
        elif self.connect and _f(pi, "transfer_group"):
            transfers = list(self._each(lambda p: self.client.v1.transfers.list(params=p),
                                        {"transfer_group": pi.transfer_group, "limit": 100}))
        else:
            transfers = []
        for transfer in transfers:
            made = self._reversal_made(transfer, key)
            if made is not None:
                return made
            left = int(transfer.amount) - int(_f(transfer, "amount_reversed") or 0)
            take = min(left, amount.minor * int(transfer.amount) // int(charge.amount))
            if take > 0:
                return self._reverse_once(transfer, take, key)
        raise ProviderError(f"Stripe: the recipient holds nothing of {payment_ref} any more")

    def holdings(self) -> list[tuple[str, Money]]:
        """None: Connect accounts are paid out to their banks by the provider itself."""
        return []

    def cash_out(self, *, key: str, user_id: str, currency: str, keep: int = 0,
                 holds_for_others: bool = False, accounts: PayoutAccounts = NO_ACCOUNTS) -> CashOut:
        """Nothing to do: a Connect account is paid out to its bank account by Stripe itself, on the payout
        schedule of the account (Express dashboard), so paybot makes no payout and asks Stripe nothing."""
        return CashOut(CashOutOutcome.AUTOMATIC)

    def _charge_of(self, pi: Any) -> Any | None:
        charge = _f(pi, "latest_charge")
        return self._call(partial(self.client.v1.charges.retrieve, str(charge))) if charge else None

    def _reverse_once(self, transfer: Any, amount: int, key: str) -> str:
        """A reversal of `amount` of the Transfer with `key`, unless one was made with it (Stripe may have
        forgotten the key)."""
        made = self._reversal_made(transfer, key)
        if made is not None:
            return made
        reversal = self._call(partial(self.client.v1.transfers.reversals.create, transfer.id,
                                      params={"amount": amount, "metadata": {"paybot_key": key}},
                                      options={"idempotency_key": key}))
        return str(reversal.id)

    @staticmethod
    def _reversal_made(transfer: Any, key: str) -> str | None:
        for reversal in _f(transfer, "reversals", "data") or []:
            if _f(reversal, "metadata", "paybot_key") == key:
                return str(reversal.id)
        return None

    def _refund_made(self, key: str, payment_ref: str, minor: int) -> Settled | None:
        """The refund made with `key`, if the payment has one (one that failed since counts as pending: its
        failure is an event paybot reads); IdempotencyError when it refunded another amount."""
        for refund in self._each(lambda p: self.client.v1.refunds.list(params=p),
                                 {"payment_intent": payment_ref, "limit": 100}):
            if _f(refund, "metadata", "paybot_key") == key:
                if int(refund.amount) != minor:
                    raise IdempotencyError(f"key {key} refunded {refund.amount}, not {minor}")
                return Settled(str(refund.id), pending=refund.status != "succeeded")
        return None

    # ------------------------------------------------------------------ lookups

    def _paid_otherwise(self, key: str, customer: str, amount: Money, recipient_id: str, memo: str | None) -> bool:
        """Whether a payment made with `key` was for another amount, currency, recipient or memo."""
        for pi in self._each(lambda p: self.client.v1.payment_intents.list(params=p),
                             {"customer": customer, "limit": 100}):
            if _f(pi, "metadata", "paybot_key") != key:
                continue
            if (_f(pi, "amount"), _f(pi, "currency")) != (amount.minor, amount.currency.lower()):
                return True
            if _f(pi, "metadata", "paybot_recipient") not in (None, recipient_id):
                return True
            if _f(pi, "metadata", "memo") != memo:
                return True
        return False

    def _paid_with(self, key: str, customer: str) -> PayResult | None:
        """The succeeded PaymentIntent made with `key`, if Stripe can say now; None otherwise."""
        try:
            for pi in self._each(lambda p: self.client.v1.payment_intents.list(params=p),
                                 {"customer": customer, "limit": 100}):
                if _f(pi, "metadata", "paybot_key") == key and pi.status == "succeeded":
                    return PayResult(PayOutcome.PAID if _f(pi, "transfer_data") else PayOutcome.HELD, ref=pi.id)
        except ProviderError:
            return None
        return None

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        customer = self._row(sender_id).customer_id
        if customer is None:
            return None
        intents = [pi for pi in self._each(lambda p: self.client.v1.payment_intents.list(params=p),
                                           {"customer": customer, "limit": 100})
                   if _f(pi, "metadata", "paybot_key") == key]
        for pi in intents:
            if pi.status == "succeeded":
                return PayResult(PayOutcome.PAID if _f(pi, "transfer_data") else PayOutcome.HELD, ref=pi.id)
        sessions = [cs for cs in self._each(lambda p: self.client.v1.checkout.sessions.list(params=p),
                                            {"customer": customer, "limit": 100})
                    if _f(cs, "metadata", "paybot_key") == key]
        for cs in sessions:
            if cs.status == "open":  # the page closes now: it cannot be paid after this answer
                try:
                    self.client.v1.checkout.sessions.expire(cs.id, options={"idempotency_key": f"expire:{cs.id}"})
                except stripe.InvalidRequestError:
                    return self.lookup(key, sender_id)  # it was completed meanwhile
                except stripe.StripeError as err:
                    raise _translate(err) from None
        if sessions:
            return PayResult(PayOutcome.NEEDS_AUTH, ref=intents[0].id if intents else None,
                             reason="not approved in time")
        if intents:
            error = _f(intents[0], "last_payment_error")
            decline = _f(error, "decline_code") or _f(error, "code") or ""
            return PayResult(PayOutcome.DECLINED, ref=intents[0].id,
                             reason=DECLINE_WORDS.get(decline, DEFAULT_DECLINE))
        return None

    def payments_since(self, since: datetime) -> list[ProviderPayment]:
        created = {"gte": int(since.timestamp())}
        transfers = {t.source_transaction for t in self._each(
            lambda p: self.client.v1.transfers.list(params=p), {"created": created, "limit": 100})}
        refunded: dict[str, int] = {}
        for r in self._each(lambda p: self.client.v1.refunds.list(params=p), {"created": created, "limit": 100}):
            if r.status != "failed" and r.payment_intent:
                refunded[r.payment_intent] = refunded.get(r.payment_intent, 0) + int(r.amount)
        out = []
        for pi in self._each(lambda p: self.client.v1.payment_intents.list(params=p),
                             {"created": created, "limit": 100}):
            key = _f(pi, "metadata", "paybot_key")
            if not key or pi.status != "succeeded":
                continue
            out.append(ProviderPayment(
                key=key, ref=pi.id, amount_minor=pi.amount, currency=pi.currency.upper(), charged=True,
                delivered=bool(_f(pi, "transfer_data")) or pi.latest_charge in transfers,
                refunded=refunded.get(pi.id, 0) >= pi.amount, refunded_minor=refunded.get(pi.id, 0)))
        return out

    # ------------------------------------------------------------------ events

    def events(self, after: str | None) -> tuple[list[ProviderEvent], str | None]:
        """Stripe's events since `after`, oldest first. Without a cursor, every event Stripe still keeps."""
        raw: list[Any] = []
        if after is None:
            params: Any = {"limit": 100, "types": list(EVENT_TYPES)}
            for _ in range(20):
                page = self._call(partial(self.client.v1.events.list, params=params))
                raw += page.data
                if not page.has_more or not page.data:
                    break
                params = {**params, "starting_after": page.data[-1].id}
            raw.reverse()
        else:
            cursor = after
            for _ in range(20):
                newer: Any = {"limit": 100, "ending_before": cursor, "types": list(EVENT_TYPES)}
                page = self._call(partial(self.client.v1.events.list, params=newer))
                if not page.data:
                    break
                raw += reversed(page.data)
                cursor = page.data[0].id
                if not page.has_more:
                    break
        out = []
        for event in raw:
            try:
                out += self.translate_event(event)
            except stripe.StripeError as err:
                problem = _translate(err)
                if isinstance(problem, ProviderTransient):
                    raise problem from None  # read again from the same cursor next time
                log.warning("skipped Stripe event %s (%s): %s", event.id, event.type, problem)
        cursor_out = raw[-1].id if raw else after
        return out + self._onboarding_events(), cursor_out

    def _onboarding_events(self) -> list[ProviderEvent]:
        """ACCOUNT_READY, once, for each account awaiting onboarding that can take transfers now.

        The accounts awaiting are the records with an account that is not ready, whose schedule started
        (their updated_at: the account's creation, or the last link minted) within ONBOARDING_WATCH; each
        is retrieved when due (see ONBOARDING_MAX_INTERVAL), at most ONBOARDING_CHECKS_PER_POLL per call.
        Accounts found ready elsewhere (a payment or a CLAIM asked Stripe) are reported here too."""
        if not self.connect:
            return []
        now = self.clock.now()
        with self.uow() as s:
            rows = list(s.exec(select(StripeUser).where(
                col(StripeUser.account_id).is_not(None), col(StripeUser.account_ready).is_(False),
                col(StripeUser.updated_at) >= now - ONBOARDING_WATCH)))
        out = [ProviderEvent(f"account-ready:{account}", EventKind.ACCOUNT_READY, user_id=user)
               for account, user in self._became_ready.items()]
        self._became_ready.clear()
        awaiting = {str(row.account_id): row for row in rows}
        self._checked = {a: t for a, t in self._checked.items() if a in awaiting}
        never = datetime.min.replace(tzinfo=UTC)
        due = []
        for account, row in awaiting.items():
            last = self._checked.get(account)
            if last is None or now - last >= min((now - row.updated_at) / 4, ONBOARDING_MAX_INTERVAL):
                due.append((last or never, account, row.user_id))
        due.sort()
        for _, account, user in due[:ONBOARDING_CHECKS_PER_POLL]:
            self._checked[account] = now
            try:
                found = self._call(partial(self.client.v1.accounts.retrieve, account))
            except ProviderTransient as err:  # Stripe cannot answer now: the others wait for their next turn
                log.warning("could not check onboarding of Stripe account %s: %s", account, err)
                break
            except ProviderError as err:
                log.warning("could not check onboarding of Stripe account %s: %s", account, err)
                continue
            if _f(found, "capabilities", "transfers") == "active":
                self._save(user, account_ready=True)
                del self._checked[account]
                out.append(ProviderEvent(f"account-ready:{account}", EventKind.ACCOUNT_READY, user_id=user))
        return out

    def fetch_event(self, event_id: str, *, account: str | None = None) -> Any | None:
        """Stripe's own copy of an event (as the connected `account` for a Connect event); None when
        Stripe has no such event. StripeError when Stripe cannot answer now."""
        options: dict[str, Any] = {"stripe_account": account} if account else {}
        try:
            return self.client.v1.events.retrieve(event_id, options=options)  # type: ignore[arg-type]
        except stripe.InvalidRequestError as err:
            if err.http_status == 404:
                return None
            raise

    def translate_event(self, event: Any) -> list[ProviderEvent]:
        """One of the platform's own Stripe events (polled, or from the platform's webhook endpoint) in the
        port's words; records what it teaches. A connected account's event is not one (see
        `translate_connect_event`): it is refused here. No payment is taken from what an event says: a
        payment event names paybot's key, and the payment paybot made for that key is read again from the
        platform and checked (`_paid`)."""
        obj = event.data.object
        kind, eid = event.type, event.id
        if _f(event, "account"):
            log.warning("refused Stripe event %s (%s): it is connected account %s's, not the platform's", eid, kind,
                        _f(event, "account"))
            return []
        key = _f(obj, "metadata", "paybot_key")
        if kind == "checkout.session.completed" and _f(obj, "mode") == "setup":
            intent = self.client.v1.setup_intents.retrieve(obj.setup_intent)
            user_id = self._save_card(obj.customer, _f(intent, "payment_method"))
            return [ProviderEvent(eid, EventKind.CARD_SAVED, user_id=user_id)] if user_id else []
        if kind in ("checkout.session.completed", "payment_intent.succeeded") and key:
            return self._paid(eid, key)
        if kind == "checkout.session.expired" and key:
            return self._lapsed(eid, key)
        if kind == "charge.refunded" and _f(obj, "payment_intent"):
            # The charge's refunds (listed: API versions since 2022-11-15 leave them out of the charge), each with
            # paybot's key when paybot made it; every copy of one refund says the same.
            return [ProviderEvent(f"{eid}:{r.id}", EventKind.REFUNDED, ref=obj.payment_intent, settle_ref=r.id,
                                  key=_f(r, "metadata", "paybot_key"), amount_minor=int(r.amount),
                                  pending=r.status == "pending")
                    for r in self._each(lambda p: self.client.v1.refunds.list(params=p),
                                        {"payment_intent": obj.payment_intent, "limit": 100})
                    if r.status != "failed"]
        if kind in ("charge.refund.updated", "refund.updated") and _f(obj, "status") in ("succeeded", "failed"):
            ended = EventKind.REFUND_SETTLED if obj.status == "succeeded" else EventKind.REFUND_FAILED
            return [ProviderEvent(eid, ended, ref=_f(obj, "payment_intent"), settle_ref=obj.id,
                                  key=_f(obj, "metadata", "paybot_key"), amount_minor=int(obj.amount),
                                  reason=_f(obj, "failure_reason") if ended == EventKind.REFUND_FAILED else None)]
        if kind == "charge.dispute.created" and _f(obj, "payment_intent"):
            return [ProviderEvent(eid, EventKind.DISPUTED, ref=obj.payment_intent, settle_ref=obj.id,
                                  amount_minor=_f(obj, "amount"))]
        if kind == "charge.dispute.funds_withdrawn" and _f(obj, "payment_intent"):
            return [ProviderEvent(eid, EventKind.FUNDS_WITHDRAWN, ref=obj.payment_intent, settle_ref=obj.id,
                                  amount_minor=_f(obj, "amount"))]
        return []

    def translate_connect_event(self, event: Any, account: str) -> list[ProviderEvent] | None:
        """A connected account's event (from the Connect webhook endpoint, fetched again as `account`) in the
        port's words: only `account.updated` of that very account, one paybot created (in table stripeuser),
        teaches anything (ACCOUNT_READY once it can take transfers). None for anything else: the event is
        refused (a Connect event can never pay, refund or save a card for anyone)."""
        obj = event.data.object
        if (event.type != "account.updated" or _f(event, "account") != account or _f(obj, "id") != account
                or self.user_of_account(account) is None):
            return None
        if _f(obj, "capabilities", "transfers") != "active":
            return []
        user_id = self._mark_ready(account)
        return [ProviderEvent(event.id, EventKind.ACCOUNT_READY, user_id=user_id)] if user_id else []

    def user_of_account(self, account_id: str) -> str | None:
        """The X user whose Connect account paybot created with this id; None for any other account."""
        with self.uow() as s:
            row = s.exec(select(StripeUser).where(StripeUser.account_id == account_id)).first()
        return row.user_id if row is not None else None

    def _paid(self, eid: str, key: str) -> list[ProviderEvent]:
        """PAID for `key` when the payment paybot made for it succeeded, as the platform says now: never from the
        event (which only names the key). The approval page paybot stored is read again on the platform, with
        its PaymentIntent (by that page, not by any id an event names), and the PaymentIntent must be the
        stored Customer's, for the stored amount and currency, with the key in its metadata. A payment already
        seen succeeding (pay's own answer, or a page checked before) needs no request."""
        with self.uow() as s:
            row = s.get(StripePayment, key)
        if row is None:
            log.warning("Stripe event %s names key %s, for which paybot made no payment: not applied", eid, key)
            return []
        if row.outcome is None:
            if row.session_id is None:
                return []
            page = self._page(row.session_id, key)
            pi = _f(page, "payment_intent")
            if page is None or _f(page, "status") != "complete" or pi is None:
                return []  # not paid (yet): the page's own event will say so
            if isinstance(pi, str):
                pi = self.client.v1.payment_intents.retrieve(pi)
            problem = self._not_ours(pi, row, key)
            if problem:
                log.warning("Stripe event %s: the payment of key %s's approval page is not the one paybot asked "
                            "for (%s): not applied", eid, key, problem)
                return []
            if _f(pi, "status") != "succeeded":
                return []
            outcome = PayOutcome.PAID if _f(pi, "transfer_data") else PayOutcome.HELD
            self._record(key, row.customer_id, Money(row.amount_minor, row.currency.upper()), payment_intent=pi.id,
                         outcome=outcome)
            row.payment_intent_id, row.outcome = pi.id, outcome
        return [ProviderEvent(eid, EventKind.PAID, key=key, ref=row.payment_intent_id,
                              outcome=PayOutcome(row.outcome))]

    def _lapsed(self, eid: str, key: str) -> list[ProviderEvent]:
        """AUTH_LAPSED for `key` when the approval page paybot stored for it expired, as the platform says now
        (another page with the key in its metadata, expiring, says nothing of paybot's)."""
        with self.uow() as s:
            row = s.get(StripePayment, key)
        if row is None or row.session_id is None or row.outcome is not None:
            return []
        page = self._page(row.session_id, key)
        if _f(page, "status") != "expired":
            return []
        return [ProviderEvent(eid, EventKind.AUTH_LAPSED, key=key)]

    def _page(self, session_id: str, key: str) -> Any | None:
        """The approval page paybot stored, read again on the platform with its PaymentIntent; None when Stripe
        does not know it."""
        try:
            return self.client.v1.checkout.sessions.retrieve(session_id, params={"expand": ["payment_intent"]})
        except stripe.InvalidRequestError as err:
            if err.http_status != 404:
                raise
            log.warning("Stripe does not know the approval page %s of key %s", session_id, key)
            return None

    @staticmethod
    def _not_ours(pi: Any, row: StripePayment, key: str) -> str | None:
        """What makes a PaymentIntent another than the one paybot made for `row` (None: it is that one)."""
        customer = _f(pi, "customer")
        if (_f(customer, "id") if customer is not None and not isinstance(customer, str) else customer) \
                != row.customer_id:
            return "another customer"
        if (_f(pi, "amount"), _f(pi, "currency")) != (row.amount_minor, row.currency):
            return "another amount"
        if _f(pi, "metadata", "paybot_key") != key:
            return "another key"
        return None

    def _record(self, key: str, customer: str, amount: Money, *, payment_intent: str | None = None,
                session: str | None = None, outcome: PayOutcome | None = None) -> None:
        """Remember what paybot made for `key` on the platform (the fields given; the others stay)."""
        with self.uow() as s:
            row = s.get(StripePayment, key) or StripePayment(
                key=key, customer_id=customer, amount_minor=amount.minor, currency=amount.currency.lower(),
                updated_at=self.clock.now())
            row.customer_id, row.amount_minor, row.currency = customer, amount.minor, amount.currency.lower()
            if payment_intent is not None and row.outcome is None:
                row.payment_intent_id = payment_intent
            if session is not None:
                row.session_id = session
            if outcome is not None:
                row.outcome = outcome.value
            row.updated_at = self.clock.now()
            s.add(row)
            s.commit()

    # ------------------------------------------------------------------ records

    def _row(self, user_id: str) -> StripeUser:
        with self.uow() as s:
            return s.get(StripeUser, user_id) or StripeUser(user_id=user_id, updated_at=self.clock.now())

    def _save(self, user_id: str, **fields: Any) -> None:
        """Change the user's row; its card and its Connect account (the identity registration: made, then able to
        receive) move only as their lifecycles allow (IllegalTransition otherwise, and nothing is saved)."""
        with self.uow() as s:
            row = s.get(StripeUser, user_id) or StripeUser(user_id=user_id, updated_at=self.clock.now())
            card, identity = _card_step(row), _identity_step(row)
            for name, value in fields.items():
                setattr(row, name, value)
            CARD.became(card, _card_step(row))
            IDENTITY.became(identity, _identity_step(row))
            row.updated_at = self.clock.now()
            s.add(row)
            s.commit()

    def customer(self, user_id: str) -> str:
        """The user's Customer id, created (once, by its idempotency key) the first time."""
        row = self._row(user_id)
        if row.customer_id:
            return row.customer_id
        customer = self._call(lambda: self.client.v1.customers.create(
            params={"metadata": {"x_user_id": user_id}}, options={"idempotency_key": f"customer:{user_id}"}))
        self._save(user_id, customer_id=customer.id)
        return str(customer.id)

    def _card(self, user_id: str) -> str | None:
        """The saved card; asks Stripe when a Customer exists but no card is known yet."""
        row = self._row(user_id)
        if row.payment_method_id or not row.customer_id:
            return row.payment_method_id
        query: Any = {"customer": row.customer_id, "type": "card", "limit": 1}
        cards = self._call(lambda: self.client.v1.payment_methods.list(params=query))
        if not cards.data:
            return None
        self._save(user_id, payment_method_id=cards.data[0].id)
        return str(cards.data[0].id)

    def attach_card(self, user_id: str, payment_method: str) -> str:
        """Attach a payment method (a test one, e.g. "pm_card_visa") to the user's Customer and save it."""
        pm = self._call(lambda: self.client.v1.payment_methods.attach(
            payment_method, params={"customer": self.customer(user_id)}))
        self.save_card(user_id, pm.id)
        return str(pm.id)

    def save_card(self, user_id: str, payment_method: str) -> None:
        """Remember the card the user saved (a payment method attached to their Customer)."""
        self._save(user_id, payment_method_id=payment_method)

    def _save_card(self, customer_id: str, payment_method: str) -> str | None:
        with self.uow() as s:
            row = s.exec(select(StripeUser).where(StripeUser.customer_id == customer_id)).first()
        if row is None:
            log.warning("a card was saved for customer %s, whom paybot does not know", customer_id)
            return None
        self.save_card(row.user_id, payment_method)
        return row.user_id

    def account(self, user_id: str) -> str:
        """The user's Connect account id, created (once) the first time: Express dashboard,
        requirements collected by Stripe, transfers requested."""
        row = self._row(user_id)
        if row.account_id:
            return row.account_id
        account = self._call(lambda: self.client.v1.accounts.create(params={
            "controller": {"stripe_dashboard": {"type": "express"}, "fees": {"payer": "application"},
                           "losses": {"payments": "application"}, "requirement_collection": "stripe"},
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"x_user_id": user_id},
        }, options={"idempotency_key": f"account:{user_id}"}))
        self._save(user_id, account_id=account.id)
        return str(account.id)

    def _ready(self, user_id: str, account_id: str) -> bool:
        account = self._call(lambda: self.client.v1.accounts.retrieve(account_id))
        ready = bool(_f(account, "capabilities", "transfers") == "active")
        if ready and not self._row(user_id).account_ready:
            self._save(user_id, account_ready=True)
            self._became_ready[account_id] = user_id  # reported by the next poll: held money may wait for it
        return ready

    def _destination(self, user_id: str) -> str | None:
        """The recipient's Connect account if it can take transfers now."""
        if not self.connect:
            return None
        row = self._row(user_id)
        if row.account_id and (row.account_ready or self._ready(user_id, row.account_id)):
            return row.account_id
        return None

    def _mark_ready(self, account_id: str) -> str | None:
        with self.uow() as s:
            row = s.exec(select(StripeUser).where(StripeUser.account_id == account_id)).first()
        if row is None:
            return None
        self._save(row.user_id, account_ready=True)
        return row.user_id

    def _fee(self, minor: int) -> int:
        return minor * self.fee_bps // 10_000

    # ------------------------------------------------------------------ plumbing

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except stripe.StripeError as err:
            raise _translate(err) from None

    def _each(self, lister: Callable[[Any], Any], params: dict[str, Any]) -> Iterator[Any]:
        """Every item of a Stripe list, page by page (`params` are Stripe's typed list parameters)."""
        for _ in range(100):
            page = self._call(partial(lister, params))
            yield from page.data
            if not page.has_more or not page.data:
                return
            params = {**params, "starting_after": page.data[-1].id}


def _f(obj: Any, *path: str) -> Any:
    """A field of a Stripe object (or of a plain dict), None when any step is missing."""
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
    return obj


def _take_back(minor: int, charge: Any, transfer: Any) -> tuple[int, int]:
    """What the recipient gives back of a refund of `minor` of the charge, and their proportional share of it.

    The share is in proportion to what their Transfer got (rounded down, as the emulator rounds Stripe's
    reverse_transfer); the refund that completes the charge's refunds takes all they still hold. Less what was
    already taken back beyond the shares of the standing refunds (failed refunds are not standing: Stripe gives
    their amount back to the charge, not to the recipient), never more than they hold."""
    got, taken = int(transfer.amount), int(_f(transfer, "amount_reversed") or 0)
    total, standing = int(charge.amount), int(_f(charge, "amount_refunded") or 0)
    left = got - taken
    if minor >= total - standing:
        return left, left
    share = minor * got // total
    beyond = max(0, taken - standing * got // total)
    return max(0, min(share - beyond, left)), share


def _translate(err: stripe.StripeError) -> ProviderError:
    """Stripe's errors in the port's words; the message never carries the API key or card data."""
    status = getattr(err, "http_status", None)
    text = f"Stripe: {err.user_message or type(err).__name__}"
    if isinstance(err, stripe.IdempotencyError):
        return IdempotencyError(text)
    if status == 409:
        # A conflict: the first request with this idempotency key is still executing (Stripe's
        # idempotency_key_in_use; stripe-python reads a 409 as an APIError and retried it already), or a
        # lock on the object. Nothing is known yet: never "refused", always tried again later.
        return ProviderTransient("Stripe: another request with this idempotency key is in progress (409)")
    if isinstance(err, (stripe.APIConnectionError, stripe.RateLimitError)) or (status or 0) >= 500:
        return ProviderTransient(text)
    if isinstance(err, (stripe.AuthenticationError, stripe.PermissionError)):
        # Nothing was done; payments wait (and are retried) until the operator fixes the key.
        log.error("Stripe refused the API key (%s): check STRIPE_API_KEY", type(err).__name__)
        return ProviderTransient(text)
    if getattr(err, "code", None) == "amount_too_small":
        return AmountTooSmall(text)
    if getattr(err, "code", None) == "balance_insufficient":
        return InsufficientBalance(text)
    return ProviderError(text)


def _card_step(row: StripeUser) -> CardStep:
    return card_step(row.payment_method_id, None)  # a card is saved on Stripe's page at once, or not at all


def _identity_step(row: StripeUser) -> IdentityStep:
    return identity_step(bool(row.account_id), None, row.account_ready)  # Stripe verifies on its own pages
