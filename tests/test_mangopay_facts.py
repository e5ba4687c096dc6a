"""Mangopay's documented facts, one row each, checked against the emulator (bot/sims/mangopay.py).

Each row names a fact in our own words (a required field, a status, a ResultCode, a lifetime, a limit) and the
page of Mangopay's documentation it comes from (a path under mangopay-docs/, the snapshot described in its
SOURCE.md; facts published after the snapshot cite SOURCE.md). Its check plays the fact on the emulator through
the official SDK's client, on raw HTTP where the SDK has no call. Nothing leaves 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from mangopay.api import APIRequest
from mangopay.resources import Recipient

from bot.ports import FakeClock
from bot.sims.mangopay import (
    CARD_OK,
    EVENT_RETENTION,
    FRAUD_POLICY,
    IBAN_OK,
    RATE_LIMITED,
    RATE_LIMITS,
    SCA_SESSION_LIFETIME,
    WALLET_SCA_EVERY,
    MangopaySim,
)

DOCS = Path(__file__).resolve().parents[2] / "shared" / "specs" / "mangopay-docs"
IDENTITY = {"Birthday": 652117514, "Nationality": "FR", "CountryOfResidence": "FR"}
RETURN = "returnUrl=" + quote("https://paybot.example/back?x=1", safe="")


@dataclass
class World:
    sim: MangopaySim
    api: APIRequest

    @property
    def clock(self) -> FakeClock:
        assert isinstance(self.sim.clock, FakeClock)
        return self.sim.clock

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        """A raw call under /v2.01/{ClientId}, with the SDK's token."""
        return requests.request(method, f"{self.sim.base}/v2.01/{self.sim.client_id}{path}", json=body,
                                params=params, headers={"Authorization": self.api.auth_manager.get_token()},
                                timeout=10)

    def user(self, category: str = "PAYER", **extra: Any) -> dict[str, Any]:
        body = {"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@example.org", "UserCategory": category,
                "TermsAndConditionsAccepted": category == "OWNER", **(IDENTITY if category == "OWNER" else {}),
                **extra}
        made = self.call("POST", "/sca/users/natural", body)
        assert made.status_code == 200, made.text
        return dict(made.json())

    def owner(self, *, enrolled: bool = True, verified: bool = True) -> dict[str, Any]:
        made = self.user("OWNER")
        if enrolled:
            self.sim.enrol(made["Id"])
        if verified:
            with self.sim.lock:
                self.sim.objects[made["Id"]]["KYCLevel"] = "REGULAR"
        return made

    def wallet(self, owner: str, amount: int = 0) -> str:
        made = self.call("POST", "/wallets", {"Owners": [owner], "Description": "w", "Currency": "EUR"}).json()
        with self.sim.lock:
            self.sim.objects[made["Id"]]["Balance"]["Amount"] = amount
        return str(made["Id"])

    def transfer(self, author: str, source: str, target: str, amount: int = 100, **extra: Any) -> dict[str, Any]:
        made = self.call("POST", "/transfers", {
            "AuthorId": author, "DebitedFunds": {"Currency": "EUR", "Amount": amount},
            "Fees": {"Currency": "EUR", "Amount": 0}, "DebitedWalletId": source, "CreditedWalletId": target,
            **extra})
        assert made.status_code == 200, made.text
        return dict(made.json())

    def owners_transfer(self, *, author_enrolled: bool = True) -> dict[str, Any]:
        """A transfer between two Owners (it needs the author's SCA)."""
        author, other = self.owner(enrolled=author_enrolled), self.owner()
        return self.transfer(author["Id"], self.wallet(author["Id"], 1000), self.wallet(other["Id"]))

    def events(self) -> list[str]:
        return [e["EventType"] for e in self.sim.events]


