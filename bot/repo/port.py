"""The repository port: what the use cases may ask of the store, and the unit of work around it.

The use cases (bot.app) read and write through these protocols only; the SQL lives in
`bot.repo.sql`, `bot.repo.sql_transfers` and `bot.repo.sql_money` (which read each user, checkpoint and command's
transfers once per unit of work, and what `Transfers.warm` reads ahead), and `bot.repo.memory`
keeps the same rows in dictionaries. Both pass one contract suite
(tests/contract/test_repository_contract.py, on memory, SQLite and PostgreSQL).

Rows are the store's record types (the entities of `bot.domain.entities`: `Transfer`, ...). Within one unit of work:

- a row read twice is the same object (an identity map), and a query sees what was changed
  or added before it;
- every row read or added is saved by `commit()`, changed or not; nothing is saved without it
  (leaving the block rolls back);
- `add` gives a new row its id at once (or at `flush`, which the SQL store needs before a new
  transfer's, settlement's or payout's id is read); messages, timeline steps and processed ids
  may be written only at the commit (or when their table is next read), and the objects added
  are not given their ids: read the rows back to know them; a second row with the same unique
  key raises `Conflict` at `add`, `flush`, the next read or `commit`.

Orders are part of each method's contract (ids grow with insertion), so both stores answer alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain import Category, Fact, Status
from bot.domain.entities import IdentityRecord, Outbox, PageLink, Payout, Settlement, Transfer, TransferEvent, User
from bot.domain.marks import Mark


class Conflict(Exception):
    """A row with the same unique key is already stored (a second transfer for one post and pair of
    people, a second settlement with one key): the unit of work must be rolled back."""


class Transfers(Protocol):
    def get(self, transfer_id: int) -> Transfer | None: ...

    def add(self, t: Transfer) -> None: ...

    def many(self, ids: Iterable[int], *, status: Status | None = None) -> list[Transfer]:
        """These transfers (those that exist, and are in `status` when it is given), by id."""
        ...

    def of_root(self, root_id: str, *, sender_id: str | None = None, code: str | None = None) -> list[Transfer]:
        """The transfers one command post made (of one sender, with one code, when given), by id."""
        ...

    def of_roots(self, root_ids: Iterable[str]) -> list[Transfer]:
        """The transfers these command posts made, by id."""
        ...

    def pending_of(self, sender_id: str) -> list[Transfer]:
        """What `sender_id` was asked to confirm and has not answered, by id."""
        ...

    def left_pending_since(self, sender_id: str, since: datetime) -> list[Transfer]:
        """`sender_id`'s transfers that are no longer pending and changed, or were confirmed, at or after `since`
        (answered, voided, expired, and what became of them), by id."""
        ...

    def closed_unanswered(self, sender_id: str, since: datetime) -> list[Transfer]:
        """What `sender_id` was asked to confirm and that closed without their answer at or after `since` (expired, or
        cancelled by an edit of its post: `reason` ENDED_BY_EDIT or "edited"), by id."""
        ...

    def warm(self, sender_ids: Iterable[str], since: datetime) -> None:
        """Read at once what `pending_of`, `moved_since`, `sends_since` and `closed_unanswered` (from `since` on)
        will be asked of these senders in this unit of work (a page of mentions or DMs): an optimisation only,
        answers are the same without it."""
        ...

    def with_status(
        self, status: Status, *, expires_by: datetime | None = None, hold_by: datetime | None = None
    ) -> list[Transfer]:
        """Every transfer in `status` (whose `expires_at`, or `hold_until`, is at or before the time given), by id."""
        ...

    def has_status(self, status: Status) -> bool:
        """Whether any transfer is in `status`."""
        ...

    def held_for(self, recipient_id: str) -> list[Transfer]:
        """The transfers held for `recipient_id`, by id."""
        ...

    def by_pay_key(self, key: str) -> Transfer | None: ...

    def by_payment_ref(self, ref: str) -> Transfer | None: ...

    def by_pay_keys(self, keys: Iterable[str]) -> list[Transfer]:
        """The transfers paid with these idempotency keys, by id."""
        ...

    def paid_since(self, since: datetime) -> list[Transfer]:
        """The transfers created since `since` that reached the provider (have a payment key), by id."""
        ...

    def latest_of(self, sender_id: str, code: str | None = None) -> Transfer | None:
        """The sender's transfer (with this code) changed last; of two changed at once, the newer."""
        ...

    def lang_of(self, sender_id: str) -> str | None:
        """The language of the sender's newest command."""
        ...

    def history(self, user_id: str, limit: int) -> list[Transfer]:
        """The newest `limit` transfers `user_id` sent or received, newest first."""
        ...

    def next_deadline(self) -> datetime | None:
        """The earliest end of a confirmation (pending) or of a hold or approval window (held, needs_auth)."""
        ...

    def count_by_status(self, statuses: Iterable[Status]) -> dict[Status, int]:
        """How many transfers are in each of these statuses (those with none are left out)."""
        ...

    def requests_since(self, since: datetime, *, requester_id: str | None = None, payer_id: str | None = None) -> int:
        """How many request commands (posts) `requester_id` made, or named `payer_id`, since `since`."""
        ...

    def sends_since(self, sender_id: str, since: datetime, *, other_than_root: str) -> int:
        """How many send commands (posts) `sender_id` made since `since`, the command `other_than_root` aside."""
        ...

    def received_since(self, recipient_id: str, currency: str, since: datetime) -> int:
        """Minor units of `currency` that completed transfers gave `recipient_id` and that last changed since
        `since` (arrived then, or later refunded in part): what a cash-out hold keeps."""
        ...

    def strangers_paid(self, sender_id: str, since: datetime, *, other_than_root: str) -> set[str]:
        """The people `sender_id` paid since `since` (in commands other than `other_than_root`, not
        cancelled, expired or failed) who never wrote to the bot."""
        ...

    def moved_since(self, sender_id: str, since: datetime) -> int:
        """What `sender_id` confirmed since `since`, in minor units of any currency added up as they are
        (a cent, a penny and a yen count alike): the sum the rolling daily cap compares."""
        ...


