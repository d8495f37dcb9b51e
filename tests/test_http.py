"""The guarded HTTP client against a real loopback server; every other address is stubbed.

Only 127.0.0.1 is ever contacted: private and metadata addresses come from stub resolvers and
must be refused before any connection (the autouse guard in conftest would raise otherwise, and
the ``connects`` fixture records every attempt).
"""

from __future__ import annotations

import pickle
import re
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta

import pytest

from newsflow.transforms import http as http_module
from newsflow.transforms.http import (
    USER_AGENT,
    FetchError,
    FetchPolicy,
    decode_content_encoding,
    decode_text,
    fetch,
    retry_after_seconds,
    unsafe_address_reason,
)
from tests.httpserver import (
    ConnectionCounter,
    LoopbackServer,
    conditional,
    corrupt_gzip,
    deflated,
    drip,
    error,
    gzip_bomb,
    gzipped,
    header_drip,
    huge,
    redirect,
    sequence,
    slow,
    static,
    stub_resolver,
    too_many_requests,
)

LOCAL = FetchPolicy(allow_loopback=True, connect_timeout=1.0, read_timeout=1.0, total_timeout=2.0)
STRICT = FetchPolicy(connect_timeout=1.0, read_timeout=1.0, total_timeout=2.0)


@pytest.fixture
def server():
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def connects(monkeypatch):
    """Every socket connect attempted during the test (on top of the conftest guard)."""
    attempts = []
    guarded_connect = socket.socket.connect

    def recording_connect(sock, address):
        attempts.append(address[:2] if isinstance(address, tuple) else address)
        return guarded_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return attempts


def reason_of(url, policy=LOCAL, **kwargs) -> str:
    with pytest.raises(FetchError) as caught:
        fetch(url, policy, **kwargs)
    return caught.value.reason


# --------------------------------------------------------------------------- ordinary answers

def test_200_body_headers_and_charset(server):
    page = "<html><body>café crème</body></html>".encode("latin-1")
    server.route("/page", static(page, content_type="text/html; charset=iso-8859-1",
                                 headers={"X-Test": "yes"}))
    result = fetch(server.url("/page"), LOCAL)
    assert (result.status, result.body, result.url) == (200, page, server.url("/page"))
    assert result.headers["content-type"] == "text/html; charset=iso-8859-1"
    assert result.headers["x-test"] == "yes"  # names are lower-case
    assert result.remote_ip == "127.0.0.1"
    assert result.redirects == () and result.requested_url == result.url
    assert 0 < result.elapsed < 2
    assert decode_text(result) == ("<html><body>café crème</body></html>", "cp1252")


def test_request_headers_sent_are_the_ones_recorded(server):
    server.route("/h", static("ok"))
    result = fetch(server.url("/h"), LOCAL,
                   headers={"Accept": "application/rss+xml", "Host": "evil.example",
                            "Accept-Encoding": "br", "X-Extra": "1"})
    seen = server.last_request("/h").headers
    assert seen["host"] == f"127.0.0.1:{server.port}"  # a caller cannot break address pinning
    assert seen["accept"] == "application/rss+xml"
    assert seen["accept-encoding"] == "gzip, deflate"  # only what we can decode
    assert seen["x-extra"] == "1"
    assert seen["user-agent"] == USER_AGENT
    assert re.fullmatch(r"newsflow/\S+ \(\+https://github\.com/newsflow/newsflow\)", USER_AGENT)
    assert {k.lower(): v for k, v in result.request_headers.items()} == {
        k: v for k, v in seen.items() if k != "connection"} | {"connection": "close"}


def test_conditional_get_returns_304_without_body(server):
    last_modified = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    server.route("/feed", conditional(b"<rss/>", etag='"v7"', last_modified=last_modified))
    first = fetch(server.url("/feed"), LOCAL)
    assert first.status == 200 and first.headers["etag"] == '"v7"'
    again = fetch(server.url("/feed"), LOCAL, headers={"If-None-Match": first.headers["etag"]})
    assert (again.status, again.body) == (304, b"")
    by_date = fetch(server.url("/feed"), LOCAL,
                    headers={"If-Modified-Since": first.headers["last-modified"]})
    assert by_date.status == 304
    assert server.hits["/feed"] == 3


