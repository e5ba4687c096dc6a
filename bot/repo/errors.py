"""What the SQL store raises when it cannot be used (unreachable, refused, a malformed URL), for the CLI to say in
one line: SQLAlchemy's base error, under the store's own name."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError as StoreError

__all__ = ["StoreError"]
