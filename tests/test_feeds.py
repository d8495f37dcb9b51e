"""Pure feed polling logic: feed lists, parsing (incl. hostile XML), scheduling, seen-state."""

from __future__ import annotations

import io
import re
import sys
import time
import tracemalloc
import types
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from newsflow.schemas.feeds import FeedEntry, FeedSpec, PollOutcome, PollState
from newsflow.transforms.feeds import (
    FeedListError,
    FeedParserProcess,
    SeenEntries,
    apply_poll_outcome,
    body_hash,
    failure_backoff_s,
    feed_time,
    filter_and_remember,
    filter_new_entries,
    first_poll_states,
    initial_poll_state,
    is_due,
    is_unchanged,
    jittered,
    load_feed_list,
    parse_feed,
    plan_request,
    poll_outcome,
    url_jitter,
)
from newsflow.transforms.feeds.schedule import (
    FIRST_POLL_WINDOW_S,
    MAX_FAILURE_BACKOFF_S,
    MAX_RETRY_AFTER_S,
    moved_to,
)
from newsflow.transforms.feeds.status import feed_status
from newsflow.transforms.http import RedirectHop, parse_retry_after

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FEED_URL = "https://example.com/feeds/main.xml"
PARSE_ERRORS = {"not_a_feed", "unsafe_xml", "too_large", "parse_error"}


# ------------------------------------------------------------------------------------------
# Feed lists
# ------------------------------------------------------------------------------------------

def test_text_list_comments_blank_lines_and_dedupe():
    specs = load_feed_list(
        "# news feeds\n"
        "\n"
        "https://example.com/feed.xml   # main feed\n"
        "https://www.example.com/feed.xml/?utm_source=x\n"  # same feed once normalized
        "http://other.org/rss#not-a-comment\n"
        "   https://third.net/atom   \n")
    assert [spec.url for spec in specs] == [
        "https://example.com/feed.xml", "http://other.org/rss#not-a-comment",
        "https://third.net/atom"]
    assert all(spec.min_interval_s == 300 and spec.max_interval_s == 6 * 3600 for spec in specs)


def test_text_list_errors_name_every_line():
    with pytest.raises(FeedListError) as caught:
        load_feed_list("https://ok.com/feed\nftp://example.com/feed\n\nnot a url\nhttps:///x\n")
    message = str(caught.value)
    assert "line 2: only http(s)" in message
    assert "line 4: expected one URL per line" in message
    assert "line 5: URL has no host" in message
    assert len(caught.value.problems) == 3


def test_single_url_string_and_path(tmp_path):
    assert [spec.url for spec in load_feed_list("https://example.com/feed.xml")] == \
        ["https://example.com/feed.xml"]
    path = tmp_path / "feeds.txt"
    path.write_text("https://a.com/rss\nhttps://b.com/rss\n", encoding="utf-8")
    assert len(load_feed_list(str(path))) == 2
    assert len(load_feed_list(path)) == 2
    with pytest.raises(FeedListError, match="cannot read"):
        load_feed_list(str(tmp_path / "missing.txt"))


def test_remote_lists_are_read_through_beam_filesystems(monkeypatch):
    """gs:// (or any scheme://) goes through FileSystems.open; a stub avoids importing Beam."""
    opened = []

    class StubFileSystems:
        @staticmethod
        def open(path):
            opened.append(path)
            return io.BytesIO(b"https://a.com/rss\n")

    stub = types.ModuleType("apache_beam.io.filesystems")
    stub.FileSystems = StubFileSystems
    monkeypatch.setitem(sys.modules, "apache_beam.io.filesystems", stub)
    assert [spec.url for spec in load_feed_list("gs://bucket/feeds.txt")] == ["https://a.com/rss"]
    assert opened == ["gs://bucket/feeds.txt"]


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="World">
      <outline text="Europe">
        <outline type="rss" text="Le Monde" xmlUrl="https://www.lemonde.fr/rss/une.xml"
                 language="fr"/>
      </outline>
      <outline type="rss" title="BBC World" xmlurl="http://feeds.bbci.co.uk/news/world/rss.xml"
               category="/news/world,politics"/>
    </outline>
    <outline type="rss" text="Top" xmlUrl="https://example.com/top.xml"/>
    <outline text="Empty folder"/>
    <outline type="rss" text="Dup" xmlUrl="https://example.com/top.xml/"/>
  </body>
