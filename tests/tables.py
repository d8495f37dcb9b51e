"""Test helpers: articles made to order and commits made the way the sinks make them."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pyarrow as pa

from newsflow.schemas import SCHEMA_VERSION, Article, article_schema
from newsflow.schemas.catalog import CommitResult
from newsflow.transforms.sinks import article_to_row, write_article_files
from newsflow.transforms.table import commit_files, table_uri

T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)
_ATTEMPTS = itertools.count(1)


def make_article(article_id: str, *, published: str | None = "2023-09-15", language="en",
                 topics=("politics",), is_duplicate: bool | None = False,
                 ingested_at: datetime = T0, fetched_at: datetime | None = None,
                 title: str | None = None, text: str = "Body text.") -> Article:
    published_at = datetime.fromisoformat(published).replace(tzinfo=UTC) if published else None
    return Article(
        article_id=article_id, url=f"https://example.com/{article_id}", domain="example.com",
        title=title or f"Title {article_id}", text=text, published_at=published_at,
        date_source="feed" if published else None, fetched_at=fetched_at, language=language,
        language_prob=0.99, wire=None, dateline=None, authors=("A. Writer",),
        tags=("world",), site_name="Example", content_hash=f"hash-{article_id}",
        source_format="jsonl", source_ref=f"test:{article_id}", feed_url=None,
        versions=(("newsflow", "test"),), ingested_at=ingested_at,
        schema_version=SCHEMA_VERSION, cluster_id=article_id, duplicate_of=None,
        is_duplicate=is_duplicate, similarity=1.0, topics=tuple(topics) if topics else (),
        tagger_version="test@1")


def table_for(articles, version: int = SCHEMA_VERSION, commit_id: str | None = None) -> pa.Table:
    """Rows of ``articles`` as a writer of schema ``version`` writes them."""
    schema = article_schema(version)
    rows = [{name: row[name] for name in schema.names}
            for row in (article_to_row(a, commit_id) for a in articles)]
    for row in rows:
        row["schema_version"] = version
    return pa.Table.from_pylist(rows, schema=schema)


def commit_articles(output, commit_id: str, articles, *, replace: bool = False,
                    app_id: str | None = None, app_version: int | None = None,
                    shards: int = 1) -> CommitResult:
    """Write and commit ``articles`` as one backfill run (``replace``) or stream window."""
    uri = table_uri(str(output))
    attempt = next(_ATTEMPTS)
    files = write_article_files(uri, commit_id, attempt, articles, shards)
    return commit_files(uri, files, commit_id=commit_id, app_id=app_id or commit_id,
                        app_version=app_version if app_version is not None else attempt,
                        replace=replace)


def ids(table: pa.Table) -> list[str]:
    return sorted(table.column("article_id").to_pylist())
