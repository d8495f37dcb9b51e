"""Poll RSS/Atom feeds on their own schedules, with per-feed state in Beam.

A source of ticks (``PeriodicImpulse`` on Dataflow, a live ``TestStream`` locally) drives
``PollFeeds``: every tick fans out to one element per feed, keyed by feed URL, and a stateful
DoFn keeps that feed's :class:`PollState` (validators, adaptive interval, failures) and its
bounded, expiring :class:`SeenEntries`. A feed is fetched only when its own schedule says it is
due, so ticks only need to be frequent enough for the shortest interval. All decisions are the
pure functions of the sibling modules; this module only wires them to state and HTTP.

State must live in the global window: windowing for the sinks happens after polling.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import apache_beam as beam
from apache_beam.coders import BytesCoder, PickleCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.userstate import ReadModifyWriteStateSpec

from newsflow.schemas import Skip, dead_letter
from newsflow.schemas.feeds import FeedSpec
from newsflow.transforms.feeds.lists import load_feed_list
from newsflow.transforms.feeds.parse import parse_feed
from newsflow.transforms.feeds.schedule import (
    CONTENT,
    UNCHANGED,
    apply_poll_outcome,
    initial_poll_state,
    is_due,
    is_unchanged,
    plan_request,
    poll_outcome,
    poll_status_kind,
)
from newsflow.transforms.feeds.seen import SeenEntries, filter_and_remember
from newsflow.transforms.feeds.status import feed_status
from newsflow.transforms.fetch import EXCHANGES, FetchSettings, ThrottledFetcher, exchange_of
from newsflow.transforms.http import ERROR_BODY_BYTES, FetchError
from newsflow.transforms.stage import (
    DEAD,
    MAIN,
    SKIPPED,
    UNEXPECTED_ERROR,
    OutcomeCounters,
    guarded,
    route,
)

STATUS = "status"


def feed_specs(path: str, min_interval_floor_s: float | None = None) -> list[FeedSpec]:
    """The feed list, with intervals lowered to ``min_interval_floor_s`` when it is given
    (the demo and tests poll a loopback server every few seconds)."""
    specs = load_feed_list(path)
    if min_interval_floor_s is None:
        return specs
    return [dataclasses.replace(spec, min_interval_s=min(spec.min_interval_s,
                                                         min_interval_floor_s))
            for spec in specs]


class _ExpandFeedsFn(beam.DoFn):
    """Each tick becomes one ``(feed_url, spec)`` element per feed in the list."""

    def __init__(self, feeds_path: str, min_interval_floor_s: float | None):
        self._feeds_path = feeds_path
        self._floor = min_interval_floor_s

    def setup(self):
        self._specs = feed_specs(self._feeds_path, self._floor)

    def process(self, _tick):
        for spec in self._specs:
            yield spec.url, spec


def with_topic_hints(entry, spec: FeedSpec):
    """The feed list's topic hints join the entry's own categories, so the topic tagger's
    category aliases can use them (``tags`` on the row)."""
    if not spec.topic_hints:
        return entry
    return dataclasses.replace(entry, tags=tuple(sorted(set(entry.tags) | set(spec.topic_hints))))


def poll_once(spec: FeedSpec, state, seen: SeenEntries, now: datetime, fetcher,
              max_entry_age: timedelta | None):
    """One poll of one feed. Returns ``(state, seen, outputs)``; outputs are ``(tag, value)``."""
    outputs = []
    try:
        result = fetcher(spec.url, plan_request(state, spec))
    except FetchError as error:
        outputs.append((DEAD, dead_letter("feed", error.reason, error, spec.url, spec.url)))
        outcome = poll_outcome(None, error=error.reason)
        return apply_poll_outcome(state, spec, outcome, now), seen, outputs
    outputs.append((EXCHANGES, exchange_of(result, None)))
    new, error = [], None
    kind = poll_status_kind(result.status)
    if kind == CONTENT and not is_unchanged(state, result.body):
        parsed = parse_feed(result.body, result.headers, spec.url, now=now, base_url=result.url)
        new, skipped, seen = filter_and_remember(parsed.entries, seen, now, max_entry_age)
        error = parsed.error
        if error:
            outputs.append((DEAD, dead_letter("feed", error, parsed.error_detail or error,
                                              spec.url, spec.url, result.body)))
        outputs.extend((SKIPPED, Skip("feed", reason, f"{spec.url}#{entry.entry_key}",
                                      entry.raw_link)) for entry, reason in skipped)
        outputs.extend((MAIN, with_topic_hints(entry, spec)) for entry in new)
    elif kind in (CONTENT, UNCHANGED):  # the same entries as last time: keep them known
        seen = seen.refresh_latest(now)
    else:
        error = f"http_{result.status}"
        outputs.append((DEAD, dead_letter("feed", error, f"HTTP {result.status}", spec.url,
                                          spec.url, result.body[:ERROR_BODY_BYTES],
                                          raw_truncated=len(result.body) > ERROR_BODY_BYTES)))
    outcome = poll_outcome(result.status, result.headers, result.body, new_entries=len(new),
                           error=error)
    return apply_poll_outcome(state, spec, outcome, now), seen, outputs


class _PollFeedFn(beam.DoFn):
    """Stateful per feed: poll when due, emit new entries, remember what was seen."""

    POLL_STATE = ReadModifyWriteStateSpec("poll_state", PickleCoder())
    SEEN = ReadModifyWriteStateSpec("seen_entries", BytesCoder())

    def __init__(self, settings: FetchSettings, max_entry_age_s: float | None):
        self._settings = settings
        self._max_age = timedelta(seconds=max_entry_age_s) if max_entry_age_s else None
        self._polls = Metrics.counter("feeds", "polls")
        self._counters = OutcomeCounters("feeds")

    def setup(self):
        self._fetcher = ThrottledFetcher(self._settings)

    def process(self, element, timestamp=beam.DoFn.TimestampParam,
                poll_state=beam.DoFn.StateParam(POLL_STATE),
                seen_state=beam.DoFn.StateParam(SEEN)):
        yield from guarded("feed", element, self._poll(element, timestamp, poll_state,
                                                       seen_state), self._counters)

    def _poll(self, element, timestamp, poll_state, seen_state):
        _, spec = element
        # The tick's event time is "now": wall-clock time in production (ticks fire in real
        # time), and controllable in tests, so schedules and expiry are testable.
        now = timestamp.to_utc_datetime().replace(tzinfo=UTC)
        state = poll_state.read()
        if state is None:  # first sight of this feed: schedule it, spread over one interval
            state = initial_poll_state(spec, now)
            poll_state.write(state)
        if not is_due(state, now):
            return
        stored = seen_state.read()
        seen = SeenEntries.from_bytes(stored) if stored else SeenEntries()
        # written first, so a poll that fails unexpectedly backs off instead of every tick
        poll_state.write(apply_poll_outcome(state, spec, poll_outcome(None, error=UNEXPECTED_ERROR),
                                            now))
        state, seen, outputs = poll_once(spec, state, seen, now, self._fetcher, self._max_age)
        poll_state.write(state)
        seen_state.write(seen.to_bytes())
        self._polls.inc()
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
    """Ticks -> new FeedEntry elements; also ``skipped`` (seen, too old), ``dead_letters``
    (feed failures), ``status`` (FeedStatus after every poll) and ``exchanges`` (for WARC)."""

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
                .with_output_types(beam.typehints.KV[str, FeedSpec])
                | "PollFeed" >> beam.ParDo(
                    _PollFeedFn(self._settings, self._max_entry_age_s))
                .with_outputs(SKIPPED, DEAD, STATUS, EXCHANGES, main=MAIN))
