"""A loopback HTTP server for tests: a route table of ordinary, slow, broken and hostile answers.

    with LoopbackServer() as server:
        server.route("/feed.xml", static(b"<rss/>", content_type="application/rss+xml"))
        server.route("/slow", slow(2.0))
        fetch(server.url("/feed.xml"), FetchPolicy(allow_loopback=True))
        assert server.hits["/feed.xml"] == 1

A route is a ``Response`` (always the same answer) or a callable ``Request -> Response``; call
``route`` again to change what a path serves between requests, or use ``sequence``. Unknown
paths answer 404. ``hits`` counts requests per path; ``requests`` keeps what was received.
Pass ``tls=`` a server-side ``ssl.SSLContext`` to serve https. Only 127.0.0.1 is bound, and
nothing here needs a third-party package. Use the context manager or the ``loopback_server``
fixture (import it, or list this module in ``pytest_plugins``).
"""

from __future__ import annotations

import gzip
import itertools
import socket
import ssl
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest


@dataclass(frozen=True)
class Request:
    """What the server received; header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Response:
    """One canned answer. ``body`` may be an iterable of chunks (huge or endless bodies)."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds of silence before the status line
    chunk_delay: float = 0.0  # seconds between body chunks: a slow drip
    chunk_size: int = 64 * 1024  # bytes bodies are written in pieces this big
    send_length: bool = True  # Content-Length for bytes bodies; else close-delimited
    raw: bytes | None = None  # written verbatim instead of status/headers/body (malformed answers)


Route = Response | Callable[[Request], Response]


class LoopbackServer:
    """ThreadingHTTPServer on 127.0.0.1 (or another loopback ``address``: 127.0.0.2 is a
    second host), an ephemeral port, serving a mutable route table."""

    def __init__(self, tls: ssl.SSLContext | None = None, address: str = "127.0.0.1"):
        self.scheme = "https" if tls else "http"
        self.address = address
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.arrivals: list[tuple[float, str]] = []  # (time.time(), path) of every request
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = _Server((address, 0), _Handler)
        self._httpd.owner = self
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    # lifecycle
    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self):
        self.stopping.set()  # wakes sleeping slow handlers
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    # addresses
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.address}:{self.port}"

    def url(self, path: str = "/", host: str | None = None) -> str:
        """A URL on this server; pass ``host`` to use a stubbed host name."""
        return f"{self.scheme}://{host or self.address}:{self.port}{path}"

    # routes
    def route(self, path: str, answer: Route) -> None:
        """Serve ``answer`` at ``path`` (the path without query), replacing any earlier route."""
        with self._lock:
            self.routes[path] = answer

    def redirect_chain(self, prefix: str, hops: int, final: Route, status: int = 302) -> str:
        """``prefix/0`` → ``prefix/1`` → … → ``prefix/<hops>`` serving ``final``; returns the
        first path."""
        for hop in range(hops):
            self.route(f"{prefix}/{hop}", redirect(f"{prefix}/{hop + 1}", status))
        self.route(f"{prefix}/{hops}", final)
        return f"{prefix}/0"

    def last_request(self, path: str) -> Request | None:
        with self._lock:
            return next((r for r in reversed(self.requests) if r.path == path), None)

    def reset(self) -> None:
        with self._lock:
            self.routes.clear()
            self.hits.clear()
            self.requests.clear()

    def _answer(self, request: Request) -> Response:
        with self._lock:
            self.arrivals.append((time.time(), request.path))
            self.hits[request.path] += 1
            self.requests.append(request)
            answer = self.routes.get(request.path)
        if answer is None:
            return Response(404, b"not found", {"Content-Type": "text/plain"})
        return answer(request) if callable(answer) else answer


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: LoopbackServer

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            self.owner.errors.append(error)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a stuck client must not keep a handler thread forever
    server: _Server

    def do_GET(self):
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, parts.query,
                          {k.lower(): v for k, v in self.headers.items()})
        owner = self.server.owner
        answer = owner._answer(request)
        self.close_connection = True
        try:
            self._write(answer, owner.stopping)
        except (ConnectionError, TimeoutError):
            pass  # the client gave up, which is what many tests want

    do_HEAD = do_GET

    def _write(self, answer: Response, stopping: threading.Event):
        if answer.delay and stopping.wait(answer.delay):
            return
        if answer.raw is not None:
            self._drip(_pieces(answer.raw, answer.chunk_size), answer.chunk_delay, stopping)
            return
        self.send_response(answer.status)
        headers = dict(answer.headers)
        if isinstance(answer.body, bytes) and answer.send_length:
            headers.setdefault("Content-Length", str(len(answer.body)))
        headers["Connection"] = "close"
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        body = _pieces(answer.body, answer.chunk_size) if isinstance(answer.body, bytes) \
            else answer.body
        self._drip(body, answer.chunk_delay, stopping)

    def _drip(self, chunks: Iterable[bytes], interval: float, stopping: threading.Event):
        for chunk in chunks:
            if stopping.is_set():
                return
            self.wfile.write(chunk)
            self.wfile.flush()
            if interval and stopping.wait(interval):
                return

    def log_message(self, format, *args):
        pass  # keep test output quiet


def _pieces(data: bytes, size: int) -> Iterable[bytes]:
    return (data[i:i + size] for i in range(0, len(data), size))


# --------------------------------------------------------------------------- route factories

