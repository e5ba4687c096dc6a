"""A Mangopay user's transactions read back: what paybot made, found by the key its Tag carries.

Every transaction's Tag carries paybot's key, so a first answer that was a 5xx (work done or not), a crash after the
POST, or a key Mangopay forgot (24 hours) is settled by finding the transaction among its author's: found, it is the
answer; not found, the step may be made. Each finder here is handed to `MangopayTransport.post` (or called first);
`delivered` says which transfers moved a pay-in's money to a recipient, and how much of each was not taken back.
"""

from __future__ import annotations

from typing import Any

from bot.providers.mangopay.transport import PRESENT, Finder, MangopayTransport, amount_of, read_tag


class MangopayTransactions:
    """Looks up paybot's pay-ins, transfers, refunds and payouts among their author's transactions."""

    def __init__(self, transport: MangopayTransport) -> None:
        self.transport = transport

    def finder(self, author: str, key: str, kind: str, *, cit: bool = False) -> Finder:
        """Looks up the author's transaction of this kind whose Tag carries `key` (read whole); `cit`: the
        pay-in made with the cardholder present (a return URL), not the refused MIT before it."""

        def find() -> dict[str, Any] | None:
            for tx in self.transport.each(f"/users/{author}/transactions", Type=kind, Sort="CreationDate:DESC"):
                if read_tag(tx).get("paybot") == key and tx.get("Nature") == "REGULAR":
                    path = "/payins/" if kind == "PAYIN" else "/transfers/"
                    full = self.transport.get(path + str(tx["Id"])) or dict(tx)
                    if not cit or full.get("SecureModeReturnURL"):
                        return full
            return None

        return find

    def refund_finder(self, author: str, key: str) -> Finder:
        """The author's refund whose Tag carries `key` (read whole), if one was made."""

        def find() -> dict[str, Any] | None:
            for tx in self.transport.each(f"/users/{author}/transactions", Nature="REFUND", Sort="CreationDate:DESC"):
                if read_tag(tx).get("paybot") == key:
                    return self.transport.get(f"/refunds/{tx['Id']}") or dict(tx)
            return None

        return find

    def take_back_finder(self, author: str, tag_key: str, transfer_id: str) -> Finder:
        """The refund of `transfer_id` made under `tag_key`, if a first attempt made it (its answer was lost)."""

        def find() -> dict[str, Any] | None:
            for tx in self.transport.each(f"/users/{author}/transactions", Nature="REFUND", Sort="CreationDate:DESC"):
                if tx.get("Type") == "TRANSFER" and read_tag(tx).get("paybot") == tag_key:
                    refund = self.transport.get(f"/refunds/{tx['Id']}") or {}
                    if str(refund.get("InitialTransactionId")) == transfer_id:
                        return refund
            return None

        return find

    def payout_finder(self, author: str, key: str, *, present: bool = False) -> Finder:
        """The author's payout whose Tag carries `key` (read whole), if one was made (`present`: the user asked)."""
        context: dict[str, Any] = {"ScaContext": PRESENT} if present else {}

        def find() -> dict[str, Any] | None:
            for tx in self.transport.each(
                f"/users/{author}/transactions", Type="PAYOUT", Nature="REGULAR", Sort="CreationDate:DESC", **context
            ):
                if read_tag(tx).get("paybot") == key:
                    return self.transport.get(f"/payouts/{tx['Id']}") or dict(tx)
            return None

        return find

    def delivered(
        self, author: str, payment_ref: str, txs: list[dict[str, Any]] | None = None
    ) -> list[tuple[dict[str, Any], int]]:
        """The transfers that moved this pay-in's money to a recipient, each with what was not taken back."""
        transfers, back = [], dict[str, int]()
        for tx in txs if txs is not None else self.transport.each(f"/users/{author}/transactions", Type="TRANSFER"):
            if (
                tx.get("Type") != "TRANSFER"
                or tx.get("Status") != "SUCCEEDED"
                or read_tag(tx).get("payin") != payment_ref
            ):
                continue
            if tx.get("Nature") == "REGULAR":
                transfers.append(tx)
            elif tx.get("Nature") == "REFUND":
                initial = str((self.transport.get(f"/refunds/{tx['Id']}") or {}).get("InitialTransactionId"))
                back[initial] = back.get(initial, 0) + amount_of(tx)[0]
        kept = [(t, amount_of(t)[0] - back.get(str(t["Id"]), 0)) for t in transfers]
        return [(t, k) for t, k in reversed(kept) if k > 0]
