"""Recurring card pay-ins: the registration, a CIT (which may wait on its 3DS page) or an MIT, and their outcome."""

from __future__ import annotations

import ipaddress
from typing import Any

from bot.sims.mangopay.errors import _param
from bot.sims.mangopay.facts import (
    AUTH_NEEDED,
    BROWSER_FIELDS,
    CARD_FRESH,
    DO_NOT_HONOR,
    NOT_VERIFIED,
    OK_CODE,
    RECURRING_FULL,
    RECURRING_MAX_PAYINS,
)
from bot.sims.mangopay.state import MangopayState


class Payins(MangopayState):
    """Recurring registrations and card pay-ins, with their 3DS pages."""

    def _recurring_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "AuthorId", "CardId")
        author = self._get("user", body["AuthorId"])
        card = self._get("card", body["CardId"])
        if card["UserId"] != author["Id"] or not card["Active"]:
            raise _param("The card does not belong to the author or is inactive", CardId="the author's card")
        if card["Validity"] != "VALID" and self._now() - card["CreationDate"] >= CARD_FRESH.total_seconds():
            # The docs name no code for this refusal: a param_error on CardId is the emulator's choice.
            raise _param(
                "The card must be VALID or registered less than 24 hours ago",
                CardId="a VALID card, or one registered less than 24 hours ago",
            )
        free = body.get("FreeCycles") or 0
        if not isinstance(free, int) or isinstance(free, bool) or free < 0:
            raise _param(
                "One or several required parameters are missing or incorrect", FreeCycles="a whole number, 0 or more"
            )
        first = self._money(body, "FirstTransactionDebitedFunds")
        assert first is not None
        wallet = self._get("wallet", body.get("CreditedWalletId") or "")
        if wallet["Currency"] != first["Currency"]:
            raise _param("The currency of the funds and of the credited wallet differ", Currency="the wallet's")
        reg = self._new(
            "recurring",
            Tag=self._tag(body),
            AuthorId=author["Id"],
            CardId=card["Id"],
            CreditedUserId=str(body.get("CreditedUserId") or wallet["Owners"][0]),
            CreditedWalletId=wallet["Id"],
            FirstTransactionDebitedFunds=first,
            FirstTransactionFees=self._money(body, "FirstTransactionFees", required=False)
            or {"Currency": first["Currency"], "Amount": 0},
            NextTransactionDebitedFunds=body.get("NextTransactionDebitedFunds"),
            NextTransactionFees=body.get("NextTransactionFees"),
            Frequency=body.get("Frequency"),
            EndDate=body.get("EndDate"),
            FixedNextAmount=body.get("FixedNextAmount"),
            FractionedPayment=body.get("FractionedPayment"),
            Migration=False,
            FreeCycles=free,
            CycleNumber=0,
            TotalAmount=None,
            RecurringType="CUSTOM",
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            PaymentType="CARD",
            CurrentState={
                "PayinsLinked": 0,
                "CumulatedDebitedAmount": {"Currency": first["Currency"], "Amount": 0},
                "CumulatedFeesAmount": {"Currency": first["Currency"], "Amount": 0},
                "LastPayinId": None,
            },
        )
        return self._public(reg)

    def _recurring_payin(self, body: dict[str, Any]) -> dict[str, Any]:
        """A CIT (the body has SecureModeReturnURL: the cardholder is there) or an MIT (they are not)."""
        self._required(body, "RecurringPayinRegistrationId")
        reg = self._get("recurring", body["RecurringPayinRegistrationId"])
        cit = bool(body.get("SecureModeReturnURL"))
        if cit:
            self._required(body, "BrowserInfo", "IpAddress")
            self._browser(body)
        elif reg["Status"] not in ("IN_PROGRESS",):
            raise _param(
                "A merchant-initiated pay-in needs a successful customer-initiated one first",
                RecurringPayinRegistrationId=f"the registration is {reg['Status']}",
            )
        if reg["Status"] == "ENDED":
            raise _param("The recurring registration has ended")
        linked = reg["CurrentState"]["PayinsLinked"]
        if linked < reg["FreeCycles"]:
            # A pay-in of a free cycle debits nothing, and may not say otherwise (snippets/p-body/FreeCycles.mdx).
            if body.get("DebitedFunds") is not None or body.get("Fees") is not None:
                raise _param(
                    "DebitedFunds and Fees cannot be sent for a pay-in of a free cycle",
                    DebitedFunds="not sent on a free cycle",
                )
            body = {**body, "DebitedFunds": {**reg["FirstTransactionDebitedFunds"], "Amount": 0}}
        debited = self._money(body, "DebitedFunds", required=not cit) or reg["FirstTransactionDebitedFunds"]
        fees = self._money(body, "Fees", required=False) or {"Currency": debited["Currency"], "Amount": 0}
        if (
            fees["Currency"] != debited["Currency"]
            or debited["Currency"] != reg["FirstTransactionDebitedFunds"]["Currency"]
        ):
            raise _param("The currency of the funds and of the credited wallet differ", Currency="the wallet's")
        card = self._get("card", reg["CardId"])
        payin = self._new(
            "payin",
            Tag=self._tag(body),
            AuthorId=reg["AuthorId"],
            CreditedUserId=reg["CreditedUserId"],
            DebitedFunds=debited,
            Fees=fees,
            CreditedFunds={"Currency": debited["Currency"], "Amount": debited["Amount"] - fees["Amount"]},
            CreditedWalletId=reg["CreditedWalletId"],
            DebitedWalletId=None,
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            ExecutionDate=None,
            Type="PAYIN",
            Nature="REGULAR",
            PaymentType="CARD",
            ExecutionType="DIRECT",
            CardId=card["Id"],
            RecurringPayinRegistrationId=reg["Id"],
            SecureMode=body.get("SecureMode") or "DEFAULT",
            SecureModeNeeded=False,
            SecureModeRedirectURL=None,
            SecureModeReturnURL=body.get("SecureModeReturnURL"),
            StatementDescriptor=body.get("StatementDescriptor"),
            Culture="EN",
            PaymentCategory="ECommerce",
            BrowserInfo=body.get("BrowserInfo") if cit else None,
            IpAddress=body.get("IpAddress") if cit else None,
            _cit=cit,
        )
        self._event("PAYIN_NORMAL_CREATED", payin["Id"])
        if linked >= RECURRING_MAX_PAYINS:
            self._fail(payin, RECURRING_FULL, "PAYIN_NORMAL_FAILED")
            return self._public(payin)
        reg["CurrentState"]["PayinsLinked"] += 1
        reg["CurrentState"]["LastPayinId"] = payin["Id"]
        behaviour = card["_behaviour"]
        beneficiary = self._get("user", self._get("wallet", reg["CreditedWalletId"])["Owners"][0])
        if beneficiary["UserCategory"] == "OWNER" and beneficiary["KYCLevel"] != "REGULAR":
            # Since 2026-06-24 a pay-in credited to an unverified Owner's wallet fails (SOURCE.md)
            self._fail(payin, (NOT_VERIFIED[0], f"{NOT_VERIFIED[1]}: {beneficiary['Id']}"), "PAYIN_NORMAL_FAILED")
        elif behaviour == "declined":
            self._fail(payin, DO_NOT_HONOR, "PAYIN_NORMAL_FAILED")
            card["Validity"] = "INVALID"
        elif behaviour == "needs_auth" and cit:
            payin.update(SecureModeNeeded=True, SecureModeRedirectURL=f"{self.base}/_sim/3ds-page/{payin['Id']}")
            reg["Status"] = "AUTHENTICATION_NEEDED"
        elif behaviour == "needs_auth":
            self._fail(payin, AUTH_NEEDED, "PAYIN_NORMAL_FAILED")
            reg["Status"] = "AUTHENTICATION_NEEDED"
        else:
            self._payin_succeeds(payin)
        return self._public(payin)

    @staticmethod
    def _browser(body: dict[str, Any]) -> None:
        """A CIT's BrowserInfo has every field, and its IpAddress is an IPv4 or IPv6 address."""
        info = body.get("BrowserInfo")
        missing = [f for f in BROWSER_FIELDS if not isinstance(info, dict) or info.get(f) in (None, "")]
        if missing:
            raise _param(
                "One or several required parameters are missing or incorrect",
                **{f"BrowserInfo.{f}": f"The {f} field is required." for f in missing},
            )
        try:
            ipaddress.ip_address(str(body.get("IpAddress")))
        except ValueError:
            raise _param(
                "One or several required parameters are missing or incorrect", IpAddress="an IPv4 or IPv6 address"
            ) from None

    def _payin_succeeds(self, payin: dict[str, Any]) -> None:
        wallet = self._get("wallet", payin["CreditedWalletId"])
        wallet["Balance"]["Amount"] += payin["CreditedFunds"]["Amount"]
        payin.update(Status="SUCCEEDED", ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1], ExecutionDate=self._now())
        card = self.objects.get(str(payin.get("CardId")))
        if card is not None:
            card["Validity"] = "VALID"
        reg = self.objects.get(str(payin.get("RecurringPayinRegistrationId")))
        if reg is not None:
            reg["Status"] = "IN_PROGRESS"
            state = reg["CurrentState"]
            state["CumulatedDebitedAmount"]["Amount"] += payin["DebitedFunds"]["Amount"]
            state["CumulatedFeesAmount"]["Amount"] += payin["Fees"]["Amount"]
        self._event("PAYIN_NORMAL_SUCCEEDED", payin["Id"])

    def complete_3ds(self, payin_id: str, *, success: bool = True) -> dict[str, Any]:
        """The cardholder passes (or fails) the 3DS challenge of a pay-in waiting on it."""
        with self.lock:
            self._sweep()
            payin = self._get("payin", payin_id)
            if payin["Status"] != "CREATED" or not payin.get("SecureModeRedirectURL"):
                raise _param(f"This pay-in is {payin['Status']}: no 3DS page is open")
            if success:
                self._payin_succeeds(payin)
            else:
                self._fail(payin, DO_NOT_HONOR, "PAYIN_NORMAL_FAILED")
            return self._public(payin)

    def open_3ds(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Pay-ins waiting on their 3DS page, oldest first."""
        with self.lock:
            self._sweep()
            return [
                self._public(o)
                for o in self._all("payin")
                if o["Status"] == "CREATED" and o.get("SecureModeRedirectURL") and user_id in (None, o["AuthorId"])
            ]
