"""The charts' hours, kept beside the web app: a drawing of the console's charts counts only the hours not kept in
`chart_hour` yet, and the first drawing on a store would count the whole month while an operator waits (over the
console's 100 ms; see docs/operating/console.md, "Speed"). `paybot web` and `paybot run --web` start an
`HourKeeper`, which keeps them when the server starts and every `EVERY` after, in a thread of its own, so a
drawing finds them kept. A failure is logged and tried again at the next turn: the charts count what is missing
themselves, as before."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from bot.console import read
from bot.ports import Clock
from bot.repo.sql import SqlStore

log = logging.getLogger(__name__)

EVERY = timedelta(minutes=10)


class HourKeeper:
    """Keeps the charts' past hours counted, now and every `every`, until `stop`."""

    def __init__(self, store: SqlStore, clock: Clock, every: timedelta = EVERY) -> None:
        self.store, self.clock, self.every = store, clock, every
        self._stop = threading.Event()

    def keep(self) -> bool:
        """One turn: True when the hours are kept, False when the store failed (logged)."""
        try:
            read.keep(self.store, self.clock.now())
        except Exception:
            log.exception("could not keep the console charts' hours; trying again in %s", self.every)
            return False
        return True

    def start(self) -> threading.Thread:
        def turn() -> None:
            while not self._stop.is_set():
                self.keep()
                self._stop.wait(self.every.total_seconds())

        thread = threading.Thread(target=turn, daemon=True, name="chart-hours")
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
