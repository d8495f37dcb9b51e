"""What an HTML page declares about itself, read once from the parsed tree.

JSON-LD (``@graph``, lists, nested ``mainEntity``, ``@id`` references), OpenGraph and other
``<meta>`` tags, microdata (``itemprop``), ``<time datetime>`` near the headline, headlines and
bylines. Values come back as the page wrote them, each with the name of where it was found, so
later steps can weigh them (``newsflow.transforms.dates``, ``titles``, ``authors``,
``classify``) and the provenance stays visible.

This module imports only lxml, the standard library and ``timestamps``: it runs inside the
extraction child process (``newsflow.transforms.extractor``), on the tree trafilatura then
extracts from.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from newsflow.transforms.timestamps import find_date_in_text, is_date_line

#: JSON-LD ``@type`` values that declare a page to be one article (schema.org Article and its
#: subtypes that news sites use).
ARTICLE_TYPES = frozenset(t.lower() for t in (
    "Article", "NewsArticle", "BlogPosting", "ReportageNewsArticle", "AnalysisNewsArticle",
    "OpinionNewsArticle", "ReviewNewsArticle", "BackgroundNewsArticle", "AskPublicNewsArticle",
    "LiveBlogPosting", "SatiricalArticle", "TechArticle", "ScholarlyArticle", "Report",
    "SocialMediaPosting", "Review"))
#: Types that declare a listing rather than one story (an ItemList may also be an article's
#: carousel, so it counts only for pages that declare nothing else).
INDEX_TYPES = frozenset(t.lower() for t in (
    "CollectionPage", "SearchResultsPage", "ProfilePage", "Blog"))
LIST_TYPES = frozenset(("itemlist",))
#: OpenGraph types are kept with an ``og:`` prefix, JSON-LD types as they are (lower-case).
OG_ARTICLE = "og:article"
VIDEO_TYPES = frozenset(("videoobject", "og:video", "og:video.other", "og:video.movie",
                         "og:video.episode", "og:video.tv_show"))

#: <meta> names/properties (lower-case) that carry the publication date, by source name.
PUBLISHED_META = {
    "opengraph": ("article:published_time", "og:published_time", "og:article:published_time",
                  "article:published", "og:pubdate"),
    "meta": ("pubdate", "publishdate", "publish-date", "publish_date", "published_time",
             "published-date", "date", "dc.date", "dc.date.issued", "dc.date.created",
             "dcterms.date", "dcterms.issued", "dcterms.created", "citation_publication_date",
             "citation_date", "sailthru.date", "parsely-pub-date", "article.published",
             "article_date_original", "original-publish-date", "publication_date",
             "rnews:datepublished", "datepublished", "cxenseparse:recs:publishtime",
             "vr:published_time", "date.release", "displaydate", "release_date",
             "article.created", "created", "datecreated", "epoch-publish-date",
             "ptime", "pdate", "publishedat", "firstpublishedat"),
}
MODIFIED_META = ("article:modified_time", "og:updated_time", "article:updated_time",
                 "datemodified", "last-modified", "dc.date.modified", "dcterms.modified",
                 "article_date_updated", "lastmod", "utime", "sailthru.lastmodified")
_TITLE_META = ("og:title", "twitter:title")
_SITE_META = ("og:site_name", "application-name", "dc.publisher", "publisher",
              "al:ios:app_name", "twitter:app:name:iphone")
_AUTHOR_META = ("author", "article:author", "dc.creator", "dcterms.creator", "byl",
                "sailthru.author", "parsely-author", "article_author", "citation_author",
                "cxenseparse:author", "author_name", "og:article:author")
_TAG_META = ("article:tag", "article:section", "news_keywords", "keywords", "parsely-section",
             "parsely-tags", "sailthru.tags")

_BYLINE_HINT = re.compile(r"byline|author|writer|byl\b|firma|autor|journalist|reporter",
                          re.IGNORECASE)
_NOT_BYLINE = re.compile(r"comment|avatar|img|image|photo|bio|about|related|more|list|login|"
                         r"follow|social|share|date|time|widget|popular",
                         re.IGNORECASE)
_DATE_HINT = re.compile(r"date|time|publish|posted|submitted|datum|fecha|meta|info|byline",
                        re.IGNORECASE)
_UPDATED_HINT = re.compile(r"updated|modified|aktualisiert|actualizado|mis à jour|更新",
                           re.IGNORECASE)
_HATOM = re.compile(r"(?:^|\s)(?:published|updated)(?:\s|$)")
_COMMENTS = re.compile(r"comment|disqus|respon|discussion|forum", re.IGNORECASE)
_WS = re.compile(r"\s+")
_MAX_VALUE_CHARS = 400
_MAX_BYLINE_CHARS = 200
#: How far (in elements, document order) a <time> or byline may be from the headline.
_NEAR_HEADLINE_BEFORE = 20
_NEAR_HEADLINE_AFTER = 250
_MAX_DATE_TEXT_CHARS = 120
_DATE_LINE_ELEMENTS = 40

_MAX_H1 = 3
_MIN_HEADLINE_CHARS = 8
_MAX_BYLINES = 2
_MAX_TAGS = 50
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_MAX_JSONLD_CHARS = 2_000_000


@dataclass
class _Collected:
    """Elements of interest, gathered by one XPath over the tree."""

    metas: list
    scripts: list
    titles: list
    h1s: list
    links: list
    itemprops: list


def clean_value(value) -> str:
    """Whitespace-collapsed text, capped; non-strings give ''."""
    if not isinstance(value, str):
        return ""
    return _WS.sub(" ", value).strip()[:_MAX_VALUE_CHARS]


def _collect(tree) -> _Collected:
    found = _Collected([], [], [], [], [], [])
    nodes = tree.xpath(
        "//meta|//script[@type='application/ld+json' or @type='application/json+ld']|//title|"
        "//h1|//link[@rel]|//*[@itemprop]")
    for node in nodes:
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag == "meta":
            found.metas.append(node)
        elif tag == "script":
            found.scripts.append(node)
        elif tag == "title":
            found.titles.append(node)
        elif tag == "link":
            found.links.append(node)
        if tag == "h1":
            found.h1s.append(node)
        if node.get("itemprop"):
            found.itemprops.append(node)
    return found


def _around_headline(tree, headline) -> tuple[list, list]:
    """The elements just before and after the headline, in document order: where a story's
    date line, ``<time>`` and byline are (an article element stands in without a headline)."""
    if headline is None:
        return [], tree.xpath(
            f"(//article|//main)[1]//*[position() <= {_NEAR_HEADLINE_AFTER}]")
    return (headline.xpath(f"preceding::*[position() <= {_NEAR_HEADLINE_BEFORE}]"),
            headline.xpath(f"following::*[position() <= {_NEAR_HEADLINE_AFTER}]"))


# ---------------------------------------------------------------- JSON-LD


def _load_json(text: str):
    text = text.strip()
    if text.startswith("<!--"):
        text = text[4:]
    if text.endswith("-->"):
        text = text[:-3]
    text = text.strip().removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
    if not text or len(text) > _MAX_JSONLD_CHARS:
        return None
    try:
        return json.loads(text)
    except ValueError:
        pass
    # common breakage: raw newlines/tabs inside strings, trailing commas
    repaired = re.sub(r"[\x00-\x1f]", " ", text)
    repaired = re.sub(r",\s*([}\]])", r"\1", repaired)
    try:
        return json.loads(repaired)
    except ValueError:
        return None


def _types_of(entity: dict) -> tuple[str, ...]:
    raw = entity.get("@type")
    values = raw if isinstance(raw, list) else [raw]
    out = []
    for value in values:
        if isinstance(value, str) and value:
            out.append(value.rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower())
    return tuple(out)


def _flatten(data, out: list, depth: int = 0) -> None:
    """Every typed JSON-LD object, including ``@graph`` members and nested main entities."""
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            _flatten(item, out, depth + 1)
        return
    if not isinstance(data, dict):
        return
    if "@graph" in data:
        _flatten(data["@graph"], out, depth + 1)
    if "@type" in data:
        out.append(data)
    for key in ("mainEntity", "mainEntityOfPage", "itemReviewed"):
        nested = data.get(key)
        if isinstance(nested, dict) and "@type" in nested:
            _flatten(nested, out, depth + 1)


def jsonld_entities(scripts) -> list[dict]:
    entities: list[dict] = []
    for script in scripts:
        data = _load_json(script.text or "")
        if data is not None:
            _flatten(data, entities)
    return entities


def _resolve(value, by_id: dict):
    """A ``{"@id": ...}`` reference completed with the entity it points to."""
    if isinstance(value, dict) and isinstance(value.get("@id"), str) and value["@id"] in by_id:
        return {**by_id[value["@id"]], **value}
    return value


def _names(value, by_id: dict) -> list[tuple[str, str]]:
    """``(name, kind)`` of a JSON-LD person/organization value (string, object or list);
    kind is ``person``, ``organization`` or ``unknown``."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items[:20]:
        item = _resolve(item, by_id)
        if isinstance(item, str):
            out.append((clean_value(item), "unknown"))
        elif isinstance(item, dict):
            name = item.get("name")
            if isinstance(name, list):
                name = name[0] if name else None
            if isinstance(name, dict):
                name = name.get("@value")
            types = _types_of(item)
            kind = "person" if "person" in types else (
                "organization" if any("organization" in t or t == "corporation" for t in types)
                else "unknown")
            if isinstance(name, str):
                out.append((clean_value(name), kind))
    return [(name, kind) for name, kind in out if name]


