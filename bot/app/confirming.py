"""A yes or a no to a confirmation, judged by the version rule: which pending transfers of the payer's an
answer can answer (only a version whose confirmation reached X before the answer was sent), what a bare
answer may be meant for, and what is said when it answers nothing. See docs/consent.md."""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from bot import messages as msg
from bot.app.base import Context, Shared, answers, handle_of, id_after, money, set_status
from bot.app.common import Common
from bot.domain import Reason, Status, Step, TransferKind, money_key
from bot.domain.entities import PRIORITY_CONFIRM, PRIORITY_OUTCOME, Transfer, User
from bot.errors import AnswerInDoubt, CommandError
from bot.messages import text as say
from bot.repo.port import Tx

log = logging.getLogger(__name__)

# How long a confirmation that closed unanswered keeps a bare answer from reaching another one (see
# `_closed_meanwhile`): a bare yes a day later is no longer taken for it.
LAPSE_MEMORY = timedelta(hours=24)


def _waiting_at(t: Transfer, said_at: datetime, said_id: str | None) -> bool:
    """Whether `t` still waited for its payer's answer when an answer was sent at `said_at` (X's event `said_id`):
    it waits now; or an answer of theirs sent after that one (or at the same instant: a tie proves nothing)
    answered it; or, unanswered, an edit voided it at or after that moment, or its time ran out after it."""
    if t.status == Status.PENDING:
        return True
    if t.answered_at is not None:
        after = id_after(t.answered_id, said_id)
        return after if after is not None else t.answered_at >= said_at
    if t.status == Status.EXPIRED:
        return t.expires_at > said_at
    return t.status == Status.CANCELLED and t.updated_at >= said_at


