"""The benchmarks run, and the counts they report hold (counts, not timings)."""

from __future__ import annotations

from bench.cost import run_group, run_naive, run_paybot
from bot.x.pricing import bill


def test_one_dm_and_one_reply_per_transfer() -> None:
    """paybot spends exactly one DM and one public reply per completed payment; the naive flow three DMs."""
    ours = run_paybot(8)
    assert ours["transfers_completed"] == 8
    assert ours["dm_sends_per_transfer"] == 1.0 and ours["writes_per_transfer"] == 2.0
    assert ours["http_429"] == 0
    naive = run_naive(8)
    assert naive["dm_sends_per_transfer"] == 3.0
    assert naive["usd_per_transfer"] > ours["usd_per_transfer"]


def test_a_command_to_five_people_is_one_dm_and_one_reply() -> None:
    """However many people a command pays, paid or held, it costs one confirmation DM and one public reply."""
    group = run_group(3)
    assert group["transfers_moved"] == 15
    assert group["dm_sends_per_command"] == 1.0 and group["replies_per_command"] == 1.0
    assert group["user_lookups_per_command"] == 0.0


def test_reads_are_billed_once_per_resource_per_day() -> None:
    log = [
        {
            "at": "2026-11-28T10:00:00.000Z",
            "endpoint": "mentions",
            "method": "GET",
            "status": 200,
            "ids": ["1", "2"],
            "user_ids": ["9"],
        },
        {
            "at": "2026-11-28T10:01:00.000Z",
            "endpoint": "mentions",
            "method": "GET",
            "status": 200,
            "ids": ["2", "3"],
            "user_ids": ["9"],
        },
        {
            "at": "2026-11-29T10:00:00.000Z",
            "endpoint": "mentions",
            "method": "GET",
            "status": 200,
            "ids": ["3"],
            "user_ids": [],
        },
        {
            "at": "2026-11-29T10:00:00.000Z",
            "endpoint": "dm_post",
            "method": "POST",
            "status": 201,
            "ids": [],
            "user_ids": [],
        },
        {
            "at": "2026-11-29T10:00:00.000Z",
            "endpoint": "dm_post",
            "method": "POST",
            "status": 429,
            "ids": [],
            "user_ids": [],
        },
    ]
    dollars = bill(log)
    assert round(dollars["owned_post_read"], 3) == 0.004  # posts 1, 2, 3 on the 28th and 3 again on the 29th
    assert round(dollars["user_read"], 3) == 0.01 and round(dollars["dm_create"], 3) == 0.015


def test_stripe_requests_per_transfer() -> None:
    """One Stripe request for a direct payment; the held and approval flows add only what they need."""
    from bench.stripe_calls import run_kind

    direct, held, approved = (run_kind(kind, 2) for kind in ("direct", "held", "approved"))
    assert direct["completed"] == held["completed"] == approved["completed"] == 2
    assert direct["by_route"] == {"POST /v1/payment_intents": 1.0}
    assert held["stripe_posts_per_transfer"] == 4.0 and held["by_route"]["POST /v1/transfers"] == 1.0
    assert approved["by_route"]["POST /v1/checkout/sessions"] == 1.0 and approved["stripe_requests_per_transfer"] == 4.0
    assert approved["by_route"]["POST /v1/payment_intents/{id}/cancel"] == 1.0


def test_mangopay_requests_per_transfer() -> None:
    """A direct payment is one pay-in and one transfer (plus the recipient's wallet on their first payment: the
    sender's wallet and recurring registration were made when the card was saved); held money adds the claim's
    user upgrade and identity check; every kind completes."""
    from bench.mangopay_calls import KINDS, run_kind

    runs = {kind: run_kind(kind, 2) for kind in KINDS}
    assert all(r["completed"] == 2 for r in runs.values())
    for r in runs.values():
        assert r["by_route"]["POST /payins/recurring/card/direct"] == 1.0 and r["by_route"]["POST /transfers"] == 1.0
    assert runs["direct"]["mangopay_posts_per_transfer"] == 3.0  # the recipient's wallet, a pay-in, a transfer
    assert runs["held"]["by_route"]["POST /users/{id}/identity-verifications"] == 1.0
    assert runs["held"]["mangopay_posts_per_transfer"] > runs["direct"]["mangopay_posts_per_transfer"]
