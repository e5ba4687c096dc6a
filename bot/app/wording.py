"""How a request is asked: in public, the replies that name its payers with their codes, as few as X's 280
weighted characters allow, and the reply that says the discreet ones were asked by DM; by DM, what those
discreet payers are asked. Pure."""

from __future__ import annotations

from datetime import timedelta

from bot import messages as msg
from bot.app.base import Ask
from bot.messages import text as say
from bot.ports import XUser


def ask_dm_text(ask: Ask, code: str, ttl: timedelta) -> str:
    """A request's confirmation by DM, for a payer who keeps payments out of public (`ttl`: how long it waits)."""
    what = say("confirm.pay", ask.lang, amount=ask.amount, names=msg.who(ask.requester.handle, ask.requester.name))
    if plain := msg.public_memo(ask.memo):  # someone else's words: plain, even in a DM
        what += say("confirm.memo", ask.lang, memo=plain)
    return say("confirm.ask_request", ask.lang, what=what, ttl=msg.duration(ttl, ask.lang), code=code)


def by_dm_text(ask: Ask, payers: list[XUser]) -> str:
    """The public reply saying these payers were asked by DM (they keep payments out of public)."""
    return say(
        "request_reply.by_dm", ask.lang, requester=ask.requester.handle, payers=" ".join(f"@{u.handle}" for u in payers)
    )


def request_texts(ask: Ask, people: list[XUser], codes: dict[str, str]) -> list[tuple[str, list[XUser]]]:
    """The public reply that asks the payers, each with their code: one reply, or as few as X's
    280 weighted characters allow (each payer named in exactly one; a yes counts once its reply is out).
    Each text comes with the payers it names."""
    groups: list[list[XUser]] = []
    for user in people:
        if groups and msg.fits(request_text(ask, [*groups[-1], user], codes)):
            groups[-1].append(user)
        else:
            groups.append([user])
    return [(request_text(ask, group, codes), group) for group in groups]


def request_text(ask: Ask, people: list[XUser], codes: dict[str, str]) -> str:
    """One public reply asking these payers, with their codes and the memo in plain words only."""
    lang = ask.lang
    if len(people) == 1:
        code_text = say("request_reply.code", lang, code=codes[people[0].id])
    else:
        code_text = say("choose.or", lang).join(
            say("request_reply.code_for", lang, code=codes[u.id], handle=u.handle) for u in people
        )
    plain = msg.public_memo(ask.memo)  # said in public: plain words only (see Consent)
    memo = say("confirm.memo", lang, memo=plain) if plain else ""
    payers = " ".join(f"@{u.handle}" for u in people)
    return say(
        "request_reply",
        lang,
        payers=payers,
        requester=ask.requester.handle,
        amount=ask.amount,
        memo=memo,
        codes=code_text,
    )