</opml>
"""


def test_opml_nested_outlines(tmp_path):
    specs = load_feed_list(OPML)
    assert [spec.url for spec in specs] == [
        "https://www.lemonde.fr/rss/une.xml", "http://feeds.bbci.co.uk/news/world/rss.xml",
        "https://example.com/top.xml"]
    monde, bbc, top = specs
    assert monde.name == "Le Monde" and monde.language_hint == "fr"
    assert monde.topic_hints == ("world", "europe")
    assert bbc.name == "BBC World" and bbc.topic_hints == ("world", "news", "politics")
    assert top.topic_hints == ()
    path = tmp_path / "subs.opml"
    path.write_text(OPML, encoding="utf-8")
    assert load_feed_list(path) == specs


def test_opml_errors():
    with pytest.raises(FeedListError, match=r"line 3: not well-formed OPML"):
        load_feed_list('<opml version="2.0">\n<body>\n<outline xmlUrl="x"></body></opml>')
    with pytest.raises(FeedListError, match="not an OPML document"):
        load_feed_list("<rss><channel/></rss>", format="opml")
    with pytest.raises(FeedListError, match=r"line \d+: only http\(s\)"):
        load_feed_list('<opml><body>\n<outline xmlUrl="file:///etc/passwd"/></body></opml>')


def test_opml_with_entities_is_refused_without_expansion():
    bomb = ('<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>\n'
            '<opml><body><outline text="&b;" xmlUrl="https://x.com/f"/></body></opml>')
    with pytest.raises(FeedListError, match="unsafe_xml"):
        load_feed_list(bomb)
    xxe = ('<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<opml><body><outline text="&x;" xmlUrl="https://x.com/f"/></body></opml>')
    with pytest.raises(FeedListError, match="unsafe_xml"):
        load_feed_list(xxe)


CSV = """url,name,min_interval,max_interval,language,topics,headers
# a comment row
https://example.com/feed,Example,5m,2h,EN_us,Politics; World,"{""Authorization"": ""Bearer t""}"
https://example.org/rss,,120,,de,tech|science,User-Agent: newsflow; X-Token: abc
https://example.net/atom,,,,,,
"""


def test_csv_list():
    specs = load_feed_list(CSV)
    assert specs[0] == FeedSpec(
        url="https://example.com/feed", min_interval_s=300, max_interval_s=7200,
        headers=(("Authorization", "Bearer t"),), language_hint="en-us",
        topic_hints=("politics", "world"), name="Example")
    assert specs[1].min_interval_s == 120 and specs[1].max_interval_s == 6 * 3600
    assert specs[1].headers == (("User-Agent", "newsflow"), ("X-Token", "abc"))
    assert specs[1].topic_hints == ("tech", "science")
    assert specs[2] == FeedSpec(url="https://example.net/atom")


def test_csv_errors_with_line_numbers():
    with pytest.raises(FeedListError, match=r"line 1: unknown column\(s\) \['min_intervall'\]"):
        load_feed_list("url,min_intervall\nhttps://a.com/f,5m\n")
    with pytest.raises(FeedListError) as caught:
        load_feed_list("url,min_interval,language,headers\n"
                       "https://a.com/f,5 fortnights,,\n"
                       "https://b.com/f,10s,,\n"
                       "https://c.com/f,,english!,\n"
                       "https://d.com/f,,,Host: evil.com\n"
                       'https://e.com/f,,,"{""X-A"": ""a\\r\\nX-B: b""}"\n')
    problems = caught.value.problems
    assert problems[0].startswith("line 2: min_interval must be seconds or a duration")
    assert problems[1].startswith("line 3: min_interval 10s is outside")
    assert problems[2].startswith("line 4: language must be a code")
    assert problems[3].startswith("line 5: headers: Host is managed by the poller")
    assert problems[4].startswith("line 6: headers: value of X-A contains a line break")


def test_yaml_lists():
    specs = load_feed_list(
        "- https://a.com/feed\n"
        "- url: https://b.com/rss\n"
        "  name: B\n"
        "  min_interval: 1h\n"
        "  max_interval: 1d\n"
        "  topics: [Economy, economy, markets]\n"
        "  headers: {Accept-Language: de}\n")
    assert specs[0] == FeedSpec(url="https://a.com/feed")
    assert specs[1] == FeedSpec(url="https://b.com/rss", min_interval_s=3600,
                                max_interval_s=86400, headers=(("Accept-Language", "de"),),
                                topic_hints=("economy", "markets"), name="B")
    wrapped = load_feed_list(
        "feeds:\n"
        "  - https://a.com/feed\n"
        "  - {url: https://b.com/rss, language: pt-BR}\n"
        "defaults:\n"
        "  min_interval: 600\n", format="yaml")
    assert [spec.min_interval_s for spec in wrapped] == [600, 600]
    assert wrapped[1].language_hint == "pt-br"


def test_yaml_errors_with_line_numbers(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("- https://a.com/feed\n"
                    "- url: https://b.com/rss\n"
                    "  min_interval: 1h\n"
                    "  max_interval: 10m\n"
                    "- [nested, list]\n"
                    "- url: https://c.com/rss\n"
                    "  color: blue\n", encoding="utf-8")
    with pytest.raises(FeedListError) as caught:
        load_feed_list(path)
    assert caught.value.problems == [
        "line 2: max_interval 600s is below min_interval 3600s",
        "line 5: expected a URL or a mapping, got list",
        "line 6: unknown key 'color'; known: " + caught.value.problems[2].split("known: ")[1],
    ]
    with pytest.raises(FeedListError, match="not valid YAML"):
        load_feed_list("- url: [unclosed\n", format="yaml")
    with pytest.raises(FeedListError, match="must have a 'feeds' list"):
        load_feed_list("sources: []\n", format="yaml")


# ------------------------------------------------------------------------------------------
# parse_feed on the shared samples
# ------------------------------------------------------------------------------------------

def _sample_headers(raw: bytes) -> dict[str, str]:
    """The ``Header: Name: value`` lines of a sample's leading comment."""
    headers = {}
    for match in re.finditer(rb"^\s*Header:\s*([^:\r\n]+):\s*(.*?)\s*$", raw, re.MULTILINE):
        headers[match.group(1).decode("ascii").strip()] = match.group(2).decode("ascii")
    return headers


def _parse_sample(path):
    raw = path.read_bytes()
    headers = _sample_headers(raw) if "http" in path.name else {}
    return raw, parse_feed(raw, headers, "http://example.org/feeds/sample.xml", now=NOW)