class Users(Protocol):
    def get(self, user_id: str) -> User | None: ...

    def add(self, user: User) -> None: ...

    def many(self, ids: Iterable[str]) -> list[User]:
        """These users (those known), by id."""
        ...


class Messages(Protocol):
    """The outbox."""

    def get(self, item_id: int) -> Outbox | None: ...

    def add(self, item: Outbox) -> None: ...

    def many(self, ids: Iterable[int]) -> list[Outbox]:
        """These messages (those that exist), by id."""
        ...

    def due(self, now: datetime, limit: int) -> list[Outbox]:
        """Messages waiting (queued or in doubt) whose next attempt is due, by priority then id."""
        ...

    def count_about(self, user_id: str, category: Category, since: datetime) -> int:
        """How many messages of `category` about `user_id` were queued since `since`."""
        ...

    def confirmations_in_doubt(self, versions: Iterable[str]) -> list[Outbox]:
        """The confirmation DMs of these versions whose send began and was not settled (sending), by id."""
        ...

    def roots_awaiting_confirmation(self) -> set[str]:
        """The commands with a confirmation still waiting to be sent."""
        ...

    def waiting(self) -> int:
        """How many messages wait to be sent."""
        ...


class Settlements(Protocol):
    def get(self, settlement_id: int) -> Settlement | None: ...

    def add(self, st: Settlement) -> None: ...

    def by_key(self, key: str) -> Settlement | None: ...

    def by_ref(self, ref: str) -> Settlement | None: ...

    def of(self, transfer_id: int | None) -> list[Settlement]:
        """A transfer's settlements, oldest first."""
        ...

    def unsent(self) -> list[Settlement]:
        """Settlements begun whose provider answer was not recorded (pending, no reference), by id."""
        ...

    def refused_for_balance(self) -> set[int]:
        """The transfers with a release the platform's balance could not cover."""
        ...


class Payouts(Protocol):
    """The cash-outs (CASHOUT by DM)."""

    def get(self, payout_id: int) -> Payout | None: ...

    def add(self, row: Payout) -> None: ...

    def by_key(self, key: str) -> Payout | None: ...

    def by_ref(self, ref: str) -> Payout | None: ...

    def made_since(self, user_id: str, since: datetime) -> int:
        """How many cash-outs `user_id` asked for since `since` that were made or are on their way (not those
        refused before any payout, nor those with nothing to pay)."""
        ...

    def in_flight(self, user_id: str, currency: str) -> Payout | None:
        """The user's cash-out in `currency` that has not ended (created: begun, or on its way), if any."""
        ...

    def unsent(self) -> list[Payout]:
        """Cash-outs begun whose provider answer was not recorded (created, no reference), by id."""
        ...

    def open(self) -> int:
        """How many cash-outs have not ended (created: begun, or on their way to the bank)."""
        ...

    def awaiting_account(self, user_id: str) -> list[Payout]:
        """The user's cash-outs waiting for them to confirm a new account (CONFIRM_ACCOUNT), newest first."""
        ...

    def warm(self, user_ids: Iterable[str]) -> None:
        """Read at once what `awaiting_account` will be asked of these people in this unit of work (a page of
        mentions). Its answers are then those of the read ahead and of what this unit of work changed since: a
        cash-out another unit of work moves into or out of waiting for an account meanwhile (possible on PostgreSQL,
        whose units of work do not take turns as SQLite's do) is not seen. Only the worker moves cash-outs there,
        one job at a time under its lease, so the answers are those a fresh read would give."""
        ...

    def accounts_of(self, user_id: str) -> tuple[frozenset[str], frozenset[str]]:
        """The accounts (provider ids) the user confirmed by DM, and those they refused."""
        ...


