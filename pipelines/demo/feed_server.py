"""A local feed server for the demo: realistic feeds on 127.0.0.1 that change over time.

It serves, from generated sample articles (``newsflow.pipelines.demo.sample_corpus``):

- ``/feeds/world.xml`` (RSS, ETag + Last-Modified): a new item every ``step_s`` seconds, the
  last items re-published on every poll; one item links to a 6 MB page, one to a 404 and one
  to a path robots.txt disallows;
- ``/feeds/business.atom`` (Atom, ignores conditional GET): new entries over time, and a
  re-syndicated copy of the wire story;
- ``/feeds/wire.xml``: the original wire story (AP) and another outlet's copy of it;
- ``/feeds/broken.xml``: malformed XML whose entries are still readable;
- ``/feeds/slow.xml``: answers after ``slow_s`` seconds (past the demo's fetch timeout);
- ``/feeds/down.xml``: always 500.

Only 127.0.0.1 is bound. Nothing here is used by the pipelines themselves.
"""

from __future__ import annotations

import hashlib
import threading
import time
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from newsflow.pipelines.demo.sample_corpus import generate_articles, render_html, syndicate

HUGE_PAGE_BYTES = 6 * 1024 * 1024
ROBOTS = b"User-agent: *\nDisallow: /private/\n"


class DemoFeeds:
    """Start with ``with DemoFeeds() as feeds:``; ``feeds.feed_list()`` gives the URLs."""

    def __init__(self, step_s: float = 6.0, slow_s: float = 8.0, seed: int = 7):
        self.step_s, self.slow_s = step_s, slow_s
        articles = list(generate_articles(14, seed=seed, languages=("en", "en", "de", "fr")))
        self.wire = articles[0]
        copies = [syndicate(self.wire, outlet, seed=seed) for outlet in
                  ("dailyherald.example", "metro-tribune.test")]
        self.pages: dict[str, bytes] = {}
        self.world = self._publish("world", articles[1:7])
        self.business = self._publish("business", articles[7:11] + copies[:1])
        self.wire_items = self._publish("wire", [self.wire, copies[1]])
        self.broken = self._publish("broken", articles[11:13])
        self.slow = self._publish("slow", articles[13:14])
        self.world[2:2] = [("A page too large to fetch", "/articles/huge.html", None),
                           ("A story that was taken down", "/articles/gone.html", None),
                           ("Members only", "/private/members.html", None)]
        self.pages["/articles/huge.html"] = b"<html><body>" + b"x" * HUGE_PAGE_BYTES
        self._started = time.monotonic()
        self.hits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _publish(self, feed: str, articles) -> list[tuple[str, str, object]]:
        items = []
        for index, article in enumerate(articles):
            path = f"/articles/{feed}-{index}.html"
            self.pages[path] = render_html(article, boilerplate_kb=20).encode("utf-8")
            items.append((article.title, path, article))
        return items

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> DemoFeeds:
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def feed_list(self) -> str:
        return "\n".join(f"{self.base_url}/feeds/{name}" for name in (
            "world.xml", "business.atom", "wire.xml", "broken.xml", "slow.xml",
            "down.xml")) + "\n"

    # -- content ---------------------------------------------------------------------------
    def _visible(self, items, start: int = 2):
        """Items published so far: ``start`` at first, one more every ``step_s`` seconds."""
        count = start + int((time.monotonic() - self._started) / self.step_s)
        return items[: min(len(items), count)][-5:]  # newest five, as real feeds do

    def _rss(self, items, broken: bool = False) -> bytes:
        parts = []
        for title, path, article in reversed(items):
            published = article.published_at if article is not None else None
            date = f"<pubDate>{format_datetime(published)}</pubDate>" if published else ""
            title = title if broken else escape(title)  # broken: raw "&" and "<" in titles
            parts.append(f"<item><title>{title}</title><link>{self.base_url}{path}</link>"
                         f"<guid>{path}</guid>{date}</item>")
        body = ("<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>Demo</title><link>{self.base_url}/</link>{''.join(parts)}"
                "</channel></rss>")
        if broken:
            body = body.replace("</channel></rss>", "<item><title>cut off")
        return body.encode("utf-8")

    def _atom(self, items) -> bytes:
        entries = []
        for title, path, article in reversed(items):
            updated = article.published_at.isoformat() if article is not None else ""
            entries.append(f"<entry><title>{escape(title)}</title><id>{path}</id>"
                           f"<link href='{self.base_url}{path}'/><updated>{updated}</updated>"
                           "</entry>")
        return ("<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'>"
                f"<title>Business</title><id>{self.base_url}/feeds/business.atom</id>"
                f"{''.join(entries)}</feed>").encode()

    def answer(self, path: str, headers) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.hits[path] = self.hits.get(path, 0) + 1
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, ROBOTS
        if path == "/feeds/world.xml":
            body = self._rss(self._visible(self.world, start=4))
            etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            if headers.get("If-None-Match") == etag:
                return 304, {"ETag": etag}, b""
            return 200, {"Content-Type": "application/rss+xml; charset=utf-8", "ETag": etag}, body
        if path == "/feeds/business.atom":
            return 200, {"Content-Type": "application/atom+xml"}, self._atom(
                self._visible(self.business))
        if path == "/feeds/wire.xml":
            return 200, {"Content-Type": "application/rss+xml"}, self._rss(self.wire_items)
        if path == "/feeds/broken.xml":
            return 200, {"Content-Type": "application/rss+xml"}, self._rss(self.broken, True)
        if path == "/feeds/slow.xml":
            time.sleep(self.slow_s)
            return 200, {"Content-Type": "application/rss+xml"}, self._rss(self.slow)
        if path == "/feeds/down.xml":
            return 500, {"Content-Type": "text/plain"}, b"internal error"
        if path in self.pages:
            return 200, {"Content-Type": "text/html; charset=utf-8"}, self.pages[path]
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def _handler(self):
        demo = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                status, headers, body = demo.answer(self.path.split("?")[0], self.headers)
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (size cap, timeout): that is the point

            def log_message(self, format, *args):  # noqa: A002 - signature of the base class
                return

        return Handler
