"""Fetch the articles that feed entries link to, politely and through the guarded client.

Every entry leaves as a RawRecord (an HTML page to process), a Skip (``no_link``,
``robots_disallowed``, ``not_html``) or a DeadLetter (the client's failure reason,
``http_<status>``, or ``stopped_before_fetch`` for an entry still queued when a job stopped).
Every response received is also emitted as an :class:`Exchange` for the WARC archive,
failures included.

Entries are keyed by the host of their link. A stateful DoFn per host queues them and starts
their requests in the worker's pool of threads (:mod:`newsflow.transforms.hostqueue`), at most
``per_host_concurrency`` at a time, each on the host's article slots
(:class:`~newsflow.transforms.politeness.HostSlots`, spaced further by a robots.txt
Crawl-delay), so the limits hold across the whole job and a slow host holds only its own
requests.
"""

from __future__ import annotations

import time
import typing
import uuid
from dataclasses import dataclass, field

import apache_beam as beam
from apache_beam.coders import PickleCoder
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.utils.timestamp import Timestamp

from newsflow.schemas import Exchange, RawRecord, Skip, dead_letter
from newsflow.schemas.feeds import FeedEntry
from newsflow.transforms.exchanges import entry_json, now_to_second, record_from_exchange
from newsflow.transforms.hostqueue import (
    DRAIN,
    LIVE,
    JobFailed,
    JobPool,
    clock_mode,
    host_job_room,
    output_time,
    stamped,
    worker_shared,
)
from newsflow.transforms.http import (
    ERROR_BODY_BYTES,
    FetchError,
    FetchPolicy,
    FetchResult,
    decode_text,
    fetch,
)
from newsflow.transforms.politeness import (
    ARTICLES,
    LANES,
    HostSlots,
    RobotsCache,
    RobotsPolicy,
    host_key,
    shared_slots,
)
from newsflow.transforms.stage import (
    DEAD,
    MAIN,
    SKIPPED,
    UNEXPECTED_ERROR,
    OutcomeCounters,
    route,
)

EXCHANGES = "exchanges"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_ACCEPT = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"}
#: A robots.txt Crawl-delay is honoured up to this; beyond it the file is taken to be wrong.
MAX_CRAWL_DELAY_S = 120.0
#: A job may start this long before its slot; a key's timer checks back this often.
LOOKAHEAD_S = 1.5
CHECK_S = 1.0
#: Entries moved at a time from a host's incoming bag to its ready list (bounds the state
#: rewritten per callback when a host has thousands queued).
READY_BATCH = 32


@dataclass(frozen=True)
class FetchSettings:
    """How articles (and feeds) are fetched: one client policy, politeness and robots."""

    policy: FetchPolicy = field(default_factory=FetchPolicy)
    per_host_delay_s: float = 1.0  # between two requests to one host, polls and pages alike
    per_host_concurrency: int = 2  # requests in flight per host, for polls and for pages each
    robots: bool = True
    fetch_threads: int = 64  # threads per worker process, per stage (polls, pages)
    #: Every stage runs in this one process (the local runner): polls and pages of a host take
    #: turns on one sequence of slots instead of splitting them (``HostSlots(lanes=1)``).
    single_process: bool = False

    def host_slots(self) -> HostSlots:
        """The worker's shared per-host slots for these settings."""
        return shared_slots(self.per_host_delay_s, 1 if self.single_process else LANES)


def entry_ref(entry: FeedEntry) -> str:
    return f"{entry.feed_url}#{entry.entry_key}"


def exchange_of(result: FetchResult, entry: FeedEntry | None) -> Exchange:
    return Exchange(url=result.url, status=result.status,
                    request_headers=tuple(sorted(result.request_headers.items())),
                    response_headers=tuple(sorted(result.headers.items())), body=result.body,
                    fetched_at=now_to_second(), remote_ip=result.remote_ip,
                    entry_json=entry_json(entry) if entry is not None else None)


def is_html(result: FetchResult) -> bool:
    media = (result.content_type or "").split(";")[0].strip().lower()
    return media in _HTML_TYPES or (not media and result.body.lstrip()[:1] == b"<")


def article_url(entry: FeedEntry) -> str | None:
    return entry.raw_link or entry.link


def fetch_article(entry: FeedEntry, fetcher, robots: RobotsCache | None):
    """``(outcome, exchange_or_None)`` for one entry; ``fetcher(url, headers)`` does the HTTP."""
    url = article_url(entry)
    ref = entry_ref(entry)
    if not url:
        return Skip("fetch", "no_link", ref), None
    if robots is not None and not robots.allowed(url):
        return Skip("fetch", "robots_disallowed", ref, url), None
    try:
        result = fetcher(url, _ACCEPT)
    except FetchError as error:
        return dead_letter("fetch", error.reason, error, ref, url), None
    exchange = exchange_of(result, entry)
    if result.status != 200:
        return dead_letter("fetch", f"http_{result.status}", f"HTTP {result.status}", ref, url,
                           result.body[:ERROR_BODY_BYTES],
                           raw_truncated=len(result.body) > ERROR_BODY_BYTES), exchange
    if not is_html(result):
        return Skip("fetch", "not_html", ref, url), exchange
    text, _ = decode_text(result)
    return record_from_exchange(exchange, text, ref), exchange


