"""When to poll a feed, and what a response means for its schedule.

Pure functions over :class:`PollState`: the first poll time, the URL to poll (a 301/308 moves
a feed), conditional-GET validators,
what each HTTP status means (:func:`poll_status_kind`, shared by the poller and the
scheduler), the adaptive interval, exponential back-off and ``Retry-After``. Every delay is
stretched by a fixed per-feed jitter so feeds configured alike do not fire together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urldefrag, urljoin

from newsflow.schemas.feeds import (
    FeedSpec,
    PollOutcome,
    PollState,
)
from newsflow.transforms.http import RedirectHop, parse_retry_after
from newsflow.transforms.politeness import host_key

#: Consecutive failures back off exponentially up to this (or the spec's max, if larger).
MAX_FAILURE_BACKOFF_S = 12 * 3600.0
#: A Retry-After is honoured up to this; beyond it the server is assumed misconfigured.
MAX_RETRY_AFTER_S = 24 * 3600.0
#: Delays are stretched by up to this fraction, fixed per feed URL, so feeds configured alike
#: do not all fire in the same second (deterministic: a hash of the URL, no randomness).
JITTER_FRACTION = 0.1
#: Every feed is polled for the first time within this long of the start (or of its own
#: interval, if shorter), its host's feeds spread evenly over the first FIRST_POLL_SPREAD of
#: it: the rest is for the job's start-up and each host's pacing (measured: the last of 300
#: feeds spread over the whole minute was polled 68 s after the start).
FIRST_POLL_WINDOW_S = 60.0
FIRST_POLL_SPREAD = 0.75
#: Redirects that move a feed for good (RFC 9110): the poller follows the new URL from then on.
PERMANENT_REDIRECTS = frozenset({301, 308})
#: What a feed response's status means (:func:`poll_status_kind`).
CONTENT, UNCHANGED, RATE_LIMITED, FAILED = "content", "unchanged", "rate_limited", "failed"
_STATUS_KINDS = {200: CONTENT, 203: CONTENT, 204: UNCHANGED, 304: UNCHANGED,
                 429: RATE_LIMITED, 503: RATE_LIMITED}


def poll_status_kind(status: int | None) -> str:
    """What a feed response status means, for the poller and the scheduler alike.

    ``content`` (200, 203: a body to parse), ``unchanged`` (204, 304: nothing new),
    ``rate_limited`` (429, 503: a failure that may carry ``Retry-After``), else ``failed``
    (other statuses, or no response at all).
    """
    return _STATUS_KINDS.get(status, FAILED)


def url_jitter(url: str) -> float:
    """A stable number in [0, 1) derived from the feed URL."""
    digest = hashlib.sha256(url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def jittered(delay_s: float, url: str) -> float:
    """``delay_s`` stretched by the feed's fixed jitter; never shorter than ``delay_s``."""
    return delay_s * (1.0 + JITTER_FRACTION * url_jitter(url))


def body_hash(body: bytes) -> str:
    """SHA-256 hex of a response body: detects unchanged feeds whatever the server says."""
    return hashlib.sha256(body).hexdigest()


def is_unchanged(state: PollState | None, body: bytes) -> bool:
    """Whether ``body`` is byte-identical to the last 200 body (skip parsing it)."""
    return state is not None and state.body_hash is not None and state.body_hash == body_hash(body)


def first_poll_delays_s(specs: Sequence[FeedSpec]) -> dict[str, float]:
    """Seconds from the start to the first poll of each of one host's new feeds.

    Spread evenly over the first three quarters of ``min(min_interval_s, FIRST_POLL_WINDOW_S)``
    (:func:`first_poll_spread_s`), in the order of the feeds' jitter and from a phase set by
    the host's, so a freshly loaded list of thousands of feeds is all polled within the first
    minute and never all at once. Evenly, not at random: the host's pacing serves its feeds one
    slot at a time, and random due times come in clusters that queue behind it (20 feeds of one
    host, each at a random time in 45 s: the last polled 77 s after the start).
    """
    if not specs:
        return {}
    phase = url_jitter(host_key(specs[0].url))
    ordered = sorted(specs, key=lambda spec: (url_jitter(spec.url), spec.url))
    return {spec.url: first_poll_spread_s(spec) * (rank + phase) / len(ordered)
            for rank, spec in enumerate(ordered)}


def first_poll_spread_s(spec: FeedSpec) -> float:
    """How long after the start a feed's first poll may be due."""
    return min(spec.min_interval_s, FIRST_POLL_WINDOW_S) * FIRST_POLL_SPREAD


def first_poll_states(specs: Sequence[FeedSpec], now: datetime) -> dict[str, PollState]:
    """States of one host's never-polled feeds, each due :func:`first_poll_delays_s` after
    ``now``."""
    delays = first_poll_delays_s(specs)
    return {spec.url: PollState(feed_url=spec.url, interval_s=spec.min_interval_s,
                                next_poll_at=as_utc(now) + timedelta(seconds=delays[spec.url]))
            for spec in specs}


def initial_poll_state(spec: FeedSpec, now: datetime | None = None) -> PollState:
    """State of a never-polled feed (the only one of its host): due within the first-poll
    spread after ``now`` (due now without ``now``)."""
    if now is not None:
        return first_poll_states([spec], now)[spec.url]
    return PollState(feed_url=spec.url, interval_s=spec.min_interval_s)


