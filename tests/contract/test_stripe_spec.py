"""The Stripe emulator judged by Stripe's own API description.

The adapter runs the flows paybot uses (cards, held payments, onboarding and
release, refunds, SCA through Checkout, declines, events, lookups, disputes,
errors) against the emulator while every exchange on Stripe's API is
recorded. Each request the adapter sent and each answer the emulator gave is
then checked against Stripe's published OpenAPI description
(tests/specs/stripe-openapi-2023-08-16.json), and each object answered is
checked against Stripe's example of that resource (tests/specs/stripe-fixtures3.json).

Stripe's request bodies are form-encoded with deepObject keys (`a[b][0]=v`),
which openapi-core cannot deserialize: the bodies and query strings are
decoded here, their string values cast by the operation's schema, and then
checked with the OpenAPI 3.0 schema validator, as the answers are.
What the 2023-08-16 description cannot judge (newer than it, or deliberately
not modelled) is in ALLOWED, each with its reason.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests
import stripe
from flask import Flask, Response, request
from openapi_schema_validator import OAS30Validator

from bot.errors import AmountTooSmall, InsufficientBalance, ProviderTransient
from bot.money import Money
from bot.ports import EventKind, FakeClock, PayOutcome
from bot.providers.stripe_provider import StripeProvider
from bot.sims.stripe import DROP, StripeSim
from tests.support.records import stripe_records

SPECS = Path(__file__).parents[1] / "specs"
SPEC = SPECS / "stripe-openapi-2023-08-16.json"
FIXTURES = SPECS / "stripe-fixtures3.json"
USD5 = Money(500, "USD")


@dataclass(frozen=True)
class Allowed:
    """A difference the 2023-08-16 description cannot judge: where (globs) and why."""

    operation: str  # "POST /v1/accounts"
    part: str  # "request" or "response"
    where: str  # dotted path in the body or query: "controller.fees.payer"
    reason: str


ALLOWED = [
    # Newer than 2023-08-16: Stripe added `controller[...]` to POST /v1/accounts after that version, as the way
    # to create an account without `type` (the adapter follows today's Connect guide). The answer's `controller`
    # (type, is_controller) is in the 2023-08-16 description and is judged.
    Allowed("POST /v1/accounts", "request", "controller*", "account controller properties: newer than the spec"),
    # Deliberately wrong requests this test sends itself (not the adapter), so that the emulator's error answers
    # are judged too: an unknown parameter (400) and an unknown URL (404).
    Allowed("POST /v1/customers", "request", "colour", "deliberately unknown parameter: judges the 400 body"),
    Allowed("GET /v1/nowhere", "request", "", "deliberately unknown URL: judges the 404 body"),
]


@dataclass(frozen=True)
class AllowedField:
    """A top-level field of Stripe's example object the emulator deliberately leaves out."""

    kind: str
    field: str
    reason: str


# None: the emulator answers every field of Stripe's examples (its SHAPES, null where it has no value).
ALLOWED_FIELDS: list[AllowedField] = []


# ---------------------------------------------------------------- recording


@dataclass
class Exchange:
    """One request on Stripe's API and the emulator's answer."""

    method: str
    path: str
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    status: int
    body: Any


