"""The use cases are composed handlers: none inherits from another (nor calls super()), each module of bot/app stays
short, and `Service.handle` hands every typed input to the handler that takes it, through one table."""

from __future__ import annotations

import ast
import typing
from datetime import timedelta
from pathlib import Path

from bot.app import inputs
from bot.app.inputs import DmPage, Expire, LapseApprovals, MentionPage, ReadEvents, Resume, ReturnDue
from bot.ports import EventKind, ProviderEvent
from bot.service import Service
from tests.support.service_world import World

APP = Path(__file__).resolve().parents[2] / "bot" / "app"


def test_no_use_case_inherits_from_another() -> None:
    """A handler receives the handlers it calls; it never is one of them (no base class of bot/app, no super())."""
    modules = sorted(APP.glob("*.py"))
    ours = {
        node.name
        for path in modules
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    }
    found = []
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                found += [f"{path.name}: {node.name}({ast.unparse(b)})" for b in node.bases if ast.unparse(b) in ours]
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super":
                found.append(f"{path.name}:{node.lineno}: super()")
    assert found == []
    assert not hasattr(Service, "__getattr__")


def test_every_use_case_module_is_400_lines_or_under() -> None:
    assert {p.name: n for p in APP.glob("*.py") if (n := len(p.read_text().splitlines())) > 400} == {}


def test_each_input_is_handed_to_its_use_case(tmp_path: Path) -> None:
    """Every type of `Input` has its handler in the table, and each does what its entry point does."""
    w = World(tmp_path)
    assert set(typing.get_args(inputs.Input)) == set(w.svc.table)
    mention = w.posts.mention("bob", "@paybot send 5 to @carol")
    assert w.svc.handle(MentionPage((mention,))) == 1
    assert w.svc.handle(MentionPage((mention,))) == 0  # each once
    w.deliver()
    assert w.svc.handle(DmPage((w.posts.dm("bob", "yes"),))) == 1
    assert w.statuses() == ["held"]
    assert w.svc.handle(ProviderEvent(id="e1", kind=EventKind.CARD_SAVED, user_id="12")) == 1
    assert w.outbox()[-1][0] == "12"
    for nothing in (Resume(), ReadEvents(), LapseApprovals(), ReturnDue()):
        assert w.svc.handle(nothing) == 0
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 1 to @alice"))
    w.deliver()
    w.clock.advance(timedelta(days=1))
    assert w.svc.handle(Expire(read_until=w.clock.now())) == 1
    w.clock.advance(timedelta(days=14))
    assert w.svc.handle(ReturnDue()) == 1
    assert w.statuses() == ["returned", "expired"]
