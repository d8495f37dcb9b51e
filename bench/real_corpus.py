"""A larger real-looking corpus built offline from real pages, written as Common Crawl-style WARCs.

The real pages are the Common Crawl HTML responses in
``shared/samples/warc/resiliparse/warcfile.warc.gz`` (their own HTTP headers and charsets) and
the saved pages in ``shared/devset/newspaper4k/html/`` (articles in a dozen languages, section
fronts, video pages, stubs). :func:`build_corpus` repeats them until it has ``n_docs`` pages.
The first round is the pages as they are; every later copy is the page re-serialized by lxml
with about half of its words (outside scripts and styles; characters, in scripts written
without spaces) swapped for other words of the same page, a marker comment, and its own URL
(canonical and ``og:url`` links follow). So each copy keeps the page's markup, size, language
and dates (what extraction, metadata and date detection cost), while its text shares few
5-word shingles with the other copies: dedup sees distinct stories, as in a real crawl,
instead of one giant cluster per page.

Each response is written with the headers a crawler keeps (HTTP ``Content-Type`` with its
charset, ``WARC-Identified-Payload-Type``), as a request/response pair per page, into
``n_files`` gzipped WARC files. Corpora are cached by their parameters (``cache_dir``), so
repeated runs at 10k or 100k pages do not rebuild them.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEVSET_PAGES = Path("devset/newspaper4k/html")
DEVSET_METADATA = Path("devset/newspaper4k/metadata")
CC_WARC = Path("samples/warc/resiliparse/warcfile.warc.gz")
CRAWL_END = datetime(2025, 6, 1, tzinfo=UTC)
#: Bump when the way copies are made changes: cached corpora are rebuilt.
CORPUS_VERSION = 4


@dataclass(frozen=True)
class RealPage:
    """One real page as a crawler stored it."""

    name: str
    url: str
    body: bytes
    content_type: str  # the HTTP Content-Type header (charset included when declared)
    payload_type: str  # WARC-Identified-Payload-Type
    encoding: str  # what the bytes decode with, to make copies
    fetched_at: datetime


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset=([\w.:-]+)", content_type, re.IGNORECASE)
    return match.group(1) if match else None


def _meta_charset(body: bytes) -> str | None:
    match = re.search(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", body[:4096], re.IGNORECASE)
    return match.group(1).decode("ascii") if match else None


def _usable(encoding: str | None, body: bytes) -> str | None:
    if not encoding:
        return None
    try:
        body.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        return None
    return encoding


def _encoding_of(body: bytes, content_type: str) -> str:
    """The charset the page declares (header, then meta) when it decodes the bytes, else UTF-8
    if that works, else cp1252 (decodes anything)."""
    for candidate in (_charset(content_type), _meta_charset(body), "utf-8"):
        found = _usable(candidate, body)
        if found:
            return found
    return "cp1252"


def load_real_pages(shared: Path) -> list[RealPage]:
    """The Common Crawl responses and the devset pages, in a fixed order."""
    from warcio.archiveiterator import ArchiveIterator

    pages = []
    with open(shared / CC_WARC, "rb") as handle:
        for record in ArchiveIterator(handle):
            if record.rec_type != "response":
                continue
            body = record.content_stream().read()
            content_type = record.http_headers.get_header("Content-Type") or "text/html"
            url = record.rec_headers.get_header("WARC-Target-URI")
            when = datetime.strptime(record.rec_headers.get_header("WARC-Date"),
                                     "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            pages.append(RealPage(
                f"cc:{url}", url, body, content_type,
                record.rec_headers.get_header("WARC-Identified-Payload-Type") or "text/html",
                _encoding_of(body, content_type), when))
    for index, path in enumerate(sorted((shared / DEVSET_PAGES).glob("*.html"))):
        body = path.read_bytes()
        metadata = shared / DEVSET_METADATA / f"{path.stem}.json"
        url = None
        if metadata.exists():
            url = json.loads(metadata.read_text(encoding="utf-8")).get("url") or None
        if not url or not url.startswith(("http://", "https://")):
            url = f"https://devset.example/{path.stem}.html"
        encoding = _encoding_of(body, "text/html")
        pages.append(RealPage(
            f"devset:{path.stem}", url, body, f"text/html; charset={encoding}", "text/html",
            encoding, CRAWL_END - timedelta(hours=7 * index)))
    return pages


# ---------------------------------------------------------------------------------------------
# Copies

#: Scripts written without spaces (CJK, Thai, Lao, Burmese): dedup compares them character by
#: character, so their copies swap characters rather than whole runs.
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                       r"\uac00-\ud7af]")
_WORD = re.compile(rf"[^\W\d_]{{3,}}|{_UNSPACED.pattern}+")
_LINKS = re.compile(
    r"<link\b[^>]*\brel=[\"']?canonical[\"']?[^>]*>|<meta\b[^>]*\bproperty=[\"']og:url[\"'][^>]*>",
    re.IGNORECASE)
_HREF = re.compile(r"\b(?:href|content)=[\"']([^\"']+)[\"']", re.IGNORECASE)
_NOT_TEXT = {"script", "style", "noscript", "template"}


class _Template:
    """What copies of one page are made from: its text's words and characters, its own URLs."""

    def __init__(self, page: RealPage):
        self.page = page
        self.html = page.body.decode(page.encoding, errors="replace")
        tree = _parse(self.html)
        words = set()
        for text in _texts(tree):
            words.update(_WORD.findall(text))
        self.words = sorted(words)
        self.chars = sorted({char for word in self.words for char in word
                             if _UNSPACED.match(char)})
        self.own_urls = sorted({h.group(1) for tag in _LINKS.findall(self.html)
                                for h in _HREF.finditer(tag)
                                if h.group(1).startswith(("http://", "https://"))})


