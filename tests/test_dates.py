"""Publication dates: parsed with their offset and precision, chosen by agreement."""

from datetime import UTC, datetime, timedelta

import pytest

from newsflow.schemas import Draft, PageFacts, RawRecord
from newsflow.transforms.dates import (
    DateCandidate,
    choose_publication,
    date_from_text,
    date_from_url,
    parse_iso_datetime,
    resolve_publication,
)
from newsflow.transforms.timestamps import ParsedDate, parse_date_value

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


# (value as real pages write it) -> (UTC instant, offset minutes, precision, naive)
@pytest.mark.parametrize("value, instant, offset, precision, naive", [
    ("2023-11-07T02:00:00.000-05:00", datetime(2023, 11, 7, 7, 0), -300, "time", False),
    ("2013-12-30T14:42:01-0700", datetime(2013, 12, 30, 21, 42, 1), -420, "time", False),
    ("20180619T055000+0900", datetime(2018, 6, 18, 20, 50), 540, "time", False),
    ("2021-01-03T17:40:00EET", datetime(2021, 1, 3, 15, 40), 120, "time", False),
    ("2019-11-20 13:42:06+08:00", datetime(2019, 11, 20, 5, 42, 6), 480, "time", False),
    ("2023-11-06T13:00:15.055Z", datetime(2023, 11, 6, 13, 0, 15), 0, "time", False),
    ("2016-06-13T1603Z", datetime(2016, 6, 13, 16, 3), 0, "time", False),
    ("Sat, 09 Nov 2025 16:00:00 +0000", datetime(2025, 11, 9, 16, 0), 0, "time", False),
    ("Nov 7, 2023 2:00 AM EST", datetime(2023, 11, 7, 7, 0), -300, "time", False),
    ("2023-11-02T19:53:52", datetime(2023, 11, 2, 19, 53, 52), None, "time", True),
    ("Saturday, December 27, 2014, 12:06 PM", datetime(2014, 12, 27, 12, 6), None, "time",
     True),
    ("jueves, 09 enero 2014 10:21", datetime(2014, 1, 9, 10, 21), None, "time", True),
    ("2018年6月18日 10:01", datetime(2018, 6, 18, 10, 1), None, "time", True),
    ("Submitted on Mon, 2019-01-21 13:49", datetime(2019, 1, 21, 13, 49), None, "time", True),
    ("1529283660000", datetime(2018, 6, 18, 1, 1), None, "time", False),
    ("2023-11-17", datetime(2023, 11, 17), None, "day", False),
    ("2023-11-17T00:00:00", datetime(2023, 11, 17), None, "day", False),
    ("9 de enero de 2014", datetime(2014, 1, 9), None, "day", False),
])
def test_dates_as_pages_write_them(value, instant, offset, precision, naive):
    assert parse_date_value(value) == ParsedDate(instant.replace(tzinfo=UTC), offset,
                                                 precision, naive)


@pytest.mark.parametrize("value", ["Šodien, 17:40", "Hace 28 minutos", "2023-13-45", "",
                                   "12345"])
def test_unreadable_values_give_none(value):
    assert parse_date_value(value) is None


def test_lower_case_words_are_not_zones():
    # "est" is French for "is": the date stays naive rather than becoming New York time
    assert parse_date_value("9 janvier 2014 10:21 est").offset_min is None


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


def candidate(source: str, value: str) -> DateCandidate:
    return DateCandidate(source, parse_date_value(value))


def test_bounds_reject_future_and_ancient_dates():
    fetched = datetime(2024, 1, 1, tzinfo=UTC)
    chosen = choose_publication([candidate("json_ld", "2030-01-01T10:00:00Z"),
                                 candidate("url", "1980-01-01"),
                                 candidate("text", "2023-12-30")], fetched, NOW)
    assert (chosen.source, chosen.date.instant) == ("text", datetime(2023, 12, 30, tzinfo=UTC))
    assert choose_publication([candidate("url", "1989-12-31")], None, NOW) is None


def test_agreeing_naive_value_takes_the_offset_of_its_twin():
    # fox13: article:published_time is naive UTC, JSON-LD says the same instant at -07:00
    chosen = choose_publication([candidate("opengraph", "2013-12-30T21:42:01"),
                                 candidate("json_ld", "2013-12-30T14:42:01-0700")], None, NOW)
    assert chosen.source == "json_ld" and chosen.date.offset_min == -420
    assert chosen.date.instant == datetime(2013, 12, 30, 21, 42, 1, tzinfo=UTC)


def test_naive_local_wall_clock_agrees_with_its_offset_twin():
    chosen = choose_publication([candidate("opengraph", "November 20, 2019 13:42"),
                                 candidate("json_ld", "2019-11-20 13:42:06+08:00")], None, NOW)
    assert chosen.date.offset_min == 480


