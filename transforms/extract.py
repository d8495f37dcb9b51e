"""Extract main text and metadata from HTML with trafilatura, bounded in size and time.

trafilatura has no timeout of its own and ``signal.alarm`` only works in a main thread, which
Beam workers are not. So extraction runs in a child process per DoFn instance: a record that
takes longer than the limit gets its child killed and replaced, and becomes a dead letter
(``extract_timeout``) instead of a stuck worker. ``timeout_s=0`` extracts in-process (faster
to start, unbounded), which is what unit tests of the pure function use.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass

from schemas import DeadLetter, Draft, RawRecord, Skip, dead_letter
from transforms.dates import parse_iso_datetime
from transforms.stage import StageFn, StageTransform

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_HTML_CHARS = 5_000_000


@dataclass(frozen=True)
class ExtractSettings:
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS


def _split_keywords(values) -> tuple[str, ...]:
    out = []
    for value in values or ():
        out.extend(part.strip() for part in str(value).split(","))
    return tuple(part for part in out if part)


def extract_html(html: str, url: str | None) -> dict | None:
    """trafilatura's text and metadata for one page, as plain picklable values (or None)."""
    import trafilatura

    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False,
        deduplicate=False,
        date_extraction_params={"extensive_search": False, "original_date": True})
    if document is None or not (document.text or "").strip():
        return None
    authors = tuple(a.strip() for a in (document.author or "").split(";") if a.strip())
    return {"text": document.text, "title": document.title, "url": document.url,
            "authors": authors, "site_name": document.sitename,
            "tags": _split_keywords(document.categories) + _split_keywords(document.tags),
            "date": document.date, "page_type": document.pagetype}


def _serve(connection) -> None:
    """Child process loop: receive (html, url), send ("ok", result) or ("error", message)."""
    while True:
        try:
            html, url = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", extract_html(html, url)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as this page's error
            connection.send(("error", f"{type(exc).__name__}: {exc}"))


class ExtractionTimeout(Exception):
    pass


class ExtractionFailed(Exception):
    pass


class ExtractorProcess:
    """A child process running :func:`extract_html`, killed and restarted on timeout."""

    def __init__(self):
        self._context = multiprocessing.get_context("spawn")
        self._process = None
        self._connection = None
        self._start()

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child,), daemon=True,
                                              name="newsflow-extractor")
        self._process.start()
        child.close()
        self._connection = parent

    def extract(self, html: str, url: str | None, timeout_s: float) -> dict | None:
        if not self._process.is_alive():
            self._start()
        self._connection.send((html, url))
        if not self._connection.poll(timeout_s):
            self.close()
            self._start()
            raise ExtractionTimeout(f"extraction took longer than {timeout_s:g}s")
        try:
            status, payload = self._connection.recv()
        except EOFError as exc:  # the child died (e.g. out of memory): start a fresh one
            self.close()
            self._start()
            raise ExtractionFailed("extractor process died") from exc
        if status == "error":
            raise ExtractionFailed(payload)
        return payload

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=5)


def draft_from_text_record(record: RawRecord) -> Draft:
    """Text inputs need no extraction: the body is the text."""
    return Draft(record=record, text=record.body, title=record.title, tags=record.tags)


def draft_from_extraction(record: RawRecord, extracted: dict) -> Draft:
    return Draft(record=record, text=extracted["text"],
                 title=extracted["title"] or record.title,
                 canonical_url=extracted["url"], authors=extracted["authors"],
                 tags=record.tags + extracted["tags"], site_name=extracted["site_name"],
                 page_type=extracted["page_type"], page_date=parse_iso_datetime(extracted["date"]))


def check_size(record: RawRecord, settings: ExtractSettings) -> DeadLetter | None:
    if len(record.body) > settings.max_html_chars:
        return dead_letter("extract", "too_large",
                           f"{len(record.body)} characters > {settings.max_html_chars}",
                           record.source_ref, record.url, record.body)
    return None


class _ExtractPagesFn(StageFn):
    stage = "extract"

    def __init__(self, settings: ExtractSettings):
        super().__init__()
        self._settings = settings
        self._extractor: ExtractorProcess | None = None

    def setup(self):
        if self._settings.timeout_s > 0:
            self._extractor = ExtractorProcess()

    def teardown(self):
        if self._extractor is not None:
            self._extractor.close()

    def apply(self, record: RawRecord):
        if record.body_kind == "text":
            return draft_from_text_record(record)
        too_large = check_size(record, self._settings)
        if too_large:
            return too_large
        try:
            if self._extractor is None:
                extracted = extract_html(record.body, record.url)
            else:
                extracted = self._extractor.extract(record.body, record.url,
                                                    self._settings.timeout_s)
        except ExtractionTimeout as exc:
            return dead_letter("extract", "extract_timeout", exc, record.source_ref,
                               record.url, record.body)
        except ExtractionFailed as exc:
            return dead_letter("extract", "extract_error", exc, record.source_ref,
                               record.url, record.body)
        if extracted is None:
            return Skip("extract", "no_main_text", record.source_ref, record.url)
        return draft_from_extraction(record, extracted)


class ExtractPages(StageTransform):
    """RawRecord -> Draft; HTML goes through trafilatura, text inputs pass straight through."""

    def __init__(self, settings: ExtractSettings | None = None):
        super().__init__()
        self._settings = settings or ExtractSettings()

    def make_fn(self):
        return _ExtractPagesFn(self._settings)
