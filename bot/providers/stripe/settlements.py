"""What happens to a Stripe payment after the charge: held money released with a Transfer from that charge,
refunds (the recipient's share taken back first), and reversals of what the recipient received.

Each step carries the service's idempotency key (`release:...`, `return:...`, stored before the call), and a step
already made with the key (found among the payment's transfers, refunds or reversals by its metadata) is the
answer: Stripe forgets keys after 24 h, and replays a 500 under its key until then.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import stripe

from bot.errors import IdempotencyError, ProviderError
from bot.money import Money
from bot.ports import Settled
from bot.providers.stripe.accounts import StripeAccounts
from bot.providers.stripe.payments import application_fee
from bot.providers.stripe.transport import StripeTransport, field, translate


class StripeSettlements:
    """Releases, refunds and reversals of payments paybot made."""

    def __init__(self, transport: StripeTransport, accounts: StripeAccounts, *, fee_bps: int, connect: bool) -> None:
        self.transport = transport
        self.accounts = accounts
        self.fee_bps = fee_bps
        self.connect = connect

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        """Transfer held money (less the platform's fee) to the recipient's account, once per key."""
        destination = self.accounts.destination(recipient_id)
        if destination is None:
            raise ProviderError("the recipient cannot receive payments yet")
        client = self.transport.client
        pi = self.transport.call(lambda: client.v1.payment_intents.retrieve(payment_ref))
        group = pi.transfer_group or f"paybot-{payment_ref}"
        net = amount.minor - application_fee(amount.minor, self.fee_bps)
        # A Transfer already made with this key is the answer: Stripe replays a 500 under its key for 24 h
        # (and then forgets the key), so a release whose first answer was a 500 after the work is found here.
        made = next(
            (
                tr
                for tr in self.transport.each(client.v1.transfers.list, {"transfer_group": group})
                if field(tr, "metadata", "paybot_key") == key
            ),
            None,
        )
        if made is not None:
            if field(made, "amount") != net or field(made, "destination") != destination:
                raise IdempotencyError(f"key {key} was used with other parameters")
            return str(made.id)
        transfer = self.transport.call(
            lambda: client.v1.transfers.create(
                params={
                    "amount": net,
                    "currency": amount.currency.lower(),
                    "destination": destination,
                    "source_transaction": field(pi, "latest_charge"),
                    "transfer_group": group,
                    "metadata": {"paybot_key": key},
                },
                options={"idempotency_key": key},
            )
        )
        return str(transfer.id)

    def refund(self, *, key: str, payment_ref: str, amount: Money) -> Settled:
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
        client = self.transport.client
        pi = self.transport.call(lambda: client.v1.payment_intents.retrieve(payment_ref))
        params: Any = {"payment_intent": payment_ref, "amount": amount.minor, "metadata": {"paybot_key": key}}
        delivered = bool(field(pi, "transfer_data")) or (self.connect and bool(field(pi, "transfer_group")))
        charge = self._charge_of(pi) if delivered else None  # money that may have reached the recipient
        if charge is not None and field(pi, "transfer_data") and field(charge, "transfer"):
            transfer = self.transport.call(partial(client.v1.transfers.retrieve, str(field(charge, "transfer"))))
            take, share = take_back(amount.minor, charge, transfer)
            if take == share and take > 0:  # Stripe's reverse_transfer takes exactly the share
                params.update(reverse_transfer=True, refund_application_fee=True)
            elif take > 0:
                self._reverse_once(transfer, take, f"{key}:reversal:{transfer.id}")
        elif charge is not None and self.connect and field(pi, "transfer_group"):
            # Held money that was released: the recipient's share first, so the platform does not pay it out of
            # its own balance.
            released = self.transport.each(
                lambda p: client.v1.transfers.list(params=p), {"transfer_group": pi.transfer_group, "limit": 100}
            )
            for transfer in released:
                take, _ = take_back(amount.minor, charge, transfer)
                if take > 0:
                    self._reverse_once(transfer, take, f"{key}:reversal:{transfer.id}")
        try:
            refund = client.v1.refunds.create(params=params, options={"idempotency_key": key})
        except stripe.IdempotencyError:
            # The first attempt with this key chose other parameters (a reversal made since changed the plan):
            # what it did is the answer.
            found = self._refund_made(key, payment_ref, amount.minor)
            if found is None:
                raise IdempotencyError(f"key {key} was used with other parameters") from None
            return found
        except stripe.StripeError as err:
            raise translate(err) from None
        return Settled(str(refund.id), pending=refund.status == "pending")

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """Take back what the recipient still holds of their share of `amount` of the payment (the platform
        keeps it): a reversal of the destination charge's Transfer, or of the Transfer that released held money.
        ProviderError when they hold nothing of it."""
        client = self.transport.client
        pi = self.transport.call(lambda: client.v1.payment_intents.retrieve(payment_ref))
        charge = self._charge_of(pi)
        if charge is None:
            raise ProviderError(f"Stripe: payment {payment_ref} has no charge")
        if field(pi, "transfer_data") and field(charge, "transfer"):
            transfers = [self.transport.call(partial(client.v1.transfers.retrieve, str(field(charge, "transfer"))))]
        elif self.connect and field(pi, "transfer_group"):
            transfers = list(
                self.transport.each(
                    lambda p: client.v1.transfers.list(params=p), {"transfer_group": pi.transfer_group, "limit": 100}
                )
            )
        else:
            transfers = []
        for transfer in transfers:
            made = _reversal_made(transfer, key)
            if made is not None:
                return made
            left = int(transfer.amount) - int(field(transfer, "amount_reversed") or 0)
            take = min(left, amount.minor * int(transfer.amount) // int(charge.amount))
            if take > 0:
                return self._reverse_once(transfer, take, key)
        raise ProviderError(f"Stripe: the recipient holds nothing of {payment_ref} any more")

    def _charge_of(self, pi: Any) -> Any | None:
        charge = field(pi, "latest_charge")
        return self.transport.call(partial(self.transport.client.v1.charges.retrieve, str(charge))) if charge else None

    def _reverse_once(self, transfer: Any, amount: int, key: str) -> str:
        """A reversal of `amount` of the Transfer with `key`, unless one was made with it (Stripe may have
        forgotten the key)."""
        made = _reversal_made(transfer, key)
        if made is not None:
            return made
        reversal = self.transport.call(
            partial(
                self.transport.client.v1.transfers.reversals.create,
                transfer.id,
                params={"amount": amount, "metadata": {"paybot_key": key}},
                options={"idempotency_key": key},
            )
        )
        return str(reversal.id)

    def _refund_made(self, key: str, payment_ref: str, minor: int) -> Settled | None:
        """The refund made with `key`, if the payment has one (one that failed since counts as pending: its
        failure is an event paybot reads); IdempotencyError when it refunded another amount."""
        client = self.transport.client
        for refund in self.transport.each(
            lambda p: client.v1.refunds.list(params=p), {"payment_intent": payment_ref, "limit": 100}
        ):
            if field(refund, "metadata", "paybot_key") == key:
                if int(refund.amount) != minor:
                    raise IdempotencyError(f"key {key} refunded {refund.amount}, not {minor}")
                return Settled(str(refund.id), pending=refund.status != "succeeded")
        return None


def _reversal_made(transfer: Any, key: str) -> str | None:
    for reversal in field(transfer, "reversals", "data") or []:
        if field(reversal, "metadata", "paybot_key") == key:
            return str(reversal.id)
    return None


def take_back(minor: int, charge: Any, transfer: Any) -> tuple[int, int]:
    """What the recipient gives back of a refund of `minor` of the charge, and their proportional share of it.

    The share is in proportion to what their Transfer got (rounded down, as the emulator rounds Stripe's
    reverse_transfer); the refund that completes the charge's refunds takes all they still hold. Less what was
    already taken back beyond the shares of the standing refunds (failed refunds are not standing: Stripe gives
    their amount back to the charge, not to the recipient), never more than they hold."""
    got, taken = int(transfer.amount), int(field(transfer, "amount_reversed") or 0)
    total, standing = int(charge.amount), int(field(charge, "amount_refunded") or 0)
    left = got - taken
    if minor >= total - standing:
        return left, left
    share = minor * got // total
    beyond = max(0, taken - standing * got // total)
    return max(0, min(share - beyond, left)), share
