"""What the SQL store raises when it cannot be used (unreachable, refused, a malformed URL), for the CLI to say in
one line: SQLAlchemy's base error, under the store's own name; and `UnknownWord`, a stored word none of its enum's."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError as StoreError

__all__ = ["StoreError", "UnknownWord"]


class UnknownWord(ValueError):
    """A column under a domain enum's CHECK (user.privacy, transfer.status...) holds a word that is none of the
    enum's members: a row edited by hand, or written by another version of paybot. Raised when the row is read,
    naming the table, the column and the word; the CLI says it in one line (a ValueError)."""