class RecordingSim(StripeSim):
    """The emulator, keeping every exchange on /v1/ (not the /_sim/ control API: that plays people)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.exchanges: list[Exchange] = []

    def app(self) -> Flask:
        app = super().app()

        @app.after_request
        def keep(resp: Response) -> Response:
            if request.path.startswith("/v1/"):
                self.exchanges.append(
                    Exchange(
                        request.method,
                        request.path,
                        list(request.args.items(multi=True)),
                        list(request.form.items(multi=True)),
                        resp.status_code,
                        json.loads(resp.get_data()),
                    )
                )
            return resp

        return app


def make_provider(sim: StripeSim, tmp: Path, *, retries: int = 2) -> StripeProvider:
    client = stripe.StripeClient(sim.api_key, base_addresses={"api": sim.base}, max_network_retries=retries)
    return StripeProvider(client, stripe_records(tmp / "stripe.db", sim.clock), sim.clock, connect=True, fee_bps=100)


def drive(sim: RecordingSim, p: StripeProvider) -> None:
    """The flows of tests/integration/test_stripe.py and tests/e2e/test_stripe_flow.py, through the adapter."""
    assert isinstance(sim.clock, FakeClock)
    # Cards: none, a good one, one declined when saved, one declined when charged, one that needs the sender.
    assert not p.has_card("bob")
    assert (
        p.pay(key="pay:t0", sender_id="bob", recipient_id="alice", amount=USD5, memo=None).outcome == PayOutcome.NO_CARD
    )
    p.attach_card("bob", "pm_card_visa")
    assert p.has_card("bob")
    with pytest.raises(Exception, match="declined"):
        p.attach_card("dan", "pm_card_chargeDeclined")
    assert not p.has_card("dan")  # a Customer without a card: Stripe is asked
    p.attach_card("erin", "pm_card_chargeCustomerFail")
    p.attach_card("sca", "pm_card_authenticationRequired")
    _, cursor = p.events(None)

    # Held money: alice has no account yet; then she onboards, and the held money is released to her.
    held = p.pay(
        key="pay:t1", sender_id="bob", recipient_id="alice", amount=USD5, memo="pizza", reference={"transfer_id": "1"}
    )
    assert held.outcome == PayOutcome.HELD
    assert not p.onboard("alice").ready
    sim.onboard(p.account("alice"))
    events, cursor = p.events(cursor)
    assert EventKind.ACCOUNT_READY in [e.kind for e in events]
    assert p.onboard("alice").ready
    p.release(key="release:t1", payment_ref=held.ref or "", recipient_id="alice", amount=USD5)
    assert p.release(key="release:t1", payment_ref=held.ref or "", recipient_id="alice", amount=USD5)

    # A destination charge with a fee, then its return; the released money refunded (reversing its transfer).
    paid = p.pay(key="pay:t2", sender_id="bob", recipient_id="alice", amount=USD5, memo=None)
    assert paid.outcome == PayOutcome.PAID
    p.refund(key="return:t2", payment_ref=paid.ref or "", amount=USD5)
    p.refund(key="return:t1", payment_ref=held.ref or "", amount=USD5)
    held2 = p.pay(key="pay:t3", sender_id="bob", recipient_id="carol", amount=USD5, memo=None)
    p.refund(key="return:t3", payment_ref=held2.ref or "", amount=USD5)

    # Declines: at the bank, and below Stripe's minimum.
    assert (
        p.pay(key="pay:t4", sender_id="erin", recipient_id="alice", amount=USD5, memo=None).outcome
        == PayOutcome.DECLINED
    )
    assert p.lookup("pay:t4", "erin") is not None
    with pytest.raises(AmountTooSmall):
        p.pay(key="pay:t5", sender_id="bob", recipient_id="alice", amount=Money(49, "USD"), memo=None)

    # SCA: the off-session attempt is refused and canceled; the sender approves on Checkout.
    first = p.pay(key="pay:t6", sender_id="sca", recipient_id="alice", amount=USD5, memo=None)
    assert first.outcome == PayOutcome.NEEDS_AUTH
    [page] = sim.open_sessions()
    requests.post(
        f"{sim.base}/_sim/complete/{page['id']}", json={"payment_method": "pm_card_authenticationRequired"}, timeout=10
    ).raise_for_status()
    events, cursor = p.events(cursor)
    assert EventKind.PAID in [e.kind for e in events]
    assert p.lookup("pay:t6", "sca") is not None
    # Another page that is never used: lookup expires it.
    p.pay(key="pay:t7", sender_id="sca", recipient_id="carol", amount=USD5, memo=None)
    found = p.lookup("pay:t7", "sca")
    assert found is not None and found.outcome == PayOutcome.NEEDS_AUTH

    # Registration through Checkout (setup mode), completed on the hosted page.
    registration = p.register("frank")
    [setup] = sim.open_sessions()
    assert registration.url == setup["url"]
    requests.post(f"{sim.base}/_sim/complete/{setup['id']}", json={}, timeout=10).raise_for_status()
    events, cursor = p.events(cursor)
    assert EventKind.CARD_SAVED in [e.kind for e in events]
    assert p.has_card("frank")

    # Events from outside paybot: a dispute and a dashboard refund; a Connect event fetched as its account.
    paid3 = p.pay(key="pay:t8", sender_id="frank", recipient_id="carol", amount=USD5, memo=None)
    pi = p.client.v1.payment_intents.retrieve(paid3.ref or "")
    p.client.v1.refunds.create(params={"payment_intent": paid3.ref or ""})
    requests.post(f"{sim.base}/_sim/dispute/{pi.latest_charge}", timeout=10).raise_for_status()
    _, cursor = p.events(cursor)
    connect_event = next(e for e in sim.events if e.get("account"))
    assert p.fetch_event(connect_event["id"], account=connect_event["account"]) is not None
    # A payment inside a connected account (its owner's, not paybot's), fetched as that account: refused.
    sim.connected_payment(p.account("carol"), 500, "usd", {"paybot_key": "pay:t6"})
    theirs = p.fetch_event(sim.events[-1]["id"], account=p.account("carol"))
    assert theirs is not None and p.translate_connect_event(theirs, p.account("carol")) is None
    assert p.translate_event(theirs) == []
    assert p.fetch_event("evt_missing") is None

    # Money back in parts: partial refunds of a destination charge (its Transfer reversed in proportion) and of
    # released held money (its Transfer reversed first), a reversal, a release refused for the platform's balance,
    # refunds that stay pending and then fail or go through, a dispute that withdraws the funds; their events.
    part = p.pay(key="pay:t13", sender_id="bob", recipient_id="alice", amount=USD5, memo=None)
    assert part.outcome == PayOutcome.PAID
    p.refund(key="refund:t13", payment_ref=part.ref or "", amount=Money(200, "USD"))
    p.reverse(key="reverse:t13", payment_ref=part.ref or "", amount=Money(300, "USD"))
    p.refund(key="refund:t13:2", payment_ref=part.ref or "", amount=Money(300, "USD"))
    kept = p.pay(
        key="pay:t14", sender_id="bob", recipient_id="hank", amount=USD5, memo=None, reference={"transfer_id": "14"}
    )
    sim.onboard(p.account("hank"))
    sim.inject("POST /v1/transfers", 400, code="balance_insufficient")
    with pytest.raises(InsufficientBalance):
        p.release(key="release:t14", payment_ref=kept.ref or "", recipient_id="hank", amount=USD5)
    p.release(key="release:t14:2", payment_ref=kept.ref or "", recipient_id="hank", amount=USD5)
    p.refund(key="refund:t14", payment_ref=kept.ref or "", amount=Money(100, "USD"))
    sim.hold_refunds(2)
    failing = p.refund(key="refund:t14:2", payment_ref=kept.ref or "", amount=Money(100, "USD"))
    slow = p.refund(key="refund:t14:3", payment_ref=kept.ref or "", amount=Money(100, "USD"))
    assert failing.pending and slow.pending
    sim.settle_refund(failing.ref, "failed")
    sim.settle_refund(slow.ref, "succeeded")
    p.reverse(key="reverse:t14", payment_ref=kept.ref or "", amount=Money(100, "USD"))
    requests.post(
        f"{sim.base}/_sim/dispute/{p.client.v1.payment_intents.retrieve(part.ref or '').latest_charge}", timeout=10
    ).raise_for_status()
    events, cursor = p.events(cursor)
    kinds = {e.kind for e in events}
    assert {EventKind.REFUND_FAILED, EventKind.REFUND_SETTLED, EventKind.FUNDS_WITHDRAWN} <= kinds, kinds
    v1_reversal = sim.of_kind("transfer_reversal")[0]
    p.client.v1.transfers.retrieve(v1_reversal["transfer"])

    sim.restrict(p.account("alice"))
    p.pay(key="pay:t9", sender_id="bob", recipient_id="alice", amount=USD5, memo=None)
    p.payments_since(sim.clock.now() - timedelta(days=1))

    # Faults: a 500 before execution, a 429, a dropped connection, and a saved 500 after the charge.
    sim.inject("POST /v1/payment_intents", 500, saved=False)
    sim.inject("POST /v1/payment_intents", 429)
    p.pay(key="pay:t10", sender_id="bob", recipient_id="carol", amount=USD5, memo=None)
    sim.inject("POST /v1/payment_intents", DROP)
    p.pay(key="pay:t11", sender_id="bob", recipient_id="carol", amount=USD5, memo=None)
    sim.inject("POST /v1/payment_intents", 500, work=True)
    p.pay(key="pay:t12", sender_id="bob", recipient_id="carol", amount=USD5, memo=None)
    sim.inject("GET /v1/events", 500, times=3)
    with pytest.raises(ProviderTransient):
        p.events(cursor)
    # Other parameters under a used key; a retrieve of what does not exist; a URL Stripe does not know.
    with pytest.raises(Exception, match="other parameters"):
        p.pay(key="pay:t12", sender_id="bob", recipient_id="carol", amount=Money(700, "USD"), memo=None)
    with pytest.raises(stripe.InvalidRequestError):
        p.client.v1.payment_intents.retrieve("pi_missing")
    unknown: Any = {"colour": "blue"}
    with pytest.raises(stripe.InvalidRequestError):
        p.client.v1.customers.create(params=unknown)
    sim.clock.advance(timedelta(days=2))  # every open page expires
    p.events(cursor)

    # The emulator's other answers, which the adapter does not ask for: judged all the same.
    v1 = p.client.v1
    v1.customers.retrieve(p.customer("bob"))
    v1.payment_methods.retrieve(sim.of_kind("payment_method")[0]["id"])
    v1.checkout.sessions.retrieve(setup["id"])
    for charge in sim.of_kind("charge"):
        v1.charges.retrieve(charge["id"])
    v1.transfers.retrieve(sim.of_kind("transfer")[0]["id"])
    v1.refunds.retrieve(sim.of_kind("refund")[0]["id"])
    v1.accounts.retrieve_current()
    v1.events.list(params={"limit": 2, "type": "payment_intent.succeeded"})


@pytest.fixture(scope="module")
def exchanges(tmp_path_factory: pytest.TempPathFactory) -> list[Exchange]:
    sim = RecordingSim(FakeClock())
    sim.start()
    try:
        drive(sim, make_provider(sim, tmp_path_factory.mktemp("stripe_spec")))
        requests.get(f"{sim.base}/v1/nowhere", headers={"Authorization": f"Bearer {sim.api_key}"}, timeout=10)
    finally:
        sim.stop()
    return sim.exchanges


# ---------------------------------------------------------------- the judge


@cache
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = _nullable_any_of(json.loads(SPEC.read_text(encoding="utf-8")))
    return loaded


def _nullable_any_of(node: Any) -> Any:
    """Stripe's `nullable: true` as Stripe means it. Stripe writes it beside `anyOf` (an expandable field that
    may be null) and beside `enum` lists without null; OpenAPI 3.0.3 ties nullable to `type` and to the enum's
    own values, so the validator would refuse null there: say it as an anyOf branch and an enum value."""
    if isinstance(node, list):
        return [_nullable_any_of(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _nullable_any_of(v) for k, v in node.items()}
    if out.get("nullable") and "anyOf" in out and "type" not in out:
        out["anyOf"] = [*out["anyOf"], {"enum": [None]}]
    if out.get("nullable") and "enum" in out and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    return out


@cache
def operations() -> list[tuple[str, re.Pattern[str], str]]:
    """(method, path regex, "METHOD /template"), literal paths before templated ones."""
    out = []
    for template, item in spec()["paths"].items():
        regex = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        out += [(m.upper(), regex, f"{m.upper()} {template}") for m in item if m in ("get", "post", "delete")]
    return sorted(out, key=lambda o: o[2].count("{"))


def operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for m, regex, name in operations():
        if m == method and regex.match(path):
            template = name.split(" ", 1)[1]
            return name, spec()["paths"][template][method.lower()]
    return None


def validator(schema: dict[str, Any]) -> OAS30Validator:
    """A validator of `schema` whose $refs reach the spec's components."""
    return OAS30Validator({**schema, "components": spec()["components"]})


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        found: dict[str, Any] = spec()["components"]["schemas"][name]
        schema = found
    return schema


