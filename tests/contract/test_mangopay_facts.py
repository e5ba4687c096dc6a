"""Mangopay's documented facts, one row each, checked against the emulator (bot/sims/mangopay/).

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
from mangopay.resources import CardRegistration, Recipient, User

from bot.ports import FakeClock
from bot.sims.mangopay import (
    CARD_3DS,
    CARD_DECLINED,
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

DOCS = Path(__file__).resolve().parents[3] / "shared" / "specs" / "mangopay-docs"
IDENTITY = {"Birthday": 652117514, "Nationality": "FR", "CountryOfResidence": "FR"}
RETURN = "returnUrl=" + quote("https://paybot.example/back?x=1", safe="")
BROWSER = {
    "AcceptHeader": "text/html",
    "JavaEnabled": False,
    "Language": "fr-FR",
    "ColorDepth": 24,
    "ScreenHeight": 915,
    "ScreenWidth": 412,
    "TimeZoneOffset": -60,
    "UserAgent": "Mozilla/5.0",
    "JavascriptEnabled": True,
}


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
        return requests.request(
            method,
            f"{self.sim.base}/v2.01/{self.sim.client_id}{path}",
            json=body,
            params=params,
            headers={"Authorization": self.api.auth_manager.get_token()},
            timeout=10,
        )

    def user(self, category: str = "PAYER", **extra: Any) -> dict[str, Any]:
        body = {
            "FirstName": "Ada",
            "LastName": "Lovelace",
            "Email": "ada@example.org",
            "UserCategory": category,
            "TermsAndConditionsAccepted": category == "OWNER",
            **(IDENTITY if category == "OWNER" else {}),
            **extra,
        }
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
        made = self.call(
            "POST",
            "/transfers",
            {
                "AuthorId": author,
                "DebitedFunds": {"Currency": "EUR", "Amount": amount},
                "Fees": {"Currency": "EUR", "Amount": 0},
                "DebitedWalletId": source,
                "CreditedWalletId": target,
                **extra,
            },
        )
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
        _refused(
            w.call(
                "POST",
                "/sca/users/natural",
                {
                    "FirstName": "A",
                    "LastName": "B",
                    "Email": "a@b.org",
                    "UserCategory": "OWNER",
                    "TermsAndConditionsAccepted": True,
                    **{k: v for k, v in IDENTITY.items() if k != field},
                },
            ),
            400,
            "param_error",
            field,
        )

    return check


def _fraud_policy(response: requests.Response) -> None:
    """Mangopay's answer to a name or e-mail that is not a person's (guides/users/types.mdx): errors null."""
    _refused(response, 400, "fraud_policy")
    assert response.json()["Message"] == FRAUD_POLICY and response.json()["errors"] is None


def an_owner_needs_a_persons_name(w: World) -> None:
    for first, last in (("Test", "Martin"), ("X user", "12"), ("Alice", "unknown"), ("4242", "Martin")):
        _fraud_policy(
            w.call(
                "POST",
                "/sca/users/natural",
                {
                    "FirstName": first,
                    "LastName": last,
                    "Email": "alice@example.org",
                    "UserCategory": "OWNER",
                    "TermsAndConditionsAccepted": True,
                    **IDENTITY,
                },
            )
        )
    payer = w.user(FirstName="X user", LastName="12")  # a Payer's name is not checked here (the rule is an Owner's)
    _fraud_policy(
        w.call(
            "PUT",
            f"/sca/users/natural/{payer['Id']}/category",
            {"UserCategory": "OWNER", "TermsAndConditionsAccepted": True, **IDENTITY},
        )
    )
    assert w.call("GET", f"/sca/users/{payer['Id']}").json()["UserCategory"] == "PAYER"
    assert w.user("OWNER", FirstName="Zoé", LastName="Le Goff")["UserCategory"] == "OWNER"


def an_owner_needs_a_persons_email(w: World) -> None:
    for email in ("x-12@users.paybot.invalid", "noreply@example.org", "alice@paybot.test"):
        _fraud_policy(
            w.call(
                "POST",
                "/sca/users/natural",
                {
                    "FirstName": "Alice",
                    "LastName": "Martin",
                    "Email": email,
                    "UserCategory": "OWNER",
                    "TermsAndConditionsAccepted": True,
                    **IDENTITY,
                },
            )
        )
    payer = w.user()
    _fraud_policy(
        w.call(
            "PUT",
            f"/sca/users/natural/{payer['Id']}/category",
            {
                "UserCategory": "OWNER",
                "TermsAndConditionsAccepted": True,
                "Email": "ada@users.paybot.invalid",
                **IDENTITY,
            },
        )
    )
    assert w.call("GET", f"/sca/users/{payer['Id']}").json()["UserCategory"] == "PAYER"


def categorising_asks_for_enrolment(w: World) -> None:
    payer = w.user()
    assert (payer["UserStatus"], payer["PendingUserAction"]) == ("ACTIVE", None)
    moved = w.call(
        "PUT",
        f"/sca/users/natural/{payer['Id']}/category",
        {"UserCategory": "OWNER", "TermsAndConditionsAccepted": True, **IDENTITY},
    ).json()
    assert (moved["UserCategory"], moved["UserStatus"]) == ("OWNER", "PENDING_USER_ACTION")
    assert moved["PendingUserAction"]["RedirectUrl"]
    assert w.events()[-1] == "USER_ACCOUNT_VALIDATION_ASKED"


def an_owner_is_not_categorised_again(w: World) -> None:
    owner = w.owner()
    _refused(
        w.call(
            "PUT",
            f"/sca/users/natural/{owner['Id']}/category",
            {"UserCategory": "OWNER", "TermsAndConditionsAccepted": True, **IDENTITY},
        ),
        400,
        "not_allowed_for_user_category_owner",
    )


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
        answer = requests.post(
            f"{w.sim.base}/v2.01/{w.sim.client_id}/wallets",
            timeout=10,
            json={},
            headers={"Authorization": w.api.auth_manager.get_token(), "Idempotency-Key": key},
        )
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
    paths = [
        f"/wallets/{wallet}",
        f"/users/{owner['Id']}/wallets",
        f"/users/{owner['Id']}/transactions",
        f"/wallets/{wallet}/transactions",
    ]
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
    _refused(
        w.call("GET", f"/wallets/{w.wallet(owner['Id'])}", ScaContext="USER_NOT_PRESENT"), 403, "forbidden_ressource"
    )


RECIPIENT = {
    "DisplayName": "Ada EUR",
    "PayoutMethodType": "LocalBankTransfer",
    "RecipientType": "Individual",
    "Currency": "EUR",
    "Country": "FR",
    "IndividualRecipient": {
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Address": {"AddressLine1": "1 rue de la Paix", "City": "Paris", "PostalCode": "75002", "Country": "FR"},
    },
    "LocalBankTransfer": {"EUR": {"IBAN": IBAN_OK}},
}


def payout_methods_depend_on_the_route(w: World) -> None:
    local = w.call("GET", "/recipients/payout-methods", Country="FR", Currency="EUR").json()
    assert local == {"AvailablePayoutMethods": ["LocalBankTransfer", "InternationalBankTransfer"]}
    far = w.call("GET", "/recipients/payout-methods", Country="US", Currency="EUR").json()
    assert far == {"AvailablePayoutMethods": ["InternationalBankTransfer"]}
    schema = w.call(
        "GET",
        "/recipients/schema",
        PayoutMethodType="LocalBankTransfer",
        RecipientType="Individual",
        Currency="EUR",
        Country="FR",
    ).json()
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
        return w.call(
            "POST",
            "/payouts/bankwire",
            {
                "AuthorId": owner["Id"],
                "DebitedWalletId": wallet,
                "BankAccountId": account,
                "DebitedFunds": {"Currency": "EUR", "Amount": 100},
                "Fees": {"Currency": "EUR", "Amount": 0},
            },
        )

    _refused(payout(pending["Id"]), 400, "param_error", "BankAccountId")
    retired = payout(legacy["Id"]).json()
    assert (retired["Status"], retired["ResultCode"]) == ("FAILED", "121018")
    assert payout(active["Id"]).json()["Status"] == "CREATED" and w.sim.balance(wallet) == 900


def a_payin_to_an_unverified_owners_wallet_is_002951(w: World) -> None:
    def pay_into(owner: dict[str, Any]) -> dict[str, Any]:
        reg = w.call("POST", "/cardregistrations", {"UserId": owner["Id"], "Currency": "EUR"}).json()
        card = w.sim.complete_card_page(reg["Id"], CARD_OK)["CardId"]
        funds = {"Currency": "EUR", "Amount": 500}
        recurring = w.call(
            "POST",
            "/recurringpayinregistrations",
            {
                "AuthorId": owner["Id"],
                "CardId": card,
                "CreditedWalletId": w.wallet(owner["Id"]),
                "FirstTransactionDebitedFunds": funds,
                "FirstTransactionFees": {**funds, "Amount": 0},
            },
        ).json()
        return dict(
            w.call(
                "POST",
                "/payins/recurring/card/direct",
                {
                    "RecurringPayinRegistrationId": recurring["Id"],
                    "SecureModeReturnURL": "https://x.com",
                    "BrowserInfo": BROWSER,
                    "IpAddress": "127.0.0.1",
                },
            ).json()
        )

    refused = pay_into(w.owner(verified=False))
    assert (refused["Status"], refused["ResultCode"]) == ("FAILED", "002951")
    assert pay_into(w.owner())["Status"] == "SUCCEEDED" and pay_into(w.user())["Status"] == "SUCCEEDED"


def a_payout_the_bank_returns_is_refunded_to_the_wallet(w: World) -> None:
    owner = w.owner()
    wallet = w.wallet(owner["Id"], 1000)
    account = w.sim.register_bank_account(owner["Id"], currency="EUR")
    made = w.call(
        "POST",
        "/payouts/bankwire",
        {
            "AuthorId": owner["Id"],
            "DebitedWalletId": wallet,
            "BankAccountId": account["Id"],
            "DebitedFunds": {"Currency": "EUR", "Amount": 400},
            "Fees": {"Currency": "EUR", "Amount": 0},
        },
    ).json()
    w.sim.settle_payout(made["Id"])
    back = w.sim.return_payout(made["Id"], "BANKACCOUNT_HAS_BEEN_CLOSED")
    read = w.call("GET", f"/refunds/{back['Id']}").json()
    assert (read["Status"], read["InitialTransactionType"], read["InitialTransactionId"]) == (
        "SUCCEEDED",
        "PAYOUT",
        made["Id"],
    )
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
        api = APIRequest(
            client_id=small.client_id,
            apikey=small.api_key,
            api_url=small.base + "/v2.01/",
            api_sandbox_url=small.base + "/v2.01/",
            sandbox=False,
        )
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


# ---------------------------------------------------------------- cards: the tokenization server, recurring rules


def _registration(w: World, user: str | None = None) -> CardRegistration:
    """A Card Registration made through the SDK (CREATED, with its tokenization URL and keys)."""
    reg = CardRegistration(
        user=User(id=user or w.user()["Id"]), currency="EUR", card_type="CB_VISA_MASTERCARD", handler=w.api
    )
    reg.save()
    assert reg.status == "CREATED" and reg.card_registration_url and reg.access_key and reg.preregistration_data
    return reg


def _tokenize(reg: CardRegistration, number: str, expiry: str = "1229", cvx: str = "123") -> str:
    """What a browser gets from the tokenization server for the card page's form."""
    answer = requests.post(
        reg.card_registration_url,
        data={
            "accessKeyRef": reg.access_key,
            "data": reg.preregistration_data,
            "cardNumber": number,
            "cardExpirationDate": expiry,
            "cardCvx": cvx,
        },
        timeout=10,
    )
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/plain")
    return answer.text


