"""The outbox hooks: a reply checked again just before it is sent, confirmations that went out, and
messages X refused."""

from __future__ import annotations

import logging
import re
from collections import defaultdict

from bot import messages as msg
from bot.app.base import HANDLE_FRESH, Ask, Context, handle_of, money, named_pairs, set_status
from bot.app.common import Common
from bot.app.wording import ask_dm_text, by_dm_text, request_texts
from bot.domain import OUTBOX, WAITING, Category, MessageKind, Privacy, Reason, Send, Status, TransferKind
from bot.domain.entities import PRIORITY_CONFIRM, PRIORITY_OUTCOME, PRIORITY_REPLY, Outbox, Transfer, User
from bot.messages import text as say
from bot.ports import XUser
from bot.repo.port import Tx

log = logging.getLogger(__name__)


class Voice:
    """The outbox hooks that keep the public voice the bot's own."""

    def __init__(self, ctx: Context, common: Common) -> None:
        self.ctx = ctx
        self.common = common

    def dm_undeliverable(self, message: Outbox) -> None:
        """A confirmation DM could not be delivered: cancel what it asked of its addressee (their part only: a
        request's other payers are asked apart). A send's author is told in a reply to their post; a request's
        requester is told by DM (the payer posted nothing, and may have said STOP: never named in public)."""
        if message.priority != PRIORITY_CONFIRM or message.kind != MessageKind.DM or not message.transfer_root:
            return
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            pending = [
                t
                for t in s.transfers.of_root(message.transfer_root)
                if t.status == Status.PENDING
                and t.sender_id == message.to_user_id
                and (not message.version or t.command_tweet_id == message.version)
            ]
            for t in pending:
                set_status(s, t, Status.CANCELLED, now, reason=Reason.DM_REFUSED)
            if pending:
                first = pending[0]
                if first.kind == TransferKind.SEND:
                    text = f"@{handle_of(s, first.sender_id)} {say('cant_dm', first.lang)}"
                    self.common.queue_reply(
                        s, first.command_tweet_id, text, root=message.transfer_root, names=[first.sender_id]
                    )
                else:
                    text = say(
                        "request_payer_unreachable",
                        first.lang,
                        payer=handle_of(s, first.sender_id),
                        amount=money(first),
                        code=first.code,
                    )
                    self.common.queue_dm(s, first.recipient_id, text, PRIORITY_OUTCOME, root=first.root_tweet_id)
            s.commit()

    def reply_undeliverable(self, message: Outbox) -> None:
        """An outcome reply X refused (the command post was deleted): tell the payer by DM instead. A request's
        public ask X refused for good: what it asked is cancelled (nobody could see it) and the requester told."""
        if message.transfer_root and message.priority == PRIORITY_CONFIRM and message.category == Category.ASK:
            self._ask_undeliverable(message)
            return
        if not message.transfer_root or message.priority != PRIORITY_REPLY:
            return
        with self.ctx.uow() as s:
            told: dict[str, list[Transfer]] = defaultdict(list)
            for t in s.transfers.of_root(message.transfer_root):
                if t.status in (Status.COMPLETED, Status.HELD) and f"[{t.code}]" in message.text:
                    told[t.sender_id].append(t)
            for sender_id, rows in told.items():  # one receipt per payer, however many the reply named
                first, who = rows[0], msg.handles([handle_of(s, t.recipient_id) for t in rows])
                text = (
                    say(
                        "receipt",
                        first.lang,
                        recipient=handle_of(s, first.recipient_id),
                        amount=money(first),
                        code=first.code,
                    )
                    if len(rows) == 1
                    else say("receipt.many", first.lang, recipients=who, amount=money(first), code=first.code)
                )
                self.common.queue_dm(s, sender_id, text, PRIORITY_OUTCOME, root=first.root_tweet_id)
            s.commit()

    def _ask_undeliverable(self, message: Outbox) -> None:
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            asked = [
                t
                for t in s.transfers.of_root(message.transfer_root or "")
                if t.status == Status.PENDING
                and t.kind == TransferKind.REQUEST
                and t.command_tweet_id == message.version
                and say("request_reply.code", t.lang, code=t.code) in message.text
            ]
            for t in asked:
                set_status(s, t, Status.CANCELLED, now, reason=Reason.REPLY_REFUSED)
            if asked:
                first = asked[0]
                key = msg.on_timeline("request_unposted", mastodon=self.ctx.fediverse)
                text = say(
                    key,
                    first.lang,
                    amount=money(first),
                    handles=msg.handles([handle_of(s, t.sender_id) for t in asked]),
                    code=first.code,
                )
                self.common.queue_dm(s, first.recipient_id, text, PRIORITY_OUTCOME, root=first.root_tweet_id)
            s.commit()

    def stale_names(self, items: list[Outbox]) -> set[str]:
        """The people these replies name whose handle X has not shown within HANDLE_FRESH: to look up."""
        ids = {uid for item in items for uid, _ in named_pairs(item.names)}
        if not ids:
            return set()
        fresh_since = self.ctx.clock.now() - HANDLE_FRESH
        with self.ctx.uow() as s:
            return {u.id for u in s.users.many(ids) if u.seen_at is None or u.seen_at < fresh_since}

    def saw_users(self, found: dict[str, XUser]) -> None:
        """Record what a users lookup returned: current handles (renames) and when they were seen."""
        with self.ctx.uow() as s:
            for user in found.values():
                self.common.remember(s, user)
            s.commit()

    def drop_superseded(self, items: list[Outbox]) -> set[int]:
        """Of these queued confirmations (a send's DM, a request's replies and DMs), those that ask about a
        version no longer current (edited since, answered, cancelled, expired): marked dropped, in one unit
        of work, and returned. Checked just before each send, not when queued: a confirmation that waited
        (a retry after X refused it) must never reach the payer after a newer one."""
        asking = [i for i in items if i.version and i.transfer_root and i.id is not None]
        if not asking:
            return set()
        with self.ctx.uow() as s:
            current = {
                (t.root_tweet_id, t.command_tweet_id, t.sender_id)
                for t in s.transfers.of_roots({i.transfer_root for i in asking if i.transfer_root})
                if t.status == Status.PENDING
            }
            stale = {
                i.id
                for i in asking
                if i.id is not None
                and not any(
                    (root, version) == (i.transfer_root, i.version)
                    and (i.kind != MessageKind.DM or payer == i.to_user_id)
                    for root, version, payer in current
                )
            }
            if not stale:
                return set()
            for row in s.outbox.many(sorted(stale)):
                if row.status in WAITING:
                    row.status, row.error = OUTBOX.move(row.status, Send.DROPPED), "its version is no longer current"
            s.commit()
        for item_id in sorted(stale):
            log.info("outbox message %s dropped: it asks about a version no longer current", item_id)
        return stale

    def prepare_reply(self, item_id: int, missing: frozenset[str] = frozenset()) -> Outbox | None:
        """`prepare_replies` for one reply."""
        return self.prepare_replies([item_id], missing).get(item_id)

    def prepare_replies(self, item_ids: list[int], missing: frozenset[str] = frozenset()) -> dict[int, Outbox | None]:
        """`_prepare` for several queued replies, in one unit of work (their rows and the people they name
        read in two queries, one commit when any was written): each id's message to send, or None."""
        out: dict[int, Outbox | None] = {}
        with self.ctx.uow() as s:
            items = {i.id: i for i in s.outbox.many(item_ids)}
            s.users.many({uid for i in items.values() for uid, _ in named_pairs(i.names)})
            wrote = False
            for item_id in item_ids:
                item = items.get(item_id)
                out[item_id], changed = self._prepare(s, item, missing) if item is not None else (None, False)
                wrote |= changed
            if wrote:
                s.commit()
        return out

    def _prepare(self, s: Tx, item: Outbox, missing: frozenset[str]) -> tuple[Outbox | None, bool]:
        """Make a queued public reply's text final, just before its first send; None: nothing to send.

        - A request's reply drops a payer who said STOP since (their transfer is cancelled and the
          requester told by DM) and asks by DM one who went quiet or private; with nobody left, the
          reply is dropped. The caller only gets here once every DM sent before the reply was queued
          has been read.
        - Everyone else it names is named by the handle X showed last (after a rename, the new one);
          someone who said STOP, or whom X no longer knows (`missing`), is written without the @.
        A changed text is stored as final (a resend after a crash posts the same text, which X refuses
        as a duplicate); an unchanged one is not written at all."""
        if item.status not in WAITING:
            return None, False
        if item.names is None:
            return item, False
        named = named_pairs(item.names)
        texts, changed = [item.text], False  # changed: rows written (a transfer cancelled, a DM queued)
        rebuilt = item.category in (Category.ASK, Category.ASK_BY_DM) and bool(item.version)
        if rebuilt:  # written again from the rows, with current handles
            texts, changed = self._ask_again(s, item, {uid for uid, _ in named})
        renamed: dict[str, str] = {}
        for uid, old in [] if rebuilt else named:
            user = s.users.get(uid)
            if user is None:
                continue
            if user.opted_out or uid in missing:
                renamed[old.lower()] = old
            elif user.handle != old:
                renamed[old.lower()] = f"@{user.handle}"
        if renamed:
            pattern = re.compile(r"@(" + "|".join(re.escape(h) for h in renamed) + r")(?![A-Za-z0-9_])", re.I)
            texts = [pattern.sub(lambda found: renamed[found.group(1).lower()], text) for text in texts]
        if texts == [item.text] and not changed:
            # Nothing to change (the common case): no write. A retry checks again, and finds the same
            # unless a STOP or a rename lands between a send and its record, which X's duplicate check
            # then no longer catches (a window of one outbox round).
            return item, changed
        now = self.ctx.clock.now()
        item.names = None
        if not texts:
            item.status, item.error = OUTBOX.move(item.status, Send.DROPPED), "nobody left to name"
        else:
            item.text = texts[0]
        for extra in texts[1:]:  # new handles too long for one post: the rest in replies of their own
            s.outbox.add(
                Outbox(
                    kind=MessageKind.REPLY,
                    priority=item.priority,
                    in_reply_to=item.in_reply_to,
                    text=extra,
                    next_attempt_at=now,
                    created_at=now,
                    transfer_root=item.transfer_root,
                    category=item.category,
                    version=item.version,
                )
            )
        return (item if texts else None), True

    def _ask_again(self, s: Tx, item: Outbox, named: set[str]) -> tuple[list[str], bool]:
        """A request's public reply as it must read now: only the payers it names who are still pending,
        have not said STOP and still allow public replies, by their current handles. And whether rows
        were written (a transfer cancelled, a DM queued)."""
        rows = [
            t
            for t in s.transfers.of_root(item.transfer_root or "")
            if t.command_tweet_id == item.version
            and t.kind == TransferKind.REQUEST
            and t.status == Status.PENDING
            and t.sender_id in named
        ]
        if not rows:
            return [], False
        first = rows[0]
        requester = s.users.get(first.recipient_id) or User(id=first.recipient_id, handle=first.recipient_id)
        now = self.ctx.clock.now()
        if requester.opted_out:  # they said STOP after asking: the request ends, nobody is named
            for t in rows:
                set_status(s, t, Status.CANCELLED, now, reason=Reason.REQUESTER_STOP)
            return [], True
        ask = Ask(money(first), first.lang, first.memo, XUser(requester.id, requester.handle, requester.name))
        keep: list[XUser] = []
        codes: dict[str, str] = {}
        changed = False
        for t in rows:
            payer = s.users.get(t.sender_id) or User(id=t.sender_id, handle=t.sender_id)
            if payer.opted_out:
                changed = True
                set_status(s, t, Status.CANCELLED, now, reason=Reason.PAYER_STOP)
                text = say("request_payer_left", t.lang, payer=payer.handle, amount=money(t), code=t.code)
                self.common.queue_dm(s, t.recipient_id, text, PRIORITY_OUTCOME, root=t.root_tweet_id)
            elif payer.privacy != Privacy.PUBLIC and item.category == Category.ASK:
                changed = True
                self.common.queue_dm(
                    s,
                    t.sender_id,
                    ask_dm_text(ask, t.code, self.ctx.policy.request_ttl),
                    PRIORITY_CONFIRM,
                    root=t.root_tweet_id,
                    version=t.command_tweet_id,
                )
            else:
                keep.append(XUser(payer.id, payer.handle, payer.name))
                codes[payer.id] = t.code
        if not keep:
            return [], changed
        if item.category == Category.ASK_BY_DM:
            return [by_dm_text(ask, keep)], changed
        return [text for text, _ in request_texts(ask, keep, codes)], changed

    def confirmation_sent(self, s: Tx, message: Outbox) -> None:
        """A confirmation request went out: its time to answer runs from now, not from the post.

        Under DM rate limits a confirmation can wait in the outbox; the person
        is told "expires in 10 min" and must have those 10 minutes. Runs in
        the caller's transaction (the one that marks the message sent)."""
        self.confirmations_sent(s, [message])

    def confirmations_sent(self, s: Tx, messages: list[Outbox]) -> None:
        """`confirmation_sent` for several messages sent, their commands' transfers read in one query."""
        asks = [m for m in messages if m.priority == PRIORITY_CONFIRM and m.transfer_root]
        if not asks:
            return
        by_root: dict[str, list[Transfer]] = {}
        for t in s.transfers.of_roots({m.transfer_root for m in asks if m.transfer_root}):
            by_root.setdefault(t.root_tweet_id, []).append(t)
        for message in asks:
            self._asked(message, by_root.get(message.transfer_root or "", []))

    def _asked(self, message: Outbox, group: list[Transfer]) -> None:
        now = self.ctx.clock.now()
        at = min(message.sent_at or now, now)
        for t in group:
            if t.status != Status.PENDING:
                continue
            if message.version and t.command_tweet_id != message.version:
                continue  # an older version's confirmation asks nothing of the newer one
            if message.kind == MessageKind.DM and t.sender_id != message.to_user_id:
                continue
            if message.kind == MessageKind.REPLY and say("request_reply.code", t.lang, code=t.code) not in message.text:
                continue  # a request's payers may be asked in several replies: each asks those it names
            ttl = self.ctx.policy.confirm_ttl if t.kind == TransferKind.SEND else self.ctx.policy.request_ttl
            if t.expires_at < at + ttl:
                t.expires_at = at + ttl
            if t.asked_at is None:
                t.asked_at, t.asked_id = at, message.x_id
            if t.first_asked_at is None:
                t.first_asked_at, t.first_asked_id = at, message.x_id