@dataclass
class Problem:
    operation: str
    part: str
    where: str
    message: str

    def allowance(self) -> Allowed | None:
        return next(
            (
                a
                for a in ALLOWED
                if fnmatchcase(self.operation, a.operation) and a.part == self.part and fnmatchcase(self.where, a.where)
            ),
            None,
        )

    def __str__(self) -> str:
        return f"{self.operation} {self.part} {self.where or '(top)'}: {self.message}"


def decode(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form keys (a[b][0]=v) as nested dicts; list indexes stay keys (cast() makes lists)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+|(?<=\[)(?=\])", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def cast(value: Any, schema: dict[str, Any], where: str, unknown: list[str]) -> Any:  # noqa: C901
    """A decoded form value as the JSON the schema describes; names the schema does not have go to `unknown`."""
    schema = resolve(schema)
    if "anyOf" in schema:
        best: tuple[int, Any, list[str]] | None = None
        for branch in schema["anyOf"]:
            missing: list[str] = []
            candidate = cast(value, branch, where, missing)
            score = len(missing) + (0 if validator(branch).is_valid(candidate) else 1000)
            if best is None or score < best[0]:
                best = (score, candidate, missing)
        assert best is not None
        unknown += best[2]
        return best[1]
    kind = schema.get("type")
    if isinstance(value, dict):
        if kind == "array":
            items = schema.get("items", {})
            return [
                cast(value[k], items, f"{where}.{k}", unknown)
                for k in sorted(value, key=lambda k: int(k) if k.isdigit() else -1)
            ]
        if kind == "object":
            # Stripe closes its parameter objects: the top ones say additionalProperties: false, the nested
            # ones list their properties and say nothing (Stripe refuses any other name all the same).
            props, extra = schema.get("properties", {}), schema.get("additionalProperties")
            out = {}
            for name, inner in value.items():
                path = f"{where}.{name}" if where else name
                if name in props:
                    out[name] = cast(inner, props[name], path, unknown)
                elif isinstance(extra, dict):
                    out[name] = cast(inner, extra, path, unknown)
                elif extra is True or (extra is None and not props):
                    out[name] = inner
                else:
                    unknown.append(path)
            return out
        return value
    if isinstance(value, str):
        if kind == "integer" and re.fullmatch(r"-?\d+", value):
            return int(value)
        if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        if kind == "boolean" and value in ("true", "false"):
            return value == "true"
    return value


def schema_problems(instance: Any, schema: dict[str, Any], op: str, part: str, prefix: str = "") -> list[Problem]:
    out = []
    for error in validator(schema).iter_errors(instance):
        out += _explain(error, op, part, prefix)
    return out


def _explain(error: Any, op: str, part: str, prefix: str) -> list[Problem]:
    """A validation error at its deepest useful place: inside anyOf, the branch of the instance's own type."""
    where = ".".join([prefix] * bool(prefix) + [str(p) for p in error.absolute_path])
    if error.validator in ("anyOf", "oneOf") and error.context:
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0], []).append(sub)
        typed = [
            errs
            for errs in branches.values()
            if not any(e.validator == "type" and e.absolute_path == error.absolute_path for e in errs)
        ]
        if len(typed) == 1:
            return [p for sub in typed[0] for p in _explain(sub, op, part, prefix)]
    if error.validator == "required":
        name = re.match(r"'(.+)' is a required property", error.message)
        if name:
            return [Problem(op, part, f"{where}.{name[1]}" if where else name[1], "required, missing")]
    return [Problem(op, part, where, error.message[:300])]


