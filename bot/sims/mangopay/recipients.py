"""Recipients: payout methods, the schema, validation, creation (PENDING until the Owner's SCA)."""

from __future__ import annotations

import re
from typing import Any

from bot.sims.mangopay.errors import PARAM_MESSAGE, MangopayError
from bot.sims.mangopay.facts import BIC_SHAPE, CURRENCIES, PAYOUT_METHODS, SEPA_EUR, iban_valid
from bot.sims.mangopay.state import MangopayState


class Recipients(MangopayState):
    """Payout Recipients and what they need."""

    def _payout_methods(self, args: Any) -> dict[str, Any]:
        """GET /recipients/payout-methods?Country=&Currency=: the methods for that route."""
        country, currency = str(args.get("Country") or ""), str(args.get("Currency") or "")
        errors = {n: "REQUIRED" for n, v in (("Country", country), ("Currency", currency)) if not v}
        if errors:
            raise MangopayError(400, "param_error", PARAM_MESSAGE, errors, errors_key="Errors")
        local = ["LocalBankTransfer"] if currency == "EUR" and country in SEPA_EUR else []
        return {"AvailablePayoutMethods": [*local, "InternationalBankTransfer"]}

    def _recipient_schema(self, args: Any) -> dict[str, Any]:
        """GET /recipients/schema: what a Recipient of that method, type, currency and country needs (the fields the
        emulator checks, each {Required, Pattern?})."""
        method, kind = args.get("PayoutMethodType"), args.get("RecipientType")
        if method not in PAYOUT_METHODS or kind != "Individual" or args.get("Currency") not in CURRENCIES:
            raise MangopayError(
                400, "param_error", PARAM_MESSAGE, {"PayoutMethodType": "NOT_IN_ALLOWED_VALUES"}, errors_key="Errors"
            )
        field = {"Required": True}
        address = {n: field for n in ("AddressLine1", "City", "PostalCode", "Country")}
        details = (
            {"EUR": {"IBAN": field, "BIC": {"Required": False}}}
            if method == "LocalBankTransfer"
            else {"AccountNumber": field, "BIC": field}
        )
        return {
            "DisplayName": field,
            "Currency": field,
            "Country": field,
            "RecipientType": field,
            "PayoutMethodType": field,
            "RecipientScope": {"Required": False},
            "IndividualRecipient": {"FirstName": field, "LastName": field, "Address": address},
            method: details,
        }

    @staticmethod
    def _recipient_errors(body: dict[str, Any]) -> dict[str, str]:  # noqa: C901
        """The Recipients' refusals, field by field, in Mangopay's words (create-recipient.mdx, "Parameter errors")."""
        errors: dict[str, str] = {}
        for name in ("DisplayName", "PayoutMethodType", "RecipientType", "Currency", "Country"):
            if not body.get(name):
                errors[name] = "REQUIRED"
        method, currency, country = body.get("PayoutMethodType"), body.get("Currency"), str(body.get("Country") or "")
        if method and method not in PAYOUT_METHODS:
            errors["PayoutMethodType"] = "NOT_IN_ALLOWED_VALUES"
        if body.get("RecipientType") and body["RecipientType"] != "Individual":
            errors["RecipientType"] = "NOT_IN_ALLOWED_VALUES"  # the emulator knows individuals only
        if currency and currency not in CURRENCIES:
            errors["Currency"] = "UNSUPPORTED_CURRENCY"
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            errors["Country"] = "INVALID_FORMAT"
        if body.get("RecipientScope") not in (None, "PAYOUT", "PAYIN"):
            errors["RecipientScope"] = "NOT_IN_ALLOWED_VALUES"
        raw_person = body.get("IndividualRecipient")
        person: dict[str, Any] = raw_person if isinstance(raw_person, dict) else {}
        for name in ("FirstName", "LastName"):
            if not person.get(name):
                errors[f"IndividualRecipient.{name}"] = "REQUIRED"
        raw_address = person.get("Address")
        address: dict[str, Any] = raw_address if isinstance(raw_address, dict) else {}
        for name in ("AddressLine1", "City", "PostalCode", "Country"):
            if not address.get(name):
                errors[f"IndividualRecipient.Address.{name}"] = "REQUIRED"
        if method == "LocalBankTransfer":
            if currency != "EUR" or country not in SEPA_EUR:
                errors["PayoutMethodType"] = "UNSUPPORTED_PAYOUT_METHOD_FOR_CURRENCY"
            else:
                account = (body.get("LocalBankTransfer") or {}).get("EUR") or {}
                iban = re.sub(r"\s", "", str(account.get("IBAN") or "")).upper()
                if not iban:
                    errors["LocalBankTransfer.EUR.IBAN"] = "REQUIRED"
                elif not iban_valid(iban):
                    errors["LocalBankTransfer.EUR.IBAN"] = "INVALID_IBAN"
                elif iban[:2] not in SEPA_EUR:
                    errors["LocalBankTransfer.EUR.IBAN"] = "UNSUPPORTED_IBAN"
                if account.get("BIC") and not BIC_SHAPE.fullmatch(str(account["BIC"]).upper()):
                    errors["LocalBankTransfer.EUR.BIC"] = "INVALID_BIC"
        elif method == "InternationalBankTransfer":
            account = body.get("InternationalBankTransfer") or {}
            number = re.sub(r"\s", "", str(account.get("AccountNumber") or "")).upper()
            if not number:
                errors["InternationalBankTransfer.AccountNumber"] = "REQUIRED"
            elif re.fullmatch(r"[A-Z]{2}[0-9]{2}.*", number):
                if not iban_valid(number):
                    errors["InternationalBankTransfer.AccountNumber"] = "INVALID_IBAN"
            elif not re.fullmatch(r"[0-9]{4,34}", number):  # not an IBAN: a local account number (digits)
                errors["InternationalBankTransfer.AccountNumber"] = "INVALID_ACCOUNT_NUMBER"
            if not account.get("BIC"):
                errors["InternationalBankTransfer.BIC"] = "REQUIRED"
            elif not BIC_SHAPE.fullmatch(str(account["BIC"]).upper()):
                errors["InternationalBankTransfer.BIC"] = "INVALID_BIC"
        return errors

    def _recipient_validate(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """POST .../recipients/validate: 200 when the data would make a Recipient, else the 400 listing each error
        (the documented answer has no body; the emulator answers {})."""
        self._get("user", oid)
        errors = self._recipient_errors(body)
        if errors:
            raise MangopayError(400, "param_error", PARAM_MESSAGE, errors, errors_key="Errors")
        return {}

    def _recipient_create(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """POST .../users/{id}/recipients: PENDING; for payouts (RecipientScope PAYOUT, the default) only an OWNER's,
        with an SCA session (PendingUserAction) that makes it ACTIVE (RECIPIENT_ACTIVE) or, failed or lapsed,
        CANCELED (RECIPIENT_CANCELED). A PAYIN-scope Recipient needs no SCA: ACTIVE at once."""
        user = self._get("user", oid)
        errors = self._recipient_errors(body)
        if errors:
            raise MangopayError(400, "param_error", PARAM_MESSAGE, errors, errors_key="Errors")
        scope = body.get("RecipientScope") or "PAYOUT"
        if scope == "PAYOUT" and user["UserCategory"] != "OWNER":
            raise MangopayError(
                400, "param_error", PARAM_MESSAGE, {"SCA": "2815488948686553431"}, errors_key="Errors"
            )  # a Payer's payout Recipient (create-recipient.mdx)
        method = body["PayoutMethodType"]
        rec = self._new(
            "recipient",
            Tag=self._tag(body),
            Status="PENDING",
            DisplayName=body["DisplayName"],
            PayoutMethodType=method,
            RecipientType=body["RecipientType"],
            Currency=body["Currency"],
            Country=body["Country"],
            UserId=str(oid),
            RecipientScope=scope,
            IndividualRecipient=body["IndividualRecipient"],
            **{method: body[method]},
            PendingUserAction=None,
            RecipientVerificationOfPayee=None,
        )
        if scope == "PAYOUT":
            rec["PendingUserAction"] = {"RedirectUrl": self._sca_session("RECIPIENT", str(oid), rec["Id"])}
        else:
            rec["Status"] = "ACTIVE"
            self._event("RECIPIENT_ACTIVE", rec["Id"])
        return self._public(rec)
