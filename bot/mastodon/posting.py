"""The Mastodon adapter's posting: DMs (direct statuses naming the person first), replies as visible as what they
answer, and a DM in doubt looked for among the bot's own statuses."""

from __future__ import annotations

from datetime import datetime

from bot.errors import XError, XForbidden
from bot.mastodon.content import (
    LEADING_HANDLES,
    countable,
    idempotency_key,
    plain_text,
    port_id,
    quiet_handles,
    status_of,
    utc,
)
from bot.mastodon.transport import Connection
from bot.ports import SentDm

DM_SENT_PAGES = 10


class Posting(Connection):
    """DMs and replies."""

    def _post(self, what: str, text: str, *, visibility: str, reply_to: str | None, key: str | None) -> str:
        if countable(text) > self.max_characters():
            raise XError(f"{what}: {countable(text)} characters is more than the instance's {self.max_characters()}")
        status = self._call(
            what, self.api.status_post, text, in_reply_to_id=reply_to, visibility=visibility, idempotency_key=key
        )
        return port_id(status["id"])

    def send_dm(self, user_id: str, text: str) -> str:
        """A direct status naming the person first; its port id."""
        try:
            acct = self._acct(user_id)
        except XError as err:
            raise XError(f"dm: no account {user_id}: {err}") from None
        return self._post("dm", f"@{acct} {quiet_handles(text)}", visibility="direct", reply_to=None, key=None)

    def dm_sent(self, user_id: str, text: str, since: datetime) -> SentDm | None:
        """The bot's direct status with this text to this person since then (a send in doubt), from the bot's
        own statuses, newest first; None when there is none."""
        since = since.replace(microsecond=since.microsecond // 1000 * 1000)
        me = self._my_id()
        max_id: str | None = None
        found: list[SentDm] = []
        for _ in range(DM_SENT_PAGES):
            page = self._read("account_statuses", self.api.account_statuses, me, limit=40, max_id=max_id)
            for s in page:
                at = utc(s["created_at"])
                if at < since:
                    return min(found, key=lambda d: d.at) if found else None
                mentions = list(s.get("mentions") or [])
                if s.get("visibility") != "direct" or not mentions or str(mentions[0]["id"]) != user_id:
                    continue
                written = plain_text(str(s["content"]), mentions)
                lead = LEADING_HANDLES.match(written)
                if (written[lead.end() :] if lead else written) == quiet_handles(text):
                    found.append(SentDm(port_id(s["id"]), at))
            if not page:
                break
            max_id = str(page[-1]["id"])
        return min(found, key=lambda d: d.at) if found else None

    def reply(self, in_reply_to: str, text: str) -> str:
        """A status in reply to the port id's status, as visible as it and never more (public under a public
        status, unlisted under an unlisted one; under a followers-only one, a direct status to the people it
        mentions: a followers-only reply would reach the bot's followers, not the author's); its port id. A status
        gone is a refusal."""
        sid = status_of(in_reply_to)
        try:
            if sid not in self._visibility:
                self._visibility[sid] = str(self._read("status", self.api.status, sid).get("visibility"))
            visibility = {"unlisted": "unlisted", "private": "direct"}.get(self._visibility[sid], "public")
            return self._post(
                "reply", text, visibility=visibility, reply_to=sid, key=idempotency_key("reply", sid, text)
            )
        except XForbidden:
            raise
        except XError as err:
            if "not found" in str(err):
                raise XForbidden(f"reply: {err}", reason="other") from None
            raise
