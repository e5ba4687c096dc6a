"""The Mastodon simulator (bot/sims/mastodon/) judged by Mastodon's own descriptions and answers.

Every entity the simulator returns is checked field by field against Mastodon.py's description of it
(the facts tests/specs/mastodon-entities.json keeps of Mastodon.py's srcgen/return_types.json, extracted by
scripts/extract_mastodon_entities.py: types and optionality, no prose): each required field is
present, null only where nullable, of the described type, nested entities and lists checked the same way.
Where the real server's recordings are at hand (shared/specs/mastodon/tests/cassettes), the simulator's
answers also carry every key the server's answers carry for the same request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

import pytest
import requests

from bot.ports import FakeClock
from bot.sims.mastodon import SIM_TOKEN, MastodonSim
from tests.support.mastodon_entities import CASSETTES, problems


@pytest.fixture
def sim() -> Iterator[MastodonSim]:
    """The simulator on 127.0.0.1 with bob, alice and a remote carol@other.example."""
    s = MastodonSim(FakeClock())
    for handle, name in (("bob", "Bob Stone"), ("alice", "Alice Martin"), ("carol@other.example", "Carol")):
        s.add_user(handle, name)
    s.start()
    yield s
    s.stop()


def get(sim: MastodonSim, path: str, token: str = SIM_TOKEN, **params: Any) -> requests.Response:
    return requests.get(sim.base + path, params=params, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def send(sim: MastodonSim, method: str, path: str, token: str = SIM_TOKEN, **data: Any) -> requests.Response:
    return requests.request(method, sim.base + path, data=data, headers={"Authorization": f"Bearer {token}"}, timeout=5)


def test_the_account_entities_are_as_described(sim: MastodonSim) -> None:
    """verify_credentials (with its `source`), lookup, by id and in a list are Account entities; the bot is
    flagged as a bot and a remote account's acct carries its instance."""
    me = get(sim, "/api/v1/accounts/verify_credentials").json()
    assert problems("Account", me) == [] and problems("CredentialAccountSource", me["source"]) == []
    assert me["bot"] is True and me["acct"] == "paybot"
    carol = get(sim, "/api/v1/accounts/lookup", acct="carol@other.example").json()
    assert problems("Account", carol) == [] and carol["acct"] == "carol@other.example"
    assert carol["username"] == "carol" and carol["url"] == "https://other.example/@carol"
    both = get(sim, "/api/v1/accounts", **cast(dict[str, Any], {"id[]": [carol["id"], me["id"]]})).json()
    assert [a["id"] for a in both] == [carol["id"], me["id"]] and all(problems("Account", a) == [] for a in both)
    assert problems("Account", get(sim, f"/api/v1/accounts/{carol['id']}").json()) == []


def test_the_application_says_its_scopes(sim: MastodonSim) -> None:
    body = get(sim, "/api/v1/apps/verify_credentials").json()
    assert problems("Application", body) == [] and body["scopes"] == ["read", "write"]


def test_the_instance_says_its_status_length(sim: MastodonSim) -> None:
    body = get(sim, "/api/v2/instance").json()
    assert problems("InstanceV2", body) == []
    assert body["configuration"]["statuses"]["max_characters"] == 500


def test_statuses_of_each_visibility_and_replies_are_as_described(sim: MastodonSim) -> None:
    """A public status naming a local and a remote account, a direct one, and a reply to it."""
    public = send(sim, "POST", "/api/v1/statuses", status="hello @bob and @carol@other.example").json()
    direct = send(sim, "POST", "/api/v1/statuses", status="@alice psst", visibility="direct").json()
    reply = send(
        sim, "POST", "/api/v1/statuses", sim.token_for("bob"), status="@paybot hi", in_reply_to_id=public["id"]
    ).json()
    for status in (public, direct, reply):
        assert problems("Status", status) == []
    assert [m["acct"] for m in public["mentions"]] == ["bob", "carol@other.example"]
    assert direct["visibility"] == "direct" and public["visibility"] == "public"
    assert (reply["in_reply_to_id"], reply["in_reply_to_account_id"]) == (public["id"], sim.bot_id)
    assert int(public["id"]) < int(direct["id"]) < int(reply["id"])
    assert 'class="u-url mention"' in public["content"] and ">carol</span>" in public["content"]


def test_an_edit_keeps_the_id_and_adds_a_version(sim: MastodonSim) -> None:
    """test_status_edit.yaml: PUT answers the status with `edited_at`; /history lists every version, oldest
    first, each a StatusEdit."""
    first = send(sim, "POST", "/api/v1/statuses", status="the best editor?").json()
    assert first["edited_at"] is None
    sim.clock.advance(timedelta(minutes=1))  # type: ignore[attr-defined]
    edited = send(sim, "PUT", f"/api/v1/statuses/{first['id']}", status="the best editor? Kate").json()
    assert problems("Status", edited) == [] and edited["id"] == first["id"] and edited["edited_at"]
    history = get(sim, f"/api/v1/statuses/{first['id']}/history").json()
    assert [problems("StatusEdit", v) for v in history] == [[], []]
    assert [v["content"] for v in history] == ["<p>the best editor?</p>", "<p>the best editor? Kate</p>"]
    assert problems("Status", get(sim, f"/api/v1/statuses/{first['id']}").json()) == []


