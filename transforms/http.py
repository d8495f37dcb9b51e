"""The one HTTP client newsflow uses: feeds, articles and robots.txt all go through ``fetch``.

Every fetch is guarded the same way, because feed and article URLs come from the internet:

* only ``http``/``https``; the host is resolved once and every address must be public (no
  private, loopback, link-local/metadata, CGNAT, multicast or reserved ranges), checked before
  any connection; the connection goes to that validated address (no second DNS lookup, so no
  DNS rebinding) with the original Host header and TLS server name;
* redirects are followed by hand and every hop is checked again;
* bodies are streamed under a byte cap, decompressed under a second cap (gzip bombs), and a
  watchdog enforces one wall-clock deadline per fetch, so a slow-drip server cannot hold a worker;
* proxy environment variables are never read (nothing here looks at them).

Built on ``http.client`` over a socket we connect ourselves: that is what makes address pinning
and the deadline watchdog possible without relying on a library's private hooks. Connections are
not reused (``Connection: close``); per-host politeness delays make keep-alive of little value.
"""

from __future__ import annotations

import functools
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from importlib import metadata
from typing import NamedTuple
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from newsflow.transforms.charset import decode_document

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list]


def _package_version() -> str:
    try:
        return metadata.version("newsflow")
    except metadata.PackageNotFoundError:
        return "0.0.0"


USER_AGENT = f"newsflow/{_package_version()} (+https://github.com/newsflow/newsflow)"

#: Every ``FetchError.reason``; each is also a dead-letter reason and a counter suffix.
REASONS = frozenset({
    "bad_scheme", "bad_url", "unsafe_target", "dns_failure", "timeout", "connection_error",
    "too_large", "decompression_bomb", "bad_encoding", "bad_content_type",
    "too_many_redirects", "redirect_loop", "truncated_body", "bad_header",
})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: Bytes of an HTTP error page a dead letter keeps (``raw_truncated`` when there were more;
#: the archived exchange holds the whole body).
ERROR_BODY_BYTES = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_READ_CHUNK = 64 * 1024
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110)
_GZIP_MAGIC = b"\x1f\x8b"
_FIRST_PIECE = 256  # bytes of a gzip member fed to zlib first; doubled while it goes on
#: Headers the client owns: a caller's value would break pinning, framing or decoding.
_CLIENT_OWNED_HEADERS = frozenset({
    "host", "connection", "content-length", "transfer-encoding", "accept-encoding", "te",
    "upgrade", "proxy-authorization", "proxy-connection", "keep-alive",
})
#: Headers not forwarded when a redirect leaves the origin they were meant for.
_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie"})
#: Ranges that are not the public internet, beyond what ``ipaddress`` flags on every Python.
_NON_PUBLIC_NETWORKS = tuple(ipaddress.ip_network(net) for net in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32",
    "::/128", "::1/128", "::/96", "100::/64", "2001::/23", "2001:db8::/32", "fc00::/7",
    "fe80::/10", "fec0::/10", "ff00::/8",
))
_NAT64_PREFIXES = tuple(ipaddress.ip_network(net) for net in ("64:ff9b::/96", "64:ff9b:1::/48"))


@dataclass(frozen=True)
class FetchPolicy:
    """How patient and how trusting one fetch is; one value per use (feeds, articles, robots)."""

    connect_timeout: float = 5.0  # per address tried
    read_timeout: float = 15.0  # longest silence between two reads
    total_timeout: float = 30.0  # wall-clock budget for the whole fetch, redirects included
    max_bytes: int = 5 * 1024 * 1024  # bytes on the wire (before decompression)
    max_decompressed_bytes: int = 20 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = USER_AGENT
    allow_loopback: bool = False  # tests and local fixtures only: 127.0.0.0/8 and ::1
    #: Media types accepted for 2xx bodies (``"text/html"``, ``"application/*"``); None = any.
    allowed_content_types: tuple[str, ...] | None = None

    def __post_init__(self):
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if not getattr(self, name) > 0:
                raise ValueError(f"FetchPolicy.{name} must be positive")
        if self.max_bytes < 1 or self.max_decompressed_bytes < 1 or self.max_redirects < 0:
            raise ValueError("FetchPolicy size caps must be positive and max_redirects >= 0")


