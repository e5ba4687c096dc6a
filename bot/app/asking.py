"""A mention arrives: parse it, refuse it or ask for confirmation (a send by DM, a request in public)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from bot import messages as msg
from bot.app.base import ERROR_REPLY_EVERY, MAX_VERSIONS, Ask, ServiceBase, party, saved_id
from bot.app.wording import by_dm_text, request_texts
from bot.commands import Command, PostKind, parse_command
from bot.domain import ENDED_BY_EDIT, TRANSFER, Category, Privacy, Reason, Status, TransferKind
from bot.errors import CommandError
from bot.faults import fault_point
from bot.messages import text as say
from bot.ports import Mention, XUser
from bot.repo.port import Tx
from bot.store import PRIORITY_CONFIRM, Mark, MentionCursor, Transfer, TransferEvent, User

log = logging.getLogger(__name__)


class Asking(ServiceBase):
    """Mentions in, confirmations out."""

    _by_dm_text = staticmethod(by_dm_text)
    _request_texts = staticmethod(request_texts)

    def on_mention(self, m: Mention, *, since: datetime | None = None) -> bool:
        """Handle one mention once. Posts older than `since` are recorded, not acted on.

        Returns True when the mention was new.
        """
        return self.on_mentions([m], since=since) == 1

    def on_mentions(
        self, page: list[Mention], *, since: datetime | None = None, cursor: MentionCursor | None = None
    ) -> int:
        """Handle a page of mentions, each once, in one unit of work (one commit), and move the mentions
        cursor (`cursor`) in it; returns how many were new. If one fails, nothing of the page is kept: the
        caller handles them one by one."""
        with self.uow() as s:
            new = s.mentions.unseen([m.id for m in page])
            people = {u.id for m in page if m.id in new for u in (XUser(m.author_id, ""), *m.mentioned.values())}
            self._read_ahead(s, people, {m.root_id for m in page if m.id in new})
            handled = 0
            for m in page:
                if m.id not in new:
                    continue
                new.discard(m.id)
                s.mentions.add(m.id, self.clock.now())
                self._remember(s, XUser(m.author_id, m.author_handle, m.author_name), wrote=True)
                for user in m.mentioned.values():
                    self._remember(s, user)
                if since is None or m.created_at >= since:
                    self._handle_mention(s, m)
                handled += 1
            if cursor is not None:
                cursor.write(s.checkpoints)
            s.commit()
        fault_point("mention_committed")
        return handled

    def _handle_mention(self, s: Tx, m: Mention) -> None:
        if m.author_id == self.bot_id or m.is_repost:
            return
        author = s.users.get(m.author_id)
        if author is not None and (author.last_post_id is None or int(m.id) > int(author.last_post_id)):
            author.last_post_id = m.id  # until it is asked about (`_ask`), a bare answer after it may be meant for it
            s.users.add(author)
        if m.id != m.root_id and self._answered(s, m.root_id):
            log.info("post %s edits a command already answered; ignored", m.id)
            return
        try:
            cmd = parse_command(
                self._command_text(m),
                bot=self.bot_handle,
                currency=self.currency,
                enabled=self.enabled,
                fediverse=self.fediverse,
            )
            # Every edit voids the version it replaces, whatever it now says; only `_ask` may put a new
            # version in its place.
            if cmd.kind == PostKind.HELP:
                self._void_pending_edit(s, m)
                self._answer_publicly(s, m, say("tweet_help", cmd.lang, bot=self.bot_handle), Category.HELP)
                return
            if s.checkpoints.flag(Mark.WINDING_DOWN):
                self._void_pending_edit(s, m)
                self._answer_publicly(s, m, say("closing", cmd.lang), Category.MAINTENANCE)
                return
            if s.checkpoints.flag(Mark.PAUSED) and not self._edits_pending(s, m):
                # Paused, a new command gets the maintenance answer; an edit of a pending one is applied
                # (only money waits), so the version it replaces can never be paid on resume.
                self._answer_publicly(s, m, say("maintenance", cmd.lang), Category.MAINTENANCE)
                return
            self._ask(s, m, cmd)
        except CommandError as err:
            self._void_pending_edit(s, m)
            if err.quiet or self._in_reply_context_only(m):
                # Where the bot is only among a reply's leading mentions, the post is conversation
                # in a thread that named it ("send my regards"): what does not parse gets no answer.
                return
            author = s.users.get(m.author_id) or User(id="", handle="")
            if err.key == "limit.daily" and author.privacy != Privacy.PUBLIC:
                # What is left of the cap tells what they sent: a discreet sender hears it by DM only.
                self._answer_dm(s, m.author_id, err.message, err.lang)
                return
            # A refusal for the limits is its own kind of answer: an earlier typo's reply within the
            # hour must not silence it (each kind is still said at most once an hour).
            self._answer_publicly(s, m, err.message, Category.LIMIT if err.key.startswith("limit.") else Category.ERROR)

    def _answer_publicly(self, s: Tx, m: Mention, sentence: str, category: Category) -> None:
        """Reply to a command with help or a refusal, at most once per user per hour. Its author is named like
        anyone a reply names: one who says STOP before it goes out is written without the @."""
        if s.outbox.count_about(m.author_id, category, self.clock.now() - ERROR_REPLY_EVERY):
            log.info("not answering user %s again within the hour (%s): %s", m.author_id, category, sentence)
            return
        self._queue_reply(
            s, m.id, f"@{m.author_handle} {sentence}", category=category, about=m.author_id, names=[m.author_id]
        )

    def _command_text(self, m: Mention) -> str:
        """The part of the post to parse: from display_text_range on, as if addressed to the bot.

        The leading @handles of a reply are context; when the bot is named only
        there, the visible text is still a command to it.
        """
        shown = m.text[m.display_start :]
        return f"@{self.bot_handle} {shown}" if self._in_reply_context_only(m) else shown

    def _in_reply_context_only(self, m: Mention) -> bool:
        """Whether the bot is named only among the leading @handles of a reply, not in its text."""
        mention = re.compile(rf"@{re.escape(self.bot_handle)}(?![A-Za-z0-9_])", re.I)
        return not mention.search(m.text[m.display_start :]) and bool(mention.search(m.text[: m.display_start]))

    def _ask(self, s: Tx, m: Mention, cmd: Command) -> None:  # noqa: C901
        """Turn a send or a request into pending transfers and ask for confirmation."""
        if cmd.amount is None:  # cannot happen: said so, rather than an assert that -O removes
            raise RuntimeError("cmd.amount is missing")
        lang, is_send = cmd.lang, cmd.kind == PostKind.SEND
        existing = s.transfers.of_root(m.root_id)
        dropped = {party(t) for t in existing if t.reason == Reason.EDITED}
        live = [t for t in existing if party(t) not in dropped]
        if any(t.status != Status.PENDING for t in live):
            return
        if live and int(m.id) <= max(int(t.command_tweet_id) for t in live):
            return  # an older version delivered late
        if live and any(t.kind != cmd.kind for t in live):
            # Who pays is part of what a yes answers: a send edited into a request (or back) is a new
            # command, so the old one ends here and nobody's earlier answer can reach the new one.
            self._void_pending_edit(s, m, reason=ENDED_BY_EDIT)
            raise CommandError("edit.new_post", lang=lang)
        if m.id != m.root_id and len(m.edit_ids) > MAX_VERSIONS:
            # Each version is asked again (in public, for a request): a bounded number of times.
            self._void_pending_edit(s, m, reason=ENDED_BY_EDIT)
            raise CommandError("edit.too_many", lang=lang, n=MAX_VERSIONS - 1)
        people: list[XUser] = []
        for handle in cmd.recipients:
            user = m.mentioned.get(handle)
            if user is None or not user.id:
                # On Mastodon a handle naming another instance was looked for there too (the adapter resolves it)
                key = (
                    "recipient.unknown.remote"
                    if "@" in handle
                    else msg.on_timeline("recipient.unknown", mastodon=self.fediverse)
                )
                raise CommandError(key, lang=lang, handle=handle)
            if user.id == m.author_id:
                raise CommandError("recipient.self" if is_send else "request.self", lang=lang)
            if user.id == self.bot_id:
                raise CommandError("recipients.bot", lang=lang, bot=self.bot_handle)
            row = s.users.get(user.id)
            if row is not None and row.opted_out:
                raise CommandError(
                    "recipient.opted_out" if is_send else "payer.opted_out", lang=lang, handle=user.handle
                )
            people.append(user)
        if live and not is_send and {party(t) for t in live} != {u.id for u in people}:
            # Who pays is part of what a yes answers: a request edited to other payers is a new command.
            self._void_pending_edit(s, m, reason=ENDED_BY_EDIT)
            raise CommandError("edit.new_post", lang=lang)
        if dropped & {u.id for u in people}:
            # That person's row was voided by an earlier edit; a transfer is keyed
            # by (post, sender, recipient), so it cannot be asked again.
            raise CommandError("edit.too_late", lang=lang)
        if is_send:  # refused early when it could not pass at the yes; the yes checks again
            self.policy.check(cmd.amount, len(people), self._moved_24h(s, m.author_id, cmd.amount.currency))
        else:
            self.policy.check_amount(cmd.amount)
        if not live or is_send:  # an edit of a send may name new people; a request's payers cannot change
            self._check_reach(s, m, is_send, people)
        now = self.clock.now()
        keep = {u.id for u in people}
        for t in live:
            if party(t) not in keep:
                self._set_status(s, t, Status.CANCELLED, now, reason=Reason.EDITED)
        by_party = {party(t): t for t in live}
        ttl = self.policy.confirm_ttl if is_send else self.policy.request_ttl
        group_code = self._fresh_code(s, m.author_id) if is_send else ""
        codes: dict[str, str] = {}
        rows: dict[str, Transfer] = {}
        for user in people:
            sender, recipient = (m.author_id, user.id) if is_send else (user.id, m.author_id)
            t = by_party.get(user.id) or Transfer(
                root_tweet_id=m.root_id,
                sender_id=sender,
                recipient_id=recipient,
                kind=TransferKind(cmd.kind),
                status=TRANSFER.begin(Status.PENDING),
                created_at=now,
                command_tweet_id=m.id,
                amount_minor=0,
                currency=cmd.amount.currency,
                code="",
                expires_at=now,
                updated_at=now,
            )
            t.code = codes[user.id] = group_code or self._fresh_code(s, user.id)
            # A request's payers see the memo as plain words: that is what their yes pays for (and records).
            t.command_tweet_id, t.lang = m.id, lang
            t.memo = cmd.memo if is_send else (msg.public_memo(cmd.memo) or None)
            t.amount_minor, t.currency = cmd.amount.minor, cmd.amount.currency
            t.expires_at, t.updated_at = now + ttl, now
            t.asked_at = t.asked_id = None  # a new version: no answer counts until its confirmation is out
            s.transfers.add(t)
            rows[user.id] = t
        author = s.users.get(m.author_id)
        if author is not None and author.last_post_id == m.id:
            author.last_post_id = None  # this post is asked about: answers after it are judged by its version
            s.users.add(author)
        s.flush()  # new rows get their ids, for their timelines
        for user_id, t in rows.items():
            note = f"asked again after an edit (post {m.id})" if user_id in by_party else f"command post {m.id}"
            s.timeline.add(TransferEvent(transfer_id=saved_id(t), at=now, status=Status.PENDING, note=note))
        if is_send:
            self._queue_dm(
                s,
                m.author_id,
                self._confirm_text(cmd, m.author_id, people, group_code),
                PRIORITY_CONFIRM,
                root=m.root_id,
                version=m.id,
            )
        else:
            # A payer who keeps their payments out of public (private, quiet) is asked by DM, with the
            # amount; the public reply only tells them to look there (they wrote to the bot: DMs reach them).
            # Each public reply is checked again just before it is sent, once every DM sent before it
            # was read: a payer who said STOP meanwhile is dropped, one who went discreet is asked by DM
            # (`prepare_reply`), and everyone is named by their current handle.
            discreet = [u for u in people if (s.users.get(u.id) or User(id="", handle="")).privacy != Privacy.PUBLIC]
            shown = [u for u in people if u not in discreet]
            ask = Ask(cmd.amount, lang, cmd.memo, XUser(m.author_id, m.author_handle, m.author_name))
            for text, group in self._request_texts(ask, shown, codes) if shown else []:
                self._queue_reply(
                    s,
                    m.id,
                    text,
                    root=m.root_id,
                    priority=PRIORITY_CONFIRM,
                    version=m.id,
                    category=Category.ASK,
                    names=[m.author_id, *(u.id for u in group)],
                )
            if discreet:
                self._queue_reply(
                    s,
                    m.id,
                    self._by_dm_text(ask, discreet),
                    root=m.root_id,
                    priority=PRIORITY_CONFIRM,
                    version=m.id,
                    category=Category.ASK_BY_DM,
                    names=[m.author_id, *(u.id for u in discreet)],
                )
            for user in discreet:
                self._queue_dm(
                    s, user.id, self._ask_dm_text(ask, codes[user.id]), PRIORITY_CONFIRM, root=m.root_id, version=m.id
                )

    def _ask_dm_text(self, ask: Ask, code: str) -> str:
        """A request's confirmation by DM, for a payer who keeps payments out of public."""
        what = say("confirm.pay", ask.lang, amount=ask.amount, names=msg.who(ask.requester.handle, ask.requester.name))
        if plain := msg.public_memo(ask.memo):  # someone else's words: plain, even in a DM
            what += say("confirm.memo", ask.lang, memo=plain)
        return say(
            "confirm.ask_request", ask.lang, what=what, ttl=msg.duration(self.policy.request_ttl, ask.lang), code=code
        )

    def _check_reach(self, s: Tx, m: Mention, is_send: bool, people: list[XUser]) -> None:
        """Bound what one person's posts make the bot say to others: requests per requester per hour
        and per payer per day, and payments (each a public "held for you") to people who never wrote
        to the bot, per sender per day. Edits of a command already counted are not counted again."""
        now = self.clock.now()
        if not is_send:
            asked = s.transfers.requests_since(now - timedelta(hours=1), requester_id=m.author_id)
            if asked >= self.policy.requests_per_hour:
                raise CommandError("limit.requests", n=asked)
            for user in people:
                n = s.transfers.requests_since(now - timedelta(hours=24), payer_id=user.id)
                if n >= self.policy.requests_per_payer_day:
                    raise CommandError("limit.payer", n=n)
            return
        self._check_sends(s, m)
        new = [u.id for u in people if (row := s.users.get(u.id)) is None or row.wrote_at is None]
        if not new:
            return
        before = s.transfers.strangers_paid(m.author_id, now - timedelta(hours=24), other_than_root=m.root_id)
        if len(before | set(new)) > self.policy.strangers_per_day:
            raise CommandError("limit.strangers", n=self.policy.strangers_per_day)

    def _check_sends(self, s: Tx, m: Mention) -> None:
        """Bound what one sender's posts make the bot send them (each a confirmation DM at the head of the
        queue, from the operator's DM allowance): send commands per hour, and commands waiting for an answer
        at once; without a saved card, fewer (one by default: its confirmation says to REGISTER, more would say
        it again). An
        edit of a command already counted is not counted again."""
        now = self.clock.now()
        sent = s.transfers.sends_since(m.author_id, now - timedelta(hours=1), other_than_root=m.root_id)
        if sent >= self.policy.sends_per_hour:
            raise CommandError("limit.sends", n=sent)
        waiting = {
            t.root_tweet_id
            for t in s.transfers.pending_of(m.author_id)
            if t.kind == TransferKind.SEND and t.root_tweet_id != m.root_id
        }
        if not waiting:
            return
        if len(waiting) >= self.policy.pending_sends:
            raise CommandError("limit.pending", n=len(waiting))
        if len(waiting) >= self.policy.pending_sends_no_card and not self._may_have_card(m.author_id):
            raise CommandError("limit.pending_no_card")

    def _confirm_text(self, cmd: Command, author_id: str, people: list[XUser], code: str) -> str:
        if cmd.amount is None:  # cannot happen: said so, rather than an assert that -O removes
            raise RuntimeError("cmd.amount is missing")
        lang = cmd.lang
        names = ", ".join(msg.who(u.handle, u.name) for u in people)
        if len(people) == 1:
            what = say("confirm.one", lang, amount=cmd.amount, names=names)
        else:
            what = say("confirm.many", lang, amount=cmd.amount, names=names, total=cmd.amount * len(people))
        if cmd.memo:
            what += say("confirm.memo", lang, memo=cmd.memo)
        ttl = msg.duration(self.policy.confirm_ttl, lang)
        out = say("confirm.ask", lang, what=what, ttl=ttl, code=code)
        if not self._may_have_card(author_id):
            out += say("confirm.no_card", lang)
        return out

    def _answered(self, s: Tx, root_id: str) -> bool:
        """Whether the command posted as root_id got an answer (yes, no, expiry) already."""
        return any(t.status != Status.PENDING and t.reason != "edited" for t in s.transfers.of_root(root_id))

    def _edits_pending(self, s: Tx, m: Mention) -> bool:
        """Whether `m` is an edit of a command with a version still waiting for its answer."""
        return m.id != m.root_id and any(t.status == Status.PENDING for t in s.transfers.of_root(m.root_id))

    def _void_pending_edit(self, s: Tx, m: Mention, reason: str = "edited") -> None:
        """An edit that does not become the command's new version (help, chatter, an unreadable or refused
        command, maintenance) cancels the version it replaces. With ENDED_BY_EDIT the command is over: later
        edits of it are ignored (see `_answered`). An older version delivered late voids nothing."""
        if m.root_id == m.id:
            return
        now = self.clock.now()
        for t in s.transfers.of_root(m.root_id):
            if t.status == Status.PENDING and int(t.command_tweet_id) < int(m.id):
                self._set_status(s, t, Status.CANCELLED, now, reason=reason)

    def _fresh_code(self, s: Tx, sender_id: str) -> str:
        taken = {t.code for t in s.transfers.pending_of(sender_id)}
        taken |= {p.account_code for p in s.payouts.awaiting_account(sender_id) if p.account_code}
        for _ in range(50):
            code = self.new_code()
            if code not in taken and not code.isdigit():  # "YES 1234" confirms a bank account (cashout.py)
                return code
        raise RuntimeError("could not find a free confirmation code")