def test_route_content_can_change_between_requests(server):
    server.route("/feed", sequence(static("one"), error(503), static("two")))
    assert [fetch(server.url("/feed"), LOCAL).status for _ in range(4)] == [200, 503, 200, 200]
    server.route("/feed", static("three"))
    assert fetch(server.url("/feed"), LOCAL).body == b"three"


def test_429_is_a_result_with_retry_after(server):
    server.route("/busy", too_many_requests("120"))
    result = fetch(server.url("/busy"), LOCAL)
    assert result.status == 429
    assert retry_after_seconds(result.headers) == 120.0


def test_500_is_a_result_not_an_error(server):
    server.route("/broken", error(500, b"oops"))
    result = fetch(server.url("/broken"), LOCAL)
    assert (result.status, result.body) == (500, b"oops")


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0.0), ("3600", 3600.0), (" 5 ", 5.0),
    ("Wed, 01 May 2024 12:02:00 GMT", 120.0),  # an HTTP-date, relative to `now`
    ("Wed, 01 May 2024 11:00:00 GMT", 0.0),  # already past
    ("soon", None), ("-5", None), ("", None),
])
def test_retry_after_seconds(value, expected):
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds({"Retry-After": value}, now) == expected
    assert retry_after_seconds({"retry-after": value}, now.timestamp()) == expected


def test_retry_after_missing():
    assert retry_after_seconds({}, 0) is None


# --------------------------------------------------------------------------- time and size limits

def test_server_silent_before_headers_times_out_fast(server):
    server.route("/slow", slow(5.0))
    started = time.monotonic()
    assert reason_of(server.url("/slow"), FetchPolicy(allow_loopback=True, read_timeout=0.3)) \
        == "timeout"
    assert time.monotonic() - started < 1.0


def test_slow_drip_body_cannot_outlive_the_deadline(server):
    server.route("/drip", drip(interval=0.05))  # never silent long enough for read_timeout
    policy = FetchPolicy(allow_loopback=True, read_timeout=1.0, total_timeout=0.5)
    started = time.monotonic()
    assert reason_of(server.url("/drip"), policy) == "timeout"
    assert 0.4 < time.monotonic() - started < 1.2


def test_slow_drip_headers_cannot_outlive_the_deadline(server):
    server.route("/drip-headers", header_drip(interval=0.02, length=100))  # 2+ s in all
    policy = FetchPolicy(allow_loopback=True, read_timeout=1.0, total_timeout=0.5)
    started = time.monotonic()
    assert reason_of(server.url("/drip-headers"), policy) == "timeout"
    assert time.monotonic() - started < 1.2


def test_deadline_covers_the_whole_redirect_chain(server):
    server.route("/hop", redirect("/late"))
    server.route("/late", slow(0.4))
    policy = FetchPolicy(allow_loopback=True, read_timeout=1.0, total_timeout=0.3)
    assert reason_of(server.url("/hop"), policy) == "timeout"


def test_declared_oversize_body_is_refused_before_reading(server):
    server.route("/big", huge(50 * 1024 * 1024))
    started = time.monotonic()
    assert reason_of(server.url("/big"), FetchPolicy(allow_loopback=True, max_bytes=100_000)) \
        == "too_large"
    assert time.monotonic() - started < 1.0


def test_undeclared_oversize_body_stops_at_the_cap(server):
    server.route("/big", huge(50 * 1024 * 1024, send_length=False))
    assert reason_of(server.url("/big"), FetchPolicy(allow_loopback=True, max_bytes=100_000)) \
        == "too_large"


def test_body_exactly_at_the_cap_is_fine(server):
    server.route("/edge", huge(100_000, send_length=False))
    result = fetch(server.url("/edge"), FetchPolicy(allow_loopback=True, max_bytes=100_000))
    assert len(result.body) == 100_000


# --------------------------------------------------------------------------- content encodings

def test_gzip_and_deflate_bodies_are_decoded(server):
    page = b"<html>" + b"news " * 2000 + b"</html>"
    server.route("/gz", gzipped(page))
    server.route("/zlib", deflated(page))
    server.route("/raw-deflate", deflated(page, raw_deflate=True))
    for path in ("/gz", "/zlib", "/raw-deflate"):
        assert fetch(server.url(path), LOCAL).body == page, path


