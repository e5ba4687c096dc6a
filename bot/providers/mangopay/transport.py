"""Mangopay's HTTP for every part of the Mangopay adapter: one handler of the official SDK, its errors in the
port's words, its lists, and POSTs made once under an Idempotency-Key.

Calls go through the SDK's `APIRequest` (OAuth token cache, headers, error parsing) on one explicit handler: the
SDK's model helpers fall back to a process-wide default handler (Mangopay's real sandbox) in several calls, which an
emulator run must never reach. The SDK's own logger is kept quiet: at DEBUG it logs request headers, the bearer token
among them.

Idempotency. Every POST carries an Idempotency-Key: `idempotency_key(name)`, a UUIDv5 of a name built
from paybot's key (`pay:<root>:<sender>:<recipient>` for the pay-in, `#transfer`, `#cit`, `#lapse` after it
for the steps it leads to; `release:...`, `return:...`, `refund:...` as they are) or from the X user
(`user:<x id>`, `wallet:<x id>:<currency>`, ...). Every transaction's Tag carries paybot's key (JSON, `tag`:
the key, the pay-in it belongs to, and for a pay-in its recipient, memo digest and route), so:
- a retry POSTs again; Mangopay blocks a second use of a key for 24 hours with a 409, and the first answer
  is read from `GET /responses/{key}`: the pay-in or transfer first made, never a second one;
- a first answer that was a 5xx (work done or not) or unreadable is settled by looking the transaction up
  by its Tag among the user's transactions (the finders of `bot.providers.mangopay.transactions`); found, it is
  the answer; not found, the step is POSTed again under the next key of its name (`<name>~1`, ...), the same way
  after a crash.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from mangopay.api import APIRequest
from mangopay.exceptions import APIError

from bot.errors import ProviderError, ProviderTransient, ScaRequired

log = logging.getLogger(__name__)

# One namespace for every Idempotency-Key paybot sends to Mangopay (a fixed UUID: the mapping never changes).
KEY_NAMESPACE = uuid.UUID("6f1d8f38-3a52-5b7e-9c1e-6d0c1b7a9e42")
MAX_GENERATIONS = 4  # keys tried for one step whose earlier attempts failed without a transaction
LIST_PAGES = 20  # pages of 100 read at most by one listing
# Wallet access (a wallet, a user's wallets or transactions) by an Owner who is there (they asked: CASHOUT). Reads
# made without them send no ScaContext: paybot holds no proxy consent (USER_NOT_PRESENT), so such a read of an Owner
# works only within 180 days of their last wallet-access SCA, and otherwise is ScaRequired (never a retry loop).
PRESENT = "USER_PRESENT"
# Mangopay's answer to an Owner's wallet access that needs their SCA: 401 with
# `WWW-Authenticate: PendingUserAction RedirectUrl=<link>` (guides/sca/wallets.mdx; guides/sca/session.mdx spells it
# `redirectUrl`: both are read).
WALLET_SCA_HEADER = re.compile(r"PendingUserAction\s+redirectUrl=(\S+)", re.IGNORECASE)

Finder = Callable[[], dict[str, Any] | None]


class MangopayTransport:
    """The SDK's handler, shared by the parts: calls with Mangopay's errors translated, lists walked, POSTs once."""

    def __init__(self, handler: APIRequest, *, retries: int = 2) -> None:
        self.handler = handler
        self.retries = retries
        self.rate_left: int | None = None  # calls left in Mangopay's 15-minute window, as its last answer said
        # The SDK logs request headers (the bearer token among them) at DEBUG and whole requests at ERROR:
        # the adapter logs its own words instead.
        logging.getLogger("mangopay").setLevel(logging.CRITICAL)

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, *, key: str | None = None, **params: Any
    ) -> tuple[int, Any, Any]:
        """(status, JSON body, headers) of one call; APIError for what the SDK calls an error (>= 400 but
        404, and no connection). A refused token (401) is dropped from the SDK's cache and asked once more."""
        for attempt in range(2):
            try:
                result = self.handler.request(method, path, data=body, idempotency_key=key, **params)
            except APIError as err:
                self.note_rate(getattr(err, "headers", None) or {})
                sca = _wallet_sca_link(err)
                if sca is not None:  # an Owner's wallet wants their SCA: not the credentials; never asked again here
                    raise ScaRequired(sca) from None
                if err.code == 401 and attempt == 0:
                    self.handler.auth_manager.set_token(None)  # expired or revoked: a new token, once
                    continue
                raise
            if not isinstance(result, tuple):
                raise ProviderError("Mangopay: an answer that is not JSON")
            response, data = result
            self.note_rate(response.headers)
            return int(response.status_code), data, response.headers
        raise AssertionError("unreachable")

    def note_rate(self, headers: Any) -> None:
        """Keeps the calls left in Mangopay's 15-minute window (the first of X-RateLimit-Remaining's values)."""
        left = str(headers.get("X-RateLimit-Remaining") or "").split(",")[0].strip()
        if left.isdigit():
            self.rate_left = int(left)

    def get(self, path: str, **params: Any) -> dict[str, Any] | None:
        """One resource, None when Mangopay has no such thing (404)."""
        status, data = self.call(lambda: self.request("GET", path, **params))[:2]
        return None if status == 404 else dict(data or {})

    def call(self, fn: Callable[[], tuple[int, Any, Any]]) -> tuple[int, Any, Any]:
        for attempt in range(self.retries + 1):
            try:
                return fn()
            except APIError as err:
                if err.code is None and attempt < self.retries:
                    continue  # no answer: a GET may simply be asked again
                raise translate(err) from None
        raise AssertionError("unreachable")

    def each(self, path: str, *, pages: int = LIST_PAGES, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a Mangopay list, page by page (100 a page, at most `pages` pages)."""
        for page in range(1, pages + 1):
            status, data, headers = self.call(partial(self.request, "GET", path, page=page, per_page=100, **params))
            if status == 404:
                return
            yield from data or []
            if page >= int(headers.get("X-Number-Of-Pages") or 1):
                return

    def post(self, name: str, path: str, body: dict[str, Any], find: Finder | None = None) -> dict[str, Any]:
        """POST a step once: its resource, whether made now, by an earlier attempt (the stored answer of a
        409), or found by its Tag. Refused (4xx) is ProviderError; not knowable now is ProviderTransient."""
        for generation in range(MAX_GENERATIONS):
            key = idempotency_key(name if generation == 0 else f"{name}~{generation}")
            status, data = self.post_key(key, path, body)
            if status is not None and status < 400:
                return dict(data)
            if status is not None and 400 <= status < 500 and status != 429:
                raise refused(status, data)
            # A 5xx (the work may have been done before it failed) or a blocked key whose answer is such a
            # 5xx: the transaction's Tag says whether it exists.
            if status == 429:
                raise ProviderTransient("Mangopay is rate limiting (429); will retry")
            found = find() if find is not None else None
            if found is not None:
                return found
            # Not made: the step runs again under the next key of its name (a user or a wallet without a
            # Tag to find may then be made twice, which costs nothing; money steps always have a finder).
        raise ProviderTransient(f"Mangopay failed {MAX_GENERATIONS} times for {name.split(':')[0]}; will retry")

    def post_key(self, key: str, path: str, body: dict[str, Any]) -> tuple[int | None, Any]:
        """(status, body) of the first request made with `key`: this one, or the stored answer after a 409.
        ProviderTransient while it cannot be known (no answer, the first still running)."""
        for attempt in range(self.retries + 1):
            try:
                status, data, _ = self.request("POST", path, body, key=key)
                return status, data
            except APIError as err:
                if err.code == 409:
                    return self.stored(key)
                if err.code is None:  # no answer: the request may have been done; asking again is safe
                    if attempt < self.retries:
                        continue
                    raise ProviderTransient("Mangopay did not answer; will retry with the same key") from None
                if err.code >= 500 or err.code == 429:
                    return err.code, err.content
                if err.code == 401:
                    raise translate(err) from None
                return err.code, err.content
        raise AssertionError("unreachable")

    def stored(self, key: str) -> tuple[int | None, Any]:
        """The first answer given under a key that Mangopay now blocks (409)."""
        status, data, _ = self.call(lambda: self.request("GET", f"/responses/{key}"))
        if status == 404 or not isinstance(data, dict) or not str(data.get("StatusCode", "")).isdigit():
            # the first request is still running (or its answer was not kept): nothing is known yet
            raise ProviderTransient("Mangopay is still processing the first request with this key")
        return int(data["StatusCode"]), data.get("Resource")

    def stored_or_none(self, name: str) -> dict[str, Any] | None:
        """What was first made under the key of `name`, if that key was used (and is kept)."""
        status, data, _ = self.call(lambda: self.request("GET", f"/responses/{idempotency_key(name)}"))
        code = str(data.get("StatusCode", "")) if isinstance(data, dict) else ""
        if status == 404 or not code.isdigit() or int(code) >= 400:
            return None
        resource = data.get("Resource")
        return dict(resource) if isinstance(resource, dict) else None


def idempotency_key(name: str) -> str:
    """The Idempotency-Key paybot sends for a named step: a UUIDv5 (36 characters, letters, digits, dashes)."""
    return str(uuid.uuid5(KEY_NAMESPACE, name))


def tag(**fields: str) -> str:
    """A transaction's Tag: paybot's fields as compact JSON (read back by `read_tag`)."""
    return json.dumps(fields, separators=(",", ":"), sort_keys=True)


def read_tag(obj: dict[str, Any] | None) -> dict[str, str]:
    """The fields of a resource's Tag; {} when it has none paybot wrote."""
    try:
        found = json.loads((obj or {}).get("Tag") or "")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def amount_of(obj: dict[str, Any], name: str = "DebitedFunds") -> tuple[int, str]:
    """(minor units, currency) of a transaction's funds."""
    funds = obj.get(name) or {}
    return int(funds.get("Amount") or 0), str(funds.get("Currency") or "")


def balance(wallet: dict[str, Any]) -> int:
    """A wallet's balance in minor units (0 when Mangopay said nothing of it)."""
    return int((wallet.get("Balance") or {}).get("Amount") or 0)


def _wallet_sca_link(err: APIError) -> str | None:
    """The SCA session's link in a 401 that asks for the Owner's wallet-access SCA; None for any other error."""
    if err.code != 401:
        return None
    found = WALLET_SCA_HEADER.search(str((getattr(err, "headers", None) or {}).get("WWW-Authenticate") or ""))
    return found.group(1) if found else None


def refused(status: int, data: Any) -> ProviderError:
    kind = str((data or {}).get("Type") or "") if isinstance(data, dict) else ""
    message = str((data or {}).get("Message") or "") if isinstance(data, dict) else ""
    return ProviderError(f"Mangopay refused the request ({status} {kind}): {message}".rstrip(": "))


def translate(err: APIError) -> ProviderError:
    """The SDK's errors in the port's words; never the API key or the token (the SDK's text is not used)."""
    code = err.code
    if code is None:
        return ProviderTransient("Mangopay did not answer (connection or timeout)")
    if code == 401:
        log.error("Mangopay refused the credentials (401): check MANGOPAY_CLIENT_ID and MANGOPAY_API_KEY")
        return ProviderTransient("Mangopay refused the credentials (401)")
    if code in (409, 429) or code >= 500:
        return ProviderTransient(f"Mangopay could not answer now ({code})")
    return refused(code, err.content)
