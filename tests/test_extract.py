"""Extraction: metadata comes through; a page over the time limit is killed, not waited for."""

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from trafilatura.utils import load_html

from newsflow.schemas import DeadLetter, Draft, RawRecord, Skip
from newsflow.transforms.child import ChildFailed, ChildProcess, ChildTimeout
from newsflow.transforms.dates import resolve_publication
from newsflow.transforms.extract import (
    EXTRACTOR,
    ExtractSettings,
    ExtractStep,
    draft_from_extraction,
)
from newsflow.transforms.extractor import (
    EXTRACT_OPTIONS,
    extract_html,
    fallback_date,
    full_extraction_reason,
    parse_html,
    visible_chars,
)
from newsflow.transforms.process import article_id, canonical_url

PAGE = """<html><head><title>Kim tours plant | Daily Test</title>
<meta property="og:type" content="article"><meta property="og:site_name" content="Daily Test">
<link rel="canonical" href="https://daily.test/2023/09/15/kim-tours-plant/">
<meta name="author" content="Jane Doe"><meta name="keywords" content="Politics, Asia">
<meta property="article:published_time" content="2023-09-15T08:30:00+09:00"></head>
<body><nav>Home World Asia</nav><p>Monday, July 1, 2024</p><article><h1>Kim tours plant</h1>
<p>""" + "North Korean leader Kim Jong Un toured an aircraft plant in the far east. " * 8 + \
    """</p><p>He is expected to travel to Vladivostok next, officials said on Friday.</p>
</article><footer>Copyright</footer></body></html>"""


def test_extract_html_metadata():
    record = RawRecord(url="https://daily.test/x?utm_source=feed", body=PAGE, body_kind="html",
                       source_format="warc", source_ref="r")
    draft = draft_from_extraction(record, extract_html(PAGE, record.url))
    assert draft.title == "Kim tours plant"  # without the " | Daily Test" site suffix
    assert draft.authors == ("Jane Doe",)
    assert draft.site_name == "Daily Test"
    # the declared instant with its offset, not the "July 1, 2024" display date
    publication = resolve_publication(draft, datetime(2026, 1, 1, tzinfo=UTC))
    assert publication.published_at == datetime(2023, 9, 14, 23, 30, tzinfo=UTC)
    assert (publication.offset_min, publication.source) == (540, "opengraph")
    assert set(draft.tags) == {"Politics", "Asia"}
    assert draft.canonical_url == "https://daily.test/2023/09/15/kim-tours-plant/"
    assert "toured an aircraft plant" in draft.text
    assert "og:article" in draft.page.types


def test_when_the_fast_text_is_not_trusted():
    tree = load_html(PAGE)
    shown = visible_chars(tree)
    assert shown == len(" ".join(tree.find("body").text_content().split()))
    scripted = PAGE.replace("<footer>", "<script>var x = '" + "z" * 5000 + "';</script><footer>")
    assert visible_chars(load_html(scripted)) == shown  # scripts are not text a page shows
    longer = load_html(PAGE.replace("Copyright", "More text. " * 100))  # a page around the text
    assert full_extraction_reason("x" * 600, 0, longer) is None
    assert full_extraction_reason("x" * 600, 700, longer) is None  # most of the declared body
    assert full_extraction_reason("x" * 249, 0, longer) == "short_text"
    assert full_extraction_reason("x" * 600, 800, longer) == "below_declared_body"
    assert full_extraction_reason("x" * (shown - 50), 0, tree) == "whole_page"


@pytest.mark.parametrize(("page", "mode"), [("time_001", "fast"),
                                            ("ap_meta_refresh", "full_whole_page")])
def test_fast_first_gives_the_full_cascades_text_on_real_pages(shared_dir, page, mode):
    """A real article keeps the fast cascade's text; a page where trafilatura found no main
    block (its fast text is a dump of every paragraph) gets the full cascade's, exactly."""
    import trafilatura

    html = (shared_dir / "devset/newspaper4k/html" / f"{page}.html").read_text("utf-8")
    extracted = extract_html(html, None)
    full = trafilatura.bare_extraction(load_html(html), **EXTRACT_OPTIONS)
    assert extracted["mode"] == mode
    assert extracted["text"] == full.text


ODD_PAGES = [
    "", "plain text, no markup", "<p>a fragment</p>", "<html/>",
    '<?xml version="1.0" encoding="utf-8"?><html><body><p>x</p></body></html>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html><body><p>xhtml</p></body></html>',
    "<html><body><p>control\x00 characters\x0b and \ufffe noncharacters</p></body></html>",
    '<html lang="en"/>\n<body><p>self-closing html</p></body>',
    "\ufeff<html><body><p>caf\u00e9 \u2028 \ufffd</p></body></html>"]


