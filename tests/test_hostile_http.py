"""Issue 11, HTTP and feeds: one deadline, bounded work per feed, clear failures.

Every case runs against the loopback server (tests/httpserver.py) or the pure functions the
DoFns call, and asserts the exact outcome a DoFn would emit.
"""

import gzip
import zlib
from datetime import UTC, datetime

import pytest

from newsflow.schemas import DeadLetter, RawRecord
from newsflow.schemas.feeds import FeedEntry, FeedSpec
from newsflow.transforms import http as http_module
from newsflow.transforms.feeds.parse import parse_feed
from newsflow.transforms.feeds.poll import poll_once
from newsflow.transforms.feeds.schedule import initial_poll_state
from newsflow.transforms.feeds.seen import SeenEntries
from newsflow.transforms.fetch import fetch_article
from newsflow.transforms.http import FetchError, FetchPolicy, decode_content_encoding, fetch
from newsflow.transforms.stage import DEAD, MAIN
from tests.httpserver import LoopbackServer, Response, redirect, static

LOCAL = FetchPolicy(allow_loopback=True, connect_timeout=2.0, read_timeout=2.0,
                    total_timeout=10.0)
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
PAGE = ("<html><head><title>Café</title></head><body><article><p>" +
        "Ministers agreed on the budget after a long night of talks. " * 20 +
        "</p></article></body></html>").encode()
RSS = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>ok</title>'
       b"<item><title>One</title><link>https://news.test/1</link></item>"
       b"<item><title>Two</title><link>https://news.test/2</link></item></channel></rss>")


@pytest.fixture
def server():
    with LoopbackServer() as running:
        yield running


def _fetcher(url, headers):
    return fetch(url, LOCAL, headers)


def _entry(url: str) -> FeedEntry:
    return FeedEntry(feed_url="https://news.test/feed", entry_key=url, link=url, raw_link=url,
                     guid=None, title="t", summary=None, authors=(), tags=(), published_at=None,
                     updated_at=None)


def _poll(spec: FeedSpec):
    _state, _seen, outputs = poll_once(spec, initial_poll_state(spec, NOW), SeenEntries(), NOW,
                                       _fetcher, None)
    return [(tag, value) for tag, value in outputs if tag in (MAIN, DEAD)]


# --------------------------------------------------------------------------------------------
# A body shorter than its Content-Length


def test_a_body_cut_short_of_its_content_length_is_truncated_body(server):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
    server.route("/cut", Response(raw=head + b"<html>27 bytes of 100000"))
    with pytest.raises(FetchError) as caught:
        fetch(server.url("/cut"), LOCAL)
    assert caught.value.reason == "truncated_body"
    assert "99976 short of Content-Length" in caught.value.message
    outcome, exchange = fetch_article(_entry(server.url("/cut")), _fetcher, None)
    assert isinstance(outcome, DeadLetter) and exchange is None
    assert (outcome.stage, outcome.reason, outcome.url) == ("fetch", "truncated_body",
                                                            server.url("/cut"))


def test_a_chunked_body_cut_off_is_truncated_body(server):
    server.route("/chunked", Response(raw=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                          b"\r\n400\r\n" + b"x" * 100))
    with pytest.raises(FetchError) as caught:
        fetch(server.url("/chunked"), LOCAL)
    assert caught.value.reason == "truncated_body"


# --------------------------------------------------------------------------------------------
# Many gzip members: linear work, inside the fetch's deadline


class _CountingZlib:
    """zlib, counting the compressed bytes handed to decompressors."""

    def __init__(self):
        self.fed = 0

    def __getattr__(self, name):
        return getattr(zlib, name)

    def decompressobj(self, *args):
        inner, owner = zlib.decompressobj(*args), self

        class Counting:
            def decompress(self, data, max_length=0):
                owner.fed += len(data)
                return inner.decompress(data, max_length)

            def __getattr__(self, name):
                return getattr(inner, name)

        return Counting()


def test_many_gzip_members_cost_work_in_proportion_to_the_body(monkeypatch):
    members = 5_000
    body = gzip.compress(b"", mtime=0) * members + gzip.compress(b"<html>end</html>", mtime=0)
    counting = _CountingZlib()
    monkeypatch.setattr(http_module, "zlib", counting)
    assert decode_content_encoding(body, "gzip", 1 << 20) == b"<html>end</html>"
    # each member sees its own bytes and at most one small first piece: never the whole rest
    assert counting.fed <= 2 * len(body) + 256 * (members + 1)  # was ~ members * len(body) / 2


def test_decoding_runs_inside_the_fetch_deadline(server, monkeypatch):
    body = gzip.compress(b"", mtime=0) * 262_000  # 5.2 MB, under the byte cap
    server.route("/members", Response(body=body, headers={"Content-Encoding": "gzip",
                                                            "Content-Type": "text/html"}))
    deadlines = []
    real = http_module.decode_content_encoding

    def spy(raw, coding, limit, deadline=None):
        deadlines.append(deadline)
        return real(raw, coding, limit, deadline)

    monkeypatch.setattr(http_module, "decode_content_encoding", spy)
    result = fetch(server.url("/members"), LOCAL)
    assert result.body == b"" and result.status == 200
    assert len(deadlines) == 1 and deadlines[0] is not None  # the fetch's own deadline
    with pytest.raises(FetchError) as caught:  # past it, decoding stops with a timeout
        real(body, "gzip", 1 << 20, deadline=0.0)
    assert caught.value.reason == "timeout"


