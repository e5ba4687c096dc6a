"""The use cases on in-memory fakes: a fake provider, a fake clock; the store on a file and in memory (every
test runs on both: the use cases need nothing of the store but its port)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.domain import MessageKind, PagePurpose
from bot.domain.entities import Outbox
from bot.errors import ProviderError, ProviderTransient
from bot.faults import InjectedFault
from bot.ports import FakeClock, Registration, Settled
from bot.sending import fair
from tests.support.service_world import World, rows


@pytest.fixture(params=["sqlite", "memory"])
def w(request: pytest.FixtureRequest, tmp_path: Path) -> World:
    return World(tmp_path, request.param)


def test_a_command_asks_its_author_to_confirm(w: World) -> None:
    """A send creates one pending transfer and one confirmation DM to the author, nothing else."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice for the pizza"))
    [t] = w.transfers()
    assert (t.status, t.amount_minor, t.recipient_id, t.memo, t.code) == ("pending", 500, "11", "the pizza", "AAAA")
    assert w.outbox() == [
        (
            "10",
            'Send $5.00 to @alice (Alice Martin) for "the pizza"? Reply YES to confirm, '
            "NO to cancel. Expires in 10 min. [AAAA]",
        )
    ]
    assert w.provider.charges == []


def test_yes_moves_the_money_once(w: World) -> None:
    """The author's yes charges once and queues the public reply; a second yes changes nothing."""
    m = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(m)
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["completed"]
    assert len(w.provider.charges) == 1 and w.provider.charges[0]["minor"] == 500
    assert (f"reply:{m.id}", "@bob sent @alice $5.00 ✅ [AAAA]") in w.outbox()
    assert "already completed" in w.outbox()[-1][1]


def test_only_the_author_can_confirm(w: World) -> None:
    """A yes from anyone else (by numeric id) changes nothing."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.svc.on_dm(w.posts.dm("alice", "yes"))
    w.svc.on_dm(w.posts.dm("alice", "yes AAAA"))
    assert w.statuses() == ["pending"] and w.provider.charges == []


def test_a_yes_in_a_group_conversation_is_ignored(w: World) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.svc.on_dm(w.posts.dm("bob", "yes", conversation="group-77"))
    assert w.statuses() == ["pending"]


def test_the_same_dm_event_twice_is_applied_once(w: World) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 6 to @alice"))
    dm = w.posts.dm("bob", "yes AAAA")
    assert w.svc.on_dm(dm) and not w.svc.on_dm(dm)
    assert w.statuses() == ["completed", "pending"] and len(w.provider.charges) == 1


def test_several_pending_need_the_code(w: World) -> None:
    """With two requests pending, a bare yes asks for the code; yes CODE confirms only that one."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 7 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["pending", "pending"]
    assert "YES AAAA for $5.00 to @alice, or YES BBBB for $7.00 to @carol" in w.outbox()[-1][1]
    w.svc.on_dm(w.posts.dm("bob", "yes bbbb"))
    assert w.statuses() == ["pending", "held"]
    w.svc.on_dm(w.posts.dm("bob", "no"))
    assert w.statuses() == ["cancelled", "held"]


