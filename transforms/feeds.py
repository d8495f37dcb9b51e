"""Pure logic of streaming feed ingestion: feed lists, feed parsing, poll scheduling, seen-state.

Nothing here does I/O apart from :func:`load_feed_list` reading its file, and nothing reads a clock:
callers pass response bytes, headers and ``now`` (a timezone-aware UTC datetime), so every
function is deterministic and testable without Beam or a network. The HTTP fetch lives in
``newsflow.transforms.http``; the Beam wiring in ``pipelines``.

Typical poll of one feed (what the streaming pipeline does per timer firing)::

    state = state or initial_poll_state(spec, now)
    if is_due(state, now):
        try:
            result = fetch(spec.url, policy, plan_request(state, spec))   # newsflow.transforms.http
        except FetchError as error:
            outcome = poll_outcome(None, error=error.reason)
        else:
            new, error = [], None
            if result.status == 200 and not is_unchanged(state, result.body):
                parsed = parse_feed(result.body, result.headers, spec.url, now=now,
                                    base_url=result.url)
                new, skipped, seen = filter_and_remember(parsed.entries, seen, now, max_age)
                error = parsed.error
            elif result.status in (200, 304):  # same entries as last time: keep them known
                seen = seen.refresh_latest(now)
            outcome = poll_outcome(result.status, result.headers, result.body,
                                   new_entries=len(new), error=error)
        state = apply_poll_outcome(state, spec, outcome, now)
        # emit `new`; store state and seen.to_bytes(); set a timer for state.next_poll_at
"""

from __future__ import annotations

import calendar
import csv
import hashlib
import io
import json
import os
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from newsflow.schemas.feeds import (
    DEFAULT_MAX_INTERVAL_S,
    DEFAULT_MIN_INTERVAL_S,
    FeedEntry,
    FeedSpec,
    FeedStatus,
    ParsedFeed,
    PollOutcome,
    PollState,
)
from newsflow.transforms.charset import declared_charset, detect_charset, header_charset
from newsflow.transforms.http import parse_retry_after
from newsflow.transforms.urls import canonical_entry_url, normalize_url

# --------------------------------------------------------------------------------------------
# Feed lists
# --------------------------------------------------------------------------------------------

#: Polling a feed more often than this is abusive whatever the list says.
MIN_ALLOWED_INTERVAL_S = 60.0
#: A feed polled less often than weekly is not "streaming" any more: most likely a typo.
MAX_ALLOWED_INTERVAL_S = 7 * 86400.0
#: Request headers the poller manages itself; a feed list may not set them.
_MANAGED_HEADERS = frozenset((
    "host", "content-length", "transfer-encoding", "connection", "if-none-match",
    "if-modified-since", "te", "upgrade", "keep-alive", "proxy-authorization",
))
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hr|hrs|"
                       r"hours?|d|days?)?$", re.IGNORECASE)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_LIST_EXTENSIONS = {".opml": "opml", ".xml": "opml", ".csv": "csv", ".yaml": "yaml",
                    ".yml": "yaml", ".txt": "text", ".list": "text", ".lst": "text"}
_FEED_LIST_FORMATS = ("text", "opml", "csv", "yaml")
#: Keys a CSV column or YAML mapping may use, with their aliases.
_SPEC_KEYS = {
    "url": "url", "xmlurl": "url", "feed": "url", "feed_url": "url",
    "name": "name", "title": "name",
    "min_interval": "min_interval", "min_interval_s": "min_interval", "interval": "min_interval",
    "max_interval": "max_interval", "max_interval_s": "max_interval",
    "language": "language", "language_hint": "language", "lang": "language",
    "topics": "topics", "topic_hints": "topics", "topic": "topics",
    "headers": "headers",
}
_MAX_PROBLEMS_SHOWN = 20


