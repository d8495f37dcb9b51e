"""Streaming feed ingestion: feed polls/s and articles/s against a loopback server, and the state
kept per feed over a long simulated run.

    python -m bench.bench_feeds [--quick] [--feeds 200] [--rounds 3] [--threads 8]
                                [--articles 300] [--long-polls 100000] [--many-feeds 1000]

Three parts, in one run:

1. Feed polls. A child process serves ``--feeds`` RSS feeds on 127.0.0.1 (20-50 items each;
   every feed publishes new items every few requests and re-publishes the rest; half answer
   with an ETag and a fifth with Last-Modified only, so conditional polls get 304). Every feed
   is polled ``--rounds`` times with ``polling.poll_once`` through the guarded client
   (``newsflow.transforms.http.fetch``), sequentially and then with a pool of ``--threads`` threads,
   keeping each feed's PollState and SeenEntries between rounds (schedules are ignored: every
   round polls every feed). The first round (every entry new, all parsed) and the later ones
   are reported apart. No politeness delay: all feeds share one host here. A bare
   ``http.client`` GET of the same feed URLs shows the HTTP share of a poll.
2. Articles. Entries found in part 1 are fetched with ``fetch_article`` (fetch only, robots.txt
   checked and cached), then fetched and processed like the pipeline does (extract, clean,
   classify, dates, language, build, topics; extraction in-process as in ``bench_backfill``'s
   baseline), next to a bare ``http.client`` loop over the same URLs: the fetch-only ratio is
   the cost of the guards.
3. State per feed, without HTTP: ``poll_once`` with a fake fetcher returning synthetic
   ``FetchResult`` objects, for a feed that publishes a new item on every poll and re-publishes
   the last 50, over ``--long-polls`` polls: PollState as Beam's ``PickleCoder`` stores it and
   ``SeenEntries.to_bytes()`` (what the ``BytesCoder`` state holds), which level off at the
   SeenEntries bound. Then ``--many-feeds`` varied feeds x ``--many-polls`` polls, in total.
   In this part ``parse_feed`` is swapped, inside ``poll_once`` only, for a parser of the
   bench's own RSS layout: feedparser costs ~30 ms per 51-item feed, which would make 100,000
   polls take most of an hour. The run first checks on ``--check-polls`` polls that both
   parsers give the same new entries and byte-identical state.

Only 127.0.0.1 is contacted: every URL is checked against the bench server before it is
fetched, redirects are refused (``max_redirects=0``), and every loop is bounded by its count
and by ``--max-seconds`` per phase. Nothing is asserted: timings depend on the machine and on
what else runs on it.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import http.client
import itertools
import multiprocessing
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

HOST = "127.0.0.1"
#: Simulated clock of part 3 (no wall clock: the simulated run covers about a year).
SIM_START = datetime(2026, 1, 1, tzinfo=UTC)
QUICK = {"feeds": 40, "rounds": 2, "articles": 40, "fetches": 300, "pages": 40,
         "long_polls": 10_000, "report_every": 1_000, "many_feeds": 100, "many_polls": 100,
         "check_polls": 60, "max_seconds": 60.0}
DEFAULT = {"feeds": 200, "rounds": 3, "articles": 300, "fetches": 1_500, "pages": 200,
           "long_polls": 100_000, "report_every": 10_000, "many_feeds": 1_000,
           "many_polls": 100, "check_polls": 200, "max_seconds": 180.0}


# ---------------------------------------------------------------------------------------------
# RSS documents (shared by the loopback server and the fake fetcher of part 3)


def rss_item(title: str, link: str, guid: str, permalink: bool, published: datetime,
             description: str, categories: tuple[str, ...] = ()) -> str:
    cats = "".join(f"<category>{escape(c)}</category>" for c in categories)
    return (f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f"<guid isPermaLink=\"{'true' if permalink else 'false'}\">{escape(guid)}</guid>"
            f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
            f"<description>{escape(description)}</description>{cats}</item>")


def rss_document(title: str, site_url: str, items) -> bytes:
    return ("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>"
            f"<title>{escape(title)}</title><link>{escape(site_url)}</link>"
            f"<description>newsflow feed benchmark</description>{''.join(items)}"
            "</channel></rss>").encode()


@dataclass(frozen=True)
class FeedProfile:
    """How one served feed behaves."""

    size: int  # items in the document
    validator: str | None  # "etag", "last-modified" or None (the poller falls back on a hash)
    change_every: int  # requests between two updates
    new_per_change: int  # items published per update
    permalink: bool  # guid is the link (else an opaque URN)


def feed_profile(index: int, seed: int) -> FeedProfile:
    rng = random.Random(f"bench-feeds:{seed}:{index}")
    roll = rng.random()
    validator = "etag" if roll < 0.5 else "last-modified" if roll < 0.7 else None
    return FeedProfile(size=rng.randint(20, 50), validator=validator,
                       change_every=rng.choice((1, 2, 2, 3, 4)),
                       new_per_change=rng.choice((1, 1, 2, 3)), permalink=rng.random() < 0.5)


# ---------------------------------------------------------------------------------------------
# The loopback server (a child process, so its Python work does not share the bench's GIL)


class FeedSite:
    """``/feeds/<i>.xml``, ``/a/<i>/<n>.html`` (rendered sample articles) and ``/robots.txt``."""

    def __init__(self, n_feeds: int, n_pages: int, seed: int):
        from newsflow.pipelines.demo.sample_corpus import generate_articles, render_html

        self.articles = list(generate_articles(n_pages, seed=seed))
        self.pages = [render_html(a).encode("utf-8") for a in self.articles]
        self.profiles = [feed_profile(i, seed) for i in range(n_feeds)]
        self.base_url = ""
        self.t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
        self.counts: Counter = Counter()
        self._hits = [0] * n_feeds
        self._bodies: dict[int, tuple[int, bytes]] = {}
        self._lock = threading.Lock()

    def answer(self, path: str, headers) -> tuple[int, dict[str, str], bytes]:
        path = path.split("?", 1)[0]
        parts = path.strip("/").split("/")
        try:
            if path == "/robots.txt":
                return self._count("robots", 200, {"Content-Type": "text/plain"},
                                   b"User-agent: *\nDisallow: /private/\n")
            if len(parts) == 2 and parts[0] == "feeds" and parts[1].endswith(".xml"):
                index = int(parts[1][:-4])
                if 0 <= index < len(self.profiles):
                    return self._feed(index, headers)
            if len(parts) == 3 and parts[0] == "a" and parts[2].endswith(".html"):
                page = self.pages[(int(parts[1]) * 7919 + int(parts[2][:-5])) % len(self.pages)]
                return self._count("page", 200, {"Content-Type": "text/html; charset=utf-8"},
                                   page)
        except ValueError:
            pass
        return self._count("not_found", 404, {"Content-Type": "text/plain"}, b"not found")

    def _count(self, kind: str, status: int, headers: dict, body: bytes):
        with self._lock:
            self.counts[f"{kind} {status}"] += 1
        return status, headers, body

    def _feed(self, index: int, request_headers):
        profile = self.profiles[index]
        with self._lock:
            hit = self._hits[index]
            self._hits[index] += 1
        version = hit // profile.change_every
        etag = f'"f{index}-v{version}"'
        modified = format_datetime(self.t0 + timedelta(minutes=version), usegmt=True)
        validators = {}
        if profile.validator == "etag":
            validators["ETag"] = etag
        elif profile.validator == "last-modified":
            validators["Last-Modified"] = modified
        if ("ETag" in validators and request_headers.get("If-None-Match") == etag) or \
                ("Last-Modified" in validators
                 and request_headers.get("If-Modified-Since") == modified):
            return self._count("feed", 304, validators, b"")
        cached = self._bodies.get(index)
        if cached is None or cached[0] != version:
            head = profile.size + version * profile.new_per_change  # items 0..head-1 published
            items = (self._item(index, n, profile) for n in range(head - 1, head - 1 - profile.size,
                                                                 -1))
            cached = (version, rss_document(f"Bench feed {index}", f"{self.base_url}/", items))
            self._bodies[index] = cached
        return self._count("feed", 200, {"Content-Type": "application/rss+xml; charset=utf-8",
                                         **validators}, cached[1])

    def _item(self, index: int, n: int, profile: FeedProfile) -> str:
        article = self.articles[(index * 7919 + n) % len(self.articles)]
        link = f"{self.base_url}/a/{index}/{n}.html"
        guid = link if profile.permalink else f"urn:newsflow-bench:feed{index}:item{n}"
        return rss_item(article.title, link, guid, profile.permalink,
                        self.t0 + timedelta(minutes=n), article.paragraphs[0][:300],
                        article.tags[:3])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


def _handler_for(site: FeedSite):
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a stuck client cannot hold a handler thread

        def do_GET(self):  # noqa: N802 - http.server's naming
            status, headers, body = site.answer(self.path, self.headers)
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if body:
                    self.wfile.write(body)
            except (ConnectionError, TimeoutError):
                pass

        def log_message(self, format, *args):  # noqa: A002 - http.server's signature
            pass

    return Handler


def serve(conn, n_feeds: int, n_pages: int, seed: int) -> None:
    """Child process: serve until told to stop (or until the parent is gone)."""
    site = FeedSite(n_feeds, n_pages, seed)
    server = _Server((HOST, 0), _handler_for(site))
    site.base_url = f"http://{HOST}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    page_kb = sum(map(len, site.pages)) / len(site.pages) / 1024
    conn.send((server.server_address[1], page_kb))
    with contextlib.suppress(EOFError, OSError):
        conn.recv()
    server.shutdown()
    server.server_close()
    with contextlib.suppress(OSError):
        conn.send(dict(site.counts))


class LoopbackFeeds:
    """Starts :func:`serve` in a child process; ``with LoopbackFeeds(...) as server:``."""

    def __init__(self, n_feeds: int, n_pages: int, seed: int):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=serve, args=(child, n_feeds, n_pages, seed),
                                        daemon=True, name="bench-feeds-server")
        self.counts: dict = {}

    def __enter__(self) -> LoopbackFeeds:
        self._process.start()
        if not self._conn.poll(120):
            self._process.terminate()
            raise RuntimeError("the loopback feed server did not start within 120 s")
        self.port, self.page_kb = self._conn.recv()
        self.base_url = f"http://{HOST}:{self.port}"
        return self

    def __exit__(self, *exc_info):
        with contextlib.suppress(OSError):
            self._conn.send("stop")
            if self._conn.poll(10):
                self.counts = self._conn.recv()
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()  # our own child, by its handle
            self._process.join(5)


# ---------------------------------------------------------------------------------------------
# Clients: the guarded one the pipeline uses, and a bare one; both refuse anything but the server


class LocalClients:
    def __init__(self, port: int):
        from newsflow.transforms.http import FetchPolicy

        self.port = port
        self.policy = FetchPolicy(allow_loopback=True, max_redirects=0, connect_timeout=5.0,
                                  read_timeout=10.0, total_timeout=15.0)

    def check(self, url: str):
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname != HOST or parts.port != self.port:
            raise RuntimeError(f"the bench only contacts {HOST}:{self.port}, not {url!r}")
        return parts

    def guarded(self, url: str, headers: dict | None = None):
        """``fetcher(url, headers)`` as ``poll_once`` and ``fetch_article`` call it."""
        from newsflow.transforms.http import fetch

        self.check(url)
        return fetch(url, self.policy, headers)

    def robots_fetcher(self, url: str, policy, resolver=None):
        """``RobotsCache``'s fetcher, checked the same way."""
        from newsflow.transforms.http import fetch

        self.check(url)
        return fetch(url, policy, resolver=resolver)

    def bare(self, url: str) -> int:
        """One GET with ``http.client`` (no proxy, no checks beyond the host): body length."""
        parts = self.check(url)
        connection = http.client.HTTPConnection(HOST, self.port, timeout=10)
        try:
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", path, headers={"Accept": "*/*"})
            response = connection.getresponse()
            return len(response.read())
        finally:
            connection.close()


# ---------------------------------------------------------------------------------------------
# Part 1: feed polls


@dataclass
class Track:
    """One feed's state between polls, as the stateful DoFn keeps it."""

    spec: object
    state: object
    seen: object


def poll_kind(before, outputs) -> tuple[str, list]:
    from newsflow.transforms.feeds import is_unchanged
    from newsflow.transforms.fetch import EXCHANGES
    from newsflow.transforms.stage import DEAD, MAIN

    new = [value for tag, value in outputs if tag == MAIN]
    exchange = next((value for tag, value in outputs if tag == EXCHANGES), None)
    if exchange is None or any(tag == DEAD for tag, _ in outputs):
        return "error", new
    if exchange.status == 304:
        return "304", new
    if new:
        return "200 new", new
    return ("200 same" if is_unchanged(before, exchange.body) else "200 none"), new


def poll_track(track: Track, fetcher, deadline: float):
    from newsflow.transforms.feeds.poll import poll_once

    if time.monotonic() > deadline:
        return None
    before = track.state
    track.state, track.seen, outputs = poll_once(track.spec, before, track.seen,
                                                 datetime.now(UTC), fetcher, None)
    return poll_kind(before, outputs)


def new_tracks(base_url: str, n_feeds: int) -> list[Track]:
    from newsflow.schemas.feeds import FeedSpec
    from newsflow.transforms.feeds import SeenEntries, initial_poll_state

    specs = [FeedSpec(url=f"{base_url}/feeds/{i}.xml") for i in range(n_feeds)]
    return [Track(spec, initial_poll_state(spec), SeenEntries()) for spec in specs]


def warm_up_polling() -> None:
    """Imports (Beam comes with ``polling``) and feedparser's first parse: untimed."""
    from newsflow.transforms.feeds import parse_feed
    from newsflow.transforms.feeds.poll import poll_once  # noqa: F401

    body = rss_document("warm-up", f"http://{HOST}/", [rss_item(
        "Warm-up", f"http://{HOST}/a.html", "warm-up", False, SIM_START, "Nothing.")])
    parse_feed(body, {}, f"http://{HOST}/feed.xml", now=SIM_START)


def run_polls(tracks: list[Track], fetcher, rounds: int, threads: int, max_seconds: float):
    """``{"first"|"later": (polls, seconds, Counter of kinds, entries)}`` and the new entries."""
    deadline = time.monotonic() + max_seconds
    stats = {"first": [0, 0.0, Counter(), 0], "later": [0, 0.0, Counter(), 0]}
    found: list = []
    executor = ThreadPoolExecutor(threads) if threads > 1 else None
    try:
        for round_index in range(rounds):
            started = time.perf_counter()
            if executor is None:
                results = [poll_track(t, fetcher, deadline) for t in tracks]
            else:
                results = list(executor.map(lambda t: poll_track(t, fetcher, deadline), tracks))
            elapsed = time.perf_counter() - started
            row = stats["first" if round_index == 0 else "later"]
            row[1] += elapsed
            for result in results:
                if result is None:
                    continue
                kind, new = result
                row[0] += 1
                row[2][kind] += 1
                row[3] += len(new)
                if round_index == 0:
                    found.extend(new)
            if time.monotonic() > deadline:
                break
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    return stats, found


def run_bare_gets(urls: list[str], clients: LocalClients, threads: int, max_seconds: float):
    deadline = time.monotonic() + max_seconds

    def one(url):
        return clients.bare(url) if time.monotonic() <= deadline else None

    started = time.perf_counter()
    if threads > 1:
        with ThreadPoolExecutor(threads) as executor:
            sizes = list(executor.map(one, urls))
    else:
        sizes = [one(url) for url in urls]
    done = [s for s in sizes if s is not None]
    return len(done), time.perf_counter() - started, sum(done)


def feed_poll_part(server: LoopbackFeeds, clients: LocalClients, args) -> list:
    kinds = ("200 new", "200 none", "200 same", "304", "error")
    print(f"\nfeed polls: poll_once + guarded client, {args.feeds} feeds x {args.rounds} rounds "
          "(every feed polled every round; no politeness delay)")
    print(f"  {'mode':<24}{'polls':>6}{'s':>8}{'polls/s':>9} "
          + "".join(f"{k:>10}" for k in kinds) + f"{'entries':>9}")
    warm_up_polling()
    found: list = []
    for label, threads in (("sequential", 1), (f"pool x{args.threads}", args.threads)):
        tracks = new_tracks(server.base_url, args.feeds)
        stats, entries = run_polls(tracks, clients.guarded, args.rounds, threads,
                                   args.max_seconds)
        found = found or entries
        for phase in ("first", "later"):
            polls, seconds, counts, n_entries = stats[phase]
            if not polls:
                continue
            name = f"{label}, {'first poll' if phase == 'first' else 'later polls'}"
            print(f"  {name:<24}{polls:>6}{seconds:>8.2f}{polls / seconds:>9.1f} "
                  + "".join(f"{counts[k]:>10}" for k in kinds) + f"{n_entries:>9}")
    urls = [f"{server.base_url}/feeds/{i}.xml" for i in range(args.feeds)]
    for label, threads in (("sequential", 1), (f"pool x{args.threads}", args.threads)):
        count, seconds, size = run_bare_gets(urls, clients, threads, args.max_seconds)
        print(f"  {'bare GET, ' + label:<24}{count:>6}{seconds:>8.2f}{count / seconds:>9.1f}  "
              f"http.client, unconditional, no parsing ({size / max(count, 1) / 1024:.1f} "
              "KB/feed)")
    return found


# ---------------------------------------------------------------------------------------------
# Part 2: articles


def timed(items, work, max_seconds: float) -> tuple[int, float, Counter]:
    deadline = time.monotonic() + max_seconds
    counts: Counter = Counter()
    started = time.perf_counter()
    done = 0
    for item in items:
        if time.monotonic() > deadline:
            break
        counts[work(item)] += 1
        done += 1
    return done, time.perf_counter() - started, counts


def article_part(entries: list, clients: LocalClients, page_kb: float, args) -> None:
    from newsflow.transforms.accounting import outcome_keys
    from newsflow.transforms.extract import ExtractSettings
    from newsflow.transforms.fetch import fetch_article
    from newsflow.transforms.politeness import RobotsCache
    from newsflow.transforms.process import ProcessSettings, processing_steps
    from newsflow.transforms.stage import run_steps, steps_ready

    if not entries:
        print("\narticles: no entries were found by the feed polls")
        return
    stride = max(1, len(entries) // args.articles)
    chosen = entries[::stride][:args.articles]
    urls = [entry.raw_link for entry in chosen]
    robots = RobotsCache(clients.policy, fetcher=clients.robots_fetcher)

    def fetch_only(entry):
        return outcome_keys(fetch_article(entry, clients.guarded, robots)[0])

    settings = ProcessSettings(extract=ExtractSettings(timeout_s=0))  # extraction in-process
    steps = [step for _, step in processing_steps(settings)]

    def fetch_and_process(entry):
        outcome, _exchange = fetch_article(entry, clients.guarded, robots)
        if outcome_keys(outcome) == "record":
            outcome = run_steps(steps, outcome)
        return outcome_keys(outcome)

    with steps_ready(steps):
        _compare_fetch_loops(chosen, urls, clients, fetch_only, fetch_and_process, page_kb, args)


def _compare_fetch_loops(chosen, urls, clients, fetch_only, fetch_and_process, page_kb, args):
    fetch_and_process(chosen[0])  # warm-up: robots.txt cached, trafilatura and langdetect loaded
    clients.bare(urls[0])
    # the fetch-only loops are short: they cycle over the same entries up to --fetches
    cycled = list(itertools.islice(itertools.cycle(chosen), max(args.fetches, len(chosen))))
    bare_runs, guarded_runs = [], []
    for _ in range(2):  # alternated, best of two: the machine is shared
        bare_runs.append(timed([e.raw_link for e in cycled], clients.bare, args.max_seconds))
        guarded_runs.append(timed(cycled, fetch_only, args.max_seconds))
    bare = min(bare_runs, key=lambda r: r[1] / max(r[0], 1))
    guarded = min(guarded_runs, key=lambda r: r[1] / max(r[0], 1))
    full = timed(chosen, fetch_and_process, args.max_seconds)
    bare_rate = bare[0] / bare[1]
    print(f"\narticles: {len(chosen)} entries from the first polls, pages ~{page_kb:.0f} KB, "
          f"sequential; the fetch-only loops cycle over them to {len(cycled)} fetches, best of "
          "2, alternated")
    print(f"  {'loop':<36}{'pages':>6}{'s':>8}{'pages/s':>9}{'ms/page':>9}{'vs bare':>9}")
    rows = (("bare http.client GET", bare), ("fetch_article (guarded, robots)", guarded),
            ("fetch_article + processing", full))
    for label, (count, seconds, counts) in rows:
        rate = count / seconds
        note = "" if label.startswith("bare") else "   " + ", ".join(
            f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"  {label:<36}{count:>6}{seconds:>8.2f}{rate:>9.1f}{1000 / rate:>9.2f}"
              f"{rate / bare_rate:>8.2f}x{note}")
    guard_ms = 1000 * (guarded[1] / guarded[0] - bare[1] / bare[0])
    process_ms = 1000 * (full[1] / full[0] - guarded[1] / guarded[0])
    print(f"  guards + fetch_article cost {guard_ms:+.2f} ms/page over the bare loop; "
          f"processing {process_ms:.1f} ms/page (extraction in-process)")


# ---------------------------------------------------------------------------------------------
# Part 3: state per feed, without HTTP


_ITEM = re.compile(r"<item>(.*?)</item>", re.S)
_FIELDS = {name: re.compile(rf"<{name}\b[^>]*>(.*?)</{name}>", re.S)
           for name in ("title", "link", "guid", "pubDate")}


@functools.lru_cache(maxsize=1 << 16)
def _bench_entry(feed_url: str, block: str):
    from newsflow.schemas.feeds import FeedEntry
    from newsflow.transforms.urls import canonical_entry_url

    def field(name):
        match = _FIELDS[name].search(block)
        return unescape(match.group(1)).strip() if match else None

    raw_link, guid = field("link"), field("guid")
    published = field("pubDate")
    return FeedEntry(feed_url=feed_url, link=canonical_entry_url(raw_link), raw_link=raw_link,
                     guid=guid, title=field("title"), summary=None, authors=(), tags=(),
                     published_at=parsedate_to_datetime(published) if published else None,
                     updated_at=None, entry_key=guid or canonical_entry_url(raw_link))


def bench_rss_parse(body, headers, feed_url, *, now=None, base_url=None, **_ignored):
    """``parse_feed`` for the bench's own RSS layout only (entry keys as parse_feed makes them:
    the guid); checked against the real parser by :func:`check_fast_parser`."""
    from newsflow.schemas.feeds import ParsedFeed

    entries = tuple(_bench_entry(feed_url, block)
                    for block in _ITEM.findall(body.decode("utf-8")))
    return ParsedFeed(entries=entries, bozo=False, bozo_reason=None, feed_title=None,
                      entries_total=len(entries))


@contextlib.contextmanager
def fast_feed_parser():
    """Swap ``parse_feed`` inside ``newsflow.transforms.feeds.poll`` (what ``poll_once`` calls)."""
    import newsflow.transforms.feeds.poll as polling

    original = polling.parse_feed
    polling.parse_feed = bench_rss_parse
    try:
        yield
    finally:
        polling.parse_feed = original


class FakeFeed:
    """A fetcher without HTTP: ``publish`` adds items, calls answer like the guarded client."""

    def __init__(self, url: str, size: int, etag: bool, permalink: bool):
        self.url, self.etag, self.permalink = url, etag, permalink
        self.items: collections.deque[str] = collections.deque(maxlen=size)
        self.count = 0
        self._slug = url.rsplit("/", 1)[-1].split(".")[0]
        self._body: bytes | None = None

    def publish(self, count: int, now: datetime) -> None:
        for _ in range(count):
            n = self.count
            link = f"http://{HOST}:9/a/{self._slug}/{n}.html"  # never fetched
            guid = link if self.permalink else f"urn:newsflow-bench:{self._slug}:{n}"
            self.items.appendleft(rss_item(f"Story number {n} of the day", link, guid,
                                           self.permalink, now, f"What happened in story {n}."))
            self.count += 1
        if count:
            self._body = None

    def __call__(self, url: str, headers: dict):
        from newsflow.transforms.http import FetchResult

        etag = f'"{self.count}"'
        answer = {"etag": etag} if self.etag else {}
        if self.etag and headers.get("If-None-Match") == etag:
            return FetchResult(url=url, status=304, headers=answer, body=b"",
                               request_headers=dict(headers))
        if self._body is None:
            self._body = rss_document("Simulated feed", "http://127.0.0.1:9/", self.items)
        return FetchResult(url=url, status=200, body=self._body, request_headers=dict(headers),
                           headers={"content-type": "application/rss+xml; charset=utf-8",
                                    **answer})


def state_sizes(state, seen) -> tuple[int, int]:
    from apache_beam.coders import PickleCoder

    return len(PickleCoder().encode(state)), len(seen.to_bytes())


def simulate_one(polls: int, window: int, checkpoints=(), on_checkpoint=None,
                 max_seconds: float = 600.0):
    """One feed: ``window`` items, then a new one per poll, polled whenever due. Returns the
    final state and seen entries, the new keys of every poll, the poll at which SeenEntries
    first held ``max_keys`` keys, and the polls done."""
    from newsflow.schemas.feeds import FeedSpec
    from newsflow.transforms.feeds import SeenEntries, initial_poll_state
    from newsflow.transforms.feeds.poll import poll_once
    from newsflow.transforms.stage import MAIN

    spec = FeedSpec(url="http://127.0.0.1:9/feeds/long.xml")
    feed = FakeFeed(spec.url, window + 1, etag=True, permalink=False)
    now = SIM_START
    feed.publish(window, now)
    state, seen = initial_poll_state(spec, now), SeenEntries()
    new_keys: list[tuple[str, ...]] = []
    full_at = None
    deadline = time.monotonic() + max_seconds
    done = 0
    for poll in range(1, polls + 1):
        if time.monotonic() > deadline:
            break
        done = poll
        now = max(now + timedelta(seconds=1), state.next_poll_at or now)
        feed.publish(1, now)
        state, seen, outputs = poll_once(spec, state, seen, now, feed, None)
        new_keys.append(tuple(v.entry_key for tag, v in outputs if tag == MAIN))
        if full_at is None and len(seen) >= seen.max_keys:
            full_at = poll
        if on_checkpoint is not None and poll in checkpoints:
            on_checkpoint(poll, now, state, seen)
    return state, seen, new_keys, full_at, done


def check_fast_parser(polls: int) -> str:
    """Run the first polls with feedparser and with the bench parser: same entries and state?"""
    real = simulate_one(polls, 50)
    with fast_feed_parser():
        fast = simulate_one(polls, 50)
    same = (real[0] == fast[0] and real[1].to_bytes() == fast[1].to_bytes()
            and real[2] == fast[2])
    return (f"{polls} polls with feedparser and with the bench parser: "
            + ("same new entries, identical PollState and SeenEntries bytes" if same
               else "DIFFERENT results (the state figures below are not trustworthy)"))


def long_run_part(args) -> None:
    from newsflow.transforms.feeds.seen import DEFAULT_SEEN_MAX_KEYS, DEFAULT_SEEN_TTL_S

    started = time.perf_counter()
    check = check_fast_parser(args.check_polls)
    check_seconds = time.perf_counter() - started
    bound = 13 + 12 * DEFAULT_SEEN_MAX_KEYS
    print(f"\nstate of one feed: poll_once with a fake fetcher (no HTTP), a new item every poll "
          f"and the last 50 re-published; SeenEntries max_keys {DEFAULT_SEEN_MAX_KEYS:,}, ttl "
          f"{DEFAULT_SEEN_TTL_S / 86400:g} d; polled when due (~5 min of simulated time)")
    print(f"  check: {check} ({check_seconds:.1f} s)")
    print(f"  {'polls':>9}{'sim. days':>10}{'seen keys':>11}{'SeenEntries B':>15}"
          f"{'PollState B':>13}{'total B':>10}")
    checkpoints = {p for p in (1, 10, 100, 1_000) if p < args.report_every}
    checkpoints |= set(range(args.report_every, args.long_polls + 1, args.report_every))
    checkpoints.add(args.long_polls)
    sizes = []

    def report(poll, now, state, seen):
        pickled, seen_bytes = state_sizes(state, seen)
        sizes.append((poll, pickled, seen_bytes))
        print(f"  {poll:>9,}{(now - SIM_START).total_seconds() / 86400:>10.1f}{len(seen):>11,}"
              f"{seen_bytes:>15,}{pickled:>13,}{pickled + seen_bytes:>10,}")

    started = time.perf_counter()
    with fast_feed_parser():
        *_, full_at, done = simulate_one(args.long_polls, 50, checkpoints, report,
                                         args.max_seconds)
    seconds = time.perf_counter() - started
    if done < args.long_polls:
        print(f"  (stopped after {done:,} polls: --max-seconds reached)")
    plateau = [s for s in sizes if full_at is not None and s[0] >= full_at]
    reached = f"at poll {full_at:,}" if full_at else "never (run longer)"
    print(f"  {done:,} polls in {seconds:.1f} s ({done / seconds:,.0f} polls/s without HTTP and "
          f"feedparser); SeenEntries reached max_keys {reached}; its bound is 13 + 12 x "
          f"{DEFAULT_SEEN_MAX_KEYS:,} = {bound:,} B")
    if plateau:
        pickled = [p for _, p, _ in plateau]
        print(f"  from then on: SeenEntries {min(s for *_, s in plateau):,}-"
              f"{max(s for *_, s in plateau):,} B, PollState {min(pickled)}-{max(pickled)} B "
              "(PollState only gains digits: the entries_seen_total counter and this fake "
              "feed's counting ETag)")


def many_feeds_part(args) -> None:
    from newsflow.schemas.feeds import FeedSpec
    from newsflow.transforms.feeds import SeenEntries, initial_poll_state
    from newsflow.transforms.feeds.poll import poll_once
    from newsflow.transforms.feeds.seen import DEFAULT_SEEN_MAX_KEYS

    rng = random.Random(f"bench-feeds-many:{args.seed}")
    feeds = []
    for index in range(args.many_feeds):
        spec = FeedSpec(url=f"http://127.0.0.1:9/feeds/many-{index}.xml")
        feed = FakeFeed(spec.url, rng.randint(20, 50), etag=rng.random() < 0.5,
                        permalink=rng.random() < 0.5)
        rate = rng.choice((0.05, 0.2, 0.5, 1.0, 1.0, 2.0))  # new items per poll, on average
        feed.publish(feed.items.maxlen, SIM_START)
        feeds.append([spec, feed, rate, initial_poll_state(spec, SIM_START), SeenEntries(),
                      SIM_START])
    checkpoints = {p for p in (1, 10, 25, 50) if p < args.many_polls} | {args.many_polls}
    print(f"\nstate of {args.many_feeds:,} feeds x {args.many_polls} polls (no HTTP; 20-50 "
          "items, 0.05-2 new items per poll, half with ETag -> 304 when unchanged)")
    print(f"  {'polls/feed':>10}{'seen keys':>11}{'SeenEntries B':>15}{'PollState B':>13}"
          f"{'total B':>12}{'mean/feed':>11}{'max/feed':>10}")
    started = time.perf_counter()
    deadline = time.monotonic() + args.max_seconds
    done = 0
    with fast_feed_parser():
        for poll in range(1, args.many_polls + 1):
            for row in feeds:
                spec, feed, rate, state, seen, now = row
                now = max(now + timedelta(seconds=1), state.next_poll_at or now)
                feed.publish(int(rate) + (rng.random() < rate % 1), now)
                state, seen, _outputs = poll_once(spec, state, seen, now, feed, None)
                row[3:] = [state, seen, now]
            done = poll
            if poll in checkpoints or time.monotonic() > deadline:
                sizes = [state_sizes(row[3], row[4]) for row in feeds]
                pickled = sum(p for p, _ in sizes)
                seen_total = sum(s for _, s in sizes)
                keys = sum(len(row[4]) for row in feeds)
                print(f"  {poll:>10}{keys:>11,}{seen_total:>15,}{pickled:>13,}"
                      f"{pickled + seen_total:>12,}{(pickled + seen_total) / len(feeds):>11,.0f}"
                      f"{max(p + s for p, s in sizes):>10,}")
            if time.monotonic() > deadline:
                print(f"  (stopped after {poll} polls per feed: --max-seconds reached)")
                break
    seconds = time.perf_counter() - started
    seen_bound = 13 + 12 * DEFAULT_SEEN_MAX_KEYS
    pickled_max = max(state_sizes(row[3], row[4])[0] for row in feeds)
    print(f"  {done * len(feeds):,} polls in {seconds:.1f} s; bound per feed: SeenEntries "
          f"{seen_bound:,} B + PollState (max here {pickled_max} B), so {args.many_feeds:,} "
          f"feeds stay under {args.many_feeds * (seen_bound + pickled_max) / 1e6:.1f} MB however "
          "long they run")


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_feeds",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes (about a minute).")
    parser.add_argument("--feeds", type=int, help="Feeds served (default 200; quick 40).")
    parser.add_argument("--rounds", type=int, help="Polls of every feed (default 3; quick 2).")
    parser.add_argument("--threads", type=int, default=8, help="Thread pool size (8).")
    parser.add_argument("--articles", type=int, help="Articles fetched (default 300; quick 40).")
    parser.add_argument("--fetches", type=int,
                        help="Fetches of the fetch-only loops (default 1,500; quick 300).")
    parser.add_argument("--pages", type=int, help="Distinct rendered pages served.")
    parser.add_argument("--long-polls", type=int, dest="long_polls",
                        help="Polls of the simulated long-running feed (default 100,000).")
    parser.add_argument("--report-every", type=int, dest="report_every",
                        help="Print the long run's state every N polls (default 10,000).")
    parser.add_argument("--many-feeds", type=int, dest="many_feeds",
                        help="Simulated feeds for the total state (default 1,000).")
    parser.add_argument("--many-polls", type=int, dest="many_polls",
                        help="Polls per simulated feed (default 100).")
    parser.add_argument("--check-polls", type=int, dest="check_polls",
                        help="Polls compared between feedparser and the bench parser.")
    parser.add_argument("--max-seconds", type=float, dest="max_seconds",
                        help="Time limit of each measured loop.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-http", action="store_true", help="Only the state simulation.")
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else DEFAULT).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    for name in ("feeds", "rounds", "threads", "articles", "fetches", "pages", "long_polls",
                 "report_every", "many_feeds", "many_polls", "check_polls"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")

    started = time.perf_counter()
    print(f"feeds benchmark{' (quick)' if args.quick else ''}: {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.2f}")
    if not args.skip_http:
        with LoopbackFeeds(args.feeds, args.pages, args.seed) as server:
            print(f"loopback server (child process) on {server.base_url}: {args.feeds} feeds of "
                  f"20-50 items, {args.pages} distinct article pages of {server.page_kb:.1f} KB")
            clients = LocalClients(server.port)
            entries = feed_poll_part(server, clients, args)
            article_part(entries, clients, server.page_kb, args)
        served = ", ".join(f"{k} {v}" for k, v in sorted(server.counts.items()))
        print(f"  server answered: {served}")
    long_run_part(args)
    many_feeds_part(args)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