def test_gzip_bomb_is_stopped(server):
    server.route("/bomb", gzip_bomb(20 * 1024 * 1024))
    policy = FetchPolicy(allow_loopback=True, max_decompressed_bytes=1024 * 1024)
    assert reason_of(server.url("/bomb"), policy) == "decompression_bomb"


def test_corrupt_gzip_is_bad_encoding(server):
    server.route("/corrupt", corrupt_gzip())
    assert reason_of(server.url("/corrupt"), LOCAL) == "bad_encoding"


def test_unknown_content_encoding_is_bad_encoding(server):
    server.route("/br", static(b"\x1b\x00", headers={"Content-Encoding": "br"}))
    assert reason_of(server.url("/br"), LOCAL) == "bad_encoding"


def test_decode_content_encoding_limits():
    import gzip

    data = gzip.compress(b"a" * 1000)
    assert decode_content_encoding(data, "gzip", 1000) == b"a" * 1000
    assert decode_content_encoding(gzip.compress(data), "gzip, gzip", 1000) == b"a" * 1000
    assert decode_content_encoding(data + gzip.compress(b"b"), "gzip", 1001) == b"a" * 1000 + b"b"
    assert decode_content_encoding(b"", "gzip", 10) == b""  # e.g. a 304 or HEAD
    with pytest.raises(FetchError, match="decompression_bomb"):
        decode_content_encoding(data, "gzip", 999)
    with pytest.raises(FetchError, match="bad_encoding"):
        decode_content_encoding(data[:-20], "gzip", 1000)  # truncated
    with pytest.raises(FetchError, match="decompression_bomb"):
        decode_content_encoding(b"x" * 11, "identity", 10)


def test_content_type_allow_list_applies_to_2xx_only(server):
    server.route("/html", static("<html/>", content_type="text/html"))
    server.route("/missing", static("<html/>", status=404, content_type="text/html"))
    server.route("/feed", static("<rss/>", content_type="application/rss+xml; charset=utf-8"))
    policy = FetchPolicy(allow_loopback=True, allowed_content_types=("application/*",))
    assert reason_of(server.url("/html"), policy) == "bad_content_type"
    assert fetch(server.url("/missing"), policy).status == 404
    assert fetch(server.url("/feed"), policy).status == 200


# --------------------------------------------------------------------------- redirects

def test_redirect_chain_is_followed_and_recorded(server):
    first = server.redirect_chain("/r", 3, static("final"), status=301)
    result = fetch(server.url(first), LOCAL)
    assert (result.status, result.body, result.url) == (200, b"final", server.url("/r/3"))
    assert [hop.url for hop in result.redirects] == [server.url(f"/r/{i}") for i in range(3)]
    assert {hop.status for hop in result.redirects} == {301}
    assert result.requested_url == server.url("/r/0")


def test_too_many_redirects(server):
    first = server.redirect_chain("/r", 6, static("final"))
    assert reason_of(server.url(first), LOCAL) == "too_many_redirects"
    assert server.hits["/r/6"] == 0
    assert fetch(server.url(first), FetchPolicy(allow_loopback=True, max_redirects=6)).status \
        == 200


@pytest.mark.parametrize("routes", [
    {"/a": "/a"},
    {"/a": "/b", "/b": "/a"},
    {"/a": "/b", "/b": "/c", "/c": "/b#fragment"},
])
def test_redirect_loop(server, routes):
    for path, location in routes.items():
        server.route(path, redirect(location))
    assert reason_of(server.url("/a"), LOCAL) == "redirect_loop"


def test_redirect_without_location_is_returned(server):
    server.route("/odd", static(b"", status=302))
    assert fetch(server.url("/odd"), LOCAL).status == 302


def test_redirect_to_metadata_address_is_refused_before_connecting(server, connects):
    server.route("/meta", redirect("http://169.254.169.254/latest/meta-data/"))
    calls = []
    assert reason_of(server.url("/meta"), LOCAL, resolver=stub_resolver({}, calls)) \
        == "unsafe_target"
    assert connects == [("127.0.0.1", server.port)]  # only the redirecting server
    assert calls == []  # an IP literal needs no lookup


