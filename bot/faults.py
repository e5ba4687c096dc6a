"""Named fault points, so tests can crash the worker at an exact step of the flow.

`PAYBOT_FAULT=<name>` arms one point; `PAYBOT_FAULT=<name>@<k>` arms its k-th
passage. By default the process kills itself with SIGKILL there, as a power
cut would; `PAYBOT_FAULT_MODE=raise` raises `InjectedFault` instead, for
in-process tests. Unarmed, a point costs one dictionary lookup.

The points, in the order a payment meets them: mention_committed,
before_send, after_send, dm_committed, before_pay, after_pay, after_commit,
settle_called.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

POINTS = ("mention_committed", "before_send", "after_send", "dm_committed", "before_pay", "after_pay",
          "after_commit", "settle_called")
_passages: Counter[str] = Counter()  # per process: how often each armed point was reached


class InjectedFault(BaseException):
    """Raised at an armed fault point in raise mode (a BaseException, so no handler eats it)."""


def fault_point(name: str) -> None:
    """Crash here if the fault point `name` is armed (and this is its k-th passage)."""
    armed = os.environ.get("PAYBOT_FAULT")
    if not armed or not armed.startswith(name):
        return
    point, _, nth = armed.partition("@")
    if point != name:
        return
    _passages[name] += 1
    if nth and _passages[name] != int(nth):
        return
    if os.environ.get("PAYBOT_FAULT_MODE") == "raise":
        raise InjectedFault(name)
    os.kill(os.getpid(), signal.SIGKILL)
