"""trafilatura extraction: the functions the extraction child runs.

This module imports neither Beam nor anything of ours that does: the extraction step runs
:func:`extract_html` in a child process (``newsflow.transforms.child``) that loads only
trafilatura (about a second) instead of a whole Beam worker.
"""

from __future__ import annotations

import re

#: htmldate's output format: keeps the time of day and, when htmldate found one, the offset.
HTMLDATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


def fallback_date(tree, url: str | None) -> str | None:
    """htmldate's original-publication guess, for pages that declare no date themselves.

    From the page's markup (URL, header, JSON, ``<abbr>``/``<time>`` and date-classed
    elements), without htmldate's extensive search (free-text patterns anywhere on the page,
    dateparser over 200 locales): the date line under the headline is read by
    ``metadata`` already, and on the benchmark's 920 real pages the extensive search changed
    no row while costing about 5 ms per undated page plus a 1.4 s dateparser warm-up per
    process. A bare January 1st is dropped: it is what htmldate makes of a lone year (a
    copyright line).
    """
    from htmldate import find_date

    found = find_date(tree, url=url, original_date=True, extensive_search=False,
                      outputformat=HTMLDATE_FORMAT)
    if found and found[4:19] == "-01-01T00:00:00":
        return None
    return found


#: Bytes that trafilatura strips before parsing (C0 controls other than tab, LF and CR); with
#: U+FFFE and U+FFFF (``_NONCHARACTERS``, in UTF-8) they are its ``INVALID_XML_CHARS``.
_CONTROL_BYTES = bytes(range(0x09)) + b"\x0b\x0c" + bytes(range(0x0e, 0x20))
_NONCHARACTERS = re.compile(rb"\xef\xbf[\xbe\xbf]")
_DOCTYPE_TAG = None  # trafilatura's DOCTYPE repair pattern, for bytes (compiled on first use)
_PARSER = None  # html_parser(), built on first use


def html_parser():
    """trafilatura's HTML parser (same options), making every element an ``HtmlElement``
    without a Python call per element.

    lxml.html's parser picks each element's class in Python (``HtmlElementClassLookup``, for
    its form-field classes, which nothing here uses) every time an element gets a Python
    object; trafilatura and the metadata reader walk trees in Python, so that call ran about
    a million times per 300 pages. A C default class gives the same elements and the same
    extraction (tested on the devset pages), about 3 ms per page sooner. The parser is a copy
    of trafilatura's ``HTML_PARSER``, so its options follow trafilatura's.
    """
    global _PARSER
    if _PARSER is None:
        from lxml.etree import ElementDefaultClassLookup
        from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction
        from trafilatura.utils import HTML_PARSER

        parser = HTML_PARSER.copy()
        parser.set_element_class_lookup(ElementDefaultClassLookup(
            element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction,
            entity=HtmlEntity))
        _PARSER = parser
    return _PARSER


def parse_html(page: str | bytes):
    """The page's tree exactly as trafilatura's ``load_html`` builds it from the text, but
    parsed from UTF-8 bytes: libxml2 reads bytes faster than a Python string, and the bytes
    are checked for the characters trafilatura strips instead of running its regex over the
    whole page (1.6 against 3.0 ms on the benchmark's pages). A page holding such characters,
    or a self-closing ``<html/>`` near the top, goes through ``load_html`` itself."""
    global _DOCTYPE_TAG
    from lxml.etree import LxmlError
    from lxml.html import fromstring
    from trafilatura.utils import DOCTYPE_TAG, load_html

    data = page if isinstance(page, bytes) else page.encode("utf-8", "surrogatepass")
    head = data[:16384].decode("utf-8", "replace")  # at least the first 4,096 characters
    if (len(data.translate(None, _CONTROL_BYTES)) != len(data)
            or _NONCHARACTERS.search(data)
            or any("<html" in line and line.endswith("/>")
                   for line in head[:4096].splitlines()[:4])):
        return load_html(page if isinstance(page, str) else page.decode("utf-8", "surrogatepass"))
    beginning = head[:50].lower()
    if "doctype" in beginning:  # libxml2 trips over some DOCTYPE lines: trafilatura drops them
        if _DOCTYPE_TAG is None:
            _DOCTYPE_TAG = re.compile(DOCTYPE_TAG.pattern.encode("ascii"), re.IGNORECASE)
        first, _, rest = data.partition(b"\n")
        data = _DOCTYPE_TAG.sub(b"", first, count=1) + b"\n" + rest
    try:
        tree = fromstring(data, parser=html_parser())
    except (ValueError, LxmlError):
        return None
    if "html" not in beginning and len(tree) < 2:  # not HTML at all (trafilatura's check)
        return None
    return tree


#: trafilatura options of every pass: nothing is made that newsflow does not use (comments,
#: tables, duplicate-segment filtering; the page's metadata is read by ``metadata``).
EXTRACT_OPTIONS = {"with_metadata": False, "include_comments": False, "include_tables": False,
                   "deduplicate": False}
#: Below this many characters trafilatura's full cascade weighs readability and jusText against
#: its own extraction (its ``MIN_EXTRACTED_SIZE``).
SHORT_TEXT_CHARS = 250
#: A fast text shorter than this share of the article body the page declares (JSON-LD
#: ``articleBody``) missed part of the story.
DECLARED_BODY_SHARE = 0.8
#: A fast text holding this share of the page's visible text is a dump of the whole page:
#: trafilatura found no main block and fell back to its baseline.
WHOLE_PAGE_SHARE = 0.9

