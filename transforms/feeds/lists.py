"""Feed lists: a text file of URLs, OPML, CSV or YAML → validated :class:`FeedSpec` entries.

A bad line fails the whole list before anything runs, naming every bad line; per-feed
``min_interval``/``max_interval``, ``headers``, ``language`` and ``topics`` are checked here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from newsflow.schemas.feeds import (
    DEFAULT_MAX_INTERVAL_S,
    DEFAULT_MIN_INTERVAL_S,
    FeedSpec,
)
from newsflow.transforms.feeds.parse import declares_entities, unique
from newsflow.transforms.urls import normalize_url

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

    if declares_entities(text.encode("utf-8", "replace")):
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
    return unique(item.strip().lower() for item in items if item.strip())


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

