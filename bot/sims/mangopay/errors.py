"""Mangopay's error answers: `MangopayError` (an HTTP status and Mangopay's error report) and the usual ones."""

from __future__ import annotations


class MangopayError(Exception):
    """An error answer: HTTP status and Mangopay's error report."""

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        errors_key: str = "errors",
    ) -> None:
        super().__init__(message)
        self.status, self.type, self.message, self.errors = status, type_, message, errors
        self.headers = headers or {}
        self.errors_key = errors_key  # the Recipients endpoints spell it "Errors" (create-recipient.mdx)


PARAM_MESSAGE = (
    "One or several required parameters are missing or incorrect. An incorrect resource ID also raises "
    "this kind of error."
)


def _param(message: str, **errors: str) -> MangopayError:
    return MangopayError(400, "param_error", message, errors or None)


def _missing(kind: str, oid: str) -> MangopayError:
    return MangopayError(
        404,
        "ressource_not_found",
        "Cannot found the ressource",
        {"RessourceNotFound": f"Cannot found the ressource {kind} with the id={oid} "},
    )
