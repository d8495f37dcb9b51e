"""Sink contract: safe partition paths, atomic writes, manifests, stale-file clean-up."""

from datetime import UTC, datetime

import pytest

from newsflow.schemas import ARTICLE_SCHEMA, Article
from newsflow.transforms.sinks import (
    article_to_row,
    articles_table,
    check_commit_id,
    partition_dir,
    partition_values,
    read_manifests,
    remove_stale_files,
    safe_lang,
    write_manifest,
    write_parquet_atomic,
)


def _article(article_id="0123456789abcdef", language="en", published=None) -> Article:
    return Article(
        article_id=article_id, url="https://a.test/x", domain="a.test", title="T", text="Body",
        published_at=published, date_source=None, fetched_at=None, language=language,
        language_prob=0.9, wire=None, dateline=None, authors=("A",), tags=("t",),
        site_name=None, content_hash="h" * 64, source_format="jsonl", source_ref="f:1",
        feed_url=None, versions=(("newsflow", "0"),), ingested_at=datetime(2026, 1, 1, tzinfo=UTC),
        schema_version=1)


@pytest.mark.parametrize("value, expected", [
    ("en", "en"), ("zh-cn", "zh-cn"), ("EN", "en"), ("../../etc", "und"), ("", "und"),
    (None, "und"), ("en/../x", "und"),
])
def test_safe_lang(value, expected):
    assert safe_lang(value) == expected


def test_partition_paths_refuse_traversal():
    assert partition_dir("2023-09-15", "en") == "dt=2023-09-15/lang=en"
    with pytest.raises(ValueError):
        partition_dir("../x", "en")
    with pytest.raises(ValueError):
        partition_dir("2023-09-15", "../en")
    with pytest.raises(ValueError):
        check_commit_id("../../evil")
    published = datetime(2023, 9, 15, 23, 30, tzinfo=UTC)
    assert partition_values(_article(published=published, language="x/y")) == \
        ("2023-09-15", "und")
    assert partition_values(_article()) == ("undated", "en")


def test_rows_follow_the_schema_and_sort_deterministically():
    table = articles_table([_article("f" * 16), _article("0" * 16)])
    assert table.schema.equals(ARTICLE_SCHEMA)
    assert table.column("article_id").to_pylist() == ["0" * 16, "f" * 16]
    assert set(article_to_row(_article())) == set(ARTICLE_SCHEMA.names)


def test_atomic_write_manifest_and_stale_cleanup(tmp_path):
    articles_dir = str(tmp_path / "articles")
    keep = "dt=2023-09-15/lang=en/part-run1-00000.parquet"
    stale = "dt=2023-09-14/lang=en/part-run1-00000.parquet"
    other = "dt=2023-09-14/lang=en/part-run2-00000.parquet"
    for relative in (keep, stale, other):
        write_parquet_atomic(f"{articles_dir}/{relative}", articles_table([_article()]))
    assert not list(tmp_path.rglob(".*"))  # temp files were renamed away
    write_manifest(articles_dir, {"commit_id": "run1", "written_at": "2026-01-01T00:00:00",
                                  "files": [{"path": keep}]})
    removed = remove_stale_files(articles_dir, "run1", [keep])
    assert [p.split("articles/")[1] for p in removed] == [stale]
    assert (tmp_path / "articles" / other).exists()  # another run's file is never touched
    assert [m["commit_id"] for m in read_manifests(articles_dir)] == ["run1"]