def test_parse_html_builds_trafilaturas_tree(shared_dir):
    """Parsed from UTF-8 bytes, the same tree as trafilatura's ``load_html`` from the text, on
    real pages and on the odd inputs its repairs exist for."""
    from lxml import etree

    devset = sorted((shared_dir / "devset/newspaper4k/html").glob("*.html"))
    pages = [path.read_bytes().decode("utf-8", "replace") for path in devset] + ODD_PAGES

    def markup(tree):
        return None if tree is None else etree.tostring(tree, encoding="unicode")

    for page in pages:
        expected = markup(load_html(page))
        assert markup(parse_html(page)) == expected, page[:80]
        assert markup(parse_html(page.encode("utf-8"))) == expected, page[:80]


def test_c_class_lookup_extracts_what_trafilaturas_parser_does(shared_dir, monkeypatch):
    """Elements made without lxml.html's Python class lookup give the same text, metadata and
    dates, on the real pages."""
    from trafilatura.utils import HTML_PARSER

    from newsflow.transforms import extractor

    pages = sorted((shared_dir / "devset/newspaper4k/html").glob("*.html"))
    assert len(pages) >= 20
    ours = [extract_html(path.read_bytes(), None) for path in pages]
    assert type(parse_html(pages[0].read_bytes())).__module__ == "lxml.html"
    monkeypatch.setattr(extractor, "_PARSER", HTML_PARSER)
    assert [extract_html(path.read_bytes(), None) for path in pages] == ours
    assert sum(result is not None for result in ours) >= 20


def test_htmldate_reads_markup_not_dates_mentioned_in_the_story():
    story = ("<html><body><h1>Council votes</h1><p>The council met in the spring, and on "
             "12 March 2021 it voted on the plan.</p>{}</body></html>")
    assert fallback_date(load_html(story.format("")), None) is None  # a mention, no date line
    dated = story.format('<div class="info">Veröffentlicht am 14. März 2021</div>')
    assert fallback_date(load_html(dated), None).startswith("2021-03-14")


def test_cross_site_canonical_does_not_steal_the_originals_id():
    record = RawRecord(url="https://mirror.test/story", body="", body_kind="html",
                       source_format="warc", source_ref="r")
    same_site = Draft(record=record, text="", canonical_url="https://mirror.test/story/")
    other_site = Draft(record=record, text="", canonical_url="https://apnews.test/story")
    assert canonical_url(same_site) == "https://mirror.test/story/"
    assert canonical_url(other_site) == "https://mirror.test/story"
    assert article_id("https://www.mirror.test/story/?utm_source=x", "h") == \
        article_id("https://mirror.test/story", "h")


def test_extractor_process_times_out_and_recovers():
    extractor = ChildProcess(EXTRACTOR)
    try:
        def headline(result):
            return dict(result["page"]["titles"])["h1"]

        assert headline(extractor.call((PAGE, None), timeout_s=60)) == "Kim tours plant"
        huge = PAGE.replace("</article>", "<p>word </p>" * 200_000 + "</article>")
        with pytest.raises(ChildTimeout):
            extractor.call((huge, None), timeout_s=0.05)
        assert headline(extractor.call((PAGE, None), timeout_s=60)) == "Kim tours plant"
        with pytest.raises(ChildFailed, match="TypeError"):  # the function's own error
            extractor.call((PAGE,), {"no_such_argument": 1}, timeout_s=60)
    finally:
        extractor.close()


def test_stage_outcomes_for_oversize_and_empty_pages():
    fn = ExtractStep(ExtractSettings(timeout_s=0, max_html_chars=1000))
    fn.setup()
    big = RawRecord(url="https://a.test/big", body=PAGE, body_kind="html",
                    source_format="warc", source_ref="r1")
    empty = RawRecord(url="https://a.test/empty", body="<html><body></body></html>",
                      body_kind="html", source_format="warc", source_ref="r2")
    text = RawRecord(url=None, body="Plain text", body_kind="text", source_format="text_dump",
                     source_ref="r3")
    dead = fn.apply(big)
    assert isinstance(dead, DeadLetter) and dead.reason == "too_large" and dead.raw == PAGE
    skipped = fn.apply(empty)
    assert isinstance(skipped, Skip) and skipped.reason == "no_main_text"
    assert isinstance(fn.apply(text), Draft)


