"""Extract, from Mastodon.py's description of Mastodon's entities, the facts the simulator is judged by.

`python scripts/extract_mastodon_entities.py [SOURCE]` reads SOURCE (default ../shared/specs/mastodon/srcgen/
return_types.json, Mastodon.py's srcgen/return_types.json) and writes tests/specs/mastodon-entities.json: for
each entity the tests check, and every entity its fields name, its documentation page and, per field, only its
type, subtype, and whether it may be missing or null. Descriptions, version histories and examples are left
behind: the tests need the shapes, not the text."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "specs" / "mastodon" / "srcgen" / "return_types.json"
OUT = ROOT / "tests" / "specs" / "mastodon-entities.json"
# The entities tests/contract/test_mastosim_entities.py checks answers against.
CHECKED = (
    "Account",
    "CredentialAccountSource",
    "Application",
    "InstanceV2",
    "Status",
    "StatusEdit",
    "Notification",
    "SearchV2",
)
KEPT = ("field_type", "field_subtype", "is_optional", "is_nullable")


def named_types(field: dict[str, object]) -> list[str]:
    """The type names a field's type and subtype mention (a Union's members included)."""
    out: list[str] = []
    for key in ("field_type", "field_subtype"):
        kind = str(field.get(key) or "")
        if kind.startswith("Union["):
            out += [k.strip() for k in kind[len("Union[") : -1].split(",")]
        elif kind:
            out.append(kind)
    return out


def extract(source: Path) -> list[dict[str, object]]:
    described = {e["python_name"]: e for e in json.loads(source.read_text(encoding="utf-8"))}
    todo, seen = list(CHECKED), set()
    while todo:
        name = todo.pop()
        if name in seen or name not in described:
            continue
        seen.add(name)
        for field in described[name]["fields"].values():
            todo += named_types(field)
    return [
        {
            "python_name": name,
            "masto_doc_link": described[name].get("masto_doc_link"),
            "fields": {f: {k: v.get(k) for k in KEPT} for f, v in described[name]["fields"].items()},
        }
        for name in sorted(seen)
    ]


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    facts = extract(source)
    OUT.write_text(json.dumps(facts, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{len(facts)} entities written to {OUT.relative_to(ROOT)}")
