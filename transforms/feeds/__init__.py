"""Streaming feed ingestion, by concern: what to poll, when, what a poll found, what is new.

* :mod:`.lists`: feed lists (text, OPML, CSV, YAML) → :class:`FeedSpec`, validated up front.
* :mod:`.parse`: one feed response (bytes + headers) → :class:`ParsedFeed` of entries; never
  raises. Streams parse in child processes (:class:`FeedParserProcess`), so this package
  imports no Beam; :mod:`.status` and :mod:`.poll` do and are imported by name.
* :mod:`.schedule`: when a feed is due, what a response status means for it, its adaptive
  interval, back-off and conditional-GET validators (:class:`PollState`).
* :mod:`.seen`: the bounded, expiring set of entry keys already seen per feed.
* :mod:`.status`: the operator's view of every feed (``newsflow feeds status``).
* :mod:`.poll`: the Beam wiring: ``PollFeeds``, a stateful DoFn per feed that runs one poll
  (:func:`poll_once`) whenever the feed is due.

Everything but :mod:`.poll` and the status files is pure: callers pass response bytes, headers
and ``now`` (a timezone-aware UTC datetime), so decisions are deterministic and testable
without Beam or a network. HTTP lives in :mod:`newsflow.transforms.http`.
"""

from newsflow.transforms.feeds.lists import FeedListError, feed_spec_from_fields, load_feed_list
from newsflow.transforms.feeds.parse import (
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_FEED_BYTES,
    FeedParserProcess,
    absolute_http_url,
    feed_time,
    feedparser_headers,
    parse_feed,
)
from newsflow.transforms.feeds.schedule import (
    apply_poll_outcome,
    body_hash,
    failure_backoff_s,
    first_poll_states,
    initial_poll_state,
    is_due,
    is_unchanged,
    jittered,
    plan_request,
    poll_outcome,
    url_jitter,
)
from newsflow.transforms.feeds.seen import (
    FilteredEntries,
    SeenEntries,
    filter_and_remember,
    filter_new_entries,
)

__all__ = [
    "DEFAULT_MAX_ENTRIES", "DEFAULT_MAX_FEED_BYTES", "FeedListError", "FeedParserProcess",
    "FilteredEntries", "SeenEntries",
    "absolute_http_url", "apply_poll_outcome", "body_hash", "failure_backoff_s",
    "feed_spec_from_fields", "feed_time", "feedparser_headers", "filter_and_remember",
    "filter_new_entries", "first_poll_states", "initial_poll_state", "is_due", "is_unchanged",
    "jittered", "load_feed_list", "parse_feed", "plan_request", "poll_outcome", "url_jitter",
]
