"""Mastodon.py's description of Mastodon's entities, as a judge: `problems` says what in an answer disagrees with it
(the facts tests/specs/mastodon-entities.json keeps, extracted by scripts/extract_mastodon_entities.py), and
CASSETTES is where a real server's recordings are, when they are at hand."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

SPEC = Path(__file__).parents[1] / "specs" / "mastodon-entities.json"
CASSETTES = Path(__file__).resolve().parents[3] / "shared" / "specs" / "mastodon" / "tests" / "cassettes"
TYPES: dict[str, dict[str, Any]] = {e["python_name"]: e for e in json.loads(SPEC.read_text())}
ID_TYPES = {"IdType", "MaybeSnowflakeIdType"}
LISTS = {"NonPaginatableList", "PaginatableList"}


def problems(kind: str, value: Any, path: str = "$") -> list[str]:  # noqa: C901
    """What in `value` disagrees with Mastodon.py's description of the entity (or type) `kind`."""
    if kind.startswith("Union["):
        options = [k.strip() for k in kind[len("Union[") : -1].split(",")]
        found = [problems(k, value, path) for k in options]
        return [] if any(not p for p in found) else found[0]
    if kind == "str":
        return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]
    if kind == "int":
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: {value!r} is not an int"]
    if kind == "float":
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else [f"{path}: not a number"]
    if kind == "bool":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a bool"]
    if kind in ID_TYPES:  # Mastodon sends every id as a string (the "everyone" role is -99)
        ok = isinstance(value, str) and value.lstrip("-").isdigit()
        return [] if ok else [f"{path}: {value!r} is not a string id"]
    if kind == "datetime":
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return [f"{path}: {value!r} is not an ISO 8601 time"]
        return []
    if kind.startswith("AttribAccessDict"):
        return [] if isinstance(value, dict) else [f"{path}: not an object"]
    spec = TYPES.get(kind)
    if spec is None:
        raise AssertionError(f"{path}: no description of {kind}")
    if not isinstance(value, dict):
        return [f"{path}: a {kind} should be an object, got {value!r}"]
    out: list[str] = []
    for name, field in spec["fields"].items():
        where = f"{path}.{name}"
        if name not in value:
            if not field["is_optional"]:
                out.append(f"{where}: missing ({kind})")
            continue
        got = value[name]
        if got is None:
            if not field["is_nullable"]:
                out.append(f"{where}: null, but {kind}.{name} is not nullable")
            continue
        if field["field_type"] in LISTS:
            if not isinstance(got, list):
                out.append(f"{where}: not a list")
                continue
            sub = field.get("field_subtype")
            for i, item in enumerate(got):
                if sub and (sub in TYPES or sub in ("str", "int", "bool")):
                    out += problems(sub, item, f"{where}[{i}]")
            continue
        out += problems(field["field_type"], got, where)
    return out
