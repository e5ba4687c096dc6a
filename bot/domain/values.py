"""The closed sets of words paybot stores beside the statuses: a transfer's kind, a person's privacy, an outbox
message's kind and category, who started a settlement, what a page link opens, and the reasons paybot itself
writes. Pure: no I/O.

Each value is the string stored since its column exists (a StrEnum member equals its string), so rows written
before these enums stay valid; the store refuses any other value (CHECK constraints, migration 0016). Reasons
that carry a provider's or X's own words (a decline, a refund that failed) stay free text: only the ones paybot
writes are named here, and compared by name.
"""

from __future__ import annotations

from enum import StrEnum


class TransferKind(StrEnum):
    """What the command post was: a send (the author pays) or a request (the people named pay the author)."""

    SEND = "send"
    REQUEST = "request"


class Privacy(StrEnum):
    """What the public reply about a person's payments shows (their setting, by DM)."""

    PUBLIC = "public"  # the amount
    PRIVATE = "private"  # no amount; a receipt by DM
    QUIET = "quiet"  # no reply for completed payments; a receipt by DM


class MessageKind(StrEnum):
    """How an outbox message goes to X."""

    DM = "dm"
    REPLY = "reply"


class Category(StrEnum):
    """What an outbox message is, when that matters later: which ones ask (dropped when their version is no longer
    current), and which ones are counted per person to limit them."""

    ASK = "ask"  # a request's public reply naming its payers with their codes
    ASK_BY_DM = "ask_by_dm"  # a request's DM to a discreet payer
    DM_ANSWER = "dm_answer"  # an answer to a DM that moves no money (limited per hour)
    CLOSING_CASHOUT = "closing_cashout"  # the one DM telling a holder to cash out before paybot closes
    # public answers to a post, at most one an hour per person and category:
    HELP = "help"
    MAINTENANCE = "maintenance"  # paused or closing
    LIMIT = "limit"  # a limit refused it
    ERROR = "error"  # it could not be read


class Cause(StrEnum):
    """Who or what started a settlement."""

    CLAIM = "claim"  # the recipient claimed held money (a release)
    WINDOW = "window"  # the claim window closed (a return)
    CLOSING = "closing"  # paybot is winding down (a return)
    OPERATOR = "operator"  # `paybot refund`, `paybot reverse`, the console
    PROVIDER = "provider"  # a refund made outside paybot (the provider's dashboard), recorded from its event
    UNDELIVERABLE = "undeliverable"  # a release the provider will never make: the money goes back (a return)


class SettleFailure(StrEnum):
    """Why a settlement failed, when paybot decides what follows from it (other failures are the provider's words)."""

    BALANCE = "balance"  # a release the platform's balance could not cover: tried again later, with a new key
    UNDELIVERABLE = "undeliverable"  # a release the provider will never make: the money goes back to its sender


class PagePurpose(StrEnum):
    """What a link to one of paybot's pages opens (bot.web.page_links)."""

    PAY = "pay"  # identity and terms, to pay
    RECEIVE = "receive"  # the same and the address, to receive
    CARD = "card"  # the card page
    RECIPIENT = "recipient"  # the cash-out account page
    ENROLLED = "enrolled"  # back from the provider's strong-authentication enrolment
    WALLET = "wallet"  # back from the provider's strong authentication to see a wallet


class Fact(StrEnum):
    """What a line of a transfer's timeline records that the code reads back later by meaning, never by the words
    of its note (`TransferEvent.fact`)."""

    DISPUTED = "disputed"  # the payer's bank opened a dispute on the payment
    FUNDS_WITHDRAWN = "funds_withdrawn"  # a dispute took money back from the platform


class Reason(StrEnum):
    """Why a transfer ended where it is, in the words paybot writes on it (`Transfer.reason`) and its timeline.
    A decline's reason is the provider's and stays free text."""

    EDITED = "edited"  # an edit of the post dropped this person
    ENDED_BY_EDIT = "an edit changed who pays, or edited it too often"  # the command is over: needs a new post
    SENDER_SAID_NO = "sender said no"
    BY_OPERATOR = "cancelled by the operator"
    DM_REFUSED = "confirmation DM refused by X"
    REPLY_REFUSED = "request reply refused by X"
    REQUESTER_STOP = "the requester said STOP"
    PAYER_STOP = "the payer said STOP"
    CLOSING = "paybot is closing down"
    RECIPIENT_OPTED_OUT = "recipient opted out"  # refused before any charge: the recipient said STOP
    TOO_SMALL = "not charged: too small"  # below the provider's minimum after conversion
    APPROVAL_ASKED = "the bank asked the sender to approve it"
    NOT_APPROVED = "not approved in time"
