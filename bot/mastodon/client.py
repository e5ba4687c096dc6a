"""The Mastodon adapter: Mastodon.py behind the Timeline port.

Mastodon.py objects never leave this package. How Mastodon's world maps onto the port (decisions, since the
port was drawn for X):

- **Ids.** The port's ids are strings of digits compared as integers, growing with time, and an edit must
  have an id of its own (X gives each version a new post id; Mastodon keeps the status id and sets
  `edited_at`). A port id is therefore `top × 10^20 + status id`: `top` is the status id for the status as
  first posted, and for its n-th edit a Mastodon-style snowflake of the edit's time (milliseconds << 16, plus
  n), so an edit sorts after every status posted before it, as on X (`port_id`, `status_of`). DMs and the
  bot's own statuses use the same scheme.
- **Mentions** are the bot's notifications of type `mention` whose status is not `direct`. Mastodon does not
  notify a mentioned account of an edit (only boosters get `update`), so each reading also looks again at
  the mentions of the last `edit_horizon` (1 hour) as the notification listing shows them now: a status
  with `edited_at` has its versions read from `/history` (once per edit), and every version is a mention of
  its own, its `edit_ids` the versions before it, root first.
- **Late statuses.** A status from another instance may reach the bot's instance long after it was published,
  with an id (from its publication time) below the cursor: one whose notification came more than `LATE`
  after its publication is read whatever its id (the core keeps each id once). So is every version of an
  edited status re-read within `edit_horizon`: an edit federated late keeps its edit time (`edited_at`, the
  version's `created_at` in `/history`), maybe below the cursor, and is read when its Update reaches the
  instance, under the version rule of X (root first: an edit after the answer changes nothing).
- **DMs** are `direct` statuses. The bot's are a `direct` status naming the person first, every other
  @handle in it written ＠handle (a mention in a direct status adds that person to it); theirs are the
  bot's `mention` notifications of `direct` statuses, their leading @handles (the bot's, written to address
  it) taken off the text. A direct status naming anyone else besides the bot is a group conversation
  (`conversation_id` "group-<status>"), which the core ignores. The bot's own DMs are not in `dm_events`
  (Mastodon notifies the bot of others' statuses only); `dm_sent` reads the bot's own statuses instead.
- **Replies** are as visible as the status they answer and never more (public, or unlisted, or
  followers-only), so the bot never widens an audience its author chose.
- **Handles** are Mastodon's `acct`: `alice` on the bot's instance, `alice@other.example` elsewhere. Text is
  Mastodon's HTML made plain, each mention link written as `@acct` (the link text is the short @username).
- **Replies** carry an `Idempotency-Key` made of the status answered and the text, so a reply in doubt sent
  again within Mastodon's hour of keys answers the first status instead of posting twice (X refuses the
  duplicate instead; the core takes either as sent). DMs carry none: the same words may rightly be said
  twice ("already cancelled"), and a DM in doubt is looked for with `dm_sent` first, as on X.
- **Streaming**: `listen` follows the user stream and wakes the worker on each notification and each
  `status.update` (an edit); the readings above stay the source of truth (and the catch-up after downtime).
- **Limits**: one budget per account for every endpoint (300 per 5 minutes by default), read from the
  `X-RateLimit-*` headers of every answer; a call made with none left raises XRateLimited before it is
  made. The status length is the instance's `configuration.statuses.max_characters`, counted as Mastodon
  does (a link is 23 characters, a remote mention counts its @username only).
"""

from __future__ import annotations

from bot.mastodon.content import QUIET_AT, countable, plain_text, port_id, quiet_handles, read_content, status_of
from bot.mastodon.posting import Posting
from bot.mastodon.reading import Reading
from bot.mastodon.streaming import Streaming

__all__ = [
    "QUIET_AT",
    "MastodonTimeline",
    "countable",
    "plain_text",
    "port_id",
    "quiet_handles",
    "read_content",
    "status_of",
]


class MastodonTimeline(Reading, Posting, Streaming):
    """Mastodon, through Mastodon.py; implements bot.ports.Timeline. Its parts: the connection (transport.py),
    reading mentions and DMs (reading.py) with looking people up (people.py), posting (posting.py), the user stream
    (streaming.py); what a status says, content.py."""