def _parse(html: str):
    import lxml.html

    return lxml.html.document_fromstring(re.sub(r"^\s*<\?xml[^>]*>", "", html) or "<html/>")


def _texts(tree):
    """Every text and tail string of the page outside scripts and styles."""
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue  # comments, processing instructions: their tails only
        if element.tag not in _NOT_TEXT and element.text:
            yield element.text
        if element.tail:
            yield element.tail


def _with_copy(url: str, copy: int) -> str:
    base, _, fragment = url.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}nfcopy={copy}"
    return f"{joined}#{fragment}" if fragment else joined


def make_copy(template: _Template, copy: int, seed: int) -> RealPage:
    """Copy ``copy`` (>= 1) of a page: half its words swapped, a marker, its own URL."""
    import lxml.etree
    import lxml.html

    page = template.page
    rng = random.Random(f"{seed}:{page.name}:{copy}")
    words, chars = template.words, template.chars

    def swap(match: re.Match) -> str:
        word = match.group(0)
        if chars and _UNSPACED.match(word):
            return "".join(chars[rng.randrange(len(chars))] if rng.random() < 0.5 else char
                           for char in word)
        if rng.random() >= 0.5:
            return word
        return words[rng.randrange(len(words))]

    html = template.html
    for own in template.own_urls:
        html = html.replace(f'"{own}"', f'"{_with_copy(own, copy)}"')
    tree = _parse(html)
    for element in tree.iter():
        if not isinstance(element.tag, str):
            if element.tail:
                element.tail = _WORD.sub(swap, element.tail)
            continue
        if element.tag not in _NOT_TEXT and element.text:
            element.text = _WORD.sub(swap, element.text)
        if element.tail:
            element.tail = _WORD.sub(swap, element.tail)
    tree.insert(0, lxml.etree.Comment(f" newsflow bench copy {copy} of {page.name} "))
    body = lxml.html.tostring(tree, encoding=page.encoding, doctype="<!DOCTYPE html>")
    fetched = page.fetched_at - timedelta(minutes=rng.randrange(30 * 24 * 60))
    return RealPage(page.name, _with_copy(page.url, copy), body, page.content_type,
                    page.payload_type, page.encoding, fetched)


def corpus_pages(pages: list[RealPage], n_docs: int, seed: int = 0):
    """``n_docs`` pages: the real pages first, then copies round after round (a generator)."""
    templates: dict[int, _Template] = {}
    for index in range(n_docs):
        copy, which = divmod(index, len(pages))
        if copy == 0:
            yield pages[which]
            continue
        if which not in templates:
            templates[which] = _Template(pages[which])
        yield make_copy(templates[which], copy, seed)


