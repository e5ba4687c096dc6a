"""A DM arrives: a yes or no (judged by bot.app.confirming), or REGISTER, CLAIM, CASHOUT, HISTORY, settings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from bot import messages as msg
from bot.app.accounts import answer_account
from bot.app.base import Context, Shared, handle_of, money
from bot.app.cashout import Cashout
from bot.app.common import Common
from bot.app.confirming import Confirming
from bot.app.holds import Holds
from bot.app.payments import Payments
from bot.commands import DmCommand, DmKind, parse_dm
from bot.domain import Category, PagePurpose, Privacy, Status
from bot.domain.entities import PRIORITY_OUTCOME, User
from bot.domain.marks import DmCursor
from bot.errors import CommandError, ProviderError
from bot.faults import fault_point
from bot.messages import span
from bot.messages import text as say
from bot.ports import DirectMessage, Registration, XUser
from bot.repo.port import Tx

log = logging.getLogger(__name__)


def _is_yes(dm: DirectMessage) -> bool:
    """Whether this DM is a yes (to a payment, or to a new bank account)."""
    try:
        return parse_dm(dm.text).kind == DmKind.CONFIRM
    except CommandError:
        return False


def _runs_after_commit(dm: DirectMessage) -> bool:
    """Whether this DM is a CLAIM, a CASHOUT or a REGISTER (run once its DM is committed: they call the provider,
    which is never called inside a unit of work)."""
    try:
        return parse_dm(dm.text).kind in (DmKind.CLAIM, DmKind.CASHOUT, DmKind.REGISTER)
    except CommandError:
        return False


class Answers:
    """DMs in: answers to confirmations and the DM commands."""

    def __init__(
        self,
        ctx: Context,
        shared: Shared,
        common: Common,
        confirming: Confirming,
        payments: Payments,
        holds: Holds,
        cashout: Cashout,
    ) -> None:
        self.ctx = ctx
        self.shared = shared
        self.common = common
        self.confirming = confirming
        self.payments = payments
        self.holds = holds
        self.cashout = cashout

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

    def _payers(self, page: list[DirectMessage]) -> set[str]:
        """The senders of the page's new yeses that can be judged now and who have a payment waiting for their
        answer: whether each has a saved card decides whether their yes may start it. Asked of the provider before
        the DM's unit of work opens; a yes that can start nothing (nothing waiting: junk, however many) asks the
        provider nothing (docs/consent.md, "Junk DMs cost little")."""
        read, now = self.shared.mentions_read_at, self.ctx.clock.now()
        yeses = [
            dm
            for dm in page
            if dm.sender_id != self.ctx.bot_id
            and self._own_conversation(dm)
            and (read is None or min(dm.created_at or now, now) <= read)  # else it waits (AnswerInDoubt)
            and _is_yes(dm)
        ]
        if not yeses:
            return set()
        with self.ctx.uow() as s:
            new = s.dms.unseen([dm.id for dm in yeses])
            senders = {dm.sender_id for dm in yeses if dm.id in new}
            s.transfers.warm(senders, self.ctx.clock.now())  # one read for all of them: what they have pending
            return {who for who in senders if s.transfers.pending_of(who)}

    def _on_dms(self, page: list[DirectMessage], *, cursor: DmCursor | None = None) -> int:
        cards = self.common.cards_of(self._payers(page))  # read, commit, call, commit: before the unit of work
        later: list[tuple[DirectMessage, tuple[DmKind, str] | None, DmCommand | None]] = []
        to_run: list[int] = []
        payouts: list[int] = []  # cash-outs whose new account a DM of this page confirmed
        with self.ctx.uow() as s:
            new = s.dms.unseen([dm.id for dm in page])
            self.common.read_ahead(s, {dm.sender_id for dm in page if dm.id in new})
            for dm in page:
                if dm.id not in new:
                    continue
                new.discard(dm.id)
                runs, after, cashout, payout = self._take_dm(s, dm, cards)
                to_run += runs
                payouts += [payout] if payout else []
                later.append((dm, after, cashout))
            if cursor is not None:
                cursor.write(s.checkpoints)
            s.commit()
        fault_point("dm_committed")
        self.payments.execute_many(to_run)
        for payout_id in payouts:  # a crash before this leaves them CREATED: `resume_cashouts` drives them
            self.cashout.drive_cashout(payout_id)
        for dm, after, cashout in later:
            if after is not None and after[0] == DmKind.CLAIM:
                self.holds.claim(dm.sender_id, lang=after[1])
            if after is not None and after[0] == DmKind.REGISTER:
                self.register(dm.sender_id, lang=after[1])
            if cashout is not None:
                self.cashout.cash_out(dm.sender_id, dm.id, cashout.currency, lang=cashout.lang)
        return len(later)

    def _take_dm(
        self, s: Tx, dm: DirectMessage, cards: dict[str, bool]
    ) -> tuple[list[int], tuple[DmKind, str] | None, DmCommand | None, int | None]:
        """Apply one new DM event; returns the transfers to execute, and the CLAIM or REGISTER (with its language),
        the CASHOUT and the cash-out whose new account it confirmed to run, once it is committed."""
        to_run: list[int] = []
        after: tuple[DmKind, str] | None = None
        cashout: DmCommand | None = None
        now = self.ctx.clock.now()
        s.dms.add(dm.id, now)
        if dm.sender_id != self.ctx.bot_id and self._own_conversation(dm):
            if dm.sender_handle:
                self.common.remember(s, XUser(dm.sender_id, dm.sender_handle), wrote=True)
            try:
                cmd = parse_dm(dm.text)
            except CommandError as err:
                self.common.answer_dm(s, dm.sender_id, err.message, err.lang)
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
                            confirm_ttl=self.ctx.policy.confirm_ttl,
                        )
                    )
                    is not None
                ):
                    if account.say and account.outcome:
                        self.common.queue_dm(
                            s,
                            dm.sender_id,
                            say(account.say[0], cmd.lang, **account.say[1]),
                            PRIORITY_OUTCOME,
                            category=Category.DM_ANSWER,
                        )
                    elif account.say:
                        self.common.answer_dm(
                            s, dm.sender_id, say(account.say[0], cmd.lang, **account.say[1]), cmd.lang
                        )
                    if account.drive:
                        log.info(
                            "cash-out %s: its user confirmed the account",
                            account.drive,
                            extra={"user_id": dm.sender_id},
                        )
                    return to_run, after, cashout, account.drive
                to_run = self._dm_command(s, dm, cmd, cards.get(dm.sender_id, True))
                # A CLAIM or a REGISTER asks the provider (a new page each time): within the allowance, after the
                # DM's commit.
                if cmd.kind in (DmKind.CLAIM, DmKind.REGISTER) and self.common.may_answer(s, dm.sender_id, cmd.lang):
                    after = (cmd.kind, cmd.lang)
                if cmd.kind == DmKind.CASHOUT and self.common.may_answer(s, dm.sender_id, cmd.lang):  # as a CLAIM
                    cashout = cmd
        return to_run, after, cashout, None

    def _own_conversation(self, dm: DirectMessage) -> bool:
        """Only the one-to-one conversation between the sender and the bot counts."""
        if not dm.conversation_id:
            return True
        pair = "-".join(sorted((dm.sender_id, self.ctx.bot_id), key=int))
        return dm.conversation_id == pair

    def _dm_command(self, s: Tx, dm: DirectMessage, cmd: DmCommand, has_card: bool) -> list[int]:
        """Apply a DM command; returns the transfers to execute once committed (CLAIM, CASHOUT: in `_take_dm`)."""
        if cmd.kind in (DmKind.CONFIRM, DmKind.CANCEL):
            return self.confirming.answer(
                s,
                dm.sender_id,
                cmd.code,
                confirm=cmd.kind == DmKind.CONFIRM,
                lang=cmd.lang,
                said_at=dm.created_at,
                said_id=dm.id,
                has_card=has_card,
            )
        if cmd.kind == DmKind.HISTORY and not self.common.may_answer(s, dm.sender_id, cmd.lang):
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
            reg = self.ctx.provider.register(user_id)
        except ProviderError:
            log.exception("register failed for user %s", user_id)
        with self.ctx.uow() as s:
            sentence = say("register.failed", lang)
            if reg is not None and reg.page is not None and self.ctx.page_link is None:
                log.error("register for user %s: no %s page is served (PAYBOT_WEB_URL)", user_id, reg.page)
            elif reg is not None:
                url = reg.url
                if reg.page is not None and self.ctx.page_link is not None:  # paybot's own page: its link stored here
                    url = self.ctx.page_link(s, reg.page, user_id, lang)
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
            self.common.queue_dm(s, user_id, sentence, PRIORITY_OUTCOME, category=Category.DM_ANSWER)
            s.commit()

    def _dm_history(self, s: Tx, dm: DirectMessage, cmd: DmCommand) -> None:
        self.common.queue_dm(
            s, dm.sender_id, self._history(s, dm.sender_id, cmd.lang), PRIORITY_OUTCOME, category=Category.DM_ANSWER
        )

    def _dm_setting(self, s: Tx, dm: DirectMessage, cmd: DmCommand) -> None:
        """PRIVACY, STOP, START: the setting takes effect whatever the allowance; it limits only the answer."""
        user_id, lang = dm.sender_id, cmd.lang
        user = s.users.get(user_id) or User(
            id=user_id, handle=dm.sender_handle or user_id, updated_at=self.ctx.clock.now()
        )
        if cmd.kind == DmKind.PRIVACY:
            user.privacy = cmd.setting or Privacy.PUBLIC
            sentence = say(f"privacy.{user.privacy}", lang)
        else:
            user.opted_out = cmd.kind == DmKind.STOP
            sentence = say("stopped" if user.opted_out else "started", lang)
        user.updated_at = self.ctx.clock.now()
        s.users.add(user)
        self.common.answer_dm(s, user_id, sentence, lang)

    def _dm_help(self, s: Tx, dm: DirectMessage, cmd: DmCommand) -> None:
        self.common.answer_dm(s, dm.sender_id, say("dm_help", cmd.lang), cmd.lang)

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
                    other=handle_of(s, t.recipient_id if out else t.sender_id),
                    status=msg.status_word(status, lang),
                )
            )
        return "\n".join(lines)