def _text_of(value) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("@value") or value.get("name") or ""
    return clean_value(value) if isinstance(value, str) else ""


def _keywords(value) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [clean_value(v) for v in value if isinstance(v, str) and v.strip()]
    return []


def _main_article(entities: list[dict], url: str | None) -> dict | None:
    articles = [e for e in entities if set(_types_of(e)) & ARTICLE_TYPES]
    if not articles:
        return None
    if url and len(articles) > 1:
        bare = url.split("#", 1)[0].rstrip("/")
        for entity in articles:
            own = entity.get("url") or entity.get("@id") or ""
            page = entity.get("mainEntityOfPage")
            if isinstance(page, dict):
                page = page.get("@id") or page.get("url") or ""
            if any(isinstance(v, str) and v.split("#", 1)[0].rstrip("/") == bare
                   for v in (own, page)):
                return entity
    with_dates = [e for e in articles if e.get("datePublished") or e.get("headline")]
    return (with_dates or articles)[0]


# ---------------------------------------------------------------- the page


def _meta_key(node) -> str:
    return (node.get("property") or node.get("name") or node.get("itemprop") or
            node.get("http-equiv") or "").strip().lower()


def _element_text(node) -> str:
    return clean_value(" ".join(node.itertext()))


def _headline_variants(h1) -> list[str]:
    """The whole headline text and the text of each child element: a headline element often
    holds a kicker, the site name or the byline next to the headline itself."""
    variants = [_element_text(h1)]
    own = clean_value(h1.text or "")
    if own:
        variants.append(own)
    for child in h1:
        if isinstance(child.tag, str):
            text = _element_text(child)
            if text:
                variants.append(text)
    # a <br> splits headline from byline
    lines, current = [], [h1.text or ""]
    for child in h1.iter():
        if child is h1:
            continue
        if child.tag == "br":
            lines.append("".join(current))
            current = [child.tail or ""]
        elif isinstance(child.tag, str):
            current.append(child.text or "")
            current.append(child.tail or "")
    lines.append("".join(current))
    if len(lines) > 1:
        variants.extend(clean_value(line) for line in lines)
    seen, out = set(), []
    for variant in variants:
        if variant and variant not in seen:
            seen.add(variant)
            out.append(variant)
    return out


