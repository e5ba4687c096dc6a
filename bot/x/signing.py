"""OAuth 1.0a (HMAC-SHA1, in the Authorization header) as requests_oauthlib's `OAuth1` signs tweepy's requests,
with the constant parts worked out once.

requests_oauthlib builds an oauthlib `Client` per request (tweepy makes a new `OAuth1` for each call), renders the
header twice, parses it back and percent-encodes every parameter each time: 40-odd escapes for a request with no
query. Here the key, token and signing key are escaped once; a request escapes its nonce, timestamp, query
parameters and signature, the base string and HMAC-SHA1 as RFC 5849 (section 3.4) and oauthlib have them, the base
URI normalised by oauthlib's own `base_string_uri`. `authorization` signs from the method, the URL and the query's
parameters (the X adapter's transport builds the request itself); as an auth on a `requests.PreparedRequest` the
signer parses them out of the prepared URL. The header is byte for byte the one `OAuth1` writes for the same nonce
and timestamp (tests/unit/test_x_signing.py checks it on generated requests). What this path does not cover (a
form-encoded body, a fragment, a query oauthlib would refuse or that names an oauth_* parameter, an Authorization
or Host header already set) is signed by `OAuth1` itself."""

from __future__ import annotations

import hmac
import re
from binascii import b2a_base64
from collections.abc import Callable
from hashlib import sha1
from urllib.parse import parse_qsl, quote

import requests
from oauthlib.common import INVALID_HEX_PATTERN, generate_nonce, generate_timestamp, urlencoded
from oauthlib.oauth1.rfc5849.signature import base_string_uri
from requests_oauthlib import OAuth1

UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
ESCAPES = {c: f"%{c:02X}" for c in range(128) if c not in UNRESERVED}  # an ASCII character -> its escape
ESCAPED: dict[str, str] = {}  # the escapes of strings met before (field lists, names): a few dozen
ESCAPED_MAX = 4096


def escape(s: str) -> str:
    """oauthlib's `utils.escape` (RFC 5849 section 3.6): `quote(s.encode("utf-8"), safe=b"~")`, everything but the
    unreserved characters as %XX of its UTF-8 bytes. Letters and digits alone (a nonce, a timestamp, an id) are
    their own escape; an ASCII string goes through a translation table, any other through `quote` (which encodes
    a str as UTF-8, strictly), and the result is kept for the next time while there are few."""
    if s.isascii() and s.isalnum():
        return s
    e = ESCAPED.get(s)
    if e is None:
        e = s.translate(ESCAPES) if s.isascii() else quote(s, safe="~")
        if len(ESCAPED) < ESCAPED_MAX:
            ESCAPED[s] = e
    return e


def escape_escaped(s: str) -> str:
    """The escape of a string made only of escapes and unreserved characters, joined by "&" and "=" (a
    normalized parameter list): only those three characters change, and the percent sign first."""
    return s.replace("%", "%25").replace("&", "%26").replace("=", "%3D")


