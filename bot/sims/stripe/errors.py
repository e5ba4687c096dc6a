"""Stripe's error answers: `StripeError` (an HTTP status and Stripe's error object), the usual ones, and a JSON
answer with its Request-Id."""

from __future__ import annotations

import threading
from typing import Any

from flask import Response

from bot.sims.kit import json_response
from bot.sims.stripe.facts import REFUSALS


class StripeError(Exception):
    """An error answer: HTTP status and Stripe's error object."""

    def __init__(self, status: int, type_: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, **{k: v for k, v in extra.items() if v is not None}}}


def _missing(kind: str, oid: str, param: str = "id") -> StripeError:
    return StripeError(404, "invalid_request_error", f"No such {kind}: '{oid}'", code="resource_missing", param=param)


def _invalid(message: str, param: str | None = None) -> StripeError:
    return StripeError(400, "invalid_request_error", message, param=param)


def _refusal(code: str) -> StripeError:
    return StripeError(400, "invalid_request_error", REFUSALS[code], code=code)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(body, status, {"Request-Id": f"req_sim{threading.get_ident() % 10**8:08d}", **(headers or {})})