class FeedListError(ValueError):
    """A feed list that cannot be used; the message lists every problem with its line."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = list(problems)
        shown = "\n  ".join(self.problems[:_MAX_PROBLEMS_SHOWN])
        more = len(self.problems) - _MAX_PROBLEMS_SHOWN
        suffix = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"invalid feed list {source}:\n  {shown}{suffix}")


class _Problem(ValueError):
    """One bad entry of a feed list (collected, then raised together as FeedListError)."""


def load_feed_list(path_or_text: str | bytes | os.PathLike, *,
                   format: str | None = None) -> list[FeedSpec]:
    """Feed specs from a URL list, OPML, CSV or YAML file (local path, ``gs://...``) or text.

    A ``str`` naming an existing file, a ``scheme://`` location or a ``*.txt|csv|opml|xml|yaml``
    file is read; any other ``str`` (or ``bytes``) is the list itself. The format comes from
    ``format``, else the file extension, else the content. Duplicates (same
    :func:`normalize_url`) keep the first entry. Raises :class:`FeedListError` naming every bad
    line.
    """
    text, source, extension = _read_feed_list(path_or_text)
    fmt = format or _LIST_EXTENSIONS.get(extension) or _sniff_feed_list_format(text)
    if fmt not in _FEED_LIST_FORMATS:
        raise FeedListError(source, [f"unknown format {fmt!r}; use one of {_FEED_LIST_FORMATS}"])
    reader = {"text": _text_rows, "opml": _opml_rows, "csv": _csv_rows, "yaml": _yaml_rows}[fmt]
    problems: list[str] = []
    specs: list[FeedSpec] = []
    seen_urls: set[str] = set()
    try:
        rows = list(reader(text))
    except _Problem as problem:
        raise FeedListError(source, [str(problem)]) from None
    for line, fields in rows:
        try:
            spec = feed_spec_from_fields(fields)
        except _Problem as problem:
            problems.append(f"line {line}: {problem}")
            continue
        key = normalize_url(spec.url)
        if key not in seen_urls:
            seen_urls.add(key)
            specs.append(spec)
    if problems:
        raise FeedListError(source, problems)
    return specs


def _read_feed_list(path_or_text) -> tuple[str, str, str]:
    """(text, name for messages, lower-case extension or "")."""
    if isinstance(path_or_text, bytes):
        return _decode_list(path_or_text, "<bytes>"), "<bytes>", ""
    if isinstance(path_or_text, os.PathLike):
        path = os.fspath(path_or_text)
    else:
        value = str(path_or_text)
        if not _looks_like_path(value.strip()):
            return value, "<text>", ""
        path = value.strip()
    extension = os.path.splitext(path.split("?")[0])[1].lower()
    try:
        if re.match(r"^[a-z][a-z0-9+.-]*://", path):
            from apache_beam.io.filesystems import FileSystems

            with FileSystems.open(path) as handle:
                data = handle.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except (OSError, ValueError) as error:
        raise FeedListError(path, [f"cannot read: {type(error).__name__}: {error}"]) from None
    return _decode_list(data, path), path, extension


def _looks_like_path(value: str) -> bool:
    """An existing file, a ``scheme://`` location other than http(s), or one word ending in a
    feed list extension; anything else (several lines, a URL, markup) is the list itself."""
    if not value or "\n" in value or value.startswith("<"):
        return False
    if re.match(r"^https?://", value, re.IGNORECASE):
        return False
    if os.path.isfile(value) or re.match(r"^[a-z][a-z0-9+.-]*://", value):
        return True
    return not any(char.isspace() for char in value) \
        and os.path.splitext(value)[1].lower() in _LIST_EXTENSIONS


def _decode_list(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FeedListError(source, [f"not UTF-8 text ({error})"]) from None


def _sniff_feed_list_format(text: str) -> str:
    body = text.lstrip("\ufeff \t\r\n")
    if body.startswith("<"):
        return "opml"
    for line in body.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("- ") or stripped == "-" or re.match(r"^feeds\s*:", stripped):
            return "yaml"
        cells = [cell.strip().strip('"').lower() for cell in stripped.split(",")]
        if len(cells) > 1 and any(_SPEC_KEYS.get(cell) == "url" for cell in cells):
            return "csv"
        return "text"
    return "text"


def _text_rows(text: str):
    """One URL per line; ``#`` starts a comment at line start or after whitespace."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not stripped:
            continue
        if len(stripped.split()) > 1:
            yield number, {"__problem__": f"expected one URL per line, got {stripped[:80]!r}"}
            continue
        yield number, {"url": stripped}


def _csv_rows(text: str):
    """CSV with a header row naming the columns (see ``_SPEC_KEYS``); ``#`` rows are skipped."""
    reader = csv.reader(io.StringIO(text))
    header: list[str] | None = None
    for row in reader:
        line = reader.line_num
        if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip().lower() for cell in row]
            unknown = [cell for cell in header if cell not in _SPEC_KEYS]
            if unknown:
                raise _Problem(f"line {line}: unknown column(s) {unknown}; known: "
                               f"{sorted(set(_SPEC_KEYS))}")
            if "url" not in {_SPEC_KEYS[cell] for cell in header}:
                raise _Problem(f"line {line}: the header row has no url column")
            continue
        if len(row) > len(header):
            yield line, {"__problem__": f"{len(row)} cells but the header has {len(header)}"}
            continue
        yield line, {name: cell for name, cell in zip(header, row, strict=False)
                     if cell.strip()}


def _yaml_rows(text: str):
    """A list of URLs or mappings, or a mapping ``{feeds: [...], defaults: {...}}``."""
    import yaml

    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as error:
        raise _Problem(f"not valid YAML: {error}") from None
    finally:
        loader.dispose()
    if data is None:
        return
    defaults: dict = {}
    items_node = root
    if isinstance(data, dict):
        unknown = set(data) - {"feeds", "defaults"}
        if unknown or "feeds" not in data:
            raise _Problem("a YAML mapping must have a 'feeds' list (and optional 'defaults'), "
                           f"got keys {sorted(map(str, data))}")
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, dict):
            raise _Problem("'defaults' must be a mapping")
        items_node = next(value for key, value in root.value if key.value == "feeds")
        data = data["feeds"]
    if not isinstance(data, list):
        raise _Problem(f"expected a list of feeds, got {type(data).__name__}")
    for node, item in zip(items_node.value, data, strict=True):
        line = node.start_mark.line + 1
        if isinstance(item, str):
            yield line, {**defaults, "url": item}
        elif isinstance(item, dict):
            yield line, {**defaults, **{str(key): value for key, value in item.items()}}
        else:
            yield line, {"__problem__": f"expected a URL or a mapping, got {type(item).__name__}"}


