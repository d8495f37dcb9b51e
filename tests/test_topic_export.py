"""The example downstream job and the DuckDB/pandas snippets of docs/downstream.md."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import apache_beam as beam
import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from newsflow.pipelines import topic_export
from newsflow.pipelines.topic_export import (
    TopicExportOptions,
    build,
    safe_path_value,
    select_rows,
    slice_name,
    split_values,
)
from newsflow.schemas.catalog import FileSlice
from newsflow.transforms.catalog import compact, load_checkpoint
from tests.conftest import BEAM_TEST_ARGS, REPO
from tests.test_catalog import T0, make_article, table_for, write_commit, write_files

DOCS = REPO / "docs" / "downstream.md"


def sample_output(root) -> str:
    """Science/health articles in two languages, a duplicate, an undated and an old-schema row,
    plus an uncommitted file that must never be exported."""
    out = root / "out"
    write_commit(out, "c1", [
        make_article("en-sci", topics=("science",)),
        make_article("en-sci-dup", topics=("science",), is_duplicate=True),
        make_article("en-sci-null-dup", topics=("science", "health"), is_duplicate=None),
        make_article("en-pol", topics=("politics",)),
        make_article("de-sci", topics=("science",), language="de"),
        make_article("en-undated", topics=("health",), published=None),
    ], written_at=T0)
    write_commit(out, "c0", [make_article("en-v1", published="2023-01-01")], version=1,
                 written_at=T0 - timedelta(hours=1))
    write_files(out, "c9", [make_article("en-uncommitted", topics=("science",),
                                         published="2024-01-02")])
    return str(out)


def exported(export: str) -> dict[str, list[str]]:
    if not os.path.isdir(export):
        return {}
    table = ds.dataset(export, format="parquet", partitioning="hive").to_table()
    by_topic: dict[str, list[str]] = {}
    for row in table.select(["topic", "article_id"]).to_pylist():
        by_topic.setdefault(row["topic"], []).append(row["article_id"])
    return {topic: sorted(ids) for topic, ids in sorted(by_topic.items())}


def test_select_rows_keeps_canonical_rows_of_topic_and_language():
    table = table_for([
        make_article("a", topics=("science", "health")),
        make_article("b", topics=("science",), is_duplicate=True),
        make_article("c", topics=("science",), is_duplicate=None),
        make_article("d", topics=("science",), language="de"),
        make_article("e", topics=()),
        make_article("f", topics=None),
    ])
    pick = select_rows(table, "science", ("en",))
    assert pick.column("article_id").to_pylist() == ["a", "c"]
    assert select_rows(table, "science", ()).column("article_id").to_pylist() == ["a", "c", "d"]
    assert select_rows(table, "health", ()).column("article_id").to_pylist() == ["a"]
    assert select_rows(table.slice(0, 0), "science", ()).num_rows == 0


def test_values_used_in_paths_are_sanitized():
    assert split_values(["Science, health", "science"]) == ("science", "health")
    assert safe_path_value("climate_change-1") == "climate_change-1"
    for bad in ("../etc", "a/b", "", ".hidden", "x" * 65, "sp ace"):
        with pytest.raises(ValueError):
            safe_path_value(bad)
    piece = FileSlice("dt=2023-09-15/lang=en/part-c-00000.parquet", "2023-09-15", "en", 0, 5, 5,
                      "c")
    assert re.fullmatch(r"part-[0-9a-f]{20}\.parquet", slice_name(piece))


def test_build_exports_complete_committed_rows(tmp_path):
    out = sample_output(tmp_path)
    export = str(tmp_path / "export")
    argv = BEAM_TEST_ARGS + [f"--source={out}", f"--export={export}", "--topic=science,health",
                             "--language=en", f"--checkpoint={tmp_path / 'ckpt.json'}"]
    with test_pipeline.TestPipeline(options=PipelineOptions(argv)) as p:
        outputs = build(p, p.options)
        rows = outputs["files"] | beam.Map(lambda f: (f["topic"], f["rows"]))
        totals = rows | beam.CombinePerKey(sum)
        assert_that(totals, equal_to([("science", 2), ("health", 2)]))
    assert exported(export) == {"health": ["en-sci-null-dup", "en-undated"],
                                "science": ["en-sci", "en-sci-null-dup"]}
    # Planning never touches the checkpoint: only run() saves it, after success.
    assert not os.path.exists(tmp_path / "ckpt.json")
    assert outputs["checkpoint"]["format"] == "newsflow.checkpoint/1"


def test_run_is_incremental_and_saves_checkpoint_after_success(tmp_path, capsys):
    out = sample_output(tmp_path)
    export, checkpoint = str(tmp_path / "export"), str(tmp_path / "state" / "ckpt.json")
    argv = [f"--source={out}", f"--export={export}", "--topic=science", "--language=en,de",
            f"--checkpoint={checkpoint}", "--runner=FnApiRunner"]
    assert topic_export.run(argv) == 0
    assert exported(export) == {"science": ["de-sci", "en-sci", "en-sci-null-dup"]}
    first = load_checkpoint(checkpoint)
    assert first is not None

    assert topic_export.run(argv) == 0  # nothing new: nothing written, same files
    assert exported(export) == {"science": ["de-sci", "en-sci", "en-sci-null-dup"]}

    # The uncommitted file's commit lands, plus a new commit; compaction merges the partition.
    write_commit(tmp_path / "out", "c9", [make_article("en-uncommitted", topics=("science",),
                                                       published="2024-01-02")],
                 written_at=T0 + timedelta(minutes=1))
    write_commit(tmp_path / "out", "c10", [make_article("en-new", topics=("science",))],
                 written_at=T0 + timedelta(minutes=2))
    compact(out, target_rows=1000)
    assert topic_export.run(argv) == 0
    assert exported(export) == {"science": ["de-sci", "en-new", "en-sci", "en-sci-null-dup",
                                            "en-uncommitted"]}
    assert load_checkpoint(checkpoint) != first
    assert "checkpoint saved" in capsys.readouterr().out


def test_failed_run_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    out = sample_output(tmp_path)
    checkpoint = str(tmp_path / "ckpt.json")
    argv = [f"--source={out}", f"--export={tmp_path / 'export'}", "--topic=science",
            f"--checkpoint={checkpoint}", "--runner=FnApiRunner"]

    def broken_write(path, table):
        raise OSError("disk full")

    monkeypatch.setattr(topic_export, "write_parquet_atomic", broken_write)
    with pytest.raises(Exception, match="disk full"):
        topic_export.run(argv)
    assert load_checkpoint(checkpoint) is None


def test_missing_required_options_is_an_error(tmp_path):
    options = PipelineOptions(BEAM_TEST_ARGS + [f"--source={tmp_path}"])
    with pytest.raises(ValueError, match="required"):
        build(beam.Pipeline(options=options), options)
    options = PipelineOptions([f"--source={tmp_path}", "--export=e", "--checkpoint=c",
                               "--topic=../../etc"])
    with pytest.raises(ValueError, match="path"):
        build(beam.Pipeline(options=options), options)
    assert options.view_as(TopicExportOptions).topic == ["../../etc"]
    with pytest.raises(SystemExit) as exit_info:  # before any pipeline: argument error, 2
        topic_export.run(["--source=x"])
    assert exit_info.value.code == 2


# --------------------------------------------------------------------------------------------
# The snippets in docs/downstream.md really run and agree with the Beam job.


def doc_block(marker: str) -> str:
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(rf"<!-- docs-test: {marker} -->\s*```\w+\n(.*?)```", text, re.DOTALL)
    assert match, f"no '{marker}' block in {DOCS}"
    return match.group(1)


def test_docs_duckdb_one_liner_matches_the_job(tmp_path, monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    sample_output(tmp_path)
    compact(str(tmp_path / "out"), target_rows=1000, retention=timedelta(hours=1))
    monkeypatch.chdir(tmp_path)
    sql = doc_block("duckdb")
    assert "\n" not in sql.strip()  # a one-liner
    result = duckdb.sql(sql).arrow()
    result = result.read_all() if hasattr(result, "read_all") else result
    assert sorted(result.column("article_id").to_pylist()) == ["en-sci", "en-sci-null-dup"]


def test_docs_pandas_snippet_matches_the_job(tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    sample_output(tmp_path)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(doc_block("pandas"), str(DOCS), "exec"), namespace)  # noqa: S102 - our docs
    assert sorted(namespace["science"]["article_id"]) == ["en-sci", "en-sci-null-dup"]


def test_docs_pyarrow_dataset_snippet_reads_all_versions(tmp_path):
    sample_output(tmp_path)
    schema_block = re.search(r"```python\n(import pyarrow as pa, pyarrow.dataset.*?)```",
                             DOCS.read_text(encoding="utf-8"), re.DOTALL).group(1)
    code = schema_block.replace('"OUTPUT/articles"', repr(str(tmp_path / "out" / "articles")))
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 - our docs
    table: pa.Table = namespace["table"]
    assert "topics" in table.schema.names and "dt" in table.schema.names
    by_id = {row["article_id"]: row for row in table.to_pylist()}
    assert by_id["en-v1"]["topics"] is None and by_id["en-v1"]["dt"] == "2023-01-01"
