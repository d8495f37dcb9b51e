"""What a page declares itself to be: its JSON-LD and Open Graph types, and its URL.

Pure and free of Beam: the extraction child asks :func:`declared_non_article` before it
extracts anything, and ``classify`` builds its rules on the same helpers.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from newsflow.transforms.metadata import (
    ARTICLE_TYPES,
    INDEX_TYPES,
    LIST_TYPES,
    OG_ARTICLE,
    VIDEO_TYPES,
)

#: A site's front page: ``/``, ``/en/``, ``/index.html``.
FRONT_PAGE = re.compile(r"^/(?:[a-z]{2}(?:-[a-z]{2})?/)?(?:index(?:\.\w+)?)?/?$", re.IGNORECASE)

#: A URL path naming a video page.
VIDEO_PATH = re.compile(r"/(?:videos?|watch|tv|live-?stream)(?:/|$)", re.IGNORECASE)


def url_path(url: str | None) -> str:
    """The URL's path (``/`` when it has none; empty for no URL or one that cannot be read)."""
    if not url:
        return ""
    try:
        return urlsplit(url).path or "/"
    except ValueError:
        return ""


def declares_article(types: set[str]) -> bool:
    """A JSON-LD article type: the page's own, explicit statement."""
    return bool(types & ARTICLE_TYPES)


def declares_video(types: set[str]) -> bool:
    return bool(types & VIDEO_TYPES) and not declares_article(types)


def declares_index(types: set[str]) -> bool:
    if declares_article(types):
        return False
    return bool(types & INDEX_TYPES) or (bool(types & LIST_TYPES) and OG_ARTICLE not in types)


def declared_non_article(types: set[str], url: str | None) -> str | None:
    """The skip reason a page's declarations and URL settle whatever its text: a declared
    video, the site's front page, or a declared listing (not under a video path, where a short
    text makes a video page), none of them declaring an article; None otherwise. It is what
    ``classify.non_article_reason`` says of such an HTML page for any text but a consent
    wall's, so extraction asks it first and spares the page's extraction (front pages are
    the largest pages of a crawl)."""
    if declares_article(types):
        return None
    path = url_path(url)
    front = FRONT_PAGE.match(path)
    if OG_ARTICLE in types and not front:
        return None
    if declares_video(types):
        return "video_page"
    if front or (declares_index(types) and not VIDEO_PATH.search(path)):
        return "index_page"
    return None
