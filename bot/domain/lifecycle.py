"""A lifecycle: the states one thing goes through and the moves between them, as one table. Pure: no I/O.

Every status paybot stores (a transfer's, a settlement's, a payout's, an outbox message's) belongs to a
`Lifecycle`: the states a new one may begin in (`starts`) and, from each state, the states it may move to
(`moves`). `move` is the one way the code changes such a status; any other move is refused with
IllegalTransition naming the lifecycle, so no status is ever written that the table does not allow. A state
with no move out is final. The store refuses any value outside the enum too (CHECK constraints, migration
0016): the table guards the moves, the database the values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from bot.errors import IllegalTransition

S = TypeVar("S", bound=StrEnum)


@dataclass(frozen=True)
class Lifecycle(Generic[S]):
    """One state machine: `name` (for errors), its states (a StrEnum), where it begins and which moves it allows."""

    name: str
    states: type[S]
    starts: frozenset[S]
    moves: Mapping[S, frozenset[S]]

    def __post_init__(self) -> None:
        for state, targets in self.moves.items():
            if state in targets:
                raise ValueError(f"{self.name}: {state} moving to itself is no move")
            if not targets <= set(self.states) or state not in set(self.states):
                raise ValueError(f"{self.name}: a move names a state that is not one of {self.states.__name__}")
        if not self.starts:
            raise ValueError(f"{self.name}: nothing could begin")

    @property
    def final(self) -> frozenset[S]:
        """The states nothing moves out of."""
        return frozenset(s for s in self.states if not self.moves.get(s))

    def state(self, value: str) -> S:
        """`value` (as stored) as one of the states; IllegalTransition for a value that is none of them."""
        try:
            return self.states(value)
        except ValueError:
            raise IllegalTransition(
                f"{value!r} is no state of a {self.name}", lifecycle=self.name, current=value
            ) from None

    def allows(self, current: str, new: str) -> bool:
        """Whether something in `current` may move to `new`."""
        return current in set(self.states) and new in self.moves.get(self.states(current), frozenset())

    def begin(self, new: S) -> S:
        """Return `new` if a new one may begin in it; IllegalTransition otherwise."""
        if new not in self.starts:
            raise IllegalTransition(f"a {self.name} cannot begin {new}", lifecycle=self.name, new=new)
        return new

    def move(self, current: str, new: S) -> S:
        """Return `new` if something in `current` may move to it; IllegalTransition (naming this lifecycle, both
        states) otherwise, a move to the same state included: the caller decides a status that does not change."""
        if new not in self.moves.get(self.state(current), frozenset()):
            raise IllegalTransition(
                f"a {current} {self.name} cannot become {new}", lifecycle=self.name, current=current, new=new
            )
        return new

    def became(self, was: S, now: S) -> S:
        """`now`, the state read from a row just changed, if it is `was` (nothing moved) or a move the table allows;
        IllegalTransition otherwise. For a lifecycle whose state is read from a row rather than stored."""
        return now if now == was else self.move(was, now)
