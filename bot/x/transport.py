"""How the X adapter's requests go out: tweepy's endpoints, signed once per request by one `OAuth1Signer`, over a
requests session whose adapter sets the timeout and may point X's hosts at a local base URL (the simulator).

tweepy's `Client.request` builds a new `OAuth1UserHandler` and `OAuth1` for every call and formats its debug lines
(the whole response body included) whether or not debug logging is on. `SignedClient.request` does what it does,
minus those: the same URL, query, JSON body, User-Agent and signature, and the same exceptions for the same
statuses (tweepy's `BadRequest`, `Unauthorized`, `Forbidden`, `NotFound`, `TooManyRequests`,
`TwitterServerError`, `HTTPException`)."""

from __future__ import annotations

import logging
from typing import Any

import requests
import tweepy
from requests.adapters import HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict

from bot.x.signing import OAuth1Signer

log = logging.getLogger(__name__)

X_HOST = "https://api.twitter.com"  # the host tweepy signs and sends to
X_HOSTS = (X_HOST, "https://api.x.com")


class LocalBaseAdapter(HTTPAdapter):
    """Sets a default timeout on every request and, optionally, sends X's hosts to `base`."""

    def __init__(self, base: str | None, timeout: float) -> None:
        super().__init__()
        self.base = base.rstrip("/") if base else None
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if self.base and request.url:
            for host in X_HOSTS:
                if request.url.startswith(host):
                    request.url = self.base + request.url[len(host) :]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


class SignedClient(tweepy.Client):  # type: ignore[misc]
    """tweepy's Client (OAuth 1.0a user context, answers as `requests.Response`), its requests signed by one
    signer made once."""

    def __init__(
        self,
        *,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
    ) -> None:
        super().__init__(
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            access_token=access_token,
            access_token_secret=access_token_secret,
            return_type=requests.Response,
            wait_on_rate_limit=False,
        )
        self.signer = OAuth1Signer(consumer_key, consumer_secret, access_token, access_token_secret)

    def request(
        self,
        method: str,
        route: str,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        user_auth: bool = False,
    ) -> requests.Response:
        headers = CaseInsensitiveDict(self.session.headers)
        headers["User-Agent"] = self.user_agent
        auth: OAuth1Signer | None = None
        if user_auth:
            auth = self.signer
        else:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        with self._send(self._prepare(method, X_HOST + route, params, json, headers, auth)) as r:
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
                raise tweepy.TooManyRequests(r, reset_time=int(reset) if reset is not None else None)
            if status >= 500:
                raise tweepy.TwitterServerError(r)
            raise tweepy.HTTPException(r)

    def _prepare(
        self,
        method: str,
        url: str,
        params: dict[str, Any] | None,
        json: dict[str, Any] | None,
        headers: CaseInsensitiveDict[str],
        auth: OAuth1Signer | None,
    ) -> requests.PreparedRequest:
        """The request `Session.request` prepares for these arguments (the session's headers, cookies and no
        hooks), by requests' own steps."""
        p = requests.PreparedRequest()
        p.prepare_method(method)
        p.prepare_url(url, params)
        p.prepare_headers(headers)
        p.prepare_cookies(self.session.cookies)
        p.prepare_body(None, None, json)
        p.prepare_auth(auth, url)
        p.prepare_hooks({})
        return p

    def _send(self, p: requests.PreparedRequest) -> requests.Response:
        """Sends through the session's adapter for the URL, as `Session.send` does without following redirects
        (X's API answers in place; a redirect comes back as the error it is) and reads the body."""
        r: requests.Response = self.session.get_adapter(p.url or "").send(p)
        extract_cookies_to_jar(self.session.cookies, p, r.raw)
        r.content  # noqa: B018 (read now, as Session.send does, so the connection goes back to the pool)
        return r
