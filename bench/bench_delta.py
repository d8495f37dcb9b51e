"""The Delta table on 100k rows of real article texts: commit latency per window, the
latest-row query before and after compaction, a backfill re-run after compaction.

    python -m bench.bench_delta [--rows 100000] [--windows 100] [--repeat 2]

Rows cycle through the real article texts in ../shared (``bench.real_texts``: the seeds, the
devset and the Common Crawl sample, processed by newsflow), each row with its own article id,
published within three days before its window, in the text's language; one row in ten is a
re-fetch of an earlier article (a later ``ingested_at``), so the latest-row rule has work.

1. **Commit latency per window.** For each of ``--windows`` stream windows the rows are written
   as Parquet files (``write_article_files``, what ``WriteArticles``' workers do) and committed
   with ``commit_files`` (the one step per window). Baseline, same run, same rows: deltalake's
   own ``write_deltalake(mode="append", partition_by=["dt", "lang"])`` into a second table
   (write and commit in one library call). Prints medians and p95s and the ratio.
2. **Latest-row query** (newest row per ``article_id``; columns ``article_id``,
   ``ingested_at``, ``fetched_at``, ``title``, ``dt``, ``lang``) with polars ``scan_delta``,
   DuckDB over deltalake's dataset and newsflow's ``read_latest_articles``, before and after
   ``newsflow compact`` (best of ``--repeat``). The default takes about three minutes on two
   cores.
   Then the commit step again, on the compacted table.
3. **A backfill re-run after compaction**: one run's rows are spread over the compacted files;
   its re-run removes them (rewriting those files without them) and adds its new rows in one
   commit.

Nothing is asserted: timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

import pyarrow as pa

COLUMNS = ["article_id", "ingested_at", "fetched_at", "title", "dt", "lang"]
START = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(minutes=1)


def make_windows(rows: int, windows: int, seed: int = 7) -> list[list]:
    """``windows`` lists of Articles, ``rows`` in total, built from the real texts."""
    from bench.real_texts import load_real_texts
    from newsflow.schemas import SCHEMA_VERSION, Article

    texts = load_real_texts()
    rng = random.Random(seed)
    per_window = max(1, rows // windows)
    batches, earlier = [], []
    for window in range(windows):
        now = START + window * WINDOW
        batch = []
        for n in range(per_window):
            source = texts[(window * per_window + n) % len(texts)]
            if earlier and rng.random() < 0.1:  # a re-fetch of an earlier article
                article = rng.choice(earlier).replace(ingested_at=now, fetched_at=now)
            else:
                key = f"{window}-{n}"
                article_id = hashlib.sha256(key.encode()).hexdigest()[:16]
                published = now - timedelta(minutes=rng.randrange(3 * 24 * 60))
                article = Article(
                    article_id=article_id, url=f"https://{source.domain}/{key}",
                    domain=source.domain, title=source.text.split("\n", 1)[0][:120],
                    text=source.text, published_at=published, date_source="feed",
                    fetched_at=now, language=source.language, language_prob=0.99, wire=None,
                    dateline=None, authors=(), tags=(), site_name=source.domain,
                    content_hash=hashlib.sha256(source.text.encode()).hexdigest(),
                    source_format="feed", source_ref=source.name, feed_url=None,
                    versions=(("newsflow", "bench"),), ingested_at=now,
                    schema_version=SCHEMA_VERSION)
                earlier.append(article)
            batch.append(article)
        batches.append(batch)
    return batches


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def commit_windows(root: str, batches: list[list]) -> dict:
    """Phase 1: our write + commit per window, and write_deltalake on the same rows."""
    from deltalake import write_deltalake

    from newsflow.transforms.sinks import articles_table, partition_values, write_article_files
    from newsflow.transforms.table import commit_files, table_uri

    uri = table_uri(f"{root}/newsflow")
    baseline_uri = table_uri(f"{root}/baseline")
    write_s, commit_s, baseline_s, files = [], [], [], 0
    for window, batch in enumerate(batches):
        commit_id = f"stream-bench-w{window:05d}"
        started = time.perf_counter()
        written = write_article_files(uri, commit_id, window, batch)
        wrote = time.perf_counter()
        commit_files(uri, written, commit_id=commit_id, app_id="stream-bench",
                     app_version=window)
        committed = time.perf_counter()
        write_s.append(wrote - started)
        commit_s.append(committed - wrote)
        files += len(written)

        started = time.perf_counter()
        table = articles_table(batch, commit_id)
        values = [partition_values(a) for a in sorted(
            batch, key=lambda a: (a.article_id, a.source_ref, a.content_hash))]
        table = table.append_column("dt", pa.array(
            [datetime.fromisoformat(dt).date() if dt else None for dt, _ in values], pa.date32()))
        table = table.append_column("lang", pa.array([lang for _, lang in values]))
        write_deltalake(baseline_uri, table, mode="append", partition_by=["dt", "lang"])
        baseline_s.append(time.perf_counter() - started)
    ours = [w + c for w, c in zip(write_s, commit_s, strict=True)]
    first, last = commit_s[:20], commit_s[-20:]
    print(f"1. commit latency per window ({len(batches)} windows of {len(batches[0])} rows, "
          f"{files} files, {files / len(batches):.1f} per window)")
    print(f"   commit step alone:        median {ms(statistics.median(commit_s))}, "
          f"p95 {ms(percentile(commit_s, 0.95))}  (first 20 windows median "
          f"{ms(statistics.median(first))}, last 20 {ms(statistics.median(last))})")
    print(f"   write files + commit:     median {ms(statistics.median(ours))}, "
          f"p95 {ms(percentile(ours, 0.95))}")
    print(f"   baseline write_deltalake: median {ms(statistics.median(baseline_s))}, "
          f"p95 {ms(percentile(baseline_s, 0.95))}")
    print(f"   ratio (write_deltalake / ours, median): "
          f"{statistics.median(baseline_s) / statistics.median(ours):.2f}x")
    return {"files": files}


def time_queries(output: str, repeat: int) -> dict[str, tuple[float, int]]:
    """Best-of-``repeat`` seconds and row count of each latest-row query."""
    import duckdb
    import polars as pl
    from deltalake import DeltaTable

    from newsflow.transforms.catalog import arrow_dataset, read_latest_articles
    from newsflow.transforms.table import table_uri

    uri = table_uri(output)

    def with_polars():
        return pl.scan_delta(uri).select(COLUMNS).sort(
            ["ingested_at", "fetched_at"], descending=True, nulls_last=True).unique(
            "article_id", keep="first", maintain_order=True).collect().height

    def with_duckdb():
        # as docs/downstream.md reads it (pyarrow's filesystem: no abort at exit)
        articles = arrow_dataset(DeltaTable(uri))  # noqa: F841 - read by DuckDB by name
        return duckdb.sql(
            f"SELECT {', '.join(COLUMNS)} FROM articles QUALIFY row_number() OVER ("
            "PARTITION BY article_id ORDER BY ingested_at DESC, fetched_at DESC NULLS LAST) = 1"
        ).to_arrow_table().num_rows

    def with_newsflow():
        return read_latest_articles(output, columns=COLUMNS).num_rows

    results = {}
    for name, query in (("polars scan_delta", with_polars), ("DuckDB on deltalake", with_duckdb),
                        ("newsflow read_latest_articles", with_newsflow)):
        best, rows = float("inf"), 0
        for _ in range(repeat):
            started = time.perf_counter()
            rows = query()
            best = min(best, time.perf_counter() - started)
        results[name] = (best, rows)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="Rows in all.")
    parser.add_argument("--windows", type=int, default=100,
                        help="Stream windows (commits) the rows arrive in.")
    parser.add_argument("--repeat", type=int, default=2,
                        help="Runs of each query; the best counts.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from deltalake import DeltaTable

    from newsflow.transforms.catalog import compact
    from newsflow.transforms.sinks import write_article_files
    from newsflow.transforms.table import commit_files, table_uri

    started = time.perf_counter()
    batches = make_windows(args.rows, args.windows)
    rows = sum(len(b) for b in batches)
    print(f"{rows} rows ({len({a.article_id for b in batches for a in b})} articles) from "
          f"real texts, built in {time.perf_counter() - started:.1f} s")
    root = tempfile.mkdtemp(prefix="bench-delta-")
    try:
        commit_windows(root, batches)
        output = f"{root}/newsflow"
        before_files = len(DeltaTable(table_uri(output)).file_uris())
        before = time_queries(output, args.repeat)
        started = time.perf_counter()
        summary = compact(output)
        compact_s = time.perf_counter() - started
        after_files = len(DeltaTable(table_uri(output)).file_uris())
        after = time_queries(output, args.repeat)
        print(f"2. latest row per article ({', '.join(COLUMNS)}); compaction "
              f"{before_files} -> {after_files} files in {compact_s:.1f} s "
              f"({summary.partitions} partitions)")
        for name, (seconds, count) in before.items():
            later, later_count = after[name]
            assert count == later_count
            print(f"   {name:<31} before {seconds:6.2f} s   after {later:6.2f} s   "
                  f"{seconds / later:5.1f}x faster   ({count} rows)")
        uri = table_uri(output)
        latencies = []
        for index, batch in enumerate(batches[:10]):
            window = len(batches) + index
            files = write_article_files(uri, f"stream-bench-w{window:05d}", window, batch)
            started = time.perf_counter()
            commit_files(uri, files, commit_id=f"stream-bench-w{window:05d}",
                         app_id="stream-bench", app_version=window)
            latencies.append(time.perf_counter() - started)
        print(f"   commit step on the compacted table: median "
              f"{ms(statistics.median(latencies))} over 10 more windows")

        # 3. a run whose rows now sit inside compacted files is re-run
        rerun = batches[len(batches) // 2]
        commit_id = f"stream-bench-w{len(batches) // 2:05d}"
        started = time.perf_counter()
        files = write_article_files(uri, commit_id, 10**9, rerun)
        result = commit_files(uri, files, commit_id=commit_id, app_id=commit_id,
                              app_version=1, replace=True)
        print(f"3. re-run of one window's commit after compaction: {result.replaced_rows} rows "
              f"replaced in {result.replaced_files} compacted file(s) and {result.rows} added "
              f"in one commit, {time.perf_counter() - started:.2f} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
