"""Record types that flow between newsflow's transforms.

Every input record ends as exactly one of: an :class:`Article` row, a :class:`DeadLetter` or a
:class:`Skip`. These types are plain frozen dataclasses so they pickle cheaply between Beam
stages and can be built in tests without Beam.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class RawRecord:
    """One input document before extraction, whatever reader or fetcher produced it.

    ``body`` is decoded text: HTML when ``body_kind == "html"``, plain article text when
    ``body_kind == "text"`` (text dumps, JSONL ``text`` fields). Readers decode bytes (HTTP
    header charset, then meta charset, then detection) so later stages never guess encodings.
    """

    url: str | None
    body: str
    body_kind: str  # "html" | "text"
    source_format: str  # warc | arc | jsonl | text_dump | html_file | feed
    source_ref: str  # where the record came from: "path@offset", "path:line"
    fetched_at: datetime | None = None  # capture/fetch time (UTC), never a publication date
    published_at: datetime | None = None  # publication date declared by the source, if any
    published_source: str | None = None  # how published_at was declared (see DATE_SOURCES)
    title: str | None = None
    tags: tuple[str, ...] = ()
    feed_url: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # small source-specific facts kept for debugging


@dataclass(frozen=True)
class PageFacts:
    """What an HTML page declares about itself, as the page wrote it, with where it said it.

    Filled by ``newsflow.transforms.metadata`` from JSON-LD, OpenGraph/``<meta>``, microdata,
    ``<time>`` elements, headlines and bylines; later steps weigh the candidates (dates,
    titles, authors, page type) so every chosen value keeps its provenance.
    """

    types: tuple[str, ...] = ()  # "og:" + og:type, and JSON-LD @type values; lower-case
    dates: tuple[tuple[str, str], ...] = ()  # (DATE_SOURCES name, raw value): publication
    modified: tuple[tuple[str, str], ...] = ()  # (source, raw value): last modification
    titles: tuple[tuple[str, str], ...] = ()  # (json_ld | og | twitter | itemprop | title | h1,
    #                                            text)
    site_names: tuple[str, ...] = ()  # og:site_name, JSON-LD publisher / WebSite name...
    authors: tuple[tuple[str, str, str], ...] = ()  # (json_ld | meta | itemprop | byline,
    #                                                   name or byline, person | organization
    #                                                   | unknown)
    locale: str | None = None  # <html lang>, og:locale or Content-Language: "zh-CN", "ja_JP"


@dataclass(frozen=True)
class Draft:
    """An article in the making: the raw record plus what each processing stage found so far."""

    record: RawRecord
    text: str
    title: str | None = None
    canonical_url: str | None = None
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    site_name: str | None = None
    page: PageFacts | None = None  # what the HTML declares (None for text records)
    wire: str | None = None
    dateline: str | None = None
    removed: tuple[str, ...] = ()  # boilerplate kinds the cleaner removed
    published_at: datetime | None = None
    published_offset_min: int | None = None
    published_precision: str | None = None  # "time" | "day"
    date_source: str | None = None
    modified_at: datetime | None = None
    language: str = "und"
    language_prob: float | None = None

    def replace(self, **changes) -> Draft:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Article:
    """One output row. Every field is documented once, in ``newsflow.schemas.article.FIELDS``."""

    article_id: str
    url: str | None
    domain: str | None
    title: str | None
    text: str
    published_at: datetime | None
    date_source: str | None
    fetched_at: datetime | None
    language: str
    language_prob: float | None
    wire: str | None
    dateline: str | None
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    site_name: str | None
    content_hash: str
    source_format: str
    source_ref: str
    feed_url: str | None
    versions: tuple[tuple[str, str], ...]
    ingested_at: datetime
    schema_version: int
    cluster_id: str | None = None
    duplicate_of: str | None = None
    is_duplicate: bool | None = None
    similarity: float | None = None
    topics: tuple[str, ...] | None = None
    tagger_version: str | None = None
    published_offset_min: int | None = None
    published_precision: str | None = None
    modified_at: datetime | None = None
    story_id: str | None = None
    story_size: int | None = None
    story_first_seen_at: datetime | None = None

    def replace(self, **changes) -> Article:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class ReplayPointer:
    """Where the whole input of a dead letter lives when ``raw`` cannot hold all of it.

    ``offset`` and ``length`` count bytes of the stored file, or of its decompressed stream
    when ``gunzip`` is true (a file that is one gzip stream cannot be entered in the middle).
    ``length`` None means "to the end of the file".
    """

    path: str
    offset: int
    length: int | None
    gunzip: bool = False


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be processed, kept with enough to replay it.

    ``raw`` is the record's input as text (HTML, JSON line, WARC record, feed XML); bytes that
    are not text are stored base64-encoded with ``raw_encoding == "base64"``. ``raw_truncated``
    is true whenever ``raw`` is less than the whole input (over ``MAX_DEAD_LETTER_RAW``
    characters, or cut by the stage); ``replay`` then says where the whole input is, when it is
    in a file. ``unread_bytes`` is set only on a *file-level loss*: a file that could not be
    read to its end, counted as one dead letter whose ``replay`` points at the unread rest.
    """

    stage: str  # read | extract | clean | dates | language | fetch | feed | sink
    reason: str  # short snake_case word, also the counter name suffix: dead_<reason>
    error: str
    source_ref: str
    url: str | None = None
    raw: str | None = None
    raw_encoding: str = "text"
    raw_truncated: bool = False
    replay: ReplayPointer | None = None
    unread_bytes: int | None = None  # bytes of the file never read (file-level losses only)


