"""The SQL store's schema: one Table per entity of bot.domain.entities, mapped onto the entity's class with
SQLAlchemy's imperative mapping, so the ORM queries of bot.repo read and write the domain's own dataclasses.

The tables are exactly what the migrations (bot/migrations) build: the same names, columns, types (AutoString for
text, as SQLModel declared them; UTCDateTime for every time), CHECK constraints and indexes
(tests/integration/test_migrations.py compares them). The provider adapters' and the console's records, which are
no entity of the domain (plain dataclasses too: bot.ports.records, bot.console.records), have their tables on the
same metadata in bot.repo.record_tables, mapped here the same way. Importing this module maps them all; nothing
else happens at import time."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, MetaData, Table, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel.sql.sqltypes import AutoString

from bot.domain import (
    Cause,
    Fact,
    MessageKind,
    PagePurpose,
    PayoutStatus,
    Privacy,
    Send,
    Settle,
    Status,
    Step,
    TransferKind,
)
from bot.domain.entities import (
    Checkpoint,
    IdentityRecord,
    Lease,
    Outbox,
    PageLink,
    Payout,
    ProcessedDm,
    ProcessedTweet,
    Settlement,
    Transfer,
    TransferEvent,
    User,
)
from bot.domain.values import Category
from bot.repo import types
from bot.repo.record_tables import RECORDS
from bot.repo.types import id_column as _id
from bot.repo.types import int_column as _int
from bot.repo.types import one_of
from bot.repo.types import text_column as _text
from bot.repo.types import time_column as _time
from bot.repo.types import word_column as _word

__all__ = ["RECORDS", "TABLES", "metadata"]

# One metadata for every table of the store: the entities' below and the records' of bot.repo.record_tables.
metadata: MetaData = types.metadata


user_table = Table(
    "user",
    metadata,
    Column("id", AutoString(), primary_key=True, index=False, unique=False),
    _text("handle", index=True),
    _text("name", default=""),
    _word("user", "privacy", Privacy, default=Privacy.PUBLIC),
    Column("opted_out", Boolean(), nullable=False, index=False, unique=False, default=False),
    _time("updated_at"),
    _time("seen_at", nullable=True),
    _time("wrote_at", nullable=True),
    _text("last_post_id", nullable=True),
    one_of("user", "privacy", Privacy),
)

# The indexes after the unique key serve the console's pages (bot.console.pages), newest first: all transfers,
# by status, by either party (keyset pagination on created_at, id).
transfer_table = Table(
    "transfer",
    metadata,
    _id(),
    _word("transfer", "kind", TransferKind, default=TransferKind.SEND),
    _text("lang", default="en"),
    _text("root_tweet_id", index=True),
    _text("command_tweet_id"),
    _text("sender_id", index=True),
    _text("recipient_id", index=True),
    _int("amount_minor"),
    _text("currency"),
    _text("memo", nullable=True),
    _text("code"),
    _word("transfer", "status", Status, index=True),
    _text("reason", nullable=True),
    _text("pay_key", nullable=True),
    _text("payment_ref", nullable=True),
    _time("created_at"),
    _time("updated_at"),
    _time("expires_at"),
    _time("hold_until", nullable=True),
    _time("asked_at", nullable=True),
    _text("asked_id", nullable=True),
    _time("first_asked_at", nullable=True),
    _text("first_asked_id", nullable=True),
    _time("answered_at", nullable=True),
    _text("answered_id", nullable=True),
    _time("confirmed_at", nullable=True, index=True),
    UniqueConstraint("root_tweet_id", "sender_id", "recipient_id"),
    Index("ix_transfer_created", "created_at", "id"),
    Index("ix_transfer_status_created", "status", "created_at", "id"),
    Index("ix_transfer_sender_created", "sender_id", "created_at", "id"),
    Index("ix_transfer_recipient_created", "recipient_id", "created_at", "id"),
    one_of("transfer", "kind", TransferKind),
    one_of("transfer", "status", Status),
)

transferevent_table = Table(
    "transferevent",
    metadata,
    _id(),
    _int("transfer_id", index=True),
    _time("at"),
    _word("transferevent", "status", Status),
    _text("note", nullable=True),
    _word("transferevent", "fact", Fact, nullable=True),
    Index("ix_transferevent_at_status", "at", "status"),  # the console's charts, the warnings
    one_of("transferevent", "status", Status),
    one_of("transferevent", "fact", Fact),
)

settlement_table = Table(
    "settlement",
    metadata,
    _id(),
    _int("transfer_id", index=True),
    _word("settlement", "step", Step),
    _int("seq"),
    _int("amount_minor"),
    _text("key", nullable=True, unique=True),
    _text("ref", nullable=True, index=True),
    _word("settlement", "status", Settle, index=True),
    _word("settlement", "cause", Cause, nullable=True),
    _text("failure", nullable=True),
    _time("created_at"),
    _time("updated_at"),
    UniqueConstraint("transfer_id", "step", "seq"),
    one_of("settlement", "step", (s for s in Step if s != Step.PAY)),
    one_of("settlement", "status", Settle),
    one_of("settlement", "cause", Cause),
)

processedtweet_table = Table(
    "processedtweet",
    metadata,
    Column("id", AutoString(), primary_key=True, index=False, unique=False),
    _time("processed_at"),
)
processeddm_table = Table(
    "processeddm",
    metadata,
    Column("id", AutoString(), primary_key=True, index=False, unique=False),
    _time("processed_at"),
)
checkpoint_table = Table(
    "checkpoint", metadata, Column("name", AutoString(), primary_key=True, index=False, unique=False), _text("value")
)

outbox_table = Table(
    "outbox",
    metadata,
    _id(),
    _word("outbox", "kind", MessageKind),
    _int("priority", index=True),
    _text("to_user_id", nullable=True),
    _text("in_reply_to", nullable=True),
    _text("text"),
    _word("outbox", "status", Send, index=True, default=Send.QUEUED),
    _int("attempts", default=0),
    _time("next_attempt_at"),
    _time("created_at"),
    _time("sent_at", nullable=True),
    _text("x_id", nullable=True),
    _text("error", nullable=True),
    _text("transfer_root", nullable=True),
    _text("version", nullable=True),
    _time("attempted_at", nullable=True),
    _word("outbox", "category", Category, nullable=True),
    _text("about_user_id", nullable=True),
    _text("names", nullable=True),
    Index("ix_outbox_due", "status", "priority", "id"),
    Index("ix_outbox_transfer_root", "transfer_root", "id"),  # a transfer's messages (show)
    # the console's charts of what went out and when it was queued
    Index("ix_outbox_sent", "sent_at", "kind", "created_at"),
    Index("ix_outbox_created", "created_at"),
    one_of("outbox", "kind", MessageKind),
    one_of("outbox", "status", Send),
    one_of("outbox", "category", Category),
)

lease_table = Table(
    "lease",
    metadata,
    Column("name", AutoString(), primary_key=True, index=False, unique=False),
    _text("holder"),
    _time("expires_at"),
)

payout_table = Table(
    "payout",
    metadata,
    _id(),
    _text("user_id", index=True),
    _text("key", unique=True),
    _text("currency"),
    _int("amount_minor", nullable=True),
    _text("ref", nullable=True, index=True),
    _word("payout", "status", PayoutStatus, index=True),
    _text("failure", nullable=True),
    _text("lang", default="en"),
    _text("account_ref", nullable=True),
    _text("account_code", nullable=True),
    _time("account_confirmed_at", nullable=True),
    _time("account_refused_at", nullable=True),
    _time("created_at"),
    _time("updated_at"),
    one_of("payout", "status", PayoutStatus),
)

identity_table = Table(
    "identity",
    metadata,
    Column("user_id", AutoString(), primary_key=True, index=False, unique=False),
    _text("first_name"),
    _text("last_name"),
    _text("email"),
    Column("birthday", Date(), nullable=True, index=False, unique=False),
    _text("nationality", nullable=True),
    _text("residence", nullable=True),
    _text("address_line1", nullable=True),
    _text("address_line2", nullable=True),
    _text("city", nullable=True),
    _text("region", nullable=True),
    _text("postal_code", nullable=True),
    _text("terms_url"),
    _time("terms_accepted_at"),
    _text("lang", default="en"),
    _time("updated_at"),
)

page_link_table = Table(
    "page_link",
    metadata,
    Column("nonce", AutoString(), primary_key=True, index=False, unique=False),
    _word("page_link", "purpose", PagePurpose),
    _text("user_id", index=True),
    _text("lang", default="en"),
    _time("created_at"),
    _time("expires_at"),
    _time("used_at", nullable=True),
    _text("claim", nullable=True),
    one_of("page_link", "purpose", PagePurpose),
)

# Each entity and its table.
TABLES: dict[type, Table] = {
    User: user_table,
    Transfer: transfer_table,
    TransferEvent: transferevent_table,
    Settlement: settlement_table,
    ProcessedTweet: processedtweet_table,
    ProcessedDm: processeddm_table,
    Checkpoint: checkpoint_table,
    Outbox: outbox_table,
    Lease: lease_table,
    Payout: payout_table,
    IdentityRecord: identity_table,
    PageLink: page_link_table,
}

# Each entity, and each record of the adapters and the console, mapped onto its table.
mapper_registry = registry(metadata=metadata)
for _entity, _table in (TABLES | RECORDS).items():
    mapper_registry.map_imperatively(_entity, _table)