class PacedFetcher:
    """``fetcher(url, headers)``: the guarded client, each request (redirect hops included)
    started on a slot of ``lane`` of its host; with ``robots``, a Crawl-delay larger than the
    delay spaces the lane's requests further (up to :data:`MAX_CRAWL_DELAY_S`).

    Thread-safe; build one per worker (:func:`~newsflow.transforms.hostqueue.worker_shared`).
    """

    def __init__(self, policy: FetchPolicy, slots: HostSlots, lane: int,
                 robots: RobotsCache | None = None):
        self._policy, self._slots, self._lane, self._robots = policy, slots, lane, robots

    def __call__(self, url: str, headers: dict) -> FetchResult:
        return fetch(url, self._policy, headers, before_request=self.wait_turn,
                     after_send=self.sent)

    def robots_fetcher(self, location: str, policy: FetchPolicy, resolver=None):
        """What a RobotsCache fetches robots.txt with: paced like every other request."""
        return fetch(location, policy, resolver=resolver, before_request=self.wait_turn,
                     after_send=self.sent)

    def wait_turn(self, url: str) -> None:
        if self._robots is not None:
            delay = self._robots.crawl_delay(url)
            if delay and delay > self._slots.delay_s:
                self._slots.set_min_gap(url, self._lane, min(delay, MAX_CRAWL_DELAY_S))
        self._slots.wait_turn(url, self._lane)

    def sent(self, url: str) -> None:
        self._slots.sent(url, self._lane)


def article_fetcher(settings: FetchSettings) -> tuple[PacedFetcher, RobotsCache | None]:
    """The worker's paced fetcher for article pages, and the robots.txt cache it consults."""
    slots = settings.host_slots()
    fetcher = PacedFetcher(settings.policy, slots, ARTICLES)
    if settings.robots:
        robots = RobotsCache(settings.policy, RobotsPolicy(), fetcher=fetcher.robots_fetcher)
        fetcher = PacedFetcher(settings.policy, slots, ARTICLES, robots)
        return fetcher, robots
    return fetcher, None


def stopped_before_fetch(entry: FeedEntry):
    """The dead letter of an entry still queued when the job stopped: its entry is kept, so a
    replay can fetch it later."""
    return dead_letter("fetch", "stopped_before_fetch", "the job stopped before its turn",
                       entry_ref(entry), article_url(entry), entry_json(entry))


# State of one host's page fetches; Beam finds the specs through the parameter defaults.
_INCOMING = beam.DoFn.StateParam(BagStateSpec(
    "incoming", PickleCoder()))  # FeedEntry, in arrival order
_WAITING = beam.DoFn.StateParam(ReadModifyWriteStateSpec(
    "waiting", PickleCoder()))  # how many are in incoming
_READY = beam.DoFn.StateParam(ReadModifyWriteStateSpec(
    "ready", PickleCoder()))  # [FeedEntry], next to start
_RUNNING = beam.DoFn.StateParam(ReadModifyWriteStateSpec(
    "running", PickleCoder()))  # {entry_ref: FeedEntry}
_LANE = beam.DoFn.StateParam(ReadModifyWriteStateSpec(
    "lane", PickleCoder()))  # this host's article LaneClock
_WAKE_TIMER = TimerSpec("wake", TimeDomain.WATERMARK)
_WAKE = beam.DoFn.TimerParam(_WAKE_TIMER)


