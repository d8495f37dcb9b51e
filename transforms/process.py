"""The one processing path shared by live feeds and backfills: RawRecord -> Article.

``ProcessArticles`` reads like the data flow: extract, clean, classify, date, detect the
language, build the row, tag its topics. Every stage sends what it cannot use to ``skipped`` or
``dead_letters``, so each input record leaves as exactly one article, skip or dead letter.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata

import apache_beam as beam

from newsflow.schemas import SCHEMA_VERSION, Article, Draft
from newsflow.transforms.classify import ClassifyPages
from newsflow.transforms.clean import CleanText
from newsflow.transforms.dates import ResolveDates
from newsflow.transforms.extract import ExtractPages, ExtractSettings
from newsflow.transforms.language import DetectLanguage
from newsflow.transforms.stage import DEAD, MAIN, SKIPPED, StageFn, StageTransform
from newsflow.transforms.topics import TagTopics, normalize_tags
from newsflow.transforms.urls import domain_of, normalize_url

ARTICLES = "articles"


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
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()


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
        date_source=draft.date_source, fetched_at=record.fetched_at, language=draft.language,
        language_prob=draft.language_prob, wire=draft.wire, dateline=draft.dateline,
        authors=draft.authors, tags=normalize_tags(draft.tags), site_name=draft.site_name,
        content_hash=text_hash, source_format=record.source_format,
        source_ref=record.source_ref, feed_url=record.feed_url, versions=versions,
        ingested_at=ingested_at, schema_version=SCHEMA_VERSION)


class _BuildArticlesFn(StageFn):
    stage = "build"

    def __init__(self, ingested_at: datetime | None):
        super().__init__()
        self._ingested_at = ingested_at

    def setup(self):
        self._versions = component_versions()

    def apply(self, draft: Draft):
        return build_article(draft, self._versions, self._ingested_at or datetime.now(UTC))


class BuildArticles(StageTransform):
    """Draft -> Article: ids, hashes, normalized tags and versions."""

    def __init__(self, ingested_at: datetime | None = None):
        super().__init__()
        self._ingested_at = ingested_at

    def make_fn(self):
        return _BuildArticlesFn(self._ingested_at)


@dataclass(frozen=True)
class ProcessSettings:
    extract: ExtractSettings = ExtractSettings()
    ingested_at: datetime | None = None  # fixed for a backfill run; None: the time of writing
    now: datetime | None = None  # upper bound for dates when the fetch time is unknown
    taxonomy_path: str | None = None  # topic taxonomy; None: transforms/data/taxonomy.yaml


class ProcessArticles(beam.PTransform):
    """RawRecord -> Article, with ``skipped`` and ``dead_letters`` from every stage.

    Returns a dict: ``articles``, ``skipped``, ``dead_letters``.
    """

    def __init__(self, settings: ProcessSettings | None = None):
        super().__init__()
        self._settings = settings or ProcessSettings()

    def expand(self, records):
        stages: list[tuple[str, StageTransform]] = [
            ("Extract", ExtractPages(self._settings.extract)),
            ("Clean", CleanText()),
            ("Classify", ClassifyPages()),
            ("ResolveDates", ResolveDates(self._settings.now)),
            ("DetectLanguage", DetectLanguage()),
            ("BuildArticles", BuildArticles(self._settings.ingested_at)),
        ]
        skipped, dead = [], []
        current = records
        for label, stage in stages:
            outputs = current | label >> stage
            skipped.append(outputs[SKIPPED])
            dead.append(outputs[DEAD])
            current = outputs[MAIN]
        tagged = current | "TagTopics" >> TagTopics(taxonomy_path=self._settings.taxonomy_path)
        return {
            ARTICLES: tagged,
            SKIPPED: tuple(skipped) | "FlattenSkipped" >> beam.Flatten(),
            DEAD: tuple(dead) | "FlattenDeadLetters" >> beam.Flatten(),
        }
