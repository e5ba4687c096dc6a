"""The door of every API call: OAuth tokens, the rate limits, idempotency keys (and the stored answers read under
them), injected faults and dropped connections."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from flask import Response, request

from bot.sims.kit import (
    DROP,  # inject's fault "drop": tests name it from the emulator
    bearer_token,
    drop_connection,
    json_response,
    queue_fault,
    request_record,
    route_name,
    take_fault,
)
from bot.sims.mangopay.errors import MangopayError, _missing, _param
from bot.sims.mangopay.facts import KEY_FORMAT, RATE_LIMITED, TOKEN_LIFETIME
from bot.sims.mangopay.state import MangopayState


class Gateway(MangopayState):
    """Tokens, rate limits, idempotency keys and faults around every API call."""

    def inject(self, route: str, status: int, times: int = 1, *, work: bool = False) -> None:
        """Make the next `times` calls of route ("POST /payins/recurring/card/direct", relative to the
        client) answer 500/503 (`work`: after doing the work), 429, or DROP (work done, no answer)."""
        if status not in (500, 503, 429, DROP):
            raise ValueError(f"the emulator injects 500, 503, 429 or DROP, not {status}")
        with self.lock:
            queue_fault(self.faults, route, (status, work), times)

    def _token(self) -> Response:
        header = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{self.client_id}:{self.api_key}".encode()).decode()
        if header != f"Basic {expected}":
            return self._error(
                MangopayError(
                    401,
                    "invalid_client",
                    "Authentication failed",
                    {"Authorization": "The client id or the API key is wrong"},
                )
            )
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.monotonic() + TOKEN_LIFETIME
        return json_response({"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME})

    def _authorized(self, client: str) -> bool:
        expiry = self.tokens.get(bearer_token() or "")
        return client == self.client_id and expiry is not None and expiry > time.monotonic()

    def forget_tokens(self) -> None:
        """Every access token stops working (as when they expire): the next call gets a 401."""
        with self.lock:
            self.tokens.clear()

    def _endpoint(self, method: str, rule: str, view: Callable[..., Any]) -> Callable[..., Response]:  # noqa: C901
        route = route_name(method, rule)

        def handle(client: str, **kw: Any) -> Response:  # noqa: C901
            key = request.headers.get("Idempotency-Key") if method == "POST" else None
            body: Any = None
            with self.lock:
                record = request_record(self.requests, route, key, query=request.query_string.decode("latin-1"))
                if not self._authorized(client):
                    record["status"] = 401
                    return self._error(
                        MangopayError(
                            401,
                            "invalid_token",
                            "Authorization has been denied",
                            {"Authorization": "Missing, invalid or expired token"},
                        )
                    )
                self._prune()
                limited, rate_headers = self._count_call()
                fault = take_fault(self.faults, route)
                if limited or (fault and fault[0] == 429):
                    record["status"] = 429
                    return self._error(MangopayError(429, "rate_limit", RATE_LIMITED, headers=rate_headers))
                if key is not None:
                    if not KEY_FORMAT.fullmatch(key):
                        record["status"] = 400
                        return self._error(
                            _param(
                                "One or several required parameters are missing or incorrect",
                                **{"Idempotency-Key": "16 to 36 letters, digits or dashes"},
                            )
                        )
                    if key in self.keys:
                        record["status"] = 409
                        return self._error(
                            MangopayError(
                                409,
                                "idempotent_creation_conflict",
                                "A resource has already been created with this Idempotency Key",
                            )
                        )
                    self.keys[key] = {"at": self._now(), "url": request.url}  # spent now, answer below
                if method in ("POST", "PUT"):
                    body = request.get_json(silent=True)
                    if body is None and request.get_data():
                        body = "invalid"
            if method == "POST" and self.on_execute is not None:
                self.on_execute(record)  # outside the lock: a test can hold this request here
            with self.lock:
                if body == "invalid":
                    resp = self._error(_param("The body is not valid JSON"))
                elif fault and fault[0] in (500, 503) and not fault[1]:
                    resp = self._error(MangopayError(fault[0], "internal_error", "Internal server error"))
                else:
                    try:
                        result = view(body or {}, **kw) if method in ("POST", "PUT") else view(request.args, **kw)
                        resp, list_headers = result if isinstance(result, tuple) else (result, {})
                        resp = json_response(resp, 200, list_headers)
                    except MangopayError as err:
                        resp = self._error(err)
                    if fault and fault[0] in (500, 503):  # the work was done, then the request failed
                        resp = self._error(MangopayError(fault[0], "internal_error", "Internal server error"))
                resp.headers.update(rate_headers)
                record["status"] = resp.status_code
                if key is not None:
                    self.keys[key].update(status=resp.status_code, body=resp.get_data(as_text=True), type=resp.mimetype)
            if fault and fault[0] == DROP:  # the work is done and saved; the client never hears of it
                drop_connection()
            return resp

        handle.__name__ = f"mangopay_{method}_{rule}"
        return handle

    def _count_call(self) -> tuple[bool, dict[str, str]]:
        """Counts this call in every window; (over a limit, the X-RateLimit headers: calls made, calls left and each
        window's reset, one value per window, as rate-limiting.mdx shows them)."""
        now = self._now()
        longest = max((int(w.total_seconds()) for w, _ in self.rate_limits), default=0)
        self.calls = [t for t in self.calls if t > now - longest]
        made = [sum(1 for t in self.calls if t > now - int(w.total_seconds())) for w, _ in self.rate_limits]
        limited = any(m >= limit for m, (_, limit) in zip(made, self.rate_limits, strict=True))
        if not limited:
            self.calls.append(now)
            made = [m + 1 for m in made]
        headers = {
            "X-RateLimit": ", ".join(map(str, made)),
            "X-RateLimit-Remaining": ", ".join(
                str(max(limit - m, 0)) for m, (_, limit) in zip(made, self.rate_limits, strict=True)
            ),
            "X-RateLimit-Reset": ", ".join(str(now + int(w.total_seconds())) for w, _ in self.rate_limits),
        }
        return limited, headers

    def _response(self, _args: Any, key: str) -> dict[str, Any]:
        saved = self.keys.get(key)
        if saved is None or "status" not in saved:
            raise _missing("response", key)
        try:
            resource = json.loads(saved["body"])
        except ValueError:
            resource = None
        return {
            "StatusCode": str(saved["status"]),
            "ContentLength": str(len(saved["body"])),
            "ContentType": f"{saved['type']}; charset=utf-8",
            "Date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(saved["at"])),
            "RequestURL": saved["url"],
            "Resource": resource,
        }