def _opml_rows(text: str):
    """Every ``<outline xmlUrl=...>`` at any depth; enclosing folder titles become topics.

    Parsed with expat directly so entity declarations abort the parse (no expansion, no
    external fetches) and each outline keeps its line number.
    """
    import xml.parsers.expat as expat

    if _declares_entities(text.encode("utf-8", "replace")):
        raise _Problem("unsafe_xml: the OPML document declares entities")
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    rows: list[tuple[int, dict]] = []
    folders: list[str | None] = []
    root_seen: list[str] = []

    def forbid(*_args):
        raise _Problem("unsafe_xml: the OPML document declares entities")

    def start(tag, attributes):
        if not root_seen:
            root_seen.append(tag)
        if tag.lower() != "outline":
            return
        attrs = {key.lower(): value for key, value in attributes.items()}
        title = (attrs.get("text") or attrs.get("title") or "").strip() or None
        xml_url = (attrs.get("xmlurl") or "").strip()
        if xml_url:
            topics = [folder for folder in folders if folder]
            for category in (attrs.get("category") or "").split(","):
                topics.extend(part for part in category.split("/") if part.strip())
            fields = {"url": xml_url, "name": title, "topics": topics,
                      "language": attrs.get("language") or None}
            rows.append((parser.CurrentLineNumber, fields))
            folders.append(None)
        else:
            folders.append(title)

    def end(tag):
        if tag.lower() == "outline" and folders:
            folders.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = forbid
    parser.UnparsedEntityDeclHandler = forbid
    parser.ExternalEntityRefHandler = forbid
    try:
        parser.Parse(text.encode("utf-8"), True)
    except expat.ExpatError as error:
        raise _Problem(f"line {error.lineno}: not well-formed OPML: "
                       f"{expat.ErrorString(error.code)}") from None
    if not root_seen or root_seen[0].lower() != "opml":
        raise _Problem(f"not an OPML document (root element {root_seen[:1]})")
    yield from rows


def feed_spec_from_fields(fields: Mapping) -> FeedSpec:
    """Validate one feed list entry (keys as in ``_SPEC_KEYS``) into a :class:`FeedSpec`."""
    if "__problem__" in fields:
        raise _Problem(fields["__problem__"])
    values: dict = {}
    for key, value in fields.items():
        canonical = _SPEC_KEYS.get(str(key).strip().lower())
        if canonical is None:
            raise _Problem(f"unknown key {key!r}; known: {sorted(set(_SPEC_KEYS))}")
        values[canonical] = value
    url = _validate_feed_url(values.get("url"))
    min_interval = _parse_duration(values.get("min_interval"), "min_interval",
                                   DEFAULT_MIN_INTERVAL_S)
    max_interval = _parse_duration(values.get("max_interval"), "max_interval",
                                   max(DEFAULT_MAX_INTERVAL_S, min_interval))
    if max_interval < min_interval:
        raise _Problem(f"max_interval {max_interval:g}s is below min_interval {min_interval:g}s")
    name = values.get("name")
    if name is not None and not isinstance(name, str):
        raise _Problem(f"name must be text, got {type(name).__name__}")
    return FeedSpec(url=url, min_interval_s=min_interval, max_interval_s=max_interval,
                    headers=_parse_headers(values.get("headers")),
                    language_hint=_parse_language(values.get("language")),
                    topic_hints=_parse_topics(values.get("topics")),
                    name=(name or "").strip() or None)