def _saved(w: World, reg: CardRegistration, data: str) -> CardRegistration:
    """PUT RegistrationData through the SDK: the registration as Mangopay answers it."""
    reg.registration_data = data
    reg.save()
    return CardRegistration.get(reg.id, handler=w.api)


def tokenizing_then_putting_the_data_makes_the_card(w: World) -> None:
    reg = _registration(w)
    data = _tokenize(reg, CARD_OK)
    assert data.startswith("data=") and CARD_OK not in data  # a token, never the number
    done = _saved(w, reg, data)
    assert done.status == "VALIDATED" and done.result_code == "000000" and done.card.id
    card = w.call("GET", f"/cards/{done.card.id}").json()
    assert card["Validity"] == "UNKNOWN" and card["Alias"] == "497010XXXXXX1119" and card["ExpirationDate"] == "1229"


def tokenizer_errors_become_the_registrations_result_code(w: World) -> None:
    cases = {
        ("4970107111111118", "1229", "123"): ("errorCode=02625", "105202"),
        (CARD_OK, "1301", "123"): ("errorCode=02626", "105203"),
        (CARD_OK, "1229", "12"): ("errorCode=02627", "105204"),
    }
    for (number, expiry, cvx), (answer, code) in cases.items():
        reg = _registration(w)
        assert _tokenize(reg, number, expiry, cvx) == answer
        done = _saved(w, reg, answer)
        assert (done.status, done.result_code) == ("ERROR", code)
        assert w.call("GET", f"/cardregistrations/{reg.id}").json()["CardId"] is None


