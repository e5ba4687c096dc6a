"""Hosted identity verification (KYC): a session, and the user passing it (REGULAR)."""

from __future__ import annotations

from typing import Any

from bot.sims.mangopay.errors import _param
from bot.sims.mangopay.state import MangopayState


class Kyc(MangopayState):
    """Identity verification sessions."""

    def _idv_create(self, body: dict[str, Any], oid: str) -> dict[str, Any]:
        user = self._get("user", oid)
        self._required(body, "ReturnUrl")
        if user["UserCategory"] != "OWNER":
            raise _param(
                "Identity verification can only be requested for an OWNER user",
                UserCategory="the user must be an OWNER",
            )
        idv = self._new(
            "identityverification",
            Tag=self._tag(body),
            UserId=oid,
            ReturnUrl=body["ReturnUrl"],
            Status="PENDING",
            UpdateDate=self._now(),
            Checks=None,
        )
        idv["HostedUrl"] = f"{self.base}/_sim/kyc-page/{idv['Id']}"
        self._event("IDENTITY_VERIFICATION_PENDING", idv["Id"])
        return self._public(idv)

    def pass_kyc(self, session_id: str) -> dict[str, Any]:
        """The user completes the hosted identity verification: validated, the user is REGULAR."""
        with self.lock:
            idv = self._get("identityverification", session_id)
            if idv["Status"] != "PENDING":
                raise _param(f"This identity verification is {idv['Status']}")
            idv.update(Status="VALIDATED", UpdateDate=self._now())
            self._event("IDENTITY_VERIFICATION_VALIDATED", idv["Id"])
            user = self._get("user", idv["UserId"])
            if user["KYCLevel"] != "REGULAR":
                user["KYCLevel"] = "REGULAR"
                self._event("USER_KYC_REGULAR", user["Id"])
            return self._public(idv)

    def open_kyc(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Identity verification sessions still pending, oldest first."""
        with self.lock:
            return [
                self._public(o)
                for o in self._all("identityverification")
                if o["Status"] == "PENDING" and user_id in (None, o["UserId"])
            ]