def _in_comments(node, zones: dict) -> bool:
    """Whether an ancestor of ``node`` is marked as a comments section. ``zones`` remembers
    the answer per ancestor for one page: its elements are asked about under the same few
    ancestors."""
    walked = []
    inside = False
    for ancestor in node.iterancestors():
        known = zones.get(ancestor)
        if known is not None:
            inside = known
            break
        walked.append(ancestor)
        if _COMMENTS.search(f"{ancestor.get('class', '')} {ancestor.get('id', '')}"):
            inside = True
            break
    for ancestor in walked:  # each is inside if it or one of its own ancestors is marked
        zones[ancestor] = inside
    return inside


def _shown_date(node) -> str | None:
    """The text of a date line under the headline ("Submitted on Mon, 2019-01-21 13:49"), unless
    it is an update time or a photo caption."""
    if len(node) > 8 or _UPDATED_HINT.search(f"{node.get('class', '')} {node.get('id', '')}"):
        return None
    if any(a.tag in ("figure", "figcaption") or "caption" in (a.get("class") or "")
           for a in node.iterancestors()):
        return None
    text = _element_text(node)
    if not text or len(text) > _MAX_DATE_TEXT_CHARS or not any(ch.isdigit() for ch in text) \
            or _UPDATED_HINT.search(text) or find_date_in_text(text) is None:
        return None
    return text


