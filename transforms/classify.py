"""Tell articles from pages that are not: index/section pages, video pages, consent walls and
near-empty pages become counted skips (``skipped_<reason>``), never article rows.

The page's own declarations decide first, the shape of the extracted text next, URL words last:

1. Consent wall: a short text made mostly of cookie/consent wording.
2. A page that declares itself an article in JSON-LD (``NewsArticle``, ``Article``,
   ``BlogPosting``, ``ReportageNewsArticle``...) or with ``og:type=article`` and has a real
   body (at least ``MIN_ARTICLE_CHARS`` and ``MIN_ARTICLE_WORDS``) is an article, whatever its
   URL says (``/archive/63076``) and however many short lines it holds (a price table); only
   a site's front page is not, whatever its ``og:type``.
3. Video page: it declares a video (``og:type=video.*``, a JSON-LD ``VideoObject`` without an
   article type), or its URL says video and the text is short.
4. Index page (HTML only): the site's front page, a declared listing (``CollectionPage``,
   ``SearchResultsPage``; an ``ItemList`` only when nothing declares an article: it may be an
   article's carousel), or a text of mostly short lines that is no prose (``og:type=website``
   says nothing: many article pages carry it). An index word in the URL
   (``/category/``, ``/tag/``, ``/archive/``...) counts only when the text is no prose: URL
   words are the weakest evidence.
5. Too short: less than a real body, or for a page declaring an article (JSON-LD or
   ``og:type=article``), less than ``MIN_DECLARED_ARTICLE_CHARS``: a paywalled story's first
   paragraph is still that story.

Where declarations and URL alone settle rules 3 and 4 (``page_types.declared_non_article``),
extraction skips the page before extracting it, with the reason these rules would give.
"""

from __future__ import annotations

import re

from newsflow.schemas import Draft, Skip
from newsflow.transforms.metadata import OG_ARTICLE
from newsflow.transforms.page_types import (
    FRONT_PAGE,
    VIDEO_PATH,
    declares_article,
    declares_index,
    declares_video,
    url_path,
)
from newsflow.transforms.stage import ApplyStep, Step

MIN_ARTICLE_CHARS = 250
MIN_ARTICLE_WORDS = 40
#: A page declaring an article keeps a shorter text (a paywalled story's first paragraph).
MIN_DECLARED_ARTICLE_CHARS = 80
_CONSENT = re.compile(
    r"\b(we use cookies|cookie (?:policy|settings|preferences)|accept all|reject all|"
    r"manage (?:your )?(?:consent|privacy)|before you continue|your privacy choices|"
    r"consent to (?:the use of|our use of)|privacy settings)\b", re.IGNORECASE)
_CONSENT_MAX_CHARS = 2000
_INDEX_PATH = re.compile(
    r"/(?:category|categories|tag|tags|topic|topics|section|sections|"
    r"archive|archives|list|search|page/\d+|author)(?:/|$|[._-])", re.IGNORECASE)
#: Han, kana and other scripts written without spaces: a character carries about as much as a
#: short word, and a line of 30 of them is as long as a 60-character line of Latin text.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f]")
_VIDEO_MAX_CHARS = 800
_SHORT_LINE_CHARS = 60
#: A prose paragraph: this long (display length), and at least this many of them make a body
#: of prose that outweighs index words in the URL.
_PROSE_LINE_CHARS = 150
_PROSE_MIN_LINES = 3
_PROSE_MIN_SHARE = 0.5


def display_length(line: str) -> int:
    """Length with unspaced-script characters counted twice (they are full-width words)."""
    return len(line) + len(_UNSPACED.findall(line))


def word_count(text: str) -> int:
    """Whitespace words, with every two unspaced-script characters counted as one more."""
    return len(text.split()) + len(_UNSPACED.findall(text)) // 2


def declared_types(draft: Draft) -> set[str]:
    return set(draft.page.types) if draft.page is not None else set()


def has_body(text: str) -> bool:
    return display_length(text) >= MIN_ARTICLE_CHARS and word_count(text) >= MIN_ARTICLE_WORDS


def is_prose(lines: list[str]) -> bool:
    """Several long paragraphs that carry most of the text."""
    lengths = [display_length(line) for line in lines]
    prose = [n for n in lengths if n >= _PROSE_LINE_CHARS]
    return len(prose) >= _PROSE_MIN_LINES and sum(prose) >= _PROSE_MIN_SHARE * sum(lengths)


def mostly_short(lines: list[str]) -> bool:
    return len(lines) >= 8 and \
        sum(display_length(line) < _SHORT_LINE_CHARS for line in lines) / len(lines) > 0.7


def is_consent_wall(text: str, lines: list[str]) -> bool:
    if len(text) > _CONSENT_MAX_CHARS or not _CONSENT.search(text):
        return False
    consent = sum(len(line) for line in lines if _CONSENT.search(line))
    return consent * 2 >= sum(len(line) for line in lines) or not has_body(text)


def looks_like_index(path: str, types: set[str], lines: list[str]) -> bool:
    """Rule 4: the front page, a declared listing, short lines, or URL words without prose."""
    prose = is_prose(lines)
    if FRONT_PAGE.match(path) or declares_index(types) or (mostly_short(lines) and not prose):
        return True
    return bool(_INDEX_PATH.search(path)) and not prose and OG_ARTICLE not in types


def non_article_reason(draft: Draft) -> str | None:
    """Why this page is not an article (a skip reason), or None when it is one."""
    text = draft.text
    lines = [line for line in text.split("\n") if line.strip()]
    types = declared_types(draft)
    path = url_path(draft.canonical_url or draft.record.url)
    if is_consent_wall(text, lines):
        return "consent_wall"
    body = has_body(text)
    some_text = display_length(text) >= MIN_DECLARED_ARTICLE_CHARS
    if declares_article(types) and (body or some_text):
        return None
    if OG_ARTICLE in types and body and not FRONT_PAGE.match(path):
        return None
    if declares_video(types) or (VIDEO_PATH.search(path) and len(text) < _VIDEO_MAX_CHARS):
        return "video_page"
    if draft.record.body_kind == "html" and looks_like_index(path, types, lines):
        return "index_page"
    if not body and not (OG_ARTICLE in types and some_text):
        return "too_short"
    return None


class ClassifyStep(Step):
    """Draft -> Draft for articles; everything else becomes a Skip with its reason."""

    name = "classify"

    def apply(self, draft: Draft) -> Draft | Skip:
        reason = non_article_reason(draft)
        if reason:
            return Skip("classify", reason, draft.record.source_ref,
                        draft.canonical_url or draft.record.url)
        return draft


class ClassifyPages(ApplyStep):
    """Draft -> Draft for articles; everything else leaves as a Skip with its reason."""

    def __init__(self):
        super().__init__(ClassifyStep())