def test_expiry_and_a_late_yes(w: World) -> None:
    """After the TTL the request expires; a late yes is answered, not executed."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.clock.advance(timedelta(minutes=10, seconds=1))
    assert w.svc.expire_due() == 0  # the confirmation has not gone out yet: its clock has not started
    w.deliver()  # it goes out at 12:10:01, and the ten minutes run from then
    w.clock.advance(timedelta(minutes=9, seconds=59))
    assert w.svc.expire_due() == 0
    w.clock.advance(timedelta(seconds=1))
    assert w.svc.expire_due() == 1
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["expired"] and w.provider.charges == []
    assert "expired at 12:20 UTC" in w.outbox()[-1][1]


def test_windows_shorter_than_a_day_are_said_in_hours_not_as_0_days(w: World) -> None:
    """An operator may set a request's life or the claim window under a day: its expiry and return DMs said
    "within 0 days". They say the time in the unit that fits."""
    w.svc.policy = replace(w.svc.policy, request_ttl=timedelta(hours=5), claim_window=timedelta(hours=30))
    w.svc.on_mention(w.posts.mention("alice", "@paybot request 5 from @bob"))
    w.deliver()
    w.clock.advance(timedelta(hours=5, seconds=1))
    assert w.svc.expire_due() == 1
    assert "did not answer your request for $5.00 within 5 hours." in w.outbox()[-1][1]
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    w.clock.advance(timedelta(hours=31))
    assert w.svc.return_due() == 1
    assert "did not claim your $5.00 within 30 hours, so it went back" in w.outbox()[-1][1]


def test_a_yes_just_after_expiry_but_before_the_job_ran(w: World) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.deliver()
    w.clock.advance(timedelta(minutes=11))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["expired"] and w.provider.charges == []


def test_reposts_and_quotes_never_spend(w: World) -> None:
    """A repost of a command, and a quote whose own text is no command, create nothing."""
    orig = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(w.posts.mention("carol", f"RT @bob: {orig.text}", referenced=(("retweeted", orig.id),)))
    w.svc.on_mention(w.posts.mention("carol", "@paybot lol", referenced=(("quoted", orig.id),)))
    assert w.transfers() == [] and w.outbox() == []


def test_reply_context_is_not_the_command(w: World) -> None:
    """Leading @handles of a reply are context; the command is read from display_text_range."""
    text = "@carol @paybot send 5 to @alice"
    w.svc.on_mention(w.posts.mention("bob", text, display_start=len("@carol @paybot ")))
    [t] = w.transfers()
    assert t.recipient_id == "11"


def test_an_edit_of_a_pending_command_asks_again(w: World) -> None:
    first = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(first)
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 50 to @alice", edit_of=first))
    [t] = w.transfers()
    assert (t.status, t.amount_minor, t.code) == ("pending", 5000, "BBBB")
    assert "$50.00" in w.outbox()[-1][1]
    w.svc.on_dm(w.posts.dm("bob", "yes AAAA"))
    assert w.statuses() == ["pending"]  # the old code is void
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.provider.charges[0]["minor"] == 5000


def test_an_edit_after_confirmation_changes_nothing(w: World) -> None:
    first = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(first)
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 50 to @alice", edit_of=first))
    [t] = w.transfers()
    assert (t.status, t.amount_minor) == ("completed", 500)


def test_an_edit_that_changes_the_recipient(w: World) -> None:
    first = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(first)
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol", edit_of=first))
    assert [(t.recipient_id, t.status) for t in w.transfers()] == [("11", "cancelled"), ("12", "pending")]


def test_limits_are_answered_publicly_and_create_nothing(w: World) -> None:
    m = w.posts.mention("bob", "@paybot send 300 to @alice")
    w.svc.on_mention(m)
    assert w.transfers() == []
    assert w.outbox() == [(f"reply:{m.id}", "@bob The largest payment I can send is $250.00 per person.")]


def test_the_daily_limit_counts_what_is_already_moving(w: World) -> None:
    """Confirmed money counts against the cap at once: a command that cannot pass is refused early."""
    for text in ("@paybot send 200 to @alice", "@paybot send 200 to @carol"):
        w.svc.on_mention(w.posts.mention("bob", text))
        w.svc.on_dm(w.posts.dm("bob", "yes"))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 150 to @dave"))
    assert len(w.transfers()) == 2
    assert "you can send $100.00 more for now" in w.outbox()[-1][1]


def test_the_cap_is_checked_when_the_money_moves(w: World) -> None:
    """Pending commands do not count; the yes that would go over the cap is refused, by DM, and
    nothing of it moves. Another currency counts alike, and 24 hours later the room is back."""
    for text in ("@paybot send 200 to @alice", "@paybot send €200 to @carol", "@paybot send 150 to @dave"):
        w.svc.on_mention(w.posts.mention("bob", text))
    assert w.statuses() == ["pending"] * 3
    for code in ("AAAA", "BBBB", "CCCC"):
        w.svc.on_dm(w.posts.dm("bob", f"yes {code}"))
    assert w.statuses() == ["completed", "held", "pending"]
    assert "limit of $500.00 in 24 hours; you can send $100.00 more" in w.outbox()[-1][1]
    w.clock.advance(timedelta(hours=24, seconds=1))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 250 to @dave"))
    w.svc.on_dm(w.posts.dm("bob", "yes DDDD"))
    assert w.statuses()[-1] == "held"


def test_paying_yourself_is_refused(w: World) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @bob"))
    assert w.transfers() == [] and "yourself" in w.outbox()[-1][1]


def test_several_recipients_one_confirmation(w: World) -> None:
    """One confirmation for the total, one transfer per recipient."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice and @carol"))
    assert "($10.00 in all)" in w.outbox()[0][1]
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["completed", "held"]


