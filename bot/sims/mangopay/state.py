"""The emulated client account's state (its objects, events, SCA sessions, keys, tokens) and the plumbing every
part uses: ids, the clock, objects made and found, events, failures, lapsed pages and sessions, and the values a
request's body holds."""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Response

from bot.ports import Clock, SystemClock
from bot.sims.kit import Loopback, json_response, prune_keys, unix_now
from bot.sims.mangopay.errors import MangopayError, _missing, _param
from bot.sims.mangopay.facts import (
    CURRENCIES,
    KEY_LIFETIME,
    PAGE_LIFETIME,
    RATE_LIMITS,
    SCA_EXPIRED,
    SCA_SESSION_LIFETIME,
    SESSION_EXPIRED,
)


class MangopayState:
    """The emulated Mangopay client account: what it holds, and the plumbing every part of it uses."""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        client_id: str = "paybot-sim",
        api_key: str | None = None,
        link_secret: str | None = None,
        rate_limits: tuple[tuple[timedelta, int], ...] = RATE_LIMITS,
    ) -> None:
        self.clock = clock or SystemClock()
        self.client_id = client_id
        # A key of its own per emulator: the official SDK caches OAuth tokens for the whole process by client, URL
        # and key, so an emulator started on a port an earlier one used would otherwise be sent that one's token.
        self.api_key = api_key or f"sim-mangopay-api-key-{secrets.token_hex(8)}"
        # The operator's pages (card, bank account) check paybot's links with the key from this secret
        # (PAYBOT_LINK_SECRET), and record each nonce they accepted: a link works once.
        self.link_secret = link_secret or secrets.token_hex(32)
        self.used_nonces: dict[str, int] = {}  # nonce -> the end of its link (unix seconds)
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, Any]] = {}  # id -> object (its "_kind" says which)
        self.events: list[dict[str, Any]] = []
        self.sca_sessions: dict[str, dict[str, Any]] = {}  # token -> a hosted SCA session (see _sca_session)
        self._sca_n = 0
        self.keys: dict[str, dict[str, Any]] = {}  # idempotency key -> first use, and its answer once known
        self.tokens: dict[str, float] = {}  # access token -> expiry (time.monotonic)
        self.faults: dict[str, list[tuple[int, bool]]] = {}  # route -> [(status, work)]
        self.requests: list[dict[str, Any]] = []  # every API request: route, key, status
        self.rate_limits = rate_limits  # (window, calls allowed) pairs; the emulator's clock
        self.calls: list[int] = []  # when each counted call came (unix seconds), for the rate limits
        self.on_execute: Callable[[dict[str, Any]], None] | None = None  # test hook: a POST begins its work
        self._n = 10_000_000
        self.server = Loopback("mangopay-sim")
        self.base = ""  # its URL once started

    def _now(self) -> int:
        return unix_now(self.clock)

    def _id(self) -> str:
        self._n += 1
        return str(self._n)

    def _error(self, err: MangopayError) -> Response:
        now = self._now()
        body = {
            "Message": err.message,
            "Type": err.type,
            "Id": f"{uuid.uuid4()}#{now}",
            "Date": now,
            err.errors_key: err.errors,
        }
        return json_response(body, err.status, err.headers)

    def _all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o["_kind"] == kind]

    def _get(self, kind: str, oid: str) -> dict[str, Any]:
        obj = self.objects.get(str(oid))
        if obj is None or obj["_kind"] != kind:
            raise _missing(kind, str(oid))
        return obj

    def _new(self, kind: str, **fields: Any) -> dict[str, Any]:
        obj = {"Id": self._id(), "Tag": None, "CreationDate": self._now(), **fields, "_kind": kind}
        self.objects[obj["Id"]] = obj
        return obj

    @staticmethod
    def _public(obj: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in obj.items() if not k.startswith("_")}

    def _event(self, event_type: str, resource_id: str) -> None:
        self.events.append({"ResourceId": resource_id, "EventType": event_type, "Date": self._now()})

    def _fail(self, obj: dict[str, Any], code: tuple[str, str], event: str) -> None:
        obj.update(Status="FAILED", ResultCode=code[0], ResultMessage=code[1], ExecutionDate=self._now())
        self._event(event, obj["Id"])

    def _prune(self) -> None:
        """Keys are forgotten 24 hours after their first use; open pages lapse."""
        prune_keys(self.keys, self._now(), KEY_LIFETIME)
        self._sweep()

    def _sweep(self) -> None:
        limit = self._now() - int(PAGE_LIFETIME.total_seconds())
        for obj in list(self.objects.values()):
            if obj.get("Status") != "CREATED" or obj["CreationDate"] > limit:
                continue
            if obj["_kind"] == "payin" and obj.get("SecureModeRedirectURL"):
                self._fail(obj, SESSION_EXPIRED, "PAYIN_NORMAL_FAILED")
        sca_limit = self._now() - int(SCA_SESSION_LIFETIME.total_seconds())
        for session in self.sca_sessions.values():
            if session["Status"] != "OPEN" or session["At"] > sca_limit:
                continue
            session["Status"] = "EXPIRED"  # the user stays as they were (PENDING_USER_ACTION for an enrolment)
            if session["Purpose"] == "ENROLMENT":
                self._event("SCA_ENROLLMENT_EXPIRED", session["UserId"])
            elif session["Purpose"] == "RECIPIENT":
                rec = self.objects.get(session["Subject"])
                if rec is not None and rec["Status"] == "PENDING":
                    rec.update(Status="CANCELED", PendingUserAction=None)
                    self._event("RECIPIENT_CANCELED", rec["Id"])
            elif session["Purpose"] == "TRANSFER":
                tr = self.objects.get(session["Subject"])
                if tr is not None and tr["Status"] == "CREATED" and tr.get("PendingUserAction"):
                    tr["PendingUserAction"] = None
                    self._fail(tr, SCA_EXPIRED, "TRANSFER_NORMAL_FAILED")

    def _sca_session(self, purpose: str, user_id: str, subject: str) -> str:
        """A hosted SCA session (ENROLMENT of `user_id`, TRANSFER `subject`'s approval, WALLET access): its
        RedirectUrl, with its token, valid SCA_SESSION_LIFETIME. The platform appends its encoded returnUrl."""
        # a token of the emulator's sequence, not random: a crash run replays from its seed to the same words
        self._sca_n += 1
        token = "sca_" + hashlib.sha256(f"{self.client_id}:sca:{self._sca_n}".encode()).hexdigest()[:32]
        self.sca_sessions[token] = {
            "Token": token,
            "Purpose": purpose,
            "UserId": user_id,
            "Subject": subject,
            "At": self._now(),
            "Status": "OPEN",
        }
        return f"{self.base}/_sim/sca?token={token}"

    @staticmethod
    def _money(body: dict[str, Any], name: str, *, required: bool = True) -> dict[str, Any] | None:
        value = body.get(name)
        if value is None:
            if required:
                raise _param(
                    "One or several required parameters are missing or incorrect",
                    **{name: f"The {name} field is required."},
                )
            return None
        amount, currency = (
            value.get("Amount") if isinstance(value, dict) else None,
            (value.get("Currency") if isinstance(value, dict) else None),
        )
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0 or currency not in CURRENCIES:
            raise _param(
                "One or several required parameters are missing or incorrect",
                **{name: "Amount is a whole number of minor units, Currency an ISO code"},
            )
        return {"Currency": currency, "Amount": amount}

    @staticmethod
    def _tag(body: dict[str, Any]) -> str | None:
        tag = body.get("Tag")
        if tag is not None and (not isinstance(tag, str) or len(tag) > 255):
            raise _param(
                "One or several required parameters are missing or incorrect",
                Tag="The Tag is a string of at most 255 characters",
            )
        return tag

    @staticmethod
    def _required(body: dict[str, Any], *names: str) -> None:
        missing = {n: f"The {n} field is required." for n in names if body.get(n) in (None, "")}
        if missing:
            raise _param("One or several required parameters are missing or incorrect", **missing)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind (user, wallet, card, payin, transfer, refund, ...), oldest first."""
        with self.lock:
            return [self._public(o) for o in self._all(kind)]

    def succeeded_payins(self) -> int:
        return sum(1 for o in self.of_kind("payin") if o["Status"] == "SUCCEEDED")

    def balance(self, wallet_id: str) -> int:
        with self.lock:
            return int(self._get("wallet", wallet_id)["Balance"]["Amount"])
