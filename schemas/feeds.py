"""Record types of streaming feed ingestion: what to poll, what a poll found, and poll state.

Plain frozen dataclasses (no Beam, no I/O) so they pickle cheaply into Beam state and can be
built in tests. Every field is documented once, here; the logic lives in
``newsflow.transforms.feeds``.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

#: Defaults for a feed list entry that does not say how often to poll.
DEFAULT_MIN_INTERVAL_S = 300.0
DEFAULT_MAX_INTERVAL_S = 6 * 3600.0


@dataclass(frozen=True)
class FeedSpec:
    """One feed to poll, as configured in the feed list."""

    url: str  # absolute http(s) URL, as written in the list (fetch this one)
    min_interval_s: float = DEFAULT_MIN_INTERVAL_S  # never poll more often than this
    max_interval_s: float = DEFAULT_MAX_INTERVAL_S  # quiet feeds back off to at most this
    headers: tuple[tuple[str, str], ...] = ()  # extra request headers (name, value), list order
    language_hint: str | None = None  # expected language (lower-case BCP 47), a hint only
    topic_hints: tuple[str, ...] = ()  # lower-case topic labels from the list or OPML folders
    name: str | None = None  # human-readable feed name (OPML text/title, CSV/YAML name)


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a parsed feed; text fields are plain text (markup stripped)."""

    feed_url: str  # the feed (FeedSpec.url) this entry came from
    link: str | None  # canonical article URL (tracking params, AMP/mobile variants removed):
    #                   use it as identity; None when the entry has no usable http(s) link
    raw_link: str | None  # the entry's link made absolute but otherwise as published: fetch it
    guid: str | None  # the entry's id/guid as published (trimmed), if any
    title: str | None
    summary: str | None  # description/summary as plain text, capped
    authors: tuple[str, ...]  # author names (or e-mails when no name), feed order, no repeats
    tags: tuple[str, ...]  # categories: lower-case, trimmed, de-duplicated, sorted
    published_at: datetime | None  # declared publication time (UTC); None if absent or absurd
    updated_at: datetime | None  # declared update time (UTC); None if absent or absurd
    entry_key: str  # seen-state key: guid, else normalized link, else "hash:" of title+summary


@dataclass(frozen=True)
class ParsedFeed:
    """What ``parse_feed`` made of one response body; ``error`` set means no usable feed."""

    entries: tuple[FeedEntry, ...]
    bozo: bool  # feedparser flagged the document as malformed (entries may still be fine)
    bozo_reason: str | None  # short "ExceptionType: message" of the bozo exception
    feed_title: str | None
    error: str | None = None  # not_a_feed | unsafe_xml | too_large | parse_error
    error_detail: str | None = None  # human-readable explanation of ``error``
    entries_total: int = 0  # entries in the document, before max_entries and empty ones
    entries_dropped: int = 0  # entries cut by max_entries or with no key material at all


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of a feed produced, reduced to what the scheduler needs.

    ``status`` is the HTTP status, or None when the fetch failed before a response (DNS,
    timeout, TLS); ``error`` is a short reason for fetch or parse failures (a 200 whose body is
    not a feed is a failure too).
    """

    status: int | None
    etag: str | None = None  # ETag response header, verbatim
    last_modified: str | None = None  # Last-Modified response header, verbatim
    body_hash: str | None = None  # SHA-256 hex of the response body (200 only)
    new_entries: int = 0  # entries not seen before (after filter_new_entries)
    retry_after: str | None = None  # Retry-After response header, verbatim
    error: str | None = None


@dataclass(frozen=True)
class PollState:
    """Everything remembered about one feed between polls (lives in Beam state)."""

    feed_url: str  # FeedSpec.url
    moved_to: str | None = None  # where a 301/308 moved the feed: polled instead of feed_url
    etag: str | None = None  # last ETag, sent back as If-None-Match
    last_modified: str | None = None  # last Last-Modified, sent back as If-Modified-Since
    body_hash: str | None = None  # SHA-256 of the last 200 body: detects unchanged feeds when
    #                               the server ignores conditional requests
    interval_s: float | None = None  # current polling interval (between the spec's min and max)
    next_poll_at: datetime | None = None  # earliest time of the next poll; None = due now
    consecutive_failures: int = 0  # failed polls in a row (errors, 4xx/5xx, not a feed)
    consecutive_unchanged: int = 0  # successful polls in a row that brought nothing new
    last_poll_at: datetime | None = None  # when the last poll (any outcome) completed
    last_success_at: datetime | None = None  # when a poll last got a 200 or 304
    last_status: int | None = None  # HTTP status of the last poll; None for fetch errors
    last_error: str | None = None  # reason of the last failure; cleared by a success
    entries_seen_total: int = 0  # new entries found over the feed's lifetime

    def replace(self, **changes) -> PollState:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class FeedStatus:
    """One row of the operator's feed snapshot (a flattened, judged ``PollState``)."""

    feed_url: str
    health: str  # pending (not polled yet) | ok | quiet (no news for 3+ polls)
    #              | degraded (1-2 failures) | failing (3+ failures in a row)
    last_status: int | None
    last_error: str | None
    last_poll_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    interval_s: float | None
    consecutive_failures: int
    consecutive_unchanged: int
    entries_seen_total: int
    conditional_get: bool  # the server gave an ETag or Last-Modified to revalidate with
    moved_to: str | None = None  # the URL polled since a permanent redirect (PollState)


__all__ = [
    "DEFAULT_MAX_INTERVAL_S", "DEFAULT_MIN_INTERVAL_S", "FeedEntry", "FeedSpec", "FeedStatus",
    "ParsedFeed", "PollOutcome", "PollState",
]
