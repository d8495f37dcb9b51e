"""Tell articles from pages that are not: index/section pages, video pages, consent walls and
near-empty pages become counted skips (``skipped_<reason>``), never article rows."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from newsflow.schemas import Draft, Skip
from newsflow.transforms.stage import ApplyStep, Step

MIN_ARTICLE_CHARS = 250
MIN_ARTICLE_WORDS = 40
_CONSENT = re.compile(
    r"\b(we use cookies|cookie (?:policy|settings|preferences)|accept all|reject all|"
    r"manage (?:your )?(?:consent|privacy)|before you continue|your privacy choices|"
    r"consent to (?:the use of|our use of)|privacy settings)\b", re.IGNORECASE)
_CONSENT_MAX_CHARS = 2000
_INDEX_PATH = re.compile(
    r"/index(?:\.\w+)?/?$|"  # a site's index page; /index.php/art/123 is a front controller
    r"/(?:category|categories|tag|tags|topic|topics|section|sections|"
    r"archive|archives|list|search|page/\d+|author)(?:/|$|[._-])", re.IGNORECASE)
#: Han, kana and other scripts written without spaces: a character carries about as much as a
#: short word, and a line of 30 of them is as long as a 60-character line of Latin text.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f]")
_VIDEO_PATH = re.compile(r"/(?:videos?|watch|tv|live-?stream)(?:/|$)", re.IGNORECASE)
_VIDEO_MAX_CHARS = 800
_SHORT_LINE_CHARS = 60


def _path(url: str | None) -> str:
    if not url:
        return ""
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return ""


def display_length(line: str) -> int:
    """Length with unspaced-script characters counted twice (they are full-width words)."""
    return len(line) + len(_UNSPACED.findall(line))


def word_count(text: str) -> int:
    """Whitespace words, with every two unspaced-script characters counted as one more."""
    return len(text.split()) + len(_UNSPACED.findall(text)) // 2


def non_article_reason(draft: Draft) -> str | None:
    """Why this page is not an article (a skip reason), or None when it is one."""
    text = draft.text
    page_type = (draft.page_type or "").lower()
    path = _path(draft.canonical_url or draft.record.url)
    if len(text) <= _CONSENT_MAX_CHARS and _CONSENT.search(text):
        return "consent_wall"
    if page_type.startswith("video") or (_VIDEO_PATH.search(path) and
                                         len(text) < _VIDEO_MAX_CHARS):
        return "video_page"
    lines = [line for line in text.split("\n") if line.strip()]
    mostly_short = len(lines) >= 8 and \
        sum(display_length(line) < _SHORT_LINE_CHARS for line in lines) / len(lines) > 0.7
    if draft.record.body_kind == "html" and (path == "/" or _INDEX_PATH.search(path) or
                                             mostly_short):
        return "index_page"
    if display_length(text) < MIN_ARTICLE_CHARS or word_count(text) < MIN_ARTICLE_WORDS:
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
