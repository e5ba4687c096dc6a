"""Start several calls at the same instant, as processes starting together would."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def at_once(fn: Callable[[T], R], args: Sequence[T], timeout: float = 60) -> list[R | Exception]:
    """fn(arg) for each arg, all released together by a barrier; each result or the exception it raised."""
    barrier = threading.Barrier(len(args))
    results: list[R | Exception] = []
    lock = threading.Lock()

    def run(arg: T) -> None:
        barrier.wait()
        try:
            out: R | Exception = fn(arg)
        except Exception as err:
            out = err
        with lock:
            results.append(out)

    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=timeout)
    return results
