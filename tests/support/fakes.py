"""In-memory fakes of the ports, for service tests that assert on state."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from twitter_text import parse_tweet

from bot.errors import IdempotencyError, InsufficientBalance, ProviderError, XError, XForbidden
from bot.money import Money
from bot.ports import (
    NO_ACCOUNTS,
    CashOut,
    CashOutOutcome,
    Clock,
    DirectMessage,
    DmPage,
    EventKind,
    Mention,
    Onboarding,
    PayoutAccounts,
    PayOutcome,
    PayResult,
    ProviderEvent,
    ProviderPayment,
    Registration,
    SentDm,
    Settled,
    XUser,
)
from bot.sims.x import DM_HISTORY, MENTIONS_HORIZON
from bot.x.client import DM_SENT_PAGES


@dataclass
class FakeProvider:
    """A payment provider in a few dictionaries; keys behave as the real ones do."""

    name: str = "fake"
    cards: dict[str, str] = field(default_factory=dict)
    payouts: set[str] = field(default_factory=set)
    results: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)
    balance_short: bool = False  # the platform's balance cannot cover a release (InsufficientBalance)
    # Cash-outs, as a wallet provider (Mangopay) has them: what each user holds per currency (set by tests), who
    # registered a bank account, and every payout made (a dict each, "state" created / succeeded / failed).
    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    banks: set[str] = field(default_factory=set)
    cash_outs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def min_charge(self) -> dict[str, int]:
        """The fake charges any amount, as the sandbox does."""
        return {}

    def has_card(self, user_id: str) -> bool:
        return user_id in self.cards

    def register(self, user_id: str) -> Registration:
        if user_id in self.cards:
            return Registration(already=True)
        self.cards[user_id] = "ok"
        return Registration()

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        self.payouts.add(user_id)
        return Onboarding(ready=True)

    def can_receive(self, user_id: str) -> bool:
        return user_id in self.payouts

    def _once(self, key: str, params: Any, run: Any) -> Any:
        if key in self.results:
            if self.results[key][0] != params:
                raise IdempotencyError(key)
            return self.results[key][1]
        result = run()
        self.results[key] = (params, result)
        return result

    def pay(
        self,
        *,
        key: str,
        sender_id: str,
        recipient_id: str,
        amount: Money,
        memo: str | None,
        reference: dict[str, str] | None = None,
    ) -> PayResult:
        def run() -> PayResult:
            card = self.cards.get(sender_id)
            if card is None:
                return PayResult(PayOutcome.NO_CARD)
            if card == "declined":
                return PayResult(PayOutcome.DECLINED, reason="card declined by the bank")
            if card != "ok":  # a bank that wants the sender present: a page that is never approved here
                return PayResult(
                    PayOutcome.NEEDS_AUTH, reason="authentication required", url=f"https://fake.invalid/approve/{key}"
                )
            state = "paid" if recipient_id in self.payouts else "held"
            ref = f"ch_{len(self.charges) + 1}"
            self.charges.append(
                {
                    "ref": ref,
                    "key": key,
                    "from": sender_id,
                    "to": recipient_id,
                    "minor": amount.minor,
                    "currency": amount.currency,
                    "state": state,
                    "refunded": 0,
                    "reversed": 0,
                    "moves": 0,
                }
            )
            return PayResult(PayOutcome.PAID if state == "paid" else PayOutcome.HELD, ref)

        return self._once(key, ("pay", sender_id, recipient_id, amount, memo), run)

    def _charge(self, payment_ref: str) -> dict[str, Any]:
        found = next((c for c in self.charges if c["ref"] == payment_ref), None)
        if found is None:
            raise ProviderError(f"no such payment {payment_ref}")
        return found

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        def run() -> str:
            charge = self._charge(payment_ref)
            if charge["state"] != "held" or amount.minor != charge["minor"]:
                raise ProviderError(f"{payment_ref} is {charge['state']}")
            if self.balance_short:  # refused, and (as Stripe may) nothing kept under the key here
                raise InsufficientBalance("the platform's balance cannot cover this transfer")
            charge["state"] = "released"
            return f"released_{payment_ref}"

        return str(self._once(key, ("released", payment_ref, recipient_id, amount), run))

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        params, result = self.results.get(key, ((None,), None))
        return result if params[0] == "pay" else None  # a release or refund key made no payment

    def events(self, after: str | None) -> tuple[list[Any], str | None]:
        return [], after

    def payments_since(self, since: Any) -> list[ProviderPayment]:
        """Every charge (the fake keeps no times, so `since` is every payment)."""
        return [
            ProviderPayment(
                key=c["key"],
                ref=c["ref"],
                amount_minor=c["minor"],
                currency=c["currency"],
                charged=True,
                delivered=c["state"] in ("paid", "released"),
                refunded=c["state"] == "refunded",
                refunded_minor=c["refunded"],
            )
            for c in self.charges
        ]

    def refund(self, *, key: str, payment_ref: str, amount: Money, keep: int = 0) -> Settled:
        """Held money or money that moved (a return, an operator's refund), in full or in parts."""

        def run() -> Settled:
            charge = self._charge(payment_ref)
            left = charge["minor"] - charge["refunded"]
            if charge["state"] not in ("held", "paid", "released") or not 0 < amount.minor <= left:
                raise ProviderError(f"{payment_ref} has {left} left to refund, not {amount.minor}")
            charge["refunded"] += amount.minor
            charge["moves"] += 1
            if charge["refunded"] == charge["minor"]:
                charge["state"] = "refunded"
            n = charge["moves"]
            return Settled(f"refunded_{payment_ref}" if n == 1 else f"refunded_{payment_ref}_{n}")

        result: Settled = self._once(key, ("refunded", payment_ref, amount), run)
        return result

    def reverse(self, *, key: str, payment_ref: str, amount: Money) -> str:
        """Take back `amount` of a payment that reached its recipient, or what they still hold of it."""

        def run() -> str:
            charge = self._charge(payment_ref)
            holds = charge["minor"] - charge["refunded"] - charge["reversed"]
            if charge["state"] not in ("paid", "released") or holds <= 0:
                raise ProviderError(f"the recipient holds nothing of {payment_ref}")
            charge["reversed"] += min(amount.minor, holds)
            charge["moves"] += 1
            return f"reversed_{payment_ref}_{charge['moves']}"

        return str(self._once(key, ("reversed", payment_ref, amount), run))

    def holdings(self) -> list[tuple[str, Money]]:
        """The wallets' balances (`balances`) that are not zero."""
        return [(user, Money(minor, currency)) for (user, currency), minor in sorted(self.balances.items()) if minor]

    def cash_out(
        self,
        *,
        key: str,
        user_id: str,
        currency: str,
        keep: int = 0,
        holds_for_others: bool = False,
        accounts: PayoutAccounts = NO_ACCOUNTS,
    ) -> CashOut:
        """A wallet provider's payout: the balance less `keep`, to a registered bank account ending 4321 (id
        `ba_<user>`), once per key, once the user confirmed that account; nothing without a balance, the
        onboarding link before anyone is verified, the bank page before a bank account is registered."""
        account = f"ba_{user_id}"
        if (
            key not in self.results
            and self.balances.get((user_id, currency), 0) - max(keep, 0) > 0
            and user_id in self.payouts
            and user_id in self.banks
            and account not in accounts.confirmed
            and account != accounts.pay_to
        ):
            return CashOut(CashOutOutcome.NEW_ACCOUNT, account_ref=account, last4="4321")

        def run() -> CashOut:
            available = self.balances.get((user_id, currency), 0) - max(keep, 0)
            if available <= 0:
                return CashOut(CashOutOutcome.NOTHING, amount=Money(0, currency))
            if user_id not in self.payouts:
                return CashOut(CashOutOutcome.NEEDS_KYC, url=f"https://fake.invalid/verify/{user_id}")
            if user_id not in self.banks:
                return CashOut(
                    CashOutOutcome.NEEDS_BANK, url=f"https://fake.invalid/bank/{user_id}", valid_for=timedelta(hours=24)
                )
            self.balances[(user_id, currency)] -= available
            ref = f"po_{len(self.cash_outs) + 1}"
            self.cash_outs.append(
                {"ref": ref, "key": key, "user": user_id, "minor": available, "currency": currency, "state": "created"}
            )
            return CashOut(
                CashOutOutcome.STARTED, amount=Money(available, currency), ref=ref, last4="4321", account_ref=account
            )

        result: CashOut = self._once(key, ("cash_out", user_id, currency), run)
        return result

    def settle_payout(self, ref: str, *, success: bool = True) -> ProviderEvent:
        """The bank settles a payout (a failure gives the money back); returns the event the provider tells."""
        payout = next(p for p in self.cash_outs if p["ref"] == ref)
        payout["state"] = "succeeded" if success else "failed"
        if not success:
            self.balances[(payout["user"], payout["currency"])] += payout["minor"]
        return ProviderEvent(
            f"payout:{ref}:{payout['state']}",
            EventKind.PAYOUT_SUCCEEDED if success else EventKind.PAYOUT_FAILED,
            key=payout["key"],
            settle_ref=ref,
            amount_minor=payout["minor"],
            reason=None if success else "the bank refused the transfer",
        )


# ---------------------------------------------------------------------------------------------- X


_HANDLE_IN_TEXT = re.compile(r"(?<![A-Za-z0-9_])@([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_])")
_LEADING_HANDLES = re.compile(r"(?:@[A-Za-z0-9_]{1,15}\s+)+")
FIRST_POST_ID = 1_861_000_000_000_000_000  # as the simulator: post and DM ids share one growing sequence
FIRST_USER_ID = 1_000_000_001
DM_PAGES = 10  # XClient.dm_events: pages read in one call when it knows where to stop
DM_PAGES_UNBOUNDED = 3  # ... and when it does not (no stop_at, no not_before)
DM_SENT_PAGE = 50  # XClient.dm_sent: conversation events a page


def x_instant(t: datetime) -> datetime:
    """A time as X records it: UTC, to the millisecond."""
    t = t.astimezone(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


USERS = {
    "paybot": XUser("1", "paybot", "paybot"),
    "bob": XUser("10", "bob", "Bob"),
    "alice": XUser("11", "alice", "Alice Martin"),
    "carol": XUser("12", "carol", "Carol"),
    "dave": XUser("13", "dave", "Dave"),
}


class Posts:
    """Makes Mention and DirectMessage values with increasing ids, for tests that hand them to the service
    directly; as FakeTimeline (and X) makes them: mention entities by X's rule, times to the millisecond."""

    def __init__(self, clock: Any, before_dm: Any = None) -> None:
        self.clock = clock
        self.next_id = 1000
        self.before_dm = before_dm  # called before a DM is made: people answer what reached them

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def mention(
        self,
        by: str,
        text: str,
        *,
        edit_of: Mention | None = None,
        referenced: tuple[tuple[str, str], ...] = (),
        display_start: int = 0,
    ) -> Mention:
        pid = self._id()
        names = {m.group(1).lower() for m in _HANDLE_IN_TEXT.finditer(text)}  # X's mention entities
        author = USERS[by]
        return Mention(
            id=pid,
            author_id=author.id,
            text=text,
            created_at=x_instant(self.clock.now()),
            author_handle=author.handle,
            author_name=author.name,
            display_start=display_start,
            edit_ids=(*edit_of.edit_ids, pid) if edit_of else (pid,),
            referenced=referenced,
            mentioned={n: USERS[n] for n in names if n in USERS},
        )

    def dm(self, by: str, text: str, *, conversation: str | None = None) -> DirectMessage:
        if self.before_dm is not None:
            self.before_dm()
        uid = USERS[by].id
        return DirectMessage(
            id=self._id(),
            sender_id=uid,
            text=text,
            created_at=x_instant(self.clock.now()),
            conversation_id=conversation or "-".join(sorted((USERS["paybot"].id, uid), key=int)),
            sender_handle=by,
        )


def at(clock: Any) -> datetime:
    return clock.now()


@dataclass
class _Post:
    id: str
    author_id: str
    text: str
    created_at: datetime
    edit_ids: tuple[str, ...]
    referenced: tuple[tuple[str, str], ...]
    display_start: int
    entities: tuple[tuple[str, str], ...]  # (username as X resolved it when posted, user id)


@dataclass
class _Dm:
    id: str
    sender_id: str
    other_id: str
    text: str
    created_at: datetime

    @property
    def conversation_id(self) -> str:
        return "-".join(sorted((self.sender_id, self.other_id), key=int))


class FakeTimeline:
    """X in memory, implementing bot.ports.Timeline as XClient does over the X simulator (bot/sims/x/).

    tests/contract/test_timeline_contract.py runs the same assertions on this and on XClient + XSim; the people's
    side (add_user, tweet, edit, retweet, quote, delete, dm, rename) and `bot_messages` have the
    simulator's names and shapes. What it keeps from X: ids growing with time (posts and DMs share one
    sequence), times to the millisecond, mention entities resolved when posted (a handle nobody holds is no
    entity; a rename does not rewrite them) while authors, senders and lookups give current handles, edits as
    new posts carrying their history, the 800-mention horizon, DM listings newest first over 30 days that
    include the bot's own DMs, and the refusals (403 as XForbidden with its reason, 400/404 as XError).
    `dm_page_size` is XClient's: the DM listing is read in pages of it, 10 pages a call, as XClient does.
    """

    def __init__(
        self, clock: Clock, *, bot_handle: str = "paybot", users: Iterable[XUser] = (), dm_page_size: int = 20
    ) -> None:
        self.clock = clock
        self.dm_page_size = dm_page_size
        self.people: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, _Post] = {}
        self.dms: list[_Dm] = []
        self.bot_texts: set[str] = set()  # every text the bot posted (X refuses it again as duplicate content)
        self.next_post = FIRST_POST_ID
        self.next_user = FIRST_USER_ID
        for u in users:  # e.g. USERS.values(): known ids
            self.people[u.id] = {"id": u.id, "handle": u.handle, "name": u.name, "accepts_dms": True}
        found = self._find(bot_handle)
        self.bot_id = found["id"] if found else self.add_user(bot_handle, "paybot")

    # ------------------------------------------------------------ people (the simulator's control side)

    def add_user(self, handle: str, name: str | None = None, *, accepts_dms: bool = True) -> str:
        if self._find(handle):
            raise ValueError(f"@{handle} exists")
        uid = str(self.next_user)
        self.next_user += 1
        self.people[uid] = {"id": uid, "handle": handle, "name": name or handle.title(), "accepts_dms": accepts_dms}
        return uid

    def user_id(self, handle: str) -> str:
        found = self._find(handle)
        if not found:
            raise KeyError(f"no user @{handle}")
        return str(found["id"])

    def handle(self, user_id: str) -> str:
        return str(self.people[user_id]["handle"])

    def rename(self, handle: str, new: str) -> None:
        if self._find(new):
            raise ValueError(f"@{new} is taken")
        self.people[self.user_id(handle)]["handle"] = new

    def tweet(
        self,
        by: str,
        text: str,
        *,
        reply_to: str | None = None,
        quote_of: str | None = None,
        _retweet_of: str | None = None,
        _edit_of: str | None = None,
    ) -> str:
        """Post as @by; returns the post's id."""
        author = self.user_id(by)
        pid = self._new_id()
        refs = [
            (kind, ref)
            for kind, ref in (("replied_to", reply_to), ("quoted", quote_of), ("retweeted", _retweet_of))
            if ref
        ]
        lead = _LEADING_HANDLES.match(text) if reply_to else None  # a reply's leading @handles are context
        entities = []
        for m in _HANDLE_IN_TEXT.finditer(text):
            user = self._find(m.group(1))
            if user:
                entities.append((str(user["handle"]), str(user["id"])))
        self.posts[pid] = _Post(
            id=pid,
            author_id=author,
            text=text,
            created_at=x_instant(self.clock.now()),
            edit_ids=(*self.posts[_edit_of].edit_ids, pid) if _edit_of else (pid,),
            referenced=tuple(refs),
            display_start=lead.end() if lead else 0,
            entities=tuple(entities),
        )
        if author == self.bot_id:
            self.bot_texts.add(text)
        return pid

    def edit(self, post_id: str, text: str) -> str:
        """X makes a new post whose edit history starts at the original; a reply or quote stays one."""
        old = self.posts[post_id]
        refs = dict(old.referenced)
        return self.tweet(
            self.handle(old.author_id),
            text,
            reply_to=refs.get("replied_to"),
            quote_of=refs.get("quoted"),
            _edit_of=post_id,
        )

    def retweet(self, by: str, post_id: str) -> str:
        orig = self.posts[post_id]
        return self.tweet(by, f"RT @{self.handle(orig.author_id)}: {orig.text}", _retweet_of=post_id)

    def quote(self, by: str, post_id: str, text: str) -> str:
        return self.tweet(by, text, quote_of=post_id)

    def delete(self, post_id: str) -> None:
        del self.posts[post_id]

    def dm(self, by: str, text: str, to: str | None = None) -> str:
        """A DM from @by to @to (default: the bot); returns the event's id."""
        return self._add_dm(self.user_id(by), self.user_id(to) if to else self.bot_id, text).id

    def bot_messages(self) -> list[dict[str, Any]]:
        """Every DM and post the bot made, in X's order (XSim.bot_messages' shape)."""
        out: list[dict[str, Any]] = [
            {"type": "dm", "to_id": e.other_id, "text": e.text, "id": e.id}
            for e in self.dms
            if e.sender_id == self.bot_id
        ]
        for p in self.posts.values():
            if p.author_id == self.bot_id:
                reply = dict(p.referenced).get("replied_to")
                out.append({"type": "reply" if reply else "post", "in_reply_to": reply, "text": p.text, "id": p.id})
        return sorted(out, key=lambda m: int(m["id"]))

    # ------------------------------------------------------------------------------------------ port

    def me(self) -> XUser:
        return self._user(self.bot_id)

    def mentions(self, user_id: str, since_id: str | None) -> list[Mention]:
        if user_id not in self.people:
            raise XError(f"mentions: X answered 404: no user {user_id}")
        newest_first = sorted(
            (p for p in self.posts.values() if p.author_id != user_id and any(uid == user_id for _, uid in p.entities)),
            key=lambda p: -int(p.id),
        )
        reachable = newest_first[:MENTIONS_HORIZON]
        return [self._mention(p) for p in reversed(reachable) if since_id is None or int(p.id) > int(since_id)]

    def dm_events(self, stop_at: str | None, resume: str | None = None, not_before: datetime | None = None) -> DmPage:
        listing = self._dm_listing()
        bounded = bool(stop_at) or not_before is not None
        token = resume
        found: list[DirectMessage] = []
        for _ in range(DM_PAGES if bounded else DM_PAGES_UNBOUNDED):
            if token is not None and not token.isdigit():
                raise XError("dm_events: X answered 400: invalid pagination_token")
            rest = [e for e in listing if token is None or int(e.id) < int(token)]
            page = rest[: self.dm_page_size]
            ended = False
            for e in page:
                if (stop_at and int(e.id) <= int(stop_at)) or (
                    not stop_at and not_before is not None and e.created_at < not_before
                ):
                    ended = True
                    break
                found.append(self._message(e))
            token = None if ended or len(rest) <= len(page) else page[-1].id
            if token is None:
                break
        found.sort(key=lambda d: int(d.id))
        return DmPage(found, token if bounded else None)

    def send_dm(self, user_id: str, text: str) -> str:
        if not text:
            raise XError("dm_post: X answered 400: text is required")
        user = self.people.get(user_id)
        if user is None:
            raise XError(f"dm_post: X answered 404: no user {user_id}")
        wrote_first = any(e.sender_id == user_id and e.other_id == self.bot_id for e in self.dms)
        if not (user["accepts_dms"] or wrote_first):
            raise XForbidden("dm_post: forbidden: You are not permitted to send a DM to this user.", reason="dm_closed")
        return self._add_dm(self.bot_id, user_id, text).id

    def dm_sent(self, user_id: str, text: str, since: datetime) -> SentDm | None:
        """As XClient looks: the conversation newest first, a page at a time, back to `since` (cut to the
        millisecond, as X keeps times)."""
        since = since.replace(microsecond=since.microsecond // 1000 * 1000)
        pair = "-".join(sorted((user_id, self.bot_id), key=int))
        events = [e for e in self._dm_listing() if e.conversation_id == pair]
        for start in range(0, DM_SENT_PAGES * DM_SENT_PAGE, DM_SENT_PAGE):
            page = events[start : start + DM_SENT_PAGE]
            found = [
                SentDm(e.id, e.created_at)
                for e in page
                if e.sender_id != user_id and e.text == text and e.created_at >= since
            ]
            if found:
                return min(found, key=lambda sent: sent.at)
            if not page or len(events) <= start + DM_SENT_PAGE or any(e.created_at < since for e in page):
                return None
        return None

    def reply(self, in_reply_to: str, text: str) -> str:
        if not text:
            raise XError("tweets_post: X answered 400: text is required")
        if parse_tweet(text).weightedLength > 280:
            raise XError("tweets_post: X answered 400: Tweet text is too long.")
        post = self.posts.get(in_reply_to)
        invited = post is not None and (
            post.author_id == self.bot_id
            or any(uid == self.bot_id for _, uid in post.entities)
            or any(
                kind == "quoted" and ref in self.posts and self.posts[ref].author_id == self.bot_id
                for kind, ref in post.referenced
            )
        )
        if not invited:
            raise XForbidden(
                "tweets_post: forbidden: Reply to this conversation is not allowed because you have "
                "not been mentioned or otherwise engaged by the author of the post you are replying "
                "to.",
                reason="other",
            )
        if text in self.bot_texts:
            raise XForbidden(
                "tweets_post: forbidden: You are not allowed to create a Tweet with duplicate content.",
                reason="duplicate",
            )
        return self.tweet(self.handle(self.bot_id), text, reply_to=in_reply_to)

    def users_by_handle(self, handles: list[str]) -> dict[str, XUser]:
        found = (self._find(h) for h in dict.fromkeys(h.lower() for h in handles))
        return {u["handle"].lower(): self._user(u["id"]) for u in found if u}

    def users(self, ids: list[str]) -> dict[str, XUser]:
        wanted = [i for i in dict.fromkeys(ids) if i]
        if not all(i.isdigit() for i in wanted):
            raise XError("users: X answered 400: ids must name numeric user ids")
        return {i: self._user(i) for i in wanted if i in self.people}

    # --------------------------------------------------------------------------------------- helpers

    def _find(self, handle: str) -> dict[str, Any] | None:
        low = handle.lower()
        return next((u for u in self.people.values() if u["handle"].lower() == low), None)

    def _user(self, uid: str) -> XUser:
        u = self.people[uid]
        return XUser(u["id"], u["handle"], u["name"])

    def _new_id(self) -> str:
        self.next_post += 1
        return str(self.next_post - 1)

    def _add_dm(self, sender: str, other: str, text: str) -> _Dm:
        event = _Dm(self._new_id(), sender, other, text, x_instant(self.clock.now()))
        self.dms.append(event)
        return event

    def _dm_listing(self) -> list[_Dm]:
        """The bot's DM events, newest first, as far back as X keeps them."""
        oldest = x_instant(self.clock.now() - DM_HISTORY)
        return [e for e in reversed(self.dms) if self.bot_id in (e.sender_id, e.other_id) and e.created_at >= oldest]

    def _message(self, e: _Dm) -> DirectMessage:
        return DirectMessage(
            id=e.id,
            sender_id=e.sender_id,
            text=e.text,
            created_at=e.created_at,
            conversation_id=e.conversation_id,
            sender_handle=self.handle(e.sender_id),
        )

    def _mention(self, p: _Post) -> Mention:
        author = self.people[p.author_id]
        return Mention(
            id=p.id,
            author_id=p.author_id,
            text=p.text,
            created_at=p.created_at,
            author_handle=author["handle"],
            author_name=author["name"],
            display_start=p.display_start,
            edit_ids=p.edit_ids,
            referenced=p.referenced,
            mentioned={name.lower(): XUser(uid, name, self.people[uid]["name"]) for name, uid in p.entities},
        )
