"""Named fault points, so tests can crash the worker at an exact step of the flow.

`PAYBOT_FAULT=<name>` arms one point. By default the process kills itself with
SIGKILL there, as a power cut would; `PAYBOT_FAULT_MODE=raise` raises
`InjectedFault` instead, for in-process tests. Unarmed, a point costs one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal


class InjectedFault(BaseException):
    """Raised at an armed fault point in raise mode (a BaseException, so no handler eats it)."""


def fault_point(name: str) -> None:
    """Crash here if the fault point `name` is armed."""
    if os.environ.get("PAYBOT_FAULT") != name:
        return
    if os.environ.get("PAYBOT_FAULT_MODE") == "raise":
        raise InjectedFault(name)
    os.kill(os.getpid(), signal.SIGKILL)
