"""How far one person's posts may make the bot speak: requests per requester and per payer, sends per sender
and waiting at once (fewer without a saved card), and payments to people who never wrote to the bot. Each
limit reached is a `CommandError` the command is refused with. Functions of one unit of work."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.domain import Policy, TransferKind
from bot.errors import CommandError
from bot.ports import Mention, XUser
from bot.repo.port import Tx


def check_reach(
    s: Tx, policy: Policy, now: datetime, m: Mention, is_send: bool, people: list[XUser], *, has_card: bool
) -> None:
    """Bound what one person's posts make the bot say to others: requests per requester per hour
    and per payer per day, and payments (each a public "held for you") to people who never wrote
    to the bot, per sender per day. Edits of a command already counted are not counted again."""
    if not is_send:
        asked = s.transfers.requests_since(now - timedelta(hours=1), requester_id=m.author_id)
        if asked >= policy.requests_per_hour:
            raise CommandError("limit.requests", n=asked)
        for user in people:
            n = s.transfers.requests_since(now - timedelta(hours=24), payer_id=user.id)
            if n >= policy.requests_per_payer_day:
                raise CommandError("limit.payer", n=n)
        return
    _check_sends(s, policy, now, m, has_card)
    new = [u.id for u in people if (row := s.users.get(u.id)) is None or row.wrote_at is None]
    if not new:
        return
    before = s.transfers.strangers_paid(m.author_id, now - timedelta(hours=24), other_than_root=m.root_id)
    if len(before | set(new)) > policy.strangers_per_day:
        raise CommandError("limit.strangers", n=policy.strangers_per_day)


def _check_sends(s: Tx, policy: Policy, now: datetime, m: Mention, has_card: bool) -> None:
    """Bound what one sender's posts make the bot send them (each a confirmation DM at the head of the
    queue, from the operator's DM allowance): send commands per hour, and commands waiting for an answer
    at once; without a saved card, fewer (one by default: its confirmation says to REGISTER, more would say
    it again). An edit of a command already counted is not counted again."""
    sent = s.transfers.sends_since(m.author_id, now - timedelta(hours=1), other_than_root=m.root_id)
    if sent >= policy.sends_per_hour:
        raise CommandError("limit.sends", n=sent)
    waiting = {
        t.root_tweet_id
        for t in s.transfers.pending_of(m.author_id)
        if t.kind == TransferKind.SEND and t.root_tweet_id != m.root_id
    }
    if not waiting:
        return
    if len(waiting) >= policy.pending_sends:
        raise CommandError("limit.pending", n=len(waiting))
    if len(waiting) >= policy.pending_sends_no_card and not has_card:
        raise CommandError("limit.pending_no_card")
