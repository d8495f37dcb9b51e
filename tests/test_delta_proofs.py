"""Proofs of the table's guarantees under concurrency and failure, on local paths:

- a reader looping over the table while a compaction and backfill runs commit never sees a
  missing, doubled or partial commit;
- a backfill re-run after compaction gives the same rows and count;
- a streaming window whose commit step runs again is committed once;
- ``kill -9`` in the middle of a run leaves the table unchanged, plain readers never see the
  dead run's files, and a re-run completes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import FixedWindows, TimestampedValue
from deltalake import DeltaTable

from newsflow.transforms.catalog import compact, read_delta, vacuum
from newsflow.transforms.sinks import WriteArticles
from newsflow.transforms.table import table_uri
from tests.tables import T0, commit_articles, make_article
from tests.test_backfill import run_backfill

pytestmark = pytest.mark.slow


def delta(output) -> DeltaTable:
    return DeltaTable(table_uri(str(output)))


def stream_windows(output, windows: int, rows: int) -> set[str]:
    """``windows`` committed stream windows of ``rows`` articles each; returns their ids."""
    ids = set()
    for window in range(windows):
        articles = [make_article(f"w{window:03d}-{n:03d}", language=("en", "de")[n % 2])
                    for n in range(rows)]
        commit_articles(output, f"s-w{window:03d}", articles, app_id="s", app_version=window)
        ids.update(a.article_id for a in articles)
    return ids


class ReaderLoop(threading.Thread):
    """Reads the table again and again, recording every snapshot's row count and ids."""

    def __init__(self, output):
        super().__init__(daemon=True)
        self.uri = table_uri(str(output))
        self.stop = threading.Event()
        self.reads: list[tuple[int, int, frozenset[str], int]] = []  # version, rows, ids, dupes
        self.errors: list[BaseException] = []

    def run(self):
        while not self.stop.is_set():
            try:
                table = DeltaTable(self.uri)
                rows = read_delta(table, columns=["article_id"]).column("article_id")
                ids = frozenset(rows.to_pylist())
                self.reads.append((table.version(), len(rows), ids, len(rows) - len(ids)))
            except Exception as error:  # noqa: BLE001 - any failure to read is a finding
                self.errors.append(error)


def test_reader_never_sees_a_partial_missing_or_doubled_commit(tmp_path, seeds_dir):
    base = stream_windows(tmp_path, windows=30, rows=20)
    first = run_backfill([str(seeds_dir / "00[0-2]_*.txt")], tmp_path)
    seeds_a = {r for r in read_delta(delta(tmp_path)).column("article_id").to_pylist()
               if not r.startswith("w")}
    assert len(base) == 600 and len(seeds_a) == 3

    reader = ReaderLoop(tmp_path)
    reader.start()
    failures: list[BaseException] = []

    def compactions():
        try:
            for _ in range(3):
                compact(str(tmp_path))
        except BaseException as error:  # noqa: BLE001 - re-raised below
            failures.append(error)

    compactor = threading.Thread(target=compactions)
    compactor.start()
    # a re-run of the first backfill (replaces its 3 rows) and a new one (adds 2 rows)
    rerun = run_backfill([str(seeds_dir / "00[0-2]_*.txt")], tmp_path)
    run_backfill([str(seeds_dir / "00[34]_*.txt")], tmp_path)
    compactor.join()
    time.sleep(0.2)
    reader.stop.set()
    reader.join()
    assert not failures and not reader.errors
    assert rerun["commit_id"] == first["commit_id"]

    final = read_delta(delta(tmp_path)).column("article_id").to_pylist()
    seeds_b = set(final) - base - seeds_a
    assert len(final) == 605 and len(seeds_b) == 2
    versions = {version for version, *_ in reader.reads}
    assert len(reader.reads) > 20 and len(versions) >= 3
    for version, rows, ids, doubled in reader.reads:
        assert doubled == 0, f"version {version}: {doubled} rows doubled"
        assert base | seeds_a <= ids, f"version {version}: committed rows missing"
        assert rows in (603, 605) and ids - base - seeds_a in (set(), seeds_b), \
            f"version {version}: partial commit ({rows} rows)"