def registration_data_of_another_registration_is_105206(w: World) -> None:
    reg, other = _registration(w), _registration(w)
    data = _tokenize(other, CARD_OK)
    done = _saved(w, reg, data)
    assert (done.status, done.result_code) == ("ERROR", "105206")


def the_challenge_card_asks_for_3ds_on_a_cit(w: World) -> None:
    user = w.user()["Id"]
    card = _card(w, user, CARD_3DS)
    cit = _cit(w, _recurring(w, user, card, w.wallet(user)))
    assert cit["Status"] == "CREATED" and cit["SecureModeNeeded"] and cit["SecureModeRedirectURL"]
    page = requests.get(cit["SecureModeRedirectURL"], timeout=10)
    assert page.status_code == 200 and "<form" in page.text
    back = requests.post(cit["SecureModeRedirectURL"], data={"answer": "pass"}, allow_redirects=False, timeout=10)
    assert back.headers["Location"] == f"https://paybot.example/card/return?transactionId={cit['Id']}"
    assert w.call("GET", f"/payins/{cit['Id']}").json()["Status"] == "SUCCEEDED"
    assert w.call("GET", f"/cards/{card}").json()["Validity"] == "VALID"


def a_cit_gets_no_exemption(w: World) -> None:
    user = w.user()["Id"]
    cit = _cit(w, _recurring(w, user, _card(w, user, CARD_3DS), w.wallet(user)), SecureMode="NO_CHOICE")
    assert cit["Status"] == "CREATED" and cit["SecureModeNeeded"] and cit["SecureModeRedirectURL"]


