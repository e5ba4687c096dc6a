"""X's requests on the wire: the standard library's http.client, one kept connection per (scheme, host, port).

What requests' adapter and urllib3 did for the X adapter, kept: the timeout (connect and read), no proxy from the
environment (http.client reads none), HTTPS verified against requests' CA bundle (certifi's) with the host name
checked, X's hosts sent to a local base URL when one is set (the simulator), answers decoded from gzip or deflate
(requests asks for them), and failures raised as requests' exceptions (`ConnectTimeout`, `ReadTimeout`,
`SSLError`, `ConnectionError`), which the X adapter takes as transient.

A connection is kept while the server keeps it: one that answered `Connection: close`, or whose request failed, is
closed. An idle kept connection is checked before it is used again: one the server closed meanwhile (the socket
reads ready: an end of file, or bytes nobody asked for) is replaced by a new one before anything is sent, so a
server's idle timeout never turns into a failed request. If the server closes a kept connection in the instant
between that check and the request, a GET is sent once more on a new connection; a POST is not (it may have
reached X): it fails as a `ConnectionError`, and the sender looks a DM in doubt up before sending it again."""

from __future__ import annotations

import http.client
import select
import ssl
import threading
import zlib
from urllib.parse import urlsplit

import requests
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import DEFAULT_CA_BUNDLE_PATH, get_encoding_from_headers

X_HOSTS = ("https://api.twitter.com", "https://api.x.com")
DEFAULT_PORTS = {"http": 80, "https": 443}
# A kept connection that failed this way before any answer came was closed by the server while idle
DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})

Key = tuple[str, str, int]  # scheme, host, port