def test_a_declined_card_fails_with_a_dm(w: World) -> None:
    w.svc.on_mention(w.posts.mention("dave", "@paybot send 5 to @alice"))
    w.svc.on_dm(w.posts.dm("dave", "yes"))
    assert w.statuses() == ["failed"]
    assert w.outbox()[-1] == (
        "13",
        "Your card was declined (card declined by the bank), so $5.00 was not "
        "sent to @alice. Nothing was charged. [AAAA]",
    )


def test_no_card_then_register_then_yes(w: World) -> None:
    w.svc.on_mention(w.posts.mention("carol", "@paybot send 5 to @alice"))
    assert "reply REGISTER first" in w.outbox()[0][1]
    w.svc.on_dm(w.posts.dm("carol", "yes"))
    assert w.statuses() == ["pending"] and "Reply REGISTER" in w.outbox()[-1][1]
    w.svc.on_dm(w.posts.dm("carol", "register"))
    assert w.outbox()[-1] == (
        "12",
        "Card saved: the sandbox test card ending 4242. You can now confirm payments with YES.",
    )
    w.svc.on_dm(w.posts.dm("carol", "yes"))
    assert w.statuses() == ["completed"]


def test_register_is_answered_in_the_users_language(w: World) -> None:
    """The provider says what it did; the bot words it (here in French, the language of INSCRIPTION)."""
    w.svc.on_dm(w.posts.dm("carol", "inscription"))
    assert w.outbox()[-1] == (
        "12",
        "Carte enregistrée : la carte de test du bac à sable, terminée par 4242. "
        "Vous pouvez maintenant confirmer les paiements avec OUI.",
    )
    w.svc.on_dm(w.posts.dm("carol", "inscription"))
    assert w.outbox()[-1] == ("12", "Vous avez déjà une carte enregistrée. Confirmez les paiements avec OUI.")
    w.provider.register = lambda user_id: Registration(  # type: ignore[method-assign]
        url="https://pay.example/c/1",
        valid_for=timedelta(hours=24),
    )
    w.svc.on_dm(w.posts.dm("bob", "inscription"))
    assert "page sécurisée : https://pay.example/c/1 Le lien est valable 24 heures." in w.outbox()[-1][1]
    w.provider.register = lambda user_id: Registration(url="https://pay.example/c/2")  # type: ignore[method-assign]
    w.svc.on_dm(w.posts.dm("alice", "register"))
    assert w.outbox()[-1][1].startswith("Save your card on the secure card page: https://pay.example/c/2 I'll tell")