@dataclass
class _Facts:
    """What the readers below find, in the order they find it."""

    types: list = field(default_factory=list)
    dates: list = field(default_factory=list)
    modified: list = field(default_factory=list)
    titles: list = field(default_factory=list)
    authors: list = field(default_factory=list)
    site_names: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    body_chars: int = 0  # length of the article body the page declares (JSON-LD articleBody)
    comment_zones: dict = field(default_factory=dict)  # _in_comments' answers on this page


def _read_jsonld(facts: _Facts, scripts, url: str | None) -> None:
    """The article entity's dates, headline, authors, publisher and keywords; site names."""
    entities = jsonld_entities(scripts)
    by_id = {e["@id"]: e for e in entities if isinstance(e.get("@id"), str)}
    article = _main_article(entities, url)
    for entity in entities:
        facts.types.extend(_types_of(entity))
    dated = article
    if dated is None:  # a WebPage or a video carrying the dates
        dated = next((e for e in entities
                      if set(_types_of(e)) & ({"webpage", "itempage"} | VIDEO_TYPES) and
                      (e.get("datePublished") or e.get("uploadDate"))), None)
    if dated is not None:
        for key, source in (("datePublished", "json_ld"), ("uploadDate", "json_ld"),
                            ("dateCreated", "json_ld_created")):
            value = _text_of(dated.get(key))
            if value:
                facts.dates.append((source, value))
        value = _text_of(dated.get("dateModified"))
        if value:
            facts.modified.append(("json_ld", value))
    if article is not None:
        headline = _text_of(article.get("headline")) or _text_of(article.get("name"))
        if headline:
            facts.titles.append(("json_ld", headline))
        for key in ("author", "creator"):
            facts.authors.extend(("json_ld", name, kind)
                                 for name, kind in _names(article.get(key), by_id))
        facts.site_names.extend(name for name, _ in _names(article.get("publisher"), by_id))
        for key in ("keywords", "articleSection"):
            facts.tags.extend(_keywords(article.get(key)))
        body = article.get("articleBody")
        if isinstance(body, str):
            facts.body_chars = len(_WS.sub(" ", body).strip())
    for entity in entities:
        entity_types = set(_types_of(entity))
        if not isinstance(entity.get("name"), str):
            continue
        if "website" in entity_types or (
                entity_types & {"newsmediaorganization", "organization"} and
                entity is not article and len(facts.site_names) < 4):
            facts.site_names.append(clean_value(entity["name"]))


def _read_meta(facts: _Facts, meta, metas: dict) -> None:
    """OpenGraph and other ``<meta>``: type, dates, titles, site names, authors, tags."""
    og_type = meta("og:type")
    if og_type:
        facts.types.insert(0, "og:" + og_type[0].lower())
    for source, keys in PUBLISHED_META.items():
        for key in keys:
            facts.dates.extend((source, value) for value in meta(key))
    for key in ("parsely-page", "parsely-metadata"):
        for value in metas.get(key, ()):
            data = _load_json(value)
            if isinstance(data, dict) and isinstance(data.get("pub_date"), str):
                facts.dates.append(("meta", clean_value(data["pub_date"])))
    for key in MODIFIED_META:
        facts.modified.extend(("meta", value) for value in meta(key))
    for key in _TITLE_META:
        facts.titles.extend((key.split(":")[0], value) for value in meta(key))
    facts.site_names[:0] = meta("og:site_name")
    facts.site_names.extend(meta(*_SITE_META[1:]))
    for key in _AUTHOR_META:
        facts.authors.extend(("meta", value, "unknown") for value in meta(key))
    for key in _TAG_META:
        for value in meta(key):
            facts.tags.extend(part.strip() for part in value.split(",") if part.strip())