@dataclass(frozen=True)
class Skip:
    """A record deliberately not turned into an article, counted under ``skipped_<reason>`` and
    written to ``OUTPUT/skipped/`` so skips can be listed and replayed.

    ``raw`` is the record's body, kept only when the run asks for it (``--keep_skipped_raw``),
    capped like a dead letter's; ``raw_kind`` says whether it is ``html`` or ``text``.
    """

    stage: str
    reason: str
    source_ref: str
    url: str | None = None
    raw: str | None = None
    raw_kind: str | None = None
    raw_truncated: bool = False


@dataclass(frozen=True)
class SkipBatch:
    """The skips of one feed poll travelling as one element.

    A stream's first round lists every entry of every feed: at a thousand feeds that is tens
    of thousands of ``too_old`` skips at once, and moving each one through windowing, the skip
    files and the run summary cost more than the polls. Everything downstream counts and
    writes the skips of a batch one by one, exactly as single skips.

    ``known`` counts the poll's entries that an earlier poll already listed: each of those
    ended then as a row, a skip or a dead letter, so they are not read records again; the run
    summary reports them beside its equation (``feed_entries_known``) and nothing is written.
    """

    skips: tuple[Skip, ...]
    known: int = 0


def single_skips(outcome: Skip | SkipBatch) -> tuple[Skip, ...]:
    """The skips an outcome stands for: a batch's, or the skip itself."""
    return outcome.skips if isinstance(outcome, SkipBatch) else (outcome,)


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its response, as archived to WARC by the streaming pipeline.

    ``entry_json`` carries the feed entry an article was found in (link, title, dates, tags),
    stored as a ``Newsflow-Feed-Entry`` WARC header so a backfill over the archive rebuilds the
    same rows as the live run.
    """

    url: str
    status: int
    request_headers: tuple[tuple[str, str], ...]
    response_headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    remote_ip: str = ""
    entry_json: str | None = None


MAX_DEAD_LETTER_RAW = 1_000_000
_MAX_BASE64_BYTES = MAX_DEAD_LETTER_RAW // 4 * 3  # base64 of these fits the cap

#: Where ``published_at`` came from (``date_source``). ``None`` means undated. How they are
#: weighed against each other: ``newsflow.transforms.dates``.
DATE_SOURCES = (
    "feed",  # the feed entry's published/updated date
    "archive_record",  # a date field of the archive record (JSONL ``published_at``)
    "text_dump_prefix",  # the `` date YYYY-MM-DD `` prefix of a text dump
    "json_ld",  # JSON-LD datePublished (or a video's uploadDate) of the page's article
    "opengraph",  # <meta property="article:published_time"> and its OpenGraph variants
    "itemprop",  # microdata itemprop="datePublished"
    "meta",  # other publication <meta> tags (pubdate, dc.date, parsely-pub-date, ...)
    "time_element",  # <time datetime> (or hAtom "published") near the headline
    "headline_date",  # a date shown in the lines under the headline ("Posted 2019-01-21 13:49")
    "json_ld_created",  # JSON-LD dateCreated
    "itemprop_created",  # microdata itemprop="dateCreated"
    "htmldate",  # htmldate's guess, asked only when the page declares no date
    "url",  # a /YYYY/MM/DD/ path in the URL
    "text",  # a "Published: <date>" line in the article's first lines
)


def skip_with_raw(skip: Skip, record: RawRecord) -> Skip:
    """``skip`` carrying ``record``'s body (capped at ``MAX_DEAD_LETTER_RAW`` characters)."""
    truncated = len(record.body) > MAX_DEAD_LETTER_RAW
    return dataclasses.replace(skip, raw=record.body[:MAX_DEAD_LETTER_RAW],
                               raw_kind=record.body_kind, raw_truncated=truncated)


def dead_letter(stage: str, reason: str, error: str | BaseException, source_ref: str,
                url: str | None = None, raw: str | bytes | None = None, *,
                raw_truncated: bool = False, replay: ReplayPointer | None = None,
                unread_bytes: int | None = None) -> DeadLetter:
    """Build a :class:`DeadLetter`, encoding and capping the raw input so it always serializes.

    Pass ``raw_truncated=True`` when ``raw`` is already only a part of the input; the cap to
    ``MAX_DEAD_LETTER_RAW`` characters sets it too.
    """
    import base64

    if isinstance(error, BaseException):
        error = f"{type(error).__name__}: {error}"
    encoding = "text"
    if isinstance(raw, bytes | bytearray | memoryview):
        raw = bytes(raw)
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            if raw_truncated and exc.reason == "unexpected end of data":  # a character cut
                raw = raw[:exc.start].decode("utf-8")  # in two where the input was cut
        if isinstance(raw, bytes):
            kept = raw[:_MAX_BASE64_BYTES]
            raw_truncated = raw_truncated or len(kept) < len(raw)
            raw = base64.b64encode(kept).decode("ascii")
            encoding = "base64"
    if raw is not None and len(raw) > MAX_DEAD_LETTER_RAW:
        raw, raw_truncated = raw[:MAX_DEAD_LETTER_RAW], True
    return DeadLetter(stage=stage, reason=reason, error=str(error)[:2000], source_ref=source_ref,
                      url=url, raw=raw, raw_encoding=encoding, raw_truncated=raw_truncated,
                      replay=replay, unread_bytes=unread_bytes)


__all__ = [
    "Article", "DATE_SOURCES", "DeadLetter", "Draft", "Exchange", "MAX_DEAD_LETTER_RAW",
    "PageFacts", "RawRecord", "ReplayPointer", "Skip", "dead_letter", "skip_with_raw",
]
