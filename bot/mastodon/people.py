"""The Mastodon adapter's people: accounts by acct (resolved on their own instance when the bot's has never seen
them) and by id."""

from __future__ import annotations

from bot.errors import XAuthError, XError, XRateLimited, XTransient
from bot.mastodon.transport import NAMES_FOR, Connection
from bot.ports import XUser

USER_PAGE = 40  # ids per GET /api/v1/accounts


class People(Connection):
    """Looking accounts up by acct or id."""

    def users_by_handle(self, handles: list[str]) -> dict[str, XUser]:
        """Look handles (acct: `alice`, `alice@other.example`) up one by one; unknown ones are absent. Keyed
        by acct in lower case, and by the handle as asked when that differs (`alice@<this instance>`). An account
        of another instance that the bot's instance has never seen is resolved there (`_resolve`)."""
        out: dict[str, XUser] = {}
        for asked in dict.fromkeys(h.lower().lstrip("@") for h in handles):
            try:
                user = self._user(self._read("account_lookup", self.api.account_lookup, asked))
            except XError as err:
                if isinstance(err, XAuthError | XRateLimited | XTransient):
                    raise
                found = self._resolve(asked)
                if found is None:
                    continue
                user = found
            out[user.handle.lower()] = user
            if asked != user.handle.lower() and asked.partition("@")[0] == user.handle.lower():
                out[asked] = user
        return out

    def _look_up(self, accts: list[str]) -> dict[str, XUser]:
        """The accounts by these accts (`users_by_handle`), each looked for at most once per NAMES_FOR, found or
        not: a status is read again at every poll for `edit_horizon`, and an unknown account costs a lookup and
        a search each time."""
        now = self.clock.now()
        stale = [a for a in accts if a not in self._looked_up or now - self._looked_up[a][1] > NAMES_FOR]
        if stale:
            found = self.users_by_handle(stale)
            self._looked_up |= {a: (found.get(a), now) for a in stale}
        return {a: user for a in accts if (user := self._looked_up[a][0]) is not None}

    def _resolve(self, acct: str) -> XUser | None:
        """The account `user@domain` of another instance, resolved by the bot's instance (WebFinger, then the
        actor), or None. `/api/v1/accounts/lookup` answers only accounts the instance already knows; a search
        with `resolve=true` for an account makes it fetch an unknown remote one (Mastodon's SearchService calls
        ResolveAccountService). Only the account whose acct is exactly the one asked is taken: a search also
        answers accounts that merely resemble it, and the payer must be shown exactly who is paid. An instance
        that cannot be reached, or has no such account, is an empty answer, as on Mastodon."""
        username, _, domain = acct.partition("@")
        if not username or not domain or domain == self._domain():
            return None
        found = self._read("search", self.api.search_v2, acct, resolve=True, result_type="accounts", limit=5)
        for account in found.get("accounts") or []:
            if str(account["acct"]).lower() == acct:
                return self._user(account)
        return None

    def users(self, ids: list[str]) -> dict[str, XUser]:
        """The current acct of each account id, 40 per request; ids Mastodon does not know are absent."""
        out: dict[str, XUser] = {}
        wanted = [i for i in dict.fromkeys(ids) if i]
        for i in range(0, len(wanted), USER_PAGE):
            for account in self._read("accounts", self.api.accounts, wanted[i : i + USER_PAGE]):
                user = self._user(account)
                out[user.id] = user
        return out