def request_problems(ex: Exchange) -> tuple[str, list[Problem]]:
    found = operation(ex.method, ex.path)
    if found is None:
        return f"{ex.method} {ex.path}", [Problem(f"{ex.method} {ex.path}", "request", "", "no such operation")]
    name, op = found
    problems: list[Problem] = []
    query = decode(ex.query)
    params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "query"}
    for key, value in query.items():
        if key not in params:
            problems.append(Problem(name, "request", key, "unknown query parameter"))
            continue
        unknown: list[str] = []
        cast_value = cast(value, params[key]["schema"], key, unknown)
        problems += [Problem(name, "request", u, "unknown query parameter") for u in unknown]
        problems += schema_problems(cast_value, params[key]["schema"], name, "request", key)
    body = (op.get("requestBody") or {}).get("content", {}).get("application/x-www-form-urlencoded")
    if ex.form and body is None:
        problems.append(Problem(name, "request", "", "a body where the operation takes none"))
    elif body is not None:
        unknown = []
        cast_body = cast(decode(ex.form), body["schema"], "", unknown)
        problems += [Problem(name, "request", u, "unknown parameter") for u in unknown]
        problems += schema_problems(cast_body, body["schema"], name, "request")
    return name, problems


def response_problems(ex: Exchange) -> tuple[str, list[Problem]]:
    found = operation(ex.method, ex.path)
    if found is None:  # an unknown URL: Stripe answers with its error object
        name = f"{ex.method} {ex.path}"
        return name, schema_problems(ex.body, {"$ref": "#/components/schemas/error"}, name, "response")
    name, op = found
    answer = op["responses"].get(str(ex.status)) or op["responses"]["default"]
    schema = answer["content"]["application/json"]["schema"]
    return name, schema_problems(ex.body, schema, name, "response")


