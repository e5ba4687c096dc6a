"""What the simulated Mastodon instance is: its domain, the bot's token, the status length, the rate limit and its
window, how long an Idempotency-Key is kept, its version, and how a mention is written."""

from __future__ import annotations

import re
from datetime import timedelta

DOMAIN = "paybot.example"


SIM_TOKEN = "sim-mastodon-token"


MAX_CHARACTERS = 500


RATE_LIMIT = 300  # requests per window per account (Mastodon's default)


WINDOW = timedelta(minutes=5)


KEY_LIFETIME = 3600  # seconds an Idempotency-Key keeps the status it posted


VERSION = "4.6.4"


# @user or @user@domain, not glued to a word, a path or an address
MENTION = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{1,30})(?:@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+))?(?![\w@])")
