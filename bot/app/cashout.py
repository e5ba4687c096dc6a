"""CASHOUT by DM: what a user holds at the provider paid out to their bank account.

A wallet provider (Mangopay) keeps a recipient's money in their own wallet until they take it out; a Connect
provider (Stripe, and the sandbox that plays it) pays accounts out by itself (AUTOMATIC: said in one sentence).

A cash-out is money leaving the provider, so it moves as every money step does: store, call, record. The DM's
unit of work only judges the command (the hourly allowance of answers, like REGISTER); then a `Payout` row with
its idempotency key (`cashout_key`, one per DM event) is committed before the provider is called, and the answer
is recorded, and told, in one transaction. A row left with no answer (a crash, a provider that did not answer)
is driven again with the same key by `resume` (each tick and at start), which the provider answers with the
payout first made. One cash-out per user and currency at a time: another CASHOUT while one is under way is told
so. The payout's end comes as the provider's event (PAYOUT_SUCCEEDED, PAYOUT_FAILED: the money is back in the
user's account), told once.

Decisions where the brief was silent:
- `CASHOUT` pays out the operator's default currency; `CASHOUT EUR` names another. Any currency the user
  holds may be taken out, enabled for new payments or not (an operator who stops taking a currency must not
  strand what users hold in it).
- A sender's wallet also holds their own money still on its way (executing, awaiting approval), held for a
  recipient, or about to be refunded or taken back: that much (`keep`) stays, so a cash-out never takes money a
  release or a refund will need.
- A CASHOUT is refused while payments are paused (money would move), and taken during a wind-down (it is how a
  user takes their money before paybot closes).
- A CASHOUT lost to a crash between the DM's commit and the row's (no money moved, nothing said) is not redone:
  the user asks again, as with CLAIM.
- A cash-out pays only an account its user confirmed by DM. Whoever saw a bank-page link once could have added
  their own account, so when the provider would pay an account this user never confirmed (their first one too),
  nothing is paid: the row waits (CONFIRM_ACCOUNT) and the user is asked "reply YES 1234" (the account's last
  four characters; four random digits when the provider gives none, or when they would read as a payment's
  code) within the confirmation time (`policy.confirm_ttl`, 10 minutes). Their yes, sent after the question,
  confirms that account for good and drives the same row (same key), which then pays that account and no other
  (`PayoutAccounts.pay_to`: an account added meanwhile, newer, is not this cash-out's); a no refuses the account
  for good (never paid nor asked about again: the next cash-out pays their newest account not refused); a yes too
  late ends the row; nothing is paid by either. A newer CASHOUT ends a row still waiting. Transfer codes are never
  all digits, so "YES 1234" is never a payment's answer.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot import messages as msg
from bot.app.accounts import account_code
from bot.app.base import Context
from bot.app.common import Common
from bot.app.ledger import holds_for_others, kept_for
from bot.domain import PAYOUT, Category, PayoutStatus
from bot.domain.entities import PRIORITY_OUTCOME, Payout
from bot.domain.marks import Mark
from bot.errors import IdempotencyError, ProviderError, ProviderTransient
from bot.faults import fault_point
from bot.messages import span
from bot.messages import text as say
from bot.money import Money
from bot.ports import CashOut, CashOutOutcome, EventKind, PayoutAccounts, ProviderEvent
from bot.repo.port import Conflict, Payouts, Tx

log = logging.getLogger(__name__)

# What `drive_cashout` did with a cash-out row.
RECORDED, RETRY, GONE = "recorded", "retry", "gone"
BANK_LINK_DEFAULT = timedelta(hours=24)  # how long a bank-account page link is said to work when the provider is silent


def cashout_key(dm_id: str) -> str:
    """The idempotency key of the cash-out a CASHOUT DM asked for: one per DM event, so a DM read twice (or a
    crash and a restart) asks the provider for one payout, never two."""
    return f"cashout:{dm_id}"


class Cashout:
    """CASHOUT: the user's balance at the provider paid out to their bank account."""

    def __init__(self, ctx: Context, common: Common) -> None:
        self.ctx = ctx
        self.common = common

    # ------------------------------------------------------------------ recovery

    def resume_cashouts(self) -> int:
        """Drive again every cash-out begun and not answered; how many got their answer recorded."""
        with self.ctx.uow() as s:
            waiting = [p.id for p in s.payouts.unsent() if p.id is not None]
        return sum(self.drive_cashout(pid) == RECORDED for pid in waiting)

    # ------------------------------------------------------------------ the command

    def cash_out(self, user_id: str, dm_id: str, currency: str | None = None, *, lang: str = "en") -> None:
        """A CASHOUT by DM (already within the user's hourly allowance of answers): answered at once when the
        provider need not be asked (a currency not taken, payments paused, a cash-out already under way); else
        its row is committed with its key, then the provider is asked."""
        code = (currency or self.ctx.currency).upper()
        key = cashout_key(dm_id)
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            repo = s.payouts
            row = repo.by_key(key)
            if row is None:
                for waiting in repo.awaiting_account(user_id):  # a newer CASHOUT replaces one still waiting
                    waiting.status = PAYOUT.move(waiting.status, PayoutStatus.NOT_MADE)
                    waiting.failure = "replaced by a newer CASHOUT"
                    waiting.updated_at = now
                    repo.add(waiting)
                refusal = self._cashout_refusal(s, repo, user_id, code, lang)
                if refusal is not None:
                    self.common.queue_dm(s, user_id, refusal, PRIORITY_OUTCOME, category=Category.DM_ANSWER)
                    s.commit()
                    return
                row = Payout(
                    user_id=user_id,
                    key=key,
                    currency=code,
                    status=PAYOUT.begin(PayoutStatus.CREATED),
                    lang=lang,
                    created_at=now,
                    updated_at=now,
                )
                repo.add(row)
                try:
                    s.flush()
                    s.commit()
                except Conflict:  # another process began this DM's cash-out first: it drives it
                    return
            payout_id = row.id
        if payout_id is not None:
            self.drive_cashout(payout_id)

    def _cashout_refusal(self, s: Tx, repo: Payouts, user_id: str, currency: str, lang: str) -> str | None:
        """The answer to a CASHOUT that the provider need not hear, or None."""
        if s.checkpoints.flag(Mark.PAUSED):
            return say("cashout.paused", lang)
        if repo.in_flight(user_id, currency) is not None:
            return say("cashout.already", lang)
        made = repo.made_since(user_id, self.ctx.clock.now() - timedelta(hours=24))
        if made >= self.ctx.policy.cashouts_per_day:
            return say("cashout.limit", lang, n=made)
        return None

    # ------------------------------------------------------------------ store, call, record

    def drive_cashout(self, payout_id: int) -> str:
        """Call the provider for a cash-out whose answer is not recorded, with its key, and record (and tell) the
        answer in one transaction."""
        with self.ctx.uow() as s:
            row = s.payouts.get(payout_id)
            if row is None or row.status != PayoutStatus.CREATED or row.ref is not None:
                return GONE
            if s.checkpoints.flag(Mark.PAUSED):
                return RETRY  # driven when an operator resumes
            young = self._young(s, row.user_id, row.currency)
            keep = kept_for(s, row.user_id, row.currency) + young
            others = holds_for_others(s, row.user_id)
            confirmed, refused = s.payouts.accounts_of(row.user_id)
            # A cash-out whose user confirmed its account pays that one, whatever was added since.
            accounts = PayoutAccounts(confirmed, refused, row.account_ref if row.account_confirmed_at else None)
            key, user_id, currency = row.key, row.user_id, row.currency
        try:
            result = self.ctx.provider.cash_out(
                key=key, user_id=user_id, currency=currency, keep=keep, holds_for_others=others, accounts=accounts
            )
        except ProviderTransient as err:
            log.warning(
                "cash-out %s of user %s did not finish (%s); will retry",
                payout_id,
                user_id,
                err,
                extra={"user_id": user_id},
            )
            self.common.provider_failed()
            return RETRY
        except IdempotencyError:
            log.error(
                "cash-out %s: its key was used with other parameters; left for the operator",
                payout_id,
                extra={"user_id": user_id},
            )
            self.common.provider_failed()
            return RETRY
        except ProviderError as err:  # refused before any payout was made: nothing moved
            log.error(
                "cash-out %s of user %s refused by the provider: %s",
                payout_id,
                user_id,
                err,
                extra={"user_id": user_id},
            )
            self.common.provider_failed()
            return self._record_cashout(payout_id, None, keep, failure=f"refused: {err}")
        fault_point("settle_called")
        return self._record_cashout(payout_id, result, keep, young=young)

    def _young(self, s: Tx, user_id: str, currency: str) -> int:
        """What the user received within the cash-out hold (`policy.cashout_hold`): kept from CASHOUT."""
        if self.ctx.policy.cashout_hold <= timedelta(0):
            return 0
        return s.transfers.received_since(user_id, currency, self.ctx.clock.now() - self.ctx.policy.cashout_hold)

    def _record_cashout(
        self, payout_id: int, result: CashOut | None, keep: int, failure: str = "", young: int = 0
    ) -> str:
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            repo = s.payouts
            row = repo.get(payout_id)
            if row is None or row.status != PayoutStatus.CREATED or row.ref is not None:
                return GONE  # recorded meanwhile (its event, another process)
            lang, currency = row.lang, row.currency
            if result is None:
                row.status, row.failure = PAYOUT.move(row.status, PayoutStatus.NOT_MADE), failure
                text = say("cashout.failed", lang)
            elif result.outcome == CashOutOutcome.NEW_ACCOUNT and result.account_ref and row.account_confirmed_at:
                # Never: a confirmed cash-out names its account (`pay_to`). Its account is not changed under it.
                row.status = PAYOUT.move(row.status, PayoutStatus.NOT_MADE)
                row.failure = "the provider named another account"
                text = say("cashout.failed", lang)
            elif result.outcome == CashOutOutcome.NEW_ACCOUNT and result.account_ref:
                row.status = PAYOUT.move(row.status, PayoutStatus.CONFIRM_ACCOUNT)
                row.account_ref = result.account_ref
                row.account_code = account_code(s, row.user_id, result.last4)
                # The account is always named by its last four characters when the provider gives them, even when the
                # code to reply with is four random digits (they would read as a payment's code).
                what = "cashout.new_account_last4" if result.last4 else "cashout.new_account"
                text = say(
                    what,
                    lang,
                    code=row.account_code,
                    last4=(result.last4 or "").upper(),
                    within=span(self.ctx.policy.confirm_ttl, lang),
                )
            elif result.outcome == CashOutOutcome.STARTED:
                amount = result.amount or Money(0, currency)
                row.ref, row.amount_minor = result.ref, amount.minor
                if row.account_confirmed_at is None:  # a confirmed cash-out keeps the account it confirmed
                    row.account_ref = result.account_ref or row.account_ref
                text = (
                    say("cashout.started_last4", lang, amount=amount, last4=result.last4)
                    if result.last4
                    else say("cashout.started", lang, amount=amount)
                )
            elif result.outcome == CashOutOutcome.NOTHING and young > 0:
                row.status = PAYOUT.move(row.status, PayoutStatus.NOT_MADE)
                row.failure = "money received within the cash-out hold"
                text = say("cashout.young", lang, currency=currency, hold=span(self.ctx.policy.cashout_hold, lang))
            else:
                status, row.failure, text = self._not_started(row, result, keep)
                row.status = PAYOUT.move(row.status, status)
            row.updated_at = now
            repo.add(row)
            self.common.queue_dm(s, row.user_id, text, PRIORITY_OUTCOME, category=Category.DM_ANSWER)
            s.commit()
        log.info("cash-out %s: %s", payout_id, row.failure or f"started ({row.ref})", extra={"user_id": row.user_id})
        return RECORDED

    @staticmethod
    def _not_started(row: Payout, result: CashOut, keep: int) -> tuple[PayoutStatus, str, str]:
        """A provider's answer that started no payout: the row's status, why, and what the user is told."""
        lang, currency = row.lang, row.currency
        if result.outcome == CashOutOutcome.REFUSED:
            reason = result.reason or "the payment provider refused it"
            row.ref = result.ref  # a payout made and refused (or failed): the money stayed or came back
            if result.amount is not None:
                row.amount_minor = result.amount.minor
            status = PayoutStatus.FAILED if result.ref else PayoutStatus.NOT_MADE
            return status, reason, say("cashout.refused", lang, reason=msg.reason(reason, lang))
        if result.outcome == CashOutOutcome.NEEDS_SCA and result.url:
            within = span(result.valid_for or timedelta(minutes=10), lang)
            return (
                PayoutStatus.NOT_MADE,
                "strong authentication needed",
                say("cashout.sca", lang, url=result.url, within=within),
            )
        if result.outcome == CashOutOutcome.NEEDS_KYC and result.url:
            return PayoutStatus.NOT_MADE, "identity not verified", say("cashout.kyc", lang, url=result.url)
        if result.outcome == CashOutOutcome.NEEDS_BANK and result.url:
            within = span(result.valid_for, lang) if result.valid_for else span(BANK_LINK_DEFAULT, lang)
            return PayoutStatus.NOT_MADE, "no bank account", say("cashout.bank", lang, url=result.url, within=within)
        if result.outcome in (CashOutOutcome.NEEDS_KYC, CashOutOutcome.NEEDS_BANK):
            return PayoutStatus.NOT_MADE, "no page to send the user to", say("cashout.unavailable", lang)
        if result.outcome == CashOutOutcome.AUTOMATIC:
            return PayoutStatus.NOT_MADE, "paid out by the provider itself", say("cashout.automatic", lang)
        key = "cashout.nothing_kept" if keep > 0 else "cashout.nothing"
        return PayoutStatus.NOT_MADE, "nothing to cash out", say(key, lang, currency=currency)

    # ------------------------------------------------------------------ the provider's events

    def payout_ended(self, event: ProviderEvent) -> None:
        """A payout went through, or failed (the money is back in the user's account): recorded and told once."""
        now = self.ctx.clock.now()
        with self.ctx.uow() as s:
            repo = s.payouts
            row = repo.by_key(event.key) if event.key else None
            if row is None and event.settle_ref:
                row = repo.by_ref(event.settle_ref)
            if row is None:
                log.warning("%s of payout %s, which paybot does not know", event.kind, event.settle_ref)
                return
            returned = event.kind == EventKind.PAYOUT_RETURNED and row.status == PayoutStatus.SUCCEEDED
            if row.status != PayoutStatus.CREATED and not returned:
                return  # told already (an event read twice), or refused when it was made
            row.ref = row.ref or event.settle_ref
            if row.amount_minor is None:
                row.amount_minor = event.amount_minor
            amount = Money(row.amount_minor or 0, row.currency)
            if event.kind == EventKind.PAYOUT_SUCCEEDED:
                row.status = PAYOUT.move(row.status, PayoutStatus.SUCCEEDED)
                text = say("cashout.sent", row.lang, amount=amount)
            elif event.kind == EventKind.PAYOUT_RETURNED:  # it had gone through; the bank sent it back
                row.status = PAYOUT.move(row.status, PayoutStatus.FAILED)
                row.failure = f"returned: {event.reason or 'the bank sent it back'}"
                text = say(
                    "cashout.returned",
                    row.lang,
                    amount=amount,
                    reason=msg.reason(event.reason or "the bank sent it back", row.lang),
                )
            else:
                row.status = PAYOUT.move(row.status, PayoutStatus.FAILED)
                row.failure = event.reason or "failed at the bank"
                text = say("cashout.bounced", row.lang, amount=amount, reason=msg.reason(row.failure, row.lang))
            row.updated_at = now
            repo.add(row)
            self.common.queue_dm(s, row.user_id, text, PRIORITY_OUTCOME)
            s.commit()
        log.info("cash-out %s: %s (%s)", row.id, row.status, row.ref, extra={"user_id": row.user_id})