def test_every_sample_feed_parses_or_fails_cleanly(samples_dir):
    files = sorted(path for path in (samples_dir / "feeds").rglob("*") if path.is_file())
    assert len(files) >= 250
    outcomes = {"entries": 0, "empty": 0, "error": 0}
    for path in files:
        _raw, parsed = _parse_sample(path)
        if parsed.error is not None:
            assert parsed.error in PARSE_ERRORS, path
            assert parsed.error_detail and not parsed.entries, path
            outcomes["error"] += 1
            continue
        outcomes["entries" if parsed.entries else "empty"] += 1
        for entry in parsed.entries:
            assert isinstance(entry, FeedEntry) and entry.entry_key, path
            assert entry.feed_url == "http://example.org/feeds/sample.xml"
            for moment in (entry.published_at, entry.updated_at):
                assert moment is None or moment.tzinfo is UTC, path
            assert entry.tags == tuple(sorted(set(entry.tags)))
            assert all(tag == tag.strip().lower() for tag in entry.tags)
            if entry.link is not None:
                assert entry.link.startswith(("http://", "https://")), path
    # Most samples test feed-level elements and have no entries; none may crash the parse.
    assert outcomes["entries"] >= 50 and outcomes["error"] <= 5, outcomes


CHARDET_CODECS = {"Big5": "big5", "EUC-JP": "euc_jp", "EUC-KR": "euc_kr", "GB2312": "gb18030",
                  "KOI8-R": "koi8_r", "SHIFT_JIS": "shift_jis", "TIS-620": "tis_620",
                  "windows-1255": "cp1255"}


def test_undeclared_encodings_are_detected(samples_dir):
    """The chardet cases: text must decode as the Expect: line's encoding says."""
    files = sorted((samples_dir / "feeds" / "illformed" / "chardet").glob("*.xml"))
    assert len(files) == 8
    for path in files:
        raw, parsed = _parse_sample(path)
        expected = re.search(rb"encoding == '([^']+)'", raw).group(1).decode()
        text = raw.decode(CHARDET_CODECS[expected])
        first = re.search(r"<(title|description)>\s*(.+?)\s*</\1>", text, re.DOTALL).group(2)
        probe = "".join(first.split())[:12]
        parsed_text = "".join(
            "".join((value or "").split()) for value in
            [parsed.feed_title] + [f for e in parsed.entries for f in (e.title, e.summary)])
        assert probe in parsed_text, (path.name, probe, parsed_text[:60])


@pytest.mark.parametrize(("name", "field", "expected"), [
    ("encoding/http_i18n.xml", "feed_title", "Iñtërnâtiônàlizætiøn"),
    ("encoding/euc-kr.xml", "feed_title", "\ub144"),
    ("encoding/euc-kr-item.xml", "summary", "\ub144"),
    ("encoding/demoronize-1.xml", "summary", "don\u2019t"),
    ("encoding/http_text_xml_charset_2.xml", "summary", "This is a \xa3\u201ctest.\u201d"),
    ("encoding/double-encoded-html.xml", "summary", "\u2026"),
    ("illformed/always_strip_doctype.xml", "feed_title", "found"),
    ("illformed/rss_item_link_corrupted_ampersands.xml", "raw_link",
     "http://link/get?a=1&b=2"),
    ("wellformed/rss/channel_title_apos.xml", "feed_title", "Mark's title"),
    ("wellformed/atom10/entry_title_text_plain_brackets.xml", "title",
     "History of the <blink> tag"),
    ("wellformed/atom/entry_title_inline_markup.xml", "title", "Example Atom"),
])
def test_sample_expectations(samples_dir, name, field, expected):
    _raw, parsed = _parse_sample(samples_dir / "feeds" / name)
    assert parsed.error is None
    value = parsed.feed_title if field == "feed_title" else getattr(parsed.entries[0], field)
    assert value == expected


def test_utf16_and_utf32_samples_parse(samples_dir):
    files = sorted((samples_dir / "feeds" / "encoding").glob("utf*"))
    assert len(files) >= 12
    for path in files:
        _raw, parsed = _parse_sample(path)
        assert parsed.error is None and not parsed.bozo, path.name


def test_bozo_feeds_still_yield_entries(samples_dir):
    for name in ("illformed/rss_item_link_corrupted_ampersands.xml",
                 "illformed/rdf_channel_empty_textinput.xml",
                 "encoding/bozo_double-encoded-html.xml"):
        _raw, parsed = _parse_sample(samples_dir / "feeds" / name)
        assert parsed.bozo and parsed.bozo_reason and parsed.error is None, name
        assert parsed.entries, name


def test_empty_document_sample_is_not_a_feed(samples_dir):
    _raw, parsed = _parse_sample(samples_dir / "feeds" / "illformed" / "rss_empty_document.xml")
    assert parsed.error == "not_a_feed"


def test_guid_and_link_kept_apart(samples_dir):
    path = (samples_dir / "feeds" / "wellformed" / "rss"
            / "item_guid_isPermaLink_conflict_link_not_guidislink.xml")
    _raw, parsed = _parse_sample(path)
    entry = parsed.entries[0]
    assert entry.guid == "http://guid.example.com/" and entry.entry_key == entry.guid
    assert entry.raw_link == "http://link.example.com/"


# ------------------------------------------------------------------------------------------
# parse_feed on constructed feeds
# ------------------------------------------------------------------------------------------

def _rss(items: str, head: str = '<?xml version="1.0" encoding="utf-8"?>') -> bytes:
    return (f'{head}\n<rss version="2.0"><channel><title>Test feed</title>'
            f"{items}</channel></rss>").encode()


def _item(n: int, **extra) -> str:
    parts = [f"<title>Story {n}</title>", f"<link>https://example.com/news/{n}</link>"]
    parts += [f"<{tag}>{value}</{tag}>" for tag, value in extra.items()]
    return f"<item>{''.join(parts)}</item>"


BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
               for i in range(1, 10))
    + b']>\n<rss version="2.0"><channel><title>&lol9;</title>'
      b"<item><title>&lol9;</title><link>https://x.com/1</link></item></channel></rss>")


