"""X's facts the simulator keeps: ids, horizons, the pay-per-use rate limits per endpoint, the simulator's
credentials, and X's timestamp format."""

from __future__ import annotations

import re
from datetime import timedelta

_MENTION = re.compile(r"(?<![A-Za-z0-9_])@([A-Za-z0-9_]{1,15})(?![A-Za-z0-9_])")


FIRST_POST_ID = 1_861_000_000_000_000_000


FIRST_USER_ID = 1_000_000_001


MENTIONS_HORIZON = 800


DM_HISTORY = timedelta(days=30)


WINDOW = 15 * 60


# Requests per 15-minute window per user; POST DMs also have a 24-hour cap.
PAY_PER_USE: dict[str, int] = {
    "mentions": 300,
    "tweets_post": 100,
    "dm_events": 15,
    "dm_conversation_events": 15,
    "dm_post": 15,
    "users_by": 900,
    "users": 900,
    "users_me": 75,
}


DAILY_DM_POSTS = 1440


# X's routes as its API reference names them, and the simulator's name for each (faults, rate limits).
ROUTES: dict[str, str] = {
    "GET /2/users/me": "users_me",
    "GET /2/users/:id/mentions": "mentions",
    "GET /2/dm_events": "dm_events",
    "GET /2/dm_conversations/with/:participant_id/dm_events": "dm_conversation_events",
    "POST /2/dm_conversations/with/:participant_id/messages": "dm_post",
    "POST /2/tweets": "tweets_post",
    "GET /2/users": "users",
    "GET /2/users/by": "users_by",
}


UNLIMITED: dict[str, int] = {}


SIM_CONSUMER_KEY = "sim-consumer-key"


SIM_CONSUMER_SECRET = "sim-consumer-secret"


SIM_ACCESS_TOKEN = "sim-access-token"


SIM_ACCESS_TOKEN_SECRET = "sim-access-token-secret"


_NEW_NAMES = {"edit_history_tweet_ids": "edit_history_post_ids", "referenced_tweets": "referenced_posts"}
