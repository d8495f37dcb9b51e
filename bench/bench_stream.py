"""Streaming at scale: ``newsflow stream`` against a thousand loopback feeds, measured from outside.

    python -m bench.bench_stream [--quick] [--feeds 1000] [--hosts 50] [--duration 600]
                                 [--window 60] [--per_host_delay 1] [--item_every 600]
                                 [--pages real|synthetic] [--keep DIR]

A loopback site (one ``ThreadingHTTPServer`` per host, hosts being 127.0.0.2, 127.0.0.3, ...:
the stream paces by host name, and each address is its own host) serves ``--feeds`` RSS feeds
spread over ``--hosts`` hosts. Each feed holds 20-100 items at the start, dated 2 h to 3 days
back (older than ``--max_entry_age``, so a fresh stream follows the feeds from now on instead of
back-filling them), and new items appear at random (a Poisson process per feed, its mean gap
``--item_every`` seconds stretched per feed by 0.3-3x), each pushing the oldest item out. Some
hosts are slow (every answer 2-5 s late), some feeds always fail (500), some fail now and then
(502), some never change and answer 304 to a conditional GET; the others send an ETag, a
Last-Modified or no validator at all. Article pages are copies of the real pages in
``../shared`` (``bench.real_corpus``: each copy has its own words and URL), made when first
requested, or ``--pages synthetic`` pages of the demo corpus.

``newsflow stream --allow_loopback --duration D`` then runs as a subprocess; the server records
every request (host, path, status, time, and the items a feed answer listed), and a sampler
reads ``/proc`` for the stream's process tree every few seconds. Afterwards the bench reads the
output (the Delta table, ``runs/``, ``skipped/``, ``dead_letter/``) and prints: polls/s,
articles/s, lag from an item's appearance in its feed to the commit of its row, feeds never
polled and when every feed had its first poll, per-host request spacing against the delay, CPU
and RSS over time (does memory level off?), and the conservation check: every item published
during the run that a poll listed is exactly one row, counted skip or dead letter, every item
there at the start one ``skipped_too_old``, and the run summaries count every later listing
of an item as known (feeds whose answer did not change are not parsed).

Only loopback addresses are bound or contacted. Nothing is asserted: figures depend on the
machine and on what else runs on it (the load average is printed).
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from newsflow.pipelines.stream import total_summary
from newsflow.transforms.accounting import KNOWN_ENTRIES

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("NEWSFLOW_SHARED", REPO.parent / "shared"))
DEFAULT = {"feeds": 1000, "hosts": 50, "duration": 600.0}
QUICK = {"feeds": 200, "hosts": 20, "duration": 120.0}
#: Items at the start are at least this old; the stream is run with ``--max_entry_age`` 1 h.
INITIAL_MIN_AGE_S, INITIAL_MAX_AGE_S, MAX_ENTRY_AGE_S = 2 * 3600, 3 * 86400, 3600
SAMPLE_EVERY_S = 5.0
ROBOTS = b"User-agent: *\nAllow: /\n"


# ---------------------------------------------------------------------------------------------
# Pure arithmetic (tested in tests/test_bench_stream.py)


def percentile(values, q: float) -> float | None:
    """The ``q`` percentile (0-100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def host_spacing(arrivals, delay_s: float) -> dict[str, dict]:
    """Per host: requests, smallest gap between two consecutive arrivals, gaps below the
    delay. ``arrivals`` are ``(host, time)`` pairs in any order."""
    by_host: dict[str, list[float]] = defaultdict(list)
    for host, when in arrivals:
        by_host[host].append(when)
    spacing = {}
    for host, times in by_host.items():
        times.sort()
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        spacing[host] = {"requests": len(times), "min_gap": min(gaps) if gaps else None,
                         "below_delay": sum(1 for gap in gaps if gap < delay_s)}
    return spacing


def closest_pairs(log, count: int) -> list[tuple[float, str, str, str]]:
    """The ``count`` smallest gaps between consecutive requests to one host: ``(gap, host,
    path before, path after)``; ``log`` rows are ``(time, host, path, ...)``."""
    by_host: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for when, host, path, *_ in log:
        by_host[host].append((when, path))
    pairs = []
    for host, requests in by_host.items():
        requests.sort()
        pairs += [(b[0] - a[0], host, a[1], b[1])
                  for a, b in zip(requests, requests[1:], strict=False)]
    return sorted(pairs)[:count]


def memory_levels(samples) -> dict:
    """Mean RSS of the middle and last thirds of ``(t, rss)`` samples, and their ratio."""
    rss = [value for _, value in sorted(samples)]
    third = len(rss) // 3
    if third == 0:
        return {"middle": None, "last": None, "ratio": None}
    middle = sum(rss[third:2 * third]) / third
    last = sum(rss[2 * third:]) / len(rss[2 * third:])
    return {"middle": middle, "last": last, "ratio": last / middle if middle else None}


def parsed_listings(responses) -> dict[str, list[tuple[str, ...]]]:
    """The item lists the stream parsed, per feed: ``responses`` are ``(feed, status,
    body_hash, items)`` in serving order; a 200 is parsed unless its body is the same as the
    previous 200's (the poller skips unchanged bodies); other statuses list nothing."""
    last_hash: dict[str, str] = {}
    listings: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for feed, status, digest, items in responses:
        if status != 200:
            continue
        if last_hash.get(feed) != digest:
            listings[feed].append(tuple(items))
        last_hash[feed] = digest
    return listings


def conservation(listings: dict[str, list[tuple[str, ...]]], published: set[str],
                 outcomes: dict[str, list[str]], known: int) -> dict:
    """Every item a parsed listing held, against what the output says of it (``outcomes``:
    ref -> kinds, ``row``, ``dead:<stage>:<reason>`` or ``skip:<stage>:<reason>``) and the
    run summaries' count of re-listed entries (``known``). An item published during the run
    must have exactly one outcome; an item already in the feed at the start, exactly one
    ``skip:feed:too_old``; every later listing of an item is counted as known, never
    written."""
    listed: Counter[str] = Counter()
    for feed_listings in listings.values():
        for items in feed_listings:
            listed.update(set(items))
    items = {ref for ref in listed if ref in published}
    lost, repeated = [], []
    final: Counter[str] = Counter()
    for ref in sorted(items):
        kinds = outcomes.get(ref, [])
        if not kinds:
            lost.append(ref)
        elif len(kinds) > 1:
            repeated.append(ref)
        else:
            final[kinds[0].split(":")[0] if kinds[0] != "row" else "row"] += 1
    unknown = sorted(ref for ref in outcomes if ref not in listed)
    old = [ref for ref in listed if ref not in published]  # listed at the start: too old
    old_off = [ref for ref in old if outcomes.get(ref, []) != ["skip:feed:too_old"]]
    known_expected = sum(count - 1 for count in listed.values())
    return {"items": len(items), "rows": final["row"], "skips": final["skip"],
            "dead_letters": final["dead"], "lost": lost, "repeated": repeated,
            "known_expected": known_expected, "known": known, "unknown_refs": unknown,
            "old_items": len(old), "old_mismatch": old_off,
            "exact": not (lost or repeated or unknown or old_off) and known == known_expected}


# ---------------------------------------------------------------------------------------------
# The site


@dataclass
class Feed:
    """One feed: where it lives, how it behaves, its items and when each appears."""

    index: int
    host: str
    kind: str  # etag | modified | plain | not_modified | failing | flaky
    size: int  # items listed at once
    items: list[tuple[float, int]] = field(default_factory=list)  # (appears_at, item number)

    @property
    def path(self) -> str:
        return f"/feed/{self.index}.xml"


class Site:
    """Feeds, pages and a log of every request, for all hosts at once."""

    def __init__(self, n_feeds: int, hosts: list[str], duration_s: float, item_every_s: float,
                 seed: int, pages):
        rng = random.Random(seed)
        self.hosts, self.pages, self.port = hosts, pages, 0
        self.slow = {host: rng.uniform(2.0, 5.0) for host in rng.sample(hosts, len(hosts) // 10)}
        self.feeds: list[Feed] = []
        self.start = 0.0
        self._lock = threading.Lock()
        self.log: list[tuple[float, str, str, int]] = []  # (time, host, path, status)
        self.feed_answers: list[tuple[float, int, int, str, tuple[str, ...]]] = []
        self._flaky = random.Random(seed + 1)
        kinds = (["etag"] * 40 + ["modified"] * 25 + ["plain"] * 17 + ["not_modified"] * 10
                 + ["failing"] * 4 + ["flaky"] * 4)
        serial = 0
        for index in range(n_feeds):
            kind = rng.choice(kinds)
            feed = Feed(index, hosts[index % len(hosts)], kind, rng.randint(20, 100))
            for _ in range(feed.size):
                feed.items.append((-rng.uniform(INITIAL_MIN_AGE_S, INITIAL_MAX_AGE_S), serial))
                serial += 1
            if kind != "not_modified":
                mean_gap = item_every_s * rng.uniform(0.3, 3.0)
                when = rng.expovariate(1 / mean_gap)
                while when < duration_s:
                    feed.items.append((when, serial))
                    serial += 1
                    when += rng.expovariate(1 / mean_gap)
            feed.items.sort()
            self.feeds.append(feed)

    # URLs and times
    def url(self, host: str, path: str) -> str:
        return f"http://{host}:{self.port}{path}"

    def item_url(self, feed: Feed, number: int) -> str:
        return self.url(feed.host, f"/a/{feed.index}/{number}.html")

    def item_ref(self, feed: Feed, number: int) -> str:
        """What the stream's rows, skips and dead letters carry as ``source_ref``."""
        return f"{self.url(feed.host, feed.path)}#{self.item_url(feed, number)}"

    def published(self) -> dict[str, float]:
        """ref -> absolute time of appearance, for items appearing during the run."""
        return {self.item_ref(feed, number): self.start + when for feed in self.feeds
                for when, number in feed.items if when >= 0}

    # answers
    def answer(self, host: str, path: str, headers) -> tuple[int, dict[str, str], bytes]:
        now = time.time()
        if host in self.slow:
            time.sleep(self.slow[host])
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, ROBOTS
        parts = path.strip("/").split("/")
        try:
            if len(parts) == 2 and parts[0] == "feed" and parts[1].endswith(".xml"):
                return self._feed(self.feeds[int(parts[1][:-4])], host, headers, now)
            if len(parts) == 3 and parts[0] == "a" and parts[2].endswith(".html"):
                return self._page(self.feeds[int(parts[1])], host, int(parts[2][:-5]), now)
        except (ValueError, IndexError):
            pass
        return 404, {"Content-Type": "text/plain"}, b"not found"

    def _listed(self, feed: Feed, now: float) -> list[tuple[float, int]]:
        visible = [item for item in feed.items if item[0] <= now - self.start]
        return visible[-feed.size:]

    def _feed(self, feed: Feed, host: str, headers, now: float):
        if feed.host != host:
            return 404, {}, b"not found"
        if feed.kind == "failing":
            return self._feed_answer(feed, now, 500, {}, b"server error", ())
        with self._lock:
            flaky = feed.kind == "flaky" and self._flaky.random() < 0.3
        if flaky:
            return self._feed_answer(feed, now, 502, {}, b"bad gateway", ())
        listed = self._listed(feed, now)
        newest = self.start + listed[-1][0]
        etag = f'"{feed.index}-{listed[-1][1]}"'
        modified = format_datetime(datetime.fromtimestamp(int(newest), UTC), usegmt=True)
        validators = {}
        if feed.kind in ("etag", "not_modified"):
            validators["ETag"] = etag
            if headers.get("If-None-Match") == etag:
                return self._feed_answer(feed, now, 304, validators, b"", ())
        elif feed.kind == "modified":
            validators["Last-Modified"] = modified
            if headers.get("If-Modified-Since") == modified:
                return self._feed_answer(feed, now, 304, validators, b"", ())
        body = self.rss(feed, listed)
        refs = tuple(self.item_ref(feed, number) for _, number in listed)
        return self._feed_answer(feed, now, 200,
                                 {"Content-Type": "application/rss+xml", **validators}, body, refs)

    def _feed_answer(self, feed, now, status, headers, body, refs):
        digest = hashlib.sha256(body).hexdigest()
        with self._lock:
            self.feed_answers.append((now, feed.index, status, digest, refs))
        return status, headers, body

    def rss(self, feed: Feed, listed) -> bytes:
        items = []
        for when, number in reversed(listed):
            link = escape(self.item_url(feed, number))
            published = format_datetime(datetime.fromtimestamp(self.start + when, UTC),
                                        usegmt=True)
            items.append(f"<item><title>Story {number} of feed {feed.index}</title>"
                         f"<link>{link}</link><guid isPermaLink=\"true\">{link}</guid>"
                         f"<pubDate>{published}</pubDate><description>Item {number}: what "
                         f"happened, in a sentence.</description></item>")
        return (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
                f"<title>Bench feed {feed.index}</title><link>{self.url(feed.host, '/')}</link>"
                f"<description>newsflow bench</description>{''.join(items)}</channel></rss>"
                ).encode()

    def _page(self, feed: Feed, host: str, number: int, now: float):
        known = {n: when for when, n in feed.items}
        if feed.host != host or number not in known or known[number] > now - self.start:
            return 404, {"Content-Type": "text/plain"}, b"not found"
        body, content_type = self.pages(number)
        return 200, {"Content-Type": content_type}, body

    def record(self, when: float, host: str, path: str, status: int) -> None:
        with self._lock:
            self.log.append((when, host, path, status))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def do_GET(self):
        arrived = self.server.accepted.pop(self.request, None) or time.time()
        site: Site = self.server.site
        host = self.server.server_address[0]
        path = urlsplit(self.path).path
        status, headers, body = site.answer(host, path, self.headers)
        site.record(arrived, host, path, status)
        self.close_connection = True
        try:
            self.send_response(status)
            for name, value in {**headers, "Content-Length": str(len(body)),
                                "Connection": "close"}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (ConnectionError, TimeoutError):
            pass  # the stream gave up on this request (its own timeout): it is logged already

    def log_message(self, format, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    site: Site

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.accepted: dict = {}

    def process_request(self, request, client_address):
        """Note the accept time: a handler thread may start late when the machine is busy,
        which would make the gap before it look longer and the one after it shorter."""
        self.accepted[request] = time.time()
        super().process_request(request, client_address)


def serve(site: Site) -> list[_Server]:
    """One server per host address, all on one port (the first one's ephemeral port)."""
    servers = []
    for host in site.hosts:
        server = _Server((host, site.port), _Handler)
        server.site = site
        site.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
        servers.append(server)
    return servers


def loopback_hosts(count: int) -> list[str]:
    """``count`` loopback addresses 127.0.0.2, 127.0.0.3, ... (127.0.0.1 left to others)."""
    if count > 250:
        raise ValueError("at most 250 hosts")
    return [f"127.0.0.{n}" for n in range(2, 2 + count)]


def real_pages(shared: Path, seed: int):
    """Item number -> (copy of a real page, content type), made on demand."""
    from bench.real_corpus import _Template, load_real_pages, make_copy

    pages = load_real_pages(shared)
    templates: dict[int, _Template] = {}
    lock = threading.Lock()

    def page(number: int):
        copy, which = divmod(number, len(pages))
        with lock:
            if which not in templates:
                templates[which] = _Template(pages[which])
            template = templates[which]
        made = make_copy(template, copy + 1, seed)
        return made.body, made.content_type

    return page


def synthetic_pages(seed: int):
    """Item number -> (a demo-corpus article page, content type)."""
    from newsflow.pipelines.demo.sample_corpus import _make_article, render_html

    def page(number: int):
        article = _make_article(number, seed, ("en", "de", "fr", "es"))
        return render_html(article, boilerplate_kb=20).encode(), "text/html; charset=utf-8"

    return page


# ---------------------------------------------------------------------------------------------
# The stream process


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc."""
    children: dict[int, list[int]] = defaultdict(list)
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.split("/")[2]))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, ()))
    return tree


def sample_tree(pid: int) -> tuple[float, int, int] | None:
    """``(cpu seconds, rss bytes, processes)`` of a process tree: user+system time of the live
    processes plus what the root reaped from finished children."""
    ticks = os.sysconf("SC_CLK_TCK")
    cpu, rss, count = 0.0, 0, 0
    for member in _tree(pid):
        try:
            with open(f"/proc/{member}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{member}/status") as handle:
                status = handle.read()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / ticks
        if member == pid:
            cpu += (int(fields[13]) + int(fields[14])) / ticks
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) * 1024
        count += 1
    return (cpu, rss, count) if count else None


class Sampler(threading.Thread):
    """``(t, cpu_s, rss, processes)`` of the stream's process tree every few seconds."""

    def __init__(self, pid: int, every_s: float = SAMPLE_EVERY_S):
        super().__init__(daemon=True, name="bench-sampler")
        self.pid, self.every_s = pid, every_s
        self.samples: list[tuple[float, float, int, int]] = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            sample = sample_tree(self.pid)
            if sample:
                self.samples.append((time.time(), *sample))
            self.stopped.wait(self.every_s)


def run_stream(command: list[str], log_path: Path, env: dict) -> tuple[int, float | None, Sampler,
                                                                        float]:
    """Run the stream; ``(exit code, time its banner appeared, sampler, launch time)``."""
    launched = time.time()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=env, text=True, bufsize=1)
    sampler = Sampler(process.pid)
    sampler.start()
    banner = None
    with open(log_path, "w") as log:
        for line in process.stdout:
            if banner is None and line.startswith("newsflow stream:"):
                banner = time.time()
            log.write(f"{time.time() - launched:7.1f} {line}")
            log.flush()
    code = process.wait()
    sampler.stopped.set()
    sampler.join()
    return code, banner, sampler, launched


# ---------------------------------------------------------------------------------------------
# Reading the output


def _jsonl(pattern: str) -> list[dict]:
    rows = []
    for path in sorted(glob.glob(pattern)):
        with open(path) as handle:
            rows.extend(json.loads(line) for line in handle if line.strip())
    return rows


def commit_times(output: str) -> dict[str, float]:
    """commit id -> when its Delta commit was made (epoch seconds)."""
    from deltalake import DeltaTable

    times = {}
    for entry in DeltaTable(os.path.join(output, "articles")).history():
        commit_id = entry.get("newsflow.commit_id")
        if commit_id:
            times[commit_id] = entry["timestamp"] / 1000.0
    return times


def read_outcomes(output: str) -> dict:
    """Rows, skips, dead letters and window summaries of a finished run."""
    from newsflow.transforms.catalog import read_articles

    table = read_articles(output, columns=["source_ref", "commit_id"])
    rows = table.to_pylist()
    return {"rows": rows, "skips": _jsonl(os.path.join(output, "skipped", "*.jsonl")),
            "dead": _jsonl(os.path.join(output, "dead_letter", "*.jsonl")),
            "summaries": [json.loads(Path(path).read_text())
                          for path in sorted(glob.glob(os.path.join(output, "runs", "*.json")))],
            "commits": commit_times(output)}


def outcome_kinds(found: dict) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = defaultdict(list)
    for row in found["rows"]:
        kinds[row["source_ref"]].append("row")
    for skip in found["skips"]:
        kinds[skip["source_ref"]].append(f"skip:{skip['stage']}:{skip['reason']}")
    for letter in found["dead"]:
        kinds[letter["source_ref"]].append(f"dead:{letter['stage']}:{letter['reason']}")
    return kinds


# ---------------------------------------------------------------------------------------------
# The report


def _s(value, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def report(args, site: Site, found: dict, sampler: Sampler, code: int, banner: float | None,
           launched: float, ended: float, load_before, stream_log: str,
           out=sys.stdout) -> dict:
    """Print the figures; returns them too (for the test)."""
    start = banner or launched
    feed_urls = {feed.index: site.url(feed.host, feed.path) for feed in site.feeds}
    polls = [(when, index, status) for when, index, status, _, _ in site.feed_answers]
    first_poll: dict[int, float] = {}
    for when, index, _ in polls:
        first_poll.setdefault(index, when)
    never = sorted(set(feed_urls) - set(first_poll))
    all_by = max(first_poll.values()) - start if not never and first_poll else None
    statuses = Counter(status for _, _, status in polls)
    pages = [entry for entry in site.log if entry[2].startswith("/a/")]
    rows, skips, dead = found["rows"], found["skips"], found["dead"]
    published = site.published()
    commits = found["commits"]
    lags = [commits[row["commit_id"]] - published[row["source_ref"]] for row in rows
            if row["source_ref"] in published and row["commit_id"] in commits]
    first_listed: dict[str, float] = {}
    for when, _, status, _, refs in site.feed_answers:
        for ref in refs if status == 200 else ():
            first_listed.setdefault(ref, when)
    waits = [first_listed[ref] - published[ref] for ref in published if ref in first_listed]
    poll_lags = [commits[row["commit_id"]] - first_listed[row["source_ref"]] for row in rows
                 if row["source_ref"] in published and row["commit_id"] in commits]
    late = [float(m) for m in re.findall(r"committed (\d+) s after it closed", stream_log)]
    spacing = host_spacing(((host, when) for when, host, _, _ in site.log), args.per_host_delay)
    gaps = [(v["min_gap"], host) for host, v in spacing.items() if v["min_gap"] is not None]
    closest = closest_pairs(site.log, 3)
    below = sum(v["below_delay"] for v in spacing.values())
    listings = parsed_listings((index, status, digest, refs)
                               for _, index, status, digest, refs in site.feed_answers)
    summaries = found["summaries"]
    totals = total_summary(summaries)
    kinds = outcome_kinds(found)
    check = conservation({feed_urls[i]: v for i, v in listings.items()}, set(published),
                         {ref: v for ref, v in kinds.items() if "#" in ref},
                         totals[KNOWN_ENTRIES])
    feed_dead = sum(len(v) for ref, v in kinds.items() if "#" not in ref)
    failed_polls = sum(1 for _, _, status in polls if status >= 500)
    unbalanced = sum(1 for summary in summaries if not summary["balanced"])
    samples = sampler.samples
    levels = memory_levels([(t, rss) for t, _, rss, _ in samples])
    peak = max((rss for _, _, rss, _ in samples), default=0)
    run_s = args.duration
    window_lag_target = args.window + 60

    def p(line=""):
        print(line, file=out, flush=True)

    p(f"bench_stream: {args.feeds} feeds on {args.hosts} hosts, --duration {args.duration:g} s, "
      f"--window {args.window:g} s, --per_host_delay {args.per_host_delay:g} s, feeds polled "
      f"every {args.interval:g}-{args.max_interval or args.interval:g} s, new item every "
      f"~{args.item_every:g} s per feed, {args.pages} pages")
    p(f"  machine: {os.cpu_count()} cores, load average before {load_before}, after "
      f"{_load()}; stream exit code {code}, ran {ended - launched:.0f} s "
      f"(banner after {_s(banner - launched if banner else None)} s)")
    p(f"  site: {len(site.slow)} slow hosts, feeds by kind "
      + ", ".join(f"{k} {v}" for k, v in sorted(Counter(f.kind for f in site.feeds).items()))
      + f"; {len(published)} items published during the run")
    p(f"polls        {len(polls)} feed requests = {len(polls) / run_s:.2f} polls/s over "
      f"{run_s:g} s; statuses " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    p(f"pages        {len(pages)} article requests, {len(rows)} rows committed = "
      f"{len(rows) / run_s:.2f} articles/s over {run_s:g} s")
    p(f"first polls  feeds never polled: {len(never)}; every feed polled by "
      f"{_s(all_by)} s after the start (target <= 60 s); p50 first poll "
      f"{_s(percentile([t - start for t in first_poll.values()], 50))} s")
    latest = sorted(first_poll.items(), key=lambda item: -item[1])[:3]
    p("  latest first polls: " + ", ".join(
        f"{when - start:.1f} s feed {index} on {site.feeds[index].host}"
        f"{' (slow host)' if site.feeds[index].host in site.slow else ''}"
        for index, when in latest))
    p(f"lag          item appears -> row committed, {len(lags)} rows: p50 "
      f"{_s(percentile(lags, 50))} s, p95 {_s(percentile(lags, 95))} s, max "
      f"{_s(max(lags) if lags else None)} s (target p95 <= window + 60 = "
      f"{window_lag_target:g} s)")
    p(f"  of which waiting for a poll (appears -> first listed): p50 {_s(percentile(waits, 50))} "
      f"s, p95 {_s(percentile(waits, 95))} s; the pipeline's own (first listed -> committed): "
      f"p50 {_s(percentile(poll_lags, 50))} s, p95 {_s(percentile(poll_lags, 95))} s, max "
      f"{_s(max(poll_lags) if poll_lags else None)} s")
    p(f"  windows committed after they closed: p50 {_s(percentile(late, 50), 0)} s, max "
      f"{_s(max(late) if late else None, 0)} s ({len(late)} window lines)")
    p(f"spacing      per host, min gap between two requests (feeds, pages, robots.txt): "
      f"{_s(min(gaps)[0] if gaps else None, 3)} s at {min(gaps)[1] if gaps else '-'}, "
      f"median host {_s(percentile([g for g, _ in gaps], 50), 3)} s; gaps below the "
      f"{args.per_host_delay:g} s delay: {below} of {len(site.log) - len(spacing)}")
    verdict = "levels off" if levels["ratio"] and levels["ratio"] <= 1.1 else "GROWS"
    for gap, host, before, after in closest:
        p(f"  closest: {gap:.3f} s at {host}: {before} then {after}")
    p(f"cpu/rss      {len(samples)} samples every {SAMPLE_EVERY_S:g} s of the stream's process "
      f"tree; peak RSS {peak / 2**20:.0f} MB; RSS middle third "
      f"{_s(levels['middle'] / 2**20 if levels['middle'] else None, 0)} MB, last third "
      f"{_s(levels['last'] / 2**20 if levels['last'] else None, 0)} MB (ratio "
      f"{_s(levels['ratio'], 2)}: {verdict})")
    step = max(1, int(60 / SAMPLE_EVERY_S))
    previous = None
    for t, cpu, rss, count in samples[::step] + ([samples[-1]] if samples else []):
        if previous is not None and t > previous[0]:
            share = (cpu - previous[1]) / (t - previous[0]) * 100
            p(f"  t={t - launched:5.0f} s  cpu {share:5.0f}% (of one core)  rss "
              f"{rss / 2**20:6.0f} MB  processes {count}")
        previous = (t, cpu)
    if samples:
        p(f"  total CPU {samples[-1][1]:.0f} s in {samples[-1][0] - launched:.0f} s "
          f"({samples[-1][1] / max(1.0, samples[-1][0] - launched) * 100:.0f}% of one core)")
    p(f"conservation {check['items']} items published during the run and listed by a parsed "
      f"poll: {check['rows']} rows + {check['skips']} skips + {check['dead_letters']} dead "
      f"letters; lost {len(check['lost'])}, more than one outcome {len(check['repeated'])}; "
      f"items there at the start {check['old_items']}: one skipped_too_old each expected, "
      f"items off {len(check['old_mismatch'])}; later listings counted as known (not "
      f"written): {check['known']} of {check['known_expected']} expected; outcomes for "
      f"unknown items {len(check['unknown_refs'])} -> "
      f"{'EXACT' if check['exact'] else 'NOT EXACT'}")
    skip_reasons = Counter(f"{skip['stage']}:{skip['reason']}" for skip in skips)
    dead_reasons = Counter(f"{letter['stage']}:{letter['reason']}" for letter in dead)
    p(f"  output: {len(rows)} rows, {len(skips)} skip lines {dict(skip_reasons.most_common())}, "
      f"{len(dead)} dead letters {dict(dead_reasons.most_common())}")
    p(f"  run summaries: {len(summaries)} windows, {unbalanced} unbalanced; read "
      f"{totals['read']} = written {totals['written']} + duplicates {totals['duplicates']} + "
      f"skipped {totals['skipped']} + dead {totals['dead_letters']}; files agree: rows "
      f"{len(rows) == totals['written'] + totals['duplicates']}, skips "
      f"{len(skips) == totals['skipped']}, dead letters {len(dead) == totals['dead_letters']}")
    p(f"  feed-level dead letters {feed_dead} for {failed_polls} failed feed answers "
      f"({'equal' if feed_dead == failed_polls else 'DIFFERENT'})")
    for ref in (check["lost"] + check["repeated"] + check["old_mismatch"])[:5]:
        p(f"  e.g. {ref}: {kinds.get(ref, [])}")
    return {"polls": len(polls), "rows": len(rows), "never_polled": len(never),
            "all_polled_by": all_by, "lags": lags, "poll_lags": poll_lags, "spacing_below": below,
            "conservation": check, "unbalanced": unbalanced, "memory": levels, "code": code}


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None, out=sys.stdout) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK['feeds']} feeds, {QUICK['hosts']} hosts, "
                             f"{QUICK['duration']:g} s")
    parser.add_argument("--feeds", type=int)
    parser.add_argument("--hosts", type=int)
    parser.add_argument("--duration", type=float, help="seconds the stream runs")
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--per_host_delay", type=float, default=1.0)
    parser.add_argument("--item_every", type=float, default=600.0,
                        help="mean seconds between two new items of a feed (stretched per "
                             "feed by 0.3-3x)")
    parser.add_argument("--interval", type=float, default=300.0,
                        help="every feed's min_interval in the feed list")
    parser.add_argument("--max_interval", type=float, default=None,
                        help="every feed's max_interval (default: --interval, so feeds are "
                             "polled on a fixed cadence instead of backing off when quiet)")
    parser.add_argument("--min_poll_interval", type=float, default=None,
                        help="passed to the stream (lowers every feed's min_interval)")
    parser.add_argument("--pages", choices=("real", "synthetic"), default="real")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="keep the output and the stream log here")
    parser.add_argument("--stream_arg", action="append", default=[],
                        help="extra argument for newsflow stream (repeatable)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else DEFAULT
    for name, value in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.keep and (args.keep / "out").exists():  # its rows would be counted with ours
        sys.exit(f"bench_stream: {args.keep}/out exists (an earlier run?): --keep an empty "
                 "folder")
    pages = synthetic_pages(args.seed) if args.pages == "synthetic" \
        else real_pages(SHARED, args.seed)
    site = Site(args.feeds, loopback_hosts(args.hosts), args.duration, args.item_every,
                args.seed, pages)
    servers = serve(site)
    work = Path(tempfile.mkdtemp(prefix="bench_stream-"))
    keep = args.keep
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    base = keep or work
    output = str(base / "out")
    feeds_file = base / "feeds.csv"
    feeds_file.write_text("url,min_interval,max_interval\n" + "".join(
        f"{site.url(f.host, f.path)},{args.interval:g},{args.max_interval or args.interval:g}\n"
        for f in site.feeds))
    command = [str(Path(sys.executable).parent / "newsflow"), "stream", f"--feeds={feeds_file}",
               f"--output={output}", "--allow_loopback", f"--duration={args.duration:g}",
               f"--window={args.window:g}", f"--per_host_delay={args.per_host_delay:g}",
               f"--max_entry_age={MAX_ENTRY_AGE_S}", *args.stream_arg]
    if args.min_poll_interval is not None:
        command.append(f"--min_poll_interval={args.min_poll_interval:g}")
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.setdefault("NO_GCE_CHECK", "True")
    load_before = _load()
    print("running: " + " ".join(command), file=out, flush=True)
    try:
        site.start = time.time()
        code, banner, sampler, launched = run_stream(command, base / "stream.log", env)
        ended = time.time()
        with open(base / "requests.jsonl", "w") as handle:
            for when, host, path, status in site.log:
                handle.write(json.dumps([when, host, path, status]) + "\n")
        for server in servers:
            server.shutdown()
            server.server_close()
        print("stream output (last lines):", file=out)
        stream_log = (base / "stream.log").read_text()
        for line in stream_log.splitlines()[-8:]:
            print("  | " + line, file=out)
        if not os.path.isdir(os.path.join(output, "articles")):
            print(f"no table written (stream exit code {code})", file=out)
            return {"code": code}
        found = read_outcomes(output)
        return report(args, site, found, sampler, code, banner, launched, ended, load_before,
                      stream_log, out)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
