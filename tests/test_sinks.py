"""Sink and commit contract: safe partition paths, file statistics, exactly-once Delta commits,
run replacement, schema merge."""

import json
from datetime import UTC, datetime

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to
from deltalake import DeltaTable

from newsflow.schemas import ARTICLE_SCHEMA, Article, table_schema
from newsflow.transforms.catalog import read_delta
from newsflow.transforms.sinks import (
    WriteArticles,
    article_to_row,
    articles_table,
    check_commit_id,
    partition_dir,
    partition_values,
    safe_lang,
    write_article_files,
)
from newsflow.transforms.table import (
    commit_files,
    file_stats,
    legacy_commit_id,
    merge_schema,
    table_uri,
)
from tests.conftest import BEAM_TEST_ARGS
from tests.tables import commit_articles, ids, make_article


def _article(article_id="0123456789abcdef", language="en", published=None) -> Article:
    return make_article(article_id, language=language, published=published)


def rows(output) -> pa.Table:
    return read_delta(DeltaTable(table_uri(str(output))))


@pytest.mark.parametrize("value, expected", [
    ("en", "en"), ("zh-cn", "zh-cn"), ("EN", "en"), ("../../etc", "und"), ("", "und"),
    (None, "und"), ("en/../x", "und"),
])
def test_safe_lang(value, expected):
    assert safe_lang(value) == expected


def test_partition_paths_refuse_traversal():
    assert partition_dir("2023-09-15", "en") == "dt=2023-09-15/lang=en"
    assert partition_dir(None, "en") == "dt=__HIVE_DEFAULT_PARTITION__/lang=en"
    for dt, lang in (("../x", "en"), ("2023-09-15", "../en"), ("undated", "en")):
        with pytest.raises(ValueError):
            partition_dir(dt, lang)
    with pytest.raises(ValueError):
        check_commit_id("../../evil")
    published = "2023-09-15T23:30:00"
    assert partition_values(_article(published=published, language="x/y")) == \
        ("2023-09-15", "und")
    assert partition_values(_article()) == (None, "en")


def test_rows_follow_the_schema_sort_deterministically_and_carry_the_commit():
    table = articles_table([_article("f" * 16), _article("0" * 16)], "run-1")
    assert table.schema.equals(ARTICLE_SCHEMA)
    assert table.column("article_id").to_pylist() == ["0" * 16, "f" * 16]
    assert table.column("commit_id").to_pylist() == ["run-1", "run-1"]
    assert set(article_to_row(_article())) == set(ARTICLE_SCHEMA.names)


def test_file_stats_come_from_the_parquet_footer(tmp_path):
    table = articles_table([_article("a" * 16, published="2023-09-15"),
                            _article("b" * 16, published="2023-09-15")], "run-1")
    pq.write_table(table, tmp_path / "f.parquet")
    stats = json.loads(file_stats(pq.read_metadata(tmp_path / "f.parquet"), table_schema()))
    assert stats["numRecords"] == 2
    assert stats["minValues"]["article_id"] == "a" * 16
    assert stats["maxValues"]["commit_id"] == stats["minValues"]["commit_id"] == "run-1"
    assert stats["nullCount"]["commit_id"] == 0 and stats["nullCount"]["wire"] == 2
    assert "text" not in stats["minValues"] or len(stats["minValues"]["text"]) <= 64
    assert "dt" not in stats["nullCount"]  # partition values live in the log
    older = table.drop_columns(["commit_id"])
    pq.write_table(older, tmp_path / "old.parquet")
    stats = json.loads(file_stats(pq.read_metadata(tmp_path / "old.parquet"), table_schema()))
    assert stats["nullCount"]["commit_id"] == 2  # a column the file lacks reads as null


def test_first_commit_creates_the_table_later_ones_append(tmp_path):
    first = commit_articles(tmp_path, "w1", [_article("a" * 16), _article("b" * 16,
                                                                          published="2024-01-02")])
    second = commit_articles(tmp_path, "w2", [_article("c" * 16)])
    assert (first.table_version, second.table_version) == (0, 1)
    assert (first.rows, first.files) == (2, 2)
    table = DeltaTable(table_uri(str(tmp_path)))
    assert table.metadata().partition_columns == ["dt", "lang"]
    assert pa.schema(table.schema().to_arrow()).field("dt").type == pa.date32()
    assert ids(rows(tmp_path)) == ["a" * 16, "b" * 16, "c" * 16]


def test_retried_commit_is_recognised_and_skipped(tmp_path):
    uri = table_uri(str(tmp_path))
    files = write_article_files(uri, "run-w5", 1, [_article("a" * 16)])
    done = commit_files(uri, files, commit_id="run-w5", app_id="run", app_version=5)
    again = commit_files(uri, files, commit_id="run-w5", app_id="run", app_version=5)
    assert done.table_version == 0 and not done.already_committed
    assert again.already_committed and again.table_version == 0
    assert DeltaTable(uri).version() == 0 and rows(tmp_path).num_rows == 1


