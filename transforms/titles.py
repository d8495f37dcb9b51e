"""Headlines without site furniture.

A page states its headline several times: JSON-LD ``headline``, ``og:title``,
``twitter:title``, ``itemprop=headline``, ``<title>`` and the ``<h1>``. The metadata titles
often carry the site's name ("… - CNN", "… | Reuters", "Site: …") and sometimes a section
("… » Local » Noticias » Ultima Hora Mallorca"); the ``<h1>`` is what readers see, but pages
also use ``<h1>`` for their logo.

The rule:

1. A prefix or suffix is removed from a title only when it is the page's declared site name
   (``og:site_name``, JSON-LD publisher or WebSite name...) or its domain, or starts with one
   of them ("CNN Politics"); section names between the headline and such a site name go with
   it when the same separator joins them. A title that merely contains a colon or a dash keeps
   it ("Alito and Prelogar: The nonstop sparring match").
2. The ``<h1>`` (or a part of it: headline elements also hold kickers, bylines, the site name)
   wins when it agrees with a metadata title: the same words, or the metadata title starts or
   ends with it and it covers at least half of it (an "Analysis:" kicker, a photo credit).
3. Otherwise the first metadata title in the order JSON-LD, og:title, twitter:title,
   itemprop; then the ``<h1>`` when it is a real headline (four words or more) longer than the
   ``<title>`` (which is then a generic page name: "News from The Associated Press"); then the
   ``<title>``; a page without any gets its first ``<h1>``.
"""

from __future__ import annotations

import html
import re
import unicodedata

from newsflow.transforms.urls import domain_of

_SEPARATORS = re.compile(r"\s*(?:\||｜|–|—|-{1,2}|·|•|»|«|::|/|:|：|›|~)\s*")
_WS = re.compile(r"\s+")
_NON_WORD = re.compile(r"[\W_]+")
_MAX_FURNITURE_WORDS = 6
_MAX_SECTIONS = 3
_MIN_HEADLINE_CHARS = 8
_MIN_HEADLINE_WORDS = 4
_METADATA_ORDER = ("json_ld", "og", "twitter", "itemprop", "title")
#: Host labels that say nothing about which site it is.
_GENERIC_LABELS = frozenset(("www", "news", "edition", "amp", "mobile", "com", "net", "org",
                             "gov", "edu", "english", "int", "online", "web", "blog", "blogs"))


def normalize_title(text: str | None) -> str:
    """Entities decoded, NFC, one space between words (ideographic spaces included)."""
    if not text:
        return ""
    text = html.unescape(text)
    return _WS.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold(text: str) -> str:
    """Case- and punctuation-blind form for comparing titles and names."""
    return _NON_WORD.sub("", text.casefold())


def site_keys(site_names, url: str | None) -> set[str]:
    """Folded forms a site-name prefix/suffix may take: declared names and domain labels."""
    keys = {fold(name) for name in site_names if name}
    domain = domain_of(url) if url else None
    if domain:
        keys.add(fold(domain))
        labels = domain.split(".")
        keys.update(fold(label) for label in labels[:-1]
                    if len(label) >= 3 and label not in _GENERIC_LABELS)
    return {key for key in keys if len(key) >= 2}


def is_site_segment(segment: str, keys: set[str]) -> bool:
    """Whether a title segment names the site: a key itself, a key plus a few words
    ("CNN Politics", "BBC中文网"), or the start of a longer declared name."""
    folded = fold(segment)
    if not folded:
        return False
    if folded in keys:
        return True
    if len(segment.split()) > _MAX_FURNITURE_WORDS:
        return False
    for key in keys:
        if len(key) >= 3 and (folded.startswith(key) or folded.endswith(key)):
            return True
        if len(folded) >= 4 and key.startswith(folded) and len(folded) * 2 >= len(key):
            return True
    return False


def _segments(title: str) -> list[tuple[int, int, str]]:
    """``(start, end, separator)`` of each separator occurrence."""
    return [(m.start(), m.end(), m.group().strip()) for m in _SEPARATORS.finditer(title)]


