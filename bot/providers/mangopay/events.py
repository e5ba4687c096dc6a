"""Mangopay's events in the port's words.

Events (`GET /events`, oldest first, after the last date read) are hints: each names a resource, which is read before
anything is concluded. Translated: PAYIN_NORMAL_SUCCEEDED/FAILED of a 3DS pay-in (the transfer it leads to, PAID or
an Owner's approval; or AUTH_LAPSED), TRANSFER_NORMAL_SUCCEEDED/FAILED of an SCA transfer (PAID; or AUTH_LAPSED, its
pay-in refunded), PAYIN_REFUND_SUCCEEDED (REFUNDED), USER_ACCOUNT_ACTIVATED (ENROLLED), USER_KYC_REGULAR
(ACCOUNT_READY), PAYOUT_NORMAL_SUCCEEDED/FAILED read from the payout itself (PAYOUT_SUCCEEDED, PAYOUT_FAILED: the money
is back in the wallet) and PAYOUT_REFUND_SUCCEEDED (PAYOUT_RETURNED). Saved cards are learnt by reading the open Card
Registrations (CARD_SAVED, `MangopayCardRegistrations.saved`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from bot.ports import Clock, EventKind, PayOutcome, ProviderEvent
from bot.providers.mangopay.cards import MangopayCardRegistrations
from bot.providers.mangopay.payments import MangopayPayments
from bot.providers.mangopay.payouts import payout_words
from bot.providers.mangopay.transport import MangopayTransport, amount_of, read_tag
from bot.repo.provider_records import MangopayRecords

log = logging.getLogger(__name__)

# The event types paybot reads, one request each; events of one second are translated in this order (causes first).
EVENT_TYPES = (
    "PAYIN_NORMAL_SUCCEEDED",
    "PAYIN_NORMAL_FAILED",
    "TRANSFER_NORMAL_SUCCEEDED",
    "TRANSFER_NORMAL_FAILED",
    "PAYIN_REFUND_SUCCEEDED",
    "USER_ACCOUNT_ACTIVATED",
    "USER_KYC_REGULAR",
    "PAYOUT_NORMAL_SUCCEEDED",
    "PAYOUT_NORMAL_FAILED",
    "PAYOUT_REFUND_SUCCEEDED",
)
# Why a bank sent a payout back (a payout Refund's RefundReason.RefusedReasonType, guides/payouts/rejects-returns.mdx),
# in words the user may read.
RETURN_WORDS = {
    "BANKACCOUNT_HAS_BEEN_CLOSED": "the bank account is closed",
    "AC06_BLOCKED_BANKACCOUNT": "the bank account cannot take it",
    "AG01_FORBIDDEN_TRANSACTION": "the bank account cannot take it",
    "BANKACCOUNT_INCORRECT": "the account details are wrong",
    "RC01_INVALIDE_BIC": "the account details are wrong",
}
DEFAULT_RETURN = "the bank sent it back"
CASHOUT_PREFIX = "cashout:"  # paybot's cash-out keys (bot.app.cashout.cashout_key)
# Events: Mangopay keeps them 45 days (data-availability-periods.mdx); allows 2,300 calls in 15 minutes
# (rate-limiting.mdx), of which the events poll leaves EVENTS_RESERVE to payments; EVENT_PAGES pages a type a poll.
EVENT_RETENTION = timedelta(days=45)
EVENTS_RESERVE = 300
EVENT_PAGES = 3


class MangopayEvents:
    """Mangopay's events read after a cursor, each translated by reading its resource, then the cards saved."""

    def __init__(
        self,
        transport: MangopayTransport,
        records: MangopayRecords,
        payments: MangopayPayments,
        cards: MangopayCardRegistrations,
        clock: Clock,
    ) -> None:
        self.transport = transport
        self.records = records
        self.payments = payments
        self.cards = cards
        self.clock = clock

    def events(self, after: str | None) -> tuple[list[ProviderEvent], str | None]:
        """Mangopay's events after the cursor, oldest first, each translated by reading its resource; then the cards
        saved on open card pages.

        Mangopay lists events of one EventType a request (list-events.mdx: required), and only within 45 days of
        their date: each type paybot reads has its own cursor ("<date>|<digests of the events read at that date>",
        the cursor a JSON object of them; an older single cursor applies to every type), its AfterDate never older
        than the retention (what is older is gone: logged, reconciliation settles it). The poll is skipped while
        fewer than EVENTS_RESERVE calls are left in Mangopay's 15-minute window (events are hints; payments come
        first), and reads at most EVENT_PAGES pages a type, the rest at the next poll."""
        rate_left = self.transport.rate_left
        if rate_left is not None and rate_left < EVENTS_RESERVE:
            log.warning("Mangopay rate limit: %s calls left in 15 minutes; events are read later", rate_left)
            return [], after
        cursors = _event_cursors(after)
        oldest = int(self.clock.now().timestamp()) - int(EVENT_RETENTION.total_seconds())
        found: list[tuple[int, str, str]] = []
        for kind in EVENT_TYPES:
            date, seen = _event_cursor(cursors.get(kind))
            params: dict[str, Any] = {"Sort": "Date:ASC", "EventType": kind}
            if date >= 0:
                # that second again: events of one second are told apart by digest
                params["AfterDate"] = max(date - 1, oldest)
                if date - 1 < oldest:
                    log.warning("Mangopay events of type %s may have passed their 45 days unread", kind)
            for event in self.transport.each("/events", pages=EVENT_PAGES, **params):
                when = int(event.get("Date") or 0)
                digest = hashlib.sha256(f"{kind}:{event.get('ResourceId')}".encode()).hexdigest()[:10]
                if when < date or (when == date and digest in seen):
                    continue
                if when > date:
                    date, seen = when, set()
                seen.add(digest)
                found.append((when, kind, str(event.get("ResourceId"))))
            if date >= 0:
                cursors[kind] = f"{date}|{','.join(sorted(seen))}"
        out: list[ProviderEvent] = []
        for when, kind, resource in sorted(found, key=lambda e: e[0]):  # stable: each type's order kept
            out += self.translate(kind, resource, when)
        cursor = json.dumps(cursors, sort_keys=True, separators=(",", ":")) if cursors else after
        return out + self.cards.saved(), cursor

    def translate(self, kind: str, resource: str, when: int) -> list[ProviderEvent]:
        """One event in the port's words, from its resource read again; [] when it is no news of paybot's."""
        eid = f"{kind}:{resource}:{when}"
        if kind.startswith("PAYIN_NORMAL_"):
            return self._payin(eid, kind, resource)
        if kind.startswith("TRANSFER_NORMAL_"):
            return self._transfer(eid, resource)
        if kind == "PAYIN_REFUND_SUCCEEDED":
            return self._refund(eid, resource)
        if kind.startswith("PAYOUT_NORMAL_"):
            return self._payout(eid, resource)
        if kind == "PAYOUT_REFUND_SUCCEEDED":
            return self._payout_returned(eid, resource)
        if kind == "USER_ACCOUNT_ACTIVATED":
            return self._enrolled(eid, resource)
        if kind == "USER_KYC_REGULAR":
            return self._regular(eid, resource)
        return []

    def _payin(self, eid: str, kind: str, resource: str) -> list[ProviderEvent]:
        payin = self.transport.get(f"/payins/{resource}")
        fields = read_tag(payin)
        key = fields.get("paybot", "")
        if payin is None or not key.startswith("pay:") or not payin.get("SecureModeNeeded"):
            return []  # only a pay-in that waited on the bank's page is news
        if kind == "PAYIN_NORMAL_FAILED":
            return [ProviderEvent(eid, EventKind.AUTH_LAPSED, key=key)]
        sender = self.records.by_mangopay_id(str(payin.get("AuthorId")))
        result = self.payments.after_payin(key, sender.user_id if sender else "", fields.get("to", ""), payin)
        if result.outcome in (PayOutcome.PAID, PayOutcome.HELD):
            return [ProviderEvent(eid, EventKind.PAID, key=key, ref=result.ref, outcome=result.outcome)]
        if result.outcome == PayOutcome.NEEDS_AUTH and result.url:  # 3DS passed; now the Owner's own SCA
            return [
                ProviderEvent(
                    eid,
                    EventKind.APPROVAL_NEEDED,
                    key=key,
                    ref=result.ref,
                    url=result.url,
                    valid_for=result.valid_for,
                    charged=result.charged,
                )
            ]
        return []

    def _transfer(self, eid: str, resource: str) -> list[ProviderEvent]:
        transfer = self.transport.get(f"/transfers/{resource}")
        fields = read_tag(transfer)
        key = fields.get("paybot", "").removesuffix("#transfer")
        if transfer is None or not key.startswith("pay:") or transfer.get("ScaContext") != "USER_PRESENT":
            return []  # only a transfer that waited for its author's approval is news
        payin = self.transport.get(f"/payins/{fields.get('payin')}")
        if payin is None:
            return []
        result = self.payments.transfer_outcome(key, payin, transfer)
        if result.outcome == PayOutcome.PAID:
            return [ProviderEvent(eid, EventKind.PAID, key=key, ref=result.ref, outcome=PayOutcome.PAID)]
        if result.outcome == PayOutcome.NEEDS_AUTH and transfer.get("Status") == "FAILED":
            return [ProviderEvent(eid, EventKind.AUTH_LAPSED, key=key, charged=True)]
        return []

    def _refund(self, eid: str, resource: str) -> list[ProviderEvent]:
        refund = self.transport.get(f"/refunds/{resource}")
        if refund and refund.get("Status") == "SUCCEEDED" and refund.get("InitialTransactionId"):
            mine = read_tag(refund).get("paybot")
            return [
                ProviderEvent(
                    eid,
                    EventKind.REFUNDED,
                    ref=str(refund["InitialTransactionId"]),
                    key=mine,
                    settle_ref=str(refund["Id"]),
                    amount_minor=amount_of(refund)[0],
                )
            ]
        return []

    def _payout(self, eid: str, resource: str) -> list[ProviderEvent]:
        payout = self.transport.get(f"/payouts/{resource}")
        key = read_tag(payout).get("paybot", "")
        if payout is None or not key.startswith(CASHOUT_PREFIX):
            return []  # not a cash-out of paybot's
        amount = amount_of(payout)[0]
        if payout.get("Status") == "SUCCEEDED":  # the payout says so, whatever the event's type
            return [
                ProviderEvent(
                    eid, EventKind.PAYOUT_SUCCEEDED, key=key, settle_ref=str(payout["Id"]), amount_minor=amount
                )
            ]
        if payout.get("Status") == "FAILED":
            return [
                ProviderEvent(
                    eid,
                    EventKind.PAYOUT_FAILED,
                    key=key,
                    settle_ref=str(payout["Id"]),
                    amount_minor=amount,
                    reason=payout_words(payout),
                )
            ]
        return []

    def _payout_returned(self, eid: str, resource: str) -> list[ProviderEvent]:
        """A payout that went through came back: the money is in the wallet again."""
        refund = self.transport.get(f"/refunds/{resource}")
        if refund is None or refund.get("Status") != "SUCCEEDED" or refund.get("InitialTransactionType") != "PAYOUT":
            return []
        payout = self.transport.get(f"/payouts/{refund.get('InitialTransactionId')}")
        key = read_tag(payout).get("paybot", "")
        if payout is None or not key.startswith(CASHOUT_PREFIX):
            return []  # not a cash-out of paybot's
        why = str((refund.get("RefundReason") or {}).get("RefusedReasonType") or "")
        return [
            ProviderEvent(
                eid,
                EventKind.PAYOUT_RETURNED,
                key=key,
                settle_ref=str(payout["Id"]),
                amount_minor=amount_of(refund)[0],
                reason=RETURN_WORDS.get(why, DEFAULT_RETURN),
            )
        ]

    def _enrolled(self, eid: str, resource: str) -> list[ProviderEvent]:
        """An Owner completed their SCA enrolment."""
        row = self.records.by_mangopay_id(resource)
        found = self.transport.get(f"/sca/users/{resource}") if row else None
        if row and found and found.get("UserCategory") == "OWNER" and found.get("UserStatus") == "ACTIVE":
            return [ProviderEvent(eid, EventKind.ENROLLED, user_id=row.user_id)]
        return []

    def _regular(self, eid: str, resource: str) -> list[ProviderEvent]:
        row = self.records.by_mangopay_id(resource)
        found = self.transport.get(f"/sca/users/{resource}") if row else None
        if row and found and found.get("UserCategory") == "OWNER" and found.get("KYCLevel") == "REGULAR":
            self.records.save(row.user_id, owner=True, kyc_regular=True)
            return [ProviderEvent(eid, EventKind.ACCOUNT_READY, user_id=row.user_id)]
        return []


def _event_cursors(after: str | None) -> dict[str, str]:
    """The per-type event cursors in `after` (a JSON object); an older single cursor applies to every type."""
    if not after:
        return {}
    try:
        parsed = json.loads(after)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        return {str(k): str(v) for k, v in parsed.items()}
    return dict.fromkeys(EVENT_TYPES, after)


def _event_cursor(cursor: str | None) -> tuple[int, set[str]]:
    """(date, digests of the events read at that date) of one type's cursor; (-1, {}) when none."""
    if not cursor:
        return -1, set()
    date, _, digests = cursor.partition("|")
    return int(date), set(filter(None, digests.split(",")))