_BODY_CHARS = None  # XPath evaluators, compiled on first use (this module imports no lxml)


def visible_chars(tree) -> int:
    """Characters of the ``<body>``'s text outside scripts and styles, whitespace collapsed:
    a cheap measure of all the text a page shows (evaluated by libxml2, about 0.5 ms)."""
    global _BODY_CHARS
    if _BODY_CHARS is None:
        from lxml.etree import XPath

        _BODY_CHARS = (XPath("string-length(normalize-space(//body))"),
                       XPath("//body//script|//body//style|//body//noscript|//body//template"),
                       XPath("string-length(normalize-space(.))"))
    body, hidden, length = _BODY_CHARS
    return int(body(tree) - sum(length(element) for element in hidden(tree)))


def full_extraction_reason(text: str, declared_chars: int, tree) -> str | None:
    """Why trafilatura's full cascade may find a better text than its fast one, or None.

    The full cascade differs from the fast one by comparing trafilatura's own extraction with
    readability and jusText. On real pages that changes the text when the own extraction came
    out short (then fast mode falls back to a dump of the page's paragraphs or whole text) or
    missed part of the story. So the full cascade runs when the fast text is short
    (``short_text``), shorter than most of the article body the page declares
    (``below_declared_body``), or nearly all of the page's visible text (``whole_page``).
    """
    if len(text) < SHORT_TEXT_CHARS:
        return "short_text"
    if len(text) < DECLARED_BODY_SHARE * declared_chars:
        return "below_declared_body"
    if len(text) >= WHOLE_PAGE_SHARE * visible_chars(tree):
        return "whole_page"
    return None


def extract_main_text(tree, url: str | None, declared_chars: int = 0) -> tuple[str, str]:
    """The page's main text and how it was found: ``"fast"``, or ``"full_<reason>"`` when the
    fast cascade's text was not trusted (:func:`full_extraction_reason`) and the full one ran.

    trafilatura's fast cascade costs about 60 % of its full one; on the real pages of
    ``bench/quality.py`` this gives the full cascade's text on every article page. Both run
    with trafilatura's regular-expression XPaths tuned (``trafilatura_xpaths``: same text).
    """
    import trafilatura

    from newsflow.transforms.trafilatura_xpaths import tune_trafilatura

    tune_trafilatura()
    document = trafilatura.bare_extraction(tree, url=url, fast=True, **EXTRACT_OPTIONS)
    text = (document.text or "").strip() if document is not None else ""
    reason = full_extraction_reason(text, declared_chars, tree)
    if reason is None:
        return document.text, "fast"
    document = trafilatura.bare_extraction(tree, url=url, **EXTRACT_OPTIONS)
    return (document.text or "") if document is not None else "", f"full_{reason}"


#: A page whose text is too short for the fast cascade: extracting it runs the full one too.
_WARM_UP_PAGE = (b"<html><head><title>Warm-up</title></head><body><article><p>A short page "
                 b"that sets trafilatura up.</p></article></body></html>")


def warm_up() -> None:
    """What the first extraction of a process would pay for anyway: the imports, the tuned
    XPaths and the lazy set-ups of both cascades (justext's stop lists, 0.2 s), done on a tiny
    page before any record waits for them (``child`` runs this at start)."""
    extract_html(_WARM_UP_PAGE, None)


def extract_html(html: str | bytes, url: str | None, want_date: bool = True) -> dict | None:
    """Main text and the page's own metadata, as plain picklable values (or None).

    ``html`` is the page's text, or that text in UTF-8 (as the parent sends it to the child
    process: :func:`parse_html`). The page is parsed once: the metadata reader and htmldate
    read the tree, trafilatura extracts from it (it works on its own copy; fast first,
    :func:`extract_main_text`). trafilatura's metadata pass is not run: the page's
    declarations are read by ``newsflow.transforms.metadata`` with their provenance. htmldate
    runs only when the page declares no date (a date line under the headline at most);
    ``want_date`` False skips it too (the record carries its own date). ``mode`` says how the
    text was extracted. A page its declarations and URL settle as no article (a front page, a
    declared video or listing: :func:`~newsflow.transforms.page_types.declared_non_article`)
    is not extracted: its ``text`` is empty and ``not_article`` holds classify's reason.
    """
    from newsflow.transforms.metadata import read_page_metadata
    from newsflow.transforms.page_types import declared_non_article
    from newsflow.transforms.timestamps import parse_date_value

    tree = parse_html(html)
    if tree is None:
        return None
    page = read_page_metadata(tree, url)
    not_article = declared_non_article(set(page["types"]), page["canonical_url"] or url)
    if not_article:
        return {"text": "", "page": page, "mode": "not_extracted", "not_article": not_article}
    page["dates"] = tuple((source, value) for source, value in page["dates"]
                          if parse_date_value(value) is not None)
    text, mode = extract_main_text(tree, page["canonical_url"] or url, page["body_chars"])
    if not text.strip():
        return None
    if want_date and all(source == "headline_date" for source, _ in page["dates"]):
        # nothing declared: htmldate's guess joins (and may agree with) a date line's
        found = fallback_date(tree, page["canonical_url"] or url)
        if found:
            page["dates"] += (("htmldate", found),)
    return {"text": text, "page": page, "mode": mode}
