"""The downstream contract: partition states, incremental reads, compaction, schema evolution.

Datasets are written the way the sinks write them (temp file + rename, manifest last) with
``write_commit`` below; crashes are simulated by stopping a commit or a compaction between
its steps.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from newsflow.schemas import SCHEMA_VERSION, UNDATED_PARTITION, Article, article_schema
from newsflow.schemas.catalog import STATE_COMPLETE, STATE_DAMAGED, STATE_WRITING, RowSource
from newsflow.transforms import catalog
from newsflow.transforms.catalog import (
    LATEST_ARTICLES_SQL,
    compact,
    complete_partitions_since,
    format_compaction,
    format_partitions,
    latest_rows,
    list_partitions,
    load_catalog,
    load_checkpoint,
    read_committed,
    read_latest_articles,
    read_slices,
    save_checkpoint,
    split_sources,
)
from newsflow.transforms.sinks import (
    article_to_row,
    build_manifest,
    partition_dir,
    partition_values,
    write_manifest,
    write_parquet_atomic,
)

#: Commit times in the past: compactions commit "now", after everything written here.
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=1)


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


def articles_dir_of(output) -> str:
    return os.path.join(str(output), "articles")


def table_for(articles, version: int = SCHEMA_VERSION) -> pa.Table:
    schema = article_schema(version)
    rows = [{name: row[name] for name in schema.names}
            for row in (article_to_row(a) for a in articles)]
    for row in rows:
        row["schema_version"] = version
    return pa.Table.from_pylist(rows, schema=schema)


def write_files(output, commit_id: str, articles, version: int = SCHEMA_VERSION,
                shards: int = 1) -> list[dict]:
    """Step 1 of a commit: the data files (temp + rename), no manifest yet."""
    groups: dict[tuple[str, str], list[Article]] = {}
    for article in articles:
        groups.setdefault(partition_values(article), []).append(article)
    entries = []
    for (dt, lang), members in sorted(groups.items()):
        for shard in range(shards):
            part = members[shard::shards]
            if not part:
                continue
            relative = f"{partition_dir(dt, lang)}/part-{commit_id}-{shard:05d}.parquet"
            table = table_for(part, version)
            size = write_parquet_atomic(os.path.join(articles_dir_of(output), relative), table)
            entries.append({"path": relative, "dt": dt, "lang": lang, "rows": table.num_rows,
                            "bytes": size})
    return entries


def write_commit(output, commit_id: str, articles, *, written_at: datetime | None = None,
                 version: int = SCHEMA_VERSION, kind: str = "stream", shards: int = 1) -> dict:
    """A whole commit: files, then the manifest (the commit point)."""
    entries = write_files(output, commit_id, articles, version, shards)
    manifest = build_manifest(commit_id, kind, entries)
    manifest["schema_version"] = version
    if written_at is not None:
        manifest["written_at"] = written_at.isoformat()
    write_manifest(articles_dir_of(output), manifest)
    return manifest


def ids(table: pa.Table) -> list[str]:
    return sorted(table.column("article_id").to_pylist())


def rows_of(table: pa.Table) -> list[tuple]:
    """Row content, order-independent, for before/after comparisons."""
    return sorted(json.dumps(row, sort_keys=True, default=str) for row in table.to_pylist())


def state(output, partition: str):
    return next(s for s in list_partitions(str(output)) if s.partition == partition)


EN = "dt=2023-09-15/lang=en"
DE = "dt=2023-09-15/lang=de"


# --------------------------------------------------------------------------------------------
# Partition states and the completeness contract


def test_committed_partitions_are_complete_with_counts(tmp_path):
    write_commit(tmp_path, "c1", [make_article("a1"), make_article("a2"),
                                  make_article("b1", language="de")], written_at=T0)
    write_commit(tmp_path, "c2", [make_article("a3")], written_at=T0 + timedelta(minutes=1))
    states = {s.partition: s for s in list_partitions(str(tmp_path))}
    assert set(states) == {EN, DE}
    en = states[EN]
    assert (en.state, en.files, en.rows, en.commits) == (STATE_COMPLETE, 2, 3, ("c1", "c2"))
    assert en.last_commit_at == (T0 + timedelta(minutes=1)).isoformat()
    assert en.schema_versions == (SCHEMA_VERSION,)
    assert states[DE].rows == 1 and states[DE].complete


def test_partition_being_written_is_never_complete(tmp_path):
    write_commit(tmp_path, "c1", [make_article("a1"), make_article("b1", language="de")])
    # A second commit has renamed its file into place but not yet written its manifest.
    write_files(tmp_path, "c2", [make_article("a2")])
    # Another is still writing its temp file.
    temp = os.path.join(articles_dir_of(tmp_path), DE, ".part-c3-00000.parquet.tmp-abc")
    with open(temp, "wb") as handle:
        handle.write(b"PAR1 half a file")
    en, de = state(tmp_path, EN), state(tmp_path, DE)
    assert en.state == STATE_WRITING and en.uncommitted == (f"{EN}/part-c2-00000.parquet",)
    assert de.state == STATE_WRITING
    # Committed rows stay readable and the uncommitted ones are invisible.
    assert ids(read_committed(str(tmp_path))) == ["a1", "b1"]
    assert ids(read_committed(str(tmp_path), complete_only=True)) == []


def test_crashed_write_leaves_no_half_partition_visible(tmp_path):
    write_commit(tmp_path, "c1", [make_article("a1")])
    # The job crashed after writing files to two partitions, one of them new, before its
    # manifest: nothing of it may be visible.
    write_files(tmp_path, "c2", [make_article("a2"), make_article("x1", published="2024-01-02")])
    increment, _ = complete_partitions_since(str(tmp_path), None)
    assert [p.partition for p in increment.partitions] == []
    assert [p.partition for p in increment.deferred] == [EN]
    assert ids(read_committed(str(tmp_path))) == ["a1"]
    new = state(tmp_path, "dt=2024-01-02/lang=en")
    assert (new.state, new.files, new.rows) == (STATE_WRITING, 0, 0)
    # The re-run commits: everything appears at once.
    write_commit(tmp_path, "c2", [make_article("a2"), make_article("x1", published="2024-01-02")])
    assert all(s.complete for s in list_partitions(str(tmp_path)))
    assert ids(read_committed(str(tmp_path))) == ["a1", "a2", "x1"]


def test_missing_committed_file_is_damaged_and_skipped_by_readers(tmp_path):
    manifest = write_commit(tmp_path, "c1", [make_article("a1"), make_article("a2")], shards=2)
    os.remove(os.path.join(articles_dir_of(tmp_path), manifest["files"][0]["path"]))
    en = state(tmp_path, EN)
    assert en.state == STATE_DAMAGED and "missing" in en.problems[0]
    assert len(read_committed(str(tmp_path))) == 1
    assert "damaged" in format_partitions([en])


def test_file_rewritten_under_an_old_manifest_is_writing(tmp_path):
    manifest = write_commit(tmp_path, "c1", [make_article("a1")])
    path = os.path.join(articles_dir_of(tmp_path), manifest["files"][0]["path"])
    write_parquet_atomic(path, table_for([make_article("a1"), make_article("a9")]))
    assert state(tmp_path, EN).state == STATE_WRITING


def test_format_partitions_lists_state_and_counts(tmp_path):
    write_commit(tmp_path, "c1", [make_article("a1"), make_article("u1", published=None)])
    write_files(tmp_path, "c2", [make_article("a2")])
    text = format_partitions(list_partitions(str(tmp_path)))
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["partition", "state", "files", "rows"]
    assert any(line.startswith(EN) and "writing" in line and "1 uncommitted" in line
               for line in lines)
    assert any(f"dt={UNDATED_PARTITION}/lang=en" in line and "complete" in line
               for line in lines)
    assert format_partitions([]).endswith("(no partitions)")


# --------------------------------------------------------------------------------------------
# Incremental reads and checkpoints


def test_incremental_reads_return_each_row_once(tmp_path):
    out = str(tmp_path)
    write_commit(tmp_path, "c1", [make_article("a1"), make_article("b1", language="de")],
                 written_at=T0)
    increment, token = complete_partitions_since(out, None)
    assert {p.partition for p in increment.partitions} == {EN, DE}
    assert ids(read_slices(out, increment.slices)) == ["a1", "b1"]
    assert json.loads(json.dumps(token)) == token  # opaque but JSON-able

    again, token = complete_partitions_since(out, token)
    assert again.slices == () and again.partitions == ()

    write_commit(tmp_path, "c2", [make_article("a2")], written_at=T0 + timedelta(minutes=5))
    increment, token = complete_partitions_since(out, token)
    assert [p.partition for p in increment.partitions] == [EN]
    assert ids(read_slices(out, increment.slices)) == ["a2"]


def test_writing_partition_is_deferred_until_complete(tmp_path):
    out = str(tmp_path)
    write_commit(tmp_path, "c1", [make_article("a1"), make_article("b1", language="de")],
                 written_at=T0)
    write_files(tmp_path, "c2", [make_article("a2")])  # in progress in en
    increment, token = complete_partitions_since(out, None, grace=timedelta(0))
    assert [p.partition for p in increment.partitions] == [DE]
    assert [p.partition for p in increment.deferred] == [EN]
    assert ids(read_slices(out, increment.slices)) == ["b1"]

    write_commit(tmp_path, "c2", [make_article("a2")], written_at=T0 + timedelta(hours=3))
    increment, token = complete_partitions_since(out, token, grace=timedelta(0))
    # c1's en rows were held back, not skipped: they come now, with c2's.
    assert ids(read_slices(out, increment.slices)) == ["a1", "a2"]
    assert complete_partitions_since(out, token, grace=timedelta(0))[0].slices == ()


def test_checkpoint_floor_prunes_seen_commits_without_rereading(tmp_path):
    out = str(tmp_path)
    token = None
    for index in range(5):
        write_commit(tmp_path, f"c{index}", [make_article(f"a{index}")],
                     written_at=T0 + timedelta(hours=index))
        increment, token = complete_partitions_since(out, token, grace=timedelta(hours=1))
        assert ids(read_slices(out, increment.slices)) == [f"a{index}"]
    # Only commits within the grace period of the newest are remembered explicitly.
    assert sorted(key.split("@")[0] for key in token["seen"]) == ["c3", "c4"]
    assert token["floor"] == (T0 + timedelta(hours=3)).isoformat(timespec="microseconds")


def test_rewritten_backfill_commit_is_reported_again(tmp_path):
    out = str(tmp_path)
    write_commit(tmp_path, "backfill-1", [make_article("a1")], written_at=T0, kind="backfill")
    _, token = complete_partitions_since(out, None)
    later = T0 + timedelta(minutes=10)
    write_commit(tmp_path, "backfill-1", [make_article("a1", ingested_at=later)],
                 written_at=later, kind="backfill")
    increment, _ = complete_partitions_since(out, token)
    assert ids(read_slices(out, increment.slices)) == ["a1"]


def test_checkpoint_file_round_trip(tmp_path):
    path = str(tmp_path / "state" / "checkpoint.json")
    assert load_checkpoint(path) is None
    write_commit(tmp_path, "c1", [make_article("a1")])
    _, token = complete_partitions_since(str(tmp_path), None)
    save_checkpoint(path, token)
    assert load_checkpoint(path) == token
    assert [n for n in os.listdir(tmp_path / "state")] == ["checkpoint.json"]
    with pytest.raises(ValueError):
        complete_partitions_since(str(tmp_path), {"something": "else"})


# --------------------------------------------------------------------------------------------
# Latest-row rule


def _versions_table():
    return table_for([
        make_article("a1", ingested_at=T0, title="old"),
        make_article("a1", ingested_at=T0 + timedelta(hours=1), title="new"),
        make_article("a2", ingested_at=T0, fetched_at=None, title="unfetched"),
        make_article("a2", ingested_at=T0, fetched_at=T0, title="fetched"),
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
    assert rows_of(result) == rows_of(latest_rows(_versions_table()))


def test_read_latest_articles_across_commits(tmp_path):
    write_commit(tmp_path, "c1", [make_article("a1", title="first")], written_at=T0)
    write_commit(tmp_path, "c2", [make_article("a1", title="second",
                                               ingested_at=T0 + timedelta(hours=1))],
                 written_at=T0 + timedelta(hours=1))
    latest = read_latest_articles(str(tmp_path))
    assert latest.column("title").to_pylist() == ["second"]


# --------------------------------------------------------------------------------------------
# Schema evolution


def test_older_partitions_read_with_current_schema(tmp_path):
    out = str(tmp_path)
    write_commit(tmp_path, "v1", [make_article("old", published="2023-01-01")], version=1,
                 written_at=T0)
    write_commit(tmp_path, "v2", [make_article("mid", published="2023-06-01")], version=2,
                 written_at=T0 + timedelta(minutes=1))
    write_commit(tmp_path, "v3", [make_article("new", published="2023-09-15")],
                 written_at=T0 + timedelta(minutes=2))
    # The files really carry their own versions' columns.
    v1_file = os.path.join(articles_dir_of(tmp_path), "dt=2023-01-01/lang=en/part-v1-00000.parquet")
    assert "topics" not in pq.read_schema(v1_file).names

    table = read_committed(out)
    assert table.schema.names == article_schema().names
    by_id = {row["article_id"]: row for row in table.to_pylist()}
    assert by_id["old"]["topics"] is None and by_id["old"]["is_duplicate"] is None
    assert by_id["mid"]["is_duplicate"] is False and by_id["mid"]["topics"] is None
    assert by_id["new"]["topics"] == ["politics"]
    assert sorted(s.schema_versions[0] for s in list_partitions(out)) == [1, 2, SCHEMA_VERSION]

    # Plain pyarrow.dataset over the hive directory, with the current schema, works too.
    partitioning = ds.partitioning(pa.schema([("dt", pa.string()), ("lang", pa.string())]),
                                   flavor="hive")
    schema = article_schema()
    for name in ("dt", "lang"):
        schema = schema.append(pa.field(name, pa.string()))
    whole = ds.dataset(articles_dir_of(tmp_path), format="parquet", partitioning=partitioning,
                       schema=schema).to_table()
    assert whole.num_rows == 3
    assert whole.filter(pc.field("dt") == "2023-01-01").column("topics").to_pylist() \
        == [None]


def test_future_column_does_not_break_reading_older_files(tmp_path):
    """A reader with the current schema over a file from a newer writer (an extra column)."""
    write_commit(tmp_path, "v3", [make_article("a1")])
    newer = table_for([make_article("a2")]).append_column("sentiment", pa.array([0.5]))
    relative = f"{EN}/part-v4-00000.parquet"
    size = write_parquet_atomic(os.path.join(articles_dir_of(tmp_path), relative), newer)
    manifest = build_manifest("v4", "stream", [{"path": relative, "dt": "2023-09-15",
                                                "lang": "en", "rows": 1, "bytes": size}])
    write_manifest(articles_dir_of(tmp_path), manifest)
    table = read_committed(str(tmp_path))
    assert ids(table) == ["a1", "a2"] and "sentiment" not in table.schema.names


# --------------------------------------------------------------------------------------------
# Compaction


def _small_commits(tmp_path, count: int, per_commit: int = 2, language: str = "en"):
    for index in range(count):
        write_commit(tmp_path, f"w{index:02d}",
                     [make_article(f"{language}{index:02d}-{n}", language=language)
                      for n in range(per_commit)],
                     written_at=T0 + timedelta(minutes=index))


def test_compaction_merges_small_files_without_losing_or_duplicating_rows(tmp_path):
    out = str(tmp_path)
    _small_commits(tmp_path, 6)
    write_commit(tmp_path, "old", [make_article("v1-row")], version=1,
                 written_at=T0 + timedelta(minutes=30))
    before = rows_of(read_committed(out))
    summary = compact(out, target_rows=1000)
    assert summary.partitions == (EN,) and summary.files_replaced == 7
    assert summary.files_written == 1 and summary.rows == 13
    assert rows_of(read_committed(out)) == before
    en = state(tmp_path, EN)
    assert (en.state, en.files, en.rows, en.superseded) == (STATE_COMPLETE, 1, 13, ())
    assert en.schema_versions == (SCHEMA_VERSION,)
    names = os.listdir(os.path.join(articles_dir_of(tmp_path), EN))
    assert names == [f"part-{summary.commits[0]}-00000.parquet"]
    manifest = load_catalog(out).manifests[-1]
    assert manifest["kind"] == "compaction" and len(manifest["replaces"]) == 7
    # Nothing left to do: a second run is a no-op.
    assert compact(out, target_rows=1000).commits == ()


def test_compaction_splits_by_target_rows_and_keeps_row_provenance(tmp_path):
    out = str(tmp_path)
    _small_commits(tmp_path, 5, per_commit=3)
    compact(out, target_rows=7)
    view = load_catalog(out)
    assert sorted(f.rows for f in view.live) == [5, 5, 5]
    for committed in view.live:
        assert sum(s.rows for s in committed.sources) == committed.rows
    assert {s.commit_id for f in view.live for s in f.sources} == {f"w{i:02d}" for i in range(5)}


def test_split_sources_rebases_and_joins_ranges():
    sources = [RowSource("a", "t1", 0, 3), RowSource("b", "t2", 3, 4), RowSource("b", "t2", 7, 1)]
    assert split_sources(sources, 2, 6) == [RowSource("a", "t1", 0, 1),
                                           RowSource("b", "t2", 1, 3)]
    assert split_sources(sources, 6, 8) == [RowSource("b", "t2", 0, 2)]


def test_incremental_reader_sees_only_unread_rows_of_compacted_files(tmp_path):
    out = str(tmp_path)
    _small_commits(tmp_path, 3)
    first, token = complete_partitions_since(out, None, grace=timedelta(0))
    assert len(read_slices(out, first.slices)) == 6
    write_commit(tmp_path, "late", [make_article("late-1"), make_article("late-2")],
                 written_at=T0 + timedelta(hours=2))
    compact(out, target_rows=1000)  # merges the three read commits and the unread one
    increment, token = complete_partitions_since(out, token, grace=timedelta(0))
    assert ids(read_slices(out, increment.slices)) == ["late-1", "late-2"]
    assert not increment.slices[0].whole_file
    assert complete_partitions_since(out, token, grace=timedelta(0))[0].slices == ()


def test_reader_that_never_looked_reads_compacted_rows_once(tmp_path):
    out = str(tmp_path)
    _small_commits(tmp_path, 4)
    compact(out, target_rows=3)
    increment, _ = complete_partitions_since(out, None)
    table = read_slices(out, increment.slices)
    assert len(table) == 8 and len(set(table.column("article_id").to_pylist())) == 8


def test_compaction_crash_before_manifest_changes_nothing_for_readers(tmp_path, monkeypatch):
    out = str(tmp_path)
    _small_commits(tmp_path, 4)
    before = rows_of(read_committed(out))

    def crash(*_args, **_kwargs):
        raise RuntimeError("killed before the commit point")

    monkeypatch.setattr(catalog, "write_manifest", crash)
    with pytest.raises(RuntimeError):
        compact(out, target_rows=1000)
    monkeypatch.undo()
    # The merged file exists but no manifest lists it: readers ignore it.
    en = state(tmp_path, EN)
    assert en.state == STATE_WRITING and len(en.uncommitted) == 1 and en.files == 4
    assert rows_of(read_committed(out)) == before
    assert complete_partitions_since(out, None)[0].slices == ()  # deferred, not half-read
    # The next run removes the leftover and compacts.
    summary = compact(out, target_rows=1000)
    assert summary.files_replaced == 4
    assert rows_of(read_committed(out)) == before
    assert state(tmp_path, EN).state == STATE_COMPLETE


def test_compaction_crash_after_manifest_never_shows_rows_twice(tmp_path, monkeypatch):
    out = str(tmp_path)
    _small_commits(tmp_path, 4)
    before = rows_of(read_committed(out))
    real_delete = catalog._delete

    def crash(articles_dir, paths):
        paths = list(paths)
        if not paths:  # the leftover sweep at the start has nothing to do
            return []
        real_delete(articles_dir, paths[:1])  # one input deleted, then the process dies
        raise RuntimeError("killed while deleting replaced files")

    monkeypatch.setattr(catalog, "_delete", crash)
    with pytest.raises(RuntimeError):
        compact(out, target_rows=1000)
    monkeypatch.undo()
    en = state(tmp_path, EN)
    assert en.state == STATE_COMPLETE and en.files == 1 and len(en.superseded) == 3
    assert rows_of(read_committed(out)) == before
    increment, _ = complete_partitions_since(out, None)
    assert rows_of(read_slices(out, increment.slices)) == before
    # The next run deletes what the crashed one left.
    summary = compact(out, target_rows=1000)
    assert len(summary.deleted) == 3 and state(tmp_path, EN).superseded == ()


def test_retention_keeps_replaced_files_for_running_readers(tmp_path):
    out = str(tmp_path)
    _small_commits(tmp_path, 3)
    summary = compact(out, target_rows=1000, retention=timedelta(hours=1))
    assert summary.deleted == ()
    assert len(state(tmp_path, EN).superseded) == 3
    later = compact(out, target_rows=1000, retention=timedelta(hours=1),
                    now=datetime.now(UTC) + timedelta(hours=2))
    assert len(later.deleted) == 3


def test_rerun_of_a_compacted_commit_makes_its_files_live_again(tmp_path):
    out = str(tmp_path)
    _small_commits(tmp_path, 3)
    compact(out, target_rows=1000)
    write_commit(tmp_path, "w00", [make_article("en00-0"), make_article("en00-1")],
                 written_at=datetime.now(UTC) + timedelta(seconds=5))
    view = load_catalog(out)
    assert sorted(f.commit_id.split("-")[0] for f in view.live) == ["compact", "w00"]
    # Rows of the re-run and their older copies in the compacted file: the latest-row rule
    # keeps one of each.
    assert len(read_committed(out)) == 8 and len(read_latest_articles(out)) == 6


def test_compaction_skips_damaged_partitions_and_lone_files(tmp_path):
    out = str(tmp_path)
    manifest = write_commit(tmp_path, "c1", [make_article("a1"), make_article("a2")], shards=2)
    write_commit(tmp_path, "c2", [make_article("a3")])
    write_commit(tmp_path, "d1", [make_article("b1", language="de")])
    os.remove(os.path.join(articles_dir_of(tmp_path), manifest["files"][0]["path"]))
    summary = compact(out, target_rows=1000)
    assert summary.commits == ()
    assert [p for p, _ in summary.skipped] == [EN]


def test_old_uncommitted_files_are_removed_only_when_asked(tmp_path):
    out = str(tmp_path)
    write_commit(tmp_path, "c1", [make_article("a1")])
    write_files(tmp_path, "crashed", [make_article("a2")])
    assert compact(out).deleted == ()
    summary = compact(out, remove_uncommitted_older_than=timedelta(hours=1),
                      now=datetime.now(UTC) + timedelta(hours=2))
    assert summary.deleted == (f"{EN}/part-crashed-00000.parquet",)
    assert state(tmp_path, EN).state == STATE_COMPLETE


def test_compaction_orders_after_its_inputs_even_with_clock_skew(tmp_path):
    out = str(tmp_path)
    ahead = datetime.now(UTC) + timedelta(minutes=10)  # a writer whose clock runs fast
    write_commit(tmp_path, "fast1", [make_article("a1")], written_at=ahead)
    write_commit(tmp_path, "fast2", [make_article("a2")], written_at=ahead)
    summary = compact(out, target_rows=1000)
    assert summary.files_replaced == 2
    view = load_catalog(out)
    assert [f.commit_id for f in view.live] == list(summary.commits)
    assert ids(read_committed(out)) == ["a1", "a2"]
    assert "1 partition(s): 2 file(s) -> 1, 2 rows" in format_compaction(summary)
