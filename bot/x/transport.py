"""How the X adapter's requests go out: tweepy's endpoints, signed once per request by one `OAuth1Signer`, sent by
`bot.x.wire.Wire` (http.client, kept connections, the timeout, X's hosts pointed at a local base URL if one is set).

tweepy's `Client.request` builds a new `OAuth1UserHandler` and `OAuth1` for every call and formats its debug lines
(the whole response body included) whether or not debug logging is on, and requests merges settings, looks for
proxies and goes through urllib3's pool for each. `SignedClient.request` sends what they sent: the same URL, query,
JSON body, headers (the session's, tweepy's User-Agent) and signature, built directly for tweepy's own requests (a
route of plain path characters, query values of str or int, no cookie kept) and by requests' own
`PreparedRequest` steps for any other; it answers with a `requests.Response` and raises the same exceptions for the
same statuses (tweepy's `BadRequest`, `Unauthorized`, `Forbidden`, `NotFound`, `TooManyRequests`,
`TwitterServerError`, `HTTPException`), and requests' `ConnectionError` or `Timeout` when no answer came."""

from __future__ import annotations

import logging
import re
from typing import Any, cast
from urllib.parse import urlencode

import requests
import tweepy
from requests.structures import CaseInsensitiveDict

from bot.x.signing import OAuth1Signer
from bot.x.wire import Wire

log = logging.getLogger(__name__)

X_HOST = "https://api.twitter.com"  # the host tweepy signs and sends to
# A route built directly: plain path characters, no dot segment (urllib3 would remove one, as requests prepares it)
PLAIN_ROUTE = re.compile(r"/[A-Za-z0-9_.~/-]*")
# requests' JSON encoder (simplejson when it is installed), as `PreparedRequest.prepare_body` writes a body
JSON: Any = requests.compat.json  # type: ignore[attr-defined]
NO_BODY = frozenset({"GET", "HEAD"})  # requests writes "Content-Length: 0" for any other method without a body


def plain_params(params: dict[str, Any] | None) -> list[tuple[str, str]] | None:
    """The query's parameters as strings, for values of str or int (what tweepy's endpoints pass) and keys of str;
    None when another type calls for requests' own encoding. A None value is left out, as requests does."""
    if not params:
        return []
    pairs = []
    for k, v in params.items():
        if v is None:
            continue
        t = type(v)
        if type(k) is not str or (t is not str and t is not int):
            return None
        pairs.append((k, v if t is str else str(v)))
    return pairs


class SignedClient(tweepy.Client):  # type: ignore[misc]
    """tweepy's Client (OAuth 1.0a user context, answers as `requests.Response`), its requests signed by one
    signer made once and sent over kept connections, with `timeout` (connect and read) and, when `base_url` is
    set, X's hosts sent there instead."""

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        base_url: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=requests.Response,
            wait_on_rate_limit=False,
        )
        self.session.trust_env = False  # not used to send; no proxy variable would reach it anyway
        self.signer = OAuth1Signer(consumer_key, consumer_secret, access_token, access_token_secret)
        self.wire = Wire(base_url, timeout)
        # the session's headers with tweepy's User-Agent, as prepared for every request
        self._headers = dict(self._session_headers())

    def _session_headers(self) -> CaseInsensitiveDict[str]:
        headers = CaseInsensitiveDict(self.session.headers)
        headers["User-Agent"] = self.user_agent
        # Only what `bot.x.wire.decoded` reads back: requests would add br or zstd if brotli or zstandard were
        # installed, and such an answer would come back unreadable.
        headers["Accept-Encoding"] = "gzip, deflate"
        return headers

    def close(self) -> None:
        """Close the kept connections."""
        self.wire.close()

    def request(
        self,
        method: str,
        route: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        user_auth: bool = False,
    ) -> requests.Response:
        method = method.upper()
        url, headers, body = self.build(method, route, params, json, user_auth)
        with self.wire.send(method, url, headers, body, self.session.cookies) as r:
            status = r.status_code
            if 200 <= status < 300:
                return r
            if status == 400:
                raise tweepy.BadRequest(r)
            if status == 401:
                raise tweepy.Unauthorized(r)
            if status == 403:
                raise tweepy.Forbidden(r)
            if status == 404:
                raise tweepy.NotFound(r)
            if status == 429:
                reset = r.headers.get("x-rate-limit-reset")
                raise tweepy.TooManyRequests(
                    r, reset_time=int(reset) if reset is not None and reset.isdigit() else None
                )
            if status >= 500:
                raise tweepy.TwitterServerError(r)
            raise tweepy.HTTPException(r)

    def build(
        self, method: str, route: str, params: dict[str, Any] | None, json: dict[str, Any] | None, user_auth: bool
    ) -> tuple[str, dict[str, str], bytes | None]:
        """The URL, headers and body to send (`method` in capitals)."""
        return self._direct(method, route, params, json, user_auth) or self._prepared(
            method, route, params, json, user_auth
        )

    def _direct(
        self, method: str, route: str, params: dict[str, Any] | None, json: dict[str, Any] | None, user_auth: bool
    ) -> tuple[str, dict[str, str], bytes | None] | None:
        """The URL, headers and body requests would prepare for tweepy's own kind of request, built here; None
        for any other (a route of other characters, a query value of another type, a cookie to send, a request
        the signer hands to `OAuth1`)."""
        pairs = plain_params(params)
        if pairs is None or len(self.session.cookies) or "/." in route or PLAIN_ROUTE.fullmatch(route) is None:
            return None
        url = X_HOST + route
        headers = self._headers.copy()
        auth = self.signer.authorization(method, url, pairs) if user_auth else f"Bearer {self.bearer_token}"
        if auth is None:
            return None
        if not user_auth:
            headers["Authorization"] = auth  # set with the session's, before the length and the type
        body: bytes | None = None
        if json is not None:
            try:
                text = JSON.dumps(json, allow_nan=False)
            except ValueError as err:
                raise requests.exceptions.InvalidJSONError(err) from err
            body = text if isinstance(text, bytes) else text.encode("utf-8")
        # PreparedRequest's order: the length, the type, then the signature
        if body:
            headers["Content-Length"] = str(len(body))
        elif method not in NO_BODY:
            headers["Content-Length"] = "0"
        if json is not None:
            headers["Content-Type"] = "application/json"
        if user_auth:
            headers["Authorization"] = auth
        return (url + "?" + urlencode(pairs) if pairs else url), headers, body

    def _prepared(
        self, method: str, route: str, params: dict[str, Any] | None, json: dict[str, Any] | None, user_auth: bool
    ) -> tuple[str, dict[str, str], bytes | None]:
        """The URL, headers and body `Session.request` prepares for these arguments (the session's headers and
        cookies, no hooks), by requests' own steps."""
        headers = self._session_headers()
        if not user_auth:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        url = X_HOST + route
        p = requests.PreparedRequest()
        p.prepare_method(method)
        p.prepare_url(url, params)
        p.prepare_headers(headers)
        p.prepare_cookies(self.session.cookies)
        p.prepare_body(None, None, json)
        p.prepare_auth(self.signer if user_auth else None, url)
        p.prepare_hooks({})
        body = p.body.encode("utf-8") if isinstance(p.body, str) else p.body
        return p.url or url, cast("dict[str, str]", dict(p.headers)), cast("bytes | None", body)  # no stream, no file
