"""Money moved after a payment: transfers to connected accounts and their reversals, refunds (pending, settled,
failed)."""

from __future__ import annotations

from typing import Any

from bot.sims.stripe.accounts import Accounts
from bot.sims.stripe.errors import StripeError, _invalid
from bot.sims.stripe.params import _bool, _int


class Moves(Accounts):
    """Transfers, reversals and refunds."""

    def _transfers_create(self, params: dict[str, Any]) -> dict[str, Any]:
        amount = _int(params, "amount")
        if not params.get("destination") or not params.get("currency"):
            raise _invalid("Missing required param: destination.", "destination")
        self._check_destination(params["destination"])
        source = params.get("source_transaction")
        if source:
            ch = self._get("charge", source, "source_transaction")
            moved = sum(
                o["amount"]
                for o in self.objects.values()
                if o["object"] == "transfer" and o["source_transaction"] == source
            )
            if ch["status"] != "succeeded" or (amount or 0) > ch["amount"] - ch["amount_refunded"] - moved:
                raise _invalid(
                    "The source_transaction does not have enough funds for this transfer.", "source_transaction"
                )
        tr = self._new(
            "tr",
            "transfer",
            amount=amount,
            currency=params["currency"],
            destination=params["destination"],
            source_transaction=source,
            transfer_group=params.get("transfer_group"),
            metadata=params.get("metadata", {}),
            reversed=False,
        )
        return self._public(tr)

    def _transfer_reverse(self, params: dict[str, Any], oid: str) -> dict[str, Any]:
        """A reversal of all that is left of the transfer, or of `amount` of it: several partial reversals may
        follow one another until the whole transfer is reversed (then `reversed` is true)."""
        tr = self._get("transfer", oid)
        left = self._unreversed(tr)
        amount = _int(params, "amount", required=False)
        if left == 0:
            raise _invalid(f"Transfer {oid} has already been reversed.", "amount")
        if amount is not None and not 0 < amount <= left:
            raise _invalid(
                f"You can only reverse up to {left} (the amount of the transfer not reversed yet), not {amount}.",
                "amount",
            )
        return self._public(self._reverse(tr, amount or left, params.get("metadata", {})))

    def _unreversed(self, tr: dict[str, Any]) -> int:
        return int(tr["amount"]) - sum(
            int(o["amount"])
            for o in self.objects.values()
            if o["object"] == "transfer_reversal" and o["transfer"] == tr["id"]
        )

    def _reverse(
        self, tr: dict[str, Any], amount: int, metadata: dict[str, Any], source_refund: str | None = None
    ) -> dict[str, Any]:
        rv = self._new(
            "trr",
            "transfer_reversal",
            amount=amount,
            currency=tr["currency"],
            transfer=tr["id"],
            metadata=metadata,
            source_refund=source_refund,
        )
        tr["reversed"] = self._unreversed(tr) == 0
        self._event("transfer.reversed", tr)
        return rv

    def _refunds_create(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("payment_intent"):
            pi = self._get("payment_intent", params["payment_intent"], "payment_intent")
            charge_id = pi["latest_charge"]
        else:
            charge_id = params.get("charge")
            if not charge_id:
                raise _invalid(
                    "One of the following params should be provided for this request: payment_intent or charge.",
                    "payment_intent",
                )
        ch = self._get("charge", charge_id or "", "charge")
        if ch["status"] != "succeeded":
            raise _invalid("Cannot refund a failed payment.")
        left = ch["amount"] - ch["amount_refunded"]
        amount = _int(params, "amount", required=False) or left
        if ch.get("disputed"):  # Stripe: a charge that was charged back cannot be refunded
            raise StripeError(
                400,
                "invalid_request_error",
                f"Charge {charge_id} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        if left == 0:
            raise StripeError(
                400,
                "invalid_request_error",
                f"Charge {charge_id} has already been refunded.",
                code="charge_already_refunded",
            )
        if not 0 < amount <= left:
            raise _invalid(f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})", "amount")
        # reverse_transfer on a destination charge takes the transfer back in proportion to the refund (Stripe's
        # refund docs); the refund that completes the charge's refunds takes what is left of it (the emulator's
        # rounding: down, the remainder at the end). Refused when the transfer no longer holds that much.
        tr = self.objects.get(ch.get("transfer") or "") if _bool(params, "reverse_transfer") else None
        share = 0
        if tr is not None:
            unreversed = self._unreversed(tr)
            share = unreversed if amount == left else amount * int(tr["amount"]) // int(ch["amount"])
            if share > unreversed:
                raise _invalid(
                    f"The transfer {tr['id']} has only {unreversed} left to reverse; this refund would "
                    f"reverse {share} of it.",
                    "reverse_transfer",
                )
        status = "pending" if self._pending_refunds else "succeeded"
        self._pending_refunds = max(0, self._pending_refunds - 1)
        ch["amount_refunded"] += amount
        ch["refunded"] = ch["amount_refunded"] == ch["amount"]
        re_ = self._new(
            "re",
            "refund",
            amount=amount,
            currency=ch["currency"],
            charge=ch["id"],
            payment_intent=ch["payment_intent"],
            status=status,
            metadata=params.get("metadata", {}),
            reason=params.get("reason"),
        )
        if tr is not None and share:
            re_["transfer_reversal"] = self._reverse(tr, share, {}, source_refund=re_["id"])["id"]
        self._event("refund.created", re_)
        self._event("charge.refunded", ch)
        return self._public(re_)

    def hold_refunds(self, n: int = 1) -> None:
        """The next `n` refunds stay pending (the card network takes its time) until `settle_refund`."""
        with self.lock:
            self._pending_refunds = n

    def settle_refund(self, refund_id: str, status: str, failure_reason: str = "expired_or_canceled_card") -> None:
        """A refund ends: "succeeded", or "failed" (even one that had succeeded): the money goes back to the
        platform's balance and the charge counts it as not refunded. Stripe tells it twice, with
        charge.refund.updated and refund.updated (a transfer reversal it made stays)."""
        if status not in ("succeeded", "failed"):
            raise ValueError("a refund ends succeeded or failed")
        with self.lock:
            re_ = self._get("refund", refund_id)
            if re_["status"] == status or re_["status"] == "failed":
                return
            if status == "failed":
                ch = self._get("charge", re_["charge"])
                ch["amount_refunded"] -= re_["amount"]
                ch["refunded"] = ch["amount_refunded"] == ch["amount"]
                re_["failure_reason"] = failure_reason
            re_["status"] = status
            self._event("charge.refund.updated", re_)
            self._event("refund.updated", re_)
