"""Benchmark: Mangopay API requests per completed transfer, for each way money reaches a recipient, and per cash-out.

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
  Transfer on its SCA page (PSD2: both hold a Mangopay account);
then n cash-outs:
- cashout: each recipient (a verified Owner holding $5.00 in their wallet,
  received before the count, and with an IBAN registered earlier on the
  operator's bank-account page) DMs CASHOUT; paybot looks for a payout already
  made under the key, reads the wallet and the bank accounts and makes the
  bank wire payout; the bank settles it and the worker reads the payout its
  PAYOUT_NORMAL_SUCCEEDED event names. Counted per completed cash-out.
The people's users and card registrations are made before the count starts
(as for people who registered earlier); the sender's wallet and recurring
registration are made when their card is saved (while the card is fresh, as
Mangopay requires), so before the count too; a payment's count holds the
recipient's wallet when it is made then (one payment each here). It prints one
JSON line per kind: Mangopay requests per completed transfer (per completed
cash-out on the last line; all, and POSTs, which create objects or move
money), by route, and the wall time per transfer (noisy on a shared machine).
The OAuth token requests (one an hour) and the event polls (GET /events, one
per tick whatever the traffic) are left out.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stripe_calls import count_requests, per_transfer
from bot.sims.mangopay import IBAN_OK
from bot.sims.runner import Run

KINDS = ("direct", "held", "approved", "sca")  # the ways money reaches a recipient; then a line for cash-outs


def run_cashout(n: int) -> dict[str, Any]:
    """n recipients each cash out the $5.00 they received, to an account they confirm (YES and its last four
    characters): Mangopay requests per completed cash-out."""
    users: dict[str, Any] = {f"s{i}": {"card": "ok"} for i in range(n)} | {f"r{i}": {"payouts": True} for i in range(n)}
    with tempfile.TemporaryDirectory(prefix="paybot-bench-") as tmp:
        run = Run({"users": users}, Path(tmp), provider="mangopay")
        try:
            sim = run.mangopay
            assert sim is not None
            for i in range(n):  # the money reaches each recipient's wallet (not counted)
                run.step({"tweet": f"@paybot send 5 to @r{i}", "by": f"s{i}"})
                run.step({"dm": "yes", "by": f"s{i}"})
            run.step({"wait": "8d"})  # past the cash-out hold on money received (PAYBOT_CASHOUT_HOLD, 7 days)
            for i in range(n):  # each registered an IBAN earlier, on the operator's bank-account page
                author = run.bot.provider._row(run.sim.user_id(f"r{i}")).mangopay_user_id  # type: ignore[attr-defined]
                sim.register_bank_account(str(author))
            before = len(sim.requests)
            began = time.perf_counter()
            for i in range(n):  # the first cash-out to an account asks its user to confirm it: "YES 0143"
                run.step({"dm": "cashout", "by": f"r{i}"})
                run.step({"wait": "5s"})
                run.step({"dm": f"yes {IBAN_OK[-4:]}", "by": f"r{i}"})
            for payout in sim.open_payouts():  # the bank pays each out
                sim.settle_payout(payout["Id"])
            run.step({"wait": "30s"})  # the worker's tick reads the events
            seconds = time.perf_counter() - began
            done = sum(p["Status"] == "SUCCEEDED" for p in sim.of_kind("payout"))
            calls = [c for c in sim.requests[before:] if c["route"] != "GET /events"]
        finally:
            run.close()
    line = per_transfer("cashout", n, done, seconds, calls, "mangopay")
    return {k.replace("per_transfer", "per_cashout").replace("transfers", "cashouts"): v for k, v in line.items()}


def run_kind(kind: str, n: int) -> dict[str, Any]:
    users: dict[str, Any] = {
        f"s{i}": {"card": "needs_auth" if kind == "approved" else "ok", "payouts": kind == "sca"} for i in range(n)
    }
    users |= {f"r{i}": {"payouts": kind != "held"} for i in range(n)}
    done, seconds, calls = count_requests(
        "mangopay", users, n, approve=kind in ("approved", "sca"), claim=kind == "held", left_out="GET /events"
    )
    return per_transfer(kind, n, done, seconds, calls, "mangopay")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30, help="payments of each kind")
    args = parser.parse_args()
    for kind in KINDS:
        print(json.dumps(run_kind(kind, args.n)), flush=True)
    print(json.dumps(run_cashout(args.n)), flush=True)


if __name__ == "__main__":
    main()