def test_redirect_to_name_resolving_to_metadata_is_refused(server, connects):
    server.route("/meta", redirect("http://metadata.google.internal/computeMetadata/v1/"))
    calls = []
    resolver = stub_resolver({"metadata.google.internal": "169.254.169.254"}, calls)
    assert reason_of(server.url("/meta"), LOCAL, resolver=resolver) == "unsafe_target"
    assert calls == ["metadata.google.internal"]
    assert connects == [("127.0.0.1", server.port)]


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://x/"])
def test_redirect_to_other_scheme_is_refused(server, connects, location):
    server.route("/go", redirect(location))
    assert reason_of(server.url("/go"), LOCAL) == "bad_scheme"
    assert connects == [("127.0.0.1", server.port)]


def test_every_hop_is_resolved_and_credentials_stay_on_their_origin(server):
    calls = []
    resolver = stub_resolver({"a.example": "127.0.0.1", "b.example": "127.0.0.1"}, calls)
    server.route("/start", redirect("/same"))
    server.route("/same", redirect(server.url("/other", host="b.example")))
    server.route("/other", static("ok"))
    secret = {"Authorization": "Bearer s3cret", "Cookie": "id=1", "X-Trace": "t"}
    result = fetch(server.url("/start", host="a.example"), LOCAL, headers=secret,
                   resolver=resolver)
    assert result.status == 200
    assert calls == ["a.example", "a.example", "b.example"]
    assert server.last_request("/same").header("authorization") == "Bearer s3cret"
    other = server.last_request("/other")
    assert other.header("authorization") is None and other.header("cookie") is None
    assert other.header("x-trace") == "t"
    assert other.header("host") == f"b.example:{server.port}"


# --------------------------------------------------------------------------- SSRF guard

def test_name_resolving_to_loopback_needs_allow_loopback(server, connects):
    server.route("/", static("local"))
    resolver = stub_resolver({"news.example": "127.0.0.1"})
    url = server.url("/", host="news.example")
    assert reason_of(url, STRICT, resolver=resolver) == "unsafe_target"
    assert connects == []
    result = fetch(url, LOCAL, resolver=resolver)
    assert (result.status, result.body) == (200, b"local")
    assert server.last_request("/").header("host") == f"news.example:{server.port}"
    assert connects == [("127.0.0.1", server.port)]  # the pinned address, not the name


@pytest.mark.parametrize("address", [
    "10.0.0.1", "10.255.255.255", "192.168.1.1", "172.16.0.1", "172.31.255.254", "100.64.0.1",
    "100.127.255.254", "169.254.169.254", "169.254.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1",
    "239.255.255.250", "255.255.255.255", "240.0.0.1", "198.18.0.1", "192.0.0.8", "192.0.2.1",
    "fc00::1", "fd12:3456::1", "fe80::1", "::", "ff02::1", "::ffff:10.0.0.1",
    "::ffff:169.254.169.254", "::ffff:0.0.0.0", "2002:a00:1::1", "2002:a9fe:a9fe::1",
    "64:ff9b::a00:1", "64:ff9b::a9fe:a9fe", "2001:db8::1", "::10.0.0.1", "fec0::1",
])
@pytest.mark.parametrize("policy", [STRICT, LOCAL], ids=["strict", "allow_loopback"])
def test_non_public_addresses_are_refused_without_connecting(connects, address, policy):
    resolver = stub_resolver({"inside.example": address})
    assert reason_of("http://inside.example/", policy, resolver=resolver) == "unsafe_target"
    literal = f"[{address}]" if ":" in address else address
    assert reason_of(f"http://{literal}/", policy) == "unsafe_target"
    assert connects == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f.1", "127.1", "0177.0.0.1", "017700000001"])
def test_odd_ipv4_notations_are_checked_as_the_address_they_mean(connects, host):
    def numeric_resolver(name, port, *args):  # what getaddrinfo does with such names, offline
        address = socket.inet_ntoa(socket.inet_aton(name))
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    assert reason_of(f"http://{host}/", STRICT, resolver=numeric_resolver) == "unsafe_target"
    assert connects == []


def test_any_unsafe_address_among_several_refuses_the_host(connects):
    resolver = stub_resolver({"mixed.example": ["93.184.216.34", "10.0.0.1"]})
    assert reason_of("http://mixed.example/", STRICT, resolver=resolver) == "unsafe_target"
    assert connects == []


