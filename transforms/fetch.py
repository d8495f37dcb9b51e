"""Fetch the articles that feed entries link to, politely and through the guarded client.

Every entry leaves as a RawRecord (an HTML page to process), a Skip (``no_link``,
``robots_disallowed``, ``not_html``) or a DeadLetter (the client's failure reason, or
``http_<status>``). Every response received is also emitted as an :class:`Exchange` for the WARC
archive, failures included.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import apache_beam as beam

from newsflow.schemas import Exchange, RawRecord, Skip, dead_letter
from newsflow.schemas.feeds import FeedEntry
from newsflow.transforms.exchanges import entry_json, now_to_second, record_from_exchange
from newsflow.transforms.http import (
    ERROR_BODY_BYTES,
    FetchError,
    FetchPolicy,
    FetchResult,
    decode_text,
    fetch,
)
from newsflow.transforms.politeness import HostThrottle, RobotsCache, RobotsPolicy
from newsflow.transforms.stage import DEAD, MAIN, SKIPPED, OutcomeCounters, guarded, route

EXCHANGES = "exchanges"
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_ACCEPT = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1"}


@dataclass(frozen=True)
class FetchSettings:
    """How articles (and feeds) are fetched: one client policy, politeness and robots."""

    policy: FetchPolicy = field(default_factory=FetchPolicy)
    per_host_delay_s: float = 1.0
    per_host_concurrency: int = 2
    robots: bool = True


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


def fetch_article(entry: FeedEntry, fetcher, robots: RobotsCache | None):
    """``(outcome, exchange_or_None)`` for one entry; ``fetcher(url, headers)`` does the HTTP."""
    url = entry.raw_link or entry.link
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


class ThrottledFetcher:
    """``fetcher(url, headers)``: the guarded client behind the per-host politeness throttle.

    Build it in ``DoFn.setup``: the throttle holds locks and per-host clocks.
    """

    def __init__(self, settings: FetchSettings):
        self._policy = settings.policy
        self._throttle = HostThrottle(settings.per_host_delay_s, settings.per_host_concurrency)

    def __call__(self, url: str, headers: dict) -> FetchResult:
        with self._throttle.slot(url):
            return fetch(url, self._policy, headers)


class _FetchArticlesFn(beam.DoFn):
    def __init__(self, settings: FetchSettings):
        self._settings = settings
        self._counters = OutcomeCounters("fetch")

    def setup(self):
        settings = self._settings
        self._fetcher = ThrottledFetcher(settings)
        self._robots = RobotsCache(settings.policy, RobotsPolicy()) if settings.robots else None

    def process(self, entry: FeedEntry):
        yield from guarded("fetch", entry, self._fetch(entry), self._counters)

    def _fetch(self, entry: FeedEntry):
        outcome, exchange = fetch_article(entry, self._fetcher, self._robots)
        if exchange is not None:
            yield beam.pvalue.TaggedOutput(EXCHANGES, exchange)
        if isinstance(outcome, RawRecord):
            self._counters.inc("fetched")
        yield route(outcome, self._counters)


class FetchArticles(beam.PTransform):
    """FeedEntry -> RawRecord, with ``skipped``, ``dead_letters`` and ``exchanges`` outputs."""

    def __init__(self, settings: FetchSettings | None = None):
        super().__init__()
        self._settings = settings or FetchSettings()

    def expand(self, entries):
        return (entries
                | "Reshuffle" >> beam.Reshuffle()
                | "Fetch" >> beam.ParDo(_FetchArticlesFn(self._settings)).with_outputs(
                    SKIPPED, DEAD, EXCHANGES, main=MAIN))