def test_a_window_retried_after_a_later_window_is_still_committed_once(tmp_path):
    uri = table_uri(str(tmp_path))
    first = write_article_files(uri, "run-w5", 1, [_article("a" * 16)])
    commit_files(uri, first, commit_id="run-w5", app_id="run", app_version=5)
    later = write_article_files(uri, "run-w6", 1, [_article("b" * 16)])
    commit_files(uri, later, commit_id="run-w6", app_id="run", app_version=6)
    repeat = commit_files(uri, first, commit_id="run-w5", app_id="run", app_version=5)
    assert repeat.already_committed and repeat.table_version == 0
    late = write_article_files(uri, "run-w4", 1, [_article("c" * 16)])
    assert not commit_files(uri, late, commit_id="run-w4", app_id="run",
                            app_version=4).already_committed  # never committed: not lost
    assert ids(rows(tmp_path)) == ["a" * 16, "b" * 16, "c" * 16]


def test_replace_removes_exactly_the_runs_earlier_rows(tmp_path):
    commit_articles(tmp_path, "run-a", [_article("a" * 16), _article("b" * 16)], replace=True)
    commit_articles(tmp_path, "run-b", [_article("c" * 16)], replace=True)
    again = commit_articles(tmp_path, "run-a", [_article("a" * 16)], replace=True)
    assert (again.replaced_rows, again.replaced_files) == (2, 1)
    table = rows(tmp_path)
    assert ids(table) == ["a" * 16, "c" * 16]
    assert sorted(table.column("commit_id").to_pylist()) == ["run-a", "run-b"]


def test_replace_rewrites_a_compacted_file_without_the_runs_rows(tmp_path):
    commit_articles(tmp_path, "run-a", [_article("a" * 16), _article("b" * 16)], replace=True)
    commit_articles(tmp_path, "run-b", [_article("c" * 16)], replace=True)
    commit_articles(tmp_path, "run-c", [_article("d" * 16)], replace=True)
    DeltaTable(table_uri(str(tmp_path))).optimize.compact()
    assert len(DeltaTable(table_uri(str(tmp_path))).file_uris()) == 1  # all mixed in one file
    again = commit_articles(tmp_path, "run-b", [_article("c" * 16), _article("e" * 16)],
                            replace=True)
    assert again.replaced_rows == 1
    table = rows(tmp_path)
    assert ids(table) == ["a" * 16, "b" * 16, "c" * 16, "d" * 16, "e" * 16]
    log = [json.loads(line) for line in (tmp_path / "articles" / "_delta_log" /
                                         f"{again.table_version:020d}.json").open()]
    adds = [a["add"] for a in log if "add" in a]
    assert sorted(a["dataChange"] for a in adds) == [False, True]  # the remainder: no change


def test_schema_merge_adds_nullable_columns_and_refuses_retyping(tmp_path):
    uri = table_uri(str(tmp_path))
    files = write_article_files(uri, "old", 1, [_article("a" * 16)])
    commit_files(uri, files, commit_id="old", app_id="old", app_version=1,
                 schema=table_schema().remove(table_schema().get_field_index("commit_id")))
    assert "commit_id" not in DeltaTable(uri).schema().to_arrow().names
    commit_articles(tmp_path, "new", [_article("b" * 16)])
    table = DeltaTable(uri)
    assert "commit_id" in pa.schema(table.schema().to_arrow()).names
    assert rows(tmp_path).sort_by("article_id").column("commit_id").to_pylist() == \
        ["old", "new"]  # the file had the column: the merged schema reads it
    wider = table_schema().append(pa.field("extra", pa.string()))
    assert merge_schema(table, wider) == ["extra"]
    with pytest.raises(ValueError, match="never retyped"):
        merge_schema(DeltaTable(uri), table_schema().set(
            table_schema().get_field_index("title"), pa.field("title", pa.int64())))
    with pytest.raises(ValueError, match="nullable"):
        merge_schema(DeltaTable(uri), table_schema().append(
            pa.field("required", pa.string(), nullable=False)))


def test_legacy_file_names_give_their_commit_id():
    assert legacy_commit_id("dt=undated/lang=en/part-backfill-0123abcd-00000.parquet") == \
        "backfill-0123abcd"
    assert legacy_commit_id("dt=x/lang=en/part-00000-uuid-c000.zstd.parquet") is None


def test_write_articles_batch_commits_once_and_an_empty_rerun_removes_its_rows(tmp_path):
    def run(articles, attempt):
        with beam.Pipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as p:
            commits = (p | beam.Create(articles, reshuffle=False)
                       | WriteArticles(str(tmp_path), "run-x", "backfill", shards=2,
                                       replace=True, attempt=attempt))
            assert_that(commits | beam.Map(lambda c: (c.rows, c.already_committed)),
                        equal_to([(len(articles), False)]))

    run([_article(f"{i:016x}", published=f"2023-09-{10 + i % 3}") for i in range(6)], 1)
    assert rows(tmp_path).num_rows == 6
    assert {p.rsplit("/", 1)[1][:len("part-run-x-1-")] for p in
            DeltaTable(table_uri(str(tmp_path))).file_uris()} == {"part-run-x-1-"}
    run([], 2)
    assert rows(tmp_path).num_rows == 0 and DeltaTable(table_uri(str(tmp_path))).version() == 1


def test_timestamps_round_trip_as_utc(tmp_path):
    when = datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    commit_articles(tmp_path, "ts", [make_article("a" * 16, fetched_at=when)])
    assert rows(tmp_path).column("fetched_at").to_pylist() == [when]