def static(body: bytes | str = b"", status: int = 200, headers: dict[str, str] | None = None,
           content_type: str | None = "text/plain; charset=utf-8") -> Response:
    """A fixed answer."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    merged = {"Content-Type": content_type} if content_type else {}
    merged.update(headers or {})
    return Response(status, data, merged)


def slow(delay: float, body: bytes = b"late") -> Response:
    """Silence for ``delay`` seconds, then an answer: a server that hangs before responding."""
    return Response(200, body, {"Content-Type": "text/plain"}, delay=delay)


def drip(interval: float = 0.05, chunk: bytes = b"x",
         total: int | None = None) -> Callable[[Request], Response]:
    """Headers at once, then ``chunk`` every ``interval`` seconds (forever unless ``total``)."""
    def answer(request: Request) -> Response:
        chunks = itertools.repeat(chunk) if total is None else itertools.repeat(chunk, total)
        return Response(200, chunks, {"Content-Type": "text/plain"}, chunk_delay=interval)

    return answer


def header_drip(interval: float = 0.05, length: int = 1000) -> Response:
    """A status line, then ``length`` header bytes, one every ``interval`` seconds, then EOF."""
    raw = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * length
    return Response(raw=raw, chunk_size=1, chunk_delay=interval)


def error(status: int = 500, body: bytes = b"server error") -> Response:
    return Response(status, body, {"Content-Type": "text/plain"})


def too_many_requests(retry_after: str = "120") -> Response:
    return Response(429, b"slow down", {"Content-Type": "text/plain", "Retry-After": retry_after})


def conditional(body: bytes, etag: str | None = '"v1"', last_modified=None,
                content_type: str = "application/rss+xml") -> Callable[[Request], Response]:
    """200 with ETag/Last-Modified, or 304 when the request's validators still match."""
    headers = {"Content-Type": content_type}
    if etag:
        headers["ETag"] = etag
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)

    def answer(request: Request) -> Response:
        if etag and request.header("if-none-match") == etag:
            return Response(304, b"", {k: v for k, v in headers.items() if k != "Content-Type"})
        since = request.header("if-modified-since")
        if last_modified is not None and since and not request.header("if-none-match"):
            try:
                if parsedate_to_datetime(since) >= last_modified.replace(microsecond=0):
                    return Response(304, b"", {})
            except (TypeError, ValueError):
                pass
        return Response(200, body, dict(headers))

    return answer


def huge(size: int, send_length: bool = True,
         chunk: int = 64 * 1024) -> Callable[[Request], Response]:
    """``size`` bytes generated on the fly; ``send_length=False`` hides the size up front."""
    def chunks():
        left = size
        while left > 0:
            yield b"z" * min(chunk, left)
            left -= chunk

    headers = {"Content-Type": "text/plain"}
    if send_length:
        headers["Content-Length"] = str(size)
    return lambda request: Response(200, chunks(), dict(headers))


def gzipped(body: bytes, content_type: str = "text/html; charset=utf-8") -> Response:
    return Response(200, gzip.compress(body),
                    {"Content-Type": content_type, "Content-Encoding": "gzip"})


def deflated(body: bytes, raw_deflate: bool = False) -> Response:
    """HTTP "deflate": zlib-wrapped as specified, or the raw stream some servers send."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS)
    data = compressor.compress(body) + compressor.flush()
    return Response(200, data, {"Content-Type": "text/html", "Content-Encoding": "deflate"})


def gzip_bomb(decompressed_size: int = 50 * 1024 * 1024) -> Response:
    """A few KB on the wire that inflate to ``decompressed_size`` zero bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    parts = [compressor.compress(block) for _ in range(decompressed_size // len(block))]
    data = b"".join(parts) + compressor.flush()
    return Response(200, data, {"Content-Type": "text/html", "Content-Encoding": "gzip"})


def corrupt_gzip() -> Response:
    """A gzip header followed by bytes that are not a deflate stream."""
    data = gzip.compress(b"<html>fine</html>" * 50)
    data = data[:10] + b"\xff" * 20 + data[30:]
    return Response(200, data, {"Content-Type": "text/html", "Content-Encoding": "gzip"})


def redirect(location: str, status: int = 302) -> Response:
    return Response(status, b"", {"Location": location})


def sequence(*answers: Route) -> Callable[[Request], Response]:
    """Successive answers per hit; the last one repeats."""
    lock = threading.Lock()
    remaining = list(answers)

    def answer(request: Request) -> Response:
        with lock:
            current = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return current(request) if callable(current) else current

    return answer


# --------------------------------------------------------------------------- helpers

class ConnectionCounter:
    """A loopback TCP listener that only counts connections: a stand-in proxy or a trap port."""

    def __init__(self):
        self.count = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self._sock.settimeout(0.05)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.count += 1
            conn.close()

    def __enter__(self) -> ConnectionCounter:
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(timeout=5)
        self._sock.close()


def stub_resolver(mapping: dict[str, str | list[str]], calls: list[str] | None = None):
    """A ``getaddrinfo`` stand-in: ``{"news.example": "127.0.0.1"}``; unknown names fail like
    NXDOMAIN. Host names asked for are appended to ``calls``."""
    def resolve(host, port, family=0, type=0, proto=0, flags=0):
        if calls is not None:
            calls.append(host)
        if host not in mapping:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = mapping[host]
        addresses = [addresses] if isinstance(addresses, str) else addresses
        return [((socket.AF_INET6 if ":" in a else socket.AF_INET), socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in addresses]

    return resolve


@pytest.fixture
def loopback_server():
    """A started ``LoopbackServer``, stopped after the test."""
    with LoopbackServer() as server:
        yield server
