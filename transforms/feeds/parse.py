"""One feed response → :class:`ParsedFeed`: entries with absolute links, dates, tags, keys.

feedparser only ever sees bytes and response headers; size, entity declarations and encodings
are checked first, and nothing here raises: failures come back as ``ParsedFeed.error``.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import queue
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from newsflow.schemas.feeds import (
    FeedEntry,
    ParsedFeed,
)
from newsflow.transforms.charset import declared_charset, detect_charset, header_charset
from newsflow.transforms.child import ChildFailed, ChildProcess, ChildTimeout
from newsflow.transforms.feeds.schedule import as_utc
from newsflow.transforms.urls import canonical_entry_url

DEFAULT_MAX_FEED_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_ENTRIES = 500
#: Work caps checked on the raw bytes before feedparser runs (it has no time limit of its own
#: and costs ~20-60 µs per element or entity): a feed over either is ``feed_too_complex``.
#: Feeds list their latest 10-500 entries; 100,000 items in 4.3 MB took 57 s in feedparser.
MAX_FEED_ENTRY_TAGS = 5_000
MAX_FEED_MARKUP = 200_000  # ``<`` and ``&`` in the document: tags, entities, escaped HTML
MAX_FEED_DEPTH = 100  # element nesting (CDATA and comments aside); real feeds stay under 30
#: Dates before this are parser accidents or placeholders (1970-01-01, 0001-01-01).
MIN_FEED_DATE = datetime(1990, 1, 1, tzinfo=UTC)
#: How far ahead of ``now`` a date may be (time-zone mistakes) before it is deemed absurd.
MAX_FUTURE_SKEW = timedelta(days=2)
MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 5000
MAX_TAGS = 50
MAX_KEY_CHARS = 2048
#: What the feed parsing child runs, and how long one parse may take there before the feed is
#: ``feed_too_complex`` (the caps above keep real feeds far below it).
FEED_PARSER = "newsflow.transforms.feeds.parse:parse_feed"
PARSE_TIMEOUT_S = 30.0
#: Feed parsing children per worker process: the second takes what the first cannot keep up
#: with in a first round; an idle one costs about 65 MB.
PARSE_CHILDREN = 2

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTRY_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]", re.IGNORECASE)
#: Any tag; only element tags set groups 1 (``/`` of an end tag) and 2 (``/`` of an empty one).
_TAG = re.compile(rb"<!\[CDATA\[.*?\]\]>|<!--.*?-->|<[!?][^>]*>|<(/?)[A-Za-z_][^>]*?(/?)>",
                  re.DOTALL)
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_CHAR_REF = re.compile(rb"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
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
    laughs, external entities), work (``feed_too_complex``: see :func:`complexity_problem`). A
    malformed ("bozo") feed still yields what parsed. ``now``
    enables the far-future date check; without it only pre-1990 dates are dropped.
    """
    if not isinstance(body, bytes | bytearray):
        return _failed("parse_error", f"body must be bytes, got {type(body).__name__}")
    body = bytes(body)
    if len(body) > max_bytes:
        return _failed("too_large", f"{len(body)} bytes is over the {max_bytes}-byte limit")
    if not body.strip():
        return _failed("not_a_feed", "empty body")
    too_complex = complexity_problem(body)
    if too_complex:
        return _failed("feed_too_complex", too_complex)
    try:
        return _parse_checked(body, headers, feed_url, base_url or feed_url, max_entries, now)
    except Exception as error:  # feedparser has crashed on odd input before: never raise
        return _failed("parse_error", f"{type(error).__name__}: {error}"[:500])


