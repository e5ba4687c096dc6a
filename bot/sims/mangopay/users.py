"""Natural users: PAYER or OWNER, an Owner's identity and the anti-fraud check, categorization and SCA enrolment."""

from __future__ import annotations

import re
from typing import Any

from bot.sims.mangopay.errors import MangopayError, _param
from bot.sims.mangopay.facts import (
    FRAUD_POLICY,
    NOT_NAMES,
    NOT_PERSONAL_DOMAINS,
    NOT_PERSONAL_MAILBOXES,
    OWNER_IDENTITY,
    _true,
)
from bot.sims.mangopay.state import MangopayState


class Users(MangopayState):
    """Natural users, their category and their SCA enrolment."""

    def _user_create(self, body: dict[str, Any]) -> dict[str, Any]:
        self._required(body, "FirstName", "LastName", "Email", "UserCategory")
        category = body["UserCategory"]
        if category not in ("PAYER", "OWNER"):
            raise _param("One or several required parameters are missing or incorrect", UserCategory="PAYER or OWNER")
        if category == "OWNER" and not _true(body.get("TermsAndConditionsAccepted")):
            raise _param(
                "An OWNER must accept Mangopay's terms and conditions",
                TermsAndConditionsAccepted="must be true for an OWNER",
            )
        if category == "OWNER":
            self._owner_identity(body)
            self._fraud_policy(body["FirstName"], body["LastName"], body["Email"])
        now = self._now()
        user = self._new(
            "user",
            Tag=self._tag(body),
            PersonType="NATURAL",
            FirstName=body["FirstName"],
            LastName=body["LastName"],
            Email=body["Email"],
            UserCategory=category,
            KYCLevel="LIGHT",
            UserStatus="ACTIVE",
            TermsAndConditionsAccepted=_true(body.get("TermsAndConditionsAccepted")),
            TermsAndConditionsAcceptedDate=now if _true(body.get("TermsAndConditionsAccepted")) else None,
            Birthday=body.get("Birthday"),
            Nationality=body.get("Nationality"),
            CountryOfResidence=body.get("CountryOfResidence"),
            Address=body.get("Address"),
            Occupation=None,
            IncomeRange=None,
            ProofOfIdentity=None,
            ProofOfAddress=None,
            Capacity="NORMAL",
            PhoneNumber=None,
            PhoneNumberCountry=None,
            PendingUserAction=None,
        )
        if category == "OWNER":  # an Owner is registered with SCA: PENDING_USER_ACTION until they enrol
            user.update(
                UserStatus="PENDING_USER_ACTION",
                PendingUserAction={"RedirectUrl": self._sca_session("ENROLMENT", user["Id"], user["Id"])},
            )
        self._event("USER_ACCOUNT_VALIDATION_ASKED" if category == "OWNER" else "USER_CREATED", user["Id"])
        return self._public(user)

    @staticmethod
    def _fraud_policy(first: Any, last: Any, email: Any) -> None:
        """An OWNER's name and e-mail must be a person's (FRAUD_POLICY): else 400 fraud_policy, `errors` null."""

        def not_a_name(name: Any) -> bool:
            text = " ".join(str(name or "").split()).casefold()
            return text in NOT_NAMES or not any(c.isalpha() for c in text) or any(c.isdigit() for c in text)

        mailbox, _, domain = str(email or "").casefold().rpartition("@")
        if (
            not_a_name(first)
            or not_a_name(last)
            or not_a_name(f"{first} {last}")
            or domain.endswith(NOT_PERSONAL_DOMAINS)
            or mailbox in NOT_PERSONAL_MAILBOXES
        ):
            raise MangopayError(400, "fraud_policy", FRAUD_POLICY)

    @staticmethod
    def _owner_identity(body: dict[str, Any]) -> None:
        """An Owner's Birthday (unix seconds), Nationality and CountryOfResidence (ISO 3166-1 alpha-2): required."""
        errors = {n: f"The {n} field is required." for n in OWNER_IDENTITY if body.get(n) in (None, "")}
        for name in ("Nationality", "CountryOfResidence"):
            if name not in errors and not (isinstance(body[name], str) and re.fullmatch(r"[A-Z]{2}", body[name])):
                errors[name] = f"The {name} is an ISO 3166-1 alpha-2 code"
        birthday = body.get("Birthday")
        if "Birthday" not in errors and (not isinstance(birthday, int) or isinstance(birthday, bool)):
            errors["Birthday"] = "The Birthday is a unix timestamp"
        if errors:
            raise _param("One or several required parameters are missing or incorrect", **errors)

    def _user_categorize(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        """PUT .../category: a PAYER becomes an OWNER, given their identity, and must enrol in SCA: the answer always
        carries an enrolment link (PendingUserAction) and the user is PENDING_USER_ACTION until they complete it.
        An OWNER already is refused (400 not_allowed_for_user_category_owner: POST .../enrollment is for them)."""
        user = self._get("user", oid)
        if user["UserCategory"] == "OWNER":
            raise MangopayError(
                400, "not_allowed_for_user_category_owner", "This endpoint is not allowed for User categorized as OWNER"
            )
        if body.get("UserCategory") != "OWNER":
            raise _param("A user can only be categorized as OWNER", UserCategory="OWNER")
        if not _true(body.get("TermsAndConditionsAccepted")):
            raise _param(
                "An OWNER must accept Mangopay's terms and conditions",
                TermsAndConditionsAccepted="must be true for an OWNER",
            )
        self._owner_identity(body)
        self._fraud_policy(user["FirstName"], user["LastName"], body.get("Email") or user["Email"])
        user.update(
            UserCategory="OWNER",
            TermsAndConditionsAccepted=True,
            TermsAndConditionsAcceptedDate=self._now(),
            UserStatus="PENDING_USER_ACTION",
            PendingUserAction={"RedirectUrl": self._sca_session("ENROLMENT", oid, oid)},
        )
        self._event("USER_CATEGORY_UPDATED_TO_OWNER", oid)
        self._event("USER_ACCOUNT_VALIDATION_ASKED", oid)
        for name in (
            "Birthday",
            "Nationality",
            "CountryOfResidence",
            "Address",
            "Email",
            "PhoneNumber",
            "PhoneNumberCountry",
        ):
            if body.get(name) is not None:
                user[name] = body[name]
        return self._public(user)

    def _enrol_session(self, _body: dict[str, Any], oid: str) -> dict[str, Any]:
        """POST /sca/users/{id}/enrollment: a new enrolment link for an OWNER (the user's status unchanged);
        a PAYER is refused (400 not_allowed_for_user_category_payer: categorize them instead)."""
        user = self._get("user", oid)
        if user["UserCategory"] != "OWNER":
            raise MangopayError(
                400, "not_allowed_for_user_category_payer", "This endpoint is not allowed for User categorized as PAYER"
            )
        return {"PendingUserAction": {"RedirectUrl": self._sca_session("ENROLMENT", oid, oid)}}
