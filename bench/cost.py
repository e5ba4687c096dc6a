"""Benchmark 1: X API requests and dollars per completed transfer, against a naive bot.

    python -m bench.cost [--n 1000]

Both flows run on the same X simulator (pay-per-use prices, see
bench/harness.py) in the same run. paybot: one confirmation DM and one public
reply per payment, recipients' ids from the mention's entities, DM reads only
while an answer is awaited. The naive flow, per mention: a user lookup, a
confirmation DM, a receipt DM to the sender, a DM to the recipient and a
public reply, with DM events read every cycle.

Then commands that each pay five people (some paid, some held): one
confirmation DM and one public reply per command is the target.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from datetime import timedelta
from functools import partial
from typing import Any

from bench.harness import START, VirtualDay
from bot.sims.x import (
    PAY_PER_USE,
    SIM_ACCESS_TOKEN,
    SIM_ACCESS_TOKEN_SECRET,
    SIM_CONSUMER_KEY,
    SIM_CONSUMER_SECRET,
)
from bot.x.client import XClient
from bot.x.pricing import bill


def run_paybot(n: int) -> dict[str, Any]:
    """n payments, one a minute (the DM-limited rate), through the real worker."""
    day = VirtualDay(limits=PAY_PER_USE, n_people=min(n, 200))
    try:
        for i in range(n):
            when = START + timedelta(minutes=i)
            day.at(
                when,
                partial(day.post_payment, day.senders[i % len(day.senders)], day.recipients[i % len(day.recipients)]),
            )
        day.run_until(START + timedelta(minutes=n + 30))
        completed = sum(t.status == "completed" for t in day.transfers())
        return figures(day.sim.log, completed)
    finally:
        day.close()


def run_group(n: int, k: int = 5) -> dict[str, Any]:
    """n commands that each pay k people (every third of them has nowhere to receive yet, so their money
    is held), one a minute: what one command costs, whatever the number of people it names."""
    day = VirtualDay(limits=PAY_PER_USE, n_people=max(n, 1) * k)
    try:
        for i in range(n):
            names = [day.recipients[i * k + j] for j in range(k)]
            for j, name in enumerate(names):
                if j % 3 == 2:
                    day.sandbox.set_payouts(day.sim.user_id(name), False)
            text = "@paybot send 2 to " + " ".join(f"@{h}" for h in names)
            day.at(START + timedelta(minutes=i), partial(day.sim.tweet, day.senders[i], text))
        day.run_until(START + timedelta(minutes=n + 30))
        ok = Counter(e["endpoint"] for e in day.sim.log if 200 <= e["status"] < 300)
        moved = sum(t.status in ("completed", "held") for t in day.transfers())
        per = max(n, 1)
        return {
            "commands": n,
            "people_per_command": k,
            "transfers_moved": moved,
            "dm_sends_per_command": round(ok["dm_post"] / per, 3),
            "replies_per_command": round(ok["tweets_post"] / per, 3),
            "user_lookups_per_command": round((ok["users"] + ok["users_by"]) / per, 3),
        }
    finally:
        day.close()


def run_naive(n: int) -> dict[str, Any]:
    """The reference flow, driven with the same client on the same kind of simulator."""
    day = VirtualDay(limits={}, n_people=min(n, 200))
    try:
        x = XClient(
            consumer_key=SIM_CONSUMER_KEY,
            consumer_secret=SIM_CONSUMER_SECRET,
            access_token=SIM_ACCESS_TOKEN,
            access_token_secret=SIM_ACCESS_TOKEN_SECRET,
            base_url=day.base,
            clock=day.clock,
            dm_page_size=100,
        )
        bot = day.sim.bot_id
        since = None
        for i in range(n):
            day.clock.set(START + timedelta(minutes=i))
            sender, recipient = day.senders[i % len(day.senders)], day.recipients[i % len(day.recipients)]
            day.post_payment(sender, recipient)
            mentions = x.mentions(bot, since)
            since = max((m.id for m in mentions), key=int, default=since)
            x.dm_events(None)  # DM events read every cycle
            for m in mentions:
                target = x.users_by_handle([recipient])[recipient]
                x.send_dm(m.author_id, f"Confirm $5.00 to @{recipient}? Reply YES [{i}]")
                day.sim.dm(sender, "yes")
                x.dm_events(None)
                x.send_dm(m.author_id, f"Receipt: $5.00 sent to @{recipient} [{i}]")
                x.send_dm(target.id, f"You received $5.00 from @{sender} [{i}]")
                x.reply(m.id, f"@{sender} sent @{recipient} $5.00 [{i}]")
        return figures(day.sim.log, n)
    finally:
        day.close()


def figures(log: list[dict[str, Any]], completed: int) -> dict[str, Any]:
    ok = [e for e in log if 200 <= e["status"] < 300]
    by = Counter(e["endpoint"] for e in ok)
    dollars = bill(log)
    per = max(completed, 1)
    return {
        "transfers_completed": completed,
        "requests_per_transfer": round(len(ok) / per, 3),
        "dm_sends_per_transfer": round(by["dm_post"] / per, 3),
        "writes_per_transfer": round((by["dm_post"] + by["tweets_post"]) / per, 3),
        "usd_per_transfer": round(sum(dollars.values()) / per, 4),
        "requests_by_endpoint": dict(by),
        "usd_by_line": {k: round(v, 3) for k, v in dollars.items() if v},
        "http_429": sum(e["status"] == 429 for e in log),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=1000, help="payments to make (default 1000)")
    ap.add_argument("--groups", type=int, default=50, help="five-person commands to make (default 50)")
    args = ap.parse_args()
    ours, naive, group = run_paybot(args.n), run_naive(args.n), run_group(args.groups)
    print(f"{'per completed transfer':<28}{'paybot':>12}{'naive':>12}{'ratio':>9}")
    for key in ("requests_per_transfer", "dm_sends_per_transfer", "writes_per_transfer", "usd_per_transfer"):
        ratio = naive[key] / ours[key] if ours[key] else float("inf")
        print(f"{key:<28}{ours[key]:>12}{naive[key]:>12}{ratio:>8.2f}x")
    print(f"paybot requests by endpoint: {ours['requests_by_endpoint']}; dollars by line: {ours['usd_by_line']}")
    print(f"naive  requests by endpoint: {naive['requests_by_endpoint']}; dollars by line: {naive['usd_by_line']}")
    print(
        f"per five-person command ({group['transfers_moved']} of {group['commands'] * 5} moved): "
        f"{group['dm_sends_per_command']} DM sends, {group['replies_per_command']} public replies, "
        f"{group['user_lookups_per_command']} user lookups"
    )
    print(
        json.dumps(
            {
                "n": args.n,
                "group": group,
                "transfers_completed": ours["transfers_completed"],
                "requests_per_transfer": ours["requests_per_transfer"],
                "dm_sends_per_transfer": ours["dm_sends_per_transfer"],
                "writes_per_transfer": ours["writes_per_transfer"],
                "usd_per_transfer": ours["usd_per_transfer"],
                "naive_usd_per_transfer": naive["usd_per_transfer"],
                "naive_dm_sends_per_transfer": naive["dm_sends_per_transfer"],
                "usd_ratio_naive_over_paybot": round(naive["usd_per_transfer"] / ours["usd_per_transfer"], 2)
                if ours["usd_per_transfer"]
                else None,
                "http_429": ours["http_429"],
            }
        )
    )


if __name__ == "__main__":
    main()
