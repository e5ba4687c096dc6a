"""The HTTP face of the Mastodon simulator: Mastodon's REST routes and the /_sim control API."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Flask, Response, jsonify, request

from bot.sims.kit import TIMEOUT, bearer_token, iso_millis, link_header, quiet_app, take_fault
from bot.sims.mastodon.statuses import MastodonStatuses

# Mastodon's routes and the simulator's name for each (rate limits, faults, the request log).
ROUTES: dict[str, str] = {
    "GET /api/v1/accounts/verify_credentials": "verify_credentials",
    "GET /api/v1/apps/verify_credentials": "app_verify_credentials",
    "GET /api/v2/instance": "instance",
    "GET /api/v1/notifications": "notifications",
    "POST /api/v1/statuses": "status_post",
    "PUT /api/v1/statuses/:id": "status_update",
    "GET /api/v1/statuses/:id": "status",
    "DELETE /api/v1/statuses/:id": "status_delete",
    "GET /api/v1/statuses/:id/history": "status_history",
    "GET /api/v1/accounts/lookup": "account_lookup",
    "GET /api/v2/search": "search",
    "GET /api/v1/accounts": "accounts",
    "GET /api/v1/accounts/:id": "account",
    "GET /api/v1/accounts/:id/statuses": "account_statuses",
}
MAX_LIMIT = 80  # Mastodon caps `limit` at twice its default of 40 for notifications
STREAM_POLL = 0.05  # seconds between two looks at the state for the user stream


def _error(status: int, message: str) -> Response:
    resp = jsonify({"error": message})
    resp.status_code = status
    return resp


def _page(items: list[dict[str, Any]], default: int = 40) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One page of newest-first `items` (each with an "id") by max_id / since_id / min_id / limit, and the
    ids its Link header points to."""
    limit = max(1, min(int(request.args.get("limit", default)), MAX_LIMIT))
    max_id, since_id, min_id = (request.args.get(k) for k in ("max_id", "since_id", "min_id"))
    chosen = [
        i
        for i in items
        if (not max_id or int(i["id"]) < int(max_id)) and (not since_id or int(i["id"]) > int(since_id))
    ]
    if min_id:  # the page just after min_id (oldest of the newer ones), still newest first
        chosen = [i for i in chosen if int(i["id"]) > int(min_id)][-limit:]
    else:
        chosen = chosen[:limit]
    links = {"next": chosen[-1]["id"], "prev": chosen[0]["id"]} if chosen else {}
    return chosen, links


def _with_links(body: list[dict[str, Any]], links: dict[str, str]) -> Response:
    resp = jsonify(body)
    if links:
        args = {k: v for k, v in request.args.items(multi=True) if k not in ("max_id", "since_id", "min_id")}
        resp.headers["Link"] = link_header(
            request.base_url,
            [
                ("next", [*args.items(), ("max_id", links["next"])]),
                ("prev", [*args.items(), ("min_id", links["prev"])]),
            ],
        )
    return resp