@pytest.mark.parametrize("address", ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"])
def test_loopback_is_refused_unless_allowed(address):
    assert unsafe_address_reason(address) is not None
    assert unsafe_address_reason(address, allow_loopback=True) is None


@pytest.mark.parametrize("address", ["8.8.8.8", "93.184.216.34", "1.1.1.1",
                                     "2606:4700:4700::1111", "2a00:1450:4001::200e",
                                     "::ffff:93.184.216.34", "2002:5db8:d822::1"])
def test_public_addresses_pass(address):
    assert unsafe_address_reason(address) is None


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "gopher://x:70/",
                                 "javascript:alert(1)", "data:text/html,hi", "//example.com/",
                                 "mailto:a@example.com"])
def test_non_http_schemes_are_refused(connects, url):
    calls = []
    assert reason_of(url, STRICT, resolver=stub_resolver({}, calls)) == "bad_scheme"
    assert calls == [] and connects == []


@pytest.mark.parametrize("url", ["http://", "http:///path", "http://exa mple.com/",
                                 "http://example.com:99999/", "http://[::1/", "http://a..b/"])
def test_malformed_urls_are_bad_url(connects, url):
    assert reason_of(url, STRICT, resolver=stub_resolver({})) == "bad_url"
    assert connects == []


def test_unknown_host_is_dns_failure(connects):
    assert reason_of("http://nowhere.example/", STRICT, resolver=stub_resolver({})) \
        == "dns_failure"
    assert connects == []


def test_refused_connection_is_connection_error():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    assert reason_of(f"http://127.0.0.1:{port}/", LOCAL) == "connection_error"


def test_proxy_environment_is_ignored(server, monkeypatch):
    server.route("/direct", static("direct"))
    resolver = stub_resolver({"news.example": "127.0.0.1"})
    with ConnectionCounter() as proxy:
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY",
                     "all_proxy"):
            monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        result = fetch(server.url("/direct", host="news.example"), LOCAL, resolver=resolver)
    assert result.body == b"direct"
    assert proxy.count == 0
    assert server.hits["/direct"] == 1


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        FetchPolicy(total_timeout=0)
    with pytest.raises(ValueError):
        FetchPolicy(max_bytes=0)


def test_fetch_error_survives_pickling():
    error_ = pickle.loads(pickle.dumps(FetchError("timeout", "too slow")))
    assert (error_.reason, error_.message, str(error_)) == ("timeout", "too slow",
                                                            "timeout: too slow")


# --------------------------------------------------------------------------- https

def _self_signed(hostname: str):
    """A throwaway certificate for ``hostname`` as PEM (cert, key)."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert_pem, key_pem


@pytest.fixture
def tls_server(tmp_path):
    cert_pem, key_pem = _self_signed("news.example")
    (tmp_path / "cert.pem").write_bytes(cert_pem)
    (tmp_path / "key.pem").write_bytes(key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server_names = []
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    with LoopbackServer(tls=context) as running:
        running.server_names = server_names
        running.trusted_client = ssl.create_default_context(cadata=cert_pem.decode())
        yield running


def test_https_to_pinned_address_keeps_sni_and_certificate_checks(tls_server, monkeypatch):
    tls_server.route("/secure", static("secret news"))
    resolver = stub_resolver({"news.example": "127.0.0.1", "other.example": "127.0.0.1"})
    url = tls_server.url("/secure", host="news.example")
    with pytest.raises(FetchError, match="CERTIFICATE_VERIFY_FAILED") as untrusted:
        fetch(url, LOCAL, resolver=resolver)
    assert untrusted.value.reason == "connection_error"

    monkeypatch.setattr(http_module, "_tls_context", lambda: tls_server.trusted_client)
    result = fetch(url, LOCAL, resolver=resolver)
    assert (result.status, result.body, result.remote_ip) == (200, b"secret news", "127.0.0.1")
    assert tls_server.server_names[-1] == "news.example"
    assert tls_server.last_request("/secure").header("host") == f"news.example:{tls_server.port}"
    # the certificate is for news.example: the same address under another name is refused
    with pytest.raises(FetchError, match="match|mismatch") as wrong_name:
        fetch(tls_server.url("/secure", host="other.example"), LOCAL, resolver=resolver)
    assert wrong_name.value.reason == "connection_error"
