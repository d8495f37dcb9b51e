"""Publication instants: every source's candidate, parsed with its offset, chosen by agreement.

Candidates come from the record (feed entry, archive record, text-dump prefix), from what the
page declares (JSON-LD ``datePublished`` then ``dateCreated``, OpenGraph
``article:published_time``, ``itemprop=datePublished``, other publication ``<meta>`` tags,
``<time datetime>`` near the headline), from the URL, from an explicit "Published: <date>" line
of the text and, only when the page declares nothing, from htmldate.

Every value is parsed with what it says about time zones: an explicit offset (``+09:00``,
``-0500``, ``Z``, ``EET``) gives the instant and ``offset_min``; a wall-clock time without one
is *naive* (taken as UTC, offset unknown); a date without a time (or at exactly midnight
without an offset) has precision ``day``, the instant 00:00 UTC of that calendar day, so the
``dt`` partition is that day.

The choice (:func:`choose_publication`), in words:

1. Drop implausible candidates: before 1990, or after the capture time (or now, when it is
   unknown) plus ``FUTURE_TOLERANCE``.
2. Two candidates *agree* when they name the same minute (a naive time also agrees with an
   instant whose local wall-clock reads the same, since a naive time is usually one of the two),
   or when a day equals the other's local (or UTC) calendar day.
3. Each candidate's support is the sum of the reliability weights (``RELIABILITY``) of the
   candidates agreeing with it, itself included; the best-supported candidate wins (ties: its
   own weight, then source order).
4. Among the winner and the candidates agreeing with it, the most informative one is reported:
   a time with an offset, then an exact instant without one (feed, epoch), then a naive time,
   then a day; ties go to reliability. So a naive ``article:published_time`` that agrees with a
   JSON-LD value carrying ``-05:00`` is stored with that offset.
   (A date line shown under the headline is local time: when the publisher's zone is known, see
   rule 5, it is read in that zone before any comparison.)
5. A naive time that is still the answer is read with the page's own offset when the page
   shows one moment both ways (its modification time "12:10 PM" and "17:10:17Z": -05:00),
   else in the publisher's zone when the page tells it (``timestamps.publisher_zone``: the
   locale's country, the country domain, or a language spoken in one zone: "2023-11-17
   20:52:15" on a ``zh-CN`` page is 12:52:15 UTC, offset +480); otherwise it stays as if UTC,
   with ``offset_min`` null.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsflow.schemas import DATE_SOURCES, Draft
from newsflow.transforms.stage import ApplyStep, Step
from newsflow.transforms.timestamps import (
    DAY,
    ParsedDate,
    find_date_in_text,
    in_zone,
    parse_date_value,
    publisher_zone,
)

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)
AGREEMENT = timedelta(minutes=1)
MAX_OFFSET_MIN = 14 * 60
#: Sources that are text shown to readers, so a time without offset there is local time.
SHOWN_SOURCES = frozenset(("headline_date",))

#: How much a source is trusted on its own (step 3 of the rule). Record-level dates are what
#: the operator's source declared; structured page dates are the publisher's own statement;
#: URL days, free-text dates and htmldate's guesses are weak.
RELIABILITY = {
    "feed": 5, "archive_record": 5, "text_dump_prefix": 5,
    "json_ld": 4, "opengraph": 4, "itemprop": 4,
    "time_element": 3, "meta": 3,
    "json_ld_created": 2, "itemprop_created": 2, "headline_date": 2, "htmldate": 2, "url": 2,
    "text": 1,
}

_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|[-_.]|$)")
_URL_COMPACT_DATE = re.compile(r"/((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?:/|$)")

_TEXT_DATE = re.compile(
    r"^(?:first\s+)?(?:published|posted)(?:\s+on)?\s*:?\s*(?P<rest>.{6,60})$", re.IGNORECASE)


@dataclass(frozen=True)
class DateCandidate:
    source: str  # a DATE_SOURCES name
    date: ParsedDate

    @property
    def weight(self) -> int:
        return RELIABILITY.get(self.source, 1)


@dataclass(frozen=True)
class Publication:
    """The chosen publication date of one draft."""

    published_at: datetime | None = None
    offset_min: int | None = None
    precision: str | None = None
    source: str | None = None
    modified_at: datetime | None = None


def parse_iso_datetime(value, strict: bool = False) -> datetime | None:
    """ISO 8601 text (``Z``, offsets, date-only) or a datetime, as an aware UTC datetime.

    Naive values are taken as UTC. With ``strict`` an unparseable value raises ValueError;
    otherwise it gives None.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            if strict:
                raise ValueError(f"not an ISO 8601 date: {value!r}") from None
            return None
    else:
        if strict:
            raise ValueError(f"not a date: {value!r}")
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def date_from_url(url: str | None) -> datetime | None:
    """A ``/YYYY/MM/DD/``, ``/YYYY-MM-DD`` or ``/YYYYMMDD/`` path segment, as midnight UTC."""
    if not url:
        return None
    path = url.split("?", 1)[0]
    match = _URL_DATE.search(path) or _URL_COMPACT_DATE.search(path)
    if not match:
        return None
    try:
        return datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)), tzinfo=UTC)
    except ValueError:
        return None