@pytest.mark.parametrize("document", [
    BILLION_LAUGHS,
    BILLION_LAUGHS.replace(b"\n", b""),  # declarations sharing the DOCTYPE's line
    BILLION_LAUGHS.decode().encode("utf-16"),
    BILLION_LAUGHS.replace(b'<?xml version="1.0"?>',
                           b'<?xml version="1.0" encoding="utf-32-be"?>').decode()
    .encode("utf-32-be"),
    # a comment with "<x" ends feedparser's prolog scan early; the entity must still be seen
    BILLION_LAUGHS.replace(b"<!DOCTYPE lolz [", b"<!DOCTYPE lolz [ <!-- <x -->"),
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b'<rss version="2.0"><channel><title>&xxe;</title></channel></rss>',
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/x.dtd"> %ext;]>'
    b'<rss version="2.0"><channel><title>x</title></channel></rss>',
    b'<?xml version="1.0"?><!doctype r [<!entity a "b">]><rss version="2.0"></rss>',
], ids=["classic", "one-line", "utf-16", "utf-32", "comment-trick", "xxe", "param-entity",
        "lower-case"])
def test_entity_declarations_are_refused_quickly(document):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        parsed = parse_feed(document, {}, FEED_URL)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert parsed.error == "unsafe_xml" and not parsed.entries
    assert elapsed < 0.5 and peak < 5_000_000


def test_doctype_without_entities_is_fine():
    body = _rss(_item(1), head='<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape '
                               'Communications//DTD RSS 0.91//EN" "http://127.0.0.1:9/rss.dtd">')
    parsed = parse_feed(body, {}, FEED_URL)
    assert parsed.error is None and [e.title for e in parsed.entries] == ["Story 1"]


def test_oversize_feed_is_too_large():
    body = _rss("".join(_item(n) for n in range(2000)))
    parsed = parse_feed(body, {}, FEED_URL, max_bytes=len(body) - 1)
    assert parsed.error == "too_large" and str(len(body)) in parsed.error_detail
    assert parse_feed(body, {}, FEED_URL, max_bytes=len(body)).error is None


@pytest.mark.parametrize("body", [
    b"", b"   \n", b"<!doctype html><html><head><title>Hi</title></head><body>x</body></html>",
    b"just some text", b"\x00\xff\xfe garbage \x81",
])
def test_not_a_feed(body):
    parsed = parse_feed(body, {"content-type": "text/html"}, FEED_URL)
    assert parsed.error == "not_a_feed" and parsed.error_detail


def test_feedparser_never_opens_paths_or_urls(tmp_path):
    """feedparser.parse treats a bytes/str argument as a path or URL; we must never let it."""
    secret = tmp_path / "secret.xml"
    secret.write_bytes(_rss(_item(1)))
    assert parse_feed(str(secret).encode(), {}, FEED_URL).error == "not_a_feed"
    assert parse_feed(b"http://127.0.0.1:9/feed.xml", {}, FEED_URL).error == "not_a_feed"
    assert parse_feed("not bytes", {}, FEED_URL).error == "parse_error"


def test_relative_links_resolve_against_feed_url_and_content_location():
    body = _rss('<item><title>A</title><link>/news/1</link></item>'
                '<item><title>B</title><link>news/2?utm_source=rss</link></item>'
                '<item><title>C</title><link>javascript:alert(1)</link></item>')
    parsed = parse_feed(body, {}, FEED_URL)
    assert [e.raw_link for e in parsed.entries] == [
        "https://example.com/news/1", "https://example.com/feeds/news/2?utm_source=rss", None]
    assert [e.link for e in parsed.entries] == [
        "https://example.com/news/1", "https://example.com/feeds/news/2", None]
    assert parsed.entries[2].entry_key.startswith("hash:")
    moved = parse_feed(body, {"Content-Location": "/elsewhere/feed.xml"}, FEED_URL)
    assert moved.entries[1].raw_link == "https://example.com/elsewhere/news/2?utm_source=rss"
    redirected = parse_feed(body, {}, FEED_URL, base_url="https://cdn.example.net/f/rss")
    assert redirected.entries[1].raw_link == "https://cdn.example.net/f/news/2?utm_source=rss"
    assert redirected.entries[1].feed_url == FEED_URL
    atom = (b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://base.example/d/">'
            b"<title>x</title><entry><id>tag:x,2024:1</id><title>t</title>"
            b'<link href="a/b.html"/></entry></feed>')
    assert parse_feed(atom, {}, FEED_URL).entries[0].raw_link == "https://base.example/d/a/b.html"


def test_entry_fields():
    body = _rss(
        "<item><title>A &amp; B &lt;i&gt;now&lt;/i&gt;</title>"
        "<link>https://m.example.com/news/1/amp?utm_medium=rss</link>"
        '<guid isPermaLink="false"> id-1 </guid>'
        "<description>&lt;p&gt;First&lt;/p&gt;&lt;p&gt;second &amp;amp; third&lt;/p&gt;"
        "</description>"
        "<pubDate>Tue, 30 Apr 2024 10:00:00 +0200</pubDate>"
        "<category> Politics </category><category>politics</category><category>World"
        "</category><author>jane@example.com (Jane Doe)</author>"
        '<dc:creator xmlns:dc="http://purl.org/dc/elements/1.1/">John Roe</dc:creator>'
        "</item>")
    (entry,) = parse_feed(body, {"content-type": "application/rss+xml"}, FEED_URL).entries
    assert entry.title == "A & B now"
    assert entry.summary == "First second & third"
    assert entry.link == "https://example.com/news/1"
    assert entry.raw_link == "https://m.example.com/news/1/amp?utm_medium=rss"
    assert entry.guid == "id-1" and entry.entry_key == "id-1"
    assert entry.tags == ("politics", "world")
    assert entry.authors == ("Jane Doe", "John Roe")
    assert entry.published_at == datetime(2024, 4, 30, 8, 0, tzinfo=UTC)


