"""Poll RSS/Atom feeds on their own schedules, with per-host state and pacing in Beam.

A source of ticks (``PeriodicImpulse`` on Dataflow, a live ``TestStream`` locally) drives
``PollFeeds``: every tick becomes one element per *host* of the feed list, carrying its feeds.
A stateful DoFn keyed by host keeps each of its feeds' :class:`PollState` (validators,
adaptive interval, failures, where a permanent redirect moved it) and bounded, expiring
:class:`SeenEntries`; whenever feeds are due it starts their requests in the worker's pool of
threads (:mod:`newsflow.transforms.hostqueue`), at most ``per_host_concurrency`` at a time,
each on the host's poll slots (:class:`~newsflow.transforms.politeness.HostSlots`), and picks
the responses up on a later tick. Keying by host is what makes the per-host limits hold
across the whole job: one key lives on one worker at a time, and its lane clock is state.

A poll has a network half, :func:`request_feed` (fetch; parse a changed body in the worker's
feed parsing children, off the worker's GIL), run in a thread, and a state half,
:func:`apply_response` (new entries, seen set, schedule), run in the key's callback;
:func:`poll_once` is both, for tests and benchmarks. All decisions are the pure functions of
the sibling modules.

State must live in the global window: windowing for the sinks happens after polling.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import typing
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import apache_beam as beam
from apache_beam.coders import BooleanCoder, PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec, TimerSpec, on_timer
from apache_beam.utils.timestamp import Timestamp

from newsflow.schemas import Skip, SkipBatch, dead_letter
from newsflow.schemas.feeds import FeedSpec, ParsedFeed, PollState
from newsflow.transforms.feeds.lists import load_feed_list
from newsflow.transforms.feeds.parse import FeedParserProcess, parse_feed
from newsflow.transforms.feeds.schedule import (
    CONTENT,
    UNCHANGED,
    apply_poll_outcome,
    first_poll_states,
    is_due,
    is_unchanged,
    moved_to,
    plan_request,
    poll_outcome,
    poll_status_kind,
    poll_url,
)
from newsflow.transforms.feeds.seen import SeenEntries, filter_and_remember
from newsflow.transforms.feeds.status import feed_status
from newsflow.transforms.fetch import (
    EXCHANGES,
    FetchSettings,
    PacedFetcher,
    exchange_of,
)
from newsflow.transforms.hostqueue import (
    DRAIN,
    LIVE,
    JobFailed,
    JobPool,
    clock_mode,
    event_now,
    host_job_room,
    output_time,
    stamped,
    worker_shared,
)
from newsflow.transforms.http import ERROR_BODY_BYTES, FetchError, FetchResult
from newsflow.transforms.politeness import POLLS, host_key
from newsflow.transforms.stage import (
    DEAD,
    MAIN,
    SKIPPED,
    UNEXPECTED_ERROR,
    OutcomeCounters,
    guarded,
    route,
)

LOG = logging.getLogger(__name__)
STATUS = "status"
#: A tick with this value ends polling (the local runner sends it when asked to stop); what is
#: in flight still finishes.
STOP = "stop"


def feed_specs(path: str, min_interval_floor_s: float | None = None) -> list[FeedSpec]:
    """The feed list, with intervals lowered to ``min_interval_floor_s`` when it is given
    (the demo and tests poll a loopback server every few seconds)."""
    specs = load_feed_list(path)
    if min_interval_floor_s is None:
        return specs
    return [dataclasses.replace(spec, min_interval_s=min(spec.min_interval_s,
                                                         min_interval_floor_s))
            for spec in specs]


def feeds_by_host(specs: list[FeedSpec]) -> dict[str, tuple[FeedSpec, ...]]:
    """The feed list grouped by the host each feed is paced under (its listed URL's)."""
    hosts: dict[str, list[FeedSpec]] = defaultdict(list)
    for spec in specs:
        hosts[host_key(spec.url)].append(spec)
    return {host: tuple(group) for host, group in sorted(hosts.items())}


class _ExpandFeedsFn(beam.DoFn):
    """Each tick becomes one ``(host, feeds)`` element per host of the list (or ``STOP``)."""

    def __init__(self, feeds_path: str, min_interval_floor_s: float | None):
        self._feeds_path = feeds_path
        self._floor = min_interval_floor_s
        self._stage = f"feeds-{uuid.uuid4().hex[:12]}"

    def setup(self):
        # read once per worker: the local runner sets DoFns up for every bundle (every tick)
        self._hosts = worker_shared(self._stage, "hosts", lambda: feeds_by_host(
            feed_specs(self._feeds_path, self._floor)))

    def process(self, tick):
        for host, specs in self._hosts.items():
            yield host, (STOP if tick == STOP else specs)


def with_topic_hints(entry, spec: FeedSpec):
    """The feed list's topic hints join the entry's own categories, so the topic tagger's
    category aliases can use them (``tags`` on the row)."""
    if not spec.topic_hints:
        return entry
    return dataclasses.replace(entry, tags=tuple(sorted(set(entry.tags) | set(spec.topic_hints))))


@dataclass(frozen=True)
class FeedResponse:
    """The network half of one poll: what was asked, and what came back."""

    url: str  # the URL requested (the feed's, or where it moved)
    result: FetchResult | None  # None when the fetch failed before any response
    error: FetchError | None = None
    parsed: ParsedFeed | None = None  # a content body that changed since the last poll


def request_feed(spec: FeedSpec, state: PollState | None, now: datetime,
                 fetcher, parser=parse_feed) -> FeedResponse:
    """Fetch the feed (conditional GET, from where it moved) and parse a changed body.

    Runs in a worker thread; touches no state. ``fetcher(url, headers)`` does the HTTP;
    ``parser`` is :func:`parse_feed` or, in streams, a :class:`FeedParserProcess`.
    """
    url = poll_url(spec, state)
    try:
        result = fetcher(url, plan_request(state, spec))
    except FetchError as error:
        return FeedResponse(url, None, error)
    parsed = None
    if poll_status_kind(result.status) == CONTENT and not is_unchanged(state, result.body):
        parsed = parser(result.body, result.headers, spec.url, now=now, base_url=result.url)
    return FeedResponse(url, result, parsed=parsed)


def apply_response(spec: FeedSpec, state: PollState, seen: SeenEntries, now: datetime,
                   response: FeedResponse, max_entry_age: timedelta | None):
    """The state half of one poll: new entries, the seen set, the schedule, a move.

    Returns ``(state, seen, outputs)``; outputs are ``(tag, value)``.
    """
    outputs = []
    result = response.result
    if result is None:
        error = response.error
        outputs.append((DEAD, dead_letter("feed", error.reason, error, spec.url, response.url)))
        outcome = poll_outcome(None, error=error.reason)
        return apply_poll_outcome(state, spec, outcome, now), seen, outputs
    outputs.append((EXCHANGES, exchange_of(result, None)))
    new, error = [], None
    kind = poll_status_kind(result.status)
    if response.parsed is not None:
        parsed = response.parsed
        filtered, seen = filter_and_remember(parsed.entries, seen, now, max_entry_age)
        new = filtered.new
        error = parsed.error
        if error:
            outputs.append((DEAD, dead_letter("feed", error, parsed.error_detail or error,
                                              spec.url, response.url, result.body)))
        if filtered.skipped or filtered.known:  # one element: a first poll lists every entry
            skips = tuple(Skip("feed", reason, f"{spec.url}#{entry.entry_key}", entry.raw_link)
                          for entry, reason in filtered.skipped)
            outputs.append((SKIPPED, SkipBatch(skips, known=len(filtered.known))))
        outputs.extend((MAIN, with_topic_hints(entry, spec)) for entry in new)
    elif kind in (CONTENT, UNCHANGED):  # the same entries as last time: keep them known
        seen = seen.refresh_latest(now)
    else:
        error = f"http_{result.status}"
        outputs.append((DEAD, dead_letter("feed", error, f"HTTP {result.status}", spec.url,
                                          response.url, result.body[:ERROR_BODY_BYTES],
                                          raw_truncated=len(result.body) > ERROR_BODY_BYTES)))
    outcome = poll_outcome(result.status, result.headers, result.body, new_entries=len(new),
                           error=error)
    state = apply_poll_outcome(state, spec, outcome, now)
    if kind in (CONTENT, UNCHANGED) and error is None:
        target = moved_to(response.url, result.redirects)
        if target is not None:
            LOG.info("feed %s moved permanently to %s", spec.url, target)
            state = state.replace(moved_to=None if target == spec.url else target)
    return state, seen, outputs


def poll_once(spec: FeedSpec, state, seen: SeenEntries, now: datetime, fetcher,
              max_entry_age: timedelta | None):
    """One poll of one feed, both halves. Returns ``(state, seen, outputs)``."""
    response = request_feed(spec, state, now, fetcher)
    return apply_response(spec, state, seen, now, response, max_entry_age)


#: A job may start this long before its slot (its thread sleeps until then): ticks come
#: about once a second, so a host's lane never idles waiting for the next tick.
LOOKAHEAD_S = 1.5
#: While requests run, a key's timer checks back this often (event time).
CHECK_S = 1.0


# State of one host's polls; Beam finds the specs through the parameter defaults.
_FEEDS = beam.DoFn.StateParam(ReadModifyWriteStateSpec(
    "feeds", PickleCoder()))  # {url: (FeedSpec, PollState)}
_SEEN = beam.DoFn.StateParam(ReadModifyWriteStateSpec(
    "seen_entries", PickleCoder()))  # {url: SeenEntries bytes}
_RUNNING = beam.DoFn.StateParam(ReadModifyWriteStateSpec(
    "running", PickleCoder()))  # {url: started, Unix time}
_LANE = beam.DoFn.StateParam(ReadModifyWriteStateSpec(
    "lane", PickleCoder()))  # this host's poll LaneClock
_STOPPED = beam.DoFn.StateParam(ReadModifyWriteStateSpec("stopped", BooleanCoder()))
_WAKE_TIMER = TimerSpec("wake", TimeDomain.WATERMARK)
_WAKE = beam.DoFn.TimerParam(_WAKE_TIMER)


class _PollHostFn(beam.DoFn):
    """Stateful per host: start due polls in the pool, apply their responses, emit entries."""

    def __init__(self, settings: FetchSettings, max_entry_age_s: float | None):
        self._settings = settings
        self._max_age = timedelta(seconds=max_entry_age_s) if max_entry_age_s else None
        self._stage = f"polls-{uuid.uuid4().hex[:12]}"

    def setup(self):
        settings = self._settings
        self._polls = Metrics.counter("feeds", "polls")
        self._counters = OutcomeCounters("feeds")
        self._pool = JobPool.of(self._stage, settings.fetch_threads)
        self._slots = settings.host_slots()
        self._fetcher = worker_shared(self._stage, "fetcher", lambda: PacedFetcher(
            settings.policy, self._slots, POLLS))
        # no settings of its own: one parser (two children) per worker, whatever the pipeline
        self._parser = worker_shared("feeds", "parser", FeedParserProcess)

    def process(self, element, timestamp=beam.DoFn.TimestampParam, feeds_state=_FEEDS,
                seen_state=_SEEN, running_state=_RUNNING, lane_state=_LANE,
                stopped_state=_STOPPED, wake=_WAKE):
        host, announced = element
        now = event_now(float(timestamp))
        feeds = feeds_state.read() or {}
        if announced == STOP:
            stopped_state.write(True)
        else:
            running = running_state.read() or {}
            listed = {spec.url: spec for spec in announced}
            for url in [url for url in feeds if url not in listed and url not in running]:
                del feeds[url]  # dropped from the list (a job update): forget it
            new = first_poll_states([spec for url, spec in listed.items() if url not in feeds],
                                    now)
            for url, spec in listed.items():
                if url in new:
                    feeds[url] = (spec, new[url])
                    yield beam.pvalue.TaggedOutput(STATUS, feed_status(new[url]))
                elif feeds[url][0] != spec:
                    feeds[url] = (spec, feeds[url][1])
        yield from self._wake(host, float(timestamp), None, feeds, feeds_state, seen_state,
                              running_state, lane_state, stopped_state, wake)

    @on_timer(_WAKE_TIMER)
    def on_wake(self, key=beam.DoFn.KeyParam, timestamp=beam.DoFn.TimestampParam,
                feeds_state=_FEEDS, seen_state=_SEEN, running_state=_RUNNING, lane_state=_LANE,
                stopped_state=_STOPPED, wake=_WAKE):
        event_s = float(timestamp)
        yield from self._wake(key, event_s, output_time(event_s, clock_mode(event_s)),
                              feeds_state.read() or {}, feeds_state, seen_state, running_state,
                              lane_state, stopped_state, wake)

    def _wake(self, host, event_s, stamp, feeds, feeds_state, seen_state, running_state,
              lane_state, stopped_state, wake):
        """Apply finished polls, start due ones; live, return at once, else wait for them.
        Outputs keep the element's timestamp, or get ``stamp`` (timer callbacks)."""
        mode = clock_mode(event_s)
        now = event_now(event_s)
        running = running_state.read() or {}
        self._slots.restore(host, POLLS, lane_state.read())
        seen: dict | None = None
        stopping = mode == DRAIN or bool(stopped_state.read())
        wait_s = 0.0
        while True:
            finished = self._pool.collect(host, wait_s)
            if finished and seen is None:
                seen = seen_state.read() or {}
            for url, response in finished:
                running.pop(url, None)
                if url in feeds:
                    outputs = guarded("feed", url, self._apply(url, response, feeds, seen, now),
                                      self._counters)
                    for output in outputs:
                        yield output if stamp is None else stamped(output, stamp)
            alive = self._pool.running(host)
            for url in [url for url in running if url not in alive]:
                del running[url]  # started by a worker that lost this key: due again
            blocked = 0 if stopping else self._start_due(host, feeds, running, now)
            if mode == LIVE or not running or (wait_s and not finished):
                break
            wait_s = self._settings.policy.total_timeout + LOOKAHEAD_S
        feeds_state.write(feeds)
        running_state.write(running)
        if seen is not None:
            seen_state.write(seen)
        lane_state.write(self._slots.clock(host, POLLS))
        self._pool.set_backlog(host, len(running) + blocked)
        if running or blocked:
            wake.set(Timestamp.of(event_s + CHECK_S))

    def _start_due(self, host, feeds, running, now) -> int:
        """Start due feeds, most overdue first, within the host's limits; returns how many
        due feeds must wait."""
        due = sorted((state.next_poll_at or now, url) for url, (_, state) in feeds.items()
                     if url not in running and is_due(state, now))
        concurrency = self._settings.per_host_concurrency
        for index, (_, url) in enumerate(due):
            if len(running) >= host_job_room(concurrency) \
                    or self._slots.next_start(host, POLLS) > time.time() + LOOKAHEAD_S:
                return len(due) - index
            spec, state = feeds[url]
            if not self._pool.try_submit(host, url, request_feed, spec, state, now,
                                         self._fetcher, self._parser, limit=concurrency):
                return len(due) - index
            running[url] = time.time()
        return 0

    def _apply(self, url, response, feeds, seen, now):
        """Outputs of one finished poll; the feed's state and seen set are updated in place.
        A failure applying it (inside the caller's boundary) leaves the feed backing off."""
        spec, state = feeds[url]
        failed = apply_poll_outcome(state, spec, poll_outcome(None, error=UNEXPECTED_ERROR), now)
        feeds[url] = (spec, failed)  # a failure below leaves the feed backing off
        self._polls.inc()
        if isinstance(response, JobFailed):
            outputs = [(DEAD, dead_letter("feed", UNEXPECTED_ERROR, response.error, spec.url,
                                          poll_url(spec, state)))]
            state = failed
        else:
            stored = seen.get(url)
            entries = SeenEntries.from_bytes(stored) if stored else SeenEntries()
            state, entries, outputs = apply_response(spec, state, entries, now, response,
                                                     self._max_age)
            seen[url] = entries.to_bytes()
        feeds[url] = (spec, state)
        for tag, value in outputs:
            if tag == MAIN:
                self._counters.inc("entries_new")
                yield value
            elif tag in (SKIPPED, DEAD):
                yield route(value, self._counters)
            else:
                yield beam.pvalue.TaggedOutput(tag, value)
        yield beam.pvalue.TaggedOutput(STATUS, feed_status(state))


class PollFeeds(beam.PTransform):
    """Ticks -> new FeedEntry elements; also ``skipped`` (one SkipBatch per poll: entries
    too old or repeated, and how many an earlier poll listed), ``dead_letters`` (feed
    failures), ``status`` (a FeedStatus when a feed is first scheduled and after every poll)
    and ``exchanges`` (for WARC)."""

    def __init__(self, feeds_path: str, settings: FetchSettings | None = None,
                 max_entry_age_s: float | None = None,
                 min_interval_floor_s: float | None = None):
        super().__init__()
        self._feeds_path = feeds_path
        self._settings = settings or FetchSettings()
        self._max_entry_age_s = max_entry_age_s
        self._floor = min_interval_floor_s

    def expand(self, ticks):
        return (ticks
                | "ExpandFeeds" >> beam.ParDo(_ExpandFeedsFn(self._feeds_path, self._floor))
                .with_output_types(beam.typehints.KV[str, typing.Any])
                | "PollHosts" >> beam.ParDo(
                    _PollHostFn(self._settings, self._max_entry_age_s))
                .with_outputs(SKIPPED, DEAD, STATUS, EXCHANGES, main=MAIN))


__all__ = ["STATUS", "STOP", "FeedResponse", "PollFeeds", "apply_response", "feed_specs",
           "feeds_by_host", "poll_once", "request_feed", "with_topic_hints"]