class Watched:
    """The store, counting the units of work open: a provider call made inside one is seen."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.open = inner, 0

    @contextmanager
    def __call__(self) -> Iterator[Any]:
        self.open += 1
        try:
            with self.inner() as tx:
                yield tx
        finally:
            self.open -= 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_register_asks_the_provider_outside_any_unit_of_work(w: World) -> None:
    """Read, commit, call, commit: REGISTER's page (seconds at Stripe or Mangopay) is asked for after the DM's
    commit, never while a unit of work (SQLite's write lock) is held; its answer is then committed on its own,
    in a page of DMs whose other events are kept."""
    watched = Watched(w.svc.uow)
    w.svc.uow = watched
    open_during: list[int] = []
    real = w.provider.register

    def register(user_id: str) -> Registration:
        open_during.append(watched.open)
        return real(user_id)

    w.provider.register = register  # type: ignore[method-assign]
    w.svc.on_dms([w.posts.dm("carol", "register"), w.posts.dm("bob", "history"), w.posts.dm("alice", "register")])
    assert open_during == [0, 0]
    assert [to for to, text in w.outbox() if "Card saved" in text] == ["12", "11"]
    assert w.svc.on_dms([w.posts.dm("carol", "stop")]) == 1


def test_whether_a_sender_has_a_card_is_asked_outside_any_unit_of_work(w: World) -> None:
    """Read, commit, call, commit: whether a sender has a saved card (a call to Stripe or Mangopay) is asked before a
    page of mentions or DMs opens its unit of work, never while one (SQLite's write lock) is held; the answers still
    shape the confirmation (REGISTER first), bound what a sender without a card may leave waiting, and stop a yes
    that could not pay."""
    watched = Watched(w.svc.uow)
    w.svc.uow = watched
    open_during: list[int] = []
    real = w.provider.has_card

    def has_card(user_id: str) -> bool:
        open_during.append(watched.open)
        return real(user_id)

    w.provider.has_card = has_card  # type: ignore[method-assign]
    w.svc.on_mention(w.posts.mention("carol", "@paybot send 5 to @alice"))  # carol has no card
    assert "REGISTER" in w.outbox()[-1][1]
    w.svc.on_mention(w.posts.mention("carol", "@paybot send 2 to @alice"))  # one waits already: no second one
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    w.svc.on_dm(w.posts.dm("carol", "yes"))
    assert w.statuses() == ["pending", "completed"]
    assert "REGISTER" in w.outbox()[-1][1]
    assert len(open_during) >= 5 and set(open_during) == {0}


def test_held_then_claimed(w: World) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["held"] and "DM me CLAIM by Dec 12" in w.outbox()[-1][1]
    w.svc.on_dm(w.posts.dm("carol", "claim"))
    assert w.statuses() == ["completed"]
    assert w.provider.charges[0]["state"] == "released"
    assert w.outbox()[-1] == ("12", "Done: you received $5.00 from @bob.")


@pytest.mark.parametrize(
    ("error", "answer"),
    [
        (
            ProviderTransient("timed out"),
            "I couldn't reach the payment provider just now; anything held for you "
            "stays held. DM CLAIM again in a few minutes.",
        ),
        (
            ProviderError("this Stripe account does not use Connect"),
            "Receiving payments isn't available right now; the operator has been told.",
        ),
    ],
)
def test_a_claim_the_provider_cannot_start_is_answered_and_keeps_the_money_held(
    w: World, monkeypatch: pytest.MonkeyPatch, error: ProviderError, answer: str
) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))

    def refuse(_user_id: str, **_kw: object) -> None:
        raise error

    monkeypatch.setattr(w.provider, "onboard", refuse)
    w.svc.on_dm(w.posts.dm("carol", "claim"))
    assert w.statuses() == ["held"] and w.provider.charges[0]["state"] == "held"
    assert w.outbox()[-1][0] == "12" and answer in w.outbox()[-1][1]
    monkeypatch.undo()
    w.svc.on_dm(w.posts.dm("carol", "claim"))  # later, it works
    assert w.statuses() == ["completed"] and w.outbox()[-1] == ("12", "Done: you received $5.00 from @bob.")


def test_a_provider_outage_does_not_stop_a_command_or_its_yes(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whether the sender has a card is asked of the provider; when it cannot answer, the command is
    still asked and the yes still pays (pay() itself says NO_CARD if there is none)."""

    def unreachable(_user_id: str) -> bool:
        raise ProviderTransient("timed out")

    monkeypatch.setattr(w.provider, "has_card", unreachable)
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    assert w.statuses() == ["pending"] and "REGISTER" not in w.outbox()[-1][1]
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["completed"]
    w.svc.on_mention(w.posts.mention("carol", "@paybot send 5 to @alice"))  # carol has no card at all
    w.svc.on_dm(w.posts.dm("carol", "yes"))
    assert w.statuses() == ["completed", "failed"] and "REGISTER" in w.outbox()[-1][1]


def test_held_then_returned_after_the_window(w: World) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    w.clock.advance(timedelta(days=13))
    assert w.svc.return_due() == 0
    w.clock.advance(timedelta(days=1))
    assert w.svc.return_due() == 1
    assert w.statuses() == ["returned"] and w.provider.charges[0]["state"] == "refunded"
    assert "did not claim your $5.00 within 14 days" in w.outbox()[-1][1]
    w.svc.on_dm(w.posts.dm("carol", "claim"))
    assert w.statuses() == ["returned"]


def test_a_crash_after_the_provider_call_is_recovered_with_the_same_key(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the charge and the commit, the transfer resumes and is charged exactly once."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    monkeypatch.setenv("PAYBOT_FAULT", "after_pay")
    monkeypatch.setenv("PAYBOT_FAULT_MODE", "raise")
    with pytest.raises(InjectedFault):
        w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["executing"] and len(w.provider.charges) == 1
    monkeypatch.delenv("PAYBOT_FAULT")
    assert w.svc.resume() == 1
    assert w.statuses() == ["completed"] and len(w.provider.charges) == 1
    [t] = w.transfers()
    assert t.pay_key == f"pay:{t.root_tweet_id}:{t.sender_id}:{t.recipient_id}"


def test_a_crash_before_the_provider_call(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    monkeypatch.setenv("PAYBOT_FAULT", "before_pay")
    monkeypatch.setenv("PAYBOT_FAULT_MODE", "raise")
    with pytest.raises(InjectedFault):
        w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["executing"] and w.provider.charges == []
    monkeypatch.delenv("PAYBOT_FAULT")
    w.svc.resume()
    assert w.statuses() == ["completed"] and len(w.provider.charges) == 1


def test_the_same_mention_twice_is_handled_once(w: World) -> None:
    m = w.posts.mention("bob", "@paybot send 5 to @alice")
    assert w.svc.on_mention(m) and not w.svc.on_mention(m)
    assert len(w.transfers()) == 1 and len(w.outbox()) == 1


def test_mentions_from_before_the_first_start_are_history(w: World) -> None:
    m = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.clock.advance(timedelta(minutes=1))
    w.svc.on_mention(m, since=w.clock.now())
    assert w.transfers() == []


def test_a_return_under_way_is_not_released_by_a_late_claim(w: World) -> None:
    """Once the refund's key is stored, a claim does not release the same money; the return finishes."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    w.clock.advance(timedelta(days=15))
    w.provider.refund = lambda **kw: (_ for _ in ()).throw(ProviderTransient("lost"))  # type: ignore[method-assign]
    assert w.svc.return_due() == 0
    [t] = w.transfers()
    with w.uow() as s:
        [st] = s.settlements.of(t.id)
    assert t.status == "held" and (st.step, st.status, st.ref) == ("return", "pending", None)
    assert (st.key or "").startswith("return:")
    w.svc.on_dm(w.posts.dm("carol", "claim"))
    assert w.statuses() == ["held"] and w.provider.charges[0]["state"] == "held"
    del w.provider.refund
    assert w.svc.return_due() == 1
    assert w.statuses() == ["returned"] and w.provider.charges[0]["state"] == "refunded"


def test_an_interrupted_release_is_finished_on_resume(w: World) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    real = w.provider.release
    w.provider.release = lambda **kw: (_ for _ in ()).throw(ProviderTransient("lost"))  # type: ignore[method-assign]
    w.svc.on_dm(w.posts.dm("carol", "claim"))
    assert w.statuses() == ["held"]
    w.provider.release = real  # type: ignore[method-assign]
    w.clock.advance(timedelta(days=20))
    w.svc.resume()
    assert w.svc.return_due() == 0
    assert w.statuses() == ["completed"] and w.provider.charges[0]["state"] == "released"


def test_a_broken_edit_after_confirmation_is_not_answered(w: World) -> None:
    """After an answer, even an unreadable edit changes nothing and draws no reply."""
    first = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(first)
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    before = w.outbox()
    w.svc.on_mention(w.posts.mention("bob", "@paybot send lots to @alice", edit_of=first))
    assert w.outbox() == before and w.statuses() == ["completed"]


def test_a_broken_edit_of_a_pending_command_cancels_it(w: World) -> None:
    first = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(first)
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 0 to @alice", edit_of=first))
    assert w.statuses() == ["cancelled"] and "more than zero" in w.outbox()[-1][1]


def test_a_decline_is_told_in_french_to_a_french_sender(w: World) -> None:
    w.svc.on_mention(w.posts.mention("dave", "@paybot envoie 5 € à @alice"))
    w.svc.on_dm(w.posts.dm("dave", "oui"))
    assert w.statuses() == ["failed"]
    assert w.outbox()[-1][1].startswith("Votre carte a été refusée (carte refusée par la banque) : 5,00 €")


def test_every_decline_reason_a_provider_gives_has_french_words() -> None:
    from bot.messages import REASONS_FR
    from bot.providers.stripe_provider import DECLINE_WORDS, DEFAULT_DECLINE

    assert set(DECLINE_WORDS.values()) | {DEFAULT_DECLINE, "card declined by the bank"} <= set(REASONS_FR)


def test_two_refunds_of_one_transfer_at_once_refund_once_and_both_say_it_is_done(w: World) -> None:
    """The second operator's refund lands while the first is between the provider's answer and its
    commit: money goes back once, and the first is told it was already returned, not to try again."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @carol"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["held"]
    started: list[bool]
    real, inner, started = w.provider.refund, [], []

    def refund(**kw: Any) -> Settled:
        if not started:
            started.append(True)
            inner.append(w.svc.operator_refund(1))  # the other operator, in between
        return real(**kw)

    w.provider.refund = refund  # type: ignore[method-assign]
    outer = w.svc.operator_refund(1)
    assert inner == [(True, "transfer 1 refunded")]
    assert outer[0] and "already returned" in outer[1]
    assert w.statuses() == ["returned"] and [c["state"] for c in w.provider.charges] == ["refunded"]


def test_a_refusal_for_the_limits_is_answered_after_an_earlier_error_reply(w: World) -> None:
    """One public error reply an hour per person does not swallow a later refusal for the cap."""
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @nobody_known"))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 300 to @alice"))
    replies = [text for to, text in w.outbox() if to.startswith("reply:")]
    assert len(replies) == 2 and "largest payment" in replies[1]


def test_history_of_one_payment_says_payment(w: World) -> None:
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    w.svc.on_dm(w.posts.dm("bob", "history"))
    assert w.outbox()[-1][1].startswith("Your last payment:")


def test_history_shows_another_persons_failed_payment_as_not_paid(w: World) -> None:
    """A recipient's HISTORY reads a payment to them that failed (a declined card) as "not paid"; the payer's own
    HISTORY says failed."""
    w.svc.on_mention(w.posts.mention("dave", "@paybot send 5 to @alice"))
    w.svc.on_dm(w.posts.dm("dave", "yes"))
    assert w.statuses() == ["failed"]
    w.svc.on_dm(w.posts.dm("alice", "history"))
    assert w.outbox()[-1][1].endswith("$5.00 from @dave: not paid")
    w.svc.on_dm(w.posts.dm("dave", "history"))
    assert w.outbox()[-1][1].endswith("$5.00 to @alice: failed")


def _queued_reply(w: World) -> Outbox:
    row = next((r for r in reversed(rows(w.uow, Outbox)) if r.kind == "reply" and r.status == "queued"), None)
    assert row is not None and row.names
    return row


def test_a_reply_is_checked_again_before_it_is_sent(w: World) -> None:
    """Just before its send, a reply writes without the @ anyone who said STOP since or whom X no longer
    knows, and is final from then on (a resend after a crash posts the same text)."""
    m = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(m)
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    reply = _queued_reply(w)
    assert reply.text == "@bob sent @alice $5.00 ✅ [AAAA]"
    w.posts.before_dm = None  # the reply stays queued
    w.svc.on_dm(w.posts.dm("alice", "stop"))
    prepared = w.svc.prepare_reply(reply.id or 0, frozenset({"10"}))
    assert prepared is not None and prepared.text == "bob sent alice $5.00 ✅ [AAAA]" and prepared.names is None
    assert w.svc.prepare_reply(reply.id or 0) is not None
    assert _text_of(w, reply.id or 0) == "bob sent alice $5.00 ✅ [AAAA]"


def _text_of(w: World, item_id: int) -> str:
    with w.uow() as s:
        row = s.outbox.get(item_id)
        assert row is not None
        return row.text


def test_a_discreet_sender_to_several_gets_one_receipt_and_one_reply(w: World) -> None:
    """One command, one public reply (without the amount) and one receipt DM, however many it paid."""
    w.svc.on_dm(w.posts.dm("bob", "privacy private"))
    m = w.posts.mention("bob", "@paybot send 2 to @alice @carol")
    w.svc.on_mention(m)
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["completed", "held"]
    said = [text for to, text in w.outbox() if to in ("10", f"reply:{m.id}")]
    assert said[-2:] == [
        "Sent: $2.00 each to @alice, @carol. [AAAA]",
        "@bob sent a payment each to @alice ✅ and to @carol. @carol, yours is held: DM me CLAIM "
        "by Dec 12 to receive it. [AAAA]",
    ], said


def test_the_providers_event_for_an_operators_refund_is_paybots_own(w: World) -> None:
    """An operator's refund of a completed transfer is paybot's own: its "refunded" event, even one that
    lands before the refund is recorded, is not taken for a refund made elsewhere, and the sender is told."""
    from bot.ports import EventKind, ProviderEvent

    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    [t] = w.transfers()
    assert t.status == "completed" and t.payment_ref
    refund = w.provider.refund

    def refund_then_event(**kw: Any) -> Settled:
        ref = refund(**kw)
        w.svc.apply_event(ProviderEvent(id="evt_1", kind=EventKind.REFUNDED, ref=t.payment_ref))
        return ref

    w.provider.refund = refund_then_event  # type: ignore[method-assign]
    assert w.svc.operator_refund(t.id or 0)[0]
    w.svc.apply_event(ProviderEvent(id="evt_1", kind=EventKind.REFUNDED, ref=t.payment_ref))
    assert w.statuses() == ["returned"]
    told = [text for to, text in w.outbox() if to == "10" and "refunded" in text.lower()]
    assert len(told) == 1, w.outbox()
    with w.uow() as s:
        steps = s.timeline.of(t.id or 0)
    notes = [e.note or "" for e in steps]
    returned = [e for e in steps if e.status == "returned"]
    assert not any("at the provider" in n for n in notes) and len(returned) == 1, notes


def test_a_sender_has_at_most_the_pending_sends_the_policy_allows(w: World) -> None:
    """Five sends waiting for bob's answer: a sixth is refused in public, once an hour; answering one makes
    room again."""
    for n in range(7):
        w.svc.on_mention(w.posts.mention("bob", f"@paybot send {n + 1} to @alice"))
    assert w.statuses() == ["pending"] * 5
    refusals = [text for to, text in w.outbox() if to.startswith("reply:")]
    assert refusals == ["@bob You have 5 payments waiting for your answer: answer them (or let them expire) first."]
    w.svc.on_dm(w.posts.dm("bob", "no AAAA"))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 9 to @alice"))
    assert w.statuses() == ["cancelled"] + ["pending"] * 5


def test_a_sender_without_a_card_has_one_send_waiting(w: World) -> None:
    """Carol has no saved card: her first send is asked (its DM says to REGISTER), a second is refused until
    she answers the first."""
    w.svc.on_mention(w.posts.mention("carol", "@paybot send 5 to @alice"))
    w.svc.on_mention(w.posts.mention("carol", "@paybot send 6 to @alice"))
    assert w.statuses() == ["pending"]
    assert w.outbox()[-1][1].startswith("@carol You have a payment waiting and no saved card yet")


def test_send_commands_per_hour_are_bounded(w: World) -> None:
    """With a limit of three send commands an hour, bob's fourth within the hour is refused, whether or not
    the first ones were answered; an hour later he may post again. An edit of a counted command is not
    counted again."""
    w.svc.policy = replace(w.svc.policy, sends_per_hour=3)
    first = w.posts.mention("bob", "@paybot send 1 to @alice")
    w.svc.on_mention(first)
    for n in range(2):
        w.svc.on_mention(w.posts.mention("bob", f"@paybot send {n + 2} to @alice"))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 1.50 to @alice", edit_of=first))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 4 to @alice"))
    assert [t.amount_minor for t in w.transfers()] == [150, 200, 300]
    assert w.outbox()[-1][1] == "@bob You've posted 3 payments in the last hour; post again later."
    w.clock.advance(timedelta(minutes=61))
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 4 to @alice"))
    assert len(w.transfers()) == 4