@dataclass
class Tally:
    checked: int = 0
    valid: int = 0
    allowed: int = 0
    bad: list[Problem] = field(default_factory=list)
    used: Counter[Allowed] = field(default_factory=Counter)

    def add(self, problems: list[Problem]) -> None:
        self.checked += 1
        if not problems:
            self.valid += 1
            return
        allowances = [p.allowance() for p in problems]
        for a in allowances:
            if a is not None:
                self.used[a] += 1
        bad = [p for p, a in zip(problems, allowances, strict=True) if a is None]
        if bad:
            self.bad += bad
        else:
            self.allowed += 1

    def line(self, what: str) -> str:
        return (
            f"{what}: {self.checked} checked, {self.valid} valid, {self.allowed} allow-listed, "
            f"{self.checked - self.valid - self.allowed} invalid"
        )


def test_every_request_and_answer_is_what_stripes_description_allows(exchanges: list[Exchange]) -> None:
    """Each request the adapter sends and each answer the emulator gives fits Stripe's OpenAPI description
    (or differs only as ALLOWED says)."""
    requests_, responses = Tally(), Tally()
    covered: Counter[str] = Counter()
    for ex in exchanges:
        name, problems = request_problems(ex)
        covered[name] += 1
        requests_.add(problems)
        responses.add(response_problems(ex)[1])
    print()
    print(requests_.line("requests"))
    print(responses.line("responses"))
    print(f"operations covered ({len(covered)}):", ", ".join(f"{k} ×{n}" for k, n in sorted(covered.items())))
    for allowance, n in (requests_.used + responses.used).items():
        print(f"allowed ×{n}: {allowance.operation} {allowance.part} {allowance.where}: {allowance.reason}")
    bad = sorted({str(p) for p in requests_.bad + responses.bad})
    print("\n".join(bad))
    assert not bad, f"{len(bad)} differences from Stripe's description"
    assert set(ALLOWED) == set(requests_.used + responses.used), "an allowance no longer needed: remove it"