def poll_url(spec: FeedSpec, state: PollState | None) -> str:
    """The URL to request: where a permanent redirect moved the feed, else the list's URL."""
    return (state.moved_to if state is not None else None) or spec.url


def moved_to(requested: str, redirects: Sequence[RedirectHop]) -> str | None:
    """Where the permanent redirects at the start of a redirect chain lead, if anywhere new.

    Only an unbroken run of 301/308 from the requested URL moves a feed: once a 302/307 (a
    temporary detour) is in the chain, the URL before it is still the feed's address.
    """
    target = None
    for hop in redirects:
        if hop.status not in PERMANENT_REDIRECTS:
            break
        target = urldefrag(urljoin(hop.url, hop.location.strip()))[0]
    return target if target and target != requested else None


def is_due(state: PollState | None, now: datetime) -> bool:
    """Whether the feed may be polled at ``now``."""
    return state is None or state.next_poll_at is None or as_utc(now) >= state.next_poll_at


def plan_request(state: PollState | None, spec: FeedSpec) -> dict[str, str]:
    """Request headers for the next poll: the spec's own, plus conditional-GET validators."""
    headers = dict(spec.headers)
    if state is not None and state.etag:
        headers["If-None-Match"] = state.etag
    if state is not None and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def poll_outcome(status: int | None, headers: Mapping[str, str] | None = None,
                 body: bytes | None = None, *, new_entries: int = 0,
                 error: str | None = None) -> PollOutcome:
    """Build a :class:`PollOutcome` from a response (headers in any case) or a fetch error."""
    lower = {str(name).lower(): value for name, value in (headers or {}).items()}
    hashed = body_hash(body) if body is not None and poll_status_kind(status) == CONTENT \
        else None
    return PollOutcome(status=status, etag=lower.get("etag") or None,
                       last_modified=lower.get("last-modified") or None, body_hash=hashed,
                       new_entries=new_entries, retry_after=lower.get("retry-after") or None,
                       error=error)


def apply_poll_outcome(state: PollState | None, spec: FeedSpec, outcome: PollOutcome,
                       now: datetime) -> PollState:
    """The feed's state after a poll, with its next poll time.

    * 200/203 with new entries: interval halves (down to ``min_interval_s``).
    * 200/203 with an unchanged body hash or no new entries, 204 and 304: interval doubles (up to
      ``max_interval_s``); validators are kept or refreshed.
    * 429/503 with a readable Retry-After: wait at least that long (capped at a day), and at
      least the failure backoff.
    * Anything else (other statuses, fetch errors, a 200 that is not a feed): exponential
      backoff on ``consecutive_failures`` from the current interval, capped at
      ``max(max_interval_s, MAX_FAILURE_BACKOFF_S)``; the interval itself is kept so a
      recovered feed resumes its old cadence.

    Every delay is stretched by the feed's fixed jitter (:func:`jittered`).
    """
    now = as_utc(now)
    if state is None:
        state = initial_poll_state(spec)
    interval = _clamp(state.interval_s or spec.min_interval_s, spec)
    common = {"last_poll_at": now, "last_status": outcome.status}
    status = outcome.status
    kind = poll_status_kind(status) if outcome.error is None else FAILED
    if kind == CONTENT:
        unchanged = outcome.body_hash is not None and outcome.body_hash == state.body_hash
        productive = outcome.new_entries > 0 and not unchanged
        interval = _clamp(interval / 2 if productive else interval * 2, spec)
        state = state.replace(
            **common, etag=outcome.etag, last_modified=outcome.last_modified,
            body_hash=outcome.body_hash or state.body_hash, interval_s=interval,
            consecutive_failures=0, last_error=None, last_success_at=now,
            consecutive_unchanged=0 if productive else state.consecutive_unchanged + 1,
            entries_seen_total=state.entries_seen_total + max(0, outcome.new_entries))
        delay = interval
    elif kind == UNCHANGED:
        interval = _clamp(interval * 2, spec)
        state = state.replace(
            **common, etag=outcome.etag or state.etag,
            last_modified=outcome.last_modified or state.last_modified, interval_s=interval,
            consecutive_failures=0, last_error=None, last_success_at=now,
            consecutive_unchanged=state.consecutive_unchanged + 1)
        delay = interval
    else:
        failures = state.consecutive_failures + 1
        delay = failure_backoff_s(interval, failures, spec)
        if poll_status_kind(status) == RATE_LIMITED:
            retry_after = parse_retry_after(outcome.retry_after, now)
            if retry_after is not None:
                delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
        reason = outcome.error or (f"http_{status}" if status is not None else "fetch_error")
        state = state.replace(**common, interval_s=interval, consecutive_failures=failures,
                              last_error=reason)
    return state.replace(next_poll_at=now + timedelta(seconds=jittered(delay, spec.url)))


def failure_backoff_s(interval_s: float, failures: int, spec: FeedSpec) -> float:
    """Delay after ``failures`` consecutive failures: ``interval × 2**failures``, capped."""
    cap = max(spec.max_interval_s, MAX_FAILURE_BACKOFF_S)
    return min(cap, max(interval_s, spec.min_interval_s) * 2.0 ** min(failures, 40))


def _clamp(interval: float, spec: FeedSpec) -> float:
    return min(spec.max_interval_s, max(spec.min_interval_s, interval))


def as_utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