def date_from_text(text: str, max_lines: int = 5) -> datetime | None:
    """An explicit "Published: <date>" line near the top of the text, as midnight UTC."""
    for line in text.splitlines()[:max_lines]:
        match = _TEXT_DATE.match(line.strip())
        if not match:
            continue
        parsed = find_date_in_text(match.group("rest"))
        if parsed is not None:
            return parsed.instant.replace(hour=0, minute=0, second=0)
    return None


def is_plausible(candidate: datetime, fetched_at: datetime | None, now: datetime) -> bool:
    latest = (fetched_at or now) + FUTURE_TOLERANCE
    return EARLIEST <= candidate <= latest


def agree(a: ParsedDate, b: ParsedDate) -> bool:
    """Whether two statements can be the same publication (rule step 2)."""
    if a.precision == DAY or b.precision == DAY:
        day, other = (a, b) if a.precision == DAY else (b, a)
        return day.instant.date() in {other.local.date(), other.instant.date()}
    if abs(a.instant - b.instant) <= AGREEMENT:
        return True
    if a.naive or b.naive:
        naive, other = (a, b) if a.naive else (b, a)
        return abs(naive.instant - other.local.replace(tzinfo=UTC)) <= AGREEMENT
    return False


def choose_publication(candidates: list[DateCandidate], fetched_at: datetime | None,
                       now: datetime) -> DateCandidate | None:
    """The publication date by agreement and reliability (see the module docstring)."""
    plausible = [c for c in candidates if is_plausible(c.date.instant, fetched_at, now)]
    if not plausible:
        return None
    agreeing = [[other for other in plausible if agree(candidate.date, other.date)]
                for candidate in plausible]
    best = max(range(len(plausible)), key=lambda i: (
        sum(c.weight for c in agreeing[i]), plausible[i].weight, -i))
    group = agreeing[best]
    return max(group, key=lambda c: (c.date.informative, c.weight, -group.index(c)))


def choose_modified(candidates: list[DateCandidate], fetched_at: datetime | None,
                    now: datetime) -> datetime | None:
    plausible = [c for c in candidates if is_plausible(c.date.instant, fetched_at, now)]
    if not plausible:
        return None
    return max(plausible, key=lambda c: (c.weight, c.date.informative)).date.instant


def _parsed(pairs) -> list[DateCandidate]:
    """Readable ``(source, raw)`` pairs of known sources as candidates."""
    out = []
    for source, raw in pairs:
        if source not in DATE_SOURCES:
            continue
        parsed = parse_date_value(raw)
        if parsed is not None:
            out.append(DateCandidate(source, parsed))
    return out


