"""The console's views: signing in and out, the worker's health, the charts, transfers, a transfer, a person, and
the last reconciliation; they read, and change nothing but the operator's session."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, redirect, request, session, url_for

from bot import admin
from bot.config import parse_duration
from bot.console import charts, operators
from bot.console import read as console_read
from bot.console.context import SESSION_KEY, Console
from bot.domain import Status
from bot.ports import Clock
from bot.repo.sql import SqlStore
from bot.service import Service
from bot.web import security

log = logging.getLogger("bot.console.pages")  # the console's one log, for its views and its actions

STATUSES = [s.value for s in Status]
# The charts are drawn at most once a minute and kept in the app, under app.extensions[CHARTS_CACHE]; the page says
# when they were drawn. (A drawing counts only the hours since those kept in chart_hour: bot.console.read.charts.)
CHARTS_CACHE = "paybot_console_charts"
CHARTS_FRESH = timedelta(minutes=1)


class Views(Console):
    """The views, each a method; `drawn_at` keeps the charts last drawn, `currency` is the one the money chart
    counts, `budget_usd` X's daily budget on the cost chart."""

    def __init__(
        self,
        store: SqlStore,
        clock: Clock,
        service: Service | Callable[[], Service],
        *,
        drawn_at: dict[str, tuple[datetime, Any]],
        currency: str,
        budget_usd: float,
    ) -> None:
        super().__init__(store, clock, service)
        self.drawn_at = drawn_at
        self.currency = currency
        self.budget_usd = budget_usd

    def sign_in(self) -> Response:
        if request.method == "GET":
            return self.page("sign_in.html", ended=request.args.get("ended") == "1", refusal=None)
        outcome = operators.sign_in(
            self.store,
            request.form.get("name", ""),
            request.form.get("password", ""),
            request.form.get("code", ""),
            request.remote_addr or "",
            self.clock.now(),
        )
        if outcome.token is None:
            log.warning("console sign-in refused (%s)", outcome.refusal)
            return self.page(
                "sign_in.html", 429 if outcome.refusal == "limited" else 401, ended=False, refusal=outcome.refusal
            )
        session.clear()  # a new session: nothing of the one before carries over
        session[SESSION_KEY] = outcome.token
        security.csrf_token(session)
        log.info("an operator signed in to the console")
        return redirect(url_for("console.health"), code=303)  # type: ignore[return-value]

    def sign_out(self) -> Response:
        token = session.get(SESSION_KEY)
        operators.sign_out(self.store, token if isinstance(token, str) else None)
        session.clear()
        return redirect(url_for("console.sign_in"), code=303)  # type: ignore[return-value]

    def home(self) -> Response:
        return redirect(url_for("console.health"), code=303)  # type: ignore[return-value]

    def health(self) -> Response:
        return self.page("health.html", status=admin.status(self.store, self.clock.now()))

    def activity(self) -> Response:
        now = self.clock.now()
        held = self.drawn_at.get("charts")
        if held is None or not held[0] <= now < held[0] + CHARTS_FRESH:
            self.drawn_at["charts"] = held = (now, self.draw(now))
        return self.page("charts.html", charts=held[1], days=console_read.DAYS, drawn=held[0].isoformat())

    def draw(self, now: datetime) -> list[tuple[str, Any]]:
        data = console_read.charts(self.store, now, self.currency)
        made: list[tuple[str, Any, dict[str, Any]]] = [
            ("Transfers made per day", data["made"], {}),
            (f"Money moved per day ({self.currency}, completed or held)", data["moved"], {"unit": f" {self.currency}"}),
            ("X requests per day (messages sent; today: every request)", data["requests"], {}),
            (
                "X's estimated cost per day (USD)",
                data["usd"],
                {"unit": " USD", "limit": self.budget_usd, "limit_label": "budget"},
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

    def transfers(self) -> Response:
        status = request.args.get("status") or None
        person = (request.args.get("person") or "").strip() or None
        since_text = (request.args.get("since") or "").strip()
        problem, since = None, None
        if status and status not in STATUSES:
            problem, status = f"there is no status {status!r}", None
        if since_text:
            try:
                since = self.clock.now() - parse_duration(since_text)
            except ValueError as err:
                problem = str(err)
        found = console_read.transfers(
            self.store, status=status, person=person, since=since, after=request.args.get("after")
        )
        more = None
        if found.next:
            more = url_for(
                "console.transfers", status=status, person=person, since=since_text or None, after=found.next
            )
        return self.page(
            "transfers.html",
            rows=found.rows,
            more=more,
            statuses=STATUSES,
            problem=problem,
            chosen={"status": status or "", "person": person or "", "since": since_text},
        )

    def transfer(self, transfer_id: int) -> Response:
        data = admin.show(self.store, transfer_id)
        if data is None:
            return self.page("missing.html", 404, what=f"There is no transfer {transfer_id}.")
        return self.page("transfer.html", t=data, done=request.args.get("done"))

    def person(self, handle: str) -> Response:
        data = admin.user(self.store, handle, self.the_service().policy, self.clock.now())
        if data is None:
            return self.page("missing.html", 404, what=f"paybot has never seen @{handle.lstrip('@')}.")
        recent = console_read.transfers(self.store, person=handle, size=20)
        return self.page(
            "person.html",
            u=data,
            rows=recent.rows,
            more=url_for("console.transfers", person=data["handle"]) if recent.next else None,
        )

    def reconciliation(self) -> Response:
        return self.page("reconciliation.html", found=console_read.reconciled(self.store))


def add_views(bp: Blueprint, views: Views) -> None:
    """The views' routes on `bp` (endpoint names are the methods')."""
    for rule, view, methods in (
        ("/sign-in", views.sign_in, ["GET", "POST"]),
        ("/sign-out", views.sign_out, ["POST"]),
        ("/", views.home, ["GET"]),
        ("/health", views.health, ["GET"]),
        ("/charts", views.activity, ["GET"]),
        ("/transfers", views.transfers, ["GET"]),
        ("/transfers/<int:transfer_id>", views.transfer, ["GET"]),
        ("/people/<handle>", views.person, ["GET"]),
        ("/reconciliation", views.reconciliation, ["GET"]),
    ):
        bp.add_url_rule(rule, view_func=view, methods=methods)
