"""What every simulator does the same way, in small pieces: the 127.0.0.1 server, a quiet Flask app, JSON
answers, the Bearer token, the clock in unix seconds and in X's and Mastodon's ISO form, a list's Link header,
queues of injected faults, a dropped connection, idempotency keys that lapse, fixed rate-limit windows, and the
request log's records.

What each provider answers (its error bodies, which faults it knows, whether a key replays or blocks) stays in
its simulator: these pieces hold no provider's wording."""

from __future__ import annotations

import json
import logging
import re
import socket
import threading
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import Flask, Response, request
from werkzeug.serving import make_server

from bot.ports import Clock

DROP = 0  # an injected fault meaning: do the work, then drop the connection (Stripe, Mangopay)
TIMEOUT = 0  # an injected fault meaning: do the work, then answer too late (X, Mastodon)

F = TypeVar("F")
W = TypeVar("W")


class Loopback:
    """A simulator's server: `start` serves a Flask app on 127.0.0.1 from a daemon thread, `stop` shuts it down.
    A simulator holds one (no base class): its own `start` and `stop` say what else they do."""

    def __init__(self, thread_name: str) -> None:
        self.thread_name = thread_name
        self._server: Any = None

    def start(self, app: Flask, port: int = 0) -> str:
        """Serve `app` on 127.0.0.1 (port 0: a free one) in a background thread; returns the base URL."""
        self._server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True, name=self.thread_name).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        """Shut the server down and free its port (nothing when it is not serving)."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def quiet_app(name: str) -> Flask:
    """A Flask app for a simulator, with werkzeug's access log off (no line a request on the console)."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    return Flask(name)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`body` as a JSON answer (application/json, no trailing newline), with `headers` (those set to None left
    out)."""
    return Response(
        json.dumps(body),
        status=status,
        mimetype="application/json",
        headers={k: v for k, v in (headers or {}).items() if v is not None},
    )


def bearer_token() -> str | None:
    """The token of the request's `Authorization: Bearer ...` header, or None when it has no such header."""
    auth = request.headers.get("Authorization", "")
    return auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None


def unix_now(clock: Clock) -> int:
    """The simulator's clock in whole unix seconds, as the payment providers stamp their objects."""
    return int(clock.now().timestamp())


def iso_millis(t: datetime) -> str:
    """A time as X and Mastodon write it, in UTC to the millisecond: 2026-08-01T13:54:00.505Z."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def link_header(base: str, pages: list[tuple[str, Any]]) -> str:
    """A list's `Link` header (RFC 8288), as Mangopay and Mastodon send it: each (rel, query) as
    `<base?query>; rel="rel"`, the query (a dict or pairs) URL-encoded."""
    return ", ".join(f'<{base}?{urlencode(query)}>; rel="{rel}"' for rel, query in pages)


def route_name(method: str, rule: str) -> str:
    """A Flask rule as the request log and `inject` name it: "POST /v1/customers/{id}"."""
    return f"{method} {re.sub(r'<[^>]+>', '{id}', rule)}"


def queue_fault(faults: dict[str, list[F]], route: str, fault: F, times: int = 1) -> None:
    """The next `times` requests to `route` meet `fault` (after those already queued there)."""
    faults.setdefault(route, []).extend([fault] * times)


def take_fault(faults: dict[str, list[F]], route: str) -> F | None:
    """The fault this request to `route` meets, if one is queued: it is used up."""
    queue = faults.get(route)
    return queue.pop(0) if queue else None


def count_in_window(windows: dict[str, tuple[W, int]], name: str, start: W) -> int:
    """Count one request of `name` (an endpoint, an account) in its rate-limit window that began at `start`: a
    window begun at another time is over and the count starts again. Returns the requests the window holds."""
    began, used = windows.get(name, (start, 0))
    used = used + 1 if began == start else 1
    windows[name] = (start, used)
    return used


def drop_connection() -> None:
    """Close the current request's connection without an answer: the work is done, the client never hears."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        sock.shutdown(socket.SHUT_RDWR)


def live_key(keys: dict[Any, dict[str, Any]], key: Any, now: float, lifetime: float) -> dict[str, Any] | None:
    """What `keys` keeps under an idempotency key (each entry has its first use "at"), or None: a key `lifetime`
    seconds old is forgotten here."""
    kept = keys.get(key)
    if kept is not None and now - kept["at"] >= lifetime:
        del keys[key]
        return None
    return kept


def prune_keys(keys: dict[Any, dict[str, Any]], now: float, lifetime: float) -> None:
    """Forget every idempotency key `lifetime` seconds after its first use."""
    for key in [k for k, v in keys.items() if now - v["at"] >= lifetime]:
        del keys[key]


def request_record(
    log: list[dict[str, Any]], route: str, key: str | None = None, status: int = 0, **extra: Any
) -> dict[str, Any]:
    """Append a request's record (route, idempotency key, status: 0 until it is answered) to `log`; returns it."""
    record = {"route": route, "key": key, "status": status, **extra}
    log.append(record)
    return record
