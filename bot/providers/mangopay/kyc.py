"""Becoming a Mangopay Owner who can receive: CLAIM (and CASHOUT) make the user an OWNER (Mangopay's terms accepted,
with what an Owner must give), enrol them in SCA, and open Mangopay's hosted identity verification; once their KYC
level is REGULAR (Mangopay refuses transfers to unverified Owners, 002951) they can receive. Also what paybot's
return pages read: an Owner's SCA enrolment, and whether their wallets can be read with them present."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.errors import ProviderTransient, ScaRequired
from bot.identity import Identity
from bot.ports import Clock, Onboarding
from bot.providers.mangopay.pages import SCA_SESSION_LIFETIME, IdentityNeeded, MangopayPages
from bot.providers.mangopay.people import ENROLLED, RECEIVE
from bot.providers.mangopay.transport import PRESENT, MangopayTransport, tag
from bot.providers.mangopay.users import MangopayUsers
from bot.repo.provider_records import MangopayRecords


class MangopayKyc:
    """The Owner's steps at Mangopay: category, SCA enrolment, identity verification, and reading where they stand."""

    def __init__(
        self,
        transport: MangopayTransport,
        records: MangopayRecords,
        users: MangopayUsers,
        pages: MangopayPages,
        clock: Clock,
    ) -> None:
        self.transport = transport
        self.records = records
        self.users = users
        self.pages = pages
        self.clock = clock

    def onboard(self, user_id: str, *, holds_for_others: bool = False) -> Onboarding:
        """Make the user an Owner (once) and open Mangopay's identity verification. Not while they hold money for
        others (`holds_for_others`: their payments on their way or held, which sit in their own wallet): an Owner's
        wallet cannot release it without them (SCA), so it would go back unpaid. They are told to wait (`wait`)."""
        if holds_for_others and not self.records.row(user_id).owner:
            return Onboarding(ready=False, wait=True)
        if not self.records.row(user_id).owner:
            try:
                who = self.pages.identity(user_id, RECEIVE)  # before anything is made at Mangopay
            except IdentityNeeded as err:
                if err.url is None:  # no page to send them to: the operator's setup (PAYBOT_WEB_URL)
                    raise
                return Onboarding(ready=False, url=err.url, valid_for=self.pages.people.ttl)
        owner = self.users.user(user_id)
        if not self.records.row(user_id).owner:
            # The CLAIM is the user's request to hold a Mangopay account, whose terms they accepted on the identity
            # page. Mangopay always answers with an SCA enrolment link: the Owner enrols before anything waits on
            # them. The categorisation sends what categorize-natural-user.mdx requires of an Owner (Birthday,
            # Nationality, CountryOfResidence) and the e-mail the person gave (its SCA confirms it); the postal
            # address went with the user's creation (optional for a Natural user: Address3 has no requirement).
            found = self.transport.get(f"/sca/users/{owner}") or {}
            if found.get("UserCategory") != "OWNER":  # (an earlier attempt may have made them one already)
                made = self.transport.call(
                    lambda: self.transport.request(
                        "PUT",
                        f"/sca/users/natural/{owner}/category",
                        {
                            "UserCategory": "OWNER",
                            "TermsAndConditionsAccepted": True,
                            "Birthday": _birthday(who),
                            "Nationality": who.nationality,
                            "CountryOfResidence": who.residence,
                            "Email": who.email,
                        },
                    )
                )[1]
                self.records.save(user_id, owner=True)
                link = ((made or {}).get("PendingUserAction") or {}).get("RedirectUrl")
                if link:
                    return Onboarding(
                        ready=False,
                        url=self.pages.sca_link(str(link), user_id, ENROLLED),
                        enrol=True,
                        valid_for=SCA_SESSION_LIFETIME,
                    )
            self.records.save(user_id, owner=True)
        if self.regular(user_id):
            return Onboarding(ready=True)
        link = self.enrolment(user_id, owner)
        if link is not None:
            return Onboarding(ready=False, url=link, enrol=True, valid_for=SCA_SESSION_LIFETIME)
        session = self.transport.post(
            f"kyc:{user_id}:{self.clock.now().isoformat()}",
            f"/users/{owner}/identity-verifications",
            {"ReturnUrl": self.pages.return_url, "Tag": tag(x_user=user_id)},
        )
        self.records.save(user_id, kyc_session_id=str(session["Id"]))
        return Onboarding(ready=False, url=str(session.get("HostedUrl") or ""))

    def enrolment(self, user_id: str, owner: str) -> str | None:
        """A new SCA enrolment link (with paybot's return URL) when the Owner has not enrolled yet (UserStatus
        PENDING_USER_ACTION); None when they have. Each call opens a new 10-minute session."""
        found = self.transport.get(f"/sca/users/{owner}") or {}
        if found.get("UserStatus") != "PENDING_USER_ACTION":
            return None
        made = self.transport.post(
            f"enrol:{user_id}:{self.clock.now().isoformat()}", f"/sca/users/{owner}/enrollment", {}
        )
        link = (made.get("PendingUserAction") or {}).get("RedirectUrl")
        if not link:
            raise ProviderTransient("Mangopay gave no SCA enrolment link")
        return self.pages.sca_link(str(link), user_id, ENROLLED)

    def enrolled(self, user_id: str) -> bool:
        """Whether the user may author what needs SCA: a PAYER, or an OWNER who completed their SCA enrolment."""
        row = self.records.row(user_id)
        if not row.owner or row.kyc_regular or row.mangopay_user_id is None:
            return True  # a verified Owner enrolled first (`regular` wants it)
        found = self.transport.get(f"/sca/users/{row.mangopay_user_id}") or {}
        return found.get("UserStatus") != "PENDING_USER_ACTION"

    def regular(self, user_id: str) -> bool:
        """An OWNER whose KYC level is REGULAR; asks Mangopay while their verification is pending."""
        row = self.records.row(user_id)
        if row.kyc_regular:
            return True
        if not (row.owner and row.mangopay_user_id):
            return False
        found = self.transport.get(f"/sca/users/{row.mangopay_user_id}")
        if (
            found
            and found.get("UserCategory") == "OWNER"
            and found.get("KYCLevel") == "REGULAR"
            and found.get("UserStatus") != "PENDING_USER_ACTION"
        ):  # enrolled in SCA, then verified
            self.records.save(user_id, kyc_regular=True)
            return True
        return False

    def enrolment_status(self, user_id: str) -> str | None:
        """The user's UserStatus at Mangopay (ACTIVE once an Owner enrolled in SCA; PENDING_USER_ACTION before);
        None when Mangopay does not know them."""
        row = self.records.row(user_id)
        found = self.transport.get(f"/sca/users/{row.mangopay_user_id}") if row.mangopay_user_id else None
        return str(found.get("UserStatus") or "") if found else None

    def wallet_open(self, user_id: str) -> bool:
        """Whether the user's wallets can be read now, with them present (their wallet-access SCA of the last 180
        days holds); a read that wants their SCA is False (and its new session is not used)."""
        row = self.records.row(user_id)
        if row.mangopay_user_id is None:
            return False
        try:
            path = f"/users/{row.mangopay_user_id}/wallets"
            self.transport.call(lambda: self.transport.request("GET", path, ScaContext=PRESENT))
        except ScaRequired:
            return False
        return True


def _birthday(who: Identity) -> int:
    """An identity's birthday as Mangopay's Birthday: unix seconds of that day's midnight, UTC (Birthday's field
    page: "a Unix timestamp in UTC", so that midnight is not read as the day before)."""
    if who.birthday is None:  # cannot happen: said so, rather than an assert that -O removes
        raise RuntimeError("who.birthday is missing")
    return int(datetime(who.birthday.year, who.birthday.month, who.birthday.day, tzinfo=UTC).timestamp())
