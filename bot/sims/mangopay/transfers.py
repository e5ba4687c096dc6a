"""Transfers between wallets (an Owner's approval under SCA) and the refunds of pay-ins and transfers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sims.mangopay.errors import MangopayError, _param
from bot.sims.mangopay.facts import BALANCE, NOT_ENROLLED, NOT_VERIFIED, OK_CODE, PAYER_CANNOT_RECEIVE
from bot.sims.mangopay.lists import Lists


class Transfers(Lists):
    """Wallet-to-wallet transfers and refunds."""

    def _transfer_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "AuthorId", "DebitedWalletId", "CreditedWalletId")
        debited = self._money(body, "DebitedFunds")
        fees = self._money(body, "Fees")
        assert debited is not None and fees is not None
        author = self._get("user", body["AuthorId"])
        source = self._get("wallet", body["DebitedWalletId"])
        target = self._get("wallet", body["CreditedWalletId"])
        if author["Id"] not in source["Owners"]:
            raise MangopayError(403, "forbidden_ressource", "The author does not own the debited wallet")
        if not source["Currency"] == target["Currency"] == debited["Currency"] == fees["Currency"]:
            raise _param("The currencies of the wallets and of the funds differ", Currency="one currency")
        if fees["Amount"] > debited["Amount"]:
            raise _param("The fees are more than the debited funds", Fees="at most DebitedFunds")
        credited_user = self._get("user", target["Owners"][0])
        context = body.get("ScaContext")
        if context not in (None, "USER_PRESENT", "USER_NOT_PRESENT"):
            raise _param(
                "One or several required parameters are missing or incorrect",
                ScaContext="USER_PRESENT or USER_NOT_PRESENT",
            )
        between_owners = (
            author["UserCategory"] == "OWNER"
            and credited_user["UserCategory"] == "OWNER"
            and author["Id"] != credited_user["Id"]
        )
        if between_owners and context == "USER_NOT_PRESENT":
            raise MangopayError(
                403,
                "forbidden_ressource",
                "The user has not given consent to act on their behalf",
                {"ScaContext": "USER_NOT_PRESENT needs the user's consent to the proxy"},
            )
        tr = self._new(
            "transfer",
            Tag=self._tag(body),
            AuthorId=author["Id"],
            CreditedUserId=credited_user["Id"],
            DebitedFunds=debited,
            Fees=fees,
            CreditedFunds={"Currency": debited["Currency"], "Amount": debited["Amount"] - fees["Amount"]},
            DebitedWalletId=source["Id"],
            CreditedWalletId=target["Id"],
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            ExecutionDate=None,
            Type="TRANSFER",
            Nature="REGULAR",
            ScaContext=context,
            PendingUserAction=None,
        )
        self._event("TRANSFER_NORMAL_CREATED", tr["Id"])
        if credited_user["Id"] != author["Id"] and credited_user["UserCategory"] != "OWNER":
            self._fail(tr, PAYER_CANNOT_RECEIVE, "TRANSFER_NORMAL_FAILED")
        elif credited_user["Id"] != author["Id"] and credited_user["KYCLevel"] != "REGULAR":
            self._fail(tr, (NOT_VERIFIED[0], f"{NOT_VERIFIED[1]}: {credited_user['Id']}"), "TRANSFER_NORMAL_FAILED")
        elif source["Balance"]["Amount"] < debited["Amount"]:
            self._fail(tr, BALANCE, "TRANSFER_NORMAL_FAILED")
        elif between_owners and author["UserStatus"] == "PENDING_USER_ACTION":
            self._fail(tr, NOT_ENROLLED, "TRANSFER_NORMAL_FAILED")  # SCA is needed and they cannot pass it yet
        elif between_owners:  # USER_PRESENT (the default): the author approves it on Mangopay's page
            tr["PendingUserAction"] = {"RedirectUrl": self._sca_session("TRANSFER", author["Id"], tr["Id"])}
        else:
            self._settle_transfer(tr)
        return self._public(tr)

    def _settle_transfer(self, tr: dict[str, Any]) -> None:
        source = self._get("wallet", tr["DebitedWalletId"])
        if source["Balance"]["Amount"] < tr["DebitedFunds"]["Amount"]:
            self._fail(tr, BALANCE, "TRANSFER_NORMAL_FAILED")
            return
        source["Balance"]["Amount"] -= tr["DebitedFunds"]["Amount"]
        self._get("wallet", tr["CreditedWalletId"])["Balance"]["Amount"] += tr["CreditedFunds"]["Amount"]
        tr.update(Status="SUCCEEDED", ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1], ExecutionDate=self._now())
        self._event("TRANSFER_NORMAL_SUCCEEDED", tr["Id"])

    def _refunded(self, initial: str) -> int:
        return sum(
            r["DebitedFunds"]["Amount"]
            for r in self._all("refund")
            if r["InitialTransactionId"] == initial and r["Status"] == "SUCCEEDED"
        )

    def _refund(self, body: dict[str, Any], initial: dict[str, Any], kind: str) -> dict[str, Any]:
        self._required(body, "AuthorId")
        if initial["Status"] != "SUCCEEDED":
            raise _param(f"Only a succeeded {kind.lower()} can be refunded")
        left = initial["DebitedFunds"]["Amount"] - self._refunded(initial["Id"])
        amount = self._money(body, "DebitedFunds", required=False) or {**initial["DebitedFunds"], "Amount": left}
        if amount["Currency"] != initial["DebitedFunds"]["Currency"] or amount["Amount"] > left:
            raise _param("The refund is more than what is left to refund", DebitedFunds=f"at most {left}")
        wallet = self._get("wallet", initial["CreditedWalletId"])
        back = self._get("wallet", initial["DebitedWalletId"]) if kind == "TRANSFER" else None
        ref = self._new(
            "refund",
            Tag=self._tag(body),
            AuthorId=initial["AuthorId"],
            CreditedUserId=initial["AuthorId"] if kind == "TRANSFER" else None,
            DebitedFunds=amount,
            CreditedFunds=amount,
            Fees={**amount, "Amount": 0},
            DebitedWalletId=wallet["Id"],
            CreditedWalletId=back["Id"] if back else None,
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            ExecutionDate=None,
            Type="PAYOUT" if kind == "PAYIN" else "TRANSFER",
            Nature="REFUND",
            InitialTransactionId=initial["Id"],
            InitialTransactionType=kind,
            RefundReason={"RefusedReasonType": "INITIALIZED_BY_CLIENT", "RefusedReasonMessage": None},
            Reference=body.get("Reference"),
            StatementDescriptor=body.get("StatementDescriptor"),
        )
        self._event(f"{kind}_REFUND_CREATED", ref["Id"])
        if wallet["Balance"]["Amount"] < amount["Amount"]:
            self._fail(ref, BALANCE, f"{kind}_REFUND_FAILED")
            return self._public(ref)
        wallet["Balance"]["Amount"] -= amount["Amount"]
        if back is not None:
            back["Balance"]["Amount"] += amount["Amount"]
        ref.update(Status="SUCCEEDED", ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1], ExecutionDate=self._now())
        self._event(f"{kind}_REFUND_SUCCEEDED", ref["Id"])
        return self._public(ref)

    def _payin_refund(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        return self._refund(body, self._get("payin", oid), "PAYIN")

    def _transfer_refund(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        return self._refund(body, self._get("transfer", oid), "TRANSFER")

    def _refunds_of(self, kind: str) -> Callable[..., Any]:
        def view(args: Any, oid: str) -> Any:
            self._get(kind, oid)
            return self._page([r for r in self._all("refund") if r["InitialTransactionId"] == oid], args)

        return view
