from datetime import UTC, datetime

import pytest

from newsflow.schemas import Draft, RawRecord
from newsflow.transforms.dates import (
    choose_published_at,
    date_candidates,
    date_from_text,
    date_from_url,
    parse_iso_datetime,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value, expected", [
    ("2023-09-15", datetime(2023, 9, 15, tzinfo=UTC)),
    ("2023-09-15T08:30:00+09:00", datetime(2023, 9, 14, 23, 30, tzinfo=UTC)),
    ("2023-09-15T08:30:00Z", datetime(2023, 9, 15, 8, 30, tzinfo=UTC)),
    ("2023-09-15 08:30", datetime(2023, 9, 15, 8, 30, tzinfo=UTC)),
    (None, None), ("", None), ("yesterday", None),
])
def test_parse_iso_datetime(value, expected):
    assert parse_iso_datetime(value) == expected


def test_parse_iso_strict_raises():
    with pytest.raises(ValueError):
        parse_iso_datetime("15/09/2023", strict=True)


@pytest.mark.parametrize("url, expected", [
    ("https://a.test/2023/09/15/kim-visits-plant", datetime(2023, 9, 15, tzinfo=UTC)),
    ("https://a.test/news/2023-09-15-kim.html", datetime(2023, 9, 15, tzinfo=UTC)),
    ("https://a.test/20230915/kim", datetime(2023, 9, 15, tzinfo=UTC)),
    ("https://a.test/2023/13/45/x", None),
    ("https://a.test/story/12345678", None),
    (None, None),
])
def test_date_from_url(url, expected):
    assert date_from_url(url) == expected


def test_text_dates_need_an_explicit_label():
    assert date_from_text("Published: September 15, 2023\nBody") == \
        datetime(2023, 9, 15, tzinfo=UTC)
    assert date_from_text("Posted on 15 Sept 2023\nBody") == datetime(2023, 9, 15, tzinfo=UTC)
    # a page's display/crawl date is not a publication date
    assert date_from_text("Monday, July 1, 2024\nBody") is None


def test_bounds_reject_future_and_ancient_dates():
    fetched = datetime(2024, 1, 1, tzinfo=UTC)
    candidates = {"page_metadata": datetime(2030, 1, 1, tzinfo=UTC),
                  "url": datetime(1980, 1, 1, tzinfo=UTC),
                  "text": datetime(2023, 12, 30, tzinfo=UTC)}
    assert choose_published_at(candidates, fetched, NOW) == (
        datetime(2023, 12, 30, tzinfo=UTC), "text")
    assert choose_published_at({"url": datetime(1989, 12, 31, tzinfo=UTC)}, None, NOW) == \
        (None, None)


def test_precedence_follows_date_sources():
    record = RawRecord(url="https://a.test/2023/09/14/x", body="", body_kind="html",
                       source_format="jsonl", source_ref="r", published_at=datetime(
                           2023, 9, 16, tzinfo=UTC), published_source="archive_record")
    draft = Draft(record=record, text="Body", page_date=datetime(2023, 9, 15, tzinfo=UTC))
    assert choose_published_at(date_candidates(draft), None, NOW) == (
        datetime(2023, 9, 16, tzinfo=UTC), "archive_record")
    no_record_date = Draft(record=record.__class__(**{**record.__dict__, "published_at": None,
                                                      "published_source": None}),
                           text="Body", page_date=datetime(2023, 9, 15, tzinfo=UTC))
    assert choose_published_at(date_candidates(no_record_date), None, NOW) == (
        datetime(2023, 9, 15, tzinfo=UTC), "page_metadata")
