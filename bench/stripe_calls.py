"""Benchmark: Stripe API requests per completed transfer, for each way money reaches a recipient.

    python -m bench.stripe_calls [--n 30]

The real worker and Stripe adapter (stripe-python over loopback to the Stripe
emulator, through `paybot simulate`'s runner) make n payments of each kind:
- direct: the recipient can receive (one destination charge);
- held: the recipient has no account yet; they DM CLAIM, onboard on Stripe's
  page, and the held money is transferred to them;
- approved: the sender's bank wants approval; they pay on the Checkout page.
It prints one JSON line per kind: Stripe requests per completed transfer
(all, and POSTs, which are the ones that move money or create objects),
by route, and the wall time per transfer (noisy on a shared machine). The
event polls (GET /v1/events) are left out: the worker makes one per tick
(PAYBOT_TICK_INTERVAL, 30 s: 2,880 a day) whatever the traffic, and the
simulation's ticks are not the real ones.
Stripe's rate limits (100 requests/s live, 25/s in test mode) divided by the
requests per transfer give the payment rate one account can sustain.

Onboarding is learnt by asking (GET /v1/accounts/{id}): account.updated of a
connected account is a Connect event, absent from the platform's own event
list. The adapter retrieves each account awaiting onboarding on every tick
until a quarter of the wait since its link exceeds the tick, then once a
quarter of the wait has passed again, at least hourly, for 30 days, and at
most 20 accounts per tick. With 30-second ticks that is, per recipient, 2
requests if they finish within a minute, 7 within 5 minutes, 11 within 15,
16 within an hour, 40 within a day, 352 within 14 days (the default claim
window), and 735 for one who never finishes; the poll sees the account
ready at most a quarter of the wait (at most an hour) after it was.
The claim itself retrieves the account once more. Here the simulation's
clock stands still between steps, so each tick between the link and the
onboarding polls once: "held" counts 4 GET /v1/accounts/{id} per transfer
(1 before this schedule, when the emulator still listed account.updated
among the platform's events, which Stripe does not).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bot.sims.runner import Run


def count_requests(
    provider: str, users: dict[str, Any], n: int, *, approve: bool, claim: bool, left_out: str
) -> tuple[int, float, list[dict[str, Any]]]:
    """n payments s{i} -> r{i} through the runner on `provider` (each approved, or claimed, as asked): how many
    completed, the seconds they took, and the emulator's requests meanwhile (without the `left_out` route,
    the event polls)."""
    with tempfile.TemporaryDirectory(prefix="paybot-bench-") as tmp:
        run = Run({"users": users}, Path(tmp), provider=provider)
        try:
            emulator = run.stripe if provider == "stripe" else run.mangopay
            assert emulator is not None
            before = len(emulator.requests)
            began = time.perf_counter()
            for i in range(n):
                run.step({"tweet": f"@paybot send 5 to @r{i}", "by": f"s{i}"})
                run.step({"dm": "yes", "by": f"s{i}"})
                if approve:
                    run.step({"approve": f"s{i}"})
                if claim:
                    run.step({"dm": "claim", "by": f"r{i}"})
            seconds = time.perf_counter() - began
            done = sum(t["status"] == "completed" for t in run.outcome()["transfers"])
            calls = [c for c in emulator.requests[before:] if c["route"] != left_out]
        finally:
            run.close()
    return done, seconds, calls


def per_transfer(
    kind: str, n: int, done: int, seconds: float, calls: list[dict[str, Any]], name: str
) -> dict[str, Any]:
    """The figures of one kind: `name`'s requests and POSTs per completed transfer, by route, and the time."""
    routes = Counter(c["route"] for c in calls)
    per = max(done, 1)
    return {
        "kind": kind,
        "transfers": n,
        "completed": done,
        f"{name}_requests_per_transfer": round(len(calls) / per, 2),
        f"{name}_posts_per_transfer": round(sum(c["route"].startswith("POST") for c in calls) / per, 2),
        "by_route": {r: round(k / per, 2) for r, k in routes.most_common()},
        "ms_per_transfer": round(1000 * seconds / per, 1),
    }


def run_kind(kind: str, n: int) -> dict[str, Any]:
    users: dict[str, Any] = {f"s{i}": {"card": "needs_auth" if kind == "approved" else "ok"} for i in range(n)}
    users |= {f"r{i}": {"payouts": kind != "held"} for i in range(n)}
    done, seconds, calls = count_requests(
        "stripe", users, n, approve=kind == "approved", claim=kind == "held", left_out="GET /v1/events"
    )
    return per_transfer(kind, n, done, seconds, calls, "stripe")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="payments of each kind")
    args = parser.parse_args()
    for kind in ("direct", "held", "approved"):
        print(json.dumps(run_kind(kind, args.n)), flush=True)


if __name__ == "__main__":
    main()