def test_the_outbox_serves_people_in_turn() -> None:
    """Sixty confirmations queued for one person do not hold the head of the queue: the next person's comes
    second; each person's messages keep the order they were queued in, and priorities still come first."""
    now = FakeClock().now()

    def dm(i: int, to: str, priority: int = 0) -> Outbox:
        return Outbox(
            id=i,
            kind=MessageKind.DM,
            priority=priority,
            to_user_id=to,
            text=str(i),
            next_attempt_at=now,
            created_at=now,
        )

    batch = [dm(i, "10") for i in range(1, 61)] + [dm(61, "11"), dm(62, "12"), dm(63, "11", priority=1)]
    order = [m.id for m in fair(sorted(batch, key=lambda m: (m.priority, m.id or 0)))]
    assert order[:5] == [1, 61, 62, 2, 3]
    assert [i for i in order if i is not None and i <= 60] == list(range(1, 61))
    assert order[-1] == 63


def test_a_bare_yes_after_ones_send_was_voided_by_an_edit_pays_nothing_else(w: World) -> None:
    """bob has two sends waiting; he edits the first into text that does not parse (it is voided), then DMs a
    bare yes: it may be meant for the voided one, so it pays nothing and says which one was cancelled."""
    first = w.posts.mention("bob", "@paybot send 5 to @alice")
    w.svc.on_mention(first)
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 250 to @carol"))
    w.deliver()  # both confirmations reach bob
    w.svc.on_mention(w.posts.mention("bob", "@paybot send five to @alice", edit_of=first))
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert w.statuses() == ["cancelled", "pending"]
    assert w.outbox()[-1][1].startswith("Your payment of $5.00 to @alice was cancelled by an edit of its post")


