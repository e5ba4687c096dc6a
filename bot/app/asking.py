"""A mention arrives: parse it, refuse it or ask for confirmation (a send by DM, a request in public)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from bot import messages as msg
from bot.app.base import ERROR_REPLY_EVERY, MAX_VERSIONS, Ask, Context, party, saved_id, set_status
from bot.app.common import Common
from bot.app.reach import check_reach
from bot.app.wording import ask_dm_text, by_dm_text, request_texts
from bot.commands import Command, PostKind, parse_command
from bot.domain import ENDED_BY_EDIT, TRANSFER, Category, Privacy, Reason, Status, TransferKind
from bot.domain.entities import PRIORITY_CONFIRM, Transfer, TransferEvent, User
from bot.domain.marks import Mark, MentionCursor
from bot.errors import CommandError
from bot.faults import fault_point
from bot.messages import text as say
from bot.ports import Mention, XUser
from bot.repo.port import Tx

log = logging.getLogger(__name__)


class Asking:
    """Mentions in, confirmations out."""

    def __init__(self, ctx: Context, common: Common) -> None:
        self.ctx = ctx
        self.common = common

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
        caller handles them one by one.

        Whether the authors of its send commands have a card is asked of the provider first, before the unit of
        work opens (read, commit, call, commit): the provider is never called while one is open."""
        cards = self.common.cards_of(self._senders(page, since))
        with self.ctx.uow() as s:
            new = s.mentions.unseen([m.id for m in page])
            people = {u.id for m in page if m.id in new for u in (XUser(m.author_id, ""), *m.mentioned.values())}
            self.common.read_ahead(s, people, {m.root_id for m in page if m.id in new})
            s.payouts.warm(people)  # the codes a cash-out holds, which a new confirmation code must not take
            handled = 0
            for m in page:
                if m.id not in new:
                    continue
                new.discard(m.id)
                s.mentions.add(m.id, self.ctx.clock.now())
                self.common.remember(s, XUser(m.author_id, m.author_handle, m.author_name), wrote=True)
                for user in m.mentioned.values():
                    self.common.remember(s, user)
                if since is None or m.created_at >= since:
                    self._handle_mention(s, m, cards)
                handled += 1
            if cursor is not None:
                cursor.write(s.checkpoints)
            s.commit()
        fault_point("mention_committed")
        return handled

    def _senders(self, page: list[Mention], since: datetime | None) -> set[str]:
        """The authors of the page's new send commands that may be asked (not while payments are paused or
        winding down, nor past the author's sends per hour): whether each has a saved card shapes their
        confirmation, and how many sends they may leave waiting. A command refused before it is asked asks the
        provider nothing."""
        acted = [
            m
            for m in page
            if m.author_id != self.ctx.bot_id and not m.is_repost and (since is None or m.created_at >= since)
        ]
        if not acted:
            return set()
        hour_ago = self.ctx.clock.now() - timedelta(hours=1)
        with self.ctx.uow() as s:
            if s.checkpoints.flag(Mark.WINDING_DOWN):
                return set()
            held = s.checkpoints.flag(Mark.PAUSED)  # paused, only an edit of a waiting command is asked anew
            new = s.mentions.unseen([m.id for m in acted])
            authors = {
                m.author_id for m in acted if m.id in new and (not held or m.id != m.root_id) and self._is_send(m)
            }
            limit = self.ctx.policy.sends_per_hour
            s.transfers.warm(authors, hour_ago)  # one read for all of them
            return {a for a in authors if s.transfers.sends_since(a, hour_ago, other_than_root="") < limit}

    def _is_send(self, m: Mention) -> bool:
        try:
            cmd = parse_command(
                self._command_text(m),
                bot=self.ctx.bot_handle,
                currency=self.ctx.currency,
                enabled=self.ctx.enabled,
                fediverse=self.ctx.fediverse,
            )
        except CommandError:
            return False
        return cmd.kind == PostKind.SEND

    def _handle_mention(self, s: Tx, m: Mention, cards: dict[str, bool]) -> None:
        if m.author_id == self.ctx.bot_id or m.is_repost:
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
                bot=self.ctx.bot_handle,
                currency=self.ctx.currency,
                enabled=self.ctx.enabled,
                fediverse=self.ctx.fediverse,
            )
            # Every edit voids the version it replaces, whatever it now says; only `_ask` may put a new
            # version in its place.
            if cmd.kind == PostKind.HELP:
                self._void_pending_edit(s, m)
                self._answer_publicly(s, m, say("tweet_help", cmd.lang, bot=self.ctx.bot_handle), Category.HELP)
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
            self._ask(s, m, cmd, cards)
        except CommandError as err:
            self._void_pending_edit(s, m)
            if err.quiet or self._in_reply_context_only(m):
                # Where the bot is only among a reply's leading mentions, the post is conversation
                # in a thread that named it ("send my regards"): what does not parse gets no answer.
                return
            author = s.users.get(m.author_id) or User(id="", handle="")
            if err.key == "limit.daily" and author.privacy != Privacy.PUBLIC:
                # What is left of the cap tells what they sent: a discreet sender hears it by DM only.
                self.common.answer_dm(s, m.author_id, err.message, err.lang)
                return
            # A refusal for the limits is its own kind of answer: an earlier typo's reply within the
            # hour must not silence it (each kind is still said at most once an hour).
            self._answer_publicly(s, m, err.message, Category.LIMIT if err.key.startswith("limit.") else Category.ERROR)

    def _answer_publicly(self, s: Tx, m: Mention, sentence: str, category: Category) -> None:
        """Reply to a command with help or a refusal, at most once per user per hour. Its author is named like
        anyone a reply names: one who says STOP before it goes out is written without the @."""
        if s.outbox.count_about(m.author_id, category, self.ctx.clock.now() - ERROR_REPLY_EVERY):
            log.info("not answering user %s again within the hour (%s): %s", m.author_id, category, sentence)
            return
        self.common.queue_reply(
            s, m.id, f"@{m.author_handle} {sentence}", category=category, about=m.author_id, names=[m.author_id]
        )

    def _command_text(self, m: Mention) -> str:
        """The part of the post to parse: from display_text_range on, as if addressed to the bot.

        The leading @handles of a reply are context; when the bot is named only
        there, the visible text is still a command to it.
        """
        shown = m.text[m.display_start :]
        return f"@{self.ctx.bot_handle} {shown}" if self._in_reply_context_only(m) else shown

    def _in_reply_context_only(self, m: Mention) -> bool:
        """Whether the bot is named only among the leading @handles of a reply, not in its text."""
        mention = re.compile(rf"@{re.escape(self.ctx.bot_handle)}(?![A-Za-z0-9_])", re.I)
        return not mention.search(m.text[m.display_start :]) and bool(mention.search(m.text[: m.display_start]))

    def _ask(self, s: Tx, m: Mention, cmd: Command, cards: dict[str, bool]) -> None:  # noqa: C901
        """Turn a send or a request into pending transfers and ask for confirmation (`cards`: whether each
        sender has a saved card, as the provider said before the unit of work opened)."""
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
        if live and any(t.kind != TransferKind(cmd.kind) for t in live):
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
                    else msg.on_timeline("recipient.unknown", mastodon=self.ctx.fediverse)
                )
                raise CommandError(key, lang=lang, handle=handle)
            if user.id == m.author_id:
                raise CommandError("recipient.self" if is_send else "request.self", lang=lang)
            if user.id == self.ctx.bot_id:
                raise CommandError("recipients.bot", lang=lang, bot=self.ctx.bot_handle)
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
            self.ctx.policy.check(cmd.amount, len(people), self.common.moved_24h(s, m.author_id, cmd.amount.currency))
        else:
            self.ctx.policy.check_amount(cmd.amount)
        if not live or is_send:  # an edit of a send may name new people; a request's payers cannot change
            check_reach(
                s, self.ctx.policy, self.ctx.clock.now(), m, is_send, people, has_card=cards.get(m.author_id, True)
            )
        now = self.ctx.clock.now()
        keep = {u.id for u in people}
        for t in live:
            if party(t) not in keep:
                set_status(s, t, Status.CANCELLED, now, reason=Reason.EDITED)
        by_party = {party(t): t for t in live}
        ttl = self.ctx.policy.confirm_ttl if is_send else self.ctx.policy.request_ttl
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
            self.common.queue_dm(
                s,
                m.author_id,
                self._confirm_text(cmd, people, group_code, has_card=cards.get(m.author_id, True)),
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
            for text, group in request_texts(ask, shown, codes) if shown else []:
                self.common.queue_reply(
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
                self.common.queue_reply(
                    s,
                    m.id,
                    by_dm_text(ask, discreet),
                    root=m.root_id,
                    priority=PRIORITY_CONFIRM,
                    version=m.id,
                    category=Category.ASK_BY_DM,
                    names=[m.author_id, *(u.id for u in discreet)],
                )
            for user in discreet:
                self.common.queue_dm(
                    s,
                    user.id,
                    ask_dm_text(ask, codes[user.id], self.ctx.policy.request_ttl),
                    PRIORITY_CONFIRM,
                    root=m.root_id,
                    version=m.id,
                )

    def _confirm_text(self, cmd: Command, people: list[XUser], code: str, *, has_card: bool) -> str:
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
        ttl = msg.duration(self.ctx.policy.confirm_ttl, lang)
        out = say("confirm.ask", lang, what=what, ttl=ttl, code=code)
        if not has_card:
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
        now = self.ctx.clock.now()
        for t in s.transfers.of_root(m.root_id):
            if t.status == Status.PENDING and int(t.command_tweet_id) < int(m.id):
                set_status(s, t, Status.CANCELLED, now, reason=reason)

    def _fresh_code(self, s: Tx, sender_id: str) -> str:
        taken = {t.code for t in s.transfers.pending_of(sender_id)}
        taken |= {p.account_code for p in s.payouts.awaiting_account(sender_id) if p.account_code}
        for _ in range(50):
            code = self.ctx.new_code()
            if code not in taken and not code.isdigit():  # "YES 1234" confirms a bank account (cashout.py)
                return code
        raise RuntimeError("could not find a free confirmation code")
