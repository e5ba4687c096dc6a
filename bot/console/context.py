"""What the console's pages share: the store, the clock, the service (made at the first action that needs it), the
operator's session key, and a page drawn from its template."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, render_template, request, session

from bot.ports import Clock
from bot.repo.sql import SqlStore
from bot.service import Service
from bot.web import security

SESSION_KEY = "op"


class Console:
    """The console's store, clock and service, for its views and actions."""

    def __init__(self, store: SqlStore, clock: Clock, service: Service | Callable[[], Service]) -> None:
        self.store = store
        self.clock = clock
        self._service = service
        self._made: list[Service] = []

    def the_service(self) -> Service:
        """The service (made by the function given, at the first call)."""
        if not self._made:
            self._made.append(self._service if isinstance(self._service, Service) else self._service())
        return self._made[0]

    def page(self, template: str, code: int = 200, **context: Any) -> Response:
        """The template `console/<template>` with the operator signed in and the session's CSRF token."""
        html = render_template(
            f"console/{template}",
            operator=getattr(request, "operator", None),
            csrf=security.csrf_token(session),
            **context,
        )
        return Response(html, status=code, mimetype="text/html")
