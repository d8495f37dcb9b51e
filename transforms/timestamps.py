"""Dates and times as pages and feeds write them, read with what they say about time zones.

ISO 8601 in its variants (``2023-11-07T02:00:00.000-05:00``, ``20180619T055000+0900``,
``2021-01-03T17:40:00EET``), RFC 2822, epoch seconds or milliseconds, and visible text in
several languages ("November 20, 2019 13:42", "9 de enero de 2014", "2018年6月18日 10:01",
"Mon, 2019-01-21 13:49"). The result keeps the stated UTC offset, whether a time of day was
given (``precision``) and whether the time was *naive* (no offset: taken as UTC).

Imports only the standard library: the extraction child process uses it too.
"""

from __future__ import annotations

import email.utils
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TIME, DAY = "time", "day"
_DATE_LINE_MAX_CHARS = 60
_DATE_LINE_MAX_LETTERS = 12
_INFORMATIVE = {"offset": 3, "instant": 2, "naive": 1, "day": 0}

_MONTH_NAMES = {
    1: "january jan januar janvier janv enero ene gennaio genn gen janeiro jan januari",
    2: "february feb februar février fevrier févr fevr febrero febbraio fevereiro fev februari",
    3: "march mar märz maerz mars marzo março marco maart mrt",
    4: "april apr avril avr abril aprile abr",
    5: "may mai mayo maggio mag maio mei",
    6: "june jun juni juin junio giugno giu junho",
    7: "july jul juli juillet juil julio luglio lug julho",
    8: "august aug août aout agosto ago augustus",
    9: "september sep sept septembre septiembre setiembre settembre set setembro",
    10: "october oct oktober octobre octubre ottobre ott outubro out okt",
    11: "november nov novembre noviembre novembro",
    12: "december dec dezember décembre decembre déc diciembre dic dicembre dezembro dez",
}
MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names.split()}
_MONTH = "(?P<month>" + "|".join(sorted(map(re.escape, MONTHS), key=len, reverse=True)) + r")\.?"

#: Zone abbreviations seen in news pages, in minutes east of UTC. "CST" is the US one.
ZONE_OFFSETS = {
    "UTC": 0, "GMT": 0, "Z": 0, "UT": 0, "WET": 0, "WEST": 60, "BST": 60, "IST": 330,
    "CET": 60, "CEST": 120, "MEZ": 60, "MESZ": 120, "EET": 120, "EEST": 180, "MSK": 180,
    "EST": -300, "EDT": -240, "CST": -360, "CDT": -300, "MST": -420, "MDT": -360,
    "PST": -480, "PDT": -420, "AKST": -540, "AKDT": -480, "HST": -600, "AST": -240,
    "ADT": -180, "NST": -210, "NDT": -150, "JST": 540, "KST": 540, "HKT": 480, "SGT": 480,
    "PHT": 480, "WIB": 420, "ICT": 420, "PKT": 300, "AEST": 600, "AEDT": 660, "ACST": 570,
    "ACDT": 630, "AWST": 480, "NZST": 720, "NZDT": 780, "SAST": 120, "CAT": 120, "EAT": 180,
    "WAT": 60, "ART": -180, "BRT": -180,
}
#: Zone names are matched case-sensitively: "est" is a French word, "EST" a zone.
_ZONE = (r"(?-i:(?P<zone>Z|[+-]\d{2}(?::?\d{2})?|(?:UTC|GMT)\s*[+-]\s*\d{1,2}(?::?\d{2})?|"
         + "|".join(sorted(ZONE_OFFSETS, key=len, reverse=True)) + r")\b)")
_CLOCK = (r"(?P<hour>\d{1,2})[:.h](?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,]\d+)?)?"
          r"(?:\s*(?P<ampm>[ap])\.?\s?m\.?)?(?:\s*(?:uhr|h|hrs|Uhr))?")
_ISO = re.compile(
    r"^(?P<year>\d{4})(?P<sep>[-/.]?)(?P<month>\d{1,2})(?P=sep)(?P<day>\d{1,2})"
    r"(?:(?:T|\s+|,\s*)(?P<hour>\d{1,2}):?(?P<minute>\d{2})(?::?(?P<second>\d{2})(?:[.,]\d+)?)?)?"
    r"\s*" + _ZONE + r"?$", re.IGNORECASE)