def date_candidates(draft: Draft) -> list[DateCandidate]:
    """Every source's candidate publication date for one draft."""
    record = draft.record
    candidates: list[DateCandidate] = []
    if record.published_at is not None and record.published_source:
        stated = parse_date_value(record.published_at)
        if stated is not None:
            if record.published_source == "text_dump_prefix" or (
                    stated.instant.time() == datetime.min.time() and stated.offset_min == 0):
                stated = ParsedDate(stated.instant, None, DAY)  # a stored day, not a midnight
            elif stated.offset_min == 0:
                # readers hand over UTC instants: the source's own offset is not known
                stated = ParsedDate(stated.instant, None, stated.precision)
            candidates.append(DateCandidate(record.published_source, stated))
    if draft.page is not None:
        zone = publisher_zone(draft.page.locale, draft.canonical_url or record.url)
        for candidate in _parsed(draft.page.dates):
            if candidate.source in SHOWN_SOURCES and zone is not None:
                # what readers see is local time: read it so before comparing
                candidate = DateCandidate(candidate.source, in_zone(candidate.date, zone))
            candidates.append(candidate)
    url_day = date_from_url(draft.canonical_url) or date_from_url(record.url)
    if url_day is not None:
        candidates.append(DateCandidate("url", ParsedDate(url_day, None, DAY)))
    text_day = date_from_text(draft.text)
    if text_day is not None:
        candidates.append(DateCandidate("text", ParsedDate(text_day, None, DAY)))
    return candidates


def offset_shown_twice(candidates: list[DateCandidate]) -> int | None:
    """The offset that turns a naive time of the page into an aware one stating the same
    moment (whole quarter hours, within a minute), or None."""
    naive = [c.date for c in candidates if c.date.naive]
    aware = [c.date for c in candidates if c.date.offset_min is not None]
    for wall in naive:
        for stated in aware:
            minutes = (wall.instant - stated.instant).total_seconds() / 60
            quarter = round(minutes / 15) * 15
            if abs(minutes - quarter) <= 1 and abs(quarter) <= MAX_OFFSET_MIN:
                return quarter
    return None


def read_naive(date: ParsedDate, draft: Draft, modified: list[DateCandidate]) -> ParsedDate:
    """A naive chosen time with the page's own offset, or its publisher's zone (rule 5)."""
    if not date.naive or draft.page is None:
        return date
    offset = offset_shown_twice(modified)
    if offset is not None:
        return ParsedDate(date.instant - timedelta(minutes=offset), offset, date.precision)
    zone = publisher_zone(draft.page.locale, draft.canonical_url or draft.record.url)
    return in_zone(date, zone) if zone is not None else date


def resolve_publication(draft: Draft, now: datetime) -> Publication:
    """The draft's publication instant, offset, precision and source, and its modified time."""
    fetched_at = draft.record.fetched_at
    chosen = choose_publication(date_candidates(draft), fetched_at, now)
    modified_candidates = _parsed(draft.page.modified) if draft.page is not None else []
    modified = choose_modified(modified_candidates, fetched_at, now)
    if chosen is None:
        return Publication(modified_at=modified)
    date = read_naive(chosen.date, draft, modified_candidates)
    return Publication(published_at=date.instant, offset_min=date.offset_min,
                       precision=date.precision, source=chosen.source, modified_at=modified)


class ResolveDatesStep(Step):
    """Draft -> Draft with ``published_at`` (UTC), its offset, precision and source chosen.

    ``now`` bounds future dates when the fetch time is unknown (default: the clock).
    """

    name = "dates"

    def __init__(self, now: datetime | None = None):
        self._now = now

    def apply(self, draft: Draft) -> Draft:
        publication = resolve_publication(draft, self._now or datetime.now(UTC))
        return draft.replace(published_at=publication.published_at,
                             published_offset_min=publication.offset_min,
                             published_precision=publication.precision,
                             date_source=publication.source,
                             modified_at=publication.modified_at)


class ResolveDates(ApplyStep):
    """Draft -> Draft with ``published_at`` (UTC), its offset, precision and source chosen."""

    def __init__(self, now: datetime | None = None):
        super().__init__(ResolveDatesStep(now))
