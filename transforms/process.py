"""The one processing path shared by live feeds and backfills: RawRecord -> Article.

``ProcessArticles`` reads like the data flow: extract, clean, classify, date, detect the
language, build the row, tag its topics. Every step sends what it cannot use to ``skipped`` or
``dead_letters``, so each input record leaves as exactly one article, skip or dead letter.
The chain is one list (:func:`processing_steps`) that Beam, benchmarks and tests all run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata

import apache_beam as beam

from newsflow.schemas import SCHEMA_VERSION, Article, DeadLetter, Draft, dead_letter
from newsflow.transforms.classify import ClassifyStep
from newsflow.transforms.clean import CleanStep
from newsflow.transforms.dates import ResolveDatesStep
from newsflow.transforms.extract import ExtractSettings, ExtractStep
from newsflow.transforms.language import DetectLanguageStep
from newsflow.transforms.stage import DEAD, MAIN, SKIPPED, ApplyStep, Step
from newsflow.transforms.topics import TagTopicsStep, TopicTagger, normalize_tags
from newsflow.transforms.urls import domain_of, normalize_url

ARTICLES = "articles"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def component_versions() -> tuple[tuple[str, str], ...]:
    """What produced a row: stamped on every row so reprocessing can be targeted."""
    return tuple((name, package_version(name))
                 for name in ("newsflow", "trafilatura", "langdetect"))


def content_hash(text: str) -> str:
    """SHA-256 of the case-folded, whitespace-collapsed text."""
    normalized = re.sub(r"\s+", " ", text).strip().casefold()
    return hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()


def unwritable_field(article: Article) -> str | None:
    """The first field holding text no UTF-8 writer can store (a lone surrogate), or None:
    such a row would fail the whole partition file in the sink."""
    for field in dataclasses.fields(article):
        value = getattr(article, field.name)
        texts = value if isinstance(value, tuple) else (value,)
        for text in texts:
            parts = text if isinstance(text, tuple) else (text,)  # versions are pairs
            if any(isinstance(part, str) and _LONE_SURROGATE.search(part) for part in parts):
                return field.name
    return None


def canonical_url(draft: Draft) -> str | None:
    """The page's canonical URL when it stays on the fetched site, else the fetched URL.

    A cross-site canonical (a syndicated copy pointing at the wire's page) must not give the
    copy the original's id, or one would overwrite the other.
    """
    fetched, canonical = draft.record.url, draft.canonical_url
    if canonical and canonical.lower().startswith(("http://", "https://")):
        if fetched is None or domain_of(canonical) == domain_of(fetched):
            return canonical
    return fetched


def article_id(url: str | None, text_hash: str) -> str:
    key = f"url:{normalize_url(url)}" if url else f"content:{text_hash}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def build_article(draft: Draft, versions: tuple[tuple[str, str], ...],
                  ingested_at: datetime) -> Article:
    record = draft.record
    url = canonical_url(draft)
    text_hash = content_hash(draft.text)
    return Article(
        article_id=article_id(url, text_hash), url=url, domain=domain_of(url),
        title=draft.title, text=draft.text, published_at=draft.published_at,
        published_offset_min=draft.published_offset_min,
        published_precision=draft.published_precision, modified_at=draft.modified_at,
        date_source=draft.date_source, fetched_at=record.fetched_at, language=draft.language,
        language_prob=draft.language_prob, wire=draft.wire, dateline=draft.dateline,
        authors=draft.authors, tags=normalize_tags(draft.tags), site_name=draft.site_name,
        content_hash=text_hash, source_format=record.source_format,
        source_ref=record.source_ref, feed_url=record.feed_url, versions=versions,
        ingested_at=ingested_at, schema_version=SCHEMA_VERSION)


class BuildArticleStep(Step):
    """Draft -> Article: ids, hashes, normalized tags and versions."""

    name = "build"

    def __init__(self, ingested_at: datetime | None = None):
        self._ingested_at = ingested_at

    def setup(self):
        self._versions = component_versions()

    def apply(self, draft: Draft) -> Article | DeadLetter:
        article = build_article(draft, self._versions, self._ingested_at or datetime.now(UTC))
        field = unwritable_field(article)
        if field is not None:  # the sink's boundary, before the sink: the row is the record's
            record = draft.record
            return dead_letter(self.name, "invalid_text", f"`{field}` holds a lone surrogate",
                               record.source_ref, record.url, record.body)
        return article


class BuildArticles(ApplyStep):
    """Draft -> Article: ids, hashes, normalized tags and versions."""

    def __init__(self, ingested_at: datetime | None = None):
        super().__init__(BuildArticleStep(ingested_at))


@dataclass(frozen=True)
class ProcessSettings:
    extract: ExtractSettings = ExtractSettings()
    ingested_at: datetime | None = None  # fixed for a backfill run; None: the time of writing
    now: datetime | None = None  # upper bound for dates when the fetch time is unknown
    taxonomy_path: str | None = None  # topic taxonomy; None: the packaged taxonomy.yaml
    tagger_factory: Callable[[], TopicTagger] | None = None  # your own topic model instead
    keep_skipped_raw: bool = False  # skips carry the record's body, for replay


def processing_steps(settings: ProcessSettings | None = None) -> list[tuple[str, Step]]:
    """The processing chain, in order, with the stable Beam label of each step.

    ``ProcessArticles`` runs these steps; benchmarks and tests run the very same ones
    in-process with :func:`~newsflow.transforms.stage.run_steps`.
    """
    settings = settings or ProcessSettings()
    return [
        ("Extract", ExtractStep(settings.extract)),
        ("Clean", CleanStep()),
        ("Classify", ClassifyStep()),
        ("ResolveDates", ResolveDatesStep(settings.now)),
        ("DetectLanguage", DetectLanguageStep()),
        ("BuildArticles", BuildArticleStep(settings.ingested_at)),
        ("TagTopics", TagTopicsStep(settings.tagger_factory, settings.taxonomy_path)),
    ]


class ProcessArticles(beam.PTransform):
    """RawRecord -> Article, with ``skipped`` and ``dead_letters`` from every step.

    Returns a dict: ``articles``, ``skipped``, ``dead_letters``.
    """

    def __init__(self, settings: ProcessSettings | None = None):
        super().__init__()
        self._settings = settings or ProcessSettings()

    def expand(self, records):
        skipped, dead = [], []
        current = records
        for label, step in processing_steps(self._settings):
            outputs = current | label >> ApplyStep(step, self._settings.keep_skipped_raw)
            skipped.append(outputs[SKIPPED])
            dead.append(outputs[DEAD])
            current = outputs[MAIN]
        return {
            ARTICLES: current,
            SKIPPED: tuple(skipped) | "FlattenSkipped" >> beam.Flatten(),
            DEAD: tuple(dead) | "FlattenDeadLetters" >> beam.Flatten(),
        }