def _card_lookups(w: World) -> list[str]:
    """Who the provider is asked about, from now on: whether they have a saved card."""
    asked: list[str] = []
    real = w.provider.has_card

    def has_card(user_id: str) -> bool:
        asked.append(user_id)
        return real(user_id)

    w.provider.has_card = has_card  # type: ignore[method-assign]
    return asked


def test_junk_yeses_ask_the_provider_nothing(w: World) -> None:
    """docs/consent.md, "Junk DMs cost little": thirty bare yeses from carol, who has nothing waiting, get the
    allowance's ten answers and cost no card lookup (each would be a Stripe or Mangopay call); a yes that can
    start a payment still asks."""
    asked = _card_lookups(w)
    for _ in range(30):
        w.svc.on_dm(w.posts.dm("carol", "yes"))
    assert len([text for to, text in w.outbox() if to == "12"]) == 10
    assert asked == [], f"{len(asked)} card lookups for yeses that matched nothing"
    w.svc.on_mention(w.posts.mention("bob", "@paybot send 5 to @alice"))
    asked.clear()
    w.svc.on_dm(w.posts.dm("bob", "yes"))
    assert asked == ["10"] and w.transfers()[0].status == "completed"


def test_sends_refused_before_they_are_asked_ask_the_provider_nothing(w: World) -> None:
    """Sends answered with maintenance (payments paused) or past the sender's sends per hour are refused before
    anything is asked: no card lookup for them; a send that is asked still looks the card up (its confirmation
    says whether a card is saved)."""
    asked = _card_lookups(w)
    w.svc.set_paused(True)
    for n in range(3):
        w.svc.on_mention(w.posts.mention("carol", f"@paybot send {n + 1} to @alice"))
    assert w.transfers() == [] and asked == []
    w.svc.set_paused(False)
    w.svc.policy = replace(w.svc.policy, sends_per_hour=1)
    w.svc.on_mention(w.posts.mention("carol", "@paybot send 1 to @alice"))
    assert asked == ["12"]
    asked.clear()
    for n in range(3):
        w.svc.on_mention(w.posts.mention("carol", f"@paybot send {n + 2} to @alice"))
    assert len(w.transfers()) == 1 and asked == []


def test_a_page_asked_for_with_no_pages_served_is_logged_by_its_word(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The adapter asks for paybot's own card page and no page is served (PAYBOT_WEB_URL unset): the log line names
    the page by its word, as the store keeps it, never by the enum member's repr."""
    world = World(tmp_path, "memory")
    world.provider.register = lambda user_id: Registration(page=PagePurpose.CARD)  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        world.svc.register("10", lang="en")
    assert [r.getMessage() for r in caplog.records if "is served" in r.getMessage()] == [
        "register for user 10: no card page is served (PAYBOT_WEB_URL)"
    ]