@dataclass(frozen=True)
class RedirectHop:
    """A URL that answered with a redirect; 301/308 tell a feed poller to update its URL."""

    url: str
    status: int
    location: str


@dataclass(frozen=True)
class FetchResult:
    """What the server answered, whatever the status: callers decide what 304, 429 or 5xx mean."""

    url: str  # final URL, after redirects
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes  # Content-Encoding already removed
    redirects: tuple[RedirectHop, ...] = ()
    request_headers: dict[str, str] = field(default_factory=dict)  # as sent on the last hop
    elapsed: float = 0.0  # seconds, whole fetch
    remote_ip: str = ""

    @property
    def requested_url(self) -> str:
        return self.redirects[0].url if self.redirects else self.url

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")


class FetchError(Exception):
    """A fetch that produced no usable HTTP response; ``reason`` is one of ``REASONS``."""

    def __init__(self, reason: str, message: str):
        super().__init__(reason, message)  # keeps the exception picklable
        self.reason = reason
        self.message = message

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


@dataclass(frozen=True)
class FetchTarget:
    """A URL split into what the connection needs."""

    url: str
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, no brackets
    port: int
    request_target: str  # path and query, percent-encoded
    host_header: str


# --------------------------------------------------------------------------- URL and address checks

def parse_target(url: str) -> FetchTarget:
    """Validate a URL for fetching; raises ``bad_scheme`` / ``bad_url``."""
    try:
        parts = urlsplit(url.strip())
        hostname, port = parts.hostname, parts.port
    except ValueError as error:
        raise FetchError("bad_url", f"{url!r}: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise FetchError("bad_scheme", f"only http and https are fetched, not {scheme or 'no'!r}"
                         f" scheme in {url!r}")
    if not hostname:
        raise FetchError("bad_url", f"no host in {url!r}")
    host = _ascii_host(hostname, url)
    port = port or _DEFAULT_PORTS[scheme]
    path = quote(parts.path or "/", safe="/%!$&'()*+,;=:@~")
    query = quote(parts.query, safe="/%!$&'()*+,;=:@~?")
    host_header = f"[{host}]" if ":" in host else host
    if port != _DEFAULT_PORTS[scheme]:
        host_header += f":{port}"
    return FetchTarget(url=url, scheme=scheme, host=host, port=port,
                   request_target=path + (f"?{query}" if query else ""), host_header=host_header)


