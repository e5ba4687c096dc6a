"""The X port's contract, the same assertions for every implementation of Timeline.

Each test runs on the in-memory fake (tests/support/fakes.py, FakeTimeline), on XClient over real tweepy
to the X simulator on 127.0.0.1 (bot/sims/x/, itself checked against X's OpenAPI description in
tests/contract/test_xsim_openapi.py), so the fake cannot drift from what the simulator does, and on
MastodonTimeline over Mastodon.py to the Mastodon simulator (bot/sims/mastodon/, checked in
tests/contract/test_mastosim_entities.py). Where Mastodon's rules differ from X's, the test says so and is skipped
there (`only_on_x`), and the Mastodon rule has its own test at the end. A driver per
implementation arranges the world (people post, edit, repost, quote, delete, DM, rename) and reads
what the bot sent; the port is asserted through Timeline only.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest

from bot.errors import XError, XForbidden
from bot.mastodon.client import MastodonTimeline, port_id, status_of
from bot.ports import FakeClock, SentDm, Timeline, XUser
from bot.sims.mastodon import SIM_TOKEN, MastodonSim
from bot.sims.x import (
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
    UNLIMITED,
    XSim,
)
from bot.x.client import XClient
from tests.support.fakes import FakeTimeline

NAMES = {"bob": "Bob Stone", "alice": "Alice Martin", "carol": "Carol"}
UNKNOWN_USER = "999999"  # an id X never gave anyone


class Driver(Protocol):
    """Arranges the world around one implementation and reads what the bot sent."""

    name: str
    clock: FakeClock
    bot_id: str

    def timeline(self, *, dm_page_size: int = 20) -> Timeline:
        """The implementation under test; `dm_page_size` is the DM listing's page (PAYBOT_DM_PAGE_SIZE)."""

    def id_of(self, handle: str) -> str:
        """A person's X id."""

    def add_user(self, handle: str, *, accepts_dms: bool = True) -> str:
        """A new account (accepts_dms: whether anyone may DM them); returns its id."""

    def post(self, by: str, text: str, *, reply_to: str | None = None) -> str:
        """@by posts; returns the post's id."""

    def edit(self, post_id: str, text: str) -> str:
        """The post's author edits it; returns the new version's id."""

    def repost(self, by: str, post_id: str) -> str:
        """@by reposts (retweets) the post; returns the repost's id."""

    def quote(self, by: str, post_id: str, text: str) -> str:
        """@by quotes the post with text; returns the quote's id."""

    def delete(self, post_id: str) -> None:
        """The author deletes the post."""

    def dm(self, by: str, text: str, to: str | None = None) -> str:
        """@by sends a DM to @to (default: the bot); returns the event's id."""

    def rename(self, handle: str, new: str) -> None:
        """@handle becomes @new."""

    def sent(self) -> list[tuple[str, str, str, str]]:
        """Everything the bot sent, in X's order: (kind "dm" or "reply", the user id DMed or the post
        replied to, text, X's id)."""


class FakeDriver:
    """tests/support/fakes.py: X in memory."""

    name = "fake"

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.x = FakeTimeline(self.clock)
        self.bot_id = self.x.bot_id

    def timeline(self, *, dm_page_size: int = 20) -> Timeline:
        self.x.dm_page_size = dm_page_size
        return self.x

    def id_of(self, handle: str) -> str:
        return self.x.user_id(handle)

    def add_user(self, handle: str, *, accepts_dms: bool = True) -> str:
        return self.x.add_user(handle, NAMES.get(handle), accepts_dms=accepts_dms)

    def post(self, by: str, text: str, *, reply_to: str | None = None) -> str:
        return self.x.tweet(by, text, reply_to=reply_to)

    def edit(self, post_id: str, text: str) -> str:
        return self.x.edit(post_id, text)

    def repost(self, by: str, post_id: str) -> str:
        return self.x.retweet(by, post_id)

    def quote(self, by: str, post_id: str, text: str) -> str:
        return self.x.quote(by, post_id, text)

    def delete(self, post_id: str) -> None:
        self.x.delete(post_id)

    def dm(self, by: str, text: str, to: str | None = None) -> str:
        return self.x.dm(by, text, to)

    def rename(self, handle: str, new: str) -> None:
        self.x.rename(handle, new)

    def sent(self) -> list[tuple[str, str, str, str]]:
        return _said(self.x.bot_messages())