# --------------------------------------------------------------------------------------------
# Feeds that would keep feedparser busy for a minute


def _items(count: int) -> bytes:
    items = b"".join(b"<item><link>https://a.test/%06d</link></item>" % i for i in range(count))
    return b'<?xml version="1.0"?><rss version="2.0"><channel>' + items + b"</channel></rss>"


def _nested(depth: int) -> bytes:
    return (b'<?xml version="1.0"?><rss version="2.0"><channel><item><title>x</title>' +
            b"<a>" * depth + b"x" + b"</a>" * depth + b"</item></channel></rss>")


@pytest.mark.parametrize(("body", "detail"), [
    (_items(100_000), "100,000 <item>/<entry> elements, over the 5,000 limit"),
    (_nested(50_000), "elements nested over 100 deep"),
    (b"<rss>" + b"&amp;" * 250_000 + b"</rss>", "over the 200,000 limit"),
])
def test_feeds_over_the_work_caps_are_refused_before_parsing(body, detail):
    parsed = parse_feed(body, {"content-type": "application/rss+xml"}, "https://f.test/rss")
    assert parsed.error == "feed_too_complex" and detail in parsed.error_detail
    assert parsed.entries == ()


def test_a_hostile_feed_is_its_dead_letter_and_the_next_feed_is_polled(server):
    hostile = _items(100_000)
    assert 4_000_000 < len(hostile) < 5_000_000
    server.route("/hostile.xml", static(hostile, content_type="application/rss+xml"))
    server.route("/fine.xml", static(RSS, content_type="application/rss+xml"))
    (outcome,) = _poll(FeedSpec(url=server.url("/hostile.xml")))
    tag, letter = outcome
    assert tag == DEAD and (letter.stage, letter.reason) == ("feed", "feed_too_complex")
    assert letter.source_ref == server.url("/hostile.xml")
    assert letter.raw_truncated and len(letter.raw) == 1_000_000  # the feed, capped, flagged
    fine = _poll(FeedSpec(url=server.url("/fine.xml")))
    assert [(tag, entry.link) for tag, entry in fine] == [(MAIN, "https://news.test/1"),
                                                         (MAIN, "https://news.test/2")]


# --------------------------------------------------------------------------------------------
# Values that made the client raise ValueError out of the DoFns


def test_a_redirect_to_an_unparsable_url_is_bad_url(server):
    server.route("/moved", redirect("http://[abc/"))
    with pytest.raises(FetchError) as caught:
        fetch(server.url("/moved"), LOCAL)
    assert caught.value.reason == "bad_url" and "http://[abc/" in caught.value.message
    ((tag, letter),) = _poll(FeedSpec(url=server.url("/moved")))
    assert tag == DEAD and (letter.stage, letter.reason) == ("feed", "bad_url")
    outcome, _ = fetch_article(_entry(server.url("/moved")), _fetcher, None)
    assert (outcome.stage, outcome.reason) == ("fetch", "bad_url")


@pytest.mark.parametrize("header", [("X-Token", "a\r\nX-Injected: 1"), ("X-Token", "a\nb"),
                                    ("Bad Name", "v"), ("X-Token", "nul\0")])
def test_a_configured_header_with_cr_or_lf_is_bad_header(server, header):
    server.route("/feed.xml", static(RSS, content_type="application/rss+xml"))
    with pytest.raises(FetchError) as caught:
        fetch(server.url("/feed.xml"), LOCAL, dict([header]))
    assert caught.value.reason == "bad_header"
    ((tag, letter),) = _poll(FeedSpec(url=server.url("/feed.xml"), headers=(header,)))
    assert tag == DEAD and (letter.stage, letter.reason) == ("feed", "bad_header")
    assert server.hits["/feed.xml"] == 0  # refused before any request


# --------------------------------------------------------------------------------------------
# Charsets Python cannot use for pages, on the live path


@pytest.mark.parametrize("charset", ["undefined", "punycode"])
def test_a_fetched_page_with_an_unusable_charset_is_decoded(server, charset):
    server.route("/page", static(PAGE, content_type=f"text/html; charset={charset}"))
    outcome, exchange = fetch_article(_entry(server.url("/page")), _fetcher, None)
    assert isinstance(outcome, RawRecord) and exchange is not None
    assert "Café" in outcome.body and outcome.url == server.url("/page")


def test_http_error_bodies_say_they_are_cut(server):
    server.route("/gone", Response(status=410, body=b"x" * 100_000,
                                   headers={"Content-Type": "text/html"}))
    outcome, _ = fetch_article(_entry(server.url("/gone")), _fetcher, None)
    assert (outcome.reason, len(outcome.raw), outcome.raw_truncated) == ("http_410", 65536, True)
    ((_, letter),) = _poll(FeedSpec(url=server.url("/gone")))
    assert (letter.reason, len(letter.raw), letter.raw_truncated) == ("http_410", 65536, True)


def test_character_references_to_no_character_cost_no_entry():
    body = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            b"<item><title>A &#55296; B &#x0; C &#x110000; &#233;</title>"
            b"<link>https://a.test/1</link></item>"
            b"<item><title>fine</title><link>https://a.test/2</link></item></channel></rss>")
    parsed = parse_feed(body, {"content-type": "application/rss+xml"}, "https://f.test/rss")
    assert parsed.error is None  # feedparser used to raise: the whole feed a parse_error
    assert [entry.title for entry in parsed.entries] == ["A \ufffd B \ufffd C \ufffd é", "fine"]
