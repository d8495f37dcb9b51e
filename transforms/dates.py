"""Publication dates: parse candidates from every source, keep the strongest plausible one.

A date is plausible when it is not before 1990 and not after the capture time (or now, when
the capture time is unknown) plus ``FUTURE_TOLERANCE``, which absorbs time-zone slop of
date-only values. Page display dates (a "Monday, July 1, 2024" header, i.e. the day the page
was rendered or crawled) are never candidates: cleaning removes them and only explicit
"Published ..." lines count as text dates.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from newsflow.schemas import DATE_SOURCES, Draft
from newsflow.transforms.stage import ApplyStep, Step

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_TOLERANCE = timedelta(days=1)

_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|[-_.]|$)")
_URL_COMPACT_DATE = re.compile(r"/((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?:/|$)")
_MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH_NAME = r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_TEXT_DATE = re.compile(
    r"^(?:first\s+)?(?:published|posted)(?:\s+on)?\s*:?\s*(?:[A-Z][a-z]+day,?\s+)?"
    r"(?:" + _MONTH_NAME + r"\s+(\d{1,2}),?\s+(\d{4})|(\d{1,2})\s+" + _MONTH_NAME +
    r",?\s+(\d{4})|(\d{4})-(\d{2})-(\d{2}))", re.IGNORECASE)


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
        groups = match.groups()
        try:
            if groups[0]:
                return datetime(int(groups[2]), _MONTHS[groups[0][:3].lower()], int(groups[1]),
                                tzinfo=UTC)
            if groups[3]:
                return datetime(int(groups[5]), _MONTHS[groups[4][:3].lower()], int(groups[3]),
                                tzinfo=UTC)
            return datetime(int(groups[6]), int(groups[7]), int(groups[8]), tzinfo=UTC)
        except (ValueError, KeyError):
            return None
    return None


def is_plausible(candidate: datetime, fetched_at: datetime | None, now: datetime) -> bool:
    latest = (fetched_at or now) + FUTURE_TOLERANCE
    return EARLIEST <= candidate <= latest


def choose_published_at(candidates: dict[str, datetime | None], fetched_at: datetime | None,
                        now: datetime) -> tuple[datetime | None, str | None]:
    """The first plausible candidate in ``DATE_SOURCES`` order, with its source name."""
    for source in DATE_SOURCES:
        candidate = candidates.get(source)
        if candidate is not None and is_plausible(candidate, fetched_at, now):
            return candidate, source
    return None, None


def date_candidates(draft: Draft) -> dict[str, datetime | None]:
    """Every source's candidate publication date for one draft, keyed by DATE_SOURCES name."""
    record = draft.record
    candidates: dict[str, datetime | None] = {
        "page_metadata": draft.page_date,
        "url": date_from_url(draft.canonical_url) or date_from_url(record.url),
        "text": date_from_text(draft.text),
    }
    if record.published_source:
        candidates[record.published_source] = record.published_at
    return candidates


class ResolveDatesStep(Step):
    """Draft -> Draft with ``published_at`` (UTC) and ``date_source`` chosen.

    ``now`` bounds future dates when the fetch time is unknown (default: the clock).
    """

    name = "dates"

    def __init__(self, now: datetime | None = None):
        self._now = now

    def apply(self, draft: Draft) -> Draft:
        now = self._now or datetime.now(UTC)
        published, source = choose_published_at(date_candidates(draft), draft.record.fetched_at,
                                                now)
        return draft.replace(published_at=published, date_source=source)


class ResolveDates(ApplyStep):
    """Draft -> Draft with ``published_at`` (UTC) and ``date_source`` chosen."""

    def __init__(self, now: datetime | None = None):
        super().__init__(ResolveDatesStep(now))
