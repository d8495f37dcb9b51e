"""Reading and looking after the Delta table: partitions, latest rows, schema evolution,
incremental reads, compaction, vacuum, migration from the manifest-committed release, CLI."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from newsflow.pipelines.cli import main
from newsflow.schemas import FIELDS_ADDED, SCHEMA_VERSION, table_schema
from newsflow.schemas.catalog import DataFile
from newsflow.transforms.catalog import (
    LATEST_ARTICLES_SQL,
    TableNotFound,
    changes_since,
    compact,
    complete_since,
    describe_table,
    format_partitions,
    latest_rows,
    legacy_live_entries,
    list_partitions,
    load_checkpoint,
    migrate,
    read_articles,
    read_delta,
    read_latest_articles,
    save_checkpoint,
    vacuum,
)
from newsflow.transforms.sinks import write_article_files
from newsflow.transforms.table import commit_files, table_uri, write_data_file
from tests.tables import T0, commit_articles, ids, make_article, table_for


def delta(output) -> DeltaTable:
    return DeltaTable(table_uri(str(output)))


def small_commits(output, count: int, per_commit: int = 2, language: str = "en",
                  start: int = 0) -> None:
    """``count`` stream windows of ``per_commit`` rows each: one small file per window."""
    for index in range(start, start + count):
        commit_articles(output, f"s-w{index:02d}", [
            make_article(f"{language}{index:02d}-{n}", language=language)
            for n in range(per_commit)], app_id="s", app_version=index)


# --------------------------------------------------------------------------------------------
# Partitions and reading


def test_partitions_come_from_the_delta_log(tmp_path):
    commit_articles(tmp_path, "c1", [make_article("a1"), make_article("a2", published=None),
                                     make_article("d1", language="de")])
    commit_articles(tmp_path, "c2", [make_article("a3"), make_article("a4")])
    partitions = {p.partition: p for p in list_partitions(str(tmp_path))}
    assert list(partitions) == ["dt=2023-09-15/lang=de", "dt=2023-09-15/lang=en",
                                "dt=null/lang=en"]  # undated last
    english = partitions["dt=2023-09-15/lang=en"]
    assert (english.files, english.rows, english.first_version, english.last_version) == \
        (2, 3, 0, 1)
    assert partitions["dt=null/lang=en"].dt is None
    text = format_partitions(list(partitions.values()), describe_table(str(tmp_path)))
    assert "version 1 (WRITE" in text and "5 rows" in text
    assert "dt=2023-09-15/lang=en  2      3" in text and "0..1" in text


def test_missing_table_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(TableNotFound, match="does not exist"):
        list_partitions(str(tmp_path / "nowhere"))
    (tmp_path / "empty" / "articles").mkdir(parents=True)
    with pytest.raises(TableNotFound, match="nothing has been committed"):
        read_articles(str(tmp_path / "empty"))
    for command in ("partitions", "compact", "vacuum", "migrate"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, str(tmp_path / "nowhere")])
        assert exit_info.value.code == 2 and "does not exist" in capsys.readouterr().err
    assert main(["partitions", str(tmp_path / "empty")]) == 2
    assert "no Delta table" in capsys.readouterr().err


def _versions_table() -> pa.Table:
    return table_for([
        make_article("a1", ingested_at=T0, title="old"),
        make_article("a1", ingested_at=T0 + timedelta(hours=1), title="new"),
        make_article("a2", ingested_at=T0, fetched_at=T0, title="fetched"),
        make_article("a2", ingested_at=T0, fetched_at=None, title="unfetched"),
        make_article("a3", ingested_at=T0, title="only"),
    ])


def test_latest_rows_keeps_newest_ingested_then_fetched():
    latest = latest_rows(_versions_table())
    assert dict(zip(latest.column("article_id").to_pylist(), latest.column("title").to_pylist(),
                    strict=True)) == {"a1": "new", "a2": "fetched", "a3": "only"}


def test_latest_articles_sql_agrees_with_latest_rows():
    duckdb = pytest.importorskip("duckdb")
    articles = _versions_table()  # noqa: F841 - DuckDB reads the local variable by name
    result = duckdb.sql(LATEST_ARTICLES_SQL).arrow()
    result = result.read_all() if hasattr(result, "read_all") else result
    key = ["article_id", "title"]
    assert sorted(result.select(key).to_pylist(), key=str) == \
        sorted(latest_rows(_versions_table()).select(key).to_pylist(), key=str)


def test_read_latest_articles_across_commits(tmp_path):
    commit_articles(tmp_path, "c1", [make_article("a1", title="first")])
    commit_articles(tmp_path, "c2", [make_article("a1", title="second",
                                                  ingested_at=T0 + timedelta(hours=1))])
    assert read_articles(str(tmp_path)).num_rows == 2
    assert read_latest_articles(str(tmp_path)).column("title").to_pylist() == ["second"]


# --------------------------------------------------------------------------------------------
# Schema evolution


def _commit_with_old_writer(output, commit_id: str, articles, version: int):
    """Files and table schema exactly as a writer of schema ``version`` made them."""
    uri = table_uri(str(output))
    relative = f"dt=2023-09-15/lang=en/part-{commit_id}-00000.parquet"
    size, stats = write_data_file(uri, relative, table_for(articles, version))
    files = [DataFile(relative, "2023-09-15", "en", len(articles), size, stats)]
    return commit_files(uri, files, commit_id=commit_id, app_id=commit_id, app_version=1,
                        schema=table_schema(version))


def test_current_writer_merges_its_new_columns_into_a_previous_version_table(tmp_path):
    polars = pytest.importorskip("polars")
    added = FIELDS_ADDED[SCHEMA_VERSION]
    _commit_with_old_writer(tmp_path, "old", [make_article("old")], SCHEMA_VERSION - 1)
    assert not set(added) & set(delta(tmp_path).schema().to_arrow().names)
    result = commit_articles(tmp_path, "new", [make_article("new")])
    assert result.table_version == 2  # 1: the schema merge, 2: the rows
    assert set(added) <= set(delta(tmp_path).schema().to_arrow().names)
    table = read_articles(str(tmp_path)).sort_by("article_id")
    assert table.column("article_id").to_pylist() == ["new", "old"]
    assert table.column("commit_id").to_pylist()[0] == "new"
    frame = polars.scan_delta(table_uri(str(tmp_path))).sort("article_id").collect()
    assert frame["article_id"].to_list() == ["new", "old"]
    for column in added:  # the previous writer's row reads null in the new columns
        assert table.column(column)[1].as_py() is None and frame[column][1] is None
    assert frame["topics"].to_list() == [["politics"], ["politics"]]


def test_oldest_files_read_with_nulls_for_later_columns(tmp_path):
    _commit_with_old_writer(tmp_path, "v1", [make_article("old")], version=1)
    commit_articles(tmp_path, "v4", [make_article("new")])
    by_id = {row["article_id"]: row for row in read_articles(str(tmp_path)).to_pylist()}
    assert by_id["old"]["topics"] is None and by_id["old"]["is_duplicate"] is None
    assert by_id["new"]["topics"] == ["politics"] and by_id["new"]["is_duplicate"] is False


# --------------------------------------------------------------------------------------------
# Incremental reads


def test_changes_since_returns_each_new_row_once(tmp_path):
    out = str(tmp_path)
    small_commits(tmp_path, 3)
    rows, version = complete_since(out, None)
    assert rows.num_rows == 6 and version == 2
    assert rows.schema.names[-2:] == ["dt", "lang"]
    assert complete_since(out, version)[0].num_rows == 0
    commit_articles(tmp_path, "s-w03", [make_article("late")], app_id="s", app_version=3)
    rows, version = complete_since(out, version)
    assert ids(rows) == ["late"] and version == 3
    compact(out)  # no new data: nothing to read again
    increment = changes_since(out, version)
    assert increment.files == () and increment.version == 4


def test_rows_added_before_a_compaction_are_read_from_their_own_files(tmp_path):
    out = str(tmp_path)
    small_commits(tmp_path, 2)
    checkpoint = changes_since(out, None).version
    small_commits(tmp_path, 2, start=2)
    compact(out)  # windows 2 and 3 now live in the merged file only
    rows, version = complete_since(out, checkpoint)
    assert ids(rows) == ["en02-0", "en02-1", "en03-0", "en03-1"] and version == 4


def test_rerun_rows_are_reported_again_for_the_latest_row_rule(tmp_path):
    out = str(tmp_path)
    commit_articles(tmp_path, "run", [make_article("a1"), make_article("a2")], replace=True)
    checkpoint = changes_since(out, None).version
    commit_articles(tmp_path, "run", [make_article("a1", title="fixed")], replace=True)
    rows, _ = complete_since(out, checkpoint)
    assert rows.column("title").to_pylist() == ["fixed"]
    assert read_articles(out).column("title").to_pylist() == ["fixed"]


def test_checkpoints_that_cannot_be_served_are_errors(tmp_path):
    out = str(tmp_path)
    small_commits(tmp_path, 3)
    with pytest.raises(ValueError, match="newer than the table"):
        changes_since(out, 7)
    table = delta(tmp_path)
    table.create_checkpoint()
    os.remove(tmp_path / "articles" / "_delta_log" / f"{1:020d}.json")
    with pytest.raises(ValueError, match="no longer in the Delta log"):
        changes_since(out, 0)


def test_checkpoint_file_round_trip(tmp_path):
    path = str(tmp_path / "state" / "ckpt.json")
    assert load_checkpoint(path) is None
    save_checkpoint(path, 12)
    assert load_checkpoint(path) == 12
    (tmp_path / "state" / "ckpt.json").write_text(json.dumps(
        {"format": "newsflow.checkpoint/1", "floor": None, "seen": {}}))
    with pytest.raises(ValueError, match="delete it"):
        load_checkpoint(path)


# --------------------------------------------------------------------------------------------
# Compaction and vacuum


def test_compaction_bin_packs_small_files_and_keeps_every_row(tmp_path):
    out = str(tmp_path)
    small_commits(tmp_path, 6)
    small_commits(tmp_path / "other", 1)
    before = read_articles(out)
    summary = compact(out)
    assert (summary.files_removed, summary.files_added, summary.partitions) == (6, 1, 1)
    assert summary.version_after == summary.version_before + 1 == 6
    after = read_articles(out)
    assert after.num_rows == before.num_rows == 12 and ids(after) == ids(before)
    assert delta(tmp_path).history(1)[0]["operation"] == "OPTIMIZE"
    # a reader still on the version before the compaction keeps reading it
    assert read_delta(DeltaTable(table_uri(out), version=5)).num_rows == 12


def test_vacuum_deletes_only_unreferenced_files_past_the_retention(tmp_path):
    out = str(tmp_path)
    small_commits(tmp_path, 3)
    uri = table_uri(out)
    orphan = write_article_files(uri, "dead-run", 9, [make_article("never")])[0]
    compact(out)
    assert vacuum(out) == []  # all younger than 7 days
    planned = vacuum(out, retain_hours=0, dry_run=True)
    assert os.path.exists(os.path.join(uri, orphan.path))
    deleted = vacuum(out, retain_hours=0)
    assert deleted == planned and orphan.path in deleted
    assert sum("part-s-w" in p for p in deleted) == 3  # the compacted windows' files
    assert read_articles(out).num_rows == 6
    assert not os.path.exists(os.path.join(uri, orphan.path))


# --------------------------------------------------------------------------------------------
# Migration from the manifest-committed release


def _legacy_output(root) -> str:
    """An output as the manifest-committed release wrote it: two backfills, stream windows
    merged by a compaction (inputs not yet deleted), an undated row, an uncommitted file."""
    articles = root / "out" / "articles"

    def write(relative: str, table: pa.Table) -> dict:
        path = articles / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        dt, lang = (part.split("=", 1)[1] for part in relative.split("/")[:2])
        return {"path": relative, "dt": dt, "lang": lang, "rows": table.num_rows,
                "bytes": path.stat().st_size}

    def manifest(commit_id: str, kind: str, files: list[dict], minute: int, **extra) -> None:
        (articles / "_commits").mkdir(parents=True, exist_ok=True)
        written = (T0 + timedelta(minutes=minute)).isoformat()
        (articles / "_commits" / f"{commit_id}.json").write_text(json.dumps(
            {"commit_id": commit_id, "kind": kind, "schema_version": 3, "written_at": written,
             "rows": sum(f["rows"] for f in files), "files": files, "replaces": [],
             "window": None, "run": {}, **extra}))

    b1 = [write("dt=2023-09-15/lang=en/part-backfill-aaaa-00000.parquet",
                table_for([make_article("b1-1"), make_article("b1-2")], 3)),
          write("dt=undated/lang=en/part-backfill-aaaa-00000.parquet",
                table_for([make_article("b1-u", published=None)], 3))]
    manifest("backfill-aaaa", "backfill", b1, 0)
    manifest("backfill-bbbb", "backfill", [write(
        "dt=2023-09-15/lang=de/part-backfill-bbbb-00000.parquet",
        table_for([make_article("b2-1", language="de")], 3))], 1)
    windows = []
    for index in range(2):
        entry = write(f"dt=2023-09-15/lang=en/part-s-w{index}-00000.parquet",
                      table_for([make_article(f"w{index}")], 3))
        manifest(f"s-w{index}", "stream", [entry], 2 + index)
        windows.append(entry)
    merged = write("dt=2023-09-15/lang=en/part-compact-cccc-00000.parquet",
                   table_for([make_article("w0"), make_article("w1")], 3))
    merged["sources"] = [{"commit_id": f"s-w{i}", "written_at": (T0 + timedelta(
        minutes=2 + i)).isoformat(), "row_start": i, "rows": 1} for i in range(2)]
    manifest("compact-cccc", "compaction", [merged], 9,
             replaces=[w["path"] for w in windows])
    write("dt=2023-09-15/lang=en/part-crashed-00000.parquet",
          table_for([make_article("uncommitted")], 3))
    return str(root / "out")


def test_legacy_catalog_resolution_skips_replaced_files(tmp_path):
    out = _legacy_output(tmp_path)
    manifests = sorted((json.loads(p.read_text()) for p in
                        (tmp_path / "out" / "articles" / "_commits").glob("*.json")),
                       key=lambda m: m["written_at"])
    paths = [entry["path"] for _, entry in legacy_live_entries(manifests)]
    assert len(paths) == 4 and not any("part-s-w" in p for p in paths)
    assert not any("crashed" in p for p in paths) and out.endswith("out")


def test_migrate_references_files_in_place_and_reads_like_the_old_catalog(tmp_path, capsys):
    out = _legacy_output(tmp_path)
    assert main(["migrate", out]) == 0
    report = capsys.readouterr().out
    assert "3 file(s) kept in place, 1 rewritten" in report and "part-crashed" in report
    table = delta(tmp_path / "out")
    assert table.version() == 0
    paths = {p.split("/articles/", 1)[1] for p in table.file_uris()}
    assert {"dt=2023-09-15/lang=en/part-backfill-aaaa-00000.parquet",
            "dt=undated/lang=en/part-backfill-aaaa-00000.parquet",
            "dt=2023-09-15/lang=de/part-backfill-bbbb-00000.parquet"} < paths
    rows = read_articles(out)
    assert ids(rows) == ["b1-1", "b1-2", "b1-u", "b2-1", "w0", "w1"]
    by_id = {row["article_id"]: row for row in rows.to_pylist()}
    assert by_id["b1-u"]["dt"] is None and by_id["w1"]["commit_id"] == "s-w1"
    assert by_id["b1-1"]["commit_id"] is None  # in place: the column is new
    assert not (tmp_path / "out" / "articles" / "_commits").exists()
    assert len(list((tmp_path / "out" / "migrated_commits").glob("*.json"))) == 5
    with pytest.raises(ValueError, match="already a Delta table"):
        migrate(out)


def test_rerun_of_a_migrated_backfill_replaces_its_rows_also_after_compaction(tmp_path):
    out = _legacy_output(tmp_path)
    migrate(out)
    rerun = commit_articles(tmp_path / "out", "backfill-aaaa",
                            [make_article("b1-1", title="again"), make_article("b1-2")],
                            replace=True)
    assert rerun.replaced_rows == 3  # both legacy files, found by their names
    assert ids(read_articles(out)) == ["b1-1", "b1-2", "b2-1", "w0", "w1"]
    summary = compact(out)
    assert summary.stamped_files == 1  # backfill-bbbb's file gets its commit_id first
    commit_articles(tmp_path / "out", "backfill-bbbb", [make_article("b2-1", language="de")],
                    replace=True)
    rows = read_articles(out)
    assert rows.num_rows == 5 and ids(rows) == ["b1-1", "b1-2", "b2-1", "w0", "w1"]


def test_cli_compact_vacuum_partitions(tmp_path, capsys):
    small_commits(tmp_path, 3)
    assert main(["compact", str(tmp_path)]) == 0
    assert "3 file(s) -> 1" in capsys.readouterr().out
    assert main(["vacuum", str(tmp_path), "--retain", "0", "--dry_run"]) == 0
    assert "would delete 3 file(s)" in capsys.readouterr().out
    assert main(["partitions", str(tmp_path)]) == 0
    assert "dt=2023-09-15/lang=en  1      6" in capsys.readouterr().out
