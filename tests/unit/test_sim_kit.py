"""The simulators' shared pieces (bot/sims/kit.py), each on its own: the emulators' own suites judge what they
answer with them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from bot.sims.kit import (
    count_in_window,
    iso_millis,
    link_header,
    live_key,
    prune_keys,
    queue_fault,
    route_name,
    take_fault,
)


def test_faults_are_met_in_the_order_they_were_queued_and_each_once() -> None:
    """Two faults queued for a route meet its next two requests, the older first; the third meets none."""
    faults: dict[str, list[int]] = {}
    queue_fault(faults, "POST /v1/customers", 500)
    queue_fault(faults, "POST /v1/customers", 429, times=1)
    assert [take_fault(faults, "POST /v1/customers") for _ in range(3)] == [500, 429, None]


def test_a_fault_queued_for_several_times_meets_that_many_requests() -> None:
    """`times=3` is three requests' fault, and no other route's."""
    faults: dict[str, list[int]] = {}
    queue_fault(faults, "mentions", 503, times=3)
    assert take_fault(faults, "dm_events") is None
    assert [take_fault(faults, "mentions") for _ in range(4)] == [503, 503, 503, None]


def test_a_key_is_kept_until_its_lifetime_and_forgotten_from_then_on() -> None:
    """A key first used at 100 with a lifetime of 10 is kept at 109 and forgotten at 110."""
    keys: dict[Any, dict[str, Any]] = {"k": {"at": 100}}
    assert live_key(keys, "k", 109, 10) == {"at": 100}
    assert live_key(keys, "k", 110, 10) is None and "k" not in keys


def test_pruning_forgets_only_the_keys_past_their_lifetime() -> None:
    """Of a key 10 seconds old and one 9 seconds old, with a lifetime of 10, the younger stays."""
    keys: dict[Any, dict[str, Any]] = {"old": {"at": 100}, "young": {"at": 101}}
    prune_keys(keys, 110, 10)
    assert list(keys) == ["young"]


def test_a_window_counts_its_requests_and_a_new_window_starts_again() -> None:
    """Two requests in the window begun at 0 count 1 and 2; the first of the window begun at 900 counts 1."""
    windows: dict[str, tuple[int, int]] = {}
    assert [count_in_window(windows, "a", 0), count_in_window(windows, "a", 0)] == [1, 2]
    assert count_in_window(windows, "a", 900) == 1 and count_in_window(windows, "b", 900) == 1


def test_a_route_is_named_with_its_method_and_its_ids_as_placeholders() -> None:
    """Flask's <oid> becomes {id}, as `inject` and the request log name routes."""
    assert route_name("POST", "/v1/payment_intents/<oid>/cancel") == "POST /v1/payment_intents/{id}/cancel"


def test_a_time_is_written_in_utc_to_the_millisecond() -> None:
    """As X and Mastodon write it: microseconds cut to milliseconds, another zone's time turned to UTC."""
    assert iso_millis(datetime(2026, 8, 1, 13, 54, 0, 505_999, tzinfo=UTC)) == "2026-08-01T13:54:00.505Z"
    paris = timezone(timedelta(hours=2))
    assert iso_millis(datetime(2026, 8, 1, 15, 54, tzinfo=paris)) == "2026-08-01T13:54:00.000Z"


def test_a_link_header_names_each_page_with_its_encoded_query() -> None:
    """Each (rel, query) is one link; a query is a dict or pairs (a repeated name stays repeated)."""
    header = link_header(
        "http://h/v1/x", [("next", {"page": 2, "per_page": 10}), ("prev", [("t[]", "a"), ("t[]", "b")])]
    )
    assert header == '<http://h/v1/x?page=2&per_page=10>; rel="next", <http://h/v1/x?t%5B%5D=a&t%5B%5D=b>; rel="prev"'
