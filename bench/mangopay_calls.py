"""Benchmark: Mangopay API requests per completed transfer, for each way money reaches a recipient.

    python -m bench.mangopay_calls [--n 30]

The real worker and Mangopay adapter (the official SDK over loopback to the
Mangopay emulator, through `paybot simulate`'s runner) make n payments of each
kind:
- direct: the recipient can receive (a verified Owner): a recurring card
  pay-in into the sender's wallet, then a Transfer to the recipient's wallet;
- held: the recipient has no Mangopay user yet; the money stays in the
  sender's wallet; they DM CLAIM, become an Owner, pass the hosted identity
  check, and the Transfer follows;
- approved: the sender's bank wants 3DS on the pay-in; they pass its page;
- sca: the sender is an Owner too, so Mangopay wants them to approve the
  Transfer on its SCA page (PSD2: both hold a Mangopay account).
The people's users and card registrations are made before the count starts
(as for people who registered earlier); each sender's first payment also
creates the wallets and their recurring registration, which are counted, one
payment each here (a sender who pays often pays them once). It prints one
JSON line per kind: Mangopay requests per completed transfer (all, and POSTs,
which create objects or move money), by route, and the wall time per transfer
(noisy on a shared machine). The OAuth token requests (one an hour) and the
event polls (GET /events, one per tick whatever the traffic) are left out.
A cash-out (payout to a bank account) is not built, so it has no line.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench.stripe_calls import count_requests, per_transfer

KINDS = ("direct", "held", "approved", "sca")


def run_kind(kind: str, n: int) -> dict[str, Any]:
    users: dict[str, Any] = {f"s{i}": {"card": "needs_auth" if kind == "approved" else "ok",
                                       "payouts": kind == "sca"} for i in range(n)}
    users |= {f"r{i}": {"payouts": kind != "held"} for i in range(n)}
    done, seconds, calls = count_requests("mangopay", users, n, approve=kind in ("approved", "sca"),
                                          claim=kind == "held", left_out="GET /events")
    return per_transfer(kind, n, done, seconds, calls, "mangopay")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="payments of each kind")
    args = parser.parse_args()
    for kind in KINDS:
        print(json.dumps(run_kind(kind, args.n)), flush=True)


if __name__ == "__main__":
    main()
