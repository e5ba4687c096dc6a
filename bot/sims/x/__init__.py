"""The X API simulator: the v2 endpoints paybot uses, served over HTTP on 127.0.0.1.

Its response shapes follow X's OpenAPI description (checked in
tests/contract/test_xsim_openapi.py): newest-first lists, pagination tokens, since_id
and until_id, rate-limit headers and 429s per endpoint, 401 for unknown
credentials, 403 for duplicate content, closed DMs and replies the bot was not
invited to. A control API under /_sim/ (and the same methods in Python) acts as
the people on X: post, reply, edit, repost, quote, DM, rename.

Field names: X's current OpenAPI description says `post.fields`,
`edit_history_post_ids` and `referenced_posts`; tweepy and X's v2 docs say
`tweet.fields`, `edit_history_tweet_ids` and `referenced_tweets`. The
simulator answers in the vocabulary the request used, so both stay honest.

It runs in-process (tests, demo, simulate) or standalone (`paybot sim-x`),
keeping its state in a JSON file so it survives the bot's restarts."""

from __future__ import annotations

from bot.sims.kit import TIMEOUT as TIMEOUT
from bot.sims.x.app import XSim as XSim
from bot.sims.x.facts import DAILY_DM_POSTS as DAILY_DM_POSTS
from bot.sims.x.facts import DM_HISTORY as DM_HISTORY
from bot.sims.x.facts import MENTIONS_HORIZON as MENTIONS_HORIZON
from bot.sims.x.facts import PAY_PER_USE as PAY_PER_USE
from bot.sims.x.facts import ROUTES as ROUTES
from bot.sims.x.facts import SIM_ACCESS_TOKEN as SIM_ACCESS_TOKEN
from bot.sims.x.facts import SIM_ACCESS_TOKEN_SECRET as SIM_ACCESS_TOKEN_SECRET
from bot.sims.x.facts import SIM_CONSUMER_KEY as SIM_CONSUMER_KEY
from bot.sims.x.facts import SIM_CONSUMER_SECRET as SIM_CONSUMER_SECRET
from bot.sims.x.facts import UNLIMITED as UNLIMITED
from bot.sims.x.facts import WINDOW as WINDOW