def the_frictionless_card_needs_no_challenge(w: World) -> None:
    user = w.user()["Id"]
    cit = _cit(w, _recurring(w, user, _card(w, user, CARD_OK), w.wallet(user)))
    assert cit["Status"] == "SUCCEEDED" and not cit["SecureModeNeeded"]


def _card(w: World, user: str, number: str) -> str:
    reg = _registration(w, user)
    return str(_saved(w, reg, _tokenize(reg, number)).card.id)


def _recurring(w: World, user: str, card: str, wallet: str, **extra: Any) -> requests.Response:
    funds = {"Currency": "EUR", "Amount": 500}
    return w.call(
        "POST",
        "/recurringpayinregistrations",
        {
            "AuthorId": user,
            "CardId": card,
            "CreditedWalletId": wallet,
            "FirstTransactionDebitedFunds": funds,
            "FirstTransactionFees": {**funds, "Amount": 0},
            **extra,
        },
    )


def _cit(w: World, registration: requests.Response, **extra: Any) -> dict[str, Any]:
    assert registration.status_code == 200, registration.text
    return dict(
        w.call(
            "POST",
            "/payins/recurring/card/direct",
            {
                "RecurringPayinRegistrationId": registration.json()["Id"],
                "SecureModeReturnURL": "https://paybot.example/card/return",
                "BrowserInfo": BROWSER,
                "IpAddress": "2001:db8::1",
                **extra,
            },
        ).json()
    )


def a_recurring_registration_needs_a_valid_or_fresh_card(w: World) -> None:
    user = w.user()["Id"]
    wallet = w.wallet(user)
    stale, used = _card(w, user, CARD_OK), _card(w, user, CARD_OK)
    _cit(w, _recurring(w, user, used, wallet))  # its first payment: VALID
    w.clock.advance(timedelta(hours=24))
    _refused(_recurring(w, user, stale, wallet), 400, "param_error", "CardId")
    assert _recurring(w, user, used, wallet).status_code == 200


