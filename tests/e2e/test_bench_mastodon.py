"""bench.mastodon_calls runs, and its counts hold (counts, not timings)."""

from __future__ import annotations

from bench.mastodon_calls import run


def test_a_transfer_costs_two_statuses_and_a_lookup() -> None:
    """The confirmation (a direct status) and the public reply are the two posts; the recipient's display name
    is the one lookup; what is left of the 5-minute budget after polling pays for dozens of transfers."""
    got = run(2)
    assert got["transfers"] == 2 and got["by_endpoint"]["status_post"] == 2.0
    assert got["by_endpoint"]["accounts"] == 1.0 and "notifications" not in got["by_endpoint"]
    assert got["polling_per_5_min"] == 35 and got["transfers_per_5_min_left"] >= 50
