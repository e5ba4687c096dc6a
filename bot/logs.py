"""Logging: one JSON object per line when not on a terminal (for log collectors), readable when on one.

Lines about a transfer carry its transfer_id, tweet_id and user_id (pass them
with `extra=transfer_context(t)`). The secrets from the settings are never
written: a filter replaces any of them found in a line with "***".
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

CONTEXT = ("transfer_id", "tweet_id", "user_id")
# Libraries whose debug lines carry whole requests and answers (Stripe's hold card-page and
# onboarding links, which are bearer credentials, and memos): warnings only, at any LOG_LEVEL.
QUIET = (
    "tweepy",
    "urllib3",
    "requests_oauthlib",
    "oauthlib",
    "apscheduler",
    "werkzeug",
    "alembic",
    "stripe",
    "waitress",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in CONTEXT:
            if hasattr(record, key):
                out[key] = getattr(record, key)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


class ReadableFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ctx = " ".join(f"{k}={getattr(record, k)}" for k in CONTEXT if hasattr(record, k))
        return f"{line} [{ctx}]" if ctx else line


def redact(text: str, secrets: list[str]) -> str:
    """`text` with every secret (of 4 characters or more), longest first, replaced by ***."""
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class Redact(logging.Filter):
    """Replaces every secret value in a log line with ***."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s and len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        text = message + (logging.Formatter().formatException(record.exc_info) if record.exc_info else "")
        if any(s in text for s in self.secrets):
            record.msg, record.args = redact(message, self.secrets), ()
            if record.exc_info:
                record.exc_info = None
                record.msg += " (traceback withheld: it held a secret)"
        return True


def setup(level: str = "INFO", *, secrets: list[str] | None = None, json_lines: bool | None = None) -> None:
    """Configure the root logger once, for the worker and the CLI."""
    handler = logging.StreamHandler(sys.stderr)
    as_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    handler.setFormatter(JsonFormatter() if as_json else ReadableFormatter())
    handler.addFilter(Redact(secrets or []))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def transfer_context(t: Any) -> dict[str, Any]:
    """The `extra` for a log line about transfer t."""
    return {"transfer_id": t.id, "tweet_id": t.root_tweet_id, "user_id": t.sender_id}