def _short(segment: str) -> bool:
    return 0 < len(segment.split()) <= _MAX_FURNITURE_WORDS and len(segment) <= 60


def strip_site_furniture(title: str, keys: set[str]) -> str:
    """``title`` without a site-name prefix or suffix (rule step 1)."""
    title = normalize_title(title)
    if not keys or not title:
        return title
    for _ in range(3):
        changed = False
        seps = _segments(title)
        # suffix: cut at the earliest separator after which every segment is short, joined by
        # the same separator, and one of them names the site
        for index, (start, _end, sep) in enumerate(seps):
            tail = seps[index:]
            if start == 0 or any(s[2] != sep for s in tail):
                continue
            parts = [title[tail[i][1]: tail[i + 1][0] if i + 1 < len(tail) else len(title)]
                     for i in range(len(tail))]
            if len(parts) <= _MAX_SECTIONS and all(_short(p) for p in parts) and \
                    any(is_site_segment(p, keys) for p in parts):
                if len(title[:start].strip()) >= _MIN_HEADLINE_CHARS:
                    title, changed = title[:start].strip(), True
                break
        # prefix: "Site: headline", "Site | headline"
        seps = _segments(title)
        if seps and seps[0][0] > 0:
            start, end, _ = seps[0]
            head = title[:start]
            if is_site_segment(head, keys) and len(title[end:].strip()) >= _MIN_HEADLINE_CHARS:
                title, changed = title[end:].strip(), True
        for key_name in sorted(keys, key=len, reverse=True):
            folded_title = fold(title)
            if len(key_name) >= 4 and folded_title.startswith(key_name) and \
                    len(folded_title) > len(key_name) + _MIN_HEADLINE_CHARS:
                # a declared name that itself holds a separator ("Site | Tagline: headline")
                cut = _cut_after_folded_prefix(title, key_name)
                if cut is not None:
                    title, changed = cut, True
                    break
        if not changed:
            break
    return title


def _cut_after_folded_prefix(title: str, key: str) -> str | None:
    consumed = ""
    for index, char in enumerate(title):
        consumed += char
        if fold(consumed) == key:
            rest = title[index + 1:]
            match = _SEPARATORS.match(rest)
            if match and match.end() > 0:
                return rest[match.end():].strip() or None
            return None
        if len(fold(consumed)) > len(key):
            return None
    return None


def _agrees(headline: str, metadata_title: str) -> bool:
    h, m = fold(headline), fold(metadata_title)
    if len(h) < _MIN_HEADLINE_CHARS // 2:
        return False
    if h == m:
        return True
    return (m.startswith(h) or m.endswith(h)) and len(h) * 2 >= len(m)


def choose_title(titles, site_names=(), url: str | None = None,
                 fallback: str | None = None) -> str | None:
    """The page's headline from ``(source, text)`` candidates (see the module docstring)."""
    keys = site_keys(site_names, url)
    metadata = [(source, strip_site_furniture(text, keys)) for source, text in titles
                if source != "h1"]
    metadata = [(source, text) for source, text in metadata if text]
    headlines = [normalize_title(text) for source, text in titles if source == "h1"]
    headlines = [text for text in headlines if text and not is_site_segment(text, keys)]
    best = None
    for headline in headlines:
        for _, text in metadata:
            if _agrees(headline, text):
                exact = fold(headline) == fold(text)
                score = (exact, len(headline))
                if best is None or score > best[0]:
                    best = (score, headline)
    if best is not None:
        return best[1]
    for wanted in _METADATA_ORDER[:-1]:
        for source, text in metadata:
            if source == wanted:
                return text
    page_titles = [text for source, text in metadata if source == "title"]
    if headlines and (not page_titles or (
            len(headlines[0].split()) >= _MIN_HEADLINE_WORDS and
            len(headlines[0]) > len(page_titles[0]))):
        return headlines[0]
    if page_titles:
        return page_titles[0]
    return normalize_title(fallback) or None