def build(sim: MastodonStatuses) -> Flask:  # noqa: C901
    """The Flask app over `sim`."""
    app = quiet_app("mastodon-sim")

    def api(endpoint: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        """Authenticate, count against the account's rate limit, inject faults, log."""

        def wrap(fn: Callable[..., Response]) -> Callable[..., Response]:
            @wraps(fn)
            def handler(**kwargs: Any) -> Response:
                viewer = sim.tokens.get(bearer_token() or "")
                with sim.lock:
                    if viewer is None:
                        resp = _error(401, "The access token is invalid")
                    else:
                        window = sim.rate(viewer)
                        fault = take_fault(sim.faults, endpoint)
                        if (window and window[1] < 0) or fault == 429:
                            resp = _error(429, "Too many requests")
                        elif fault and fault != TIMEOUT:
                            resp = _error(fault, "Internal server error")
                        else:
                            resp = fn(viewer, **kwargs)
                        if window:
                            resp.headers["X-RateLimit-Limit"] = str(window[0])
                            resp.headers["X-RateLimit-Remaining"] = str(max(window[1], 0))
                            resp.headers["X-RateLimit-Reset"] = iso_millis(window[2])
                    sim.log.append(
                        {
                            "at": iso_millis(sim.clock.now()),
                            "endpoint": endpoint,
                            "method": request.method,
                            "status": resp.status_code,
                        }
                    )
                    return resp

            return handler

        return wrap

    def form() -> dict[str, Any]:
        return dict(request.get_json(silent=True) or request.form or {})

    @app.get("/api/v1/accounts/verify_credentials")
    @api("verify_credentials")
    def verify_credentials(viewer: str) -> Response:
        me = sim.render_account(viewer)
        me["role"] = {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False}
        me["source"] = {
            "privacy": "public",
            "sensitive": False,
            "language": "en",
            "note": "",
            "fields": [],
            "follow_requests_count": 0,
            "hide_collections": False,
            "discoverable": True,
            "indexable": False,
            "attribution_domains": [],
            "quote_policy": "public",
        }
        return jsonify(me)

    @app.get("/api/v1/apps/verify_credentials")
    @api("app_verify_credentials")
    def app_verify_credentials(viewer: str) -> Response:
        """The token's application, with the scopes it was granted (Mastodon 4.3+)."""
        return jsonify(
            {
                "id": "1",
                "name": "paybot",
                "website": None,
                "scopes": list(sim.scopes),
                "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"],
                "vapid_key": "",
            }
        )

    @app.get("/api/v2/instance")
    @app.get("/api/v2/instance/")
    @api("instance")
    def instance(viewer: str) -> Response:
        return jsonify(sim.render_instance(request.host_url.rstrip("/")))

    @app.get("/api/v1/notifications")
    @api("notifications")
    def notifications(viewer: str) -> Response:
        types = request.args.getlist("types[]") or request.args.getlist("types")
        exclude = request.args.getlist("exclude_types[]")
        mine = [
            n
            for n in reversed(sim.notifications)
            if n["to"] == viewer and (not types or n["type"] in types) and n["type"] not in exclude
        ]
        chosen, links = _page(mine)
        return _with_links([sim.render_notification(n) for n in chosen], links)

    def status_text(viewer: str, text: Any, reply_to: str | None) -> Response | None:
        if not isinstance(text, str) or not text.strip():
            return _error(422, "Validation failed: Text can't be blank")
        if sim.countable(text) > sim.max_characters:
            return _error(422, f"Validation failed: Text character limit of {sim.max_characters} exceeded")
        if reply_to and (reply_to not in sim.statuses or not sim.visible(sim.statuses[reply_to], viewer)):
            return _error(404, "Record not found")
        return None

    @app.post("/api/v1/statuses")
    @api("status_post")
    def status_post(viewer: str) -> Response:
        data = form()
        text, reply_to = data.get("status"), data.get("in_reply_to_id") or None
        visibility = data.get("visibility") or "public"
        if visibility not in ("public", "unlisted", "private", "direct"):
            return _error(422, "Validation failed: Visibility is not included in the list")
        key = request.headers.get("Idempotency-Key")
        again = sim.remembered(viewer, key)
        if again:
            return jsonify(sim.render_status(again))
        refused = status_text(viewer, text, reply_to)
        if refused:
            return refused
        status = sim.post("", str(text), visibility=visibility, reply_to=reply_to, as_id=viewer)
        if key:
            sim.idempotency[(viewer, key)] = {"status": status["id"], "at": sim.clock.now().timestamp()}
        return jsonify(sim.render_status(status))

    def own(viewer: str, status_id: str) -> dict[str, Any] | Response:
        status = sim.statuses.get(status_id)
        if status is None or not sim.visible(status, viewer):
            return _error(404, "Record not found")
        return status

    @app.put("/api/v1/statuses/<status_id>")
    @api("status_update")
    def status_update(viewer: str, status_id: str) -> Response:
        found = own(viewer, status_id)
        if isinstance(found, Response):
            return found
        if found["account_id"] != viewer:
            return _error(403, "This action is not allowed")
        text = form().get("status")
        refused = status_text(viewer, text, None)
        return refused or jsonify(sim.render_status(sim.edit(status_id, str(text))))

    @app.get("/api/v1/statuses/<status_id>")
    @api("status")
    def status(viewer: str, status_id: str) -> Response:
        found = own(viewer, status_id)
        return found if isinstance(found, Response) else jsonify(sim.render_status(found))

    @app.delete("/api/v1/statuses/<status_id>")
    @api("status_delete")
    def status_delete(viewer: str, status_id: str) -> Response:
        found = own(viewer, status_id)
        if isinstance(found, Response):
            return found
        if found["account_id"] != viewer:
            return _error(403, "This action is not allowed")
        body = sim.render_status(found)
        sim.delete(status_id)
        return jsonify(body)

    @app.get("/api/v1/statuses/<status_id>/history")
    @api("status_history")
    def status_history(viewer: str, status_id: str) -> Response:
        found = own(viewer, status_id)
        return found if isinstance(found, Response) else jsonify(sim.render_history(found))

    @app.get("/api/v1/accounts/lookup")
    @api("account_lookup")
    def account_lookup(viewer: str) -> Response:
        found = sim.known(request.args.get("acct", ""))  # skips WebFinger: only accounts this instance knows
        return jsonify(sim.render_account(found["id"])) if found else _error(404, "Record not found")

    @app.get("/api/v2/search")
    @api("search")
    def search(viewer: str) -> Response:
        """Accounts only (test_search.yaml's shape: accounts, statuses, hashtags, collections): the account whose
        acct `q` is first, resolved from its instance with `resolve=true` (true, 1) when this one has never seen
        it, then known accounts whose username begins as its does (a search also finds look-alikes); an account
        nobody has is no result, not an error."""
        q = request.args.get("q", "").strip().lstrip("@").lower()
        resolve = request.args.get("resolve", "").lower() in ("true", "1")
        if not q or request.args.get("type") not in (None, "accounts"):
            return jsonify({"accounts": [], "statuses": [], "hashtags": [], "collections": []})
        with sim.lock:
            exact = sim.resolve(q) if resolve and "@" in q else sim.known(q)
            alike = [
                a
                for a in sim.accounts.values()
                if a["known"] and a is not exact and str(a["username"]).lower().startswith(q.partition("@")[0])
            ]
            found = ([exact] if exact else []) + alike
            limit = max(1, min(int(request.args.get("limit", 5)), 40))
            return jsonify(
                {
                    "accounts": [sim.render_account(a["id"]) for a in found[:limit]],
                    "statuses": [],
                    "hashtags": [],
                    "collections": [],
                }
            )

    @app.get("/api/v1/accounts")
    @api("accounts")
    def accounts(viewer: str) -> Response:
        ids = request.args.getlist("id[]") or request.args.getlist("id")
        return jsonify([sim.render_account(i) for i in dict.fromkeys(ids) if i in sim.accounts])

    @app.get("/api/v1/accounts/<account_id>")
    @api("account")
    def account(viewer: str, account_id: str) -> Response:
        if account_id not in sim.accounts:
            return _error(404, "Record not found")
        return jsonify(sim.render_account(account_id))

    @app.get("/api/v1/accounts/<account_id>/statuses")
    @api("account_statuses")
    def account_statuses(viewer: str, account_id: str) -> Response:
        """The account's statuses, newest first; its own `direct` ones only to the account itself (Mastodon's
        AccountStatusesFilter: the author sees all of theirs)."""
        if account_id not in sim.accounts:
            return _error(404, "Record not found")
        theirs = [
            s
            for s in sorted(sim.statuses.values(), key=lambda s: -int(s["id"]))
            if s["account_id"] == account_id and (viewer == account_id or s["visibility"] in ("public", "unlisted"))
        ]
        chosen, links = _page(theirs, default=20)
        return _with_links([sim.render_status(s) for s in chosen], links)

    @app.get("/api/v1/streaming/user")
    def streaming_user() -> Response:
        """The user stream as server-sent events: each new notification of the token's account as a
        `notification` event (its payload the Notification entity), each edit of a status naming it as a
        `status.update` event (its payload the Status), and a heartbeat comment now and then. Statuses for the home
        timeline (`update`) are not sent: paybot has no use for them."""
        auth = request.headers.get("Authorization", "")
        viewer = sim.tokens.get(auth.removeprefix("Bearer ").strip())
        if viewer is None:
            return _error(401, "The access token is invalid")
        with sim.lock:
            seen = int(sim.notifications[-1]["id"]) if sim.notifications else 0
            edits_seen = len(sim.status_updates)

        def events() -> Iterator[str]:
            nonlocal seen, edits_seen
            with sim.lock:
                sim.streams += 1
            yield ":)\n\n"
            beats = 0
            while not sim.closing.wait(STREAM_POLL):
                with sim.lock:
                    new = [n for n in sim.notifications if int(n["id"]) > seen and n["to"] == viewer]
                    seen = max([seen, *(int(n["id"]) for n in sim.notifications)])
                    payloads = [("notification", json.dumps(sim.render_notification(n))) for n in new]
                    edited = [sid for _, to, sid in sim.status_updates[edits_seen:] if to == viewer]
                    edits_seen = len(sim.status_updates)
                    payloads += [
                        ("status.update", json.dumps(sim.render_status(sim.statuses[sid])))
                        for sid in edited
                        if sid in sim.statuses
                    ]
                for kind, payload in payloads:
                    yield f"event: {kind}\ndata: {payload}\n\n"
                beats += 1
                if beats % 100 == 0:
                    yield ":thump\n\n"

        return Response(events(), mimetype="text/event-stream")

    @app.get("/api/v1/streaming/health")
    def streaming_health() -> Response:
        """The streaming server's health check (test_stream_healthy.yaml): "OK". The streams themselves are not
        modelled."""
        return Response("OK", mimetype="text/plain")

    # ---------------------------------------------------------------- control

    @app.post("/_sim/users")
    def sim_user() -> Response:
        data = form()
        return jsonify({"id": sim.add_user(str(data["handle"]), data.get("name"))})

    @app.post("/_sim/statuses")
    def sim_post() -> Response:
        data = form()
        status = sim.post(
            str(data["by"]),
            str(data["text"]),
            visibility=str(data.get("visibility", "public")),
            reply_to=data.get("in_reply_to_id"),
        )
        return jsonify(sim.render_status(status))

    @app.post("/_sim/statuses/<status_id>/edit")
    def sim_edit(status_id: str) -> Response:
        data = form()
        late = data.get("edited_at")  # an edit federated late: made then (ISO 8601 with its offset), delivered now
        return jsonify(
            sim.render_status(
                sim.edit(status_id, str(data["text"]), edited_at=datetime.fromisoformat(str(late)) if late else None)
            )
        )

    @app.get("/_sim/messages")
    def sim_messages() -> Response:
        return jsonify(sim.bot_messages())

    return app
