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
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Flask, Response, abort, redirect, render_template, request, session, url_for

from bot import admin
from bot.config import parse_duration
from bot.console import actions, charts, operators
from bot.console import read as console_read
from bot.domain import Status
from bot.domain.entities import TransferEvent
from bot.errors import CommandError
from bot.money import Money, parse_minor
from bot.ports import Clock
from bot.repo.sql import SqlStore
from bot.service import Service
from bot.web import security

log = logging.getLogger(__name__)

SESSION_KEY = "op"
STATUSES = [s.value for s in Status]
OPEN = {"sign_in"}  # the endpoints reachable without a session
# The charts are drawn at most once a minute and kept in the app, under app.extensions[CHARTS_CACHE]; the page says
# when they were drawn. (A drawing counts only the hours since those kept in chart_hour: bot.console.read.charts.)
CHARTS_CACHE = "paybot_console_charts"
CHARTS_FRESH = timedelta(minutes=1)
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


def register(  # noqa: C901
    app: Flask,
    *,
    store: SqlStore,
    clock: Clock,
    service: Service | Callable[[], Service],
    currency: str = "USD",
    budget_usd: float = 5.0,
) -> None:
    """Add the console to `app`. `service` (or a function making it, called at the first action) runs the
    actions; `currency` is the one the money chart counts, `budget_usd` X's daily budget on the cost chart."""
    bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
    made: list[Service] = []

    def the_service() -> Service:
        if not made:
            made.append(service if isinstance(service, Service) else service())
        return made[0]

    def page(template: str, code: int = 200, **context: Any) -> Response:
        html = render_template(
            f"console/{template}",
            operator=getattr(request, "operator", None),
            csrf=security.csrf_token(session),
            **context,
        )
        return Response(html, status=code, mimetype="text/html")

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

    @bp.route("/sign-in", methods=["GET", "POST"])
    def sign_in() -> Response:
        if request.method == "GET":
            return page("sign_in.html", ended=request.args.get("ended") == "1", refusal=None)
        outcome = operators.sign_in(
            store,
            request.form.get("name", ""),
            request.form.get("password", ""),
            request.form.get("code", ""),
            request.remote_addr or "",
            clock.now(),
        )
        if outcome.token is None:
            log.warning("console sign-in refused (%s)", outcome.refusal)
            return page(
                "sign_in.html", 429 if outcome.refusal == "limited" else 401, ended=False, refusal=outcome.refusal
            )
        session.clear()  # a new session: nothing of the one before carries over
        session[SESSION_KEY] = outcome.token
        security.csrf_token(session)
        log.info("an operator signed in to the console")
        return redirect(url_for("console.health"), code=303)  # type: ignore[return-value]

    @bp.post("/sign-out")
    def sign_out() -> Response:
        token = session.get(SESSION_KEY)
        operators.sign_out(store, token if isinstance(token, str) else None)
        session.clear()
        return redirect(url_for("console.sign_in"), code=303)  # type: ignore[return-value]

    @bp.get("/")
    def home() -> Response:
        return redirect(url_for("console.health"), code=303)  # type: ignore[return-value]

    @bp.get("/health")
    def health() -> Response:
        return page("health.html", status=admin.status(store, clock.now()))

    drawn_at: dict[str, tuple[datetime, Any]] = app.extensions.setdefault(CHARTS_CACHE, {})

    @bp.get("/charts")
    def activity() -> Response:
        now = clock.now()
        held = drawn_at.get("charts")
        if held is None or not held[0] <= now < held[0] + CHARTS_FRESH:
            drawn_at["charts"] = held = (now, draw(now))
        return page("charts.html", charts=held[1], days=console_read.DAYS, drawn=held[0].isoformat())

    def draw(now: datetime) -> list[tuple[str, Any]]:
        data = console_read.charts(store, now, currency)
        made: list[tuple[str, Any, dict[str, Any]]] = [
            ("Transfers made per day", data["made"], {}),
            (f"Money moved per day ({currency}, completed or held)", data["moved"], {"unit": f" {currency}"}),
            ("X requests per day (messages sent; today: every request)", data["requests"], {}),
            (
                "X's estimated cost per day (USD)",
                data["usd"],
                {"unit": " USD", "limit": budget_usd, "limit_label": "budget"},
            ),
            (
                "DMs sent in the busiest 15-minute window of each hour",
                data["dms"],
                {"limit": console_read.DM_ALLOWANCE, "limit_label": "X's allowance", "hourly": True},
            ),
            ("Messages waiting to go out, per hour", data["queue"], {"hourly": True}),
            ("Failed payments per hour", data["errors"], {"hourly": True}),
        ]
        return [(title, charts.chart(series, title, **options)) for title, series, options in made]

    @bp.get("/transfers")
    def transfers() -> Response:
        status = request.args.get("status") or None
        person = (request.args.get("person") or "").strip() or None
        since_text = (request.args.get("since") or "").strip()
        problem, since = None, None
        if status and status not in STATUSES:
            problem, status = f"there is no status {status!r}", None
        if since_text:
            try:
                since = clock.now() - parse_duration(since_text)
            except ValueError as err:
                problem = str(err)
        found = console_read.transfers(
            store, status=status, person=person, since=since, after=request.args.get("after")
        )
        more = None
        if found.next:
            more = url_for(
                "console.transfers", status=status, person=person, since=since_text or None, after=found.next
            )
        return page(
            "transfers.html",
            rows=found.rows,
            more=more,
            statuses=STATUSES,
            problem=problem,
            chosen={"status": status or "", "person": person or "", "since": since_text},
        )

    @bp.get("/transfers/<int:transfer_id>")
    def transfer(transfer_id: int) -> Response:
        data = admin.show(store, transfer_id)
        if data is None:
            return page("missing.html", 404, what=f"There is no transfer {transfer_id}.")
        return page("transfer.html", t=data, done=request.args.get("done"))

    @bp.get("/people/<handle>")
    def person(handle: str) -> Response:
        data = admin.user(store, handle, the_service().policy, clock.now())
        if data is None:
            return page("missing.html", 404, what=f"paybot has never seen @{handle.lstrip('@')}.")
        recent = console_read.transfers(store, person=handle, size=20)
        return page(
            "person.html",
            u=data,
            rows=recent.rows,
            more=url_for("console.transfers", person=data["handle"]) if recent.next else None,
        )

    @bp.get("/reconciliation")
    def reconciliation() -> Response:
        return page("reconciliation.html", found=console_read.reconciled(store))

    # ------------------------------------------------------------ actions: a confirmation page, then the POST

    def confirm(
        question: str,
        action: str,
        back: str,
        *,
        kind: str,
        transfer_id: int | None = None,
        amount_minor: int | None = None,
        **fields: Any,
    ) -> Response:
        """The confirmation page: its form carries a single-use token bound to what `question` says
        (bot.console.actions); the POST does that, once."""
        token = actions.issue(
            store,
            request.operator,  # type: ignore[attr-defined]
            kind,
            transfer_id,
            amount_minor,
            question,
            clock.now(),
            session=session[SESSION_KEY],
        )
        return page(
            "confirm.html", question=question, action=action, back=back, fields={**fields, actions.FIELD: token}
        )

    def spend(kind: str, transfer_id: int | None = None) -> actions.Claim | Response:
        """Spend the posted form's token: the claim when fresh; otherwise the answer (a 303 to what it did the
        first time, or a page saying this form confirms nothing)."""
        claimed = actions.claim(
            store,
            request.form.get(actions.FIELD),
            request.operator,  # type: ignore[attr-defined]
            kind,
            transfer_id,
            clock.now(),
            session=session.get(SESSION_KEY),
        )
        if claimed.fresh:
            return claimed
        if claimed.used:
            log.warning(
                "operator %s posted a used console confirmation again (%s): nothing done",
                request.operator,  # type: ignore[attr-defined]
                kind,
            )
            return redirect(url_for("console.result", action_id=claimed.id, again=1), code=303)  # type: ignore[return-value]
        return page(
            "outcome.html",
            400,
            ok=False,
            back=url_for("console.health"),
            back_label="Back to the console",
            message=(
                "This form confirms nothing paybot asked you (no confirmation token, an unknown or "
                "expired one, one shown for another action or in another session, or your session ended "
                "or your account was removed meanwhile): nothing was done. Ask again from the console's page."
            ),
        )

    @bp.route("/pause", methods=["GET", "POST"])
    def pause() -> Response:
        return _pausing(True)

    @bp.route("/resume", methods=["GET", "POST"])
    def resume() -> Response:
        return _pausing(False)

    def _pausing(on: bool) -> Response:
        here, kind = url_for("console.pause" if on else "console.resume"), "pause" if on else "resume"
        if request.method == "GET":
            return confirm(
                admin.PAUSE_QUESTION if on else admin.RESUME_QUESTION, here, url_for("console.health"), kind=kind
            )
        claimed = spend(kind)
        if not isinstance(claimed, actions.Claim):
            return claimed
        the_service().set_paused(on)
        if claimed.id is None:  # cannot happen: a stored claim has its id
            raise RuntimeError("the confirmation's row has no id")
        actions.record(store, claimed.id, True, f"payments {'paused' if on else 'resumed'}")
        log.warning("payments %s by operator %s in the console", "paused" if on else "resumed", request.operator)  # type: ignore[attr-defined]
        return redirect(url_for("console.health"), code=303)  # type: ignore[return-value]

    @bp.route("/transfers/<int:transfer_id>/cancel", methods=["GET", "POST"])
    def cancel(transfer_id: int) -> Response:
        back = url_for("console.transfer", transfer_id=transfer_id)
        if request.method == "GET":
            return confirm(
                admin.cancel_question(transfer_id), request.path, back, kind="cancel", transfer_id=transfer_id
            )
        claimed = spend("cancel", transfer_id)
        if not isinstance(claimed, actions.Claim):
            return claimed
        ok, message = the_service().operator_cancel(transfer_id)
        return _done(claimed, transfer_id, ok, message, "cancel")

    @bp.route("/transfers/<int:transfer_id>/refund", methods=["GET", "POST"])
    def refund(transfer_id: int) -> Response:
        back = url_for("console.transfer", transfer_id=transfer_id)
        service = the_service()
        if request.method == "POST":  # the amount is the one the page showed, bound to its token: not the form's
            claimed = spend("refund", transfer_id)
            if not isinstance(claimed, actions.Claim):
                return claimed
            t = service.refund_plan(transfer_id)[0]
            shown = claimed.amount_minor or 0
            if t is None:
                ok, message, what = False, f"no transfer {transfer_id}", "refund"
            elif shown <= 0:
                ok, message, what = False, f"transfer {transfer_id}: nothing was left to refund", "refund"
            else:
                ok, message = service.operator_refund(transfer_id, shown, finish_interrupted=False)
                what = f"refund of {Money(shown, t.currency)}"
            return _done(claimed, transfer_id, ok, message, what)
        t, refunded, left = service.refund_plan(transfer_id)
        if t is None:
            return page("missing.html", 404, what=f"There is no transfer {transfer_id}.")
        amount = (request.values.get("amount") or "").strip()
        minor = None
        if amount:
            try:
                minor = parse_minor(amount, t.currency)
            except CommandError as err:
                return page(
                    "transfer.html", 422, t=admin.show(store, transfer_id), done=None, refund_error=f"{amount!r}: {err}"
                )
        return confirm(
            admin.refund_question(transfer_id, t, refunded, minor, left),
            request.path,
            back,
            kind="refund",
            transfer_id=transfer_id,
            amount_minor=minor if minor is not None else max(left, 0),
            amount=amount,
        )

    def _done(claimed: actions.Claim, transfer_id: int, ok: bool, message: str, what: str) -> Response:
        name = request.operator  # type: ignore[attr-defined]
        log.warning("operator %s in the console: %s of transfer %s: %s", name, what, transfer_id, message)
        with store() as s:
            t = s.transfers.get(transfer_id)
            if t is not None:
                s.add(
                    TransferEvent(
                        transfer_id=transfer_id,
                        at=clock.now(),
                        status=t.status,
                        note=f"{what} asked by operator {name} in the console: {message}",
                    )
                )
                s.commit()
        if claimed.id is None:  # cannot happen: a stored claim has its id
            raise RuntimeError("the confirmation's row has no id")
        actions.record(store, claimed.id, ok, message)
        return redirect(url_for("console.result", action_id=claimed.id), code=303)  # type: ignore[return-value]

    @bp.get("/done/<int:action_id>")
    def result(action_id: int) -> Response:
        """What a confirmed action did (the POST's 303 leads here: a reload shows this again, doing nothing)."""
        row = actions.result(store, action_id, request.operator)  # type: ignore[attr-defined]
        if row is None:
            return page("missing.html", 404, what="There is no such action of yours.")
        on_transfer = row.transfer_id is not None
        back = url_for("console.transfer", transfer_id=row.transfer_id) if on_transfer else url_for("console.health")
        message = row.outcome if row.outcome is not None else "it has no outcome (it was interrupted): look again"
        return page(
            "outcome.html",
            200 if row.ok else 409,
            ok=bool(row.ok),
            message=message,
            back=back,
            question=row.question,
            again=request.args.get("again") == "1",
            back_label=None if on_transfer else "Back to the console",
        )

    app.register_blueprint(bp)

    @app.template_filter("when")
    def when(value: str | None) -> str:
        """An ISO time as "2026-12-07 10:30 UTC" (the store's times are UTC)."""
        if not value:
            return ""
        return f"{datetime.fromisoformat(value):%Y-%m-%d %H:%M:%S} UTC"
