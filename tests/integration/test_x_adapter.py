"""The tweepy adapter against the X simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.errors import XAuthError, XForbidden, XRateLimited
from bot.ports import FakeClock
from bot.sims.x import (
    PAY_PER_USE,
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    UNLIMITED,
    XSim,
)
from bot.x.client import XClient


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[XSim]:
    s = XSim(clock, limits=UNLIMITED)
    s.base = s.start()
    for handle in ("bob", "alice", "carol"):
        s.add_user(handle)
    yield s
    s.stop()


def client(sim: XSim, clock: FakeClock, **kw: object) -> XClient:
    creds: dict[str, Any]  # for XClient(**creds), whose parameters are not all strings
    creds = dict(
        consumer_key=SIM_CONSUMER_KEY,
        consumer_secret=SIM_CONSUMER_SECRET,
        access_token=SIM_ACCESS_TOKEN,
        access_token_secret=SIM_ACCESS_TOKEN_SECRET,
    )
    creds.update(kw)
    return XClient(**creds, base_url=sim.base, clock=clock, timeout=5)


def test_me_and_bad_credentials(sim: XSim, clock: FakeClock) -> None:
    """The bot's account comes from GET /2/users/me; wrong keys are a clear XAuthError."""
    me = client(sim, clock).me()
    assert (me.id, me.handle) == (sim.bot_id, "paybot")
    with pytest.raises(XAuthError, match="X_"):
        client(sim, clock, access_token="wrong").me()


@pytest.mark.parametrize("secret", ["consumer_secret", "access_token_secret"])
def test_a_wrong_secret_fails_the_signature_check(sim: XSim, clock: FakeClock, secret: str) -> None:
    """As X does, the simulator checks the OAuth 1.0a HMAC-SHA1 signature, not only the key and token:
    a wrong secret is refused on reads and on writes, with the query and the JSON body signed as tweepy signs them."""
    good = client(sim, clock)
    good.send_dm(sim.user_id("bob"), "signed")  # a POST with a JSON body
    assert [m.id for m in good.mentions(sim.bot_id, None)] == []  # a GET with a query
    bad = client(sim, clock, **{secret: "not-the-secret"})
    with pytest.raises(XAuthError):
        bad.me()
    with pytest.raises(XAuthError):
        bad.send_dm(sim.user_id("bob"), "forged")
    assert [m["text"] for m in sim.bot_messages()] == ["signed"]


def test_mentions_all_pages_oldest_first_since_id(sim: XSim, clock: FakeClock) -> None:
    """250 mentions arrive over three pages, oldest first; since_id returns only newer ones."""
    posts = [sim.tweet("bob", f"@paybot send {i + 1} to @alice") for i in range(250)]
    sim.tweet("bob", "no mention of the bot")
    x = client(sim, clock)
    got = x.mentions(sim.bot_id, None)
    assert [m.id for m in got] == [p["id"] for p in posts]
    assert [e["endpoint"] for e in sim.log].count("mentions") == 3
    newer = x.mentions(sim.bot_id, posts[247]["id"])
    assert [m.id for m in newer] == [posts[248]["id"], posts[249]["id"]]


def test_mention_fields(sim: XSim, clock: FakeClock) -> None:
    """Author, recipients' ids from the entities, edits and references reach the value type."""
    first = sim.tweet("bob", "@paybot send 5 to @alice")
    edited = sim.edit(first["id"], "@paybot send 6 to @alice")
    rt = sim.retweet("carol", first["id"])
    reply = sim.tweet("bob", "@carol @paybot send 1 to @carol", reply_to=rt["id"])
    by_id = {m.id: m for m in client(sim, clock).mentions(sim.bot_id, None)}
    m = by_id[edited["id"]]
    assert (m.author_handle, m.root_id, m.mentioned["alice"].id) == ("bob", first["id"], sim.user_id("alice"))
    assert by_id[rt["id"]].is_repost and not by_id[first["id"]].is_repost
    assert by_id[reply["id"]].display_start == len("@carol @paybot ")
    assert by_id[first["id"]].created_at == clock.now()


def test_dm_events_stop_at_the_last_seen(sim: XSim, clock: FakeClock) -> None:
    """DM events are paged newest-first until an already-seen id, and returned oldest first."""
    events = [sim.dm("bob", f"msg {i}") for i in range(45)]
    x = client(sim, clock)
    assert [d.text for d in x.dm_events(events[39]["id"]).events] == [f"msg {i}" for i in range(40, 45)]
    assert [e["endpoint"] for e in sim.log].count("dm_events") == 1
    everything = x.dm_events(None).events
    assert len(everything) == 45 and everything[0].sender_handle == "bob"


def test_a_dm_backlog_bigger_than_one_call_is_read_in_several(sim: XSim, clock: FakeClock) -> None:
    """Past 10 pages the adapter hands back a resume token; following it reaches the stop mark."""
    first = sim.dm("bob", "old")
    events = [sim.dm("bob", f"msg {i}") for i in range(250)]
    x = XClient(
        consumer_key=SIM_CONSUMER_KEY,
        consumer_secret=SIM_CONSUMER_SECRET,
        access_token=SIM_ACCESS_TOKEN,
        access_token_secret=SIM_ACCESS_TOKEN_SECRET,
        base_url=sim.base,
        clock=clock,
        dm_page_size=20,
    )
    page = x.dm_events(first["id"])
    assert len(page.events) == 200 and page.resume
    rest = x.dm_events(first["id"], page.resume)
    assert rest.resume is None
    assert sorted(int(d.id) for d in page.events + rest.events) == [int(e["id"]) for e in events]


