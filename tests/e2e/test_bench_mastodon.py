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


def test_latency_runs_on_both_timelines_within_their_intervals() -> None:
    """bench.latency plays a few payments on X (polling) and on Mastodon (the user stream, opened for real): every
    one completes, each latency is a number of virtual seconds within what the jobs' intervals allow, the requests
    stay within Mastodon's budget, and only Mastodon's run is woken by the stream."""
    from datetime import timedelta

    from bench.latency import run as latency

    runs = {t: latency(timeline=t, transfers=2, minutes=1, settle=timedelta(minutes=2)) for t in ("x", "mastodon")}
    for got in runs.values():
        assert got["completed"] == 2 and got["http_429"] == 0
        confirm, execute = got["post_to_confirmation_s"], got["yes_to_executed_s"]
        assert confirm["n"] == execute["n"] == 2
        intervals = got["intervals_s"]
        assert 0 <= confirm["p50"] <= confirm["p90"] <= intervals["mentions"] + intervals["outbox"]
        assert 0 <= execute["p50"] <= execute["p90"] <= intervals["dms"]
        assert got["requests_per_transfer"] > 0 and got["most_in_5_min"] <= 300
    assert runs["x"]["delivery"] == "polling" and runs["x"]["stream_wakes"] == 0
    masto = runs["mastodon"]
    assert masto["delivery"] == "stream" and masto["budget_per_5_min"] == 300
    assert masto["stream_wakes"] + masto["stream_missed"] >= 1  # the stream was opened and listened to
    assert masto["by_endpoint"]["status_post"] == 4  # two confirmations, two public replies