def _ascii_host(hostname: str, url: str) -> str:
    """The host as DNS and the Host header need it: IDNA-encoded, only host-name characters."""
    if _ip_literal(hostname) is not None:
        return hostname
    try:
        host = hostname.encode("idna").decode("ascii")
    except UnicodeError as error:
        raise FetchError("bad_url", f"bad host name in {url!r}: {error}") from None
    if not host or not all(ch.isalnum() or ch in "-._" for ch in host):
        raise FetchError("bad_url", f"bad host name in {url!r}")
    return host


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def unsafe_address_reason(address: str | IPAddress, allow_loopback: bool = False) -> str | None:
    """Why connecting to ``address`` could reach something private, or None if it is public.

    IPv4-mapped IPv6 is judged as the IPv4 address the kernel will really use; 6to4 and NAT64
    addresses are judged by the IPv4 address they embed as well.
    """
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_loopback and ip.is_loopback:
        return None
    for label, flagged in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                           ("multicast", ip.is_multicast), ("unspecified", ip.is_unspecified),
                           ("private", ip.is_private), ("reserved", ip.is_reserved)):
        if flagged:
            return f"{label} address {ip}"
    if any(ip in net for net in _NON_PUBLIC_NETWORKS if net.version == ip.version):
        return f"non-public address {ip}"
    if not ip.is_global:
        return f"non-global address {ip}"
    embedded = _embedded_ipv4(ip)
    embedded_reason = unsafe_address_reason(embedded) if embedded is not None else None
    return f"address {ip} embeds a {embedded_reason}" if embedded_reason else None


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address a 6to4 or NAT64 address forwards to, if any."""
    if ip.version != 6:
        return None
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64_PREFIXES):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def resolve_safe(host: str, port: int, resolver: Resolver | None = None,
                 allow_loopback: bool = False) -> list[IPAddress]:
    """Resolve ``host`` once and return its addresses, refusing if ANY of them is unsafe.

    Refusing on any (not just the first) bad address keeps a name that mixes public and private
    records from reaching the private one on a retry or through address fallback.
    """
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = (resolver or socket.getaddrinfo)(host, port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as error:
            raise FetchError("dns_failure", f"cannot resolve {host!r}: {error}") from None
        addresses = _addresses_from(infos, host)
    for address in addresses:
        reason = unsafe_address_reason(address, allow_loopback)
        if reason is not None:
            raise FetchError("unsafe_target", f"{host!r} resolves to a {reason}")
    return addresses


def _addresses_from(infos, host: str) -> list[IPAddress]:
    """Unique IP addresses, in resolver order, from ``getaddrinfo``-shaped tuples."""
    addresses: list[IPAddress] = []
    for family, _type, _proto, _canonname, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            address = ipaddress.ip_address(sockaddr[0])
        except ValueError:
            raise FetchError("dns_failure", f"{host!r} resolved to {sockaddr[0]!r}") from None
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise FetchError("dns_failure", f"no IP address for {host!r}")
    return addresses


# --------------------------------------------------------------------------- the fetch itself

def fetch(url: str, policy: FetchPolicy | None = None, headers: Mapping[str, str] | None = None,
          resolver: Resolver | None = None,
          before_request: Callable[[str], object] | None = None,
          after_send: Callable[[str], object] | None = None) -> FetchResult:
    """GET ``url`` under ``policy``; a ``FetchResult`` for any HTTP status, else ``FetchError``.

    ``resolver`` has ``socket.getaddrinfo``'s signature (tests stub it to map names to
    addresses). ``headers`` are sent on every hop except credentials on a cross-origin redirect.
    ``before_request(url)`` runs before every request, redirect hops included (per-host
    pacing waits there); time spent in it does not count against ``total_timeout``.
    ``after_send(url)`` runs once a request is written (pacing counts the delay from there).
    """
    policy = policy or FetchPolicy()
    started = time.monotonic()
    deadline = started + policy.total_timeout
    extra_headers = _caller_headers(headers)
    current = urldefrag(url.strip())[0]
    hops: list[RedirectHop] = []
    visited: set[str] = set()
    while True:
        target = parse_target(current)
        addresses = resolve_safe(target.host, target.port, resolver, policy.allow_loopback)
        sent = _request_headers(target, extra_headers, policy.user_agent)
        if before_request is not None:
            waiting_since = time.monotonic()
            before_request(current)
            deadline += time.monotonic() - waiting_since
        answer = _exchange(target, addresses, sent, policy, deadline, after_send)
        location = (answer.headers.get("location")
                    if answer.status in REDIRECT_STATUSES else None)
        if location is None:
            body = decode_content_encoding(answer.raw_body, answer.headers.get("content-encoding"),
                                           policy.max_decompressed_bytes, deadline)
            return FetchResult(url=current, status=answer.status, headers=answer.headers,
                               body=body, redirects=tuple(hops), request_headers=sent,
                               elapsed=time.monotonic() - started, remote_ip=answer.remote_ip)
        visited.add(current)
        next_url, same_origin = _redirect_target(current, location)
        hops.append(RedirectHop(url=current, status=answer.status, location=location))
        if next_url in visited:
            raise FetchError("redirect_loop", f"{current} redirects back to {next_url}")
        if len(hops) > policy.max_redirects:
            raise FetchError("too_many_redirects",
                             f"more than {policy.max_redirects} redirects from {url}")
        if not same_origin:
            extra_headers = {k: v for k, v in extra_headers.items()
                             if k.lower() not in _CREDENTIAL_HEADERS}
        current = next_url


def _redirect_target(current: str, location: str) -> tuple[str, bool]:
    """The absolute URL a ``Location`` points to, and whether it keeps ``current``'s origin;
    ``bad_url`` when it cannot be one (``http://[abc/``)."""
    try:
        target = urldefrag(urljoin(current, location.strip()))[0]
        return target, _same_origin(current, target)
    except ValueError as error:
        raise FetchError("bad_url", f"{current} redirects to {location!r}: {error}") from None


def _caller_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's headers minus those the client must control; ``bad_header`` for a name
    that is no HTTP token or a value holding CR, LF or NUL (header injection)."""
    accepted = {}
    for name, value in (headers or {}).items():
        name, value = str(name), str(value)
        if not _TOKEN.fullmatch(name) or any(ch in value for ch in "\r\n\0"):
            raise FetchError("bad_header", f"refusing to send header {name!r}: {value!r}")
        if name.lower() not in _CLIENT_OWNED_HEADERS:
            accepted[name] = value
    return accepted


def _request_headers(target: FetchTarget, extra: Mapping[str, str],
                     user_agent: str) -> dict[str, str]:
    """The exact headers sent for one hop, in order."""
    sent = {"Host": target.host_header, "User-Agent": user_agent, "Accept": "*/*",
            "Accept-Encoding": "gzip, deflate", "Connection": "close"}
    lower_to_name = {name.lower(): name for name in sent}
    for name, value in extra.items():
        sent.pop(lower_to_name.get(name.lower(), name), None)
        sent[name] = value
    return sent


def _same_origin(a: str, b: str) -> bool:
    pa, pb = urlsplit(a), urlsplit(b)
    return (pa.scheme, pa.hostname, pa.port) == (pb.scheme, pb.hostname, pb.port)


def _remaining(deadline: float, limit: float) -> float:
    """A socket timeout that never runs past the deadline; raises ``timeout`` once it has."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("timeout", "total deadline exceeded")
    return min(limit, left)


class _Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    raw_body: bytes  # still Content-Encoded; empty for followed redirects
    remote_ip: str


def _exchange(target: FetchTarget, addresses: list[IPAddress], sent: dict[str, str],
              policy: FetchPolicy, deadline: float,
              after_send: Callable[[str], object] | None = None) -> _Answer:
    """One request/response on a fresh connection to a validated address."""
    sock, ip = _connect(addresses, target.port, policy, deadline)
    watchdog = _Watchdog(sock, deadline)
    connection = response = None
    try:
        if target.scheme == "https":
            sock.settimeout(_remaining(deadline, policy.read_timeout))
            sock = _tls_context().wrap_socket(sock, server_hostname=target.host)
        connection = http.client.HTTPConnection(target.host, target.port)
        connection.sock = sock
        connection.putrequest("GET", target.request_target, skip_host=True,
                              skip_accept_encoding=True)
        for name, value in sent.items():
            connection.putheader(name, value)
        connection.endheaders()
        if after_send is not None:
            after_send(target.url)
        sock.settimeout(_remaining(deadline, policy.read_timeout))
        response = connection.getresponse()
        status, headers = response.status, _header_dict(response.getheaders())
        if status in REDIRECT_STATUSES and "location" in headers:
            raw = b""
        else:
            _check_response_allowed(status, headers, policy)
            raw = _read_capped(response, sock, policy, deadline)
        if watchdog.fired.is_set():  # a close-delimited body cut by the watchdog looks complete
            raise FetchError("timeout", f"total deadline exceeded reading {target.url}")
        if raw and response.length:  # read1 ends quietly at EOF, short of Content-Length
            raise FetchError("truncated_body", f"{target.url}: connection closed after "
                             f"{len(raw)} bytes, {response.length} short of Content-Length")
        return _Answer(status, headers, raw, str(ip))
    except FetchError:
        raise
    except (OSError, http.client.HTTPException) as error:
        if watchdog.fired.is_set() or isinstance(error, TimeoutError):
            raise FetchError("timeout", f"{target.url}: {error!r}") from None
        if isinstance(error, http.client.IncompleteRead):  # a chunked body cut off
            raise FetchError("truncated_body", f"{target.url}: {error!r}") from None
        raise FetchError("connection_error", f"{target.url}: {error!r}") from None
    finally:
        watchdog.cancel()
        if response is not None:
            response.close()  # its file object keeps the socket open otherwise
        if connection is not None:
            connection.close()
        sock.close()


def _connect(addresses: list[IPAddress], port: int, policy: FetchPolicy, deadline: float):
    """A TCP connection to the first validated address that answers (never a host name)."""
    last_error: OSError | None = None
    for ip in addresses:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sockaddr = (str(ip), port, 0, 0) if ip.version == 6 else (str(ip), port)
        sock = socket.socket(family, socket.SOCK_STREAM)
        connected = False
        try:
            sock.settimeout(_remaining(deadline, policy.connect_timeout))
            sock.connect(sockaddr)
            connected = True
            return sock, ip
        except OSError as error:
            last_error = error
        finally:
            if not connected:
                sock.close()
    if isinstance(last_error, TimeoutError):
        raise FetchError("timeout", f"connect to {addresses} timed out")
    raise FetchError("connection_error", f"cannot connect to {addresses}: {last_error!r}")


class _Watchdog:
    """Shuts the socket down at the deadline, so no blocking read (headers, TLS handshake,
    a byte-per-second body) outlives the fetch's wall-clock budget."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.fired = threading.Event()
        self._lock = threading.Lock()
        self._handle = sock.dup()  # same connection, survives the TLS wrapper replacing `sock`
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self):
        with self._lock:
            if self._handle.fileno() == -1:
                return
            self.fired.set()
            try:
                self._handle.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer

    def cancel(self):
        self._timer.cancel()
        with self._lock:
            self._handle.close()


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Certificate and host name verification with the system trust store."""
    return ssl.create_default_context()


def _header_dict(pairs) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return headers


def _check_response_allowed(status: int, headers: Mapping[str, str], policy: FetchPolicy):
    """Refuse before reading the body: a declared size over the cap, an unwanted media type."""
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise FetchError("too_large", f"Content-Length {declared} > {policy.max_bytes}")
    if policy.allowed_content_types and 200 <= status < 300:
        content_type = headers.get("content-type")
        if content_type and not media_type_allowed(content_type, policy.allowed_content_types):
            raise FetchError("bad_content_type", f"content type {content_type!r} not accepted")


def media_type_allowed(content_type: str, allowed: tuple[str, ...]) -> bool:
    """``text/html; charset=x`` against patterns like ``text/html`` or ``text/*``."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    for pattern in allowed:
        pattern = pattern.lower()
        if media_type == pattern or (pattern.endswith("/*")
                                     and media_type.startswith(pattern[:-1])):
            return True
    return False


def _read_capped(response: http.client.HTTPResponse, sock: socket.socket, policy: FetchPolicy,
                 deadline: float) -> bytes:
    """Read the body as it arrives (``read1``: never waits to fill a buffer), stopping at the
    byte cap and at the deadline."""
    chunks, total = [], 0
    while True:
        sock.settimeout(_remaining(deadline, policy.read_timeout))
        chunk = response.read1(_READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > policy.max_bytes:
            raise FetchError("too_large", f"body exceeds {policy.max_bytes} bytes")
        chunks.append(chunk)


# --------------------------------------------------------------------------- body decoding

def decode_content_encoding(raw: bytes, content_encoding: str | None, limit: int,
                            deadline: float | None = None) -> bytes:
    """Undo ``Content-Encoding`` (gzip, deflate, identity; stacked codings in reverse order),
    never producing more than ``limit`` bytes and, given a ``deadline`` (``time.monotonic``),
    never running past it (``timeout``): decoding is part of the fetch's time budget."""
    if not raw:
        return raw
    codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
    data = raw
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            data = _inflate_members(data, limit, deadline)
        elif coding == "deflate":
            data = _inflate_deflate(data, limit, deadline)
        else:
            raise FetchError("bad_encoding", f"unsupported Content-Encoding {coding!r}")
    if len(data) > limit:
        raise FetchError("decompression_bomb", f"body exceeds {limit} bytes")
    return data


def _check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise FetchError("timeout", "total deadline exceeded decoding the body")


def _inflate_members(data: bytes, limit: int, deadline: float | None) -> bytes:
    """gzip, including several concatenated members (some servers append them).

    Each member is fed to zlib from a memoryview in pieces that start small and double, so a
    body of 262,000 empty members costs time in proportion to its length: the rest of the
    body is never copied per member. Trailing padding after the last member is ignored.
    """
    view, out, position = memoryview(data), bytearray(), 0
    while position == 0 or data.startswith(_GZIP_MAGIC, position):
        decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
        piece = _FIRST_PIECE
        while not decompressor.eof:
            _check_deadline(deadline)
            chunk = view[position:position + piece]
            if not chunk:
                raise FetchError("bad_encoding", "truncated compressed body")
            try:
                out += decompressor.decompress(chunk, limit + 1 - len(out))
            except zlib.error as error:
                raise FetchError("bad_encoding", f"corrupt compressed body: {error}") from None
            if len(out) > limit:
                raise FetchError("decompression_bomb", f"decompressed body exceeds {limit} bytes")
            position += len(chunk) - len(decompressor.unused_data)  # unconsumed_tail is empty
            piece = min(2 * piece, _READ_CHUNK)  # below the limit, all input was consumed
    return bytes(out)


def _inflate_deflate(data: bytes, limit: int, deadline: float | None) -> bytes:
    """HTTP "deflate" is meant to be zlib-wrapped; some servers send raw deflate instead."""
    try:
        return _inflate(zlib.decompressobj(zlib.MAX_WBITS), data, limit, deadline)
    except FetchError as error:
        if error.reason != "bad_encoding":
            raise
    return _inflate(zlib.decompressobj(-zlib.MAX_WBITS), data, limit, deadline)


def _inflate(decompressor, data: bytes, limit: int, deadline: float | None) -> bytes:
    """Decompress one stream, asking zlib for at most ``limit + 1`` bytes in total."""
    out = bytearray()
    pending = data
    try:
        while not decompressor.eof:
            _check_deadline(deadline)
            piece = decompressor.decompress(pending, limit + 1 - len(out))
            out += piece
            if len(out) > limit:
                raise FetchError("decompression_bomb",
                                 f"decompressed body exceeds {limit} bytes")
            pending = decompressor.unconsumed_tail
            if not piece and not pending:
                break
    except zlib.error as error:
        raise FetchError("bad_encoding", f"corrupt compressed body: {error}") from None
    if not decompressor.eof:
        raise FetchError("bad_encoding", "truncated compressed body")
    return bytes(out)


# --------------------------------------------------------------------------- helpers for callers

def decode_text(result: FetchResult) -> tuple[str, str]:
    """``(text, charset)`` of a fetched body, decoded exactly as archived pages are."""
    return decode_document(result.body, result.content_type)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110).

    Dates in the past mean 0; unreadable values mean None (no instruction).
    """
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_after_seconds(headers: Mapping[str, str],
                        now: float | datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None.

    ``now`` is a Unix timestamp or an aware datetime (default: the current time); a date in the
    past means 0.
    """
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if now is None:
        now = datetime.now(UTC)
    elif not isinstance(now, datetime):
        now = datetime.fromtimestamp(float(now), UTC)
    return parse_retry_after(value, now)
