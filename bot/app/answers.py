"""A DM arrives: a yes or no (judged by the version rule), or REGISTER, CLAIM, HISTORY, settings."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta

from bot import messages as msg
from bot.app.accounts import answer_account
from bot.app.base import answers, id_after, money
from bot.app.cashout import Cashout
from bot.commands import DmCommand, DmKind, parse_dm
from bot.domain import Category, PagePurpose, Privacy, Reason, Status, Step, TransferKind, money_key
from bot.errors import AnswerInDoubt, CommandError, ProviderError
from bot.faults import fault_point
from bot.messages import span
from bot.messages import text as say
from bot.ports import DirectMessage, Registration, XUser
from bot.repo.port import Tx
from bot.store import PRIORITY_CONFIRM, PRIORITY_OUTCOME, DmCursor, Transfer, User

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


def _runs_after_commit(dm: DirectMessage) -> bool:
    """Whether this DM is a CLAIM, a CASHOUT or a REGISTER (run once its DM is committed: they call the provider,
    which is never called inside a unit of work)."""
    try:
        return parse_dm(dm.text).kind in (DmKind.CLAIM, DmKind.CASHOUT, DmKind.REGISTER)
    except CommandError:
        return False


class Answers(Cashout):
    """DMs in: answers to confirmations and the DM commands."""

    def on_dm(self, dm: DirectMessage) -> bool:
        """Handle one DM event once; returns True when it was new."""
        return self.on_dms([dm]) == 1

    def on_dms(self, page: list[DirectMessage], *, cursor: DmCursor | None = None) -> int:
        """Handle a page of DM events, each once, in one unit of work (one commit, which also moves the DM
        `cursor`), then run what they started: payments (recorded together), claims, cash-outs. Returns how
        many were new. If one fails (or answers a confirmation whose send is in doubt: AnswerInDoubt),
        nothing of the page is kept: the caller handles them one by one.

        A page with a CLAIM, a CASHOUT or a REGISTER is handled one event per unit of work, in order: those run
        after their DM's commit with nothing stored to finish them, so a crash (or an error) while another event's
        payment runs must not find them marked processed and not run. (A crash between a REGISTER's commit and its
        answer loses that answer, as a CLAIM's: the person sends REGISTER again.)"""
        if len(page) > 1 and any(_runs_after_commit(dm) for dm in page):
            return sum(self._on_dms([dm], cursor=cursor if n == len(page) - 1 else None) for n, dm in enumerate(page))
        return self._on_dms(page, cursor=cursor)

    def _on_dms(self, page: list[DirectMessage], *, cursor: DmCursor | None = None) -> int:
        later: list[tuple[DirectMessage, tuple[DmKind, str] | None, DmCommand | None]] = []
        to_run: list[int] = []
        payouts: list[int] = []  # cash-outs whose new account a DM of this page confirmed
        with self.uow() as s:
            new = s.dms.unseen([dm.id for dm in page])
            self._read_ahead(s, {dm.sender_id for dm in page if dm.id in new})
            for dm in page:
                if dm.id not in new:
                    continue
                new.discard(dm.id)
                runs, after, cashout, payout = self._take_dm(s, dm)
                to_run += runs
                payouts += [payout] if payout else []
                later.append((dm, after, cashout))
            if cursor is not None:
                cursor.write(s.checkpoints)
            s.commit()
        fault_point("dm_committed")
        self.execute_many(to_run)
        for payout_id in payouts:  # a crash before this leaves them CREATED: `resume_cashouts` drives them
            self.drive_cashout(payout_id)
        for dm, after, cashout in later:
            if after is not None and after[0] == DmKind.CLAIM:
                self.claim(dm.sender_id, lang=after[1])
            if after is not None and after[0] == DmKind.REGISTER:
                self.register(dm.sender_id, lang=after[1])
            if cashout is not None:
                self.cash_out(dm.sender_id, dm.id, cashout.currency, lang=cashout.lang)
        return len(later)

    def _take_dm(
        self, s: Tx, dm: DirectMessage
    ) -> tuple[list[int], tuple[DmKind, str] | None, DmCommand | None, int | None]:
        """Apply one new DM event; returns the transfers to execute, and the CLAIM or REGISTER (with its language),
        the CASHOUT and the cash-out whose new account it confirmed to run, once it is committed."""
        to_run: list[int] = []
        after: tuple[DmKind, str] | None = None
        cashout: DmCommand | None = None
        now = self.clock.now()
        s.dms.add(dm.id, now)
        if dm.sender_id != self.bot_id and self._own_conversation(dm):
            if dm.sender_handle:
                self._remember(s, XUser(dm.sender_id, dm.sender_handle), wrote=True)
            try:
                cmd = parse_dm(dm.text)
            except CommandError as err:
                self._answer_dm(s, dm.sender_id, err.message, err.lang)
            else:
                if (
                    cmd.kind in (DmKind.CONFIRM, DmKind.CANCEL)
                    and cmd.code
                    and (
                        account := answer_account(
                            s,
                            dm.sender_id,
                            cmd.code,
                            confirm=cmd.kind == DmKind.CONFIRM,
                            said_at=dm.created_at or now,
                            now=now,
                            confirm_ttl=self.policy.confirm_ttl,
                        )
                    )
                    is not None
                ):
                    if account.say and account.outcome:
                        self._queue_dm(
                            s,
                            dm.sender_id,
                            say(account.say[0], cmd.lang, **account.say[1]),
                            PRIORITY_OUTCOME,
                            category=Category.DM_ANSWER,
                        )
                    elif account.say:
                        self._answer_dm(s, dm.sender_id, say(account.say[0], cmd.lang, **account.say[1]), cmd.lang)
                    if account.drive:
                        log.info(
                            "cash-out %s: its user confirmed the account",
                            account.drive,
                            extra={"user_id": dm.sender_id},
                        )
                    return to_run, after, cashout, account.drive
                to_run = self._dm_command(s, dm, cmd)
                # A CLAIM or a REGISTER asks the provider (a new page each time): within the allowance, after the
                # DM's commit.
                if cmd.kind in (DmKind.CLAIM, DmKind.REGISTER) and self._may_answer(s, dm.sender_id, cmd.lang):
                    after = (cmd.kind, cmd.lang)
                if cmd.kind == DmKind.CASHOUT and self._may_answer(s, dm.sender_id, cmd.lang):  # as a CLAIM
                    cashout = cmd
        return to_run, after, cashout, None

    def _own_conversation(self, dm: DirectMessage) -> bool:
        """Only the one-to-one conversation between the sender and the bot counts."""
        if not dm.conversation_id:
            return True
        pair = "-".join(sorted((dm.sender_id, self.bot_id), key=int))
        return dm.conversation_id == pair

    def _dm_command(self, s: Tx, dm: DirectMessage, cmd: DmCommand) -> list[int]:
        """Apply a DM command; returns the transfers to execute once committed (CLAIM, CASHOUT: in `_take_dm`)."""
        if cmd.kind in (DmKind.CONFIRM, DmKind.CANCEL):
            return self._answer(
                s,
                dm.sender_id,
                cmd.code,
                confirm=cmd.kind == DmKind.CONFIRM,
                lang=cmd.lang,
                said_at=dm.created_at,
                said_id=dm.id,
            )
        if cmd.kind == DmKind.HISTORY and not self._may_answer(s, dm.sender_id, cmd.lang):
            return []  # over the hourly allowance
        handler = self._dm_handlers().get(cmd.kind)
        if handler is not None:
            handler(s, dm, cmd)
        return []

    def _dm_handlers(self) -> dict[DmKind, Callable[[Tx, DirectMessage, DmCommand], None]]:
        """The DM commands answered in the DM's own unit of work, each by its handler."""
        return {
            DmKind.HISTORY: self._dm_history,
            DmKind.PRIVACY: self._dm_setting,
            DmKind.STOP: self._dm_setting,
            DmKind.START: self._dm_setting,
            DmKind.HELP: self._dm_help,
        }

    def register(self, user_id: str, *, lang: str) -> None:
        """REGISTER, once its DM is committed: the provider is asked outside any unit of work (a Stripe or Mangopay
        page may take seconds), then the answer (and the link to paybot's own page, stored with it) is committed
        in a unit of work of its own: read, commit, call, commit."""
        reg: Registration | None = None
        try:
            reg = self.provider.register(user_id)
        except ProviderError:
            log.exception("register failed for user %s", user_id)
        with self.uow() as s:
            sentence = say("register.failed", lang)
            if reg is not None and reg.page is not None and self.page_link is None:
                log.error("register for user %s: no page %r is served (PAYBOT_WEB_URL)", user_id, reg.page)
            elif reg is not None:
                url = reg.url
                if reg.page is not None and self.page_link is not None:  # paybot's own page: its link stored here
                    url = self.page_link(s, reg.page, user_id, lang)
                # paybot's own pages: the identity page first ("pay": a name and e-mail the provider needs before
                # a card), or the card page, which itself says when the card is saved
                key = (
                    "register.already"
                    if reg.already
                    else "register.saved"
                    if not url
                    else "register.identity"
                    if reg.page == PagePurpose.PAY
                    else "register.card_page"
                    if reg.page
                    else "register.link"
                    if reg.valid_for
                    else "register.link_open"
                )
                sentence = say(key, lang, url=url or "", within=span(reg.valid_for or timedelta(0), lang))
            self._queue_dm(s, user_id, sentence, PRIORITY_OUTCOME, category=Category.DM_ANSWER)
            s.commit()

    def _dm_history(self, s: Tx, dm: DirectMessage, cmd: DmCommand) -> None:
        self._queue_dm(
            s, dm.sender_id, self._history(s, dm.sender_id, cmd.lang), PRIORITY_OUTCOME, category=Category.DM_ANSWER
        )

    def _dm_setting(self, s: Tx, dm: DirectMessage, cmd: DmCommand) -> None:
        """PRIVACY, STOP, START: the setting takes effect whatever the allowance; it limits only the answer."""
        user_id, lang = dm.sender_id, cmd.lang
        user = s.users.get(user_id) or User(id=user_id, handle=dm.sender_handle or user_id, updated_at=self.clock.now())
        if cmd.kind == DmKind.PRIVACY:
            user.privacy = cmd.setting or Privacy.PUBLIC
            sentence = say(f"privacy.{user.privacy}", lang)
        else:
            user.opted_out = cmd.kind == DmKind.STOP
            sentence = say("stopped" if user.opted_out else "started", lang)
        user.updated_at = self.clock.now()
        s.users.add(user)
        self._answer_dm(s, user_id, sentence, lang)

    def _dm_help(self, s: Tx, dm: DirectMessage, cmd: DmCommand) -> None:
        self._answer_dm(s, dm.sender_id, say("dm_help", cmd.lang), cmd.lang)

    def _answer(  # noqa: C901
        self,
        s: Tx,
        user_id: str,
        code: str | None,
        *,
        confirm: bool,
        lang: str,
        said_at: datetime | None = None,
        said_id: str | None = None,
    ) -> list[int]:
        """Apply a yes or a no from `user_id`, sent at `said_at` as X's event `said_id`; returns the
        transfers to execute now.

        An answer counts only for a version whose confirmation reached X before the answer was sent
        (see `answers`): a yes sent earlier, or one that an edit overtook, confirms nothing."""
        now = self.clock.now()
        said_at = min(said_at or now, now)
        if self.mentions_read_at is not None and said_at > self.mentions_read_at:
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
                self._set_status(s, t, Status.EXPIRED, now)
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
            self._answer_dm(s, user_id, say("answer.too_early", lang), lang)
            return []
        if code is None and groups and (gone := self._closed_meanwhile(s, user_id, lapsed, groups, said_at, said_id)):
            # A bare answer from someone whose confirmation closed unanswered (lapsed, or voided by an edit) while
            # another group waited may be meant for the one that closed: it is told so, and moves nothing else.
            key = "expired.bare" if gone.status == Status.EXPIRED else "cancelled.bare"
            self._answer_dm(s, user_id, self._expired_text(s, gone, lang, key), lang)
            return []
        if code is None and groups and (other := self._in_view(waiting, groups, said_at, said_id)):
            # A bare answer sent while another payment of theirs waited that it cannot answer now (its post edited
            # since, voided, or answered by an answer of theirs sent after this one and read before it): the answer
            # may be meant for it, or given with both in mind. It is told so, and moves nothing.
            text = self._edited_text(s, other, lang) if other.answered_at is None else say("several.bare", lang)
            self._answer_dm(s, user_id, text, lang)
            return []
        if code is None and groups and self._newest_post_unasked(s, user_id, groups, said_id):
            # Their newest post to the bot came after every confirmation this answer could answer, and before it,
            # and made no confirmation (refused, even silently; help; chatter): the answer may be meant for it.
            self._answer_dm(s, user_id, say("answer.too_early", lang), lang)
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
                    handles=msg.handles([self._handle(s, t.recipient_id) for t in ts]),
                )
                for c, ts in groups.items()
            ]
            joined = say("choose.or", lang).join(options)
            text = (
                say("choose", lang, n=len(groups), options=joined)
                if len(groups) > 1
                else say("choose.request", lang, options=joined)
            )
            self._answer_dm(s, user_id, text, lang, PRIORITY_CONFIRM)
            return []
        else:
            target = None
        if target is None:
            self._answer_dm(s, user_id, self._why_not(s, user_id, code, lang), lang)
            return []
        first = target[0]
        if not confirm:
            for t in target:
                self._set_status(s, t, Status.CANCELLED, now, reason=Reason.SENDER_SAID_NO)
                t.answered_at, t.answered_id = said_at, said_id
            self._queue_dm(s, user_id, say("cancelled", lang, code=first.code), PRIORITY_OUTCOME)
            if first.kind == TransferKind.REQUEST:
                text = say(
                    "request_declined", first.lang, payer=self._handle(s, user_id), amount=money(first), code=first.code
                )
                self._queue_dm(s, first.recipient_id, text, PRIORITY_OUTCOME, root=first.root_tweet_id)
            return []
        if not self._may_have_card(user_id):  # a yes that moves nothing is answered within the allowance
            self._answer_dm(s, user_id, say("no_card", lang, code=first.code), lang)
            return []
        try:  # the cap counts money when it moves: the last 24 hours, every currency, sends and requests
            self.policy.check(money(first), len(target), self._moved_24h(s, user_id, first.currency))
        except CommandError as err:
            self._answer_dm(s, user_id, say(err.key, lang, **err.params), lang)
            return []
        for t in target:
            self._set_status(s, t, Status.EXECUTING, now)
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
        since = max(asked or self.clock.now(), self.clock.now() - LAPSE_MEMORY)
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
            return say("edited.bare_request", lang, handles=msg.handles([self._handle(s, t.recipient_id)]))
        group = s.transfers.of_root(t.root_tweet_id, sender_id=t.sender_id)
        names = [self._handle(s, g.recipient_id) for g in group if g.status == t.status]
        return say("edited.bare", lang, handles=msg.handles(names))

    def _expired_text(self, s: Tx, last: Transfer, lang: str, key: str = "expired") -> str:
        """What a payer is told of a confirmation of theirs that closed unanswered (expired, or voided by an edit):
        the amount, to whom (everyone of that command whose part closed so), when."""
        group = s.transfers.of_root(last.root_tweet_id, sender_id=last.sender_id)
        names = [self._handle(s, t.recipient_id) for t in group if t.status == last.status]
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
        if code or self.clock.now() - last.updated_at < self.policy.confirm_ttl:
            return say("already", lang, code=last.code, status=msg.status_word(last.status, lang))
        return say("nothing", lang)

    def _history(self, s: Tx, user_id: str, lang: str) -> str:
        rows = s.transfers.history(user_id, 10)
        if not rows:
            return say("history.empty", lang)
        lines = [say("history.head", lang, n=len(rows)) if len(rows) > 1 else say("history.head_one", lang)]
        for t in rows:
            out = t.sender_id == user_id
            # Another person's failed payment reads as "not paid": why it failed is theirs (a declined card).
            status = t.status if out or t.status != Status.FAILED else "not_paid"
            lines.append(
                say(
                    "history.out" if out else "history.in",
                    lang,
                    when=msg.day(t.created_at, lang),
                    amount=money(t),
                    other=self._handle(s, t.recipient_id if out else t.sender_id),
                    status=msg.status_word(status, lang),
                )
            )
        return "\n".join(lines)
