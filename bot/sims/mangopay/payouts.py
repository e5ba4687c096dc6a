"""Bank accounts (a Recipient made as paybot's page makes one, or a legacy IBAN account) and bank wire payouts,
which the emulated bank settles or sends back."""

from __future__ import annotations

import re
import uuid
from typing import Any

from bot.sims.mangopay.errors import PARAM_MESSAGE, MangopayError, _missing, _param
from bot.sims.mangopay.facts import (
    ADDRESS_REGION_NEEDED,
    BALANCE,
    BANK_ACCOUNT_RETIRED,
    BANK_ACCOUNTS_END,
    BIC_SHAPE,
    IBAN_OK,
    OK_CODE,
    PAYOUT_KYC,
    SEPA_EUR,
    WIRE_REFUSED,
    iban_valid,
)
from bot.sims.mangopay.recipients import Recipients
from bot.sims.mangopay.sca import Sca


class Payouts(Sca, Recipients):
    """Bank accounts and bank wire payouts, and the bank behind them."""

    def register_bank_account(
        self,
        user_id: str,
        iban: str = IBAN_OK,
        *,
        currency: str | None = None,
        owner_name: str = "Ada Lovelace",
        address: dict[str, Any] | None = None,
        bic: str | None = None,
        sca: bool = True,
    ) -> dict[str, Any]:
        """The person on the operator's bank-account page: the page registers their IBAN as a Recipient of the
        Mangopay user `user_id` for payouts in `currency` (default: their newest wallet's, else EUR) with `POST
        .../users/{id}/recipients` (same checks), then sends them to its SCA session, which they pass (`sca`) or
        leave (PENDING, then CANCELED when it lapses). MangopayError when refused. Local (SEPA, EUR) when the IBAN's
        country and the currency allow it, else international."""
        iban = re.sub(r"\s", "", iban).upper()
        with self.lock:
            wallets = [w for w in self._all("wallet") if user_id in w["Owners"]]
            currency = currency or (wallets[-1]["Currency"] if wallets else "EUR")
            first, _, last = owner_name.partition(" ")
            place = address or {
                "AddressLine1": "1 rue de la Paix",
                "City": "Paris",
                "PostalCode": "75002",
                "Country": "FR",
            }
            local = currency == "EUR" and iban[:2] in SEPA_EUR
            body: dict[str, Any] = {
                "DisplayName": f"{owner_name} {currency}",
                "RecipientType": "Individual",
                "Currency": currency,
                "Country": iban[:2] if re.fullmatch(r"[A-Z]{2}", iban[:2]) else "FR",
                "IndividualRecipient": {"FirstName": first, "LastName": last or first, "Address": place},
                "PayoutMethodType": "LocalBankTransfer" if local else "InternationalBankTransfer",
            }
            if local:
                body["LocalBankTransfer"] = {"EUR": {"IBAN": iban, **({"BIC": bic} if bic else {})}}
            else:
                body["InternationalBankTransfer"] = {"AccountNumber": iban, "BIC": bic or "BNPAFRPPXXX"}
            rec = self._recipient_create(body, user_id)
            if sca and rec.get("PendingUserAction"):
                token = next(t for t, x in self.sca_sessions.items() if x["Subject"] == rec["Id"])
                self.complete_sca(token)
            return self._public(self._get("recipient", rec["Id"]))

    def register_legacy_bank_account(
        self,
        user_id: str,
        iban: str = IBAN_OK,
        *,
        owner_name: str = "Ada Lovelace",
        address: dict[str, Any] | None = None,
        bic: str | None = None,
        tag: str | None = None,
    ) -> dict[str, Any]:
        """An IBAN Bank Account (the legacy `POST .../users/{id}/bankaccounts/iban`, with its checks): one created
        after 30 April 2026 is refused for payouts (121018). MangopayError when refused."""
        body: dict[str, Any] = {
            "OwnerName": owner_name,
            "IBAN": iban,
            "Tag": tag,
            "OwnerAddress": address
            or {"AddressLine1": "1 rue de la Paix", "City": "Paris", "PostalCode": "75002", "Country": "FR"},
        }
        if bic is not None:
            body["BIC"] = bic
        with self.lock:
            return self._bank_account_create(body, user_id)

    def _bank_account_create(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """An IBAN bank account of the user `oid` (Mangopay's "Create an IBAN Bank Account")."""
        self._get("user", oid)
        self._required(body, "OwnerName", "OwnerAddress", "IBAN")
        name, address = body["OwnerName"], body["OwnerAddress"]
        if not isinstance(name, str) or len(name) > 255:
            raise _param(
                "One or several required parameters are missing or incorrect",
                OwnerName="The OwnerName is a string of at most 255 characters",
            )
        if not isinstance(address, dict):
            raise _param(
                "One or several required parameters are missing or incorrect",
                OwnerAddress="The OwnerAddress is an Address object",
            )
        missing = {
            f"OwnerAddress.{n}": f"The OwnerAddress.{n} field is required."
            for n in ("AddressLine1", "City", "PostalCode", "Country")
            if not address.get(n)
        }
        country = str(address.get("Country") or "")
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            missing["OwnerAddress.Country"] = "The Country is an ISO 3166-1 alpha-2 code"
        if country in ADDRESS_REGION_NEEDED and not address.get("Region"):
            missing["OwnerAddress.Region"] = "The Region is required when the Country is US, CA or MX"
        if missing:
            raise _param("One or several required parameters are missing or incorrect", **missing)
        iban = re.sub(r"\s", "", str(body["IBAN"])).upper()
        if not iban_valid(iban):
            raise _param("One or several required parameters are missing or incorrect", IBAN="The IBAN is not valid")
        bic = body.get("BIC")
        if bic is not None and not (isinstance(bic, str) and BIC_SHAPE.fullmatch(bic.upper())):
            raise _param("One or several required parameters are missing or incorrect", BIC="The BIC is not valid")
        account = self._new(
            "bankaccount",
            Tag=self._tag(body),
            UserId=str(oid),
            Type="IBAN",
            OwnerName=name,
            OwnerAddress={
                "AddressLine1": address.get("AddressLine1"),
                "AddressLine2": address.get("AddressLine2"),
                "City": address.get("City"),
                "Region": address.get("Region"),
                "PostalCode": address.get("PostalCode"),
                "Country": country,
            },
            IBAN=iban,
            BIC=bic.upper() if isinstance(bic, str) else None,
            Active=True,
        )
        return self._public(account)

    def _bank_account_view(self, _args: Any, oid: str, bid: str) -> dict[str, Any]:
        account = self._get("bankaccount", bid)
        if account["UserId"] != oid:
            raise _missing("bankaccount", bid)
        return self._public(account)

    def _payout_create(self, body: dict[str, Any]) -> dict[str, Any]:
        """A bank wire payout from a wallet to its author's bank account: CREATED with the wallet debited, or
        FAILED with its ResultCode (author not a verified Owner, wallet too low), each with its event."""
        self._required(body, "AuthorId", "DebitedWalletId", "BankAccountId")
        debited = self._money(body, "DebitedFunds")
        fees = self._money(body, "Fees")
        assert debited is not None and fees is not None
        author = self._get("user", body["AuthorId"])
        wallet = self._get("wallet", body["DebitedWalletId"])
        found = self.objects.get(str(body["BankAccountId"]))
        account = self._get(
            "recipient" if found and found["_kind"] == "recipient" else "bankaccount", body["BankAccountId"]
        )
        if author["Id"] not in wallet["Owners"]:
            raise MangopayError(403, "forbidden_ressource", "The author does not own the debited wallet")
        if account["UserId"] != author["Id"]:
            raise _param(
                "The bank account does not belong to the author of the payout",
                BankAccountId="a bank account of the author",
            )
        if account["_kind"] == "recipient" and (
            account["Status"] != "ACTIVE"
            or account["RecipientScope"] != "PAYOUT"
            or account["Currency"] != debited["Currency"]
        ):
            # a Recipient PENDING (its SCA not done), CANCELED, for pay-ins only or in another currency
            raise _param(PARAM_MESSAGE, BankAccountId="an ACTIVE payout Recipient in the payout's currency")
        if account["_kind"] == "bankaccount" and not account["Active"]:
            raise _param("The bank account is inactive", BankAccountId="an active bank account")
        if not wallet["Currency"] == debited["Currency"] == fees["Currency"]:
            raise _param("The currencies of the wallet and of the funds differ", Currency="the wallet's")
        if fees["Amount"] > debited["Amount"]:
            raise _param("The fees are more than the debited funds", Fees="at most DebitedFunds")
        reference = body.get("BankWireRef")
        if reference is not None and (not isinstance(reference, str) or len(reference) > 255):
            raise _param(
                "One or several required parameters are missing or incorrect",
                BankWireRef="The BankWireRef is a string of at most 255 characters",
            )
        payout = self._new(
            "payout",
            Tag=self._tag(body),
            AuthorId=author["Id"],
            CreditedUserId=None,
            DebitedFunds=debited,
            Fees=fees,
            CreditedFunds={"Currency": debited["Currency"], "Amount": debited["Amount"] - fees["Amount"]},
            Status="CREATED",
            ResultCode=None,
            ResultMessage=None,
            ExecutionDate=None,
            Type="PAYOUT",
            Nature="REGULAR",
            CreditedWalletId=None,
            DebitedWalletId=wallet["Id"],
            PaymentType="BANK_WIRE",
            BankAccountId=account["Id"],
            BankWireRef=reference,
            ModeRequested=body.get("PayoutModeRequested"),
            ModeApplied="PENDING_RESPONSE",
            FallbackReason=None,
            EndToEndId=uuid.uuid4().hex,
            PaymentRef=None,
            RecipientVerificationOfPayee=None,
            RecipientId=None,
        )
        self._event("PAYOUT_NORMAL_CREATED", payout["Id"])
        if account["_kind"] == "bankaccount" and account["CreationDate"] >= BANK_ACCOUNTS_END:
            self._fail(payout, BANK_ACCOUNT_RETIRED, "PAYOUT_NORMAL_FAILED")
        elif author["UserCategory"] != "OWNER" or author["KYCLevel"] != "REGULAR":
            self._fail(payout, PAYOUT_KYC, "PAYOUT_NORMAL_FAILED")
        elif wallet["Balance"]["Amount"] < debited["Amount"]:
            self._fail(payout, BALANCE, "PAYOUT_NORMAL_FAILED")
        else:
            wallet["Balance"]["Amount"] -= debited["Amount"]
        return self._public(payout)

    def settle_payout(self, payout_id: str, *, success: bool = True) -> dict[str, Any]:
        """The bank settles a payout still CREATED: it went through, or it failed and the wallet has the money
        back; each with its event."""
        with self.lock:
            payout = self._get("payout", payout_id)
            if payout["Status"] != "CREATED":
                raise _param(f"This payout is {payout['Status']}: nothing to settle")
            if success:
                payout.update(
                    Status="SUCCEEDED",
                    ResultCode=OK_CODE[0],
                    ResultMessage=OK_CODE[1],
                    ExecutionDate=self._now(),
                    ModeApplied="STANDARD",
                )
                self._event("PAYOUT_NORMAL_SUCCEEDED", payout["Id"])
            else:
                self._get("wallet", payout["DebitedWalletId"])["Balance"]["Amount"] += payout["DebitedFunds"]["Amount"]
                self._fail(payout, WIRE_REFUSED, "PAYOUT_NORMAL_FAILED")
            return self._public(payout)

    def return_payout(
        self, payout_id: str, reason: str = "BANKACCOUNT_HAS_BEEN_CLOSED", message: str | None = None
    ) -> dict[str, Any]:
        """The bank sends a SUCCEEDED payout back (guides/payouts/rejects-returns.mdx): Mangopay makes a Refund of
        the payout (its RefundReason saying why) and the money is back in the wallet; PAYOUT_REFUND_CREATED then
        _SUCCEEDED."""
        with self.lock:
            payout = self._get("payout", payout_id)
            if payout["Status"] != "SUCCEEDED":
                raise _param(f"This payout is {payout['Status']}: only a succeeded payout comes back")
            amount = dict(payout["DebitedFunds"])
            ref = self._new(
                "refund",
                AuthorId=payout["AuthorId"],
                CreditedUserId=payout["AuthorId"],
                DebitedFunds=amount,
                CreditedFunds=amount,
                Fees={**amount, "Amount": 0},
                DebitedWalletId=None,
                CreditedWalletId=payout["DebitedWalletId"],
                Status="CREATED",
                ResultCode=None,
                ResultMessage=None,
                ExecutionDate=None,
                Type="PAYIN",
                Nature="REFUND",
                InitialTransactionId=payout["Id"],
                InitialTransactionType="PAYOUT",
                RefundReason={"RefusedReasonType": reason, "RefusedReasonMessage": message},
            )
            self._event("PAYOUT_REFUND_CREATED", ref["Id"])
            self._get("wallet", payout["DebitedWalletId"])["Balance"]["Amount"] += amount["Amount"]
            ref.update(Status="SUCCEEDED", ResultCode=OK_CODE[0], ResultMessage=OK_CODE[1], ExecutionDate=self._now())
            self._event("PAYOUT_REFUND_SUCCEEDED", ref["Id"])
            return self._public(ref)

    def open_payouts(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Payouts the bank has not settled yet, oldest first."""
        with self.lock:
            return [
                self._public(o)
                for o in self._all("payout")
                if o["Status"] == "CREATED" and user_id in (None, o["AuthorId"])
            ]
