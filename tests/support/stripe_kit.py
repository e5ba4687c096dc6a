"""The Stripe emulator for the Stripe tests (the fixture sim), its secrets, a free port, signed webhook bodies and raw
requests."""

from __future__ import annotations

import hashlib
import hmac
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bot.ports import FakeClock
from bot.sims.stripe import StripeSim

# Signing secrets of Stripe's shape ("whsec_" and 32 random characters), as config requires.
PLATFORM_SECRET = "whsec_sUIZXjs4eHSZkEbLfIVhxbxChGRlETUP"


CONNECT_SECRET = "whsec_Q6OE975wTrykRGCrpBt19y04qerWApy6"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sim() -> Iterator[StripeSim]:
    s = StripeSim(FakeClock())
    s.start()
    yield s
    s.stop()


def raw(sim: StripeSim, method: str, path: str, key: str | None = None, **data: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {key or sim.api_key}"}
    return requests.request(method, sim.base + path, data=data, headers=headers, timeout=10)


def _signed(body: str | bytes, secret: str, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    raw = body.encode() if isinstance(body, str) else body
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={mac}"}
