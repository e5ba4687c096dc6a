"""The scenario files of tests/scenarios and the checks every scenario's outcome must pass."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCENARIOS = sorted((Path(__file__).parents[1] / "scenarios").glob("*.json"))


def listed_providers(path: Path) -> list[str]:
    """The providers a scenario names ("providers": [...]): tests/e2e/test_scenarios.py runs it on each of them with
    every check of `check`."""
    return list(json.loads(path.read_text(encoding="utf-8")).get("providers", []))


def not_listed_for(provider: str) -> list[Path]:
    """The scenarios that do not name `provider`: the ones the provider's own flow test runs on it (the others run
    there in tests/e2e/test_scenarios.py, with every check the flow test makes and more, every DM too: not twice)."""
    return [path for path in SCENARIOS if provider not in listed_providers(path)]


def check(outcome: dict[str, Any], expect: dict[str, Any]) -> None:
    """Transfers match field by field, in order; messages are exactly the expected ones, in order (a part of
    their text, "contains", or all of it, "text");
    the bot died as often as "crashes" says (crash mode), if it says."""
    if "crashes" in expect:
        assert len(outcome.get("crashes", [])) == expect["crashes"], outcome.get("crashes")
    got = outcome["transfers"]
    assert len(got) == len(expect["transfers"]), got
    for actual, wanted in zip(got, expect["transfers"], strict=True):
        assert {k: actual[k] for k in wanted} == wanted, actual
    said = outcome["messages"]
    assert len(said) == len(expect["messages"]), json.dumps(said, indent=1, ensure_ascii=False)
    for actual, wanted in zip(said, expect["messages"], strict=True):
        text = wanted.get("contains", "")  # or "text": the whole of it
        assert text in actual["text"], (actual, text)
        assert {k: actual[k] for k in wanted if k != "contains"} == {k: v for k, v in wanted.items() if k != "contains"}
