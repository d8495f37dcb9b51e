"""Extract main text and metadata from HTML with trafilatura, bounded in size and time.

trafilatura has no timeout of its own and ``signal.alarm`` only works in a main thread, which
Beam workers are not. So extraction runs in a child process per DoFn instance
(:mod:`newsflow.transforms.child`): a record that takes longer than the limit gets its child
killed and replaced, and becomes a dead letter (``extract_timeout``) instead of a stuck worker.
``timeout_s=0`` extracts in-process (faster to start, unbounded).
"""

from __future__ import annotations

from dataclasses import dataclass

from newsflow.schemas import DeadLetter, Draft, PageFacts, RawRecord, Skip, dead_letter
from newsflow.transforms.authors import resolve_authors
from newsflow.transforms.child import ChildFailed, ChildProcess, ChildTimeout
from newsflow.transforms.extractor import extract_html
from newsflow.transforms.stage import ApplyStep, Step
from newsflow.transforms.titles import choose_title, site_keys

DEFAULT_TIMEOUT_S = 30.0
#: What the extraction child runs.
EXTRACTOR = "newsflow.transforms.extractor:extract_html"
DEFAULT_MAX_HTML_CHARS = 5_000_000


@dataclass(frozen=True)
class ExtractSettings:
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_html_chars: int = DEFAULT_MAX_HTML_CHARS


def draft_from_text_record(record: RawRecord) -> Draft:
    """Text inputs need no extraction: the body is the text."""
    return Draft(record=record, text=record.body, title=record.title, tags=record.tags)


def draft_from_extraction(record: RawRecord, extracted: dict) -> Draft:
    """A draft from the extracted text and what the page declares: headline without site
    furniture, authors (and a wire agency named as author), site name, canonical URL, tags."""
    page = extracted["page"]
    url = page["canonical_url"] or record.url
    keys = site_keys(page["site_names"], url)
    authors, wire = resolve_authors(page["authors"], keys)
    facts = PageFacts(types=page["types"], dates=page["dates"], modified=page["modified"],
                      titles=page["titles"], site_names=page["site_names"],
                      authors=page["authors"], locale=page["locale"])
    return Draft(record=record, text=extracted["text"],
                 title=choose_title(page["titles"], page["site_names"], url, record.title),
                 canonical_url=page["canonical_url"], authors=authors,
                 tags=record.tags + page["tags"],
                 site_name=page["site_names"][0] if page["site_names"] else None,
                 page=facts, wire=wire)


def check_size(record: RawRecord, settings: ExtractSettings) -> DeadLetter | None:
    if len(record.body) > settings.max_html_chars:
        return dead_letter("extract", "too_large",
                           f"{len(record.body)} characters > {settings.max_html_chars}",
                           record.source_ref, record.url, record.body)
    return None


class ExtractStep(Step):
    """RawRecord -> Draft; HTML goes through trafilatura, text inputs pass straight through."""

    name = "extract"

    def __init__(self, settings: ExtractSettings | None = None):
        self._settings = settings or ExtractSettings()
        self._extractor: ChildProcess | None = None

    def setup(self):
        if self._settings.timeout_s > 0:
            self._extractor = ChildProcess(EXTRACTOR)

    def teardown(self):
        if self._extractor is not None:
            self._extractor.close()
            self._extractor = None

    def apply(self, record: RawRecord) -> Draft | Skip | DeadLetter:
        too_large = check_size(record, self._settings)  # text too: no 200 MB article rows
        if too_large:
            return too_large
        if record.body_kind == "text":
            return draft_from_text_record(record)
        want_date = record.published_at is None  # htmldate only when nothing else may date it
        try:
            if self._extractor is None:
                extracted = extract_html(record.body, record.url, want_date)
            else:
                # UTF-8 bytes: what the child parses, without decoding and re-encoding the page
                page = record.body.encode("utf-8", "surrogatepass")
                extracted = self._extractor.call((page, record.url, want_date),
                                                 timeout_s=self._settings.timeout_s)
        except ChildTimeout as exc:
            return dead_letter("extract", "extract_timeout", f"extraction {exc}",
                               record.source_ref, record.url, record.body)
        except ChildFailed as exc:
            return dead_letter("extract", "extract_error", exc, record.source_ref,
                               record.url, record.body)
        if extracted is None:
            return Skip("extract", "no_main_text", record.source_ref, record.url)
        if extracted.get("not_article"):  # classify's verdict, from declarations and URL only
            page = extracted["page"]
            return Skip("classify", extracted["not_article"], record.source_ref,
                        page["canonical_url"] or record.url)
        self.count(f"trafilatura_{extracted['mode']}")  # fast, or full_<why not fast>
        return draft_from_extraction(record, extracted)


class ExtractPages(ApplyStep):
    """RawRecord -> Draft; HTML goes through trafilatura, text inputs pass straight through."""

    def __init__(self, settings: ExtractSettings | None = None):
        super().__init__(ExtractStep(settings))
