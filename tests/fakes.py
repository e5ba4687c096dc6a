"""In-memory fakes of the ports, for service tests that assert on state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.errors import IdempotencyError, ProviderError
from bot.money import Money
from bot.ports import (
    DirectMessage,
    Mention,
    Onboarding,
    PayOutcome,
    PayResult,
    ProviderPayment,
    Registration,
    XUser,
)


@dataclass
class FakeProvider:
    """A payment provider in a few dictionaries; keys behave as the real ones do."""

    name: str = "fake"
    cards: dict[str, str] = field(default_factory=dict)
    payouts: set[str] = field(default_factory=set)
    results: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    charges: list[dict[str, Any]] = field(default_factory=list)

    @property
    def min_charge(self) -> dict[str, int]:
        """The fake charges any amount, as the sandbox does."""
        return {}

    def has_card(self, user_id: str) -> bool:
        return user_id in self.cards

    def register(self, user_id: str) -> Registration:
        if user_id in self.cards:
            return Registration(already=True)
        self.cards[user_id] = "ok"
        return Registration()

    def onboard(self, user_id: str) -> Onboarding:
        self.payouts.add(user_id)
        return Onboarding(ready=True)

    def can_receive(self, user_id: str) -> bool:
        return user_id in self.payouts

    def _once(self, key: str, params: Any, run: Any) -> Any:
        if key in self.results:
            if self.results[key][0] != params:
                raise IdempotencyError(key)
            return self.results[key][1]
        result = run()
        self.results[key] = (params, result)
        return result

    def pay(self, *, key: str, sender_id: str, recipient_id: str, amount: Money, memo: str | None,
            reference: dict[str, str] | None = None) -> PayResult:
        def run() -> PayResult:
            card = self.cards.get(sender_id)
            if card is None:
                return PayResult(PayOutcome.NO_CARD)
            if card == "declined":
                return PayResult(PayOutcome.DECLINED, reason="card declined by the bank")
            if card != "ok":  # a bank that wants the sender present: a page that is never approved here
                return PayResult(PayOutcome.NEEDS_AUTH, reason="authentication required",
                                 url=f"https://fake.invalid/approve/{key}")
            state = "paid" if recipient_id in self.payouts else "held"
            ref = f"ch_{len(self.charges) + 1}"
            self.charges.append({"ref": ref, "key": key, "from": sender_id, "to": recipient_id,
                                 "minor": amount.minor, "currency": amount.currency, "state": state})
            return PayResult(PayOutcome.PAID if state == "paid" else PayOutcome.HELD, ref)

        return self._once(key, ("pay", sender_id, recipient_id, amount, memo), run)

    def _settle(self, key: str, payment_ref: str, new: str, params: tuple[Any, ...]) -> str:
        # A release takes held money; a refund (a return, an operator's refund) any money that moved,
        # as the sandbox and Stripe allow.
        movable = ("held",) if new == "released" else ("held", "paid", "released")

        def run() -> str:
            charge = next(c for c in self.charges if c["ref"] == payment_ref)
            if charge["state"] not in movable:
                raise ProviderError(f"{payment_ref} is {charge['state']}")
            charge["state"] = new
            return f"{new}_{payment_ref}"

        return str(self._once(key, (new, payment_ref, *params), run))

    def release(self, *, key: str, payment_ref: str, recipient_id: str, amount: Money) -> str:
        return self._settle(key, payment_ref, "released", (recipient_id, amount))

    def lookup(self, key: str, sender_id: str) -> PayResult | None:
        params, result = self.results.get(key, ((None,), None))
        return result if params[0] == "pay" else None  # a release or refund key made no payment

    def events(self, after: str | None) -> tuple[list[Any], str | None]:
        return [], after

    def payments_since(self, since: Any) -> list[ProviderPayment]:
        """Every charge (the fake keeps no times, so `since` is every payment)."""
        return [ProviderPayment(key=c["key"], ref=c["ref"], amount_minor=c["minor"], currency=c["currency"],
                                charged=True, delivered=c["state"] in ("paid", "released"),
                                refunded=c["state"] == "refunded") for c in self.charges]

    def refund(self, *, key: str, payment_ref: str, amount: Money) -> str:
        return self._settle(key, payment_ref, "refunded", (amount,))


USERS = {"paybot": XUser("1", "paybot", "paybot"), "bob": XUser("10", "bob", "Bob"),
         "alice": XUser("11", "alice", "Alice Martin"), "carol": XUser("12", "carol", "Carol"),
         "dave": XUser("13", "dave", "Dave")}


class Posts:
    """Makes Mention and DirectMessage values with increasing ids."""

    def __init__(self, clock: Any, before_dm: Any = None) -> None:
        self.clock = clock
        self.next_id = 1000
        self.before_dm = before_dm  # called before a DM is made: people answer what reached them

    def _id(self) -> str:
        self.next_id += 1
        return str(self.next_id)

    def mention(self, by: str, text: str, *, edit_of: Mention | None = None,
                referenced: tuple[tuple[str, str], ...] = (), display_start: int = 0) -> Mention:
        pid = self._id()
        names = {w.strip("@.,!?").lower() for w in text.split() if w.startswith("@")}
        author = USERS[by]
        return Mention(
            id=pid, author_id=author.id, text=text, created_at=self.clock.now(), author_handle=author.handle,
            author_name=author.name, display_start=display_start,
            edit_ids=(*edit_of.edit_ids, pid) if edit_of else (pid,), referenced=referenced,
            mentioned={n: USERS[n] for n in names if n in USERS},
        )

    def dm(self, by: str, text: str, *, conversation: str | None = None) -> DirectMessage:
        if self.before_dm is not None:
            self.before_dm()
        uid = USERS[by].id
        return DirectMessage(id=self._id(), sender_id=uid, text=text, created_at=self.clock.now(),
                             conversation_id=conversation or f"1-{uid}", sender_handle=by)


def at(clock: Any) -> datetime:
    return clock.now()  # type: ignore[no-any-return]