class Steps(Protocol):
    """The steps of each transfer's life (`paybot show`)."""

    def add(self, step: TransferEvent) -> None: ...

    def of(self, transfer_id: int) -> list[TransferEvent]:
        """A transfer's steps, oldest first."""
        ...

    def noted(self, transfer_id: int | None, *prefixes: str) -> bool:
        """Whether a step of this transfer has a note that starts with one of `prefixes`."""
        ...

    def recorded(self, transfer_id: int | None, *facts: Fact) -> bool:
        """Whether a step of this transfer records one of `facts`."""
        ...


class Processed(Protocol):
    """The X events (posts, DM events, provider events) already handled, by id."""

    def has(self, event_id: str) -> bool: ...

    def add(self, event_id: str, at: datetime) -> None: ...

    def unseen(self, ids: Iterable[str]) -> set[str]:
        """Which of these ids were not handled yet."""
        ...


class Checkpoints(Protocol):
    def get(self, name: Mark) -> str | None: ...

    def set(self, name: Mark, value: str) -> None: ...

    def flag(self, name: Mark) -> bool:
        """An on/off checkpoint (`paused`, `winding_down`): on when it says "1"."""
        ...


class Identities(Protocol):
    """What people typed on the identity-and-terms page, one record per X user (`bot.identity`)."""

    def get(self, user_id: str) -> IdentityRecord | None: ...

    def add(self, record: IdentityRecord) -> None:
        """Store a new record, or the new state of one read in this unit of work."""
        ...


class PageLinks(Protocol):
    """The links to paybot's pages the bot sent (`bot.web.page_links`), by nonce."""

    def get(self, nonce: str) -> PageLink | None: ...

    def add(self, link: PageLink) -> None: ...

    def use(self, nonce: str, now: datetime) -> bool:
        """Mark the link used now, if it exists, ends after `now` and was not used: whether it was marked. Atomic: of
        two units of work using one link at once, one is told True and the other (once the first commits) False."""
        ...

    def claim(self, nonce: str, token: str, now: datetime) -> bool:
        """Hold the link for `token` (the card page, before it calls the provider), if it exists, ends after `now`,
        was not used, and is held by nobody (not even by the browser's own earlier claim: a claim ends only by
        `release` or `use_claimed`, or with the link): whether it was held. Atomic as `use`: of two units of work
        claiming one link at once, one wins."""
        ...

    def release(self, nonce: str, token: str) -> None:
        """Let go of the link, if `token` holds it (the provider refused the card: the link may be tried again)."""
        ...

    def use_claimed(self, nonce: str, token: str, now: datetime) -> bool:
        """Mark the link used now if `token` holds it and it was not used, whatever its end (the claim was won
        before it): whether it was marked. Atomic as `use`."""
        ...


class Tx(Protocol):
    """One unit of work: its repositories, and commit. Leaving it without `commit()` saves nothing."""

    @property
    def transfers(self) -> Transfers: ...

    @property
    def users(self) -> Users: ...

    @property
    def outbox(self) -> Messages: ...

    @property
    def settlements(self) -> Settlements: ...

    @property
    def timeline(self) -> Steps: ...

    @property
    def payouts(self) -> Payouts: ...

    @property
    def mentions(self) -> Processed:
        """The posts handled."""
        ...

    @property
    def dms(self) -> Processed:
        """The DM events handled (and the provider's events, as "event:<id>")."""
        ...

    @property
    def checkpoints(self) -> Checkpoints: ...

    @property
    def identities(self) -> Identities: ...

    @property
    def page_links(self) -> PageLinks: ...

    def flush(self) -> None:
        """Give new rows their ids (and check unique keys) before the commit."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None:
        """Forget everything since the last commit; the unit of work may go on."""
        ...


class Store(Protocol):
    """Opens units of work; holds the worker's lease."""

    def __call__(self) -> AbstractContextManager[Tx, bool | None]: ...

    def take_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take or renew the lease `name` for `holder`; False while another holder's lease runs. Atomic:
        two workers can never both hold it."""
        ...

    def release_lease(self, name: str, holder: str, now: datetime) -> None:
        """Give the lease up (a clean stop), so a successor need not wait for it to lapse."""
        ...