def test_agreement_outvotes_a_single_stronger_source():
    # two page sources agree on the 6th; a lone feed date on the 2nd loses
    chosen = choose_publication([candidate("feed", "2023-11-02T10:00:00Z"),
                                 candidate("json_ld", "2023-11-06T13:00:15Z"),
                                 candidate("opengraph", "2023-11-06T13:00:15Z"),
                                 candidate("url", "2023-11-06")], None, NOW)
    assert chosen.date.instant == datetime(2023, 11, 6, 13, 0, 15, tzinfo=UTC)
    # alone against one page source, the record's own date wins
    chosen = choose_publication([candidate("archive_record", "2023-09-16"),
                                 candidate("json_ld", "2023-09-15T08:00:00Z")], None, NOW)
    assert chosen.source == "archive_record"


def test_a_day_agrees_with_the_local_day_of_a_time():
    # New York, 26th 22:20 local = 27th 03:20 UTC; the URL's /26/ agrees and adds nothing
    chosen = choose_publication([candidate("url", "2024-03-26"),
                                 candidate("json_ld", "2024-03-26T22:20:00-04:00")], None, NOW)
    assert chosen.source == "json_ld" and chosen.date.local.day == 26


def page_draft(dates=(), modified=(), url="https://a.test/story", record_date=None,
               record_source=None, locale=None) -> Draft:
    record = RawRecord(url=url, body="", body_kind="html", source_format="warc",
                       source_ref="r", published_at=record_date, published_source=record_source)
    return Draft(record=record, text="Body",
                 page=PageFacts(dates=dates, modified=modified, locale=locale))


def test_day_only_date_is_that_calendar_day():
    publication = resolve_publication(page_draft(dates=(("meta", "2023-11-17"),)), NOW)
    assert publication.published_at == datetime(2023, 11, 17, tzinfo=UTC)
    assert (publication.precision, publication.offset_min, publication.source) == \
        ("day", None, "meta")


def test_publication_keeps_offset_precision_source_and_modified():
    draft = page_draft(dates=(("json_ld", "2023-11-07T02:00:00.000-05:00"),
                              ("opengraph", "2023-11-07T07:00:00.000Z")),
                       modified=(("json_ld", "2023-11-08T02:00:00-05:00"),))
    publication = resolve_publication(draft, NOW)
    assert publication.published_at == datetime(2023, 11, 7, 7, 0, tzinfo=UTC)
    assert (publication.offset_min, publication.precision, publication.source) == \
        (-300, "time", "json_ld")
    assert publication.modified_at == datetime(2023, 11, 8, 7, 0, tzinfo=UTC)


def test_text_dump_prefix_is_a_day():
    record = RawRecord(url=None, body="", body_kind="text", source_format="text_dump",
                       source_ref="r", published_at=datetime(2023, 9, 15, tzinfo=UTC),
                       published_source="text_dump_prefix")
    publication = resolve_publication(Draft(record=record, text="Body"), NOW)
    assert (publication.published_at, publication.precision, publication.source) == \
        (datetime(2023, 9, 15, tzinfo=UTC), "day", "text_dump_prefix")


def test_a_feed_instant_has_no_known_offset():
    publication = resolve_publication(page_draft(
        record_date=datetime(2024, 5, 1, 8, 30, tzinfo=UTC), record_source="feed"), NOW)
    assert (publication.precision, publication.offset_min) == ("time", None)


@pytest.mark.parametrize("locale, url, offset", [
    ("zh-CN", "http://www.news.test/fortune/2023-11/17/c_1.htm", 480),  # Beijing
    (None, "https://www.asahi.jp/articles/1", 540),  # a .jp domain
    ("th", "https://prachatai.test/journal/2019/01/80642", 420),  # Thai is spoken in one zone
    ("de-AT", "https://www.derstandard.test/story/1", 60),  # Vienna in winter
    ("en-US", "https://www.cleveland.test/x", None),  # several zones: no guess
    ("en", "https://www.bbc.co/x", None),  # .co is used far from Colombia
])
def test_a_naive_time_is_read_in_the_publishers_zone(locale, url, offset):
    draft = page_draft(dates=(("headline_date", "2023-11-17 20:52:15"),), url=url,
                       locale=locale)
    publication = resolve_publication(draft, NOW)
    assert publication.offset_min == offset
    wall = datetime(2023, 11, 17, 20, 52, 15, tzinfo=UTC)
    assert publication.published_at == wall - timedelta(minutes=offset or 0)


def test_summer_time_comes_from_the_zone():
    draft = page_draft(dates=(("headline_date", "3. Juli 2024 um 10:15 Uhr"),), locale="de-DE")
    assert resolve_publication(draft, NOW).offset_min == 120


def test_a_moment_shown_both_ways_gives_the_pages_offset():
    # cleveland.com: "12:06 PM" published; modified shown as "12:10 PM" and as 17:10:17Z
    draft = page_draft(dates=(("meta", "Saturday, December 27, 2014, 12:06 PM"),),
                       modified=(("meta", "Saturday, December 27, 2014, 12:10 PM"),
                                 ("time_element", "2014-12-27T17:10:17Z")), locale="en-US")
    publication = resolve_publication(draft, NOW)
    assert (publication.published_at, publication.offset_min) == \
        (datetime(2014, 12, 27, 17, 6, tzinfo=UTC), -300)
