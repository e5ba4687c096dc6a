"""The HTTP face of the X simulator: X's v2 routes and the /_sim control API."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from flask import Flask, Response, jsonify, request
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature
from twitter_text import parse_tweet

from bot.sims.kit import (
    TIMEOUT,  # an injected fault "status": do the work, then answer too late
    quiet_app,
    take_fault,
)
from bot.sims.x.posts import XPosts

_OAUTH_PARAM = re.compile(r'(\w+)="([^"]*)"')
USAGE_CAPPED = "https://api.x.com/2/problems/usage-capped"


# Problem types from X's OpenAPI description; 401 and 429 are not described
# there and keep X's live "about:blank" (or usage-capped) answers.
_PROBLEM_TYPES = {
    403: "https://api.x.com/2/problems/disallowed-resource",
    404: "https://api.x.com/2/problems/resource-not-found",
    500: "https://api.x.com/2/problems/internal-error",
    503: "https://api.x.com/2/problems/internal-error",
}


# The hosts X answers on: a signature is checked against X's own address, which is what clients sign.
X_HOSTS = ("https://api.twitter.com", "https://api.x.com")


def _users_found(
    keys: list[str],
    find: Callable[[str], dict[str, Any] | None],
    parameter: str,
    render: Callable[[dict[str, Any]], dict[str, Any]],
) -> Response:
    """A users lookup as X answers it: 200 with `data` for those found and `errors` for the others."""
    data, errors = [], []
    for key in keys:
        user = find(key)
        if user:
            data.append(render(user))
        else:
            errors.append(
                {
                    "value": key,
                    "detail": f"Could not find user with {parameter}: [{key}].",
                    "title": "Not Found Error",
                    "resource_type": "user",
                    "parameter": parameter,
                    "resource_id": key,
                    "type": "https://api.x.com/2/problems/resource-not-found",
                }
            )
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
    if errors:
        body["errors"] = errors
    return jsonify(body)


def _problem(status: int, title: str, detail: str, type_: str | None = None) -> Response:
    body: dict[str, Any] = {
        "title": title,
        "detail": detail,
        "status": status,
        "type": type_ or _PROBLEM_TYPES.get(status, "about:blank"),
    }
    if status == 404:
        body["resource_type"] = "user"
    resp = jsonify(body)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    return resp


def _invalid(detail: str, parameter: str, value: str = "") -> Response:
    body = {
        "errors": [{"parameters": {parameter: [value]}, "message": detail}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.x.com/2/problems/invalid-request",
    }
    resp = jsonify(body)
    resp.status_code = 400
    resp.mimetype = "application/problem+json"
    return resp


def _fields() -> tuple[set[str], bool]:
    """The post fields asked for, and whether the request used the new (post.*) vocabulary."""
    new = "post.fields" in request.args
    raw = request.args.get("post.fields" if new else "tweet.fields", "")
    return {f for f in raw.split(",") if f}, new


def build(sim: XPosts) -> Flask:  # noqa: C901
    """A Flask app serving `sim`."""
    app = quiet_app("x-sim")

    def api(endpoint: str, method: str = "GET") -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Wrap an X route: auth, injected faults, rate limits, logging."""

        def wrap(view: Callable[..., Response]) -> Callable[..., Response]:
            def inner(**kw: Any) -> Response:
                with sim.lock:
                    resp, late = _guarded(endpoint, view, kw)
                    sim.record(endpoint, method, resp.status_code, resp.get_json(silent=True) or {})
                if late:  # an injected timeout: the work is done, the answer comes too late
                    time.sleep(sim.timeout_delay)
                return resp

            inner.__name__ = f"x_{endpoint}_{method}"
            return inner

        return wrap

    def signed() -> bool:
        """The request carries the sim's key and token and a valid HMAC-SHA1 signature over them."""
        auth = request.headers.get("Authorization", "")
        params = dict(_OAUTH_PARAM.findall(auth)) if auth.startswith("OAuth ") else {}
        if params.get("oauth_consumer_key") != sim.consumer_key or params.get("oauth_token") != sim.access_token:
            return False
        if params.get("oauth_signature_method") != "HMAC-SHA1":
            return False
        form = request.get_data(as_text=True) if request.mimetype == "application/x-www-form-urlencoded" else None
        collected = signature.collect_parameters(
            uri_query=request.query_string.decode(),
            body=form,
            headers={"Authorization": auth},
            exclude_oauth_signature=True,
        )
        # Signed for X's own address (the client's adapter then sends it here), or for the sim's.
        for url in (request.url, *(host + request.path for host in X_HOSTS)):
            signing = OAuthRequest(url, request.method, form, {"Authorization": auth})
            signing.params = collected
            signing.signature = unquote(params.get("oauth_signature", ""))
            if signature.verify_hmac_sha1(signing, *sim.secrets):
                return True
        return False

    def _guarded(endpoint: str, view: Callable[..., Response], kw: dict[str, Any]) -> tuple[Response, bool]:
        if not signed():
            return _problem(401, "Unauthorized", "Unauthorized"), False
        fault = take_fault(sim.faults, endpoint)
        window = sim.rate(endpoint)
        if fault == 429:
            resp = _problem(429, "Too Many Requests", "Too Many Requests")
        elif fault == 4290:
            resp = _problem(429, "UsageCapExceeded", "Usage cap exceeded: Monthly product cap", USAGE_CAPPED)
        elif fault and fault != TIMEOUT:
            resp = _problem(
                fault, "Service Unavailable" if fault == 503 else "Internal Server Error", "Simulated failure"
            )
        elif window and window[1] < 0:
            sim.violations += 1
            resp = _problem(429, "Too Many Requests", "Too Many Requests")
        else:
            resp = view(**kw)
        if window:
            limit, remaining, reset = window
            resp.headers["x-rate-limit-limit"] = str(limit)
            resp.headers["x-rate-limit-remaining"] = str(max(0, remaining))
            resp.headers["x-rate-limit-reset"] = str(reset)
        return resp, fault == TIMEOUT

    def page(
        items: list[dict[str, Any]], default: int, low: int, high: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any]] | Response:
        raw = request.args.get("max_results", str(default))
        if not raw.isdigit() or not low <= int(raw) <= high:
            return _invalid(
                f"The `max_results` query parameter value [{raw}] is not between {low} and {high}", "max_results", raw
            )
        size = int(raw)
        token = request.args.get("pagination_token")
        if token:
            if not token.isdigit():
                return _invalid("The `pagination_token` query parameter value is not valid", "pagination_token", token)
            items = [i for i in items if int(i["id"]) < int(token)]
        chunk, rest = items[:size], items[size:]
        meta: dict[str, Any] = {"result_count": len(chunk)}
        if rest:
            meta["next_token"] = chunk[-1]["id"]
        return chunk, meta

    @app.get("/2/users/me")
    @api("users_me")
    def users_me() -> Response:
        return jsonify({"data": sim.render_user(sim.users[sim.bot_id])})

    @app.get("/2/users/<uid>/mentions")
    @api("mentions")
    def mentions(uid: str) -> Response:
        if uid not in sim.users:
            return _problem(404, "Not Found Error", f"Could not find user with id: [{uid}].")
        items = sim.mentions_of(uid)
        bounds: tuple[tuple[str, Callable[[dict[str, Any], int], bool]], ...] = (
            ("since_id", lambda i, v: int(i["id"]) > v),
            ("until_id", lambda i, v: int(i["id"]) < v),
        )
        for name, keep in bounds:
            raw = request.args.get(name)
            if raw is not None:
                if not raw.isdigit():
                    return _invalid(f"The `{name}` query parameter value [{raw}] is not valid", name, raw)
                items = [i for i in items if keep(i, int(raw))]
        paged = page(items, 10, 5, 100)
        if isinstance(paged, Response):
            return paged
        chunk, meta = paged
        fields, new = _fields()
        body: dict[str, Any] = {"meta": meta}
        if chunk:
            body["data"] = [sim.render_post(p, fields, new) for p in chunk]
            meta["newest_id"], meta["oldest_id"] = chunk[0]["id"], chunk[-1]["id"]
            expansions = set(request.args.get("expansions", "").split(","))
            users: dict[str, dict[str, Any]] = {}
            for p in chunk:
                if "author_id" in expansions:
                    users.setdefault(p["author_id"], sim.users[p["author_id"]])
                if "entities.mentions.username" in expansions:
                    for m in p["entities"].get("mentions", []):
                        users.setdefault(m["id"], sim.users[m["id"]])
            if users:
                body["includes"] = {"users": [sim.render_user(u) for u in users.values()]}
        return jsonify(body)

    def dm_listing(items: list[dict[str, Any]]) -> Response:
        """A page of DM events, newest first, with the fields and expansions asked for."""
        paged = page(items, 100, 1, 100)
        if isinstance(paged, Response):
            return paged
        chunk, meta = paged
        fields = set(request.args.get("dm_event.fields", "").split(",")) | {"id", "event_type", "text"}
        body: dict[str, Any] = {"meta": meta}
        if chunk:
            body["data"] = [{k: v for k, v in e.items() if k in fields} for e in chunk]
            if "sender_id" in request.args.get("expansions", ""):
                ids = dict.fromkeys(e["sender_id"] for e in chunk)
                body["includes"] = {"users": [sim.render_user(sim.users[i]) for i in ids]}
        return jsonify(body)

    @app.get("/2/dm_events")
    @api("dm_events")
    def dm_events() -> Response:
        types = request.args.get("event_types")
        return dm_listing([] if types and types != "MessageCreate" else sim.dm_events_of(sim.bot_id))

    @app.get("/2/dm_conversations/with/<participant_id>/dm_events")
    @api("dm_conversation_events")
    def dm_conversation_events(participant_id: str) -> Response:
        pair = "-".join(sorted((participant_id, sim.bot_id), key=int))
        return dm_listing([e for e in sim.dm_events_of(sim.bot_id) if e["dm_conversation_id"] == pair])

    @app.post("/2/dm_conversations/with/<participant_id>/messages")
    @api("dm_post", "POST")
    def dm_post(participant_id: str) -> Response:
        payload = request.get_json(silent=True) or {}
        text = payload.get("text")
        if not isinstance(text, str) or not text:
            return _invalid("text is required", "text")
        if participant_id not in sim.users:
            return _problem(404, "Not Found Error", f"Could not find user with id: [{participant_id}].")
        if not sim.may_dm(sim.bot_id, participant_id):
            return _problem(403, "Forbidden", "You are not permitted to send a DM to this user.")
        event = sim._add_dm(sim.bot_id, participant_id, text)
        resp = jsonify({"data": {"dm_conversation_id": event["dm_conversation_id"], "dm_event_id": event["id"]}})
        resp.status_code = 201
        return resp

    @app.post("/2/tweets")
    @api("tweets_post", "POST")
    def tweets_post() -> Response:
        payload = request.get_json(silent=True) or {}
        text = payload.get("text")
        if not isinstance(text, str) or not text:
            return _invalid("text is required", "text")
        if parse_tweet(text).weightedLength > 280:  # X's weighted count (CJK and emoji count 2)
            return _problem(400, "Invalid Request", "Tweet text is too long.")
        reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to and not sim.may_reply(sim.bot_id, reply_to):
            return _problem(
                403,
                "Forbidden",
                "Reply to this conversation is not allowed because you have not "
                "been mentioned or otherwise engaged by the author of the post you are replying to.",
            )
        if sim.duplicate(sim.bot_id, text):
            return _problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        post = sim.tweet(sim.handle(sim.bot_id), text, reply_to=reply_to)
        resp = jsonify(
            {"data": {"id": post["id"], "text": post["text"], "edit_history_tweet_ids": post["edit_history_tweet_ids"]}}
        )
        resp.status_code = 201
        return resp

    @app.get("/2/users")
    @api("users")
    def users() -> Response:
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100 or not all(i.isdigit() for i in ids):
            return _invalid("ids must name 1 to 100 numeric user ids", "ids", ",".join(ids))
        return _users_found(ids, sim.users.get, "ids", sim.render_user)

    @app.get("/2/users/by")
    @api("users_by")
    def users_by() -> Response:
        names = [n for n in request.args.get("usernames", "").split(",") if n]
        if not names or len(names) > 100:
            return _invalid("usernames must name 1 to 100 users", "usernames", ",".join(names))
        return _users_found(names, sim._find, "usernames", sim.render_user)

    # ---------------------------------------------------------------- control

    def control(path: str, fn: Callable[[dict[str, Any]], Any], method: str = "POST") -> None:
        def inner() -> Response:
            try:
                with sim.lock:
                    return jsonify(fn(request.get_json(silent=True) or {}))
            except (KeyError, ValueError) as err:
                return _problem(400, "Bad control request", str(err))

        app.add_url_rule(path, endpoint=f"control{path.replace('/', '_')}", view_func=inner, methods=[method])

    control(
        "/_sim/users",
        lambda b: {"id": sim.add_user(b["handle"], b.get("name"), accepts_dms=b.get("accepts_dms", True))},
    )
    # Many people at once: {"users": [handles], "tweets": [{by, text}], "dms": [{by, text}]}
    control(
        "/_sim/batch",
        lambda b: {
            "users": [sim.add_user(h) for h in b.get("users", [])],
            "tweets": [sim.tweet(t["by"], t["text"])["id"] for t in b.get("tweets", [])],
            "dms": [sim.dm(d["by"], d["text"])["id"] for d in b.get("dms", [])],
        },
    )
    control(
        "/_sim/tweets", lambda b: sim.tweet(b["by"], b["text"], reply_to=b.get("reply_to"), quote_of=b.get("quote_of"))
    )
    control("/_sim/edit", lambda b: sim.edit(b["id"], b["text"]))
    control("/_sim/retweet", lambda b: sim.retweet(b["by"], b["id"]))

    def delete(b: dict[str, Any]) -> dict[str, Any]:
        sim.delete(b["id"])
        return {}

    def rename(b: dict[str, Any]) -> dict[str, Any]:
        sim.rename(b["handle"], b["to"])
        return {}

    def fault(b: dict[str, Any]) -> dict[str, Any]:
        sim.inject(b["endpoint"], int(b["status"]), int(b.get("times", 1)))
        return {}

    control("/_sim/delete", delete)
    control("/_sim/dm", lambda b: sim.dm(b["by"], b["text"], b.get("to")))
    control("/_sim/rename", rename)
    control("/_sim/fault", fault)
    control("/_sim/messages", lambda _b: sim.bot_messages(), "GET")
    control("/_sim/log", lambda _b: sim.log, "GET")
    control(
        "/_sim/stats",
        lambda _b: {
            "posts": len(sim.posts),
            "dms": len(sim.dms),
            "requests": len(sim.log),
            "violations": sim.violations,
        },
        "GET",
    )
    return app
