"""The Mastodon adapter's own rules, beyond the Timeline contract: the rate limit read from the headers, the
errors it maps, Mastodon's HTML made plain, and its ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import XAuthError, XRateLimited, XTransient
from bot.mastodon.client import MastodonTimeline, countable, plain_text, port_id, quiet_handles, status_of
from bot.ports import FakeClock
from bot.sims.mastodon import SIM_TOKEN, MastodonSim


def test_the_rate_limit_is_read_from_the_headers_and_no_call_is_made_past_it() -> None:
    """One budget for the account: with none left, the next call raises XRateLimited (until the window's reset)
    without reaching the instance; a 429 is XRateLimited too; after the reset calls go through again."""
    clock = FakeClock(datetime(2026, 11, 28, 12, 1, tzinfo=UTC))
    sim = MastodonSim(clock, rate_limit=3)
    sim.start()
    try:
        x = MastodonTimeline(base_url=sim.base, access_token=SIM_TOKEN, clock=clock)
        for _ in range(3):
            x.me()
        assert x.limit == (3, 0, datetime(2026, 11, 28, 12, 5, tzinfo=UTC)) and x.limits == {"account": x.limit}
        with pytest.raises(XRateLimited) as err:
            x.me()
        assert err.value.reset_at == datetime(2026, 11, 28, 12, 5, tzinfo=UTC) and len(sim.log) == 3
        clock.set(datetime(2026, 11, 28, 12, 5, tzinfo=UTC))
        sim.inject("verify_credentials", 429)
        with pytest.raises(XRateLimited):
            x.me()
        assert x.me().handle == "paybot"
    finally:
        sim.stop()


def test_a_refused_token_and_a_failing_instance() -> None:
    sim = MastodonSim(FakeClock(), rate_limit=None)
    sim.start()
    try:
        with pytest.raises(XAuthError):
            MastodonTimeline(base_url=sim.base, access_token="wrong").me()
        sim.inject("verify_credentials", 503, times=3)
        with pytest.raises(XTransient):
            MastodonTimeline(base_url=sim.base, access_token=SIM_TOKEN).me()
    finally:
        sim.stop()


def test_html_is_read_as_written() -> None:
    """Paragraphs and line breaks, entities, and mention links as @acct (local bare, remote with the
    instance), even a link the status's mentions no longer list (read from its address)."""
    content = (
        '<p><span class="h-card"><a href="https://paybot.example/@paybot" class="u-url mention">'
        '@<span>paybot</span></a></span> send 5 to <span class="h-card"><a href="https://other.example/@carol" '
        'class="u-url mention">@<span>carol</span></a></span> &amp; '
        '<a href="https://paybot.example/@alice" class="u-url mention">@<span>alice</span></a></p>'
        "<p>for pizza<br />&lt;3</p>"
    )
    mentions = [
        {"url": "https://paybot.example/@paybot", "acct": "paybot"},
        {"url": "https://other.example/@carol", "acct": "carol@other.example"},
    ]
    assert plain_text(content, mentions, "paybot.example") == (
        "@paybot send 5 to @carol@other.example & @alice\n\nfor pizza\n<3"
    )


def test_ids_lengths_and_quiet_handles() -> None:
    """A port id keeps its status and grows with the edit's time; Mastodon's count of a status's length;
    handles in a DM name without mentioning."""
    sid = "117693952819200000"
    t = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    first, edit = port_id(sid), port_id(sid, t + timedelta(seconds=1), 1)
    later_status = str(int(sid) + 5)
    assert status_of(first) == status_of(edit) == sid and int(first) < int(port_id(later_status)) < int(edit)
    assert countable("@carol@other.example https://example.com/" + "x" * 100) == len("@carol ") + 23
    assert quiet_handles("Send $5 to @alice and @bob@other.example? mail@home") == (
        "Send $5 to ＠alice and ＠bob＠other.example? mail＠home"
    )
    # What a real server would read as mentions, a narrower rule did not: no @ is left outside links
    tricky = 'for "lunch, ask @@carol or ²@dave, ½@eve, ①@fay, Ⅻ@gus" https://paybot.example/l/1.a@b.c'
    quiet = quiet_handles(tricky)
    assert "@" not in quiet.split(" https://")[0] and quiet.endswith(" https://paybot.example/l/1.a@b.c")


def test_a_status_federated_late_is_read_though_its_id_is_below_the_cursor() -> None:
    """A mention and a direct status from another instance, published before what was already read but
    reaching the instance only now: both are read (their ids say their publication time)."""
    clock = FakeClock()
    sim = MastodonSim(clock, rate_limit=None)
    for handle in ("bob", "carol@other.example"):
        sim.add_user(handle)
    sim.start()
    try:
        x = MastodonTimeline(base_url=sim.base, access_token=SIM_TOKEN, clock=clock)
        published = clock.now()
        clock.advance(timedelta(seconds=30))
        sim.post("bob", "@paybot help")
        sim.direct("bob", "hi")
        [seen] = x.mentions(sim.bot_id, None)
        [dm] = x.dm_events(None, not_before=published).events
        clock.advance(timedelta(seconds=30))
        late = sim.post("carol@other.example", "@paybot send 5 to @bob", published=published)
        late_dm = sim.direct("carol@other.example", "yes", published=published)
        assert int(port_id(late["id"])) < int(seen.id) and int(port_id(late_dm["id"])) < int(dm.id)
        assert [m.id for m in x.mentions(sim.bot_id, seen.id)] == [port_id(late["id"])]
        assert [d.id for d in x.dm_events(dm.id).events] == [port_id(late_dm["id"])]
    finally:
        sim.stop()