def test_send_dm_and_reply(sim: XSim, clock: FakeClock) -> None:
    x = client(sim, clock)
    post = sim.tweet("bob", "@paybot send 5 to @alice")
    x.send_dm(sim.user_id("bob"), "hello")
    x.reply(post["id"], "@bob sent @alice $5.00")
    said = [(m["type"], m["text"]) for m in sim.bot_messages()]
    assert said == [("dm", "hello"), ("reply", "@bob sent @alice $5.00")]


def test_forbidden_reasons(sim: XSim, clock: FakeClock) -> None:
    """Duplicate content, closed DMs, and replies to posts that never mentioned the bot are told apart."""
    x = client(sim, clock)
    post = sim.tweet("bob", "@paybot send 5 to @alice")
    x.reply(post["id"], "same text")
    with pytest.raises(XForbidden) as dup:
        x.reply(post["id"], "same text")
    assert dup.value.reason == "duplicate"
    shy = sim.add_user("shy", accepts_dms=False)
    with pytest.raises(XForbidden) as closed:
        x.send_dm(shy, "hi")
    assert closed.value.reason == "dm_closed"
    sim.dm("shy", "help")  # once they write first, the bot may answer
    x.send_dm(shy, "hi")
    other = sim.tweet("bob", "nothing to do with the bot")
    with pytest.raises(XForbidden) as uninvited:
        x.reply(other["id"], "hello")
    assert uninvited.value.reason == "other"


def test_users_are_looked_up_in_batches_of_100(sim: XSim, clock: FakeClock) -> None:
    for i in range(150):
        sim.add_user(f"user{i}")
    found = client(sim, clock).users_by_handle([f"user{i}" for i in range(150)] + ["nobody_here"])
    assert len(found) == 150 and "nobody_here" not in found
    assert [e["endpoint"] for e in sim.log].count("users_by") == 2


def test_server_errors_are_retried(sim: XSim, clock: FakeClock) -> None:
    """A 503 on a read is retried with backoff and the read succeeds."""
    sim.tweet("bob", "@paybot help")
    sim.inject("mentions", 503, times=2)
    assert len(client(sim, clock).mentions(sim.bot_id, None)) == 1
    assert [e["status"] for e in sim.log if e["endpoint"] == "mentions"] == [503, 503, 200]


def test_rate_limits_are_paced_from_the_headers(clock: FakeClock) -> None:
    """After the last allowed request the adapter refuses to call until the window resets."""
    sim = XSim(clock, limits={**PAY_PER_USE, "dm_events": 3})
    sim.base = sim.start()
    try:
        x = client(sim, clock)
        for _ in range(3):
            x.dm_events(None)
        with pytest.raises(XRateLimited) as info:
            x.dm_events(None)
        assert not info.value.capped and info.value.reset_at is not None
        assert sim.violations == 0 and len(sim.log) == 3
        clock.advance(timedelta(minutes=15))
        x.dm_events(None)
        assert len(sim.log) == 4
    finally:
        sim.stop()


def test_a_429_and_a_usage_cap_are_told_apart(sim: XSim, clock: FakeClock) -> None:
    x = client(sim, clock)
    sim.inject("dm_post", 429)
    with pytest.raises(XRateLimited) as limited:
        x.send_dm(sim.user_id("bob"), "hi")
    assert not limited.value.capped
    sim.inject("dm_post", 4290)
    with pytest.raises(XRateLimited) as capped:
        x.send_dm(sim.user_id("bob"), "hi")
    assert capped.value.capped


def test_requests_have_a_timeout_and_ignore_proxies(
    sim: XSim, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No proxy variable can capture a request, and every request carries a timeout."""
    monkeypatch.setenv("HTTPS_PROXY", "http://10.255.255.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://10.255.255.1:9")
    x = client(sim, clock)
    seen: list[tuple[str, int, object]] = []
    real_connect = http.client.HTTPConnection.connect

    def spy(self: http.client.HTTPConnection) -> None:
        seen.append((self.host, self.port, self.timeout))
        real_connect(self)

    monkeypatch.setattr(http.client.HTTPConnection, "connect", spy)
    assert x.me().handle == "paybot"
    assert seen == [("127.0.0.1", int(sim.base.rsplit(":", 1)[1]), 5)]


def test_a_send_in_doubt_is_found_behind_a_busy_conversation(sim: XSim, clock: FakeClock) -> None:
    """The bot's DM is found even when more than one page of the conversation came after it;
    the lookup stops at `since` and costs one request in a quiet conversation."""
    x = client(sim, clock)
    since = clock.now()
    x.send_dm(sim.user_id("bob"), "Cancelled. No money moved. [K7Q2]")
    for i in range(120):
        sim.dm("bob", f"chatter {i}")
    before = [e["endpoint"] for e in sim.log].count("dm_conversation_events")
    assert x.dm_sent(sim.user_id("bob"), "Cancelled. No money moved. [K7Q2]", since)
    assert [e["endpoint"] for e in sim.log].count("dm_conversation_events") - before == 3
    assert not x.dm_sent(sim.user_id("bob"), "Never sent", since)
    clock.advance(timedelta(minutes=1))
    sim.dm("bob", "one more")
    before = [e["endpoint"] for e in sim.log].count("dm_conversation_events")
    assert not x.dm_sent(sim.user_id("bob"), "Never sent", clock.now() - timedelta(seconds=1))
    assert [e["endpoint"] for e in sim.log].count("dm_conversation_events") - before == 1