class FeedParserProcess:
    """:func:`parse_feed` in child processes (:mod:`newsflow.transforms.child`), for streams.

    A stream's first round parses every entry of every feed (about 25 ms for 60 items): in
    the worker's own process that held its GIL against the runner, polling and everything
    else, and a thousand feeds took two minutes to be polled once. The children parse on
    other cores (one child alone was busy the whole first minute at 1,000 feeds), and bound
    each parse in time. Same arguments and result as :func:`parse_feed`; thread-safe (a call
    takes the first idle child, or waits for one); one per worker process. Children start on
    first use.
    """

    def __init__(self, timeout_s: float = PARSE_TIMEOUT_S, children: int = PARSE_CHILDREN):
        self._idle: queue.SimpleQueue[ChildProcess] = queue.SimpleQueue()
        self._children = [ChildProcess(FEED_PARSER) for _ in range(max(1, children))]
        for child in self._children:
            self._idle.put(child)
        self._timeout_s = timeout_s

    def __call__(self, body: bytes, headers: Mapping[str, str] | None, feed_url: str,
                 **kwargs) -> ParsedFeed:
        child = self._idle.get()
        try:
            return child.call((body, dict(headers or {}), feed_url), kwargs,
                              timeout_s=self._timeout_s)
        except ChildTimeout as error:
            return _failed("feed_too_complex", f"parsing {error}")
        except ChildFailed as error:
            return _failed("parse_error", str(error)[:500])
        finally:
            self._idle.put(child)

    def close(self) -> None:
        for child in self._children:
            child.close()


def _parse_checked(body: bytes, headers, feed_url: str, base_url: str, max_entries: int,
                   now: datetime | None) -> ParsedFeed:
    feedparser = _feedparser()
    response_headers = feedparser_headers(body, headers, base_url)
    if declares_entities(body, response_headers):
        return _failed("unsafe_xml", "the document declares XML entities (DOCTYPE with "
                                     "<!ENTITY>): refused to avoid entity expansion attacks")
    body = without_bad_char_refs(body)
    # Only plain text is kept (``_plain_text`` drops markup, scripts and styles): feedparser's
    # HTML sanitizer and its link rewriting inside embedded markup would be a fifth of the
    # parse thrown away. Entry links are made absolute either way.
    result = feedparser.parse(io.BytesIO(body), response_headers=response_headers,
                              resolve_relative_uris=False, sanitize_html=False)
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


def _feedparser():
    """feedparser, told to use the standard library's SAX driver without first trying
    ``drv_libxml2``: that driver is long gone, and its failed import on every parse takes
    Python's import lock, so the poll threads of a stream queued on it."""
    import feedparser

    feedparser.api.PREFERRED_XML_PARSERS[:] = []
    return feedparser


def complexity_problem(body: bytes) -> str | None:
    """Why parsing ``body`` would take too long (entries, markup or nesting over the caps),
    or None.

    Counting on the bytes costs milliseconds for the largest feed accepted, so a hostile feed
    (100,000 items, 50,000 nested elements) is refused before feedparser spends a minute on it.
    """
    entries = len(_ENTRY_TAG.findall(body))
    if entries > MAX_FEED_ENTRY_TAGS:
        return f"{entries:,} <item>/<entry> elements, over the {MAX_FEED_ENTRY_TAGS:,} limit"
    markup = body.count(b"<") + body.count(b"&")
    if markup > MAX_FEED_MARKUP:
        return f"{markup:,} tags and entity references, over the {MAX_FEED_MARKUP:,} limit"
    depth = 0
    for tag in _TAG.finditer(body):
        end, empty = tag.groups()
        if end is None:  # CDATA, a comment, a declaration
            continue
        depth += -1 if end else 0 if empty else 1
        if depth > MAX_FEED_DEPTH:
            return f"elements nested over {MAX_FEED_DEPTH} deep"
    return None


def _sound_char_ref(match: re.Match) -> bytes:
    hexadecimal, decimal = match.groups()
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    return match.group(0) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF \
        else b"&#xFFFD;"


def without_bad_char_refs(body: bytes) -> bytes:
    """``body`` with character references to no character (a surrogate, zero, beyond
    U+10FFFF) turned into U+FFFD: feedparser's fallback parser raises on them, which would
    cost every entry of the feed."""
    return _CHAR_REF.sub(_sound_char_ref, body) if b"&#" in body else body


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


def declares_entities(body: bytes, headers: Mapping[str, str] | None = None) -> bool:
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
    return unique(_RSS_AUTHOR.sub(r"\1", name) for name in cleaned if name)


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
    if now is not None and moment > as_utc(now) + MAX_FUTURE_SKEW:
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


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """The values in first-seen order, each once."""
    return tuple(dict.fromkeys(values))