def _validate_feed_url(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Problem("missing url")
    url = value.strip()
    if any(char.isspace() for char in url) or len(url) > 2048:
        raise _Problem(f"not a valid URL: {url[:100]!r}")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # raises ValueError for a non-numeric port
    except ValueError as error:
        raise _Problem(f"not a valid URL: {url[:100]!r} ({error})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _Problem(f"only http(s) feed URLs are polled, got {url[:100]!r}")
    if not host:
        raise _Problem(f"URL has no host: {url[:100]!r}")
    return url


def _parse_duration(value, field: str, default: float) -> float:
    """Seconds from a number or text like ``300``, ``90s``, ``5m``, ``1h``, ``1d``."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise _Problem(f"{field} must be a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value).strip())
        if not match:
            raise _Problem(f"{field} must be seconds or a duration like 5m, 1h; got {value!r}")
        unit = (match.group(2) or "s")[0].lower()
        seconds = float(match.group(1)) * _DURATION_UNITS[unit]
    if not MIN_ALLOWED_INTERVAL_S <= seconds <= MAX_ALLOWED_INTERVAL_S:
        raise _Problem(f"{field} {seconds:g}s is outside {MIN_ALLOWED_INTERVAL_S:g}s.."
                       f"{MAX_ALLOWED_INTERVAL_S:g}s")
    return seconds


def _parse_language(value) -> str | None:
    if value is None or value == "":
        return None
    language = str(value).strip().lower().replace("_", "-")
    if not _LANGUAGE.match(language):
        raise _Problem(f"language must be a code like en or pt-br, got {value!r}")
    return language


def _parse_topics(value) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        items = re.split(r"[;,|]", value)
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        items = list(value)
    else:
        raise _Problem(f"topics must be text or a list of text, got {value!r}"[:200])
    return _unique(item.strip().lower() for item in items if item.strip())


def _parse_headers(value) -> tuple[tuple[str, str], ...]:
    """Headers from a mapping, ``[[name, value]]``, JSON text or ``Name: value; Name: value``."""
    if value is None or value == "":
        return ()
    pairs: list[tuple[object, object]]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise _Problem(f"headers: invalid JSON ({error})") from None
        else:
            value = [part for part in text.split(";") if part.strip()]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = []
        for item in value:
            if isinstance(item, str):
                name, sep, header_value = item.partition(":")
                if not sep:
                    raise _Problem(f"headers: expected 'Name: value', got {item.strip()!r}")
                pairs.append((name, header_value))
            elif isinstance(item, list | tuple) and len(item) == 2:
                pairs.append((item[0], item[1]))
            else:
                raise _Problem(f"headers: cannot read {item!r}"[:200])
    else:
        raise _Problem(f"headers must be a mapping or text, got {type(value).__name__}")
    result = []
    for name, header_value in pairs:
        if not isinstance(name, str) or not isinstance(header_value, str | int | float):
            raise _Problem(f"headers: bad header {name!r}: {header_value!r}"[:200])
        name, header_value = name.strip(), str(header_value).strip()
        if not _HEADER_NAME.match(name):
            raise _Problem(f"headers: invalid header name {name!r}")
        if any(char in header_value for char in "\r\n\x00"):
            raise _Problem(f"headers: value of {name} contains a line break")
        if name.lower() in _MANAGED_HEADERS:
            raise _Problem(f"headers: {name} is managed by the poller and cannot be set")
        result.append((name, header_value))
    return tuple(result)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# --------------------------------------------------------------------------------------------
# Feed parsing
# --------------------------------------------------------------------------------------------

DEFAULT_MAX_FEED_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 500
#: Dates before this are parser accidents or placeholders (1970-01-01, 0001-01-01).
MIN_FEED_DATE = datetime(1990, 1, 1, tzinfo=UTC)
#: How far ahead of ``now`` a date may be (time-zone mistakes) before it is deemed absurd.
MAX_FUTURE_SKEW = timedelta(days=2)
MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 5000
MAX_TAGS = 50
MAX_KEY_CHARS = 2048

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_EBCDIC_XML = b"\x4c\x6f\xa7\x94"
#: RSS <author> is "email (Name)": keep the name.
_RSS_AUTHOR = re.compile(r"^[^\s@()]+@[^\s@()]+\s*\((.+)\)$")
_BLOCK_TAGS = frozenset("p br div li ul ol h1 h2 h3 h4 h5 h6 tr td th blockquote pre hr "
                        "section article header footer table dd dt".split())


def parse_feed(body: bytes, headers: Mapping[str, str] | None, feed_url: str, *,
               max_entries: int = DEFAULT_MAX_ENTRIES, max_bytes: int = DEFAULT_MAX_FEED_BYTES,
               now: datetime | None = None, base_url: str | None = None) -> ParsedFeed:
    """Entries of one feed response; never raises, failures come back as ``error``.

    ``headers`` are the HTTP response headers (any case). feedparser only ever sees the bytes
    (wrapped in a stream, so it cannot mistake them for a URL or a path) and the headers, with
    ``Content-Location`` made absolute against ``base_url`` (the URL after redirects, e.g.
    ``FetchResult.url``; default ``feed_url``) so relative links resolve. Checks
    before feedparser: size (``too_large``) and entity declarations (``unsafe_xml``: billion
    laughs, external entities). A malformed ("bozo") feed still yields what parsed. ``now``
    enables the far-future date check; without it only pre-1990 dates are dropped.
    """
    if not isinstance(body, bytes | bytearray):
        return _failed("parse_error", f"body must be bytes, got {type(body).__name__}")
    body = bytes(body)
    if len(body) > max_bytes:
        return _failed("too_large", f"{len(body)} bytes is over the {max_bytes}-byte limit")
    if not body.strip():
        return _failed("not_a_feed", "empty body")
    try:
        return _parse_checked(body, headers, feed_url, base_url or feed_url, max_entries, now)
    except Exception as error:  # feedparser has crashed on odd input before: never raise
        return _failed("parse_error", f"{type(error).__name__}: {error}"[:500])


def _parse_checked(body: bytes, headers, feed_url: str, base_url: str, max_entries: int,
                   now: datetime | None) -> ParsedFeed:
    import feedparser

    response_headers = feedparser_headers(body, headers, base_url)
    if _declares_entities(body, response_headers):
        return _failed("unsafe_xml", "the document declares XML entities (DOCTYPE with "
                                     "<!ENTITY>): refused to avoid entity expansion attacks")
    result = feedparser.parse(io.BytesIO(body), response_headers=response_headers,
                              resolve_relative_uris=True, sanitize_html=True)
    bozo = bool(result.get("bozo"))
    bozo_reason = _describe(result.get("bozo_exception")) if bozo else None
    raw_entries = list(result.get("entries") or [])
    feed_info = result.get("feed") or {}
    feed_title = _text_field(feed_info, "title", MAX_TITLE_CHARS)
    if not result.get("version") and not raw_entries:
        return ParsedFeed(entries=(), bozo=bozo, bozo_reason=bozo_reason, feed_title=feed_title,
                          error="not_a_feed",
                          error_detail=f"no RSS/Atom/RDF feed found ({bozo_reason or 'empty'})")
    entries = _build_entries(raw_entries[:max_entries], feed_url, base_url, now)
    return ParsedFeed(entries=entries, bozo=bozo, bozo_reason=bozo_reason, feed_title=feed_title,
                      entries_total=len(raw_entries),
                      entries_dropped=len(raw_entries) - len(entries))


def _failed(reason: str, detail: str) -> ParsedFeed:
    return ParsedFeed(entries=(), bozo=False, bozo_reason=None, feed_title=None, error=reason,
                      error_detail=detail)


def _describe(error) -> str | None:
    if error is None:
        return None
    return f"{type(error).__name__}: {error}"[:300]


def feedparser_headers(body: bytes, headers: Mapping[str, str] | None,
                       base_url: str) -> dict[str, str]:
    """The response headers to hand feedparser: lower-case names, an absolute
    ``content-location`` (relative links resolve against it), a Content-Type, and a detected
    charset when
    neither the headers nor the document declare one and the bytes are not UTF-8 (feedparser
    would otherwise fall back to windows-1252 and produce mojibake: it has no detector here).
    """
    result = {str(name).lower(): str(value) for name, value in (headers or {}).items()
              if value is not None}
    location = result.get("content-location", "").strip()
    try:
        result["content-location"] = urljoin(base_url, location) if location else base_url
    except ValueError:  # an unparsable Content-Location: the feed URL is the next best base
        result["content-location"] = base_url
    # Without a Content-Type feedparser flags every document bozo once any header is given;
    # application/xml without charset means what no header means: trust the document.
    content_type = result.setdefault("content-type", "application/xml")
    if header_charset(content_type) or declared_charset(body) or _utf16_or_32_or_ebcdic(body):
        return result
    try:
        body.decode("utf-8")
        return result
    except UnicodeDecodeError:
        pass
    charset = detect_charset(body)
    result["content-type"] = f"{content_type.split(';')[0].strip()}; charset={charset}"
    return result


def _utf16_or_32_or_ebcdic(body: bytes) -> bool:
    """Encodings feedparser sniffs from the first bytes itself (XML spec appendix F)."""
    return b"\x00" in body[:4] or body.startswith(_EBCDIC_XML)


def _declares_entities(body: bytes, headers: Mapping[str, str] | None = None) -> bool:
    """True when the document has a DOCTYPE and declares an entity anywhere.

    Feeds never need entity declarations, and they are how "billion laughs" (nested internal
    entities) and XXE (``SYSTEM`` entities) work. feedparser strips most of them but its
    regexes miss declarations sharing a line with the DOCTYPE and can re-insert declarations
    found inside comments, so we refuse the document instead. The check runs on the raw bytes,
    on the bytes with NULs removed (UTF-16/32) and on the UTF-8 text feedparser itself would
    parse (any other encoding). A literal ``<!ENTITY`` inside CDATA of a document that also has
    a DOCTYPE is refused too: rare, and safety wins.
    """
    views = [body, body.replace(b"\x00", b"")]
    try:
        from feedparser.encodings import convert_to_utf8

        views.append(convert_to_utf8(dict(headers or {}), body, {}))
    except Exception:  # an internal helper of feedparser: the raw views above still apply
        pass
    return any(_DOCTYPE.search(view) and _ENTITY_DECL.search(view) for view in views)


def _build_entries(raw_entries: list, feed_url: str, base_url: str,
                   now: datetime | None) -> tuple:
    drafts = [_entry_draft(raw, feed_url, base_url, now) for raw in raw_entries]
    # A guid shared by entries with different links is broken (often the channel URL): key
    # those entries by link instead, or they would all count as "seen" after the first.
    links_by_guid: dict[str, set] = {}
    for draft in drafts:
        if draft and draft["guid"]:
            links_by_guid.setdefault(draft["guid"], set()).add(draft["link"])
    entries = []
    for draft in drafts:
        if draft is None:
            continue
        guid = draft["guid"]
        shared = guid is not None and len(links_by_guid.get(guid, ())) > 1
        key = (guid if guid and not shared else None) or draft["link"] or guid \
            or _content_key(draft["title"], draft["summary"])
        if key is None:
            continue
        entries.append(FeedEntry(entry_key=key, **draft))
    return tuple(entries)


def _entry_draft(raw, feed_url: str, base_url: str, now: datetime | None) -> dict | None:
    """FeedEntry fields except entry_key, or None for an entry with nothing to identify it."""
    raw_link = _entry_link(raw, base_url)
    link = None
    if raw_link:
        try:
            link = canonical_entry_url(raw_link)
        except ValueError:
            raw_link = None
    guid = raw.get("id")
    guid = guid.strip()[:MAX_KEY_CHARS] if isinstance(guid, str) and guid.strip() else None
    title = _text_field(raw, "title", MAX_TITLE_CHARS)
    summary = _text_field(raw, "summary", MAX_SUMMARY_CHARS)
    if summary is None and raw.get("content"):
        first = raw["content"][0]
        summary = _plain_text(first.get("value"), first.get("type"), MAX_SUMMARY_CHARS)
    if not (guid or link or title or summary):
        return None
    return {
        "feed_url": feed_url, "link": link, "raw_link": raw_link, "guid": guid, "title": title,
        "summary": summary, "authors": _entry_authors(raw), "tags": _entry_tags(raw),
        "published_at": feed_time(dict.get(raw, "published_parsed"), now),
        "updated_at": feed_time(dict.get(raw, "updated_parsed"), now),
    }


def _entry_link(raw, base_url: str) -> str | None:
    """The article URL: FeedBurner's original link, else ``link``, else an alternate link."""
    candidates = [raw.get("feedburner_origlink"), raw.get("link")]
    for link in raw.get("links") or []:
        if link.get("rel", "alternate") == "alternate":
            candidates.append(link.get("href"))
    for candidate in candidates:
        url = absolute_http_url(candidate, base_url)
        if url:
            return url
    return None


def absolute_http_url(value, base: str) -> str | None:
    """``value`` resolved against ``base`` if the result is an http(s) URL with a host."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_KEY_CHARS:
        return None
    try:
        url = urljoin(base, value.strip())
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        _ = parts.port
    except ValueError:
        return None
    return url


def _entry_authors(raw) -> tuple[str, ...]:
    names = []
    for author in raw.get("authors") or []:
        if isinstance(author, Mapping):
            names.append(author.get("name") or author.get("email"))
    if not names:
        names.append(raw.get("author"))
    cleaned = (_plain_text(name, "text/plain", 200) for name in names)
    return _unique(_RSS_AUTHOR.sub(r"\1", name) for name in cleaned if name)


def _entry_tags(raw) -> tuple[str, ...]:
    tags = set()
    for tag in raw.get("tags") or []:
        if isinstance(tag, Mapping):
            text = _plain_text(tag.get("term") or tag.get("label"), "text/plain", 100)
            if text:
                tags.add(text.lower())
    return tuple(sorted(tags)[:MAX_TAGS])


def _content_key(title: str | None, summary: str | None) -> str | None:
    if not title and not summary:
        return None
    digest = hashlib.sha256(f"{title or ''}\x1f{summary or ''}".encode()).hexdigest()
    return f"hash:{digest[:32]}"


def feed_time(parsed, now: datetime | None = None) -> datetime | None:
    """A feedparser ``*_parsed`` value (UTC struct_time) as an aware UTC datetime, or None
    when it is missing or absurd (before 1990, or more than 2 days after ``now``)."""
    if parsed is None:
        return None
    try:
        moment = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, TypeError, OSError):
        return None
    if moment < MIN_FEED_DATE:
        return None
    if now is not None and moment > _utc(now) + MAX_FUTURE_SKEW:
        return None
    return moment


def _text_field(container, name: str, limit: int) -> str | None:
    detail = container.get(f"{name}_detail") or {}
    return _plain_text(container.get(name), detail.get("type"), limit)


class _TextCollector(HTMLParser):
    """Text content of an HTML fragment; blocks become spaces, script/style are dropped."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _plain_text(value, content_type: str | None, limit: int) -> str | None:
    """Plain text of a feed text construct: markup stripped unless it is declared plain."""
    if not isinstance(value, str):
        return None
    if content_type != "text/plain" and ("<" in value or "&" in value):
        collector = _TextCollector()
        collector.feed(value)
        collector.close()
        value = "".join(collector.parts)
    text = " ".join(value.split())
    return text[:limit] or None


# --------------------------------------------------------------------------------------------
# Poll scheduling
# --------------------------------------------------------------------------------------------

#: Consecutive failures back off exponentially up to this (or the spec's max, if larger).
MAX_FAILURE_BACKOFF_S = 12 * 3600.0
#: A Retry-After is honoured up to this; beyond it the server is assumed misconfigured.
MAX_RETRY_AFTER_S = 24 * 3600.0
#: Delays are stretched by up to this fraction, fixed per feed URL, so feeds configured alike
#: do not all fire in the same second (deterministic: a hash of the URL, no randomness).
JITTER_FRACTION = 0.1
_SUCCESS_STATUSES = (200, 203)
_NOTHING_NEW_STATUSES = (204, 304)
_RATE_LIMIT_STATUSES = (429, 503)


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


def initial_poll_state(spec: FeedSpec, now: datetime | None = None) -> PollState:
    """State of a never-polled feed: first poll spread over one min interval by the jitter, so
    a freshly loaded list of thousands of feeds does not fire at once (due now without
    ``now``)."""
    next_poll_at = None
    if now is not None:
        next_poll_at = _utc(now) + timedelta(seconds=spec.min_interval_s * url_jitter(spec.url))
    return PollState(feed_url=spec.url, interval_s=spec.min_interval_s, next_poll_at=next_poll_at)


def is_due(state: PollState | None, now: datetime) -> bool:
    """Whether the feed may be polled at ``now``."""
    return state is None or state.next_poll_at is None or _utc(now) >= state.next_poll_at


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
    hashed = body_hash(body) if body is not None and status in _SUCCESS_STATUSES else None
    return PollOutcome(status=status, etag=lower.get("etag") or None,
                       last_modified=lower.get("last-modified") or None, body_hash=hashed,
                       new_entries=new_entries, retry_after=lower.get("retry-after") or None,
                       error=error)


def apply_poll_outcome(state: PollState | None, spec: FeedSpec, outcome: PollOutcome,
                       now: datetime) -> PollState:
    """The feed's state after a poll, with its next poll time.

    * 200 with new entries: interval halves (down to ``min_interval_s``).
    * 200 with an unchanged body hash or no new entries, 204 and 304: interval doubles (up to
      ``max_interval_s``); validators are kept or refreshed.
    * 429/503 with a readable Retry-After: wait at least that long (capped at a day), and at
      least the failure backoff.
    * Anything else (other statuses, fetch errors, a 200 that is not a feed): exponential
      backoff on ``consecutive_failures`` from the current interval, capped at
      ``max(max_interval_s, MAX_FAILURE_BACKOFF_S)``; the interval itself is kept so a
      recovered feed resumes its old cadence.

    Every delay is stretched by the feed's fixed jitter (:func:`jittered`).
    """
    now = _utc(now)
    if state is None:
        state = initial_poll_state(spec)
    interval = _clamp(state.interval_s or spec.min_interval_s, spec)
    common = {"last_poll_at": now, "last_status": outcome.status}
    status = outcome.status
    if outcome.error is None and status in _SUCCESS_STATUSES:
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
    elif outcome.error is None and status in _NOTHING_NEW_STATUSES:
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
        if status in _RATE_LIMIT_STATUSES:
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


def _utc(moment: datetime) -> datetime:
    """Aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


# --------------------------------------------------------------------------------------------
# Seen entries
# --------------------------------------------------------------------------------------------

DEFAULT_SEEN_MAX_KEYS = 2000
DEFAULT_SEEN_TTL_S = 30 * 86400.0
_SEEN_VERSION = 1
_SEEN_HEADER = struct.Struct(">BId")
_SEEN_ITEM = struct.Struct(">8sI")


def _digest(key: str) -> bytes:
    """64-bit key digest: collisions are negligible for a few thousand keys per feed."""
    return hashlib.sha256(key.encode("utf-8")).digest()[:8]


@dataclass(frozen=True)
class SeenEntries:
    """Entry keys of one feed seen recently: bounded (``max_keys``) and expiring (``ttl_s``
    after a key was last seen in the feed). Keys are stored as 8-byte digests with a
    whole-second timestamp, 12 bytes each in :meth:`to_bytes`, so it fits Beam state. Pure:
    methods return new instances.
    """

    max_keys: int = DEFAULT_SEEN_MAX_KEYS
    ttl_s: float = DEFAULT_SEEN_TTL_S
    items: tuple[tuple[bytes, int], ...] = ()  # (digest, last seen unix seconds), oldest first

    def __post_init__(self):
        if self.max_keys < 1 or self.ttl_s <= 0:
            raise ValueError("SeenEntries needs max_keys >= 1 and ttl_s > 0")

    def __len__(self) -> int:
        return len(self.items)

    def active(self, now: datetime) -> frozenset[bytes]:
        """Digests not yet expired at ``now``."""
        horizon = _utc(now).timestamp() - self.ttl_s
        return frozenset(digest for digest, seen_at in self.items if seen_at >= horizon)

    def contains(self, key: str, now: datetime) -> bool:
        return _digest(key) in self.active(now)

    def remember(self, keys: Iterable[str], now: datetime) -> SeenEntries:
        """Mark ``keys`` (feed order, newest first) as seen at ``now``; drop expired keys and
        the least recently seen beyond ``max_keys``. The first keys of the feed are kept
        longest."""
        stamp = int(_utc(now).timestamp())
        order = {digest: seen_at for digest, seen_at in self.items}
        for key in reversed(list(keys)):
            digest = _digest(key)
            order.pop(digest, None)
            order[digest] = stamp
        horizon = stamp - self.ttl_s
        kept = [(digest, seen_at) for digest, seen_at in order.items() if seen_at >= horizon]
        kept.sort(key=lambda item: item[1])  # stable: equal stamps keep insertion order
        return SeenEntries(self.max_keys, self.ttl_s, tuple(kept[-self.max_keys:]))

    def expire(self, now: datetime) -> SeenEntries:
        return self.remember((), now)

    def refresh_latest(self, now: datetime) -> SeenEntries:
        """Re-stamp the keys of the last :meth:`remember` call with ``now``.

        For a 304 or a byte-identical body: the feed still holds exactly those entries, so
        their TTL must keep running from now, or a feed quiet for longer than ``ttl_s`` would
        re-emit its whole window on its next change.
        """
        if not self.items:
            return self
        latest = max(seen_at for _digest, seen_at in self.items)
        keys = [digest for digest, seen_at in self.items if seen_at == latest]
        stamp = int(_utc(now).timestamp())
        older = [(digest, seen_at) for digest, seen_at in self.items if seen_at != latest]
        items = tuple(older + [(digest, max(stamp, latest)) for digest in keys])
        return SeenEntries(self.max_keys, self.ttl_s, items).expire(now)

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {"version": _SEEN_VERSION, "max_keys": self.max_keys, "ttl_s": self.ttl_s,
                "keys": [[digest.hex(), seen_at] for digest, seen_at in self.items]}

    @classmethod
    def from_dict(cls, data: Mapping) -> SeenEntries:
        if data.get("version") != _SEEN_VERSION:
            raise ValueError(f"unsupported SeenEntries version {data.get('version')!r}")
        items = tuple((bytes.fromhex(digest), int(seen_at)) for digest, seen_at in data["keys"])
        return cls(int(data["max_keys"]), float(data["ttl_s"]), items)

    def to_bytes(self) -> bytes:
        """Compact form: a 13-byte header then 12 bytes per key."""
        parts = [_SEEN_HEADER.pack(_SEEN_VERSION, self.max_keys, self.ttl_s)]
        parts.extend(_SEEN_ITEM.pack(digest, min(seen_at, 2**32 - 1))
                     for digest, seen_at in self.items)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> SeenEntries:
        if len(data) < _SEEN_HEADER.size or (len(data) - _SEEN_HEADER.size) % _SEEN_ITEM.size:
            raise ValueError("truncated SeenEntries bytes")
        version, max_keys, ttl_s = _SEEN_HEADER.unpack_from(data)
        if version != _SEEN_VERSION:
            raise ValueError(f"unsupported SeenEntries version {version}")
        items = tuple(_SEEN_ITEM.iter_unpack(data[_SEEN_HEADER.size:]))
        return cls(max_keys, ttl_s, items)


def filter_new_entries(entries: Iterable[FeedEntry], seen: SeenEntries, now: datetime,
                       max_age: timedelta | float | None = None,
                       ) -> tuple[list[FeedEntry], list[tuple[FeedEntry, str]]]:
    """Split entries into new ones and ``(entry, reason)`` skips, feed order kept.

    Reasons: ``seen`` (key in ``seen`` or repeated in this batch) and ``too_old``
    (``published_at``, else ``updated_at``, older than ``now - max_age``; undated entries are
    never too old). Does not update ``seen``: use :func:`filter_and_remember`, or remember the
    new and the ``seen`` ones yourself so republished entries stay known.
    """
    now = _utc(now)
    if isinstance(max_age, int | float):
        max_age = timedelta(seconds=max_age)
    oldest = now - max_age if max_age is not None else None
    known = seen.active(now)
    batch: set[bytes] = set()
    new: list[FeedEntry] = []
    skipped: list[tuple[FeedEntry, str]] = []
    for entry in entries:
        digest = _digest(entry.entry_key)
        if digest in known or digest in batch:
            skipped.append((entry, "seen"))
            continue
        dated = entry.published_at or entry.updated_at
        if oldest is not None and dated is not None and dated < oldest:
            skipped.append((entry, "too_old"))
            continue
        batch.add(digest)
        new.append(entry)
    return new, skipped


def filter_and_remember(entries: Iterable[FeedEntry], seen: SeenEntries, now: datetime,
                        max_age: timedelta | float | None = None,
                        ) -> tuple[list[FeedEntry], list[tuple[FeedEntry, str]], SeenEntries]:
    """:func:`filter_new_entries`, then remember every entry still in the feed except the too
    old ones: refreshing the republished keys is what keeps them from expiring and coming
    back as "new"."""
    entries = list(entries)
    new, skipped = filter_new_entries(entries, seen, now, max_age)
    too_old = {id(entry) for entry, reason in skipped if reason == "too_old"}
    keys = [entry.entry_key for entry in entries if id(entry) not in too_old]
    return new, skipped, seen.remember(keys, now)


# --------------------------------------------------------------------------------------------
# Operator snapshot
# --------------------------------------------------------------------------------------------

FAILING_AFTER = 3
QUIET_AFTER = 3


def feed_status(state: PollState) -> FeedStatus:
    """The operator's view of one feed (see ``FeedStatus.health`` for the judgement)."""
    if state.last_poll_at is None:
        health = "never_polled"
    elif state.consecutive_failures >= FAILING_AFTER:
        health = "failing"
    elif state.consecutive_failures:
        health = "degraded"
    elif state.consecutive_unchanged >= QUIET_AFTER:
        health = "quiet"
    else:
        health = "ok"
    return FeedStatus(
        feed_url=state.feed_url, health=health, last_status=state.last_status,
        last_error=state.last_error, last_poll_at=state.last_poll_at,
        last_success_at=state.last_success_at, next_poll_at=state.next_poll_at,
        interval_s=state.interval_s, consecutive_failures=state.consecutive_failures,
        consecutive_unchanged=state.consecutive_unchanged,
        entries_seen_total=state.entries_seen_total,
        conditional_get=bool(state.etag or state.last_modified))


__all__ = [
    "DEFAULT_MAX_ENTRIES", "DEFAULT_MAX_FEED_BYTES", "FeedListError", "ParsedFeed",
    "PollOutcome", "SeenEntries", "absolute_http_url", "apply_poll_outcome", "body_hash",
    "failure_backoff_s", "feed_spec_from_fields", "feed_status", "feed_time",
    "feedparser_headers", "filter_and_remember", "filter_new_entries", "initial_poll_state",
    "is_due", "is_unchanged", "jittered", "load_feed_list", "parse_feed", "parse_retry_after",
    "plan_request", "poll_outcome", "url_jitter",
]