class Confirming:
    """The payers' yes and no, each judged against the version it can answer."""

    def __init__(self, ctx: Context, shared: Shared, common: Common) -> None:
        self.ctx = ctx
        self.shared = shared
        self.common = common

    def answer(  # noqa: C901
        self,
        s: Tx,
        user_id: str,
        code: str | None,
        *,
        confirm: bool,
        lang: str,
        said_at: datetime | None = None,
        said_id: str | None = None,
        has_card: bool = True,
    ) -> list[int]:
        """Apply a yes or a no from `user_id`, sent at `said_at` as X's event `said_id`; returns the
        transfers to execute now. `has_card`: whether the payer has a saved card, as the provider said before
        the unit of work opened (True when it could not say).

        An answer counts only for a version whose confirmation reached X before the answer was sent
        (see `answers`): a yes sent earlier, or one that an edit overtook, confirms nothing."""
        now = self.ctx.clock.now()
        said_at = min(said_at or now, now)
        if self.shared.mentions_read_at is not None and said_at > self.shared.mentions_read_at:
            # An edit (or a post) sent before this answer may not be read yet: judged once mentions are read.
            raise AnswerInDoubt(f"an answer from {user_id} waits for the mentions sent before it to be read")
        pending = s.transfers.pending_of(user_id)
        doubt = self._in_doubt(s, [t for t in pending if t.asked_at is None])
        if any(
            code in (None, t.code)
            and t.command_tweet_id in doubt
            and id_after(said_id, t.command_tweet_id) is not False
            and said_at >= doubt[t.command_tweet_id]
            for t in pending
        ):
            raise AnswerInDoubt(f"an answer from {user_id} waits for a confirmation's send to be settled")
        lapsed: list[Transfer] = []
        for t in pending:
            if t.expires_at <= said_at and answers(t, said_at, said_id):
                set_status(s, t, Status.EXPIRED, now)
                lapsed.append(t)
        groups: dict[str, list[Transfer]] = defaultdict(list)
        unasked = False
        for t in pending:
            if t.status != Status.PENDING:
                continue
            if answers(t, said_at, said_id):
                groups[t.code].append(t)
            elif code in (None, t.code):
                unasked = True
        # A bare yes sent after one's own post that made a version not asked before the yes (not asked yet, or
        # asked after it: the answer waited for the mentions, or X was slow; or voided since, by an edit read after
        # the yes was sent) may be meant for that one: it confirms nothing else (another send of one's own must not
        # catch the yes meant for the new one).
        waiting = (
            [
                t
                for t in [*pending, *s.transfers.left_pending_since(user_id, said_at)]
                if _waiting_at(t, said_at, said_id)
            ]
            if code is None
            else []
        )
        earlier = any(
            t.kind == TransferKind.SEND
            and not answers(t, said_at, said_id)
            and id_after(said_id, t.command_tweet_id) is not False
            for t in waiting
        )
        if earlier or (unasked and (not groups or (code and code not in groups))):
            # Sent before the confirmation it could be meant for: kept for nothing, answered once.
            self.common.answer_dm(s, user_id, say("answer.too_early", lang), lang)
            return []
        if code is None and groups and (gone := self._closed_meanwhile(s, user_id, lapsed, groups, said_at, said_id)):
            # A bare answer from someone whose confirmation closed unanswered (lapsed, or voided by an edit) while
            # another group waited may be meant for the one that closed: it is told so, and moves nothing else.
            key = "expired.bare" if gone.status == Status.EXPIRED else "cancelled.bare"
            self.common.answer_dm(s, user_id, self._expired_text(s, gone, lang, key), lang)
            return []
        if code is None and groups and (other := self._in_view(waiting, groups, said_at, said_id)):
            # A bare answer sent while another payment of theirs waited that it cannot answer now (its post edited
            # since, voided, or answered by an answer of theirs sent after this one and read before it): the answer
            # may be meant for it, or given with both in mind. It is told so, and moves nothing.
            text = self._edited_text(s, other, lang) if other.answered_at is None else say("several.bare", lang)
            self.common.answer_dm(s, user_id, text, lang)
            return []
        if code is None and groups and self._newest_post_unasked(s, user_id, groups, said_id):
            # Their newest post to the bot came after every confirmation this answer could answer, and before it,
            # and made no confirmation (refused, even silently; help; chatter): the answer may be meant for it.
            self.common.answer_dm(s, user_id, say("answer.too_early", lang), lang)
            return []
        if code:
            target = groups.get(code)
        elif len(groups) == 1 and next(iter(groups.values()))[0].kind == TransferKind.SEND:
            target = next(iter(groups.values()))  # a bare answer answers only one's own send
        elif groups:
            # Several groups, or someone else's request (asked in public, not where the payer answers): a bare
            # answer is given the codes. A refusal's menu offers refusals: following it never pays.
            options = [
                say(
                    "choose.option" if confirm else "choose.option_no",
                    lang,
                    code=c,
                    amount=money(ts[0]),
                    handles=msg.handles([handle_of(s, t.recipient_id) for t in ts]),
                )
                for c, ts in groups.items()
            ]
            joined = say("choose.or", lang).join(options)
            text = (
                say("choose", lang, n=len(groups), options=joined)
                if len(groups) > 1
                else say("choose.request", lang, options=joined)
            )
            self.common.answer_dm(s, user_id, text, lang, PRIORITY_CONFIRM)
            return []
        else:
            target = None
        if target is None:
            self.common.answer_dm(s, user_id, self._why_not(s, user_id, code, lang), lang)
            return []
        first = target[0]
        if not confirm:
            for t in target:
                set_status(s, t, Status.CANCELLED, now, reason=Reason.SENDER_SAID_NO)
                t.answered_at, t.answered_id = said_at, said_id
            self.common.queue_dm(s, user_id, say("cancelled", lang, code=first.code), PRIORITY_OUTCOME)
            if first.kind == TransferKind.REQUEST:
                text = say(
                    "request_declined", first.lang, payer=handle_of(s, user_id), amount=money(first), code=first.code
                )
                self.common.queue_dm(s, first.recipient_id, text, PRIORITY_OUTCOME, root=first.root_tweet_id)
            return []
        if not has_card:  # a yes that moves nothing is answered within the allowance
            self.common.answer_dm(s, user_id, say("no_card", lang, code=first.code), lang)
            return []
        try:  # the cap counts money when it moves: the last 24 hours, every currency, sends and requests
            self.ctx.policy.check(money(first), len(target), self.common.moved_24h(s, user_id, first.currency))
        except CommandError as err:
            self.common.answer_dm(s, user_id, say(err.key, lang, **err.params), lang)
            return []
        for t in target:
            set_status(s, t, Status.EXECUTING, now)
            t.answered_at, t.answered_id = said_at, said_id
            t.pay_key = money_key(Step.PAY, t.root_tweet_id, t.sender_id, t.recipient_id)
            t.confirmed_at = now
        return [t.id for t in target if t.id is not None]

    @staticmethod
    def _in_doubt(s: Tx, unasked: list[Transfer]) -> dict[str, datetime]:
        """For versions not known to be asked: when the send of their confirmation began, if that send
        is in doubt (marked sending, X may have it). Keyed by version (command post id)."""
        if not unasked:
            return {}
        rows = s.outbox.confirmations_in_doubt({t.command_tweet_id for t in unasked})
        return {r.version: r.attempted_at for r in rows if r.version and r.attempted_at}

    def _closed_meanwhile(
        self,
        s: Tx,
        user_id: str,
        lapsed: list[Transfer],
        groups: dict[str, list[Transfer]],
        said_at: datetime,
        said_id: str | None,
    ) -> Transfer | None:
        """The newest of the payer's confirmations that this answer could answer and that closed unanswered
        (expired now or by the tick, or voided by an edit of its post) within LAPSE_MEMORY and after one of the
        waiting `groups` was asked: a bare answer may be meant for it. None when there is none."""
        asked = min((t.asked_at for ts in groups.values() for t in ts if t.asked_at is not None), default=None)
        since = max(asked or self.ctx.clock.now(), self.ctx.clock.now() - LAPSE_MEMORY)
        seen = {t.id for t in lapsed}
        # Only one's own sends: a bare answer never answers a request (someone else's, whose author may void it)
        sends = [t for t in lapsed if t.kind == TransferKind.SEND]
        found = [t for t in sends if t.updated_at >= since]  # a tie proves nothing: counted
        found += [
            t
            for t in s.transfers.closed_unanswered(user_id, since)
            if t.id not in seen and t.kind == TransferKind.SEND and answers(t, said_at, said_id)
        ]
        return max(found, key=lambda t: (t.updated_at, t.id or 0), default=None)

    @staticmethod
    def _newest_post_unasked(s: Tx, user_id: str, groups: dict[str, list[Transfer]], said_id: str | None) -> bool:
        """Whether the payer's newest post to the bot, one that made no confirmation, came before this answer and
        after every confirmation it could answer."""
        last = (s.users.get(user_id) or User(id="", handle="")).last_post_id
        asked = [int(t.asked_id) for ts in groups.values() for t in ts if t.asked_id]
        return bool(last and id_after(said_id, last) and asked and int(last) > max(asked))

    @staticmethod
    def _in_view(
        waiting: list[Transfer], groups: dict[str, list[Transfer]], said_at: datetime, said_id: str | None
    ) -> Transfer | None:
        """A payment of the payer's that waited when this answer was sent (`waiting`), other than those it can
        answer now, and of which a version had been asked before it: the payer knew of it, so a bare answer was
        given with it in view. None when there is none."""
        grouped = {g.id for ts in groups.values() for g in ts}
        for t in waiting:
            if t.id in grouped or t.first_asked_at is None:
                continue
            after = id_after(said_id, t.first_asked_id)
            if after if after is not None else said_at >= t.first_asked_at:  # a tie proves nothing: counted
                return t
        return None

    def _edited_text(self, s: Tx, t: Transfer, lang: str) -> str:
        """What a payer is told when their bare answer was overtaken by an edit of another payment of theirs."""
        if t.kind == TransferKind.REQUEST:
            return say("edited.bare_request", lang, handles=msg.handles([handle_of(s, t.recipient_id)]))
        group = s.transfers.of_root(t.root_tweet_id, sender_id=t.sender_id)
        names = [handle_of(s, g.recipient_id) for g in group if g.status == t.status]
        return say("edited.bare", lang, handles=msg.handles(names))

    def _expired_text(self, s: Tx, last: Transfer, lang: str, key: str = "expired") -> str:
        """What a payer is told of a confirmation of theirs that closed unanswered (expired, or voided by an edit):
        the amount, to whom (everyone of that command whose part closed so), when."""
        group = s.transfers.of_root(last.root_tweet_id, sender_id=last.sender_id)
        names = [handle_of(s, t.recipient_id) for t in group if t.status == last.status]
        return say(
            key, lang, amount=money(last), handles=msg.handles(names), at=f"{last.expires_at:%H:%M}", code=last.code
        )

    def _why_not(self, s: Tx, user_id: str, code: str | None, lang: str) -> str:
        """The answer to a yes/no that matches no pending request."""
        last = s.transfers.latest_of(user_id, code or None)
        if last is None:
            return say("nothing.code", lang, code=code) if code else say("nothing", lang)
        if last.status == Status.EXPIRED:
            return self._expired_text(s, last, lang)
        if code or self.ctx.clock.now() - last.updated_at < self.ctx.policy.confirm_ttl:
            return say("already", lang, code=last.code, status=msg.status_word(last.status, lang))
        return say("nothing", lang)
