"""The operator's console in `paybot web`, under /console: what `paybot status`, `transfers`, `show`, `users` and
`reconcile` say, charts of the last 30 days, and pause, resume, cancel and refund behind a confirmation page.

`register(app, store=..., clock=..., service=...)` adds it to the app (`create_app(..., console=...)`).
- Off until an operator exists (`paybot operator add NAME`): every /console address answers 404 until then.
- Every page but the sign-in page needs a session (bot.console.operators); without one, or with one that ended, the
  browser is sent to the sign-in page, which says when a session ended.
- Every form carries the session's CSRF token (bot.web.security), the sign-in form included; a form without it
  changes nothing and gets a page saying so.
- Each confirmation page's form carries a single-use token bound to what the page said (bot.console.actions): the
  POST does exactly that, once, and answers with a 303 to /console/done/<id>, which says what it did (a reload
  shows it again; a second POST of the same page does nothing and is sent there, which says so).
- The actions call the use cases the CLI calls (`Service.set_paused`, `operator_cancel`, `operator_refund`), after
  a confirmation page asking the CLI's question (bot.admin); what they did is written on the transfer's timeline
  with the operator's name, and logged.
- The console is in English, like the CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, abort, redirect, request, session, url_for

from bot.console import operators
from bot.console.confirming import Actions, add_actions
from bot.console.context import SESSION_KEY, Console
from bot.console.views import CHARTS_CACHE, Views, add_views
from bot.ports import Clock
from bot.repo.sql import SqlStore
from bot.service import Service
from bot.web import security

log = logging.getLogger(__name__)

OPEN = {"sign_in"}  # the endpoints reachable without a session
# The console's routes: rule -> methods (HEAD and OPTIONS aside).
ROUTES = {
    "/console/": {"GET"},
    "/console/sign-in": {"GET", "POST"},
    "/console/sign-out": {"POST"},
    "/console/health": {"GET"},
    "/console/charts": {"GET"},
    "/console/transfers": {"GET"},
    "/console/transfers/<int:transfer_id>": {"GET"},
    "/console/people/<handle>": {"GET"},
    "/console/reconciliation": {"GET"},
    "/console/pause": {"GET", "POST"},
    "/console/resume": {"GET", "POST"},
    "/console/transfers/<int:transfer_id>/cancel": {"GET", "POST"},
    "/console/transfers/<int:transfer_id>/refund": {"GET", "POST"},
    "/console/done/<int:action_id>": {"GET"},
}


def register(
    app: Flask,
    *,
    store: SqlStore,
    clock: Clock,
    service: Service | Callable[[], Service],
    currency: str = "USD",
    budget_usd: float = 5.0,
) -> None:
    """Add the console to `app`. `service` (or a function making it, called at the first action) runs the
    actions; `currency` is the one the money chart counts, `budget_usd` X's daily budget on the cost chart. The
    views are bot.console.views', the actions bot.console.confirming's."""
    bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
    console = Console(store, clock, service)
    page = console.page

    @bp.before_request
    def guard() -> Response | None:
        if not operators.any_operator(store):
            abort(404)
        if request.method == "POST" and not security.csrf_ok(session, request.form.get(security.CSRF_FIELD)):
            log.warning("a console form was refused: no valid CSRF token")
            return page("refused.html", 400)
        token = session.get(SESSION_KEY)
        name = operators.operator_of(store, token if isinstance(token, str) else None, clock.now())
        request.operator = name  # type: ignore[attr-defined]
        if name is None and request.endpoint not in {f"console.{e}" for e in OPEN}:
            ended = token is not None
            session.pop(SESSION_KEY, None)
            return redirect(url_for("console.sign_in", ended=1 if ended else None), code=303)  # type: ignore[return-value]
        return None

    drawn_at: dict[str, tuple[datetime, Any]] = app.extensions.setdefault(CHARTS_CACHE, {})
    add_views(bp, Views(store, clock, console.the_service, drawn_at=drawn_at, currency=currency, budget_usd=budget_usd))
    add_actions(bp, Actions(store, clock, console.the_service))
    app.register_blueprint(bp)

    @app.template_filter("when")
    def when(value: str | None) -> str:
        """An ISO time as "2026-12-07 10:30 UTC" (the store's times are UTC)."""
        if not value:
            return ""
        return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M:%S} UTC"