def a_cit_needs_every_browser_field_and_an_ip_address(w: World) -> None:
    user = w.user()["Id"]
    registration = _recurring(w, user, _card(w, user, CARD_OK), w.wallet(user)).json()["Id"]
    body = {
        "RecurringPayinRegistrationId": registration,
        "SecureModeReturnURL": "https://paybot.example/r",
        "IpAddress": "192.0.2.7",
    }
    for field in ("ColorDepth", "TimeZoneOffset", "UserAgent"):
        browser = {k: v for k, v in BROWSER.items() if k != field}
        _refused(
            w.call("POST", "/payins/recurring/card/direct", {**body, "BrowserInfo": browser}),
            400,
            "param_error",
            f"BrowserInfo.{field}",
        )
    _refused(
        w.call("POST", "/payins/recurring/card/direct", {**body, "BrowserInfo": BROWSER, "IpAddress": "nope"}),
        400,
        "param_error",
        "IpAddress",
    )
    _refused(
        w.call("POST", "/payins/recurring/card/direct", {**body, "IpAddress": None, "BrowserInfo": BROWSER}),
        400,
        "param_error",
        "IpAddress",
    )


def a_free_cycle_cit_debits_nothing(w: World) -> None:
    user = w.user()["Id"]
    wallet = w.wallet(user)
    registration = _recurring(w, user, _card(w, user, CARD_3DS), wallet, FreeCycles=1)
    sent = w.call(
        "POST",
        "/payins/recurring/card/direct",
        {
            "RecurringPayinRegistrationId": registration.json()["Id"],
            "SecureModeReturnURL": "https://p.example/r",
            "BrowserInfo": BROWSER,
            "IpAddress": "192.0.2.7",
            "DebitedFunds": {"Currency": "EUR", "Amount": 500},
        },
    )
    _refused(sent, 400, "param_error", "DebitedFunds")
    cit = _cit(w, registration)
    assert cit["DebitedFunds"]["Amount"] == 0 and cit["SecureModeNeeded"]  # no exemption: still authenticated
    w.sim.complete_3ds(cit["Id"])
    assert (
        w.call("GET", f"/recurringpayinregistrations/{registration.json()['Id']}").json()["Status"] == "IN_PROGRESS"
        and w.sim.balance(wallet) == 0
    )


def a_registration_serves_99_payins_then_205001(w: World) -> None:
    user = w.user()["Id"]
    registration = _recurring(w, user, _card(w, user, CARD_OK), w.wallet(user))
    _cit(w, registration)
    rid = registration.json()["Id"]
    with w.sim.lock:
        w.sim.objects[rid]["CurrentState"]["PayinsLinked"] = 98  # 98 made: the 99th is the last
    mit = {
        "RecurringPayinRegistrationId": rid,
        "DebitedFunds": {"Currency": "EUR", "Amount": 100},
        "Fees": {"Currency": "EUR", "Amount": 0},
    }
    assert w.call("POST", "/payins/recurring/card/direct", mit).json()["Status"] == "SUCCEEDED"
    refused = w.call("POST", "/payins/recurring/card/direct", mit).json()
    assert (refused["Status"], refused["ResultCode"]) == ("FAILED", "205001")


def a_declined_first_payment_makes_the_card_invalid(w: World) -> None:
    user = w.user()["Id"]
    card = _card(w, user, CARD_DECLINED)
    cit = _cit(w, _recurring(w, user, card, w.wallet(user)))
    assert (cit["Status"], cit["ResultCode"]) == ("FAILED", "101101")
    assert w.call("GET", f"/cards/{card}").json()["Validity"] == "INVALID"


@dataclass(frozen=True)
class Fact:
    says: str  # the fact, in our words
    page: str  # where Mangopay documents it, under mangopay-docs/
    check: Callable[[World], None]