def _read_microdata(facts: _Facts, itemprops) -> list:
    """``itemprop`` dates and headline; returns ``(node, name)`` of the author elements."""
    item_authors = []
    for node in itemprops:
        prop = node.get("itemprop", "").strip().lower()
        if prop not in ("datepublished", "datecreated", "datemodified", "headline", "author"):
            continue
        if _in_comments(node, facts.comment_zones):
            continue
        value = clean_value(node.get("content") or node.get("datetime") or
                            (node.get("title") if node.tag == "abbr" else None) or
                            _element_text(node))
        if not value:
            continue
        if prop == "datepublished":
            facts.dates.append(("itemprop", value))
        elif prop == "datecreated":
            facts.dates.append(("itemprop_created", value))
        elif prop == "datemodified":
            facts.modified.append(("itemprop", value))
        elif prop == "headline" and node.get("content"):
            facts.titles.append(("itemprop", value))
        elif prop == "author" and len(value) <= _MAX_BYLINE_CHARS:
            inner = node.xpath(".//*[@itemprop='name']")
            name = clean_value(inner[0].get("content") or _element_text(inner[0])) if inner \
                else value
            item_authors.append((node, name))
    return item_authors


def _read_around_headline(facts: _Facts, tree, headline, item_authors) -> None:
    """``<time>``/hAtom times, the date line and bylines near the shown headline."""
    before, after = _around_headline(tree, headline)
    near = [n for n in before + after if isinstance(n.tag, str)]
    for node in near:
        if node.tag != "time" and not (_HATOM.search(node.get("class") or "") and
                                       node.get("title")) or \
                _in_comments(node, facts.comment_zones):
            continue
        classes = (node.get("class") or "").lower()
        if "updated" in classes or "modified" in classes:
            value = clean_value(node.get("datetime") or node.get("title") or "")
            if value:
                facts.modified.append(("time_element", value))
            continue
        value = clean_value(node.get("datetime") or node.get("title") or _element_text(node))
        if value:
            facts.dates.append(("time_element", value))
            break
    shown_date = _date_line(after, facts.comment_zones)
    if shown_date:
        facts.dates.append(("headline_date", shown_date))
    # microdata authors of this story (near its headline), not of the teasers around it
    near_ids = {id(n) for n in near}
    for node, name in item_authors:
        if node.tag == "meta" or id(node) in near_ids or headline is None:
            facts.authors.append(("itemprop", name, "unknown"))
    bylines = 0
    for node in near:
        hint = f"{node.get('class', '')} {node.get('id', '')}"
        if bylines >= _MAX_BYLINES:
            break
        if node.get("rel") != "author" and not _BYLINE_HINT.search(hint) or \
                _in_comments(node, facts.comment_zones):
            continue
        if node.get("rel") != "author" and _NOT_BYLINE.search(hint) and \
                not re.search(r"byline|author-?name|name", hint, re.IGNORECASE):
            continue
        text = _element_text(node)
        if text and len(text) <= _MAX_BYLINE_CHARS:
            facts.authors.append(("byline", text, "unknown"))
            bylines += 1


def _locale(tree, meta) -> str | None:
    root = tree.getroottree().getroot() if hasattr(tree, "getroottree") else tree
    for value in [root.get("lang"), root.get("xml:lang")] + meta(
            "og:locale", "content-language", "language", "dc.language"):
        if value and _LOCALE.match(value.strip()):
            return value.strip()
    return None


