"""The example downstream job and the reader one-liners of docs/downstream.md and README."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import apache_beam as beam
import pyarrow.dataset as ds
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from newsflow.pipelines import topic_export
from newsflow.pipelines.topic_export import (
    TopicExportOptions,
    build,
    export_name,
    safe_path_value,
    select_rows,
    split_values,
)
from newsflow.schemas.catalog import AddedFile
from newsflow.transforms.catalog import compact, load_checkpoint
from newsflow.transforms.sinks import write_article_files
from newsflow.transforms.table import table_uri
from tests.conftest import BEAM_TEST_ARGS, REPO
from tests.tables import T0, commit_articles, make_article, table_for
from tests.test_catalog import _commit_with_old_writer

DOCS = REPO / "docs" / "downstream.md"
README = REPO / "README.md"


def sample_output(root) -> str:
    """Science/health articles in two languages, a duplicate, an undated and an old-schema row,
    plus the files of a run that never committed, which must never be exported."""
    out = root / "out"
    _commit_with_old_writer(out, "c0", [make_article("en-v1", published="2023-01-01")], 1)
    commit_articles(out, "c1", [
        make_article("en-sci", topics=("science",)),
        make_article("en-sci-dup", topics=("science",), is_duplicate=True),
        make_article("en-sci-null-dup", topics=("science", "health"), is_duplicate=None),
        make_article("en-pol", topics=("politics",)),
        make_article("de-sci", topics=("science",), language="de"),
        make_article("en-undated", topics=("health",), published=None),
    ])
    write_article_files(table_uri(str(out)), "dead", 1, [
        make_article("en-uncommitted", topics=("science",), published="2024-01-02")])
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
    added = AddedFile(3, "dt=2023-09-15/lang=en/part-c-1-00000.parquet", "2023-09-15", "en", 5)
    assert re.fullmatch(r"part-[0-9a-f]{20}\.parquet", export_name(added))


def test_build_exports_committed_rows_only(tmp_path):
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
    assert outputs["checkpoint"] == 2  # the table version read up to (1: a schema merge)


def test_run_is_incremental_and_saves_checkpoint_after_success(tmp_path, capsys):
    out = sample_output(tmp_path)
    export, checkpoint = str(tmp_path / "export"), str(tmp_path / "state" / "ckpt.json")
    argv = [f"--source={out}", f"--export={export}", "--topic=science", "--language=en,de",
            f"--checkpoint={checkpoint}", "--runner=FnApiRunner"]
    assert topic_export.run(argv) == 0
    assert exported(export) == {"science": ["de-sci", "en-sci", "en-sci-null-dup"]}
    first = load_checkpoint(checkpoint)
    assert first == 2

    assert topic_export.run(argv) == 0  # nothing new: nothing written, same files
    assert exported(export) == {"science": ["de-sci", "en-sci", "en-sci-null-dup"]}

    # New commits land, then a compaction merges the partition: only the new rows are read.
    commit_articles(tmp_path / "out", "c2", [make_article("en-new", topics=("science",))])
    commit_articles(tmp_path / "out", "c3", [make_article("en-later", topics=("science",),
                                                          published="2024-01-02")])
    compact(out)
    capsys.readouterr()
    assert topic_export.run(argv) == 0
    assert exported(export) == {"science": ["de-sci", "en-later", "en-new", "en-sci",
                                            "en-sci-null-dup"]}
    assert load_checkpoint(checkpoint) == 5
    assert "2 file(s) added since version 2, 2 new rows" in capsys.readouterr().out


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


def test_missing_required_options_and_tables_are_errors(tmp_path, capsys):
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
    assert topic_export.run([f"--source={tmp_path / 'none'}", f"--export={tmp_path}/e",
                             "--topic=science", f"--checkpoint={tmp_path}/c.json",
                             "--runner=FnApiRunner"]) == 2
    assert "does not exist" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# The reader one-liners in docs/downstream.md and the README really run, with no newsflow code.


def doc_block(marker: str, path=DOCS) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"<!-- docs-test: {marker} -->\s*```\w+\n(.*?)```", text, re.DOTALL)
    assert match, f"no '{marker}' block in {path}"
    return match.group(1)


def run_block(marker: str, path=DOCS) -> dict:
    code = doc_block(marker, path)
    assert "newsflow" not in code
    namespace: dict = {}
    exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - our own docs
    return namespace


@pytest.fixture
def docs_output(tmp_path, monkeypatch):
    """The sample output at ./out, compacted, with one article re-written later."""
    out = sample_output(tmp_path)
    commit_articles(tmp_path / "out", "c2", [make_article(
        "en-sci", topics=("science",), title="updated", ingested_at=T0.replace(year=2030))])
    compact(out)
    monkeypatch.chdir(tmp_path)
    return out


def test_docs_deltalake_one_liners(docs_output):
    pytest.importorskip("pandas")
    namespace = run_block("deltalake")
    assert namespace["table"].num_rows == 8  # 7 articles, one twice; never the dead run's file
    assert len(namespace["frame"]) == 8
    assert namespace["frame"]["dt"].isna().sum() == 1  # undated: Delta's null partition


def test_docs_polars_one_liners(docs_output):
    pytest.importorskip("polars")
    namespace = run_block("polars")
    assert namespace["frame"].height == 8
    assert sorted(namespace["science"]["article_id"].to_list()) == \
        ["en-sci", "en-sci", "en-sci-null-dup"]


def test_docs_latest_row_query_matches_the_rule(docs_output):
    pytest.importorskip("polars")
    namespace = run_block("latest")
    latest = namespace["latest"]
    assert latest.height == 7 and latest["article_id"].n_unique() == 7
    assert latest.filter(latest["article_id"] == "en-sci")["title"].to_list() == ["updated"]


def test_docs_duckdb_over_deltalake_matches_the_rule(docs_output):
    pytest.importorskip("duckdb")
    namespace = run_block("duckdb")
    result = namespace["science"]
    assert sorted(result["article_id"]) == ["en-sci", "en-sci-null-dup"]
    assert result.set_index("article_id").loc["en-sci", "title"] == "updated"


def test_docs_duckdb_delta_extension_when_installed(docs_output):
    duckdb = pytest.importorskip("duckdb")
    installed = duckdb.sql("SELECT installed FROM duckdb_extensions() "
                           "WHERE extension_name = 'delta'").fetchall()
    if not installed or not installed[0][0]:
        pytest.skip("DuckDB's delta extension is not installed (DuckDB downloads it on first "
                    "use, which this machine cannot do)")
    sql = doc_block("duckdb-delta-scan").strip()
    assert "\n" not in sql
    assert sorted(r[0] for r in duckdb.sql(sql).fetchall()) == ["en-sci", "en-sci-null-dup"]


def test_readme_reader_snippet_runs(docs_output):
    pytest.importorskip("polars")
    namespace = run_block("readme-readers", README)
    assert namespace["table"].num_rows == 8 and namespace["frame"].height == 7  # lang en


def test_docs_deltalake_readers_exit_cleanly_as_scripts(tmp_path, monkeypatch):
    """Each block that reads through deltalake's pyarrow dataset, run as its own script three
    times on a table of 30 files of 100 KB: with deltalake's default filesystem about two runs
    in three aborted at exit (134)."""
    pytest.importorskip("duckdb")
    for day in range(1, 31):
        commit_articles(tmp_path / "out", f"c{day}", [make_article(
            f"a{day}", published=f"2024-01-{day:02d}", text="word " * 20_000)])
    monkeypatch.chdir(tmp_path)
    blocks = [("deltalake", DOCS), ("duckdb", DOCS), ("readme-readers", README),
              ("readme-stories", README), ("stories-duckdb", REPO / "docs" / "stories.md")]
    outcomes = [(marker, run.returncode, run.stderr[-300:]) for marker, path in blocks
                for run in (subprocess.run([sys.executable, "-c", doc_block(marker, path)],
                                           capture_output=True, text=True, timeout=120)
                            for _ in range(3))]
    assert [outcome for outcome in outcomes if outcome[1] != 0] == []