def test_a_spare_child_is_taken_by_the_next_call_and_a_dead_one_skipped():
    from newsflow.transforms import child as child_module

    child_module.start_spare("os:getpid")
    (spare,) = child_module._SPARES["os:getpid"]
    first = ChildProcess("os:getpid")
    try:
        assert first.call((), timeout_s=60) == spare.pid  # the spare, not a new process
    finally:
        first.close()
    child_module.start_spare("os:getpid")
    (dead,) = child_module._SPARES["os:getpid"]
    dead.kill()
    dead.wait()
    second = ChildProcess("os:getpid")
    try:
        assert second.call((), timeout_s=60) not in (dead.pid, spare.pid)
    finally:
        second.close()
    assert child_module._SPARES["os:getpid"] == []


_WARMED = []


def warm_up():
    """This module as a child's target: the child runs this before serving (see below)."""
    _WARMED.append(True)


def was_warmed() -> bool:
    return bool(_WARMED)


def test_a_child_runs_its_modules_warm_up_before_the_first_call():
    child = ChildProcess("tests.test_extract:was_warmed")
    try:
        assert child.call((), timeout_s=60) is True
    finally:
        child.close()


def test_the_extractors_warm_up_sets_up_both_cascades():
    """justext's stop lists, built on trafilatura's first full cascade, exist after warm_up
    (in a fresh process: this one may have extracted already)."""
    done = subprocess.run([sys.executable, "-c", (
        "import trafilatura.external as external\n"
        "from newsflow.transforms.extractor import warm_up\n"
        "assert external.JT_STOPLIST is None\n"
        "warm_up()\n"
        "print(len(external.JT_STOPLIST))")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 10_000


def test_pages_their_declarations_settle_are_skipped_unextracted(monkeypatch):
    """A front page, or a declared video or listing, is classify's skip at once: trafilatura
    never runs on it (front pages are a crawl's largest pages)."""
    from newsflow.transforms import extractor

    def no_extraction(*args, **kwargs):
        raise AssertionError("extracted a page its declarations settle")

    step = ExtractStep(ExtractSettings(timeout_s=0))
    step.setup()
    front = RawRecord(url="https://daily.test/", body=PAGE.replace(
        'content="article"', 'content="website"'), body_kind="html", source_format="warc",
        source_ref="r1")
    assert isinstance(step.apply(front), Draft)  # the canonical link names an article's URL
    front = replace(front, body=front.body.replace("/2023/09/15/kim-tours-plant/", "/"))
    video = replace(front, url="https://daily.test/clip/1", body=PAGE.replace(
        'content="article"', 'content="video.other"'))
    monkeypatch.setattr(extractor, "extract_main_text", no_extraction)
    assert step.apply(front) == Skip("classify", "index_page", "r1", "https://daily.test/")
    assert step.apply(video) == Skip("classify", "video_page", "r1",
                                     "https://daily.test/2023/09/15/kim-tours-plant/")
    with pytest.raises(AssertionError, match="extracted"):
        step.apply(replace(front, body=PAGE))


def test_declarations_settle_real_front_pages_as_the_rules_do(shared_dir):
    """On real pages (the devset's section fronts, the sample archives'), every page the shortcut
    settles gets the same reason from the rules on its fully extracted, cleaned text."""
    from newsflow.transforms.archives import iter_file_records
    from newsflow.transforms.classify import non_article_reason
    from newsflow.transforms.clean import clean_text
    from newsflow.transforms.extractor import extract_main_text
    from newsflow.transforms.metadata import read_page_metadata
    from newsflow.transforms.page_types import declared_non_article

    files = sorted([*(shared_dir / "devset/newspaper4k/html").glob("*.html"),
                    *(shared_dir / "samples/warc").glob("*/*")])
    settled = []
    for path in files:
        for record in iter_file_records(str(path)):
            if not isinstance(record, RawRecord) or record.body_kind != "html":
                continue
            tree = parse_html(record.body)
            if tree is None:  # nothing to read: extraction skips it too
                continue
            page = read_page_metadata(tree, record.url)
            url = page["canonical_url"] or record.url
            reason = declared_non_article(set(page["types"]), url)
            if reason is None:
                continue
            text, _ = extract_main_text(tree, url, page["body_chars"])
            draft = draft_from_extraction(record, {"text": clean_text(text).text, "page": page})
            assert non_article_reason(draft) == reason, (path.name, record.url)
            settled.append(path.name)
    assert {"cnn_main_site.html", "wired_main_site.html", "yahoo_main_site.html"} <= set(settled)
    assert len(settled) >= 10