def _refused(response: requests.Response, status: int, type_: str, *fields: str) -> None:
    """Mangopay's error report: Message, Type, Id, Date, errors (naming each refused field)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"Message", "Type", "Id", "Date", "errors"} and body["Type"] == type_
    for name in fields:
        assert name in (body["errors"] or {}), body


# ---------------------------------------------------------------- the checks, one per fact


def owner_needs(field: str) -> Callable[[World], None]:
    def check(w: World) -> None:
        payer = w.user()
        body = {"UserCategory": "OWNER", "TermsAndConditionsAccepted": True, **IDENTITY}
        del body[field]
        _refused(w.call("PUT", f"/sca/users/natural/{payer['Id']}/category", body), 400, "param_error", field)
        assert w.call("GET", f"/sca/users/{payer['Id']}").json()["UserCategory"] == "PAYER"
        _refused(w.call("POST", "/sca/users/natural", {
            "FirstName": "A", "LastName": "B", "Email": "a@b.org", "UserCategory": "OWNER",
            "TermsAndConditionsAccepted": True, **{k: v for k, v in IDENTITY.items() if k != field}}),
            400, "param_error", field)

    return check


def _fraud_policy(response: requests.Response) -> None:
    """Mangopay's answer to a name or e-mail that is not a person's (guides/users/types.mdx): errors null."""
    _refused(response, 400, "fraud_policy")
    assert response.json()["Message"] == FRAUD_POLICY and response.json()["errors"] is None


def an_owner_needs_a_persons_name(w: World) -> None:
    for first, last in (("Test", "Martin"), ("X user", "12"), ("Alice", "unknown"), ("4242", "Martin")):
        _fraud_policy(w.call("POST", "/sca/users/natural", {
            "FirstName": first, "LastName": last, "Email": "alice@example.org", "UserCategory": "OWNER",
            "TermsAndConditionsAccepted": True, **IDENTITY}))
    payer = w.user(FirstName="X user", LastName="12")  # a Payer's name is not checked here (the rule is an Owner's)
    _fraud_policy(w.call("PUT", f"/sca/users/natural/{payer['Id']}/category",
                         {"UserCategory": "OWNER", "TermsAndConditionsAccepted": True, **IDENTITY}))
    assert w.call("GET", f"/sca/users/{payer['Id']}").json()["UserCategory"] == "PAYER"
    assert w.user("OWNER", FirstName="Zoé", LastName="Le Goff")["UserCategory"] == "OWNER"


def an_owner_needs_a_persons_email(w: World) -> None:
    for email in ("x-12@users.paybot.invalid", "noreply@example.org", "alice@paybot.test"):
        _fraud_policy(w.call("POST", "/sca/users/natural", {
            "FirstName": "Alice", "LastName": "Martin", "Email": email, "UserCategory": "OWNER",
            "TermsAndConditionsAccepted": True, **IDENTITY}))
    payer = w.user()
    _fraud_policy(w.call("PUT", f"/sca/users/natural/{payer['Id']}/category", {
        "UserCategory": "OWNER", "TermsAndConditionsAccepted": True, "Email": "ada@users.paybot.invalid",
        **IDENTITY}))
    assert w.call("GET", f"/sca/users/{payer['Id']}").json()["UserCategory"] == "PAYER"


def categorising_asks_for_enrolment(w: World) -> None:
    payer = w.user()
    assert (payer["UserStatus"], payer["PendingUserAction"]) == ("ACTIVE", None)
    moved = w.call("PUT", f"/sca/users/natural/{payer['Id']}/category",
                   {"UserCategory": "OWNER", "TermsAndConditionsAccepted": True, **IDENTITY}).json()
    assert (moved["UserCategory"], moved["UserStatus"]) == ("OWNER", "PENDING_USER_ACTION")
    assert moved["PendingUserAction"]["RedirectUrl"]
    assert w.events()[-1] == "USER_ACCOUNT_VALIDATION_ASKED"


def an_owner_is_not_categorised_again(w: World) -> None:
    owner = w.owner()
    _refused(w.call("PUT", f"/sca/users/natural/{owner['Id']}/category",
                    {"UserCategory": "OWNER", "TermsAndConditionsAccepted": True, **IDENTITY}),
             400, "not_allowed_for_user_category_owner")


def a_payer_is_not_enrolled(w: World) -> None:
    _refused(w.call("POST", f"/sca/users/{w.user()['Id']}/enrollment"), 400, "not_allowed_for_user_category_payer")


def enrolling_again_gives_a_new_link_and_keeps_the_status(w: World) -> None:
    owner = w.owner(enrolled=False)
    again = w.call("POST", f"/sca/users/{owner['Id']}/enrollment").json()
    assert again["PendingUserAction"]["RedirectUrl"] not in (None, owner["PendingUserAction"]["RedirectUrl"])
    assert w.call("GET", f"/sca/users/{owner['Id']}").json()["UserStatus"] == "PENDING_USER_ACTION"
    enrolled = w.owner()
    w.call("POST", f"/sca/users/{enrolled['Id']}/enrollment")
    assert w.call("GET", f"/sca/users/{enrolled['Id']}").json()["UserStatus"] == "ACTIVE"


def enrolment_makes_the_owner_active(w: World) -> None:
    owner = w.owner(enrolled=False)
    done = w.sim.follow_sca_link(f"{owner['PendingUserAction']['RedirectUrl']}&{RETURN}")
    assert done["controlStatus"] == "VALIDATED" and done["returnUrl"] == "https://paybot.example/back?x=1"
    assert w.call("GET", f"/sca/users/{owner['Id']}").json()["UserStatus"] == "ACTIVE"
    assert w.events()[-2:] == ["USER_ACCOUNT_ACTIVATED", "SCA_ENROLLMENT_SUCCEEDED"]


def an_unenrolled_owner_cannot_author_a_transfer_that_needs_sca(w: World) -> None:
    refused = w.owners_transfer(author_enrolled=False)
    assert (refused["Status"], refused["ResultCode"]) == ("FAILED", "002704")


def sca_sessions_last_ten_minutes(w: World) -> None:
    owner = w.owner(enrolled=False)
    link = f"{owner['PendingUserAction']['RedirectUrl']}&{RETURN}"
    w.clock.advance(SCA_SESSION_LIFETIME)
    assert w.sim.follow_sca_link(link)["controlStatus"] == "FAILED"
    assert w.call("GET", f"/sca/users/{owner['Id']}").json()["UserStatus"] == "PENDING_USER_ACTION"
    assert "SCA_ENROLLMENT_EXPIRED" in w.events()


def the_sca_page_needs_an_encoded_return_url(w: World) -> None:
    link = w.owner(enrolled=False)["PendingUserAction"]["RedirectUrl"]
    for bad in (link, f"{link}&returnUrl=https://paybot.example/back"):
        assert requests.get(bad, timeout=10).status_code == 400
    assert requests.get(f"{link}&{RETURN}", timeout=10).status_code == 200


def a_lapsed_transfer_approval_is_007102(w: World) -> None:
    waiting = w.owners_transfer()
    assert waiting["Status"] == "CREATED" and waiting["PendingUserAction"]["RedirectUrl"]
    w.clock.advance(SCA_SESSION_LIFETIME)
    lapsed = w.call("GET", f"/transfers/{waiting['Id']}").json()
    assert (lapsed["Status"], lapsed["ResultCode"]) == ("FAILED", "007102")


def a_failed_transfer_approval_is_007101(w: World) -> None:
    waiting = w.owners_transfer()
    w.sim.follow_sca_link(f"{waiting['PendingUserAction']['RedirectUrl']}&{RETURN}", success=False)
    failed = w.call("GET", f"/transfers/{waiting['Id']}").json()
    assert (failed["Status"], failed["ResultCode"]) == ("FAILED", "007101")


def a_transfer_to_an_unverified_owner_is_002951(w: World) -> None:
    payer, owner = w.user(), w.owner(verified=False)
    refused = w.transfer(payer["Id"], w.wallet(payer["Id"], 1000), w.wallet(owner["Id"]))
    assert (refused["Status"], refused["ResultCode"]) == ("FAILED", "002951")


def a_transfer_beyond_the_balance_is_001001(w: World) -> None:
    payer, owner = w.user(), w.owner()
    refused = w.transfer(payer["Id"], w.wallet(payer["Id"], 99), w.wallet(owner["Id"]), 100)
    assert (refused["Status"], refused["ResultCode"]) == ("FAILED", "001001")


def idempotency_keys_are_16_to_36_characters(w: World) -> None:
    def refused_key(key: str) -> bool:
        answer = requests.post(f"{w.sim.base}/v2.01/{w.sim.client_id}/wallets", timeout=10, json={},
                               headers={"Authorization": w.api.auth_manager.get_token(), "Idempotency-Key": key})
        return "Idempotency-Key" in (answer.json().get("errors") or {})

    assert refused_key("k" * 15) and refused_key("k" * 37) and refused_key("key_with_under")
    assert not refused_key("k" * 16) and not refused_key("a-" * 18)


def a_reused_key_is_blocked_with_409_for_24_hours(w: World) -> None:
    headers = {"Authorization": w.api.auth_manager.get_token(), "Idempotency-Key": "paybot-fact-key-0001"}
    body = {"FirstName": "A", "LastName": "B", "Email": "a@b.org", "UserCategory": "PAYER"}
    url = f"{w.sim.base}/v2.01/{w.sim.client_id}/sca/users/natural"
    assert requests.post(url, json=body, headers=headers, timeout=10).status_code == 200
    assert requests.post(url, json=body, headers=headers, timeout=10).status_code == 409


def lists_give_at_most_100_a_page(w: World) -> None:
    _refused(w.call("GET", "/events", EventType="USER_CREATED", per_page=101), 400, "param_error")
    assert w.call("GET", "/events", EventType="USER_CREATED", per_page=100).status_code == 200


def an_owners_wallet_access_needs_sca_every_180_days(w: World) -> None:
    owner = w.owner()
    wallet = w.wallet(owner["Id"], 700)
    paths = [f"/wallets/{wallet}", f"/users/{owner['Id']}/wallets", f"/users/{owner['Id']}/transactions",
             f"/wallets/{wallet}/transactions"]
    for path in paths:
        refused = w.call("GET", path, ScaContext="USER_PRESENT")
        assert refused.status_code == 401, path
        header = refused.headers["WWW-Authenticate"]
        assert header.startswith("PendingUserAction RedirectUrl=http"), header
    link = refused.headers["WWW-Authenticate"].split("RedirectUrl=", 1)[1]
    assert w.sim.follow_sca_link(f"{link}&{RETURN}")["controlStatus"] == "VALIDATED"
    assert [w.call("GET", p, ScaContext="USER_PRESENT").status_code for p in paths] == [200] * 4
    w.clock.advance(WALLET_SCA_EVERY)
    assert w.call("GET", paths[0], ScaContext="USER_PRESENT").status_code == 401


def a_payers_wallet_needs_no_sca(w: World) -> None:
    payer = w.user()
    wallet = w.wallet(payer["Id"])
    assert w.call("GET", f"/wallets/{wallet}", ScaContext="USER_PRESENT").status_code == 200
    assert w.call("GET", f"/users/{payer['Id']}/transactions").status_code == 200


def wallet_access_without_the_user_needs_their_proxy_consent(w: World) -> None:
    owner = w.owner()
    _refused(w.call("GET", f"/wallets/{w.wallet(owner['Id'])}", ScaContext="USER_NOT_PRESENT"), 403,
             "forbidden_ressource")


RECIPIENT = {"DisplayName": "Ada EUR", "PayoutMethodType": "LocalBankTransfer", "RecipientType": "Individual",
             "Currency": "EUR", "Country": "FR",
             "IndividualRecipient": {"FirstName": "Ada", "LastName": "Lovelace", "Address": {
                 "AddressLine1": "1 rue de la Paix", "City": "Paris", "PostalCode": "75002", "Country": "FR"}},
             "LocalBankTransfer": {"EUR": {"IBAN": IBAN_OK}}}


def payout_methods_depend_on_the_route(w: World) -> None:
    local = w.call("GET", "/recipients/payout-methods", Country="FR", Currency="EUR").json()
    assert local == {"AvailablePayoutMethods": ["LocalBankTransfer", "InternationalBankTransfer"]}
    far = w.call("GET", "/recipients/payout-methods", Country="US", Currency="EUR").json()
    assert far == {"AvailablePayoutMethods": ["InternationalBankTransfer"]}
    schema = w.call("GET", "/recipients/schema", PayoutMethodType="LocalBankTransfer", RecipientType="Individual",
                    Currency="EUR", Country="FR").json()
    assert schema["LocalBankTransfer"]["EUR"]["IBAN"]["Required"] is True


def a_recipient_is_pending_until_its_owner_passes_sca(w: World) -> None:
    owner = w.owner()
    assert w.call("POST", f"/users/{owner['Id']}/recipients/validate", RECIPIENT).status_code == 200
    made = w.call("POST", f"/users/{owner['Id']}/recipients", RECIPIENT).json()
    assert (made["Status"], made["RecipientScope"]) == ("PENDING", "PAYOUT") and made["PendingUserAction"]
    assert w.sim.follow_sca_link(f"{made['PendingUserAction']['RedirectUrl']}&{RETURN}")["Status"] == "VALIDATED"
    read = Recipient.get(made["Id"], handler=w.api)  # the SDK reads it
    assert (read.status, read.local_bank_transfer["EUR"]["IBAN"]) == ("ACTIVE", IBAN_OK)
    assert w.events()[-1] == "RECIPIENT_ACTIVE"


def a_recipient_whose_sca_fails_or_lapses_is_canceled(w: World) -> None:
    owner = w.owner()
    failed = w.call("POST", f"/users/{owner['Id']}/recipients", RECIPIENT).json()
    w.sim.follow_sca_link(f"{failed['PendingUserAction']['RedirectUrl']}&{RETURN}", success=False)
    lapsed = w.call("POST", f"/users/{owner['Id']}/recipients", RECIPIENT).json()
    w.clock.advance(SCA_SESSION_LIFETIME)
    assert [w.call("GET", f"/recipients/{r['Id']}").json()["Status"] for r in (failed, lapsed)] == ["CANCELED"] * 2
    assert w.events().count("RECIPIENT_CANCELED") == 2


def a_payer_has_no_payout_recipient(w: World) -> None:
    refused = w.call("POST", f"/users/{w.user()['Id']}/recipients", RECIPIENT)
    assert refused.status_code == 400 and refused.json()["Type"] == "param_error" and "SCA" in refused.json()["Errors"]


def a_recipients_account_details_are_checked(w: World) -> None:
    owner = w.owner()
    bad = {**RECIPIENT, "LocalBankTransfer": {"EUR": {"IBAN": "FR7630004000031234567890144"}}}
    for path in (f"/users/{owner['Id']}/recipients/validate", f"/users/{owner['Id']}/recipients"):
        refused = w.call("POST", path, bad)
        assert refused.status_code == 400 and refused.json()["Errors"] == {"LocalBankTransfer.EUR.IBAN": "INVALID_IBAN"}
    nobody = w.call("POST", f"/users/{owner['Id']}/recipients", {**RECIPIENT, "IndividualRecipient": {}})
    assert nobody.json()["Errors"]["IndividualRecipient.FirstName"] == "REQUIRED"


def payouts_go_to_active_recipients_not_new_bank_accounts(w: World) -> None:
    owner = w.owner()
    wallet = w.wallet(owner["Id"], 1000)
    w.sim.pass_wallet_sca(owner["Id"])
    pending = w.call("POST", f"/users/{owner['Id']}/recipients", RECIPIENT).json()
    legacy = w.sim.register_legacy_bank_account(owner["Id"])  # created after 30 April 2026 (the emulator's clock)
    active = w.sim.register_bank_account(owner["Id"], currency="EUR")

    def payout(account: str) -> requests.Response:
        return w.call("POST", "/payouts/bankwire", {
            "AuthorId": owner["Id"], "DebitedWalletId": wallet, "BankAccountId": account,
            "DebitedFunds": {"Currency": "EUR", "Amount": 100}, "Fees": {"Currency": "EUR", "Amount": 0}})

    _refused(payout(pending["Id"]), 400, "param_error", "BankAccountId")
    retired = payout(legacy["Id"]).json()
    assert (retired["Status"], retired["ResultCode"]) == ("FAILED", "121018")
    assert payout(active["Id"]).json()["Status"] == "CREATED" and w.sim.balance(wallet) == 900


def a_payin_to_an_unverified_owners_wallet_is_002951(w: World) -> None:
    def pay_into(owner: dict[str, Any]) -> dict[str, Any]:
        reg = w.call("POST", "/cardregistrations", {"UserId": owner["Id"], "Currency": "EUR"}).json()
        card = w.sim.complete_card_page(reg["Id"], CARD_OK)["CardId"]
        funds = {"Currency": "EUR", "Amount": 500}
        recurring = w.call("POST", "/recurringpayinregistrations", {
            "AuthorId": owner["Id"], "CardId": card, "CreditedWalletId": w.wallet(owner["Id"]),
            "FirstTransactionDebitedFunds": funds, "FirstTransactionFees": {**funds, "Amount": 0}}).json()
        return dict(w.call("POST", "/payins/recurring/card/direct", {
            "RecurringPayinRegistrationId": recurring["Id"], "SecureModeReturnURL": "https://x.com",
            "BrowserInfo": {"AcceptHeader": "text/html"}, "IpAddress": "127.0.0.1"}).json())

    refused = pay_into(w.owner(verified=False))
    assert (refused["Status"], refused["ResultCode"]) == ("FAILED", "002951")
    assert pay_into(w.owner())["Status"] == "SUCCEEDED" and pay_into(w.user())["Status"] == "SUCCEEDED"


def a_payout_the_bank_returns_is_refunded_to_the_wallet(w: World) -> None:
    owner = w.owner()
    wallet = w.wallet(owner["Id"], 1000)
    account = w.sim.register_bank_account(owner["Id"], currency="EUR")
    made = w.call("POST", "/payouts/bankwire", {
        "AuthorId": owner["Id"], "DebitedWalletId": wallet, "BankAccountId": account["Id"],
        "DebitedFunds": {"Currency": "EUR", "Amount": 400}, "Fees": {"Currency": "EUR", "Amount": 0}}).json()
    w.sim.settle_payout(made["Id"])
    back = w.sim.return_payout(made["Id"], "BANKACCOUNT_HAS_BEEN_CLOSED")
    read = w.call("GET", f"/refunds/{back['Id']}").json()
    assert (read["Status"], read["InitialTransactionType"], read["InitialTransactionId"]) == (
        "SUCCEEDED", "PAYOUT", made["Id"])
    assert read["RefundReason"]["RefusedReasonType"] == "BANKACCOUNT_HAS_BEEN_CLOSED" and w.sim.balance(wallet) == 1000
    assert w.events()[-2:] == ["PAYOUT_REFUND_CREATED", "PAYOUT_REFUND_SUCCEEDED"]


def events_are_listed_by_type_for_45_days(w: World) -> None:
    w.user()
    assert w.call("GET", "/events").status_code == 400  # EventType is required
    assert len(w.call("GET", "/events", EventType="USER_CREATED").json()) == 1
    w.clock.advance(EVENT_RETENTION)
    assert w.call("GET", "/events", EventType="USER_CREATED").json() == []


def calls_beyond_2300_in_15_minutes_are_429_rate_limit(w: World) -> None:
    small = MangopaySim(w.clock, rate_limits=((timedelta(minutes=15), 3), (timedelta(hours=24), 105_600)))
    small.start()
    try:
        api = APIRequest(client_id=small.client_id, apikey=small.api_key, api_url=small.base + "/v2.01/",
                         api_sandbox_url=small.base + "/v2.01/", sandbox=False)
        answers = [World(small, api).call("GET", "/clients") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[1].headers["X-RateLimit-Remaining"] == "1, 105598"
        body = answers[3].json()
        assert (body["Type"], body["Message"], body["errors"]) == ("rate_limit", RATE_LIMITED, None)
        w.clock.advance(timedelta(minutes=15))
        assert World(small, api).call("GET", "/clients").status_code == 200
    finally:
        small.stop()
    assert RATE_LIMITS[0] == (timedelta(minutes=15), 2_300)


def card_pages_are_mangopays_test_cards(w: World) -> None:
    reg = w.call("POST", "/cardregistrations", {"UserId": w.user()["Id"], "Currency": "EUR"}).json()
    assert w.sim.complete_card_page(reg["Id"], CARD_OK)["Status"] == "VALIDATED"


@dataclass(frozen=True)
class Fact:
    says: str  # the fact, in our words
    page: str  # where Mangopay documents it, under mangopay-docs/
    check: Callable[[World], None]


FACTS = [
    Fact("an Owner whose name is not a person's is refused, 400 fraud_policy (since 2026-02-19)", "SOURCE.md",
         an_owner_needs_a_persons_name),
    Fact("an Owner whose e-mail is not a person's is refused, 400 fraud_policy (since 2026-02-19)", "SOURCE.md",
         an_owner_needs_a_persons_email),
    Fact("fraud_policy's answer: its Message, errors null", "guides/users/types.mdx",
         lambda w: _fraud_policy(w.call("POST", "/sca/users/natural", {
             "FirstName": "undefined", "LastName": "Martin", "Email": "a@example.org", "UserCategory": "OWNER",
             "TermsAndConditionsAccepted": True, **IDENTITY}))),
    Fact("an Owner needs a Birthday", "api-reference/users/categorize-natural-user.mdx", owner_needs("Birthday")),
    Fact("an Owner needs a Nationality", "api-reference/users/categorize-natural-user.mdx",
         owner_needs("Nationality")),
    Fact("an Owner needs a CountryOfResidence", "api-reference/users/categorize-natural-user.mdx",
         owner_needs("CountryOfResidence")),
    Fact("categorising a Payer as Owner always answers an SCA enrolment link, PENDING_USER_ACTION",
         "guides/sca/session.mdx", categorising_asks_for_enrolment),
    Fact("an Owner is not categorised again (not_allowed_for_user_category_owner)",
         "api-reference/users/categorize-natural-user.mdx", an_owner_is_not_categorised_again),
    Fact("a Payer is not enrolled (not_allowed_for_user_category_payer)", "api-reference/users/enroll-user.mdx",
         a_payer_is_not_enrolled),
    Fact("enrolling an Owner again gives a new link and leaves UserStatus as it is",
         "api-reference/users/enroll-user.mdx", enrolling_again_gives_a_new_link_and_keeps_the_status),
    Fact("a completed enrolment makes the Owner ACTIVE (USER_ACCOUNT_ACTIVATED)", "guides/sca/users.mdx",
         enrolment_makes_the_owner_active),
    Fact("an unenrolled Owner's transfer that needs SCA is refused (002704)", "guides/sca/users.mdx",
         an_unenrolled_owner_cannot_author_a_transfer_that_needs_sca),
    Fact("an SCA session lasts 10 minutes; the user then stays PENDING_USER_ACTION", "guides/sca/session.mdx",
         sca_sessions_last_ten_minutes),
    Fact("the SCA page needs the platform's percent-encoded returnUrl", "guides/sca/session.mdx",
         the_sca_page_needs_an_encoded_return_url),
    Fact("a transfer's SCA not done in 10 minutes fails 007102", "guides/sca/transfers.mdx",
         a_lapsed_transfer_approval_is_007102),
    Fact("a transfer's failed SCA fails 007101", "errors/codes/007101.mdx", a_failed_transfer_approval_is_007101),
    Fact("a transfer to an unverified Owner fails 002951", "SOURCE.md", a_transfer_to_an_unverified_owner_is_002951),
    Fact("a transfer beyond the wallet's balance fails 001001", "errors/codes/001001.mdx",
         a_transfer_beyond_the_balance_is_001001),
    Fact("an Idempotency-Key is 16 to 36 letters, digits or dashes", "api-reference/overview/idempotency.mdx",
         idempotency_keys_are_16_to_36_characters),
    Fact("a key used again within 24 hours is blocked with a 409", "api-reference/overview/idempotency.mdx",
         a_reused_key_is_blocked_with_409_for_24_hours),
    Fact("a list gives at most 100 items a page", "api-reference/overview/pagination.mdx",
         lists_give_at_most_100_a_page),
    Fact("an Owner's wallet access needs their SCA every 180 days: 401, the link in WWW-Authenticate",
         "guides/sca/wallets.mdx", an_owners_wallet_access_needs_sca_every_180_days),
    Fact("a Payer's wallet access needs no SCA", "guides/sca/wallets.mdx", a_payers_wallet_needs_no_sca),
    Fact("USER_NOT_PRESENT wallet access without proxy consent is a 403", "guides/sca/wallets.mdx",
         wallet_access_without_the_user_needs_their_proxy_consent),
    Fact("payout methods depend on the country and currency; each has its schema",
         "api-reference/recipients/view-payout-methods.mdx", payout_methods_depend_on_the_route),
    Fact("a payout Recipient is PENDING until its Owner passes SCA, then ACTIVE (RECIPIENT_ACTIVE)",
         "guides/sca/recipients.mdx", a_recipient_is_pending_until_its_owner_passes_sca),
    Fact("a Recipient whose SCA fails or lapses is CANCELED (RECIPIENT_CANCELED)", "guides/sca/session.mdx",
         a_recipient_whose_sca_fails_or_lapses_is_canceled),
    Fact("a Payer cannot register a payout Recipient", "api-reference/recipients/create-recipient.mdx",
         a_payer_has_no_payout_recipient),
    Fact("a Recipient's account details are checked, on validate and on create, error by field",
         "api-reference/recipients/validate-recipient-data.mdx", a_recipients_account_details_are_checked),
    Fact("payouts go to ACTIVE Recipients; a Bank Account created after 30 April 2026 fails 121018", "SOURCE.md",
         payouts_go_to_active_recipients_not_new_bank_accounts),
    Fact("a pay-in credited to an unverified Owner's wallet fails 002951 (since 2026-06-24)", "SOURCE.md",
         a_payin_to_an_unverified_owners_wallet_is_002951),
    Fact("a payout the bank sends back after success is refunded to the wallet (PAYOUT_REFUND_*)",
         "guides/payouts/rejects-returns.mdx", a_payout_the_bank_returns_is_refunded_to_the_wallet),
    Fact("events are listed one EventType a request, for 45 days after their date",
         "api-reference/overview/data-availability-periods.mdx", events_are_listed_by_type_for_45_days),
    Fact("beyond 2,300 calls in 15 minutes: 429 rate_limit, with X-RateLimit headers",
         "api-reference/overview/rate-limiting.mdx", calls_beyond_2300_in_15_minutes_are_429_rate_limit),
    Fact("the card page takes Mangopay's frictionless test card", "testing/payment-methods.mdx",
         card_pages_are_mangopays_test_cards),
]


@pytest.fixture
def world() -> Iterator[World]:
    sim = MangopaySim(FakeClock())
    sim.start()
    api = APIRequest(client_id=sim.client_id, apikey=sim.api_key, api_url=sim.base + "/v2.01/",
                     api_sandbox_url=sim.base + "/v2.01/", sandbox=False)
    yield World(sim, api)
    sim.stop()


@pytest.mark.parametrize("fact", FACTS, ids=[f.says for f in FACTS])
def test_the_emulator_keeps_mangopays_documented_fact(fact: Fact, world: World) -> None:
    """The emulator behaves as the cited page of Mangopay's documentation says."""
    fact.check(world)


@pytest.mark.skipif(not DOCS.is_dir(), reason="Mangopay's documentation is not on this machine")
def test_every_fact_cites_a_page_of_mangopays_documentation() -> None:
    """Each row's page exists in the documentation snapshot."""
    assert [f.page for f in FACTS if not (DOCS / f.page).is_file()] == []
