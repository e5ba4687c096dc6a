"""The X adapter's connections (bot.x.wire) against small servers on 127.0.0.1: a connection kept while the server
keeps it, a new one when it closes them, a kept one the server closed while idle replaced before anything is sent,
a refused connection and an answer that never comes taken as transient (a DM send left in doubt, looked up before
it is sent again), and HTTPS verified (an unknown certificate and a wrong host name refused)."""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest
from sqlmodel import select

from bot.domain.entities import Outbox
from bot.errors import XRateLimited, XTransient
from bot.repo.sql import SqlStore
from bot.sims.runner import Run
from bot.sims.x import TIMEOUT, XSim
from bot.x import wire
from bot.x.client import XClient

ANSWER = {"data": {"id": "1", "username": "paybot", "name": "Paybot", "dm_event_id": "9"}}


class Server(ThreadingHTTPServer):
    """An HTTP/1.1 server answering every request with ANSWER; it counts the connections it accepted and the
    requests it answered, and keeps a connection open unless `close` is set."""

    daemon_threads = True

    def __init__(self, close: bool = False, idle: float | None = None, encoding: str | None = None) -> None:
        self.close_each = close
        self.encoding = encoding
        self.connections = 0
        self.requests: list[tuple[str, str]] = []
        self.closed = threading.Semaphore(0)  # released when a connection's handler ends
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = idle  # a kept connection idle this long is closed by the server

            def setup(self) -> None:
                server.connections += 1
                super().setup()

            def finish(self) -> None:
                super().finish()
                server.closed.release()

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                server.requests.append((self.command, self.path))
                body = json.dumps(ANSWER).encode()
                self.send_response(201 if self.command == "POST" else 200)
                self.send_header("Content-Type", "application/json")
                if server.encoding == "gzip":
                    body = gzip.compress(body)
                    self.send_header("Content-Encoding", "gzip")
                elif server.encoding == "deflate":
                    body = zlib.compress(body)
                    self.send_header("Content-Encoding", "deflate")
                self.send_header("Content-Length", str(len(body)))
                if server.close_each:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    made: list[Server] = []
    yield made
    for s in made:
        s.stop()


def start(servers: list[Server], **kw: Any) -> Server:
    s = Server(**kw)
    servers.append(s)
    return s


def x_client(base: str, timeout: float = 5) -> XClient:
    return XClient(consumer_key="ck", consumer_secret="cs", access_token="at", access_token_secret="as",
                   base_url=base, timeout=timeout)  # fmt: skip


def test_a_connection_is_kept_while_the_server_keeps_it(servers: list[Server]) -> None:
    server = start(servers)
    x = x_client(server.base)
    try:
        assert x.me().handle == "paybot"
        assert x.send_dm("42", "hello") == "9"
        assert x.reply("7", "sent") == "1"
        assert x.me().id == "1"
    finally:
        x.close()
    assert [m for m, _ in server.requests] == ["GET", "POST", "POST", "GET"]
    assert server.connections == 1
    assert server.closed.acquire(timeout=10)  # closing the client closed it


def test_a_new_connection_when_the_server_closes_each(servers: list[Server]) -> None:
    server = start(servers, close=True)
    x = x_client(server.base)
    for _ in range(3):
        assert x.send_dm("42", "hello") == "9"
    assert server.connections == 3 and len(server.requests) == 3
    assert not x.client.wire._idle  # nothing kept: each was closed


def test_a_kept_connection_closed_while_idle_is_replaced_before_sending(servers: list[Server]) -> None:
    """The server closes a connection idle for 0.2 s; the next send (a POST, never sent twice) goes out on a new
    connection, not as a failure."""
    server = start(servers, idle=0.2)
    x = x_client(server.base)
    try:
        assert x.send_dm("42", "first") == "9"
        assert server.closed.acquire(timeout=10)  # the server has closed it
        time.sleep(0.05)  # and its end of file has reached this side
        assert x.send_dm("42", "second") == "9"
    finally:
        x.close()
    assert server.connections == 2 and len(server.requests) == 2


