"""Money after a Mangopay payment: held money released to its recipient (a Transfer from the sender's wallet, once
the recipient is a verified Owner), and money back to the card (a refund of the pay-in; delivered money is first
taken back from the recipient's wallet by a transfer refund). Held money that goes back returns to the card it came
from, not to the sender's wallet, where only the sender's CASHOUT would ever move it (a balance nobody asked for would
be money forgotten). Reversals are not built on Mangopay (`reverse`).
"""

from __future__ import annotations

from typing import Any

from bot.errors import IdempotencyError, ProviderError, ScaRequired, Undeliverable
from bot.money import Money
from bot.ports import Settled
from bot.providers.mangopay.kyc import MangopayKyc
from bot.providers.mangopay.transactions import MangopayTransactions
from bot.providers.mangopay.transport import MangopayTransport, amount_of, balance, read_tag, tag
from bot.providers.mangopay.users import MangopayUsers
from bot.repo.provider_records import MangopayRecords


class MangopaySettlements:
    """Releases of held money and refunds, each under its own key and found again by its Tag."""

    def __init__(
        self,
        transport: MangopayTransport,
        records: MangopayRecords,
        users: MangopayUsers,
        kyc: MangopayKyc,
        found: MangopayTransactions,
    ) -> None:
        self.transport = transport
        self.records = records
        self.users = users
        self.kyc = kyc
        self.found = found

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        if not self.kyc.regular(recipient_id):
            raise ProviderError("the recipient cannot receive payments yet")
        payin = self.transport.get(f"/payins/{payment_ref}")
        if payin is None or payin.get("Status") != "SUCCEEDED":
            raise ProviderError(f"no succeeded pay-in {payment_ref}")
        author = str(payin["AuthorId"])
        funds = {"Currency": amount.currency, "Amount": amount.minor}
        body: dict[str, Any] = {
            "AuthorId": author,
            "CreditedUserId": self.users.user(recipient_id),
            "DebitedFunds": funds,
            "Fees": {**funds, "Amount": 0},
            "DebitedWalletId": payin["CreditedWalletId"],
            "CreditedWalletId": self.users.wallet(recipient_id, amount.currency),
            "Tag": tag(paybot=key, payin=payment_ref),
        }
        sender = self.records.by_mangopay_id(author)
        if sender is not None and sender.owner:
            # The sender is not there when the recipient claims, and an Owner's transfer made without them
            # (USER_NOT_PRESENT) needs their standing consent, which paybot does not manage: Mangopay would
            # refuse it (403) every time. Asking would only repeat the refusal; the money goes back.
            raise Undeliverable("the sender is a Mangopay Owner: a transfer without them needs their consent")
        transfer = self.transport.post(key, "/transfers", body, self.found.finder(author, key, "TRANSFER"))
        if (
            transfer.get("Type") != "TRANSFER"
            or transfer.get("Nature") != "REGULAR"
            or amount_of(transfer) != (amount.minor, amount.currency)
            or read_tag(transfer).get("payin") != payment_ref
        ):
            raise IdempotencyError(f"key {key} was used with other parameters")
        if transfer.get("Status") != "SUCCEEDED":
            raise ProviderError(f"Mangopay refused the transfer ({transfer.get('ResultCode')})")
        return str(transfer["Id"])

    def refund(self, *, key: str, payment_ref: str, amount: Money, keep: int = 0) -> Settled:
        """Money back to the card: held money (a refund of the pay-in), or delivered money (that much taken
        back from the recipient's wallet first, then the pay-in refunded). `amount` may be part of the
        payment; each part has its own key, and beyond what is left Mangopay refuses (ProviderError)."""
        payin = self.succeeded_payin(payment_ref)
        author = str(payin["AuthorId"])
        self.take_back(key, author, payment_ref, amount, keep)
        funds = {"Currency": amount.currency, "Amount": amount.minor}
        refund = self.transport.post(
            key,
            f"/payins/{payment_ref}/refunds",
            {
                "AuthorId": author,
                "DebitedFunds": funds,
                "Fees": {**funds, "Amount": 0},
                "Tag": tag(paybot=key, payin=payment_ref),
            },
            self.found.refund_finder(author, key),
        )
        if (
            refund.get("Nature") != "REFUND"
            or refund.get("InitialTransactionId") not in (None, payment_ref)
            or amount_of(refund) != (amount.minor, amount.currency)
            or read_tag(refund).get("paybot") != key
        ):
            raise IdempotencyError(f"key {key} was used with other parameters")
        if refund.get("Status") == "FAILED":
            raise ProviderError(f"Mangopay refused the refund ({refund.get('ResultCode')})")
        return Settled(ref=str(refund["Id"]), pending=refund.get("Status") == "CREATED")

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """Not built on Mangopay: a transfer refund would move the recipient's money into the sender's wallet,
        where nothing in paybot accounts for it (only the sender's CASHOUT would move it), and Mangopay's disputes,
        the reason to reverse, are not handled. The operator refunds the sender instead (`paybot refund`)."""
        raise ProviderError(
            "reversals are not built on Mangopay (the money would sit unseen in the sender's "
            "wallet); use paybot refund to give it back to the sender's card"
        )

    def succeeded_payin(self, payment_ref: str) -> dict[str, Any]:
        payin = self.transport.get(f"/payins/{payment_ref}")
        if payin is None or payin.get("Status") != "SUCCEEDED":
            raise ProviderError(f"no succeeded pay-in {payment_ref}")
        return payin

    def take_back(self, key: str, author: str, payment_ref: str, amount: Money, keep: int = 0) -> list[str]:
        """Refund `amount` (at most) of the transfers that delivered this pay-in, newest first, each under
        its own key derived from `key`; returns the transfer refunds' ids. A recipient whose wallet no longer
        holds the part (less `keep`, money it holds for others) is not touched: ProviderError (they cashed
        it out); a take-back an earlier attempt made is not checked again."""
        left, refs = amount.minor, []
        for transfer, kept in self.found.delivered(author, payment_ref):
            if left <= 0:
                break
            part = min(left, kept)
            made = self.found.take_back_finder(author, f"{key}#take-back", str(transfer["Id"]))()
            if made is None:
                try:
                    wallet: dict[str, Any] | None = self.transport.get(f"/wallets/{transfer['CreditedWalletId']}") or {}
                except ScaRequired:
                    # The recipient (an Owner) has not opened their account for 180 days and paybot holds no proxy
                    # consent: with nothing they keep for their own payments, Mangopay itself refuses a take-back
                    # beyond their balance (001001), so it goes ahead unread; otherwise their balance is needed.
                    if keep > 0:
                        raise
                    wallet = None
                holds = balance(wallet) - max(keep, 0) if wallet is not None else part
                if holds < part:
                    raise ProviderError(
                        f"the recipient's wallet holds {max(holds, 0)} of the {part} to take back "
                        "(cashed out, or kept for their own payments)"
                    )
            back = made or self.transport.post(
                f"{key}#take-back:{transfer['Id']}",
                f"/transfers/{transfer['Id']}/refunds",
                {
                    "AuthorId": author,
                    "DebitedFunds": {"Currency": amount.currency, "Amount": part},
                    "Fees": {"Currency": amount.currency, "Amount": 0},
                    "Tag": tag(paybot=f"{key}#take-back", payin=payment_ref),
                },
                self.found.take_back_finder(author, f"{key}#take-back", str(transfer["Id"])),
            )
            if back.get("Status") != "SUCCEEDED":
                raise ProviderError(
                    f"Mangopay refused to take back transfer {transfer['Id']} ({back.get('ResultCode')})"
                )
            left -= part
            refs.append(str(back["Id"]))
        return refs
