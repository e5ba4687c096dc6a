"""The Mastodon simulator: the REST endpoints paybot uses, served over HTTP on 127.0.0.1.

Its answers follow what a real Mastodon server (4.6) answered Mastodon.py's test suite and Mastodon.py's
own field-by-field description of each entity (../shared/specs/mastodon: tests/cassettes/*.yaml and
srcgen/return_types.json), checked in tests/contract/test_mastosim_entities.py:

- ids are strings; status ids grow with time (Mastodon's snowflakes: milliseconds << 16), notification ids
  are a plain sequence; lists come newest first with `max_id` / `since_id` / `min_id` and a `Link` header
  (test_notifications.yaml);
- a status mentioning someone gives them a `mention` notification; a `direct` status is seen only by the
  people it mentions (test_status_post[None-direct].yaml); an edit keeps the status id, sets `edited_at`,
  adds a version to `/history` (test_status_edit.yaml) and notifies only people it newly mentions (as
  Mastodon's LocalNotificationWorker does: a mention is notified once; `update` goes to boosters only);
- statuses over the instance's `configuration.statuses.max_characters` (500) are refused with 422
  (test_lang_for_errors.yaml); unknown accounts are 404 `{"error": "Record not found"}`
  (test_account_lookup.yaml); a bad token is 401 (test_home_tl_anonymous_throws.yaml);
- every authenticated answer carries `X-RateLimit-Limit/Remaining/Reset` (the reset an ISO time at the
  end of the 5-minute window), and a request past the limit is 429 `{"error": "Too many requests"}`.

A control side (Python methods, and the same under /_sim/ over HTTP) plays the people: accounts on this
instance and on others (`alice@other.example`), posting, replying, editing, boosting, deleting, writing
directly (a `direct` status), renaming. A status posted with an `Idempotency-Key` the same account used in
the last hour answers the first status instead of posting again.

Streaming: the user stream (`/api/v1/streaming/user`, server-sent events) sends each new notification; the
home timeline's `update` events are not sent. Not modelled: federation delays, media, polls, quotes,
conversations, filters, blocks and mutes, and the
separate limits Mastodon keeps for posting and media."""

from __future__ import annotations

from bot.sims.mastodon.app import MastodonSim as MastodonSim
from bot.sims.mastodon.facts import DOMAIN as DOMAIN
from bot.sims.mastodon.facts import KEY_LIFETIME as KEY_LIFETIME
from bot.sims.mastodon.facts import MAX_CHARACTERS as MAX_CHARACTERS
from bot.sims.mastodon.facts import MENTION as MENTION
from bot.sims.mastodon.facts import RATE_LIMIT as RATE_LIMIT
from bot.sims.mastodon.facts import SIM_TOKEN as SIM_TOKEN
from bot.sims.mastodon.facts import VERSION as VERSION
from bot.sims.mastodon.facts import WINDOW as WINDOW