def test_markup_in_entries_becomes_text_without_scripts_or_styles(monkeypatch):
    body = _rss(
        "<item><title>T</title><link>https://example.com/1</link><description>"
        "&lt;p&gt;Lead &lt;a href=\"/x\"&gt;link&lt;/a&gt;&lt;/p&gt;"
        "&lt;script&gt;alert(1)&lt;/script&gt;&lt;style&gt;p {color: red}&lt;/style&gt;"
        "&lt;iframe src=\"https://ads.example\"&gt;&lt;/iframe&gt;end</description></item>"
        '<item><title>U</title><link>https://example.com/2</link>'
        '<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        "<![CDATA[<div onclick='x()'>Body<script>steal()</script> text</div>]]>"
        "</content:encoded></item>")
    imported = []
    real_import = __import__
    monkeypatch.setattr("builtins.__import__", lambda name, *args, **kwargs: (
        imported.append(name), real_import(name, *args, **kwargs))[1])
    first, second = parse_feed(body, {}, FEED_URL).entries
    assert first.summary == "Lead link end"
    assert second.summary == "Body text"
    # feedparser no longer tries the long-gone drv_libxml2 driver first on every parse
    assert "xml.sax.expatreader" in imported and "drv_libxml2" not in imported


def test_absurd_dates_are_dropped():
    body = _rss(_item(1, pubDate="Tue, 30 Apr 2030 10:00:00 GMT")
                + _item(2, pubDate="Thu, 01 Jan 1970 00:00:00 GMT")
                + _item(3, pubDate="Wed, 01 May 2024 23:00:00 GMT")
                + _item(4, pubDate="not a date"))
    dates = [e.published_at for e in parse_feed(body, {}, FEED_URL, now=NOW).entries]
    assert dates == [None, None, datetime(2024, 5, 1, 23, 0, tzinfo=UTC), None]
    # without an injected clock only the lower bound applies
    assert parse_feed(body, {}, FEED_URL).entries[0].published_at.year == 2030
    assert feed_time(time.gmtime(0)) is None
    assert feed_time(None) is None


def test_entry_keys_guid_link_hash_and_shared_guids():
    body = _rss('<item><guid isPermaLink="false">g1</guid><link>https://example.com/a</link>'
                "</item>"
                "<item><link>https://www.example.com/b/?utm_source=x</link></item>"
                "<item><title>Only a title</title></item>"
                "<item><category>nothing to identify</category></item>")
    parsed = parse_feed(body, {}, FEED_URL)
    assert [e.entry_key for e in parsed.entries][:2] == ["g1", "https://example.com/b"]
    assert parsed.entries[2].entry_key.startswith("hash:")
    assert parsed.entries_total == 4 and parsed.entries_dropped == 1
    shared = _rss("".join(f'<item><guid isPermaLink="false">https://example.com/</guid>'
                          f"<link>https://example.com/{n}</link></item>" for n in range(3)))
    keys = [e.entry_key for e in parse_feed(shared, {}, FEED_URL).entries]
    assert keys == [f"https://example.com/{n}" for n in range(3)]


def test_feedburner_original_link_preferred():
    body = _rss('<item xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0">'
                "<title>t</title><link>http://feeds.feedburner.com/~r/x/~3/abc/story</link>"
                "<feedburner:origLink>https://example.com/story</feedburner:origLink></item>")
    assert parse_feed(body, {}, FEED_URL).entries[0].raw_link == "https://example.com/story"


def test_max_entries():
    body = _rss("".join(_item(n) for n in range(30)))
    parsed = parse_feed(body, {}, FEED_URL, max_entries=10)
    assert len(parsed.entries) == 10 and parsed.entries_total == 30
    assert parsed.entries_dropped == 20


def test_charset_from_http_header_wins_and_detection_fills_gaps():
    text = "<item><title>Привет, мир: новости дня и погода в Москве</title></item>"
    body = _rss(text, head="").replace(b'<?xml version="1.0" encoding="utf-8"?>', b"")
    cp1251 = body.decode().encode("cp1251")
    assert parse_feed(cp1251, {"content-type": "application/rss+xml; charset=windows-1251"},
                      FEED_URL).entries[0].title.startswith("Привет")
    assert parse_feed(cp1251, {}, FEED_URL).entries[0].title.startswith("Привет")


# ------------------------------------------------------------------------------------------
# Scheduling
# ------------------------------------------------------------------------------------------

SPEC = FeedSpec(url=FEED_URL, min_interval_s=300, max_interval_s=4800)
JITTER = 1 + 0.1 * url_jitter(FEED_URL)


def _state(**changes) -> PollState:
    return PollState(feed_url=FEED_URL, interval_s=1200, **changes)


def _delay(state: PollState, now: datetime = NOW) -> float:
    return (state.next_poll_at - now).total_seconds()


def test_plan_request_conditional_headers():
    spec = FeedSpec(url=FEED_URL, headers=(("User-Agent", "newsflow"),))
    assert plan_request(None, spec) == {"User-Agent": "newsflow"}
    state = _state(etag='W/"abc"', last_modified="Tue, 30 Apr 2024 10:00:00 GMT")
    assert plan_request(state, spec) == {
        "User-Agent": "newsflow", "If-None-Match": 'W/"abc"',
        "If-Modified-Since": "Tue, 30 Apr 2024 10:00:00 GMT"}


def test_initial_state_spreads_first_polls():
    state = initial_poll_state(SPEC, NOW)
    assert state.interval_s == 300 and not is_due(state, NOW)
    assert 0 < _delay(state) < 60
    assert initial_poll_state(SPEC, NOW) == state
    other = initial_poll_state(FeedSpec(url="https://other.org/rss"), NOW)
    assert other.next_poll_at != state.next_poll_at
    assert is_due(initial_poll_state(SPEC), NOW)
    assert is_due(state, state.next_poll_at) and is_due(None, NOW)


