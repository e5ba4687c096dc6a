"""Commands parsed per second on a realistic mix, on one core.

    python -m bench.parse [--seconds 3]

Prints one line per kind of input and a last JSON line with the overall rate.
The target is at least 20,000 commands per second.
"""

from __future__ import annotations

import argparse
import json
import time

from bot.commands import parse_command, parse_dm
from bot.errors import CommandError

# Roughly what a bot's mentions look like: mostly sends, some requests and
# help, a fair share of chatter and mistakes, and the DMs that follow.
POSTS = [
    "@paybot send 5 to @alice for the pizza",
    "@paybot tip @bob 2",
    "@paybot pay 12.50 to @carol, @dave and @erin each for tickets",
    "@paybot envoie 5,50 € à @alice pour le café",
    "@paybot request 20 from @bob for dinner",
    "@paybot help",
    "@paybot thanks for the tip yesterday!",
    "lol @paybot is this thing on",
    "@paybot send 1,000 to @alice",
    "@paybot send 5 to @alicé",
    "RT @bob: @paybot send 5 to @alice",
    "@carol @paybot send $3 to @carol_fan_account_1",
]
DMS = ["yes", "YES K7Q2", "no", "claim", "history", "privacy private", "what?"]


def rate(texts: list[str], fn: object, seconds: float) -> tuple[int, float]:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for t in texts:
            try:
                fn(t)  # type: ignore[operator]
            except CommandError:
                pass
        n += len(texts)
    return n, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    parse_command("@paybot help")  # build the parser once, outside the timing
    posts, t_posts = rate(POSTS, parse_command, args.seconds)
    dms, t_dms = rate(DMS, parse_dm, args.seconds / 3)
    print(f"posts: {posts / t_posts:,.0f}/s   dms: {dms / t_dms:,.0f}/s")
    overall = (posts + dms) / (t_posts + t_dms)
    print(
        json.dumps(
            {
                "commands_per_second": round(overall),
                "posts_per_second": round(posts / t_posts),
                "dms_per_second": round(dms / t_dms),
                "target": 20000,
            }
        )
    )


if __name__ == "__main__":
    main()
