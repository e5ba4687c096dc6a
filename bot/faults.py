"""Named fault points, so tests can crash the worker at an exact step of the flow.

Two ways to arm a point:

- In a process, from its environment: `PAYBOT_FAULT=<name>` arms one point,
  `PAYBOT_FAULT=<name>@<k>` its k-th passage. By default the process kills
  itself with SIGKILL there, as a power cut would; `PAYBOT_FAULT_MODE=raise`
  raises `InjectedFault` instead.
- In process, by `arm(name, nth)`: the nth passage from now raises
  `InjectedFault`, once. The simulate runner catches it as "the process died
  here", drops every in-memory object and builds the bot again on the same
  database and simulators (its crash mode, used by the seeded crash tests).

Every passage is counted in `reached`, armed or not, so a test can show that
each point was actually met. Unarmed, a point costs a counter increment and
one dictionary lookup.

The points, in the order a payment meets them: mention_committed,
before_send, after_send, dm_committed, before_pay, after_pay, after_commit,
settle_called. Each sits outside any open transaction, so raising there
leaves the database exactly as a crash would.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

POINTS = (
    "mention_committed",
    "before_send",
    "after_send",
    "dm_committed",
    "before_pay",
    "after_pay",
    "after_commit",
    "settle_called",
)
reached: Counter[str] = Counter()  # per process: every passage of every point
_passages: Counter[str] = Counter()  # per process: passages of the point armed by the environment
_armed: tuple[str, int] | None = None  # armed in process: the point, and passages still to go


class InjectedFault(BaseException):
    """Raised at an armed fault point in raise mode (a BaseException, so no handler eats it).

    `point` names the fault point that raised it; `planned` is True when `arm` armed it (the
    simulate runner's crash mode, which restarts the bot), False when the environment did (the
    caller expects the exception)."""

    def __init__(self, point: str, *, planned: bool = False) -> None:
        super().__init__(point)
        self.point = point
        self.planned = planned


def arm(name: str, nth: int = 1) -> None:
    """Make the `nth` passage of `name` from now raise InjectedFault (once); replaces any armed point."""
    if name not in POINTS:
        raise ValueError(f"unknown fault point {name!r}: one of {', '.join(POINTS)}")
    if nth < 1:
        raise ValueError("nth counts passages from 1")
    global _armed
    _armed = (name, nth)


def disarm() -> None:
    """Forget the point armed by `arm`, reached or not."""
    global _armed
    _armed = None


def armed() -> tuple[str, int] | None:
    """The point armed by `arm` and the passages still to go before it raises, or None."""
    return _armed


def fault_point(name: str) -> None:
    """Crash here if the fault point `name` is armed (and this is its k-th passage)."""
    global _armed
    reached[name] += 1
    if _armed is not None and _armed[0] == name:
        if _armed[1] > 1:
            _armed = (name, _armed[1] - 1)
            return
        _armed = None
        raise InjectedFault(name, planned=True)
    armed_env = os.environ.get("PAYBOT_FAULT")
    if not armed_env or not armed_env.startswith(name):
        return
    point, _, nth = armed_env.partition("@")
    if point != name:
        return
    _passages[name] += 1
    if nth and _passages[name] != int(nth):
        return
    if os.environ.get("PAYBOT_FAULT_MODE") == "raise":
        raise InjectedFault(name)
    os.kill(os.getpid(), signal.SIGKILL)