def test_backfill_rerun_after_compaction_gives_the_same_rows(tmp_path, seeds_dir):
    run_backfill([str(seeds_dir / "*.txt")], tmp_path)
    stream_windows(tmp_path, windows=4, rows=3)
    before = read_delta(delta(tmp_path)).sort_by("article_id")
    assert compact(str(tmp_path)).files_removed > 1
    run_backfill([str(seeds_dir / "*.txt")], tmp_path)
    after = read_delta(delta(tmp_path)).sort_by("article_id")
    assert after.num_rows == before.num_rows == 17
    columns = [c for c in before.column_names if c != "commit_id"]
    assert after.select(columns).to_pylist() == before.select(columns).to_pylist()


def _run_stream_sink(output, articles, attempt: int, expected: list[tuple]) -> None:
    """The article sink of a streaming job over event-time windows of 60 s; ``expected``:
    (rows, already committed, table version) of every window's commit."""
    options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])
    options.view_as(StandardOptions).streaming = True
    events = test_stream.TestStream()
    for offset, article in articles:
        events = events.add_elements([TimestampedValue(article, T0.timestamp() + offset)])
    events = events.advance_watermark_to_infinity()
    with beam.Pipeline(options=options) as p:
        commits = (p | events
                   | beam.WindowInto(FixedWindows(60))
                   | WriteArticles(str(output), "stream-r", "stream", attempt=attempt))
        assert_that(commits | beam.Map(lambda c: (c.rows, c.already_committed,
                                                  c.table_version)),
                    equal_to(expected))


def test_stream_window_commit_run_again_is_committed_once(tmp_path):
    articles = [(0, make_article("a")), (10, make_article("b")), (70, make_article("c"))]
    _run_stream_sink(tmp_path, articles, 1, [(2, False, 0), (1, False, 1)])
    assert delta(tmp_path).version() == 1
    # the same windows' commit steps run again (a retried bundle, a replayed job)
    _run_stream_sink(tmp_path, articles, 2, [(2, True, 0), (1, True, 1)])
    table = delta(tmp_path)
    assert table.version() == 1 and read_delta(table).num_rows == 3


def _table_files(output) -> set[str]:
    return {str(p.relative_to(output / "articles"))
            for p in (output / "articles").rglob("*.parquet")}


def test_kill_9_mid_run_leaves_the_table_unchanged(tmp_path):
    polars = pytest.importorskip("polars")
    from newsflow.pipelines.demo.sample_corpus import write_corpus

    info = write_corpus(tmp_path / "in", n_articles=60, seed=1)
    output = tmp_path / "out"
    commit_articles(output, "earlier", [make_article("earlier-1"), make_article("earlier-2")])
    before = _table_files(output)
    command = [sys.executable, "-m", "newsflow.pipelines.cli", "backfill",
               *[f"--input={glob}" for glob in info.input_globs], f"--output={output}",
               "--runner=FnApiRunner", "--extract_timeout=0", "--shards_per_partition=4"]
    env = dict(os.environ, NO_GCE_CHECK="True")
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    try:
        while not (_table_files(output) - before) and process.poll() is None:
            assert time.monotonic() < deadline, "the run wrote no file in time"
            time.sleep(0.01)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the whole run, mid-way through its files
        process.wait()
    dead_files = _table_files(output) - before
    assert dead_files, "killed before it wrote anything: nothing proven"

    table = delta(output)
    assert table.version() == 0  # no new version
    assert sorted(read_delta(table).column("article_id").to_pylist()) == \
        ["earlier-1", "earlier-2"]
    assert polars.scan_delta(table_uri(str(output))).collect().height == 2
    referenced = {p.split("/articles/", 1)[1] for p in table.file_uris()}
    assert not referenced & dead_files

    assert subprocess.run(command, env=env, capture_output=True, timeout=300).returncode == 0
    table = delta(output)
    assert table.version() == 1
    rows = read_delta(table).num_rows
    assert rows > 2 and polars.scan_delta(table_uri(str(output))).collect().height == rows
    assert not {p.split("/articles/", 1)[1] for p in table.file_uris()} & dead_files
    assert set(vacuum(str(output), retain_hours=0)) >= dead_files
    assert read_delta(delta(output)).num_rows == rows
    assert not any(Path(output / "articles" / f).exists() for f in dead_files)
