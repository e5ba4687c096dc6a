"""The door of every API call: the secret key, the parameters each endpoint accepts, idempotency keys (replayed,
in flight, reused with other parameters), injected faults and dropped connections."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, request

from bot.sims.kit import (
    DROP,  # inject's fault "drop": tests name it from the emulator
    drop_connection,
    live_key,
    queue_fault,
    request_record,
    route_name,
    take_fault,
)
from bot.sims.stripe.errors import StripeError, _invalid, _json, _refusal
from bot.sims.stripe.facts import KEY_LIFETIME, MAX_KEY_LENGTH, REFUSALS
from bot.sims.stripe.params import PARAMS, _allowed, _paths, decode_form
from bot.sims.stripe.state import StripeState


@dataclass
class _Job:
    """A request whose execution began: what `_execute` needs, and its key (in flight until it ends)."""

    record: dict[str, Any]
    key: str | None
    blob: str
    params: dict[str, Any]
    fault: int | None
    work: bool
    saved: bool = True
    code: str | None = None  # an injected 400: the error code Stripe answers with


class Gateway(StripeState):
    """Keys, idempotency and faults around every API call."""

    def inject(
        self,
        route: str,
        status: int,
        times: int = 1,
        *,
        saved: bool = True,
        work: bool = False,
        code: str | None = None,
    ) -> None:
        """Make the next `times` calls of route ("POST /v1/payment_intents") fail: 500, 429, DROP, or a 400
        refusal with one of Stripe's error codes (REFUSALS: `code`).

        A 500 happens while the request executes: under an idempotency key it is saved and replayed
        (`work`: after the work was done); `saved=False` is a 500 from before execution began (not
        saved, Stripe-Should-Retry: true). A 429 is never saved; DROP always does the work. A refusal
        is an answer of the request's execution: saved under its key unless `saved=False`."""
        if status not in (500, 429, DROP, 400) or (status == 400) != (code in REFUSALS):
            raise ValueError(
                f"the emulator injects 500, 429, DROP or a 400 with a code of {sorted(REFUSALS)}, not {status} {code}"
            )
        with self.lock:
            queue_fault(self.faults, route, (status, saved, work, code), times)

    def _endpoint(self, method: str, rule: str, schema: str, view: Callable[..., Any]) -> Callable[..., Response]:
        route = route_name(method, rule)

        def handle(**kw: Any) -> Response:
            with self.lock:
                begun = self._begin(route, method, schema, kw)
            if isinstance(begun, tuple):
                resp, drop = begun
            else:
                try:
                    if self.on_execute is not None:
                        self.on_execute(begun.record)  # outside the lock: other requests go on meanwhile
                    with self.lock:
                        resp, drop = self._execute(begun, view, kw)
                finally:
                    if begun.key:
                        with self.lock:
                            self.in_flight.discard(begun.key)
            if drop:  # the work is done; the client never hears about it
                drop_connection()
            return resp

        handle.__name__ = f"stripe_{schema}_{method}"
        return handle

    def _begin(self, route: str, method: str, schema: str, kw: dict[str, Any]) -> tuple[Response, bool] | _Job:  # noqa: C901
        """Everything before execution begins: an early answer (never saved), or the job to execute."""
        key = request.headers.get("Idempotency-Key") if method == "POST" else None
        record = request_record(self.requests, route, key)

        def answer(
            body: dict[str, Any], status: int, headers: dict[str, str] | None = None, drop: bool = False
        ) -> tuple[Response, bool]:
            record["status"] = status
            return _json(body, status, headers), drop

        if request.headers.get("Authorization", "") != f"Bearer {self.api_key}":
            return answer({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided."}}, 401)
        if key is not None and len(key) > MAX_KEY_LENGTH:
            return answer(
                _invalid(
                    f"Invalid Idempotency-Key: it is {len(key)} characters long; keys are at most {MAX_KEY_LENGTH}.",
                    "Idempotency-Key",
                ).body,
                400,
            )
        as_account = request.headers.get("Stripe-Account")
        if as_account is not None:
            target = self.objects.get(as_account)
            if target is None or target["object"] != "account":
                return answer(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "code": "account_invalid",
                            "message": f"The provided key does not have access to account "
                            f"'{as_account}' (or that account does not exist).",
                        }
                    },
                    403,
                )
            if route not in ("GET /v1/events", "GET /v1/events/{id}"):
                return answer(
                    _invalid(
                        "paybot's emulator keeps no objects inside connected accounts: only "
                        "events are read with Stripe-Account.",
                        "Stripe-Account",
                    ).body,
                    400,
                )
        pairs = list((request.form if method == "POST" else request.args).items(multi=True))
        try:
            params = decode_form(pairs)
        except StripeError as err:
            return answer(err.body, err.status)
        status, saved, work, code = take_fault(self.faults, route) or (None, True, False, None)
        if status == 429 or (status == 500 and not saved):  # before execution: nothing to save
            body = {
                "error": {"type": "invalid_request_error", "code": "rate_limit", "message": "Too many requests."}
                if status == 429
                else {"type": "api_error", "message": "Something went wrong."}
            }
            return answer(body, status, {"Stripe-Should-Retry": "true"})
        blob = json.dumps([route, kw, params], sort_keys=True)
        if key:
            kept = live_key(self.keys, key, self._now(), KEY_LIFETIME)  # pruned: the key may run a new request
            if kept is not None:
                if kept["blob"] != blob:
                    return answer(
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with the same parameters "
                                "they were first used with. Try using a key other than "
                                f"'{key}' if you meant to execute a different request.",
                            }
                        },
                        400,
                    )
                return answer(
                    kept["body"],
                    kept["status"],
                    {"Idempotent-Replayed": "true", "Idempotency-Key": key, **kept["headers"]},
                    drop=status == DROP,
                )
            if key in self.in_flight:
                return answer(
                    {
                        "error": {
                            "type": "idempotency_error",
                            "code": "idempotency_key_in_use",
                            "message": "There is currently another in-progress request using this Idempotent Key "
                            "(that probably means you submitted twice, and the other request is still "
                            "going through). Please retry this request later.",
                        }
                    },
                    409,
                )
        unknown = [p for p in _paths(params) if not _allowed(p, PARAMS[schema])]
        if unknown:
            first = re.sub(r"\.(\w+)", r"[\1]", unknown[0])
            return answer(_invalid(f"Received unknown parameter: {first}", first).body, 400)
        if key:
            self.in_flight.add(key)
        return _Job(record=record, key=key, blob=blob, params=params, fault=status, work=work, saved=saved, code=code)

    def _execute(self, job: _Job, view: Callable[..., Any], kw: dict[str, Any]) -> tuple[Response, bool]:
        """Execution: the view runs (or an injected 500 fails it) and the answer is saved under the key."""
        headers: dict[str, str] = {}
        body: dict[str, Any]
        if job.fault == 400 and job.code:
            body, status = _refusal(job.code).body, 400
            job.record["status"] = status
            if not (job.key and job.saved):
                return _json(body, status), False
        elif job.fault == 500:
            if job.work:
                try:
                    view(job.params, **kw)
                except StripeError:
                    pass
            body = {"error": {"type": "api_error", "message": "Something went wrong."}}
            status = 500
            if job.key:
                headers["Stripe-Should-Retry"] = "false"  # a retry with the key would replay this answer
        else:
            try:
                body, status = view(job.params, **kw), 200
            except StripeError as err:
                body, status = err.body, err.status
                if status == 400 and err.body["error"]["type"] == "invalid_request_error":
                    job.record["status"] = status
                    return _json(body, status), False  # validation failures are not saved
        job.record["status"] = status
        if job.key:
            self.keys[job.key] = {
                "blob": job.blob,
                "status": status,
                "body": body,
                "headers": headers,
                "at": self._now(),
            }
            headers = {**headers, "Idempotency-Key": job.key}
        return _json(body, status, headers), job.fault == DROP
