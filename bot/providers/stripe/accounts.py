"""Recipients' side of the Stripe adapter: each X user's Express-style Connect account (Stripe collects the
requirements), its onboarding link, and whether it can take transfers.

The AccountLink is minted when they ask, never ahead. Whether they finished is learnt by asking: account.updated
of a connected account is a Connect event (sent to Connect webhook endpoints, listed only with the Stripe-Account
header), never in the platform's own event list, so `onboarding_events` retrieves each account still awaiting
onboarding on a bounded schedule and reports ACCOUNT_READY once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.errors import ProviderError, ProviderTransient
from bot.ports import Clock, EventKind, Onboarding, ProviderEvent
from bot.providers.stripe.transport import StripeTransport, field
from bot.repo.provider_records import StripeRecords

log = logging.getLogger(__name__)

# Accounts awaiting onboarding are retrieved on a schedule that slows as the wait grows: again once a quarter
# of the time since the link was minted has passed (every tick at first), at least hourly, for 30 days,
# and at most 20 accounts per poll (the longest unchecked first).
ONBOARDING_WATCH = timedelta(days=30)
ONBOARDING_MAX_INTERVAL = timedelta(hours=1)
ONBOARDING_CHECKS_PER_POLL = 20


class StripeAccounts:
    """Connect accounts: creation, onboarding links, readiness, and the watch over those awaiting onboarding."""

    def __init__(
        self, transport: StripeTransport, records: StripeRecords, clock: Clock, *, return_url: str, connect: bool
    ) -> None:
        self.transport = transport
        self.records = records
        self.clock = clock
        self.return_url = return_url
        self.connect = connect  # False: a Stripe account without Connect (nobody can receive; tests)
        self._checked: dict[str, datetime] = {}  # account awaiting onboarding -> when it was last retrieved
        self._became_ready: dict[str, str] = {}  # account seen ready outside the poll -> user, to report once

    def onboard(self, user_id: str) -> Onboarding:
        """`ready` when the user's account can take transfers; else a fresh onboarding link."""
        if not self.connect:
            raise ProviderError("this Stripe account does not use Connect: nobody can receive")
        account = self.account(user_id)
        if self.ready(user_id, account):
            return Onboarding(ready=True)
        client = self.transport.client
        link = self.transport.call(
            lambda: client.v1.account_links.create(
                params={
                    "account": account,
                    "refresh_url": self.return_url,
                    "return_url": self.return_url,
                    "type": "account_onboarding",
                }
            )
        )
        self.records.save(user_id)  # a new link: the onboarding schedule starts again (updated_at)
        self._checked.pop(account, None)
        return Onboarding(ready=False, url=link.url)

    def account(self, user_id: str) -> str:
        """The user's Connect account id, created (once) the first time: Express dashboard,
        requirements collected by Stripe, transfers requested."""
        row = self.records.row(user_id)
        if row.account_id:
            return row.account_id
        client = self.transport.client
        account = self.transport.call(
            lambda: client.v1.accounts.create(
                params={
                    "controller": {
                        "stripe_dashboard": {"type": "express"},
                        "fees": {"payer": "application"},
                        "losses": {"payments": "application"},
                        "requirement_collection": "stripe",
                    },
                    "capabilities": {"transfers": {"requested": True}},
                    "metadata": {"x_user_id": user_id},
                },
                options={"idempotency_key": f"account:{user_id}"},
            )
        )
        self.records.save(user_id, account_id=account.id)
        return str(account.id)

    def ready(self, user_id: str, account_id: str) -> bool:
        """Whether the account can take transfers, as Stripe says now (saved, and reported by the next poll)."""
        client = self.transport.client
        account = self.transport.call(lambda: client.v1.accounts.retrieve(account_id))
        ready = bool(field(account, "capabilities", "transfers") == "active")
        if ready and not self.records.row(user_id).account_ready:
            self.records.save(user_id, account_ready=True)
            self._became_ready[account_id] = user_id  # reported by the next poll: held money may wait for it
        return ready

    def destination(self, user_id: str) -> str | None:
        """The recipient's Connect account if it can take transfers now."""
        if not self.connect:
            return None
        row = self.records.row(user_id)
        if row.account_id and (row.account_ready or self.ready(user_id, row.account_id)):
            return row.account_id
        return None

    def onboarding_events(self) -> list[ProviderEvent]:
        """ACCOUNT_READY, once, for each account awaiting onboarding that can take transfers now.

        The accounts awaiting are the records with an account that is not ready, whose schedule started
        (their updated_at: the account's creation, or the last link minted) within ONBOARDING_WATCH; each
        is retrieved when due (see ONBOARDING_MAX_INTERVAL), at most ONBOARDING_CHECKS_PER_POLL per call.
        Accounts found ready elsewhere (a payment or a CLAIM asked Stripe) are reported here too."""
        if not self.connect:
            return []
        now = self.clock.now()
        rows = self.records.awaiting(now - ONBOARDING_WATCH)
        out = [
            ProviderEvent(f"account-ready:{account}", EventKind.ACCOUNT_READY, user_id=user)
            for account, user in self._became_ready.items()
        ]
        self._became_ready.clear()
        awaiting = {str(row.account_id): row for row in rows}
        self._checked = {a: t for a, t in self._checked.items() if a in awaiting}
        never = datetime.min.replace(tzinfo=UTC)
        due = []
        for account, row in awaiting.items():
            last = self._checked.get(account)
            if last is None or now - last >= min((now - row.updated_at) / 4, ONBOARDING_MAX_INTERVAL):
                due.append((last or never, account, row.user_id))
        due.sort()
        for _, account, user in due[:ONBOARDING_CHECKS_PER_POLL]:
            self._checked[account] = now
            try:
                found = self.transport.call(partial(self.transport.client.v1.accounts.retrieve, account))
            except ProviderTransient as err:  # Stripe cannot answer now: the others wait for their next turn
                log.warning("could not check onboarding of Stripe account %s: %s", account, err)
                break
            except ProviderError as err:
                log.warning("could not check onboarding of Stripe account %s: %s", account, err)
                continue
            if field(found, "capabilities", "transfers") == "active":
                self.records.save(user, account_ready=True)
                del self._checked[account]
                out.append(ProviderEvent(f"account-ready:{account}", EventKind.ACCOUNT_READY, user_id=user))
        return out