# A URL split at its path: what urlparse would call scheme and netloc, and a path that base_string_uri keeps as it
# is (no ";params", space or percent sign to treat)
SIMPLE_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9.-]+(?::[0-9]+)?)(/[A-Za-z0-9_.~/-]*)")
METHODS = {m: escape(m) for m in ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD")}


class OAuth1Signer(requests.auth.AuthBase):
    """Signs a request as `OAuth1(consumer_key, consumer_secret, access_token, access_token_secret, decoding=None)`
    does. `nonce` and `timestamp` replace oauthlib's generators (the tests fix them)."""

    def __init__(
        self,
        consumer_key: str,
        consumer_secret: str,
        access_token: str,
        access_token_secret: str,
        *,
        nonce: Callable[[], str] = generate_nonce,
        timestamp: Callable[[], str] = generate_timestamp,
    ) -> None:
        self.nonce = nonce
        self.timestamp = timestamp
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.access_token = access_token
        self.access_token_secret = access_token_secret
        self._hmac_key = (escape(consumer_secret) + "&" + escape(access_token_secret)).encode("utf-8")
        # the constant oauth_* parameters, escaped as normalize_parameters and prepare_headers escape them
        self._constant = [
            ("oauth_version", escape("1.0")),
            ("oauth_signature_method", escape("HMAC-SHA1")),
            ("oauth_consumer_key", escape(consumer_key)),
            ("oauth_token", escape(access_token)),
        ]
        self._header_tail = "".join(f', {k}="{v}"' for k, v in self._constant)
        self._origins: dict[str, str] = {}  # "https://api.twitter.com" -> its escaped base string URI
        self._fast = bool(access_token)  # without a token oauthlib leaves oauth_token out: OAuth1's business

    def _fallback(self, r: requests.PreparedRequest, nonce: str, timestamp: str) -> requests.PreparedRequest:
        auth = OAuth1(
            self.consumer_key,
            client_secret=self.consumer_secret,
            resource_owner_key=self.access_token,
            resource_owner_secret=self.access_token_secret,
            decoding=None,
            nonce=nonce,
            timestamp=timestamp,
        )
        return auth(r)  # type: ignore[no-any-return]

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        nonce, timestamp = self.nonce(), self.timestamp()
        url, method = r.url, r.method
        content_type = r.headers.get("Content-Type", "")
        if (
            not self._fast
            or not isinstance(url, str)
            or not isinstance(method, str)
            or not isinstance(content_type, str)
            # OAuth1 signs the body when it is form-encoded (or has no type and reads as a form); a JSON body, or
            # none, is left out of the signature
            or "application/x-www-form-urlencoded" in content_type
            or (r.body is not None and not content_type)
            or "Authorization" in r.headers
            or "Host" in r.headers  # oauthlib signs its host instead of the URL's
        ):
            return self._fallback(r, nonce, timestamp)
        base, _, query = url.partition("?")
        simple = SIMPLE_URL.fullmatch(base)
        if simple is None:
            return self._fallback(r, nonce, timestamp)
        pairs: list[tuple[str, str]] = []
        if query:
            if not set(query) <= urlencoded or INVALID_HEX_PATTERN.search(query):
                return self._fallback(r, nonce, timestamp)  # oauthlib refuses these: let it say so
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(k.startswith("oauth_") for k, _ in pairs):
                return self._fallback(r, nonce, timestamp)
        r.headers["Authorization"] = self._sign(method, simple, pairs, nonce, timestamp)
        return r

    def authorization(self, method: str, url: str, query: list[tuple[str, str]]) -> str | None:
        """The Authorization header `OAuth1` writes for a request to `url` (no query, no fragment) with these
        query parameters (decoded: what `parse_qsl` reads back from the query), no body or a JSON one, and no Host
        or Authorization header of its own; None for one this path does not sign (the caller has `OAuth1` sign
        it)."""
        simple = SIMPLE_URL.fullmatch(url)
        if not self._fast or simple is None or any(k.startswith("oauth_") for k, _ in query):
            # oauthlib leaves some oauth_* parameters out of the base string and unescapes others; X's routes
            # carry none
            return None
        return self._sign(method, simple, query, self.nonce(), self.timestamp())

    def _sign(
        self, method: str, simple: re.Match[str], query: list[tuple[str, str]], nonce: str, timestamp: str
    ) -> str:
        origin = self._origins.get(simple[1])
        if origin is None:  # scheme and host lowercased, a default port left out
            origin = self._origins[simple[1]] = escape(base_string_uri(simple[1] + "/")[:-1])
        params_nonce, params_timestamp = escape(nonce), escape(timestamp)
        params = [("oauth_nonce", params_nonce), ("oauth_timestamp", params_timestamp), *self._constant]
        params.extend((escape(k), escape(v)) for k, v in query)
        params.sort()
        # the signature base string (section 3.4.1.1): escaping works character by character, so the escaped
        # URI is the escaped origin and the escaped path (of unreserved characters and slashes: SIMPLE_URL)
        normalized = escape_escaped("&".join(f"{k}={v}" for k, v in params))
        upper = method.upper()
        text = f"{METHODS.get(upper) or escape(upper)}&{origin}{simple[2].replace('/', '%2F')}&{normalized}"
        digest = hmac.digest(self._hmac_key, text.encode("utf-8"), sha1)
        signature = b2a_base64(digest, newline=False).decode("ascii")
        signature = signature.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")  # its escape
        return (
            f'OAuth oauth_nonce="{params_nonce}", oauth_timestamp="{params_timestamp}"'
            f'{self._header_tail}, oauth_signature="{signature}"'
        )