class SimDriver:
    """bot/x/client.py over tweepy to the X simulator on 127.0.0.1; the people act through its control side."""

    name = "xsim"

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.sim = XSim(self.clock, limits=UNLIMITED)
        self.base = self.sim.start()
        self.bot_id = self.sim.bot_id

    def timeline(self, *, dm_page_size: int = 20) -> Timeline:
        return XClient(
            consumer_key=SIM_CONSUMER_KEY,
            consumer_secret=SIM_CONSUMER_SECRET,
            access_token=SIM_ACCESS_TOKEN,
            access_token_secret=SIM_ACCESS_TOKEN_SECRET,
            base_url=self.base,
            clock=self.clock,
            timeout=5,
            dm_page_size=dm_page_size,
        )

    def id_of(self, handle: str) -> str:
        return self.sim.user_id(handle)

    def add_user(self, handle: str, *, accepts_dms: bool = True) -> str:
        return self.sim.add_user(handle, NAMES.get(handle), accepts_dms=accepts_dms)

    def post(self, by: str, text: str, *, reply_to: str | None = None) -> str:
        return str(self.sim.tweet(by, text, reply_to=reply_to)["id"])

    def edit(self, post_id: str, text: str) -> str:
        return str(self.sim.edit(post_id, text)["id"])

    def repost(self, by: str, post_id: str) -> str:
        return str(self.sim.retweet(by, post_id)["id"])

    def quote(self, by: str, post_id: str, text: str) -> str:
        return str(self.sim.quote(by, post_id, text)["id"])

    def delete(self, post_id: str) -> None:
        self.sim.delete(post_id)

    def dm(self, by: str, text: str, to: str | None = None) -> str:
        return str(self.sim.dm(by, text, to)["id"])

    def rename(self, handle: str, new: str) -> None:
        self.sim.rename(handle, new)

    def sent(self) -> list[tuple[str, str, str, str]]:
        return _said(self.sim.bot_messages())


class MastodonDriver:
    """bot/mastodon/client.py over Mastodon.py to the Mastodon simulator on 127.0.0.1. Posts are statuses, DMs
    direct statuses, reposts boosts; ids are the adapter's port ids (bot/mastodon/client.py's port_id)."""

    name = "mastodon"

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.sim = MastodonSim(self.clock, rate_limit=None)
        self.base = self.sim.start()
        self.bot_id = self.sim.bot_id

    def timeline(self, *, dm_page_size: int = 20) -> Timeline:
        return MastodonTimeline(
            base_url=self.base, access_token=SIM_TOKEN, clock=self.clock, timeout=5, dm_page_size=dm_page_size
        )

    def id_of(self, handle: str) -> str:
        return self.sim.user_id(handle)

    def add_user(self, handle: str, *, accepts_dms: bool = True) -> str:
        return self.sim.add_user(handle, NAMES.get(handle), accepts_dms=accepts_dms)

    def post(self, by: str, text: str, *, reply_to: str | None = None) -> str:
        return port_id(self.sim.post(by, text, reply_to=status_of(reply_to) if reply_to else None)["id"])

    def edit(self, post_id: str, text: str) -> str:
        status = self.sim.edit(status_of(post_id), text)
        return port_id(status["id"], status["versions"][-1][1], len(status["versions"]) - 1)

    def repost(self, by: str, post_id: str) -> str:
        return port_id(self.sim.boost(by, status_of(post_id))["id"])

    def quote(self, by: str, post_id: str, text: str) -> str:
        raise NotImplementedError("the Mastodon simulator does not model quotes")

    def delete(self, post_id: str) -> None:
        self.sim.delete(status_of(post_id))

    def dm(self, by: str, text: str, to: str | None = None) -> str:
        return port_id(self.sim.direct(by, text, to)["id"])

    def rename(self, handle: str, new: str) -> None:
        self.sim.rename(handle, new)

    def sent(self) -> list[tuple[str, str, str, str]]:
        """As the bot said it: a DM without the @handle that addresses the direct status."""
        out = []
        for kind, to, text, sid in _said(self.sim.bot_messages()):
            if kind == "dm":
                text = text.split(" ", 1)[1]
            out.append((kind, to if kind == "dm" else port_id(to), text, port_id(sid)))
        return out


def only_on_x(world: Driver, why: str) -> None:
    """Skip the test on Mastodon, whose rule differs (`why`)."""
    if world.name == "mastodon":
        pytest.skip(f"Mastodon: {why}")


