"""bot.x.transport.SignedClient builds tweepy's requests itself: for the same nonce and timestamp, the URL, headers
(in order, byte for byte) and body are what requests prepares for the same arguments, signed by requests_oauthlib's
`OAuth1` (what the X adapter sent before), over generated routes, query parameters and JSON bodies."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests_oauthlib import OAuth1

from bot.x.signing import ESCAPES, OAuth1Signer, escape
from bot.x.transport import X_HOST, SignedClient

KEYS = ("ck-é", "cs/+&=", "at 1", "as~!*")
NONCE, TIMESTAMP = "1234567890", "1765100000"

text = st.text(st.characters(codec="utf-8"), max_size=20)
word = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~", min_size=1, max_size=10)
segment = st.one_of(word, text.filter(lambda s: s not in ("", ".", "..")), st.sampled_from([".", "..", ".x"]))
value = st.one_of(
    text,
    word,
    st.integers(-(10**20), 10**20),
    st.none(),
    st.booleans(),  # not str or int: requests' own encoding
    st.lists(word, max_size=2),  # the same
)
params = st.one_of(
    st.none(),
    st.dictionaries(st.one_of(word, text, st.sampled_from(["oauth_x", "max_results", "tweet.fields"])), value),
)
body = st.one_of(
    st.none(),
    st.dictionaries(word, st.one_of(text, st.integers(), st.booleans(), st.lists(text, max_size=3)), max_size=4),
)


def signed_client() -> SignedClient:
    c = SignedClient(consumer_key=KEYS[0], consumer_secret=KEYS[1], access_token=KEYS[2], access_token_secret=KEYS[3])
    c.signer = OAuth1Signer(*KEYS, nonce=lambda: NONCE, timestamp=lambda: TIMESTAMP)
    return c


def as_requests_did(
    c: SignedClient, method: str, route: str, query: dict[str, Any] | None, json: Any, user_auth: bool
) -> tuple[str, list[tuple[str, str]], bytes | None]:
    """What `Session.request` prepared for tweepy (the session's headers, tweepy's User-Agent), signed by OAuth1."""
    headers = requests.structures.CaseInsensitiveDict(c.session.headers)
    headers["User-Agent"] = c.user_agent
    if not user_auth:
        headers["Authorization"] = f"Bearer {c.bearer_token}"
    auth = OAuth1(
        KEYS[0],
        client_secret=KEYS[1],
        resource_owner_key=KEYS[2],
        resource_owner_secret=KEYS[3],
        decoding=None,
        nonce=NONCE,
        timestamp=TIMESTAMP,
    )
    r = requests.Request(
        method, X_HOST + route, params=query, json=json, headers=headers, auth=auth if user_auth else None
    )
    p = c.session.prepare_request(r)
    return p.url or "", list(p.headers.items()), p.body


def built(
    c: SignedClient, method: str, route: str, query: dict[str, Any] | None, json: Any, user_auth: bool
) -> tuple[str, list[tuple[str, str]], bytes | None]:
    url, headers, sent = c.build(method.upper(), route, query, json, user_auth)
    return url, list(headers.items()), sent


def same(method: str, route: str, query: dict[str, Any] | None, json: Any, user_auth: bool) -> None:
    c = signed_client()
    json = json if method != "GET" else None
    try:
        theirs = as_requests_did(c, method, route, query, json, user_auth)
    except (requests.exceptions.InvalidURL, UnicodeError, ValueError) as err:
        with pytest.raises(type(err)):
            built(c, method, route, query, json, user_auth)
        return
    assert built(c, method, route, query, json, user_auth) == theirs


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT"]),
    path=st.lists(segment, min_size=1, max_size=5),
    query=params,
    json=body,
    user_auth=st.booleans(),
)
def test_the_same_request_as_requests_and_oauth1(
    method: str, path: list[str], query: dict[str, Any] | None, json: Any, user_auth: bool
) -> None:
    """Any route, parameters of any kind: built directly or by requests, the same."""
    same(method, "/" + "/".join(path), query, json, user_auth)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "POST", "DELETE"]),
    path=st.lists(word, min_size=1, max_size=5),
    query=st.dictionaries(
        st.one_of(word, text), st.one_of(text, st.text(" +&=%/?#~é", max_size=6), st.integers(), st.none())
    ),
    json=body,
)
def test_the_same_request_for_tweepy_s_kind(method: str, path: list[str], query: dict[str, Any], json: Any) -> None:
    """Routes of plain characters, values of str or int: what the direct path builds."""
    same(method, "/2/" + "/".join(path), query, json, True)


@pytest.mark.parametrize(
    ("method", "route", "query", "json"),
    [
        ("POST", "/2/dm_conversations/with/123/messages", None, {"text": "Send $5.00 🍕 ✅"}),
        ("POST", "/2/tweets", None, {"text": "@bob sent @alice $5.00 ✅", "reply": {"in_reply_to_tweet_id": "1"}}),
        ("GET", "/2/users/42/mentions", {"max_results": 100, "tweet.fields": "author_id,created_at"}, None),
        ("GET", "/2/users/by", {"usernames": "bob,älice", "user.fields": "username"}, None),
        ("GET", "/2/users/me", {}, None),
        ("DELETE", "/2/tweets/5", {}, None),
        ("GET", "/2/users/me", {"oauth_token": "x"}, None),  # the signer hands these to OAuth1
        ("GET", "/2/users/me", {"oauth_signature": "x", "q": "1"}, None),
    ],
)
@pytest.mark.parametrize("user_auth", [True, False])
def test_tweepy_s_requests(method: str, route: str, query: dict[str, Any], json: Any, user_auth: bool) -> None:
    c = signed_client()
    assert built(c, method, route, query, json, user_auth) == as_requests_did(c, method, route, query, json, user_auth)


def test_tweepy_s_requests_are_built_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not through requests' PreparedRequest: X's endpoints take the direct path."""
    c = signed_client()

    def refuse(*_args: object) -> None:
        raise AssertionError("prepared by requests")

    monkeypatch.setattr(SignedClient, "_prepared", refuse)
    c.build("POST", "/2/dm_conversations/with/123/messages", {}, {"text": "hi"}, True)
    c.build("GET", "/2/users/42/mentions", {"max_results": 100, "since_id": "7", "x": None}, None, True)


def test_a_cookie_x_set_is_sent_back() -> None:
    c = signed_client()
    c.session.cookies.set("guest_id", "v1", domain="api.twitter.com", path="/")
    _, headers, _ = built(c, "GET", "/2/users/me", {}, None, True)
    assert ("Cookie", "guest_id=v1") in headers
    assert built(c, "GET", "/2/users/me", {}, None, True) == as_requests_did(c, "GET", "/2/users/me", {}, None, True)


@given(st.text(st.characters(codec="utf-8")))
def test_the_escape_is_oauthlib_s(s: str) -> None:
    from oauthlib.oauth1.rfc5849.utils import escape as oauthlib_escape

    assert escape(s) == oauthlib_escape(s)


def test_the_escape_table_leaves_only_the_unreserved_characters() -> None:
    assert "".join(chr(c) for c in range(128) if c not in ESCAPES) == (
        "-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz~"
    )