_EPOCH = re.compile(r"^(?P<seconds>\d{10})(?P<millis>\d{3})?$")
_WEEKDAY = r"(?:[^\W\d_]+\.?,?\s+)?"
_TEXT_DATE_PATTERNS = [
    # November 20, 2019 13:42 / Saturday, December 27, 2014, 12:06 PM / Nov 7, 2023 2:00 AM EST
    re.compile(_WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<year>\d{4})"
               r"(?:,?\s*(?:at|-|–|—|um|à|a las|alle)?\s*" + _CLOCK + r")?(?:\s*" + _ZONE + ")?",
               re.IGNORECASE),
    # 20 November 2019, 09 enero 2014 10:21, 9 de enero de 2014, 3. März 2024 um 10:15 Uhr
    re.compile(_WEEKDAY + r"(?P<day>\d{1,2})\.?\s+(?:de\s+)?" + _MONTH + r",?\s+(?:de\s+)?"
               r"(?P<year>\d{4})(?:,?\s*(?:at|-|–|—|um|à|a las|alle|kl\.)?\s*" + _CLOCK +
               r")?(?:\s*" + _ZONE + ")?", re.IGNORECASE),
    # 2018年6月18日 10:01 / 2019년 8월 20일
    re.compile(r"(?P<year>\d{4})\s*[年년]\s*(?P<month>\d{1,2})\s*[月월]\s*(?P<day>\d{1,2})\s*[日일]"
               r"(?:[^\d]{0,12}?" + _CLOCK + r")?"),
    # 2023-11-17 20:52:15, 2019.08.20 09:31, 2019/01/21 13:49 (year first, anywhere in a line)
    re.compile(r"(?<!\d)(?P<year>(?:19|20)\d{2})(?P<sep>[-/.])(?P<month>\d{1,2})(?P=sep)"
               r"(?P<day>\d{1,2})(?!\d)(?:[T\s,]+" + _CLOCK + r")?(?:\s*" + _ZONE + ")?"),
    # 09.01.2014 10:21 (day first with dots, as in German-speaking and Slavic countries)
    re.compile(r"(?<!\d)(?P<day>\d{1,2})\.(?P<month>\d{1,2})\.(?P<year>(?:19|20)\d{2})(?!\d)"
               r"(?:,?\s+" + _CLOCK + r")?"),
]

@dataclass(frozen=True)
class ParsedDate:
    """A date as a page stated it: the UTC instant plus what the statement told about zones."""

    instant: datetime  # aware, UTC
    offset_min: int | None  # the stated UTC offset; None when the value carried none
    precision: str  # "time" or "day"
    naive: bool = False  # a wall-clock time without offset (instant assumes UTC)

    @property
    def local(self) -> datetime:
        """The wall-clock time the source meant (naive: the instant's own UTC reading)."""
        if self.offset_min is None:
            return self.instant
        return self.instant + timedelta(minutes=self.offset_min)

    @property
    def informative(self) -> int:
        if self.precision == DAY:
            return _INFORMATIVE["day"]
        if self.offset_min is not None:
            return _INFORMATIVE["offset"]
        return _INFORMATIVE["naive" if self.naive else "instant"]


def _zone_minutes(zone: str | None) -> int | None:
    if not zone:
        return None
    zone = zone.strip().upper()
    if zone in ZONE_OFFSETS:
        return ZONE_OFFSETS[zone]
    match = re.fullmatch(r"(?:UTC|GMT)?\s*([+-])\s*(\d{1,2}):?(\d{2})?", zone)
    if not match:
        return None
    minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
    if minutes > 14 * 60:
        return None
    return -minutes if match.group(1) == "-" else minutes


def _build(year, month, day, hour=None, minute=None, second=None, ampm=None,
           zone=None) -> ParsedDate | None:
    try:
        year, month, day = int(year), int(month), int(day)
        if hour is None:
            return ParsedDate(datetime(year, month, day, tzinfo=UTC), None, DAY)
        hour, minute, second = int(hour), int(minute or 0), int(second or 0)
        if ampm:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if ampm.lower() == "p" else 0)
        wall = datetime(year, month, day, hour, minute, second)
    except (TypeError, ValueError):
        return None
    offset = _zone_minutes(zone)
    if zone and offset is None:
        return None
    if (hour, minute, second) == (0, 0, 0) and not offset:
        # midnight without an offset (or at UTC) is how day-only systems print a day
        return ParsedDate(wall.replace(tzinfo=UTC), None, DAY)
    if offset is None:
        return ParsedDate(wall.replace(tzinfo=UTC), None, TIME, naive=True)
    aware = wall.replace(tzinfo=timezone(timedelta(minutes=offset)))
    return ParsedDate(aware.astimezone(UTC), offset, TIME)