def test_a_connection_dropped_as_it_is_used_sends_a_get_again_and_a_post_never(
    servers: list[Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closed by the server just after the idle check (the check is made to miss it): a GET goes again on a new
    connection; a POST, which may have reached X, is a transient failure (the sender's "in doubt")."""
    server = start(servers, idle=0.2)
    monkeypatch.setattr(wire, "dropped", lambda conn: False)
    x = x_client(server.base)
    try:
        x.me()
        assert server.closed.acquire(timeout=10)
        time.sleep(0.05)
        assert x.client.get_me().json() == ANSWER  # tweepy's call, without the adapter's retries of a read
        assert server.connections == 2
        assert server.closed.acquire(timeout=10)
        time.sleep(0.05)
        with pytest.raises(XTransient):
            x.send_dm("42", "maybe")
    finally:
        x.close()
    assert [m for m, _ in server.requests] == ["GET", "GET"]


def test_a_refused_connection_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens there once it is closed
    with pytest.raises(XTransient, match="ConnectionError"):
        x_client(f"http://127.0.0.1:{port}").send_dm("42", "hello")


def test_an_answer_that_never_comes_is_a_transient_timeout() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        x = x_client(f"http://127.0.0.1:{port}", timeout=0.3)
        with pytest.raises(XTransient, match="ReadTimeout"):
            x.send_dm("42", "hello")
        conn, _ = listener.accept()  # it was accepted, and never answered
        conn.close()


def test_a_dm_whose_answer_times_out_is_in_doubt_and_looked_up_before_a_resend(tmp_path: Path) -> None:
    """Through the outbox: X does the work and answers after the timeout. The DM stays "sending" (in doubt), then
    is found on X and recorded sent; it goes out once."""
    r = Run({"settings": {"x_timeout": 0.3}, "users": {"bob": {"card": "ok"}, "alice": {"payouts": True}}}, tmp_path)
    try:
        sim = cast(XSim, r.sim)
        sim.timeout_delay = 0.6
        sim.inject("dm_post", TIMEOUT, times=1)
        r.step({"tweet": "@paybot send 5 to @alice", "by": "bob", "id": "t1"})
        store = cast(SqlStore, r.bot.service.uow)
        with store() as s:
            [dm] = [o for o in s.exec(select(Outbox)) if o.kind == "dm"]
            assert (dm.status, dm.x_id) == ("sending", None)
        assert [m["type"] for m in sim.bot_messages()] == ["dm"]
        r._wait("1m")
        r.bot.worker.run_until_idle()
        with store() as s:
            [dm] = [o for o in s.exec(select(Outbox)) if o.kind == "dm"]
            assert (dm.status, dm.error) == ("sent", "found already sent") and dm.x_id
        assert [m["type"] for m in sim.bot_messages()] == ["dm"]
        assert [e["endpoint"] for e in sim.log].count("dm_post") == 1
    finally:
        r.close()


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compressed_answer_is_decoded(servers: list[Server], encoding: str) -> None:
    server = start(servers, encoding=encoding)
    x = x_client(server.base)
    try:
        assert x.me().handle == "paybot"
    finally:
        x.close()


# ------------------------------------------------------------------------------------------------------------ HTTPS


def certificate(tmp_path: Path, name: str, san: str) -> tuple[Path, Path]:
    """A self-signed certificate for `san` and its key, made by openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (and the cryptography package is not one of the project's)")
    cert, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def https(servers: list[Server], cert: Path, key: Path) -> Server:
    server = start(servers)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


def test_https_refuses_a_certificate_it_cannot_verify(servers: list[Server], tmp_path: Path) -> None:
    """A self-signed certificate is refused (certifi's bundle does not hold it): transient, nothing was sent."""
    server = https(servers, *certificate(tmp_path, "local", "IP:127.0.0.1"))
    port = server.server_address[1]
    with pytest.raises(XTransient, match="SSLError"):
        x_client(f"https://127.0.0.1:{port}").send_dm("42", "hello")
    assert server.requests == []


def test_https_verifies_against_the_bundle_and_checks_the_host_name(
    servers: list[Server], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the certificate in the bundle, a certificate for 127.0.0.1 is accepted and one for another name is
    not."""
    good, good_key = certificate(tmp_path, "local", "IP:127.0.0.1")
    other, other_key = certificate(tmp_path, "other", "DNS:other.example")
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(good.read_text() + other.read_text())
    monkeypatch.setattr(wire, "DEFAULT_CA_BUNDLE_PATH", str(bundle))
    right = https(servers, good, good_key)
    x = x_client(f"https://127.0.0.1:{right.server_address[1]}")
    try:
        assert x.send_dm("42", "hello") == "9"
        assert x.me().handle == "paybot"
    finally:
        x.close()
    assert right.connections == 1
    wrong = https(servers, other, other_key)
    with pytest.raises(XTransient, match="SSLError"):
        x_client(f"https://127.0.0.1:{wrong.server_address[1]}").send_dm("42", "hello")
    assert wrong.requests == []


class RawServer:
    """A server on 127.0.0.1 that answers the n-th request on a connection with `answers[n]`, raw bytes as given
    (several answers in one entry are sent together), keeping the connection open."""

    def __init__(self, answers: list[bytes]) -> None:
        self.answers = answers
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while self.answers:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head, _, data = data.partition(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(data) < length:
                    data += conn.recv(65536)
                data = data[length:]
                conn.sendall(self.answers.pop(0))

    def stop(self) -> None:
        self.sock.close()


def _answer(status: str, body: bytes, *headers: str) -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


ME = json.dumps({"data": {"id": "7", "username": "paybot", "name": "Paybot"}}).encode()
DM = json.dumps({"data": {"dm_event_id": "THE_DM"}}).encode()


@pytest.mark.parametrize("interim", ["102 Processing", "103 Early Hints"])
def test_an_interim_answer_leaves_a_send_in_doubt_and_the_connection_is_not_reused(interim: str) -> None:
    """http.client skips only a 100 before the final answer: a 102 or 103 came back as X's answer to a DM sent, an
    error that is not "in doubt", and the final answer that followed was then read as the next request's."""
    late = (f"HTTP/1.1 {interim}\r\n\r\n").encode() + _answer("201 Created", DM)
    server = RawServer([late, _answer("200 OK", ME)])
    client = x_client(server.base)
    try:
        with pytest.raises(XTransient):
            client.send_dm("2", "hello")  # not known whether X sent it: in doubt
        assert client.me().id == "7"  # its own answer, on a new connection: not the DM's late one
        assert server.connections == 2
    finally:
        client.close()
        server.stop()


@pytest.mark.parametrize(
    "answer",
    [
        _answer("201 Created", b"\x1f\x8b not gzip at all", "Content-Encoding: gzip"),
        _answer("201 Created", b"<html>a proxy's page</html>"),
        _answer("201 Created", b"[1, 2]"),
    ],
    ids=["undecodable", "not-json", "not-an-object"],
)
def test_a_send_answered_with_an_unreadable_body_is_in_doubt(answer: bytes) -> None:
    """X answered a DM sent, but what it said cannot be read: transient (the outbox looks the DM up before sending it
    again), never an error from outside the X adapter that would end the outbox's batch."""
    server = RawServer([answer])
    client = x_client(server.base)
    try:
        with pytest.raises(XTransient):
            client.send_dm("2", "hello")
    finally:
        client.close()
        server.stop()


def test_rate_limit_headers_that_are_no_numbers_are_not_remembered() -> None:
    bad = ("x-rate-limit-limit: 15", "x-rate-limit-remaining: 3", "x-rate-limit-reset: soon")
    server = RawServer([_answer("200 OK", ME, *bad), _answer("429 Too Many Requests", b"{}", *bad)])
    client = x_client(server.base)
    try:
        assert client.me().id == "7"
        assert "users_me" not in client.limits
        with pytest.raises(XRateLimited):  # the 429 is still a rate limit, with no time to wait for
            client.send_dm("2", "hello")
    finally:
        client.close()
        server.stop()
