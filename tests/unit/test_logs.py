"""Log lines: JSON with context off a terminal, and never a secret."""

from __future__ import annotations

import json
import logging

import pytest

from bot import logs


@pytest.fixture(autouse=True)
def restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)


def test_a_secret_in_a_line_is_masked(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("INFO", secrets=["tok-1234567"], json_lines=True)
    logging.getLogger("bot.test").warning(
        "request to %s failed with token %s",
        "X",
        "tok-1234567",
        extra={"transfer_id": 7, "tweet_id": "99", "user_id": "5"},
    )
    line = json.loads(capsys.readouterr().err.strip())
    assert line["message"] == "request to X failed with token ***"
    assert (line["transfer_id"], line["tweet_id"], line["user_id"], line["level"]) == (7, "99", "5", "warning")


def test_a_traceback_holding_a_secret_is_withheld(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("INFO", secrets=["sk_live_abcdef"], json_lines=False)
    try:
        raise RuntimeError("bad key sk_live_abcdef")
    except RuntimeError:
        logging.getLogger("bot.test").exception("provider call failed")
    err = capsys.readouterr().err
    assert "sk_live_abcdef" not in err and "traceback withheld" in err