def test_every_feed_is_due_within_the_first_minute_spread_over_it():
    """1,000 feeds on 50 hosts polled every 5 minutes: all due in the first 45 s of the minute
    (the rest is for start-up and pacing), each host's feeds evenly spaced (its pacing serves
    them one at a time: random times would queue in clusters), hosts out of phase, the same
    way on every run; a feed polled more often than once a minute is due within its own
    interval."""
    specs = [FeedSpec(url=f"https://site{n % 50}.example/feeds/{n}.xml") for n in range(1000)]
    by_host: dict[str, list[FeedSpec]] = {}
    for spec in specs:
        by_host.setdefault(spec.url.split("/")[2], []).append(spec)
    delays = {url: _delay(state) for group in by_host.values()
              for url, state in first_poll_states(group, NOW).items()}
    assert len(delays) == 1000 and all(0 <= d < 45 for d in delays.values())
    assert FIRST_POLL_WINDOW_S == 60
    for group in by_host.values():
        due = sorted(delays[spec.url] for spec in group)
        assert all(abs(b - a - 45 / 20) < 1e-6 for a, b in zip(due, due[1:], strict=False))
    per_nine_seconds = Counter(int(delay // 9) for delay in delays.values())
    assert sorted(per_nine_seconds) == list(range(5))
    assert all(150 < count < 250 for count in per_nine_seconds.values())  # ~200 each
    assert len(set(delays.values())) > 990  # hosts out of phase
    again = first_poll_states(list(reversed(by_host["site7.example"])), NOW)
    assert {url: _delay(state) for url, state in again.items()} == \
        {spec.url: delays[spec.url] for spec in by_host["site7.example"]}
    fast = FeedSpec(url=FEED_URL, min_interval_s=2.0)  # the demo's floor
    assert 0 <= _delay(initial_poll_state(fast, NOW)) < 2.0


def test_new_entries_speed_up_to_min_interval():
    outcome = poll_outcome(200, {"ETag": '"v2"', "Last-Modified": "x"}, b"<rss/>",
                           new_entries=3)
    state = apply_poll_outcome(_state(body_hash="old"), SPEC, outcome, NOW)
    assert state.interval_s == 600 and _delay(state) == pytest.approx(600 * JITTER)
    assert (state.etag, state.last_modified, state.body_hash) == ('"v2"', "x", body_hash(b"<rss/>"))
    assert state.entries_seen_total == 3 and state.last_success_at == NOW
    assert state.last_status == 200 and state.consecutive_unchanged == 0
    for n in range(5):
        outcome = poll_outcome(200, {}, b"new %d" % n, new_entries=1)
        state = apply_poll_outcome(state, SPEC, outcome, NOW)
    assert state.interval_s == 300  # never below the spec's minimum


def test_unchanged_body_backs_off_even_without_conditional_get():
    body = b"<rss>same</rss>"
    state = _state(body_hash=body_hash(body))
    assert is_unchanged(state, body) and not is_unchanged(state, b"other")
    # the server ignored If-None-Match and sent the same 200 again
    state = apply_poll_outcome(state, SPEC, poll_outcome(200, {}, body, new_entries=2), NOW)
    assert state.interval_s == 2400 and state.consecutive_unchanged == 1
    assert state.entries_seen_total == 2  # counted, but an identical body never speeds up
    state = apply_poll_outcome(state, SPEC, poll_outcome(200, {}, b"changed"), NOW)
    assert state.interval_s == 4800 and state.consecutive_unchanged == 2  # no new entries
    state = apply_poll_outcome(state, SPEC, poll_outcome(200, {}, b"changed again"), NOW)
    assert state.interval_s == 4800  # capped at max
    assert feed_status(state).health == "quiet"


def test_304_backs_off_and_keeps_validators():
    state = _state(etag='"v1"', last_modified="lm1")
    state = apply_poll_outcome(state, SPEC, poll_outcome(304, {}), NOW)
    assert state.interval_s == 2400 and state.etag == '"v1"' and state.last_modified == "lm1"
    assert state.consecutive_failures == 0 and state.last_success_at == NOW
    state = apply_poll_outcome(state, SPEC, poll_outcome(304, {"etag": '"v2"'}), NOW)
    assert state.etag == '"v2"' and state.interval_s == 4800
    assert _delay(state) == pytest.approx(4800 * JITTER)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds_and_http_date(status):
    by_seconds = poll_outcome(status, {"Retry-After": "7200"})
    state = apply_poll_outcome(_state(), SPEC, by_seconds, NOW)
    assert _delay(state) == pytest.approx(7200 * JITTER)
    assert state.consecutive_failures == 1 and state.last_error == f"http_{status}"
    assert state.interval_s == 1200  # the healthy cadence is kept for after recovery
    http_date = format_datetime(NOW + timedelta(hours=3), usegmt=True)
    state = apply_poll_outcome(_state(), SPEC, poll_outcome(status, {"retry-after": http_date}),
                               NOW)
    assert _delay(state) == pytest.approx(3 * 3600 * JITTER)
    # a short Retry-After never makes us poll sooner than our own backoff
    state = apply_poll_outcome(_state(), SPEC, poll_outcome(status, {"Retry-After": "5"}), NOW)
    assert _delay(state) == pytest.approx(2400 * JITTER)
    # absurd values are capped
    state = apply_poll_outcome(_state(), SPEC,
                               poll_outcome(status, {"Retry-After": "99999999"}), NOW)
    assert _delay(state) == pytest.approx(MAX_RETRY_AFTER_S * JITTER)


def test_parse_retry_after():
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after(" 0 ", NOW) == 0
    assert parse_retry_after("Wed, 01 May 2024 12:10:00 GMT", NOW) == 600
    assert parse_retry_after("Wed, 01 May 2024 11:00:00 GMT", NOW) == 0  # in the past
    assert parse_retry_after("-5", NOW) is None
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("", NOW) is None and parse_retry_after(None, NOW) is None


def test_failures_back_off_exponentially_with_cap_and_recover():
    state = _state()
    delays = []
    for status in (500, 404, None, 502, 500, 500, 500, 500, 500, 500):
        error = "timeout" if status is None else None
        state = apply_poll_outcome(state, SPEC, PollOutcome(status=status, error=error), NOW)
        delays.append(_delay(state) / JITTER)
    assert delays[:5] == pytest.approx([2400, 4800, 9600, 19200, 38400])
    assert max(delays) == pytest.approx(MAX_FAILURE_BACKOFF_S) == delays[-1]
    assert state.consecutive_failures == 10 and state.interval_s == 1200
    assert feed_status(state).health == "failing" and state.last_error == "http_500"
    state = apply_poll_outcome(state, SPEC, poll_outcome(200, {}, b"x", new_entries=1), NOW)
    assert state.consecutive_failures == 0 and state.last_error is None
    assert state.interval_s == 600 and feed_status(state).health == "ok"
    assert failure_backoff_s(300, 1000, SPEC) == MAX_FAILURE_BACKOFF_S


def test_fetch_error_and_unparseable_200_are_failures():
    state = apply_poll_outcome(_state(), SPEC, poll_outcome(None, error="dns"), NOW)
    assert state.last_error == "dns" and state.last_status is None
    assert feed_status(state).health == "degraded"
    state = apply_poll_outcome(_state(body_hash="h"), SPEC,
                               poll_outcome(200, {}, b"<html>", error="not_a_feed"), NOW)
    assert state.consecutive_failures == 1 and state.last_error == "not_a_feed"
    assert state.body_hash == "h" and state.last_success_at is None


def test_jitter_is_deterministic_and_bounded():
    urls = [f"https://site{n}.example/feed" for n in range(200)]
    values = [url_jitter(url) for url in urls]
    assert values == [url_jitter(url) for url in urls]
    assert all(0 <= value < 1 for value in values) and len(set(values)) == 200
    assert all(600 <= jittered(600, url) < 660 for url in urls)
    first = apply_poll_outcome(_state(), SPEC, poll_outcome(304), NOW)
    assert apply_poll_outcome(_state(), SPEC, poll_outcome(304), NOW) == first


def test_poll_outcome_reads_headers_case_insensitively():
    outcome = poll_outcome(200, {"ETAG": '"e"', "last-MODIFIED": "lm", "Retry-After": "3"},
                           b"body", new_entries=4)
    assert outcome == PollOutcome(status=200, etag='"e"', last_modified="lm",
                                  body_hash=body_hash(b"body"), new_entries=4, retry_after="3")
    assert poll_outcome(500, {}, b"error page").body_hash is None


def test_feed_status_snapshot():
    never = feed_status(PollState(feed_url=FEED_URL))
    assert never.health == "pending" and not never.conditional_get
    state = apply_poll_outcome(_state(), SPEC, poll_outcome(200, {"etag": "e"}, b"x",
                                                            new_entries=2), NOW)
    status = feed_status(state)
    assert status.health == "ok" and status.conditional_get and status.entries_seen_total == 2
    assert status.last_poll_at == NOW and status.next_poll_at == state.next_poll_at


@pytest.mark.parametrize(("hops", "expected"), [
    ([(FEED_URL, 301, "/feeds/new.xml")], "https://example.com/feeds/new.xml"),
    ([(FEED_URL, 308, "https://feeds.example.org/main")], "https://feeds.example.org/main"),
    ([(FEED_URL, 302, "/feeds/tmp.xml")], None),
    ([(FEED_URL, 307, "/feeds/tmp.xml")], None),
    # a permanent move followed by a temporary detour moves the feed to the first target only
    ([(FEED_URL, 301, "/feeds/new.xml"), ("https://example.com/feeds/new.xml", 302, "/x")],
     "https://example.com/feeds/new.xml"),
    ([(FEED_URL, 302, "/feeds/tmp.xml"), ("https://example.com/feeds/tmp.xml", 301, "/y")],
     None),
    ([(FEED_URL, 301, "/feeds/a.xml"), ("https://example.com/feeds/a.xml", 308, "/feeds/b#f")],
     "https://example.com/feeds/b"),
    ([], None),
])
def test_only_permanent_redirects_move_a_feed(hops, expected):
    chain = [RedirectHop(url=url, status=status, location=location)
             for url, status, location in hops]
    assert moved_to(FEED_URL, chain) == expected


# ------------------------------------------------------------------------------------------
# Seen entries
# ------------------------------------------------------------------------------------------

def _entries(keys, published=None) -> list[FeedEntry]:
    return [FeedEntry(feed_url=FEED_URL, link=None, raw_link=None, guid=key, title=key,
                      summary=None, authors=(), tags=(), published_at=published,
                      updated_at=None, entry_key=key) for key in keys]


def test_seen_set_is_bounded_keeping_the_most_recent():
    seen = SeenEntries(max_keys=100).remember([f"k{n}" for n in range(150)], NOW)
    assert len(seen) == 100
    assert seen.contains("k0", NOW) and seen.contains("k99", NOW)  # top of the feed kept
    assert not seen.contains("k100", NOW)
    later = NOW + timedelta(minutes=5)
    seen = seen.remember(["fresh"], later)
    assert len(seen) == 100 and seen.contains("fresh", later)
    assert not seen.contains("k99", later)  # least recently seen dropped first


def test_seen_set_expires_after_ttl_from_last_sighting():
    seen = SeenEntries(ttl_s=86400).remember(["a", "b"], NOW)
    assert seen.contains("a", NOW + timedelta(hours=23))
    seen = seen.remember(["a"], NOW + timedelta(hours=23))  # "a" still in the feed
    two_days = NOW + timedelta(days=1, hours=1)
    assert seen.contains("a", two_days) and not seen.contains("b", two_days)
    assert len(seen.expire(two_days)) == 1


def test_seen_set_survives_a_long_quiet_spell():
    """304s or identical bodies for longer than the TTL must not resurrect the window."""
    seen = SeenEntries(ttl_s=86400).remember(["gone"], NOW - timedelta(hours=1))
    seen = seen.remember(["b", "a"], NOW)
    for day in range(1, 6):
        seen = seen.refresh_latest(NOW + timedelta(days=day))
    later = NOW + timedelta(days=5, hours=1)
    assert seen.contains("a", later) and seen.contains("b", later)
    assert not seen.contains("gone", later) and len(seen) == 2
    assert SeenEntries().refresh_latest(NOW) == SeenEntries()


def test_seen_set_serializes_small():
    seen = SeenEntries(max_keys=500, ttl_s=3600).remember([f"k{n}" for n in range(300)], NOW)
    data = seen.to_bytes()
    assert len(data) == 13 + 12 * 300
    assert SeenEntries.from_bytes(data) == seen
    assert SeenEntries.from_dict(seen.to_dict()) == seen
    with pytest.raises(ValueError):
        SeenEntries.from_bytes(data[:-1])
    with pytest.raises(ValueError):
        SeenEntries(max_keys=0)


def test_republished_entries_are_not_yielded_again():
    seen = SeenEntries()
    window = [f"story-{n}" for n in range(100, 50, -1)]  # the last 50 entries, newest first
    (new, skipped, known), seen = filter_and_remember(_entries(window), seen, NOW)
    assert len(new) == 50 and not skipped and not known
    for poll in range(1, 40):  # republished every poll, one new story on top sometimes
        now = NOW + timedelta(days=poll)  # longer than a short TTL would survive
        if poll % 3 == 0:
            window = [f"story-{100 + poll}"] + window[:-1]
        (new, skipped, known), seen = filter_and_remember(_entries(window), seen, now)
        assert [e.entry_key for e in new] == ([window[0]] if poll % 3 == 0 else [])
        assert not skipped  # re-listings are known, not skipped again
        assert [e.entry_key for e in known] == window[len(new):]


def test_filter_new_entries_reasons():
    seen = SeenEntries().remember(["old-seen"], NOW)
    entries = (_entries(["old-seen", "fresh", "fresh"])
               + _entries(["stale"], published=NOW - timedelta(days=10))
               + _entries(["recent"], published=NOW - timedelta(hours=1)))
    new, skipped, known = filter_new_entries(entries, seen, NOW, max_age=timedelta(days=2))
    assert [e.entry_key for e in new] == ["fresh", "recent"]
    assert [(e.entry_key, reason) for e, reason in skipped] == [
        ("fresh", "seen"), ("stale", "too_old")]
    assert [e.entry_key for e in known] == ["old-seen"]
    assert len(seen) == 1  # pure: the input set is untouched
    new, _skipped, _known = filter_new_entries(entries, seen, NOW, max_age=86400.0 * 30)
    assert [e.entry_key for e in new] == ["fresh", "stale", "recent"]
    _filtered, remembered = filter_and_remember(entries, seen, NOW, max_age=86400)
    assert remembered.contains("stale", NOW) and remembered.contains("recent", NOW)
    # the next poll lists them all again: the too old entry was skipped once, now it is known
    again, _remembered = filter_and_remember(entries, remembered, NOW + timedelta(minutes=5),
                                             max_age=86400)
    assert not again.new and not again.skipped
    assert [e.entry_key for e in again.known] == ["old-seen", "fresh", "fresh", "stale", "recent"]


def test_parse_feed_never_raises_on_truncated_or_odd_input(monkeypatch):
    body = _rss("".join(_item(n, pubDate="Tue, 30 Apr 2024 10:00:00 GMT") for n in range(5)))
    for end in range(0, len(body), 7):
        assert parse_feed(body[:end], {}, FEED_URL).error in PARSE_ERRORS | {None}
    odd_headers = {"Content-Location": "http://[broken", "Content-Type": "text/html; charset=nope",
                   "X-None": None}
    assert parse_feed(body, odd_headers, FEED_URL).error is None
    import feedparser

    def crash(*_args, **_kwargs):
        raise RecursionError("deep")

    monkeypatch.setattr(feedparser, "parse", crash)
    parsed = parse_feed(body, {}, FEED_URL)
    assert parsed.error == "parse_error" and "RecursionError" in parsed.error_detail


def test_the_parsing_child_gives_what_parse_feed_gives_and_bounds_the_time():
    body = _rss(_item(1, pubDate="Wed, 01 May 2024 23:00:00 GMT") + _item(2))
    parser = FeedParserProcess()
    try:
        assert parser(body, {"Content-Type": "application/rss+xml"}, FEED_URL, now=NOW) == \
            parse_feed(body, {"Content-Type": "application/rss+xml"}, FEED_URL, now=NOW)
        assert parser(b"<rss><channel><item>", {}, FEED_URL) == \
            parse_feed(b"<rss><channel><item>", {}, FEED_URL)
    finally:
        parser.close()
    slow = FeedParserProcess(timeout_s=0.001)  # a parse past its limit: the child is killed
    try:
        parsed = slow(body, {}, FEED_URL)
        assert parsed.error == "feed_too_complex" and not parsed.entries
        assert "took longer than" in parsed.error_detail
    finally:
        slow.close()
