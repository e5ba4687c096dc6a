"""bot.x.signing.OAuth1Signer against requests_oauthlib's OAuth1 (what tweepy signs with): for the same nonce and
timestamp, on requests prepared by requests as tweepy prepares them (a query from params, a JSON body, unicode in
both, odd paths and hosts), the same headers byte for byte, in the same order, and the same URL and body."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from requests_oauthlib import OAuth1

from bot.x.signing import OAuth1Signer

text = st.text(st.characters(codec="utf-8"), max_size=30)
secret = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
word = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~", min_size=1, max_size=12)
segment = st.one_of(word, text.filter(lambda s: s not in ("", ".", "..")))
host = st.sampled_from(
    [
        "https://api.twitter.com",
        "https://api.x.com",
        "https://API.Twitter.com:443",
        "http://127.0.0.1:8099",
        "http://localhost:80",
        "https://api.twitter.com:8443",
    ]
)
value = st.one_of(text, word, st.integers(0, 10**20).map(str), st.lists(word, min_size=1, max_size=5).map(",".join))
params = st.dictionaries(
    st.one_of(
        word,
        text.filter(bool),
        st.sampled_from(["oauth_x", "max_results", "oauth_signature", "oauth_token", "oauth_nonce"]),
    ),
    value,
)
json_body = st.one_of(
    st.none(),
    st.dictionaries(word, st.one_of(text, st.integers(), st.booleans(), st.lists(text, max_size=3)), max_size=4),
)


def prepared(method: str, url: str, query: dict[str, str] | None, body: Any) -> requests.PreparedRequest:
    """As tweepy's requests reach the auth: requests prepares the URL with its params and the JSON body."""
    headers = {"User-Agent": "Python/3 Requests/2 Tweepy/4"}
    return requests.Session().prepare_request(requests.Request(method, url, params=query, json=body, headers=headers))


def both(
    keys: tuple[str, str, str, str], r: requests.PreparedRequest, nonce: str, timestamp: str
) -> tuple[requests.PreparedRequest, requests.PreparedRequest]:
    theirs = OAuth1(
        keys[0],
        client_secret=keys[1],
        resource_owner_key=keys[2],
        resource_owner_secret=keys[3],
        decoding=None,
        nonce=nonce,
        timestamp=timestamp,
    )(copy.deepcopy(r))
    ours = OAuth1Signer(*keys, nonce=lambda: nonce, timestamp=lambda: timestamp)(copy.deepcopy(r))
    return theirs, ours


def assert_same(theirs: requests.PreparedRequest, ours: requests.PreparedRequest) -> None:
    assert list(ours.headers.items()) == list(theirs.headers.items())
    assert (ours.url, ours.method, ours.body) == (theirs.url, theirs.method, theirs.body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    keys=st.tuples(secret, secret, secret, secret),
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "get"]),
    base=host,
    path=st.lists(segment, max_size=5),
    query=params,
    body=json_body,
    nonce=st.one_of(st.integers(0, 2**64).map(str), text.filter(bool)),
    timestamp=st.one_of(st.integers(0, 2**40).map(str), word),
)
def test_the_same_header_as_requests_oauthlib(
    keys: tuple[str, str, str, str],
    method: str,
    base: str,
    path: list[str],
    query: dict[str, str],
    body: Any,
    nonce: str,
    timestamp: str,
) -> None:
    url = base + "/" + "/".join(path)
    try:
        r = prepared(method, url, query or None, body if method.upper() != "GET" else None)
    except (requests.exceptions.InvalidURL, UnicodeError, ValueError):
        return  # requests refuses it before any signing
    assert outcome(lambda: both(keys, r, nonce, timestamp)[0], keys, r, nonce, timestamp)


def outcome(
    theirs: Any, keys: tuple[str, str, str, str], r: requests.PreparedRequest, nonce: str, timestamp: str
) -> bool:
    """Both sign alike, or both refuse alike (oauthlib refuses some queries: the signer hands those to it)."""
    try:
        signed = theirs()
    except ValueError as err:
        try:
            OAuth1Signer(*keys, nonce=lambda: nonce, timestamp=lambda: timestamp)(copy.deepcopy(r))
        except ValueError as again:
            return str(again) == str(err)
        return False
    assert_same(signed, OAuth1Signer(*keys, nonce=lambda: nonce, timestamp=lambda: timestamp)(copy.deepcopy(r)))
    return True


@pytest.mark.parametrize(
    ("method", "url", "query", "body"),
    [
        ("POST", "https://api.twitter.com/2/dm_conversations/with/123/messages", None, {"text": "Send $5.00 🍕 ✅"}),
        ("POST", "https://api.twitter.com/2/tweets", None, {"text": "@bob sent @alice $5.00 ✅", "reply": {"x": "1"}}),
        (
            "GET",
            "https://api.twitter.com/2/users/42/mentions",
            {"max_results": 100, "tweet.fields": "author_id,created_at", "since_id": "7", "pagination_token": "a b"},
            None,
        ),
        ("GET", "https://api.twitter.com/2/users/by", {"usernames": "bob,älice", "user.fields": "username"}, None),
        ("GET", "https://api.twitter.com/2/users/me", None, None),
    ],
)
def test_tweepy_s_own_requests(
    method: str, url: str, query: dict[str, Any] | None, body: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The requests the X adapter makes are signed by the signer's own path, not handed to OAuth1."""

    def no_fallback(*_args: object) -> None:
        raise AssertionError("handed to OAuth1")

    monkeypatch.setattr(OAuth1Signer, "_fallback", no_fallback)
    keys = ("ck-é", "cs/+&=", "at 1", "as~!*")
    assert_same(*both(keys, prepared(method, url, query, body), "1234567890", "1765100000"))


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r.prepare_body({"a": "1", "b": "é"}, None),  # form-encoded: OAuth1 signs the body
        lambda r: r.headers.update({"Host": "api.x.com"}),
        lambda r: setattr(r, "url", r.url + "#frag"),
        lambda r: setattr(r, "url", "https://api.twitter.com/2/a%20b;p=1/c"),
        lambda r: r.headers.update({"Content-Type": "application/x-www-form-urlencoded"}),
        lambda r: setattr(r, "body", b"raw"),
        # oauthlib leaves a query's oauth_signature out of the base string (RFC 5849, 3.4.1.3.1)
        lambda r: setattr(r, "url", "https://api.twitter.com/2/tweets?oauth_signature=x&q=1"),
        lambda r: setattr(r, "url", "https://api.twitter.com/2/tweets?oauth_token=a%2Bb"),
    ],
)
def test_what_the_fast_path_leaves_to_requests_oauthlib(change: Any) -> None:
    """A form body, a Host header, a fragment, a path requests leaves percent-encoded or with parameters, a body
    without a type, a query naming an oauth_* parameter: OAuth1 signs them, the same."""
    r = prepared("POST", "https://api.twitter.com/2/tweets?x=1", None, None)
    change(r)
    assert_same(*both(("ck", "cs", "at", "as"), r, "99", "100"))


def test_a_fresh_nonce_and_timestamp_each_request() -> None:
    signer = OAuth1Signer("ck", "cs", "at", "as")
    first = str(signer(prepared("GET", "https://api.twitter.com/2/users/me", None, None)).headers["Authorization"])
    second = str(signer(prepared("GET", "https://api.twitter.com/2/users/me", None, None)).headers["Authorization"])
    assert first != second and first.startswith('OAuth oauth_nonce="')