class _FetchHostFn(beam.DoFn):
    """Stateful per host: queue entries, start their fetches in the pool, emit outcomes."""

    def __init__(self, settings: FetchSettings):
        self._settings = settings
        self._stage = f"fetch-{uuid.uuid4().hex[:12]}"

    def setup(self):
        self._counters = OutcomeCounters("fetch")
        self._pool = JobPool.of(self._stage, self._settings.fetch_threads)
        self._slots = self._settings.host_slots()
        self._fetcher, self._robots = worker_shared(
            self._stage, "fetcher", lambda: article_fetcher(self._settings))

    def process(self, element, timestamp=beam.DoFn.TimestampParam, incoming=_INCOMING,
                waiting=_WAITING, ready_state=_READY, running_state=_RUNNING,
                lane_state=_LANE, wake=_WAKE):
        """Queue the entry; live, the next tick's timer starts it, else it is fetched now."""
        host, entry = element
        if not article_url(entry):
            yield route(Skip("fetch", "no_link", entry_ref(entry)), self._counters)
            return
        incoming.add(entry)
        waiting.write((waiting.read() or 0) + 1)
        self._pool.add_backlog(host)
        event_s = float(timestamp)
        if clock_mode(event_s) == LIVE:
            wake.set(timestamp)
            return
        yield from self._wake(host, event_s, event_s, incoming, waiting, ready_state,
                              running_state, lane_state, wake)

    @on_timer(_WAKE_TIMER)
    def on_wake(self, key=beam.DoFn.KeyParam, timestamp=beam.DoFn.TimestampParam,
                incoming=_INCOMING, waiting=_WAITING, ready_state=_READY,
                running_state=_RUNNING, lane_state=_LANE, wake=_WAKE):
        event_s = float(timestamp)
        yield from self._wake(key, event_s, output_time(event_s, clock_mode(event_s)),
                              incoming, waiting, ready_state, running_state, lane_state, wake)

    def _wake(self, host, event_s, stamp, incoming, waiting, ready_state, running_state,
              lane_state, wake):
        """Emit finished fetches, start queued ones; live, return at once, else wait for
        them. Draining (or asked to flush), queued entries become dead letters."""
        mode = clock_mode(event_s)
        ready = ready_state.read() or []
        running = running_state.read() or {}
        queued = waiting.read() or 0
        self._slots.restore(host, ARTICLES, lane_state.read())
        wait_s = 0.0
        while True:
            finished = self._pool.collect(host, wait_s)
            for ref, outcome in finished:
                for output in self._outcome(running.pop(ref), outcome):
                    yield stamped(output, stamp)
            alive = self._pool.running(host)
            lost = [ref for ref in running if ref not in alive]
            ready[:0] = [running.pop(ref) for ref in lost]  # a worker lost them: again, first
            if mode == DRAIN and running and not wait_s:
                wait_s = self._settings.policy.total_timeout + LOOKAHEAD_S
                continue
            if mode == DRAIN or JobPool.flush_requested():
                for entry in ready + (list(incoming.read()) if queued else []):
                    yield stamped(route(stopped_before_fetch(entry), self._counters), stamp)
                ready, queued = [], 0
                incoming.clear()
                break
            if len(ready) < READY_BATCH and queued:
                ready, queued = self._refill(ready, incoming)
            self._start(host, ready, running)
            if mode == LIVE:
                break
            if not running:
                if not ready:
                    break
                time.sleep(max(0.0, min(LOOKAHEAD_S, self._slots.next_start(
                    host, ARTICLES) - time.time())))  # catching up: wait for the next slot
                continue
            if wait_s and not finished:
                break
            wait_s = self._settings.policy.total_timeout + LOOKAHEAD_S
        ready_state.write(ready)
        running_state.write(running)
        waiting.write(queued)
        lane_state.write(self._slots.clock(host, ARTICLES))
        backlog = len(ready) + queued + len(running)
        self._pool.set_backlog(host, backlog)
        if backlog:
            wake.set(Timestamp.of(event_s + CHECK_S))

    def _refill(self, ready, incoming):
        """Move up to READY_BATCH entries from the incoming bag to the ready list."""
        pending = list(incoming.read())
        room = READY_BATCH - len(ready)
        ready = ready + pending[:room]
        incoming.clear()
        for entry in pending[room:]:
            incoming.add(entry)
        return ready, len(pending[room:])

    def _start(self, host, ready, running) -> None:
        concurrency = self._settings.per_host_concurrency
        while ready and len(running) < host_job_room(concurrency):
            if self._slots.next_start(host, ARTICLES) > time.time() + LOOKAHEAD_S:
                return
            entry = ready[0]
            if not self._pool.try_submit(host, entry_ref(entry), fetch_article, entry,
                                         self._fetcher, self._robots, limit=concurrency):
                return
            running[entry_ref(entry)] = ready.pop(0)

    def _outcome(self, entry: FeedEntry, outcome):
        if isinstance(outcome, JobFailed):
            outcome = (dead_letter("fetch", UNEXPECTED_ERROR, outcome.error, entry_ref(entry),
                                   article_url(entry), entry_json(entry)), None)
        result, exchange = outcome
        if exchange is not None:
            yield beam.pvalue.TaggedOutput(EXCHANGES, exchange)
        if isinstance(result, RawRecord):
            self._counters.inc("fetched")
        yield route(result, self._counters)


class FetchArticles(beam.PTransform):
    """FeedEntry -> RawRecord, with ``skipped``, ``dead_letters`` and ``exchanges`` outputs."""

    def __init__(self, settings: FetchSettings | None = None):
        super().__init__()
        self._settings = settings or FetchSettings()

    def expand(self, entries):
        return (entries
                | "KeyByHost" >> beam.Map(lambda entry: (host_key(article_url(entry) or ""),
                                                         entry))
                .with_output_types(beam.typehints.KV[str, typing.Any])
                | "FetchPerHost" >> beam.ParDo(_FetchHostFn(self._settings)).with_outputs(
                    SKIPPED, DEAD, EXCHANGES, main=MAIN))