FACTS = [
    Fact(
        "an Owner whose name is not a person's is refused, 400 fraud_policy (since 2026-02-19)",
        "SOURCE.md",
        an_owner_needs_a_persons_name,
    ),
    Fact(
        "an Owner whose e-mail is not a person's is refused, 400 fraud_policy (since 2026-02-19)",
        "SOURCE.md",
        an_owner_needs_a_persons_email,
    ),
    Fact(
        "fraud_policy's answer: its Message, errors null",
        "guides/users/types.mdx",
        lambda w: _fraud_policy(
            w.call(
                "POST",
                "/sca/users/natural",
                {
                    "FirstName": "undefined",
                    "LastName": "Martin",
                    "Email": "a@example.org",
                    "UserCategory": "OWNER",
                    "TermsAndConditionsAccepted": True,
                    **IDENTITY,
                },
            )
        ),
    ),
    Fact("an Owner needs a Birthday", "api-reference/users/categorize-natural-user.mdx", owner_needs("Birthday")),
    Fact("an Owner needs a Nationality", "api-reference/users/categorize-natural-user.mdx", owner_needs("Nationality")),
    Fact(
        "an Owner needs a CountryOfResidence",
        "api-reference/users/categorize-natural-user.mdx",
        owner_needs("CountryOfResidence"),
    ),
    Fact(
        "categorising a Payer as Owner always answers an SCA enrolment link, PENDING_USER_ACTION",
        "guides/sca/session.mdx",
        categorising_asks_for_enrolment,
    ),
    Fact(
        "an Owner is not categorised again (not_allowed_for_user_category_owner)",
        "api-reference/users/categorize-natural-user.mdx",
        an_owner_is_not_categorised_again,
    ),
    Fact(
        "a Payer is not enrolled (not_allowed_for_user_category_payer)",
        "api-reference/users/enroll-user.mdx",
        a_payer_is_not_enrolled,
    ),
    Fact(
        "enrolling an Owner again gives a new link and leaves UserStatus as it is",
        "api-reference/users/enroll-user.mdx",
        enrolling_again_gives_a_new_link_and_keeps_the_status,
    ),
    Fact(
        "a completed enrolment makes the Owner ACTIVE (USER_ACCOUNT_ACTIVATED)",
        "guides/sca/users.mdx",
        enrolment_makes_the_owner_active,
    ),
    Fact(
        "an unenrolled Owner's transfer that needs SCA is refused (002704)",
        "guides/sca/users.mdx",
        an_unenrolled_owner_cannot_author_a_transfer_that_needs_sca,
    ),
    Fact(
        "an SCA session lasts 10 minutes; the user then stays PENDING_USER_ACTION",
        "guides/sca/session.mdx",
        sca_sessions_last_ten_minutes,
    ),
    Fact(
        "the SCA page needs the platform's percent-encoded returnUrl",
        "guides/sca/session.mdx",
        the_sca_page_needs_an_encoded_return_url,
    ),
    Fact(
        "a transfer's SCA not done in 10 minutes fails 007102",
        "guides/sca/transfers.mdx",
        a_lapsed_transfer_approval_is_007102,
    ),
    Fact("a transfer's failed SCA fails 007101", "errors/codes/007101.mdx", a_failed_transfer_approval_is_007101),
    Fact("a transfer to an unverified Owner fails 002951", "SOURCE.md", a_transfer_to_an_unverified_owner_is_002951),
    Fact(
        "a transfer beyond the wallet's balance fails 001001",
        "errors/codes/001001.mdx",
        a_transfer_beyond_the_balance_is_001001,
    ),
    Fact(
        "an Idempotency-Key is 16 to 36 letters, digits or dashes",
        "api-reference/overview/idempotency.mdx",
        idempotency_keys_are_16_to_36_characters,
    ),
    Fact(
        "a key used again within 24 hours is blocked with a 409",
        "api-reference/overview/idempotency.mdx",
        a_reused_key_is_blocked_with_409_for_24_hours,
    ),
    Fact(
        "a list gives at most 100 items a page", "api-reference/overview/pagination.mdx", lists_give_at_most_100_a_page
    ),
    Fact(
        "an Owner's wallet access needs their SCA every 180 days: 401, the link in WWW-Authenticate",
        "guides/sca/wallets.mdx",
        an_owners_wallet_access_needs_sca_every_180_days,
    ),
    Fact("a Payer's wallet access needs no SCA", "guides/sca/wallets.mdx", a_payers_wallet_needs_no_sca),
    Fact(
        "USER_NOT_PRESENT wallet access without proxy consent is a 403",
        "guides/sca/wallets.mdx",
        wallet_access_without_the_user_needs_their_proxy_consent,
    ),
    Fact(
        "payout methods depend on the country and currency; each has its schema",
        "api-reference/recipients/view-payout-methods.mdx",
        payout_methods_depend_on_the_route,
    ),
    Fact(
        "a payout Recipient is PENDING until its Owner passes SCA, then ACTIVE (RECIPIENT_ACTIVE)",
        "guides/sca/recipients.mdx",
        a_recipient_is_pending_until_its_owner_passes_sca,
    ),
    Fact(
        "a Recipient whose SCA fails or lapses is CANCELED (RECIPIENT_CANCELED)",
        "guides/sca/session.mdx",
        a_recipient_whose_sca_fails_or_lapses_is_canceled,
    ),
    Fact(
        "a Payer cannot register a payout Recipient",
        "api-reference/recipients/create-recipient.mdx",
        a_payer_has_no_payout_recipient,
    ),
    Fact(
        "a Recipient's account details are checked, on validate and on create, error by field",
        "api-reference/recipients/validate-recipient-data.mdx",
        a_recipients_account_details_are_checked,
    ),
    Fact(
        "payouts go to ACTIVE Recipients; a Bank Account created after 30 April 2026 fails 121018",
        "SOURCE.md",
        payouts_go_to_active_recipients_not_new_bank_accounts,
    ),
    Fact(
        "a pay-in credited to an unverified Owner's wallet fails 002951 (since 2026-06-24)",
        "SOURCE.md",
        a_payin_to_an_unverified_owners_wallet_is_002951,
    ),
    Fact(
        "a payout the bank sends back after success is refunded to the wallet (PAYOUT_REFUND_*)",
        "guides/payouts/rejects-returns.mdx",
        a_payout_the_bank_returns_is_refunded_to_the_wallet,
    ),
    Fact(
        "events are listed one EventType a request, for 45 days after their date",
        "api-reference/overview/data-availability-periods.mdx",
        events_are_listed_by_type_for_45_days,
    ),
    Fact(
        "beyond 2,300 calls in 15 minutes: 429 rate_limit, with X-RateLimit headers",
        "api-reference/overview/rate-limiting.mdx",
        calls_beyond_2300_in_15_minutes_are_429_rate_limit,
    ),
    Fact(
        "the card page takes Mangopay's frictionless test card",
        "testing/payment-methods.mdx",
        card_pages_are_mangopays_test_cards,
    ),
    Fact(
        "the tokenization server answers data=<token> and the PUT of RegistrationData makes the Card",
        "api-reference/card-registrations/tokenize-card.mdx",
        tokenizing_then_putting_the_data_makes_the_card,
    ),
    Fact(
        "a bad card number, expiry date or CVV is errorCode=02625/02626/02627, then 105202/105203/105204",
        "errors/codes/105202.mdx",
        tokenizer_errors_become_the_registrations_result_code,
    ),
    Fact(
        "RegistrationData that is not this registration's token is 105206",
        "errors/codes/105206.mdx",
        registration_data_of_another_registration_is_105206,
    ),
    Fact(
        "4970105181818183 asks for a 3DS challenge; passed, the card is VALID",
        "testing/payment-methods.mdx",
        the_challenge_card_asks_for_3ds_on_a_cit,
    ),
    Fact(
        "no exemption on a CIT: the challenge card is asked even when NO_CHOICE asks for one",
        "guides/payment-methods/card/recurring.mdx",
        a_cit_gets_no_exemption,
    ),
    Fact(
        "4970107111111119 passes 3DS frictionless",
        "testing/payment-methods.mdx",
        the_frictionless_card_needs_no_challenge,
    ),
    Fact(
        "a recurring registration needs a card VALID or registered less than 24 hours ago",
        "guides/payment-methods/card/recurring/how-to.mdx",
        a_recurring_registration_needs_a_valid_or_fresh_card,
    ),
    Fact(
        "a CIT needs BrowserInfo (every field) and the IpAddress",
        "snippets/p-body/BrowserInfo.mdx",
        a_cit_needs_every_browser_field_and_an_ip_address,
    ),
    Fact(
        "a free cycle's pay-in sends no DebitedFunds and debits nothing; the CIT is still authenticated",
        "snippets/p-body/FreeCycles.mdx",
        a_free_cycle_cit_debits_nothing,
    ),
    Fact(
        "one recurring registration serves 99 pay-ins; the next fails 205001",
        "errors/codes/205001.mdx",
        a_registration_serves_99_payins_then_205001,
    ),
    Fact(
        "a failed first payment makes the card INVALID",
        "snippets/object-attributes/Validity.mdx",
        a_declined_first_payment_makes_the_card_invalid,
    ),
]


@pytest.fixture
def world() -> Iterator[World]:
    sim = MangopaySim(FakeClock())
    sim.start()
    api = APIRequest(
        client_id=sim.client_id,
        apikey=sim.api_key,
        api_url=sim.base + "/v2.01/",
        api_sandbox_url=sim.base + "/v2.01/",
        sandbox=False,
    )
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