# ---------------------------------------------------------------------------------------------
# WARC files


def _record_id(*parts: str) -> str:
    digest = hashlib.sha1("|".join(parts).encode("utf-8")).hexdigest()
    return f"<urn:uuid:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}>"


def _warc_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _CrawlWriter:
    """Writes one gzipped WARC: a warcinfo record, then a request/response pair per page."""

    def __init__(self, handle, filename: str):
        from warcio.warcwriter import WARCWriter

        self._writer, self._filename = WARCWriter(handle, gzip=True), filename
        info = self._writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(b"software: newsflow bench real_corpus\r\n"
                                               b"format: WARC File Format 1.0\r\n"),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Record-ID": _record_id(filename, "warcinfo"),
                               "WARC-Date": _warc_date(CRAWL_END), "WARC-Filename": filename})
        self._writer.write_record(info)

    def page(self, page: RealPage) -> None:
        from warcio.statusandheaders import StatusAndHeaders

        rest = page.url.split("/", 3)
        host, path = rest[2], "/" + (rest[3] if len(rest) > 3 else "")
        request_id = _record_id(self._filename, page.url, "request")
        request = self._writer.create_warc_record(
            page.url, "request", payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(f"GET {path} HTTP/1.1",
                                          [("Host", host), ("User-Agent", "bench-crawler/1.0")],
                                          is_http_request=True),
            warc_headers_dict={"WARC-Record-ID": request_id,
                               "WARC-Date": _warc_date(page.fetched_at)})
        response = self._writer.create_warc_record(
            page.url, "response", payload=io.BytesIO(page.body),
            http_headers=StatusAndHeaders("200 OK", [
                ("Content-Type", page.content_type), ("Content-Length", str(len(page.body)))],
                protocol="HTTP/1.1"),
            warc_headers_dict={"WARC-Record-ID": _record_id(self._filename, page.url, "response"),
                               "WARC-Date": _warc_date(page.fetched_at),
                               "WARC-Concurrent-To": request_id,
                               "WARC-Identified-Payload-Type": page.payload_type})
        self._writer.write_record(request)
        self._writer.write_record(response)


@dataclass(frozen=True)
class Corpus:
    directory: Path  # the WARC files: directory / "*.warc.gz"
    files: list[Path]
    docs: int
    html_bytes: int

    @property
    def glob(self) -> str:
        return str(self.directory / "*.warc.gz")


def build_corpus(shared: Path, n_docs: int, n_files: int, cache_dir: Path,
                 seed: int = 0) -> Corpus:
    """Write (or reuse from ``cache_dir``) ``n_docs`` pages dealt round-robin into ``n_files``
    gzipped WARC files."""
    n_files = max(1, min(n_files, n_docs))
    directory = cache_dir / f"real-v{CORPUS_VERSION}-{n_docs}docs-{n_files}files-seed{seed}"
    manifest = directory / "_corpus.json"
    if manifest.exists():
        info = json.loads(manifest.read_text())
        return Corpus(directory, sorted(directory.glob("*.warc.gz")), info["docs"],
                      info["html_bytes"])
    directory.mkdir(parents=True, exist_ok=True)
    files = [directory / f"crawl-{i:05d}.warc.gz" for i in range(n_files)]
    handles = [open(path, "wb") for path in files]  # noqa: SIM115 - closed below
    html_bytes = 0
    try:
        writers = [_CrawlWriter(handle, path.name) for handle, path in
                   zip(handles, files, strict=True)]
        for index, page in enumerate(corpus_pages(load_real_pages(shared), n_docs, seed)):
            writers[index % n_files].page(page)
            html_bytes += len(page.body)
    finally:
        for handle in handles:
            handle.close()
    manifest.write_text(json.dumps({"docs": n_docs, "html_bytes": html_bytes}))
    return Corpus(directory, files, n_docs, html_bytes)


def iter_corpus_bodies(corpus: Corpus):
    """``(url, body bytes, content type)`` of every response in the corpus, file by file."""
    from warcio.archiveiterator import ArchiveIterator

    for path in corpus.files:
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "response":
                    yield (record.rec_headers.get_header("WARC-Target-URI"),
                           record.content_stream().read(),
                           record.http_headers.get_header("Content-Type"))
