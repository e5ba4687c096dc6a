"""Mangopay's hosted SCA sessions, ended by their user: enrolment, a transfer's approval, a Recipient, wallet
access."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.sims.mangopay.errors import MangopayError, _missing, _param
from bot.sims.mangopay.facts import SCA_FAILED
from bot.sims.mangopay.transfers import Transfers


class Sca(Transfers):
    """The hosted SCA sessions and what ending one does."""

    def approve_sca(self, transfer_id: str, *, success: bool = True) -> dict[str, Any]:
        """The author of a transfer approves it on Mangopay's SCA page (or fails its factors: `success` False)."""
        with self.lock:
            self._sweep()
            tr = self._get("transfer", transfer_id)
            if tr["Status"] != "CREATED" or not tr.get("PendingUserAction"):
                raise _param(f"This transfer is {tr['Status']}: nothing to approve")
            token = next(
                t for t, x in self.sca_sessions.items() if x["Subject"] == transfer_id and x["Status"] == "OPEN"
            )
            self.complete_sca(token, success=success)
            return self._public(tr)

    def complete_sca(self, token: str, *, success: bool = True) -> dict[str, Any]:
        """The user finishes the hosted SCA session `token` (passes its factors, or fails them): an enrolment makes
        the Owner ACTIVE (USER_ACCOUNT_ACTIVATED, SCA_ENROLLMENT_SUCCEEDED); a transfer's approval settles it; a
        wallet-access session opens their wallets for 180 days. A failed enrolment leaves the user
        PENDING_USER_ACTION (SCA_ENROLLMENT_FAILED); a failed transfer approval is FAILED 007101."""
        with self.lock:
            self._sweep()
            session = self.sca_sessions.get(token)
            if session is None:
                raise _missing("sca session", token)
            if session["Status"] != "OPEN":
                raise _param(f"This SCA session is {session['Status']}")
            session["Status"] = "VALIDATED" if success else "FAILED"
            if session["Purpose"] == "ENROLMENT":
                user = self._get("user", session["UserId"])
                if success and user["UserStatus"] == "PENDING_USER_ACTION":
                    user.update(UserStatus="ACTIVE", PendingUserAction=None)
                    self._event("USER_ACCOUNT_ACTIVATED", user["Id"])
                self._event("SCA_ENROLLMENT_SUCCEEDED" if success else "SCA_ENROLLMENT_FAILED", user["Id"])
            elif session["Purpose"] == "TRANSFER":
                tr = self._get("transfer", session["Subject"])
                tr["PendingUserAction"] = None
                if success:
                    self._settle_transfer(tr)
                else:
                    self._fail(tr, SCA_FAILED, "TRANSFER_NORMAL_FAILED")
            elif session["Purpose"] == "RECIPIENT":
                rec = self._get("recipient", session["Subject"])
                rec.update(Status="ACTIVE" if success else "CANCELED", PendingUserAction=None)
                self._event("RECIPIENT_ACTIVE" if success else "RECIPIENT_CANCELED", rec["Id"])
            elif session["Purpose"] == "WALLET" and success:
                self._get("user", session["UserId"])["_wallet_sca_at"] = self._now()
            return dict(session)

    def enrol(self, user_id: str, *, success: bool = True) -> dict[str, Any]:
        """The Owner `user_id` completes their newest open SCA enrolment session (MangopayError when none is
        open: never asked, or lapsed after SCA_SESSION_LIFETIME)."""
        with self.lock:
            self._sweep()
            open_ = [
                t
                for t, x in self.sca_sessions.items()
                if x["Purpose"] == "ENROLMENT" and x["UserId"] == user_id and x["Status"] == "OPEN"
            ]
            if not open_:
                raise _param(f"No open SCA enrolment session for user {user_id}")
            return self.complete_sca(open_[-1], success=success)

    def pass_wallet_sca(self, user_id: str) -> None:
        """The Owner `user_id` passes a wallet-access SCA session now (as through a 401's link): their wallets and
        transactions can be read for the next 180 days."""
        with self.lock:
            self._get("user", user_id)["_wallet_sca_at"] = self._now()

    def open_sca_sessions(self, purpose: str | None = None, user_id: str | None = None) -> list[dict[str, Any]]:
        """Hosted SCA sessions still open (ENROLMENT, TRANSFER, WALLET), oldest first."""
        with self.lock:
            self._sweep()
            return [
                dict(x)
                for x in self.sca_sessions.values()
                if x["Status"] == "OPEN" and purpose in (None, x["Purpose"]) and user_id in (None, x["UserId"])
            ]

    def _sca_page_state(self, url: str) -> str:
        """What the hosted SCA page shows for `url`: OPEN, or EXPIRED/VALIDATED/FAILED (the person is sent back);
        MangopayError when the returnUrl is missing or not percent-encoded, or the token unknown."""
        query = dict(part.partition("=")[::2] for part in urlsplit(url).query.split("&") if part)
        token, back = unquote(query.get("token", "")), query.get("returnUrl")
        if not back or not re.fullmatch(r"(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+", back):
            raise MangopayError(
                400, "param_error", "The SCA page cannot return the user: returnUrl is missing or not percent-encoded"
            )
        with self.lock:
            self._sweep()
            session = self.sca_sessions.get(token)
            if session is None:
                raise _missing("sca session", token)
            return str(session["Status"])

    def follow_sca_link(self, url: str, *, success: bool = True) -> dict[str, Any]:
        """The person opens an SCA link paybot sent them and goes through the session. Mangopay's page needs the
        platform's `returnUrl` appended to its RedirectUrl, percent-encoded (guides/sca/session.mdx, step 3):
        without it the page shows an error (MangopayError 400 here). A lapsed or used session sends the person back
        at once: {"controlStatus": "FAILED"}. Otherwise the session ends as `success` says."""
        query = dict(part.partition("=")[::2] for part in urlsplit(url).query.split("&") if part)
        token, back = unquote(query.get("token", "")), unquote(query.get("returnUrl", ""))
        with self.lock:
            state = self._sca_page_state(url)
            session = self.sca_sessions[token]
            if state != "OPEN":
                return {"controlStatus": "FAILED", "returnUrl": back, "Status": session["Status"]}
            done = self.complete_sca(token, success=success)
            return {"controlStatus": done["Status"], "returnUrl": back, "Status": done["Status"]}

    def open_sca(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Transfers waiting for their author's SCA, oldest first."""
        with self.lock:
            self._sweep()
            return [
                self._public(o)
                for o in self._all("transfer")
                if o["Status"] == "CREATED" and o.get("PendingUserAction") and user_id in (None, o["AuthorId"])
            ]
