"""The Mangopay emulator, judged by the official SDK (mangopay4-python-sdk): its models parse every answer,
its errors carry Mangopay's error report. Also, on raw HTTP: idempotency (16-36 characters, a second use
blocked with 409 and never replayed, the first answer read at /responses/{key}, forgotten after 24 hours
of the emulator's clock), pagination headers, error bodies, event filters, faults and the control API.
Nothing leaves 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import requests
from mangopay.api import APIRequest
from mangopay.exceptions import APIError
from mangopay.query import SelectQuery
from mangopay.resources import (
    CardRegistration,
    Event,
    IdempotencyResponse,
    NaturalUserSca,
    PayIn,
    PayInRefund,
    RecurringCardPayIn,
    RecurringPayInRegistration,
    Transaction,
    Transfer,
    User,
    Wallet,
)
from mangopay.utils import BrowserInfo, Money

from bot.ports import FakeClock
from bot.sims.mangopay import (
    CARD_3DS,
    CARD_DECLINED,
    CARD_OK,
    DROP,
    PAGE_LIFETIME,
    SCA_SESSION_LIFETIME,
    MangopaySim,
)


@pytest.fixture
def sim() -> Iterator[MangopaySim]:
    s = MangopaySim(FakeClock())
    s.start()
    yield s
    s.stop()


@pytest.fixture
def api(sim: MangopaySim) -> APIRequest:
    """The SDK's client, on the emulator (never the process-wide default handler, which is Mangopay's)."""
    return APIRequest(
        client_id=sim.client_id,
        apikey=sim.api_key,
        api_url=sim.base + "/v2.01/",
        api_sandbox_url=sim.base + "/v2.01/",
        sandbox=False,
    )


def clock(sim: MangopaySim) -> FakeClock:
    assert isinstance(sim.clock, FakeClock)
    return sim.clock


def raw(
    sim: MangopaySim,
    api: APIRequest,
    method: str,
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
    **params: Any,
) -> requests.Response:
    headers = {"Authorization": api.auth_manager.get_token()}
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.request(
        method, f"{sim.base}/v2.01/{sim.client_id}{path}", json=body, params=params, headers=headers, timeout=10
    )


def user(api: APIRequest, category: str = "PAYER", key: str | None = None) -> NaturalUserSca:
    owner = category == "OWNER"  # an Owner's identity is required (Birthday, Nationality, CountryOfResidence)
    u = NaturalUserSca(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.org",
        user_category=category,
        terms_and_conditions_accepted=owner,
        handler=api,
        birthday=date(1990, 12, 10) if owner else None,
        nationality="FR" if owner else None,
        country_of_residence="FR" if owner else None,
    )
    u.save(idempotency_key=key)
    return u


def wallet(api: APIRequest, owner: str, currency: str = "EUR") -> Wallet:
    w = Wallet(owners_ids=[owner], description="test", currency=currency, handler=api)
    w.save()
    return w


def card(sim: MangopaySim, api: APIRequest, owner: str, number: str = CARD_OK) -> str:
    reg = CardRegistration(user_id=owner, currency="EUR", card_type="CB_VISA_MASTERCARD", handler=api)
    reg.save()
    assert reg.status == "CREATED" and reg.access_key and reg.preregistration_data and reg.card_registration_url
    sim.complete_card_page(reg.id, number)
    done = CardRegistration.get(reg.id, handler=api)
    assert done.status == "VALIDATED" and done.card_id
    return str(done.card_id)


def recurring(
    api: APIRequest, owner: str, card_id: str, wallet_id: str, amount: int = 500
) -> RecurringPayInRegistration:
    reg = RecurringPayInRegistration(
        author_id=owner,
        card_id=card_id,
        user_id=owner,
        credited_wallet_id=wallet_id,
        first_transaction_debited_funds=Money(amount, "EUR"),
        first_transaction_fees=Money(0, "EUR"),
        handler=api,
    )
    reg.save()
    return reg


BROWSER = BrowserInfo(
    accept_header="text/html",
    java_enabled=False,
    javascript_enabled=True,
    language="en",
    color_depth=24,
    screen_height=800,
    screen_width=400,
    timezone_offset=0,
    user_agent="test",
)


def payin(
    api: APIRequest, registration: str, amount: int = 500, *, cit: bool, key: str | None = None, tag: str | None = None
) -> RecurringCardPayIn:
    p = RecurringCardPayIn(
        recurring_payin_registration_id=registration,
        debited_funds=Money(amount, "EUR"),
        fees=Money(0, "EUR"),
        tag=tag,
        handler=api,
        **(
            {"secure_mode_return_url": "https://x.com/messages", "ip_address": "127.0.0.1", "browser_info": BROWSER}
            if cit
            else {}
        ),
    )
    p.save(idempotency_key=key)
    return p


def funded(sim: MangopaySim, api: APIRequest, amount: int = 500) -> tuple[str, str]:
    """A PAYER with a wallet holding `amount` (paid in by card); returns (user id, wallet id)."""
    payer = user(api)
    w = wallet(api, payer.id)
    reg = recurring(api, payer.id, card(sim, api, payer.id), w.id, amount)
    assert payin(api, reg.id, amount, cit=True).status == "SUCCEEDED"
    return str(payer.id), str(w.id)


def verified_owner(sim: MangopaySim, api: APIRequest) -> tuple[str, str]:
    owner = user(api, "OWNER")
    assert owner.user_category == "OWNER" and owner.kyc_level == "LIGHT" and owner.terms_and_conditions_accepted
    sim.enrol(owner.id)  # the Owner completes the SCA enrolment their registration opened
    w = wallet(api, owner.id)
    session = raw(sim, api, "POST", f"/users/{owner.id}/identity-verifications", {"ReturnUrl": "https://x.com"})
    assert session.status_code == 200 and session.json()["Status"] == "PENDING" and session.json()["HostedUrl"]
    sim.pass_kyc(session.json()["Id"])
    assert User.get_sca(owner.id, handler=api).kyc_level == "REGULAR"
    return str(owner.id), str(w.id)


def transfer(
    api: APIRequest, author: str, source: str, target_user: str, target: str, amount: int = 500, **extra: Any
) -> Transfer:
    t = Transfer(
        author_id=author,
        credited_user_id=target_user,
        debited_funds=Money(amount, "EUR"),
        fees=Money(0, "EUR"),
        debited_wallet_id=source,
        credited_wallet_id=target,
        handler=api,
        **extra,
    )
    t.save()
    return t


# ---------------------------------------------------------------- authentication, errors


def test_the_sdk_takes_a_token_with_basic_auth_and_a_wrong_key_is_refused_with_a_report(
    sim: MangopaySim, api: APIRequest
) -> None:
    assert api.auth_manager.get_token().startswith("Bearer ")
    wrong = APIRequest(
        client_id=sim.client_id,
        apikey="not-the-key",
        api_url=sim.base + "/v2.01/",
        api_sandbox_url=sim.base + "/v2.01/",
        sandbox=False,
    )
    with pytest.raises(APIError) as caught:
        wrong.auth_manager.get_token()
    assert caught.value.code == 401 and set(caught.value.content) == {"Message", "Type", "Id", "Date", "errors"}
    token = {"Authorization": api.auth_manager.get_token()}
    other_client = requests.get(f"{sim.base}/v2.01/someone-else/clients", headers=token, timeout=10)
    assert other_client.status_code == 401
    assert requests.get(f"{sim.base}/v2.01/{sim.client_id}/clients", timeout=10).status_code == 401
    sim.forget_tokens()  # expired: the SDK does not refresh on a 401 by itself
    with pytest.raises(APIError) as expired:
        PayIn.get("1", handler=api)
    assert expired.value.code == 401


def test_a_missing_resource_is_a_404_report_the_sdk_reads_as_does_not_exist(sim: MangopaySim, api: APIRequest) -> None:
    with pytest.raises(PayIn.DoesNotExist):
        PayIn.get("404404", handler=api)
    body = raw(sim, api, "GET", "/payins/404404").json()
    assert body["Type"] == "ressource_not_found" and isinstance(body["Date"], int) and "#" in body["Id"]
    assert body["errors"]["RessourceNotFound"]
    assert raw(sim, api, "GET", "/no/such/path").status_code == 404
    assert raw(sim, api, "DELETE", "/wallets/1").status_code == 405


def test_a_refused_parameter_is_a_400_param_error_with_the_field(sim: MangopaySim, api: APIRequest) -> None:
    with pytest.raises(APIError) as caught:
        NaturalUserSca(
            first_name="A",
            last_name="B",
            email="a@b.org",
            user_category="OWNER",
            terms_and_conditions_accepted=False,
            handler=api,
        ).save()
    assert caught.value.code == 400
    assert caught.value.content["Type"] == "param_error"
    assert "TermsAndConditionsAccepted" in caught.value.content["errors"]


# ---------------------------------------------------------------- users, wallets, cards, pay-ins


def test_a_payer_becomes_an_owner_then_regular_through_the_hosted_identity_verification(
    sim: MangopaySim, api: APIRequest
) -> None:
    payer = user(api)
    assert (payer.user_category, payer.kyc_level, payer.person_type) == ("PAYER", "LIGHT", "NATURAL")
    assert isinstance(payer.creation_date, datetime)
    refused = raw(sim, api, "POST", f"/users/{payer.id}/identity-verifications", {"ReturnUrl": "https://x.com"})
    assert refused.status_code == 400  # only an OWNER can be verified
    moved = raw(
        sim,
        api,
        "PUT",
        f"/sca/users/natural/{payer.id}/category",
        {
            "UserCategory": "OWNER",
            "TermsAndConditionsAccepted": True,
            "Birthday": 652117514,
            "Nationality": "FR",
            "CountryOfResidence": "FR",
        },
    )
    assert moved.status_code == 200 and moved.json()["UserCategory"] == "OWNER"
    sim.enrol(payer.id)
    session = raw(sim, api, "POST", f"/users/{payer.id}/identity-verifications", {"ReturnUrl": "https://x.com"})
    [pending] = sim.open_kyc(payer.id)
    assert pending["Id"] == session.json()["Id"] and requests.get(session.json()["HostedUrl"], timeout=10).ok
    sim.pass_kyc(pending["Id"])
    again = User.get_sca(payer.id, handler=api)
    assert (again.user_category, again.kyc_level) == ("OWNER", "REGULAR")
    for kind in ("IDENTITY_VERIFICATION_VALIDATED", "USER_KYC_REGULAR"):
        assert [e.event_type for e in Event.all(handler=api, EventType=kind, Sort="Date:ASC", per_page=100)] == [kind]
    assert [e["EventType"] for e in sim.events][-2:] == ["IDENTITY_VERIFICATION_VALIDATED", "USER_KYC_REGULAR"]


def test_a_frictionless_card_pays_in_by_cit_then_mit_and_the_wallet_holds_it(sim: MangopaySim, api: APIRequest) -> None:
    payer = user(api)
    w = wallet(api, payer.id)
    assert Wallet.get(w.id, handler=api).balance.amount == 0
    reg = recurring(api, payer.id, card(sim, api, payer.id), w.id)
    assert reg.status == "CREATED"
    with pytest.raises(APIError) as early:  # an MIT needs a successful CIT first
        payin(api, reg.id, cit=False)
    assert early.value.code == 400
    first = payin(api, reg.id, cit=True, tag="pay:1")
    assert (first.status, first.secure_mode_needed, first.tag) == ("SUCCEEDED", False, "pay:1")
    assert RecurringPayInRegistration.get(reg.id, handler=api).status == "IN_PROGRESS"
    second = payin(api, reg.id, 250, cit=False)
    assert second.status == "SUCCEEDED" and int(second.debited_funds.amount) == 250
    read = PayIn.get(second.id, handler=api)
    assert (read.payment_type, read.execution_type, read.type, read.nature) == ("CARD", "DIRECT", "PAYIN", "REGULAR")
    assert int(Wallet.get(w.id, handler=api).balance.amount) == 750 == sim.balance(w.id)


def test_a_challenge_card_waits_on_3ds_and_its_mits_need_the_cardholder_again(
    sim: MangopaySim, api: APIRequest
) -> None:
    payer = user(api)
    w = wallet(api, payer.id)
    reg = recurring(api, payer.id, card(sim, api, payer.id, CARD_3DS), w.id)
    cit = payin(api, reg.id, cit=True)
    assert cit.status == "CREATED" and cit.secure_mode_needed and cit.secure_mode_redirect_url
    assert requests.get(cit.secure_mode_redirect_url, timeout=10).ok
    assert [p["Id"] for p in sim.open_3ds(payer.id)] == [cit.id]
    sim.complete_3ds(cit.id)
    assert PayIn.get(cit.id, handler=api).status == "SUCCEEDED" and sim.balance(w.id) == 500
    mit = payin(api, reg.id, cit=False)
    assert (mit.status, mit.result_code) == ("FAILED", "101399")
    assert RecurringPayInRegistration.get(reg.id, handler=api).status == "AUTHENTICATION_NEEDED"
    lapsing = payin(api, reg.id, cit=True)
    clock(sim).advance(PAGE_LIFETIME)
    assert (PayIn.get(lapsing.id, handler=api).status, sim.open_3ds()) == ("FAILED", [])


def test_a_declined_card_fails_the_pay_in_with_its_result_code(sim: MangopaySim, api: APIRequest) -> None:
    payer = user(api)
    w = wallet(api, payer.id)
    refused = payin(api, recurring(api, payer.id, card(sim, api, payer.id, CARD_DECLINED), w.id).id, cit=True)
    assert (refused.status, refused.result_code) == ("FAILED", "101101") and sim.balance(w.id) == 0


# ---------------------------------------------------------------- transfers and refunds


def test_transfers_reach_verified_owners_only(sim: MangopaySim, api: APIRequest) -> None:
    payer, source = funded(sim, api, 900)
    other_payer = user(api)
    to_payer = transfer(api, payer, source, other_payer.id, wallet(api, other_payer.id).id)
    assert (to_payer.status, to_payer.result_code) == ("FAILED", "002702")
    light = user(api, "OWNER")
    to_light = transfer(api, payer, source, light.id, wallet(api, light.id).id)
    assert (to_light.status, to_light.result_code) == ("FAILED", "002951")
    owner, target = verified_owner(sim, api)
    done = transfer(api, payer, source, owner, target, tag="release:1")
    assert (done.status, done.pending_user_action, done.tag) == ("SUCCEEDED", None, "release:1")
    assert (sim.balance(source), sim.balance(target)) == (400, 500)
    too_much = transfer(api, payer, source, owner, target, 500)
    assert (too_much.status, too_much.result_code) == ("FAILED", "001001")


def test_a_transfer_between_owners_waits_for_the_authors_sca(sim: MangopaySim, api: APIRequest) -> None:
    owner, source = verified_owner(sim, api)
    reg = recurring(api, owner, card(sim, api, owner), source)
    assert payin(api, reg.id, 1000, cit=True).status == "SUCCEEDED"
    other, target = verified_owner(sim, api)
    with pytest.raises(APIError) as proxy:
        transfer(api, owner, source, other, target, sca_context="USER_NOT_PRESENT")
    assert proxy.value.code == 403  # no consent to act for the user
    waiting = transfer(api, owner, source, other, target, sca_context="USER_PRESENT")
    assert waiting.status == "CREATED" and waiting.pending_user_action.redirect_url
    assert sim.balance(target) == 0
    sim.approve_sca(waiting.id)
    assert Transfer.get(waiting.id, handler=api).status == "SUCCEEDED" and sim.balance(target) == 500
    lapsing = transfer(api, owner, source, other, target)  # USER_PRESENT by default
    clock(sim).advance(SCA_SESSION_LIFETIME)
    assert Transfer.get(lapsing.id, handler=api).status == "FAILED" and sim.balance(source) == 500
    assert "TRANSFER_NORMAL_FAILED" in [e["EventType"] for e in sim.events]


def test_a_pay_in_refund_takes_the_money_from_the_wallet_back_to_the_card(sim: MangopaySim, api: APIRequest) -> None:
    payer, source = funded(sim, api, 1000)
    [paid] = [p for p in sim.of_kind("payin") if p["Status"] == "SUCCEEDED"]
    refund = PayInRefund(
        author_id=payer,
        debited_funds=Money(400, "EUR"),
        fees=Money(0, "EUR"),
        payin_id=paid["Id"],
        tag="return:1",
        handler=api,
    )
    refund.save()
    assert (refund.status, refund.nature, refund.initial_transaction_id) == ("SUCCEEDED", "REFUND", paid["Id"])
    assert sim.balance(source) == 600
    over = raw(
        sim,
        api,
        "POST",
        f"/payins/{paid['Id']}/refunds",
        {"AuthorId": payer, "DebitedFunds": {"Currency": "EUR", "Amount": 700}},
    )
    assert over.status_code == 400 and over.json()["Type"] == "param_error"
    kinds = {(t.type, t.nature, t.status) for t in Transaction.all(handler=api, user_id=payer, per_page=100)}
    assert kinds == {("PAYIN", "REGULAR", "SUCCEEDED"), ("PAYOUT", "REFUND", "SUCCEEDED")}


# ---------------------------------------------------------------- idempotency


def test_a_second_post_with_a_key_is_blocked_with_409_and_the_first_answer_is_read_at_responses(
    sim: MangopaySim, api: APIRequest
) -> None:
    key = "8c1f3b9e-3b0a-4f6e-9a55-5f0d2b1c7e01"
    first = user(api, key=key)
    with pytest.raises(APIError) as blocked:
        user(api, key=key)
    assert blocked.value.code == 409
    assert blocked.value.content["Type"] == "idempotent_creation_conflict" and blocked.value.content["errors"] is None
    assert len(sim.of_kind("user")) == 1  # blocked, not replayed: nothing made the second time
    stored = SelectQuery(IdempotencyResponse).get(key, handler=api)  # the SDK reads .../responses//KEY
    assert stored.status == "200" and stored.resource["Id"] == first.id
    assert stored.content_type.startswith("application/json")
    assert raw(sim, api, "GET", f"/responses/{key}").json()["RequestURL"].endswith("/sca/users/natural")
    failed = "f" * 16  # a key is spent whatever its first answer was
    assert (
        raw(
            sim, api, "POST", "/wallets", {"Owners": ["nobody"], "Description": "d", "Currency": "EUR"}, key=failed
        ).status_code
        == 404
    )
    assert (
        raw(
            sim, api, "POST", "/wallets", {"Owners": [first.id], "Description": "d", "Currency": "EUR"}, key=failed
        ).status_code
        == 409
    )
    assert raw(sim, api, "GET", f"/responses/{failed}").json()["StatusCode"] == "404"


@pytest.mark.parametrize("key", ["a" * 15, "a" * 37, "abc_defghijklmnop", "abc defghijklmnop", "clé-1234567890abcd"])
def test_a_key_that_is_not_16_to_36_letters_digits_or_dashes_is_refused(
    sim: MangopaySim, api: APIRequest, key: str
) -> None:
    with pytest.raises(APIError) as caught:
        user(api, key=key)
    assert caught.value.code == 400 and "Idempotency-Key" in caught.value.content["errors"]
    assert sim.of_kind("user") == []


def test_keys_are_kept_24_hours_on_the_emulators_clock(sim: MangopaySim, api: APIRequest) -> None:
    key = "0123456789abcdef0123"
    first = user(api, key=key)
    clock(sim).advance(timedelta(hours=23, minutes=59))
    assert raw(sim, api, "GET", f"/responses/{key}").status_code == 200
    with pytest.raises(APIError):
        user(api, key=key)
    clock(sim).advance(timedelta(minutes=1))
    assert raw(sim, api, "GET", f"/responses/{key}").status_code == 404  # forgotten
    again = user(api, key=key)  # a new request: Mangopay no longer knows the key
    assert again.id != first.id and len(sim.of_kind("user")) == 2


def test_a_post_while_the_first_with_its_key_runs_is_blocked(sim: MangopaySim, api: APIRequest) -> None:
    key = "in-flight-0000000001"
    entered, release = threading.Event(), threading.Event()

    def hold(record: dict[str, Any]) -> None:
        if record["key"] == key and not entered.is_set():
            entered.set()
            release.wait(30)

    sim.on_execute = hold
    done: list[Any] = []
    worker = threading.Thread(target=lambda: done.append(user(api, key=key)))
    worker.start()
    try:
        assert entered.wait(30)
        second = raw(
            sim,
            api,
            "POST",
            "/sca/users/natural",
            {"FirstName": "A", "LastName": "B", "Email": "a@b.org", "UserCategory": "PAYER"},
            key=key,
        )
        assert second.status_code == 409
        assert raw(sim, api, "GET", f"/responses/{key}").status_code == 404  # no answer yet
    finally:
        release.set()
        worker.join(30)
    assert done and len(sim.of_kind("user")) == 1


def test_faults_a_5xx_spends_the_key_a_429_does_not_and_drop_answers_nothing_after_the_work(
    sim: MangopaySim, api: APIRequest
) -> None:
    body = {"FirstName": "A", "LastName": "B", "Email": "a@b.org", "UserCategory": "PAYER"}
    sim.inject("POST /sca/users/natural", 500, work=True)
    assert raw(sim, api, "POST", "/sca/users/natural", body, key="k500-k500-k500-k500").status_code == 500
    assert len(sim.of_kind("user")) == 1  # the work was done before it failed
    assert raw(sim, api, "GET", "/responses/k500-k500-k500-k500").json()["StatusCode"] == "500"
    sim.inject("POST /sca/users/natural", 503)
    assert raw(sim, api, "POST", "/sca/users/natural", body, key="k503-k503-k503-k503").status_code == 503
    assert len(sim.of_kind("user")) == 1
    sim.inject("POST /sca/users/natural", 429)
    assert raw(sim, api, "POST", "/sca/users/natural", body, key="k429-k429-k429-k429").status_code == 429
    assert raw(sim, api, "POST", "/sca/users/natural", body, key="k429-k429-k429-k429").status_code == 200
    sim.inject("POST /sca/users/natural", DROP)
    with pytest.raises(APIError) as dropped:  # the SDK reads a closed connection as an error with no code
        user(api, key="kdrop-kdrop-kdrop-kd")
    assert dropped.value.code is None
    stored = raw(sim, api, "GET", "/responses/kdrop-kdrop-kdrop-kd").json()
    assert stored["StatusCode"] == "200" and stored["Resource"]["Id"] == sim.of_kind("user")[-1]["Id"]


# ---------------------------------------------------------------- lists and events


def test_lists_are_paged_with_mangopays_headers_and_sorted(sim: MangopaySim, api: APIRequest) -> None:
    for _ in range(25):
        user(api)
    first = Event.all(handler=api, EventType="USER_CREATED", per_page=10, page=1, Sort="Date:ASC")
    assert (len(first), first.total_pages, first.total_items) == (10, "3", "25")
    last = raw(sim, api, "GET", "/events", EventType="USER_CREATED", per_page=10, page=3)
    assert len(last.json()) == 5 and last.headers["X-Number-Of-Items"] == "25" and 'rel="next"' in last.headers["Link"]
    assert raw(sim, api, "GET", "/events", EventType="USER_CREATED", per_page=101).status_code == 400
    assert raw(sim, api, "GET", "/events", EventType="USER_CREATED", page=0).status_code == 400
    assert raw(sim, api, "GET", "/events", per_page=10).status_code == 400  # one EventType is required
    newest = raw(sim, api, "GET", "/events", EventType="USER_CREATED", per_page=1).json()[0]  # newest first
    assert newest["ResourceId"] == sim.of_kind("user")[-1]["Id"]
    oldest = raw(sim, api, "GET", "/events", EventType="USER_CREATED", per_page=1, Sort="Date:ASC").json()[0]
    assert oldest["ResourceId"] == sim.of_kind("user")[0]["Id"]


def test_events_name_their_resource_and_filter_by_type_and_date(sim: MangopaySim, api: APIRequest) -> None:
    t0 = int(clock(sim).now().timestamp())
    funded(sim, api)
    clock(sim).advance(timedelta(seconds=10))
    funded(sim, api)
    succeeded = Event.all(handler=api, EventType="PAYIN_NORMAL_SUCCEEDED", per_page=100, Sort="Date:ASC")
    assert len(succeeded) == 2 and {e.event_type for e in succeeded} == {"PAYIN_NORMAL_SUCCEEDED"}
    assert PayIn.get(succeeded[0].resource_id, handler=api).status == "SUCCEEDED"  # a hint: fetch the resource
    later = raw(sim, api, "GET", "/events", EventType="PAYIN_NORMAL_SUCCEEDED", AfterDate=t0, per_page=100).json()
    assert [e["Date"] for e in later] == [t0 + 10]
    earlier = raw(
        sim, api, "GET", "/events", EventType="PAYIN_NORMAL_SUCCEEDED", BeforeDate=t0 + 10, per_page=100
    ).json()
    assert earlier and all(e["Date"] == t0 for e in earlier) and set(earlier[0]) == {"ResourceId", "EventType", "Date"}


def test_the_control_api_plays_the_people_over_http(sim: MangopaySim, api: APIRequest) -> None:
    payer = user(api)
    w = wallet(api, payer.id)
    reg = CardRegistration(user_id=payer.id, currency="EUR", handler=api)
    reg.save()
    assert requests.post(f"{sim.base}/_sim/card/{reg.id}", json={"card": CARD_3DS}, timeout=10).ok
    card_id = CardRegistration.get(reg.id, handler=api).card_id
    cit = payin(api, recurring(api, payer.id, card_id, w.id).id, cit=True)
    assert requests.post(f"{sim.base}/_sim/3ds/{cit.id}", json={}, timeout=10).json()["Status"] == "SUCCEEDED"
    assert requests.post(f"{sim.base}/_sim/3ds/{cit.id}", json={}, timeout=10).status_code == 400
    assert requests.post(f"{sim.base}/_sim/fault/next", json={"route": "POST /wallets", "status": 503}, timeout=10).ok
    assert (
        raw(sim, api, "POST", "/wallets", {"Owners": [payer.id], "Description": "d", "Currency": "EUR"}).status_code
        == 503
    )
    before = clock(sim).now()
    assert requests.post(f"{sim.base}/_sim/clock/now", json={"advance": 3600}, timeout=10).ok
    assert clock(sim).now() - before == timedelta(hours=1)
    assert requests.post(f"{sim.base}/_sim/nothing/1", json={}, timeout=10).status_code == 404
