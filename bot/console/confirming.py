"""The console's actions: pause, resume, cancel and refund, each a confirmation page whose form carries a
single-use token (bot.console.actions), then the POST that does it once, and the page saying what it did."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, redirect, request, session, url_for

from bot import admin
from bot.console import actions
from bot.console.context import SESSION_KEY, Console
from bot.domain.entities import TransferEvent
from bot.errors import CommandError
from bot.money import Money, parse_minor

log = logging.getLogger("bot.console.pages")  # the console's one log, for its views and its actions


class Actions(Console):
    """The actions, each a method answering the confirmation page (GET) and its form (POST)."""

    def confirm(
        self,
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
            self.store,
            request.operator,  # type: ignore[attr-defined]
            kind,
            transfer_id,
            amount_minor,
            question,
            self.clock.now(),
            session=session[SESSION_KEY],
        )
        return self.page(
            "confirm.html", question=question, action=action, back=back, fields={**fields, actions.FIELD: token}
        )

    def spend(self, kind: str, transfer_id: int | None = None) -> actions.Claim | Response:
        """Spend the posted form's token: the claim when fresh; otherwise the answer (a 303 to what it did the
        first time, or a page saying this form confirms nothing)."""
        claimed = actions.claim(
            self.store,
            request.form.get(actions.FIELD),
            request.operator,  # type: ignore[attr-defined]
            kind,
            transfer_id,
            self.clock.now(),
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
        return self.page(
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

    def pause(self) -> Response:
        return self._pausing(True)

    def resume(self) -> Response:
        return self._pausing(False)

    def _pausing(self, on: bool) -> Response:
        here, kind = url_for("console.pause" if on else "console.resume"), "pause" if on else "resume"
        if request.method == "GET":
            return self.confirm(
                admin.PAUSE_QUESTION if on else admin.RESUME_QUESTION, here, url_for("console.health"), kind=kind
            )
        claimed = self.spend(kind)
        if not isinstance(claimed, actions.Claim):
            return claimed
        self.the_service().set_paused(on)
        if claimed.id is None:  # cannot happen: a stored claim has its id
            raise RuntimeError("the confirmation's row has no id")
        actions.record(self.store, claimed.id, True, f"payments {'paused' if on else 'resumed'}")
        log.warning("payments %s by operator %s in the console", "paused" if on else "resumed", request.operator)  # type: ignore[attr-defined]
        return redirect(url_for("console.health"), code=303)  # type: ignore[return-value]

    def cancel(self, transfer_id: int) -> Response:
        back = url_for("console.transfer", transfer_id=transfer_id)
        if request.method == "GET":
            return self.confirm(
                admin.cancel_question(transfer_id), request.path, back, kind="cancel", transfer_id=transfer_id
            )
        claimed = self.spend("cancel", transfer_id)
        if not isinstance(claimed, actions.Claim):
            return claimed
        ok, message = self.the_service().operator_cancel(transfer_id)
        return self._done(claimed, transfer_id, ok, message, "cancel")

    def refund(self, transfer_id: int) -> Response:
        back = url_for("console.transfer", transfer_id=transfer_id)
        service = self.the_service()
        if request.method == "POST":  # the amount is the one the page showed, bound to its token: not the form's
            claimed = self.spend("refund", transfer_id)
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
            return self._done(claimed, transfer_id, ok, message, what)
        t, refunded, left = service.refund_plan(transfer_id)
        if t is None:
            return self.page("missing.html", 404, what=f"There is no transfer {transfer_id}.")
        amount = (request.values.get("amount") or "").strip()
        minor = None
        if amount:
            try:
                minor = parse_minor(amount, t.currency)
            except CommandError as err:
                return self.page(
                    "transfer.html",
                    422,
                    t=admin.show(self.store, transfer_id),
                    done=None,
                    refund_error=f"{amount!r}: {err}",
                )
        return self.confirm(
            admin.refund_question(transfer_id, t, refunded, minor, left),
            request.path,
            back,
            kind="refund",
            transfer_id=transfer_id,
            amount_minor=minor if minor is not None else max(left, 0),
            amount=amount,
        )

    def _done(self, claimed: actions.Claim, transfer_id: int, ok: bool, message: str, what: str) -> Response:
        name = request.operator  # type: ignore[attr-defined]
        log.warning("operator %s in the console: %s of transfer %s: %s", name, what, transfer_id, message)
        with self.store() as s:
            t = s.transfers.get(transfer_id)
            if t is not None:
                s.add(
                    TransferEvent(
                        transfer_id=transfer_id,
                        at=self.clock.now(),
                        status=t.status,
                        note=f"{what} asked by operator {name} in the console: {message}",
                    )
                )
                s.commit()
        if claimed.id is None:  # cannot happen: a stored claim has its id
            raise RuntimeError("the confirmation's row has no id")
        actions.record(self.store, claimed.id, ok, message)
        return redirect(url_for("console.result", action_id=claimed.id), code=303)  # type: ignore[return-value]

    def result(self, action_id: int) -> Response:
        """What a confirmed action did (the POST's 303 leads here: a reload shows this again, doing nothing)."""
        row = actions.result(self.store, action_id, request.operator, session.get(SESSION_KEY))  # type: ignore[attr-defined]
        if row is None:
            return self.page("missing.html", 404, what="There is no such action of yours.")
        on_transfer = row.transfer_id is not None
        back = url_for("console.transfer", transfer_id=row.transfer_id) if on_transfer else url_for("console.health")
        message = row.outcome if row.outcome is not None else "it has no outcome (it was interrupted): look again"
        return self.page(
            "outcome.html",
            200 if row.ok else 409,
            ok=bool(row.ok),
            message=message,
            back=back,
            question=row.question,
            again=request.args.get("again") == "1",
            back_label=None if on_transfer else "Back to the console",
        )


def add_actions(bp: Blueprint, console: Actions) -> None:
    """The actions' routes on `bp` (endpoint names are the methods')."""
    for rule, view, methods in (
        ("/pause", console.pause, ["GET", "POST"]),
        ("/resume", console.resume, ["GET", "POST"]),
        ("/transfers/<int:transfer_id>/cancel", console.cancel, ["GET", "POST"]),
        ("/transfers/<int:transfer_id>/refund", console.refund, ["GET", "POST"]),
        ("/done/<int:action_id>", console.result, ["GET"]),
    ):
        bp.add_url_rule(rule, view_func=view, methods=methods)