def test_mentions_are_notifications_paged_by_id(sim: MastodonSim) -> None:
    """test_notifications.yaml: newest first, `types[]` filters, since_id / min_id / max_id page, a Link header
    points both ways; a direct status to the bot is a mention too."""
    for n in range(5):
        sim.post("bob", f"@paybot send {n} to @alice")
    sim.direct("alice", "yes")
    everything = get(sim, "/api/v1/notifications", **cast(dict[str, Any], {"types[]": ["mention"]}))
    body = everything.json()
    assert all(problems("Notification", n) == [] for n in body) and {n["type"] for n in body} == {"mention"}
    ids = [n["id"] for n in body]
    assert ids == sorted(ids, key=int, reverse=True) and len(ids) == 6
    assert body[0]["status"]["visibility"] == "direct"
    assert 'rel="next"' in everything.headers["Link"] and 'rel="prev"' in everything.headers["Link"]
    assert [n["id"] for n in get(sim, "/api/v1/notifications", since_id=ids[3]).json()] == ids[:3]
    assert [n["id"] for n in get(sim, "/api/v1/notifications", min_id=ids[5], limit=2).json()] == ids[3:5]
    assert [n["id"] for n in get(sim, "/api/v1/notifications", max_id=ids[1], limit=2).json()] == ids[2:4]


def test_errors_are_mastodons(sim: MastodonSim) -> None:
    """401 for a bad token, 404 "Record not found" for an unknown account, 422 past 500 characters."""
    assert get(sim, "/api/v1/accounts/verify_credentials", token="wrong").status_code == 401
    missing = get(sim, "/api/v1/accounts/lookup", acct="nobody")
    assert (missing.status_code, missing.json()) == (404, {"error": "Record not found"})
    long = send(sim, "POST", "/api/v1/statuses", status="a" * 501)
    assert long.status_code == 422 and "500" in long.json()["error"]
    assert send(sim, "POST", "/api/v1/statuses", status="a" * 500).status_code == 200


def test_rate_limit_headers_and_429() -> None:
    """Every answer says the limit, what remains and when the 5-minute window resets (ISO time); past it, 429."""
    clock = FakeClock()
    sim = MastodonSim(clock, rate_limit=3)
    sim.start()
    try:
        answers = [get(sim, "/api/v1/accounts/verify_credentials") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        assert answers[3].json() == {"error": "Too many requests"}
        reset = datetime.fromisoformat(answers[0].headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
        assert answers[0].headers["X-RateLimit-Limit"] == "3"
        assert clock.now() < reset <= clock.now() + timedelta(minutes=5)
        clock.set(reset)
        assert get(sim, "/api/v1/accounts/verify_credentials").status_code == 200
    finally:
        sim.stop()


RECORDED = [  # (cassette, index of the interaction, the simulator's answer to compare with)
    ("test_verify_credentials.yaml", "GET", "/api/v1/accounts/verify_credentials"),
    ("test_notifications.yaml", "GET", "/api/v1/notifications"),
    ("test_status_edit.yaml", "GET", "/history"),
]


@pytest.mark.skipif(not CASSETTES.is_dir(), reason="the real server's recordings are not at hand")
def test_answers_carry_every_key_a_real_server_sent(sim: MastodonSim) -> None:
    """Against the recordings: an Account, a Notification (with its Status and Mention) and a StatusEdit from
    the simulator have every key the real server's had."""
    yaml = pytest.importorskip("yaml")

    def recorded(cassette: str, method: str, path_part: str) -> Any:
        for i in yaml.safe_load((CASSETTES / cassette).read_text())["interactions"]:
            if (
                i["request"]["method"] == method
                and path_part in i["request"]["uri"]
                and i["response"]["status"]["code"] == 200
            ):
                return json.loads(i["response"]["body"]["string"])
        raise AssertionError(f"nothing recorded in {cassette} for {path_part}")

    status = sim.post("bob", "@paybot hello")
    sim.edit(status["id"], "@paybot hello again")
    ours = {
        "account": get(sim, "/api/v1/accounts/verify_credentials").json(),
        "notification": get(sim, "/api/v1/notifications").json()[0],
        "history": get(sim, f"/api/v1/statuses/{status['id']}/history").json()[0],
    }
    theirs = {
        "account": recorded(*RECORDED[0]),
        "notification": recorded(*RECORDED[1])[0],
        "history": recorded(*RECORDED[2])[0],
    }
    ignore = {"feature_approval"}  # a 4.6 preview field Mastodon.py does not describe
    for name in ours:
        assert set(theirs[name]) - set(ours[name]) - ignore == set(), name
    assert set(theirs["notification"]["status"]) - set(ours["notification"]["status"]) - {"application"} == set()
    assert set(theirs["notification"]["status"]["mentions"][0]) == set(ours["notification"]["status"]["mentions"][0])