def _from_match(match: re.Match) -> ParsedDate | None:
    groups = match.groupdict()
    month = groups["month"]
    if not month.isdigit():
        month = MONTHS.get(month.lower().rstrip("."))
        if month is None:
            return None
    return _build(groups["year"], month, groups["day"], groups.get("hour"),
                  groups.get("minute"), groups.get("second"), groups.get("ampm"),
                  groups.get("zone"))


def parse_date_value(value) -> ParsedDate | None:
    """A date as pages and feeds write it (ISO 8601 in its variants, RFC 2822, epoch seconds or
    milliseconds, "November 20, 2019 13:42", "9 de enero de 2014", "2018年6月18日 10:01"),
    with its offset and precision; None when it cannot be read unambiguously."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return _build(value.year, value.month, value.day, value.hour, value.minute,
                          value.second)
        offset = int(value.utcoffset().total_seconds() // 60)
        return ParsedDate(value.astimezone(UTC), offset, TIME)
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())[:120]
    if not text:
        return None
    match = _ISO.match(text)
    if match:
        groups = match.groupdict()
        if groups["sep"] == "" and groups["hour"] is None and len(text) != 8:
            return None
        return _build(groups["year"], groups["month"], groups["day"], groups["hour"],
                      groups["minute"], groups["second"], None, groups["zone"])
    match = _EPOCH.match(text)
    if match:
        try:
            moment = datetime.fromtimestamp(int(match.group("seconds")), tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
        return ParsedDate(moment, None, TIME)
    if re.match(r"^[A-Za-z]{3},\s+\d", text):
        parsed = email.utils.parsedate_tz(text)
        if parsed and parsed[9] is not None:
            try:
                moment = datetime(*parsed[:6], tzinfo=timezone(timedelta(seconds=parsed[9])))
            except ValueError:
                return None
            return ParsedDate(moment.astimezone(UTC), parsed[9] // 60, TIME)
    return find_date_in_text(text)


def find_date_in_text(text: str) -> ParsedDate | None:
    """The first date (and time) written in a short piece of visible text."""
    found = find_date_span(text)
    return found[0] if found else None


def find_date_span(text: str) -> tuple[ParsedDate, int, int] | None:
    """The first date written in ``text`` with where it starts and ends."""
    for pattern in _TEXT_DATE_PATTERNS:
        match = pattern.search(text)
        if match:
            parsed = _from_match(match)
            if parsed is not None:
                return parsed, match.start(), match.end()
    return None


def is_date_line(line: str) -> bool:
    """A line that is a date (and time) and little else: "2018年6月18日 10:01",
    "Posted 2024-03-05 10:15"; a page's date furniture, not body text."""
    if len(line) > _DATE_LINE_MAX_CHARS:
        return False
    found = find_date_span(line)
    if found is None:
        return False
    rest = line[:found[1]] + line[found[2]:]
    return sum(ch.isalpha() for ch in rest) <= _DATE_LINE_MAX_LETTERS


@lru_cache(maxsize=1)
def _zone_table() -> dict:
    text = resources.files("newsflow.transforms").joinpath("data/publisher_zones.json")
    return json.loads(text.read_text("utf-8"))


def publisher_zone(locale: str | None, url: str | None) -> ZoneInfo | None:
    """The publisher's time zone when the page tells it: the country of its locale
    ("zh-CN", "de_AT"), else its country domain (.jp, .de), else its language when one zone
    covers it (ja, th, de); None for countries and languages that span several zones."""
    table = _zone_table()
    parts = re.split(r"[-_]", locale.lower()) if locale else []
    language = parts[0] if parts else None
    region = next((p for p in parts[1:] if len(p) == 2 and p.isalpha()), None)
    host = (urlsplit(url).hostname or "") if url else ""
    tld = host.rsplit(".", 1)[-1] if "." in host else None
    if tld in table["generic_cctlds"]:
        tld = None
    name = table["countries"].get(region) if region else None
    if name is None and not region:
        name = table["countries"].get(tld) or table["languages"].get(language)
    if name is None:
        return None
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        return None


def in_zone(date: ParsedDate, zone: ZoneInfo) -> ParsedDate:
    """A naive wall-clock time read in ``zone`` (its offset on that date, summer time
    included)."""
    if not date.naive:
        return date
    local = date.instant.replace(tzinfo=None).replace(tzinfo=zone)
    offset = int(local.utcoffset().total_seconds() // 60)
    return ParsedDate(local.astimezone(UTC), offset, TIME)