# ---------------------------------------------------------------- Stripe's example objects


@cache
def fixtures() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = json.loads(FIXTURES.read_text(encoding="utf-8"))["resources"]
    return loaded


def objects(body: Any) -> Iterator[dict[str, Any]]:
    """Every Stripe object inside an answer (list items, an event's object, an error's payment intent)."""
    if isinstance(body, dict):
        if isinstance(body.get("object"), str) and (body.get("id") is not None or body["object"] == "account_link"):
            yield body
        for value in body.values():
            yield from objects(value)
    elif isinstance(body, list):
        for value in body:
            yield from objects(value)


def test_every_object_carries_every_field_of_stripes_example(exchanges: list[Exchange]) -> None:
    """Each object the emulator answers has each top-level field of Stripe's example of its kind (null where
    it has no value), except the fields ALLOWED_FIELDS leaves out."""
    missing: Counter[tuple[str, str]] = Counter()
    kinds: Counter[str] = Counter()
    allowed = {(a.kind, a.field) for a in ALLOWED_FIELDS}
    for ex in exchanges:
        for obj in objects(ex.body):
            example = fixtures().get(obj["object"])
            if example is None or obj["object"] == "list":
                continue
            kinds[obj["object"]] += 1
            for name in example:
                if name not in obj and (obj["object"], name) not in allowed:
                    missing[(obj["object"], name)] += 1
    print()
    print("objects checked:", ", ".join(f"{k} ×{n}" for k, n in sorted(kinds.items())))
    by_kind: dict[str, list[str]] = {}
    for kind, name in sorted(missing):
        by_kind.setdefault(kind, []).append(name)
    for kind, names in by_kind.items():
        print(f"{kind} lacks: {', '.join(names)}")
    assert not missing