def _said(messages: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """XSim.bot_messages' shape (FakeTimeline keeps it) as the driver's tuples."""
    return [(m["type"], m["to_id"] if m["type"] == "dm" else m["in_reply_to"], m["text"], m["id"]) for m in messages]


@pytest.fixture(params=["fake", "xsim", "mastodon"])
def world(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """One implementation of the port, with bob, alice and carol on X and nothing said yet."""
    drivers: dict[str, type[FakeDriver | SimDriver | MastodonDriver]]
    drivers = {"fake": FakeDriver, "xsim": SimDriver, "mastodon": MastodonDriver}
    driver: FakeDriver | SimDriver | MastodonDriver = drivers[request.param]()
    for handle in NAMES:
        driver.add_user(handle)
    yield driver
    if isinstance(driver, SimDriver | MastodonDriver):
        driver.sim.stop()


def dms(events: Any) -> list[tuple[str, str]]:
    return [(d.sender_id, d.text) for d in events]


# ---------------------------------------------------------------- me


def test_me_is_the_bots_account(world: Driver) -> None:
    x = world.timeline()
    me = x.me()
    assert (me.id, me.handle) == (world.bot_id, "paybot") and me.name
    assert x.users([me.id]) == {me.id: me} and x.users_by_handle(["PayBot"]) == {"paybot": me}


# ---------------------------------------------------------------- mentions


def test_mentions_come_oldest_first_from_every_page(world: Driver) -> None:
    """250 mentions (three of XClient's pages), each with its author and time; posts that do not mention the
    bot are not mentions."""
    start = world.clock.now()
    posted = []
    for i in range(250):
        posted.append(world.post("bob" if i % 2 else "alice", f"@paybot send {i + 1} to @carol"))
        world.post("carol", f"@alice thanks {i}")  # mentions someone else
        world.clock.advance(timedelta(seconds=1))
    world.post("bob", "paybot, without the at sign")
    got = world.timeline().mentions(world.bot_id, None)
    assert [m.id for m in got] == posted
    assert [m.created_at for m in got] == [start + timedelta(seconds=i) for i in range(250)]
    assert [(m.author_id, m.author_handle, m.text) for m in got[:2]] == [
        (world.id_of("alice"), "alice", "@paybot send 1 to @carol"),
        (world.id_of("bob"), "bob", "@paybot send 2 to @carol"),
    ]
    assert got[1].author_name == "Bob Stone" and got[0].display_start == 0 and got[0].edit_ids == (posted[0],)


def test_since_id_excludes_it_and_everything_older(world: Driver) -> None:
    a, b, c = (world.post("bob", f"@paybot send {n} to @alice") for n in (1, 2, 3))
    x = world.timeline()
    assert [m.id for m in x.mentions(world.bot_id, None)] == [a, b, c]
    assert [m.id for m in x.mentions(world.bot_id, a)] == [b, c]
    assert [m.id for m in x.mentions(world.bot_id, c)] == []
    assert int(a) < int(b) < int(c)  # ids grow with time


def test_x_reaches_back_800_mentions(world: Driver) -> None:
    posted = [world.post("bob", f"@paybot tip @alice {n}") for n in range(805)]
    assert [m.id for m in world.timeline().mentions(world.bot_id, None)] == posted[5:]


def test_a_post_that_names_the_bot_twice_is_one_mention(world: Driver) -> None:
    twice = world.post("bob", "@paybot send 5 to @alice, @paybot")
    assert [m.id for m in world.timeline().mentions(world.bot_id, None)] == [twice]


def test_deleted_posts_and_the_bots_own_posts_are_not_mentions(world: Driver) -> None:
    x = world.timeline()
    kept = world.post("bob", "@paybot send 5 to @alice")
    gone = world.post("bob", "@paybot send 500 to @alice")
    x.reply(kept, "@bob thanks, @paybot is on it")
    world.delete(gone)
    assert [m.id for m in x.mentions(world.bot_id, None)] == [kept]


def test_mentions_of_an_account_x_does_not_know_are_an_error(world: Driver) -> None:
    with pytest.raises(XError):
        world.timeline().mentions(UNKNOWN_USER, None)


def test_an_edit_is_a_new_post_carrying_its_history_root_first(world: Driver) -> None:
    """Every version stays a mention of its own; each carries the ids of the versions before it."""
    first = world.post("bob", "@paybot send 5 to @alice")
    world.clock.advance(timedelta(minutes=1))
    second = world.edit(first, "@paybot send 6 to @alice")
    third = world.edit(second, "@paybot send 7 to @alice")
    got = {m.id: m for m in world.timeline().mentions(world.bot_id, None)}
    assert list(got) == [first, second, third] and int(first) < int(second) < int(third)
    assert [got[i].edit_ids for i in got] == [(first,), (first, second), (first, second, third)]
    assert {got[i].root_id for i in got} == {first}
    assert got[third].text == "@paybot send 7 to @alice" and got[third].author_id == world.id_of("bob")
    assert got[second].created_at == got[first].created_at + timedelta(minutes=1)


def test_an_edited_reply_stays_a_reply_and_hides_its_leading_handles(world: Driver) -> None:
    top = world.post("carol", "lunch was great")
    reply = world.post("bob", "@carol @paybot send 5 to @carol", reply_to=top)
    edited = world.edit(reply, "@carol @paybot send 6 to @carol")
    got = {m.id: m for m in world.timeline().mentions(world.bot_id, None)}
    assert list(got) == [reply, edited]
    for m in got.values():
        assert m.referenced == (("replied_to", top),) and not m.is_repost and not m.is_quote
        assert m.display_start == len("@carol @paybot ")
    assert got[edited].edit_ids == (reply, edited)


def test_reposts_and_quotes_carry_what_they_reference(world: Driver) -> None:
    only_on_x(
        world, "a boost notifies the booster's author only, not the people the status names; quotes are not modelled"
    )
    orig = world.post("bob", "@paybot send 5 to @alice")
    rt = world.repost("carol", orig)
    quote = world.quote("alice", orig, "@paybot me too")
    got = {m.id: m for m in world.timeline().mentions(world.bot_id, None)}
    assert list(got) == [orig, rt, quote]
    assert got[orig].referenced == () and not got[orig].is_repost and not got[orig].is_quote
    assert got[rt].referenced == (("retweeted", orig),) and got[rt].is_repost and not got[rt].is_quote
    assert got[rt].text == "RT @bob: @paybot send 5 to @alice" and got[rt].author_handle == "carol"
    assert got[rt].edit_ids == (rt,) and set(got[rt].mentioned) == {"bob", "paybot", "alice"}
    assert got[quote].referenced == (("quoted", orig),) and got[quote].is_quote and not got[quote].is_repost


def test_mentioned_people_come_from_the_posts_entities(world: Driver) -> None:
    """Handles are matched case-insensitively and keyed in lower case, with the account's own spelling; a
    handle nobody holds, one glued to a word, or one longer than 15 characters is no entity."""
    camel = world.add_user("CamelCase")
    dave = world.add_user("dave")
    world.add_user("fifteen_chars_x")
    world.post(
        "bob", "@paybot send 5 to @ALICE, @camelcase and @ghost_account (@carol) not mail@dave or @fifteen_chars_xy"
    )
    [m] = world.timeline().mentions(world.bot_id, None)
    assert set(m.mentioned) == {"paybot", "alice", "camelcase", "carol"}
    assert m.mentioned["alice"] == XUser(world.id_of("alice"), "alice", "Alice Martin")
    assert m.mentioned["camelcase"] == XUser(camel, "CamelCase", "Camelcase")
    assert m.mentioned["carol"] == XUser(world.id_of("carol"), "carol", "Carol")
    assert m.mentioned["paybot"].id == world.bot_id and dave not in {u.id for u in m.mentioned.values()}


def test_entities_are_resolved_when_posted_and_authors_named_as_they_are_now(world: Driver) -> None:
    """A rename does not rewrite a post's entities (the text still says @alice); a handle taken after the
    post is not resolved; the author's handle is the current one."""
    only_on_x(
        world, "a status's mentions name accounts as they are now (usernames do not change; a move is a new account)"
    )
    post = world.post("bob", "@paybot send 5 to @alice and @newbie")
    world.add_user("newbie")
    world.rename("alice", "alicia")
    world.rename("bob", "robert")
    [m] = world.timeline().mentions(world.bot_id, None)
    assert m.id == post and set(m.mentioned) == {"paybot", "alice"}
    assert m.mentioned["alice"] == XUser(world.id_of("alicia"), "alice", "Alice Martin")
    assert (m.author_id, m.author_handle) == (world.id_of("robert"), "robert")


def test_times_are_to_the_millisecond(world: Driver) -> None:
    start = world.clock.now()
    world.clock.advance(timedelta(seconds=1, microseconds=234_567))
    world.post("bob", "@paybot help")
    world.dm("bob", "help")
    x = world.timeline()
    [m] = x.mentions(world.bot_id, None)
    [d] = x.dm_events(None).events
    assert m.created_at == d.created_at == start + timedelta(seconds=1, milliseconds=234)
    assert m.created_at.utcoffset() == timedelta(0)


# ---------------------------------------------------------------- DM events


def test_dm_events_come_oldest_first_with_the_bots_own(world: Driver) -> None:
    """The bot's listing has both directions of each of its conversations (the bot's own DMs included, with
    its id as sender), no conversation between two other people, and senders' current handles."""
    only_on_x(world, "the bot's own direct statuses are not its notifications (dm_sent reads them from its statuses)")
    bob, alice = world.id_of("bob"), world.id_of("alice")
    x = world.timeline()
    hi = world.dm("bob", "hi")
    hello = x.send_dm(bob, "hello bob")
    world.dm("carol", "between the two of us", to="alice")
    yo = world.dm("alice", "yo")
    world.rename("bob", "robert")
    page = x.dm_events(None)
    assert page.resume is None
    assert [d.id for d in page.events] == [hi, hello, yo]
    assert dms(page.events) == [(bob, "hi"), (world.bot_id, "hello bob"), (alice, "yo")]
    assert [d.sender_handle for d in page.events] == ["robert", "paybot", "alice"]
    pair = "-".join(sorted((bob, world.bot_id), key=int))
    assert [d.conversation_id for d in page.events] == [pair, pair, "-".join(sorted((alice, world.bot_id), key=int))]


def test_stop_at_excludes_what_was_already_read(world: Driver) -> None:
    ids = [world.dm("bob", f"msg {i}") for i in range(5)]
    x = world.timeline(dm_page_size=2)
    page = x.dm_events(ids[2])
    assert [d.id for d in page.events] == ids[3:] and page.resume is None
    assert x.dm_events(ids[-1]).events == []
    # once something was read, not_before does not matter any more
    later = world.clock.now() + timedelta(days=1)
    assert [d.id for d in x.dm_events(ids[2], not_before=later).events] == ids[3:]


def test_not_before_bounds_the_first_reading(world: Driver) -> None:
    """With nothing read yet, events sent before `not_before` end the reading, however many pages come first;
    an event sent at that instant is read."""
    for i in range(3):
        world.dm("bob", f"history {i}")
    world.clock.advance(timedelta(minutes=5))
    mark = world.clock.now()
    new = [world.dm("alice", "at the mark")]
    for i in range(7):
        world.clock.advance(timedelta(seconds=1))
        new.append(world.dm("bob" if i % 2 else "carol", f"new {i}"))
    page = world.timeline(dm_page_size=2).dm_events(None, not_before=mark)
    assert [d.id for d in page.events] == new and page.resume is None
    assert page.events[0].created_at == mark


def test_a_backlog_longer_than_one_call_is_resumed(world: Driver) -> None:
    """One call reads ten pages; `resume` then continues where it stopped, until the stop mark; a DM that
    arrives meanwhile is read by the next reading from the newest id seen."""
    x = world.timeline(dm_page_size=2)
    old = world.dm("bob", "already read")
    backlog = [world.dm("bob" if i % 3 else "alice", f"msg {i}") for i in range(25)]
    page = x.dm_events(old)
    assert [d.id for d in page.events] == backlog[5:] and page.resume
    late = world.dm("carol", "late")
    rest = x.dm_events(old, page.resume)
    assert [d.id for d in rest.events] == backlog[:5] and rest.resume is None
    newest = max((d.id for d in page.events), key=int)
    assert [d.id for d in x.dm_events(newest).events] == [late]


def test_without_a_mark_three_pages_of_the_latest_are_read(world: Driver) -> None:
    ids = [world.dm("bob", f"msg {i}") for i in range(10)]
    page = world.timeline(dm_page_size=2).dm_events(None)
    assert [d.id for d in page.events] == ids[4:] and page.resume is None


def test_dm_events_older_than_30_days_are_out_of_reach(world: Driver) -> None:
    only_on_x(world, "notifications are kept, not cut at 30 days")
    old = world.dm("bob", "a month ago")
    world.clock.advance(timedelta(days=30))
    recent = world.dm("bob", "today")
    x = world.timeline()
    assert [d.id for d in x.dm_events(None).events] == [old, recent]
    world.clock.advance(timedelta(milliseconds=1))
    assert [d.id for d in x.dm_events(None).events] == [recent]
    assert x.dm_events(None, not_before=datetime(2000, 1, 1, tzinfo=UTC)).events[0].id == recent


# ---------------------------------------------------------------- sending DMs


def test_a_sent_dm_is_found_with_xs_id_and_time(world: Driver) -> None:
    only_on_x(world, "the bot's own direct statuses are not in dm_events (see test_mastodon_a_sent_dm_is_found)")
    bob = world.id_of("bob")
    x = world.timeline()
    since = world.clock.now()
    before = world.dm("bob", "hi")
    world.clock.advance(timedelta(seconds=3))
    dm_id = x.send_dm(bob, "Send $5.00 to @alice? [K7Q2]")
    assert dm_id.isdigit() and int(dm_id) > int(before)
    assert world.sent() == [("dm", bob, "Send $5.00 to @alice? [K7Q2]", dm_id)]
    assert x.dm_sent(bob, "Send $5.00 to @alice? [K7Q2]", since) == SentDm(dm_id, world.clock.now())
    assert x.dm_sent(bob, "Send $5.00 to @alice? [K7Q2]", world.clock.now()) == SentDm(dm_id, world.clock.now())
    [mine] = x.dm_events(before).events
    assert (mine.id, mine.sender_id, mine.created_at) == (dm_id, world.bot_id, world.clock.now())


def test_dm_sent_is_none_for_what_the_bot_did_not_send_since(world: Driver) -> None:
    bob, alice = world.id_of("bob"), world.id_of("alice")
    x = world.timeline()
    start = world.clock.now()
    x.send_dm(bob, "early")
    x.send_dm(alice, "to alice")
    world.dm("bob", "from bob")
    world.clock.advance(timedelta(seconds=1))
    since = world.clock.now()
    assert x.dm_sent(bob, "early", since) is None  # sent before `since`
    assert x.dm_sent(bob, "early", start) is not None
    assert x.dm_sent(bob, "never sent", start) is None
    assert x.dm_sent(bob, "to alice", start) is None  # another conversation
    assert x.dm_sent(bob, "from bob", start) is None  # the person's words, not the bot's
    assert x.dm_sent(alice, "to alice", start) is not None


def test_dm_sent_finds_the_earliest_send_behind_a_busy_conversation(world: Driver) -> None:
    bob = world.id_of("bob")
    x = world.timeline()
    since = world.clock.now()
    world.clock.advance(timedelta(seconds=1))
    first = x.send_dm(bob, "Cancelled. [K7Q2]")
    at = world.clock.now()
    world.clock.advance(timedelta(seconds=1))
    x.send_dm(bob, "Cancelled. [K7Q2]")
    for i in range(120):
        world.dm("bob", f"chatter {i}")
    assert x.dm_sent(bob, "Cancelled. [K7Q2]", since) == SentDm(first, at)


def test_dm_sent_finds_a_dm_sent_at_since_whatever_the_microseconds(world: Driver) -> None:
    bob = world.id_of("bob")
    x = world.timeline()
    world.clock.advance(timedelta(microseconds=500))
    since = world.clock.now()
    dm_id = x.send_dm(bob, "Send $5.00 to @alice? [K7Q2]")
    found = x.dm_sent(bob, "Send $5.00 to @alice? [K7Q2]", since)
    assert found is not None and found.id == dm_id


def test_dms_to_people_who_do_not_accept_them_are_refused_until_they_write(world: Driver) -> None:
    only_on_x(world, "anyone may be sent a direct status")
    shy = world.add_user("shy", accepts_dms=False)
    x = world.timeline()
    with pytest.raises(XForbidden) as closed:
        x.send_dm(shy, "hello")
    assert closed.value.reason == "dm_closed" and world.sent() == []
    world.dm("shy", "help")
    dm_id = x.send_dm(shy, "hello")
    assert world.sent() == [("dm", shy, "hello", dm_id)]


def test_a_dm_to_an_account_x_does_not_know_is_an_error_not_a_refusal(world: Driver) -> None:
    with pytest.raises(XError) as err:
        world.timeline().send_dm(UNKNOWN_USER, "hello")
    assert not isinstance(err.value, XForbidden) and world.sent() == []


# ---------------------------------------------------------------- replies


def test_a_reply_is_threaded_under_the_post(world: Driver) -> None:
    only_on_x(world, "a reply is threaded under the status, whichever version it answers (see test_mastodon_replies)")
    post = world.post("bob", "@paybot send 5 to @alice")
    edited = world.edit(post, "@paybot send 6 to @alice")
    x = world.timeline()
    first = x.reply(post, "@bob sent @alice $5.00 ✅ [K7Q2]")
    second = x.reply(edited, "@bob sent @alice $6.00 ✅ [B7Q2]")
    assert first.isdigit() and int(edited) < int(first) < int(second)
    assert world.sent() == [
        ("reply", post, "@bob sent @alice $5.00 ✅ [K7Q2]", first),
        ("reply", edited, "@bob sent @alice $6.00 ✅ [B7Q2]", second),
    ]


def test_replies_go_where_the_bot_was_invited(world: Driver) -> None:
    """A post that names the bot, a repost of one, a quote of the bot's own post, and the bot's own post."""
    only_on_x(world, "any visible status may be replied to; quotes are not modelled")
    x = world.timeline()
    post = world.post("bob", "@paybot send 5 to @alice")
    rt = world.repost("carol", post)
    mine = x.reply(post, "@bob done")
    quote = world.quote("alice", mine, "nice")  # quotes the bot without naming it
    for n, target in enumerate((rt, quote, mine)):
        x.reply(target, f"answer {n}")
    assert [(kind, to) for kind, to, _, _ in world.sent()] == [
        ("reply", post),
        ("reply", rt),
        ("reply", quote),
        ("reply", mine),
    ]


def test_replies_x_refuses(world: Driver) -> None:
    only_on_x(
        world,
        "no duplicate or invitation rule: the same words sent again answer the first status "
        "(see test_mastodon_replies)",
    )
    x = world.timeline()
    post = world.post("bob", "@paybot send 5 to @alice")
    x.reply(post, "@bob sent @alice $5.00")
    with pytest.raises(XForbidden) as duplicate:
        x.reply(post, "@bob sent @alice $5.00")
    assert duplicate.value.reason == "duplicate"
    uninvited = world.post("bob", "nothing to do with the bot")
    with pytest.raises(XForbidden) as other:
        x.reply(uninvited, "hello")
    assert other.value.reason == "other"
    gone = world.post("bob", "@paybot send 6 to @alice")
    world.delete(gone)
    with pytest.raises(XForbidden) as deleted:
        x.reply(gone, "too late")
    assert deleted.value.reason == "other"
    assert [text for _, _, text, _ in world.sent()] == ["@bob sent @alice $5.00"]


def test_a_reply_is_at_most_280_weighted_characters(world: Driver) -> None:
    """twitter-text's weights: most CJK characters count 2. Too long is an error, not a 403."""
    only_on_x(world, "the instance's max_characters (see test_mastodon_status_length_is_the_instances)")
    post = world.post("bob", "@paybot send 5 to @alice")
    x = world.timeline()
    x.reply(post, "中" * 140)
    for text in ("中" * 141, "a" * 281):
        with pytest.raises(XError) as err:
            x.reply(post, text)
        assert not isinstance(err.value, XForbidden)
    assert [text for _, _, text, _ in world.sent()] == ["中" * 140]


# ---------------------------------------------------------------- users


def test_users_by_handle_is_case_insensitive_and_leaves_unknown_handles_out(world: Driver) -> None:
    camel = world.add_user("CamelCase")
    x = world.timeline()
    found = x.users_by_handle(["BOB", "alice", "ghost_account", "bob", "camelcase"])
    assert found == {
        "bob": XUser(world.id_of("bob"), "bob", "Bob Stone"),
        "alice": XUser(world.id_of("alice"), "alice", "Alice Martin"),
        "camelcase": XUser(camel, "CamelCase", "Camelcase"),
    }
    assert x.users_by_handle(["ghost_account"]) == {} and x.users_by_handle([]) == {}


def test_users_by_id_give_current_handles_and_leave_unknown_ids_out(world: Driver) -> None:
    only_on_x(world, "usernames do not change")
    bob, alice = world.id_of("bob"), world.id_of("alice")
    x = world.timeline()
    world.rename("bob", "robert")
    assert x.users([bob, UNKNOWN_USER, alice, bob]) == {
        bob: XUser(bob, "robert", "Bob Stone"),
        alice: XUser(alice, "alice", "Alice Martin"),
    }
    assert x.users([UNKNOWN_USER]) == {} and x.users([]) == {}
    assert x.users_by_handle(["bob", "Robert"]) == {"robert": XUser(bob, "robert", "Bob Stone")}


def test_lookups_of_more_than_100_are_all_answered(world: Driver) -> None:
    ids = [world.add_user(f"user{i}") for i in range(150)]
    x = world.timeline()
    assert set(x.users(ids)) == set(ids)
    assert {u.id for u in x.users_by_handle([f"USER{i}" for i in range(150)]).values()} == set(ids)


# ---------------------------------------------------------------- Mastodon's own rules


@pytest.fixture
def masto() -> Iterator[MastodonDriver]:
    driver = MastodonDriver()
    for handle in NAMES:
        driver.add_user(handle)
    yield driver
    driver.sim.stop()


def test_mastodon_a_sent_dm_is_found(masto: MastodonDriver) -> None:
    """A DM is a direct status naming the person first (and no one else); dm_sent finds it among the bot's own
    statuses, with its id and time, and the person's direct answer comes without the handle that addressed the
    bot."""
    bob = masto.id_of("bob")
    x = masto.timeline()
    since = masto.clock.now()
    dm_id = x.send_dm(bob, "Send $5.00 to @alice? [K7Q2]")
    [status] = [s for s in masto.sim.statuses.values() if s["account_id"] == masto.bot_id]
    # alice is named, not mentioned: a mention would add her to the private conversation
    assert (status["visibility"], status["text"], status["mentions"]) == (
        "direct",
        "@bob Send $5.00 to \uff20alice? [K7Q2]",
        [bob],
    )
    assert [n["to"] for n in masto.sim.notifications] == [bob]
    assert x.dm_sent(bob, "Send $5.00 to @alice? [K7Q2]", since) == SentDm(dm_id, masto.clock.now())
    answer = masto.dm("bob", "YES k7q2")
    [got] = x.dm_events(dm_id).events
    assert (got.id, got.sender_id, got.text) == (answer, bob, "YES k7q2")


def test_mastodon_replies(masto: MastodonDriver) -> None:
    """A reply to any version lands under the status; the same reply sent again answers the first status (the
    Idempotency-Key), not a second one; a status gone is a refusal."""
    post = masto.post("bob", "@paybot send 5 to @alice")
    edited = masto.edit(post, "@paybot send 6 to @alice")
    x = masto.timeline()
    first = x.reply(post, "@bob sent @alice $5.00 ✅ [K7Q2]")
    again = x.reply(post, "@bob sent @alice $5.00 ✅ [K7Q2]")
    second = x.reply(edited, "@bob sent @alice $6.00 ✅ [B7Q2]")
    assert again == first and [(k, to) for k, to, _, _ in masto.sent()] == [("reply", post), ("reply", post)]
    assert int(first) < int(second)
    masto.delete(post)
    with pytest.raises(XForbidden) as gone:
        x.reply(post, "too late")
    assert gone.value.reason == "other"


def test_mastodon_status_length_is_the_instances(masto: MastodonDriver) -> None:
    """500 characters by default, a link counting 23 and a remote mention its @username only; too long is
    an error, not a refusal, and nothing is posted."""
    masto.add_user("dana@other.example")
    post = masto.post("bob", "@paybot send 5 to @alice")
    x = masto.timeline()
    assert isinstance(x, MastodonTimeline) and x.max_characters() == 500
    x.reply(post, "@dana@other.example " + "a" * (500 - len("@dana ")))
    x.reply(post, "https://example.com/" + "b" * 600 + " " + "c" * (500 - 24))
    with pytest.raises(XError) as err:
        x.reply(post, "a" * 501)
    assert not isinstance(err.value, XForbidden) and len(masto.sent()) == 2


def test_mastodon_remote_handles_and_edits_seen_again(masto: MastodonDriver) -> None:
    """A remote account is named by its full acct; an edit (Mastodon notifies nobody of it) is found by
    reading the recent mentions again, with every version after the cursor's."""
    carol = masto.add_user("carol@other.example")
    x = masto.timeline()
    post = masto.post("bob", "@paybot send 5 to @carol@other.example")
    [m] = x.mentions(masto.bot_id, None)
    assert m.text == "@paybot send 5 to @carol@other.example"
    assert m.mentioned["carol@other.example"] == XUser(carol, "carol@other.example", "Carol")
    assert x.users_by_handle(["Carol@Other.Example"]) == {"carol@other.example": m.mentioned["carol@other.example"]}
    masto.clock.advance(timedelta(minutes=2))
    edited = masto.edit(post, "@paybot send 6 to @carol@other.example")
    got = x.mentions(masto.bot_id, m.id)
    assert [(g.id, g.edit_ids, g.text) for g in got] == [
        (edited, (post, edited), "@paybot send 6 to @carol@other.example")
    ]
    masto.clock.advance(timedelta(hours=2))
    assert x.mentions(masto.bot_id, edited) == []  # past the edit horizon, nothing is read again


def test_mastodon_a_version_names_whom_it_named_even_after_an_edit_dropped_them(masto: MastodonDriver) -> None:
    """Edited before the bot looked: the status now names alice only, but its first version named carol, and
    reads so (with carol's account), as X's entities keep each version's own mentions."""
    post = masto.post("bob", "@paybot send 50 to @carol")
    masto.clock.advance(timedelta(seconds=2))
    edited = masto.edit(post, "@paybot never mind, thanks @alice")
    got = {m.id: m for m in masto.timeline().mentions(masto.bot_id, None)}
    assert list(got) == [post, edited]
    assert set(got[post].mentioned) == {"paybot", "carol"} and got[post].mentioned["carol"].id == masto.id_of("carol")
    assert set(got[edited].mentioned) == {"paybot", "alice"}


def test_mastodon_a_reply_is_never_more_visible_than_the_status(masto: MastodonDriver) -> None:
    """Public under public, unlisted under unlisted, and under followers-only a direct status to the people it
    names (a followers-only reply would reach the bot's followers, who did not see the command): the bot's answer
    does not widen the audience the command's author chose."""
    x = masto.timeline()
    for visibility, answered in (("public", "public"), ("unlisted", "unlisted"), ("private", "direct")):
        post = port_id(masto.sim.post("bob", f"@paybot send 5 to @alice ({visibility})", visibility=visibility)["id"])
        mine = masto.sim.statuses[status_of(x.reply(post, f"@bob sent @alice $5.00 ({visibility})"))]
        assert mine["visibility"] == answered