def tls_context() -> ssl.SSLContext:
    """Certificates verified against the bundle requests uses (certifi's), the host name checked, TLS 1.2 at
    least (urllib3's floor)."""
    context = ssl.create_default_context(cafile=DEFAULT_CA_BUNDLE_PATH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection can no longer carry a request: no socket, or a socket that reads ready (an end
    of file from a server that closed it, or bytes no request asked for). What urllib3's `wait_for_read(sock,
    timeout=0.0)` checks before it reuses a pooled connection."""
    sock = conn.sock
    if sock is None:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def decoded(body: bytes, encoding: str) -> bytes:
    """The body without its Content-Encoding, as urllib3 decodes it: gzip (every member) and deflate (zlib or
    raw), outermost last; an encoding it does not know is left as it is."""
    codings = [c.strip().lower() for c in encoding.split(",")]
    if not body or any(c not in ("gzip", "x-gzip", "deflate", "identity", "") for c in codings):
        return body
    try:
        for coding in reversed(codings):
            if coding in ("gzip", "x-gzip"):
                out = []
                while body:
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    out.append(d.decompress(body))
                    out.append(d.flush())
                    body = d.unused_data
                body = b"".join(out)
            elif coding == "deflate":
                try:
                    body = zlib.decompress(body)
                except zlib.error:
                    body = zlib.decompress(body, -zlib.MAX_WBITS)
    except zlib.error as err:
        raise requests.exceptions.ContentDecodingError(f"could not decode the answer ({encoding}): {err}") from err
    return body


class Wire:
    """Sends a request and reads its answer whole, as a `requests.Response`, over kept connections."""

    def __init__(self, base: str | None, timeout: float) -> None:
        self.base = base.rstrip("/") if base else None
        self.timeout = timeout
        self._idle: dict[Key, http.client.HTTPConnection] = {}
        self._origins: dict[str, tuple[Key, str, str]] = {}  # an origin -> its key, path prefix and URL prefix
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close every kept connection."""
        with self._lock:
            idle, self._idle = list(self._idle.values()), {}
        for conn in idle:
            conn.close()

    def _where(self, url: str) -> tuple[Key, str, str]:
        """Where `url` goes: the connection's key, the request target (path and query) and the full URL (X's
        hosts replaced by the base URL)."""
        if self.base:
            for host in X_HOSTS:
                if url.startswith(host):
                    url = self.base + url[len(host) :]
                    break
        cut = url.find("/", url.find("//") + 2)
        origin, rest = (url, "") if cut < 0 else (url[:cut], url[cut:])
        known = self._origins.get(origin)
        if known is None:
            parts = urlsplit(origin)
            scheme = parts.scheme.lower()
            if scheme not in DEFAULT_PORTS or not parts.hostname:
                raise requests.exceptions.InvalidURL(f"not an http(s) URL: {origin!r}")
            key = (scheme, parts.hostname, parts.port or DEFAULT_PORTS[scheme])
            known = self._origins[origin] = (key, parts.path, origin)
        key, prefix, origin = known
        target = prefix + rest
        return key, target if target.startswith("/") else "/" + target, url

    def _connect(self, key: Key) -> http.client.HTTPConnection:
        scheme, host, port = key
        conn: http.client.HTTPConnection
        if scheme == "https":
            if self._context is None:
                self._context = tls_context()
            conn = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=self._context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout)
        try:
            conn.connect()
        except ssl.SSLError as err:
            conn.close()
            raise requests.exceptions.SSLError(err) from err
        except TimeoutError as err:
            conn.close()
            raise requests.exceptions.ConnectTimeout(f"connecting to {host}:{port}: {err}") from err
        except OSError as err:
            conn.close()
            raise requests.ConnectionError(f"connecting to {host}:{port}: {err}") from err
        return conn

    def _take(self, key: Key) -> http.client.HTTPConnection | None:
        """The kept connection for `key`, if it is still good; the caller owns it until it gives it back."""
        with self._lock:
            conn = self._idle.pop(key, None)
        if conn is not None and dropped(conn):
            conn.close()
            return None
        return conn

    def _give_back(self, key: Key, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if key not in self._idle:
                self._idle[key] = conn
                return
        conn.close()  # another thread kept one meanwhile

    def send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, jar: RequestsCookieJar
    ) -> requests.Response:
        """Send the request and read the whole answer; cookies it sets go to `jar` too (as `Session.send` keeps
        them). Raises requests' `ConnectionError` or `Timeout` (or a subclass) when no answer came whole."""
        key, target, full_url = self._where(url)
        conn = self._take(key)
        while True:
            reused = conn is not None
            if conn is None:
                conn = self._connect(key)
            try:
                conn.request(method, target, body, headers)
                answer = conn.getresponse()
                content = answer.read()
            except DROPPED as err:
                conn.close()
                if reused and method in IDEMPOTENT:
                    conn = None  # closed by the server as it went idle: once more, on a new connection
                    continue
                raise requests.ConnectionError(f"{method} {full_url}: {err!r}") from err
            except TimeoutError as err:
                conn.close()
                raise requests.exceptions.ReadTimeout(f"{method} {full_url}: no answer in {self.timeout} s") from err
            except ssl.SSLError as err:
                conn.close()
                raise requests.exceptions.SSLError(err) from err
            except (OSError, http.client.HTTPException) as err:
                conn.close()
                raise requests.ConnectionError(f"{method} {full_url}: {err!r}") from err
            break
        if answer.status < 200:
            # An interim answer (102, 103) that http.client took as the last (it skips only 100): the final one may
            # still come on this connection, and would be read as the next request's. Closed; not known whether
            # the request took effect (a POST is then in doubt).
            conn.close()
            raise requests.ConnectionError(f"{method} {full_url}: an interim answer {answer.status}, no final one read")
        if answer.will_close:
            conn.close()
        else:
            self._give_back(key, conn)
        try:
            r = response(answer, content, method, full_url, headers, body)
        except requests.exceptions.ContentDecodingError as err:  # an answer came, unreadable: as if none had
            raise requests.ConnectionError(f"{method} {full_url}: {err}") from err
        if "Set-Cookie" in r.headers:
            extract_cookies_to_jar(jar, r.request, _Carrier(answer))
        return r


def response(
    answer: http.client.HTTPResponse, content: bytes, method: str, url: str, headers: dict[str, str], body: bytes | None
) -> requests.Response:
    """A `requests.Response` as requests' adapter builds it, the body read (and decoded) already."""
    h: CaseInsensitiveDict[str] = CaseInsensitiveDict()
    for name, value in answer.msg.items():
        h[name] = h[name] + ", " + value if name in h else value  # as urllib3 joins a repeated header
    coding = h.get("Content-Encoding")
    r = requests.Response()
    r.status_code = answer.status
    r.headers = h
    r.encoding = get_encoding_from_headers(h)
    r.reason = answer.reason
    r.url = url
    r._content = decoded(content, coding) if coding else content
    r._content_consumed = True
    sent = requests.PreparedRequest()
    sent.method, sent.url, sent.headers, sent.body = method, url, CaseInsensitiveDict(headers), body
    r.request = sent
    if "Set-Cookie" in h:
        extract_cookies_to_jar(r.cookies, sent, _Carrier(answer))
    return r


class _Carrier:
    """What `extract_cookies_to_jar` reads of urllib3's response: the http.client answer under it."""

    def __init__(self, answer: http.client.HTTPResponse) -> None:
        self._original_response = answer