def _canonical(links, meta, url: str | None) -> str | None:
    canonical = next((node.get("href").strip() for node in links
                      if "canonical" in (node.get("rel") or "").lower().split()
                      and node.get("href")), None)
    if not canonical:
        og_url = meta("og:url")
        canonical = og_url[0] if og_url else None
    if canonical and url:
        canonical = urljoin(url, canonical)
    if canonical and not canonical.lower().startswith(("http://", "https://")):
        return None
    return canonical


def _date_line(after, comment_zones: dict) -> str | None:
    """The date line under the headline: the first date-classed element's date ("Submitted on
    Mon, 2019-01-21 13:49"), else the first element that is a date and little else."""
    for node in after:
        if isinstance(node.tag, str) and node.tag not in ("time", "meta") and \
                _DATE_HINT.search(f"{node.get('class', '')} {node.get('id', '')}") and \
                not _in_comments(node, comment_zones):
            shown = _shown_date(node)
            if shown:
                return shown
    for node in after[:_DATE_LINE_ELEMENTS]:
        if isinstance(node.tag, str) and len(node) <= 2 and \
                not _in_comments(node, comment_zones):
            text = _element_text(node)
            if text and is_date_line(text) and not _UPDATED_HINT.search(text):
                return text
    return None


def _fold(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


def _story_headline(shown: list, titles: list):
    """The headline element of the story (pages also put their logo, section or a copy for
    small screens in an ``<h1>``): among those stating most of a metadata title, one inside
    ``<article>``/``<main>``, else the last; without any, the first."""
    declared = [_fold(text) for source, text in titles if source != "h1"]

    def states_title(node) -> bool:
        text = _fold(_element_text(node))
        return len(text) >= _MIN_HEADLINE_CHARS and any(
            (text in title or title in text) and 2 * len(text) >= len(title)
            for title in declared if title)

    matching = [node for node in shown if states_title(node)] or shown[:1]
    in_story = [node for node in matching
                if any(a.tag in ("article", "main") for a in node.iterancestors())]
    return (in_story or matching)[-1] if matching else None


def read_page_metadata(tree, url: str | None = None) -> dict:
    """Everything the page declares, as plain picklable values.

    Keys: ``canonical_url``; ``types`` (``og:`` + og:type, and JSON-LD types, lower-case);
    ``dates`` and ``modified`` (``(source, raw)`` candidates, strongest source first); ``titles``
    (``(source, text)``); ``site_names``; ``authors`` (``(source, name, kind)``); ``tags``;
    ``locale`` (the page's declared language and country); ``body_chars`` (the length of the
    article body the page declares in JSON-LD, 0 when it declares none).
    """
    found = _collect(tree)
    metas: dict[str, list[str]] = {}
    for node in found.metas:
        key = _meta_key(node)
        content = node.get("content")
        if key and content is not None:
            metas.setdefault(key, []).append(content)

    def meta(*keys: str) -> list[str]:
        return [clean_value(v) for key in keys for v in metas.get(key, ()) if clean_value(v)]

    facts = _Facts()
    _read_jsonld(facts, found.scripts, url)
    _read_meta(facts, meta, metas)
    item_authors = _read_microdata(facts, found.itemprops)
    facts.titles.extend(("title", text) for text in map(_element_text, found.titles[:1])
                        if text)
    shown = found.h1s[:_MAX_H1] or tree.xpath(
        "//*[contains(@class,'entry-title') or contains(@class,'headline')]")[:1]
    for node in shown:
        facts.titles.extend(("h1", variant) for variant in _headline_variants(node))
    _read_around_headline(facts, tree, _story_headline(shown, facts.titles), item_authors)
    return {
        "canonical_url": _canonical(found.links, meta, url),
        "types": tuple(dict.fromkeys(facts.types)),
        "dates": tuple(dict.fromkeys(facts.dates)),
        "modified": tuple(dict.fromkeys(facts.modified)),
        "titles": tuple(dict.fromkeys(facts.titles)),
        "site_names": tuple(dict.fromkeys(n for n in facts.site_names if n)),
        "authors": tuple(dict.fromkeys(facts.authors)),
        "tags": tuple(dict.fromkeys(t for t in facts.tags if t))[:_MAX_TAGS],
        "locale": _locale(tree, meta),
        "body_chars": facts.body_chars,
    }
