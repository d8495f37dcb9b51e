"""Throughput of the backfill pipeline against a bare single-process loop over the same pages.

    python -m bench.bench_backfill [--docs 1000] [--files 12] [--workers 2] [--extract-timeout 30]

Generates ``--docs`` realistic ~60 KB article pages (``sample_corpus``), writes them
as ``--files`` gzipped WARC files so files spread over workers, and keeps the same pages in
memory. Then, in the same run:

* baseline: one Python process runs the pipeline's own processing steps
  (``processing_steps``: extract, clean, classify, dates, language, build, topics) on every
  page with ``run_steps``, timing each step, then batch dedup;
* pipeline: the backfill pipeline over the WARC files on the FnApiRunner in multi-processing
  mode (``--direct_running_mode=multi_processing --direct_num_workers=N``), writing Parquet.

It prints docs/s for both, their ratio (the cost of Beam plus the gain of parallelism; on 2
cores aim for >= 1.5x, the limit is 2x) and the per-stage cost per document. Nothing here is
asserted: timings depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

INGESTED_AT = datetime(2026, 1, 1, tzinfo=UTC)
STAGES = ("extract", "clean", "classify", "dates", "language", "build", "topics", "dedup")


# ---------------------------------------------------------------------------------------------
# Inputs


def make_pages(n_docs: int, seed: int, boilerplate_kb: float,
               days: int = 30) -> list[tuple[str, str, datetime]]:
    """``(url, html, fetched_at)`` for ``n_docs`` generated articles.

    Publication dates are redrawn within the ``days`` before one crawl, as in a monthly crawl
    dump (the generator alone spreads them over three years, which would make nearly every
    article its own ``dt``/``lang`` Parquet file); ``days=0`` keeps the generator's dates.
    """
    import dataclasses
    from datetime import timedelta

    from newsflow.pipelines.demo.sample_corpus import crawl_time, generate_articles, render_html

    rng = random.Random(f"bench-backfill:{seed}")
    crawl_end = datetime(2025, 6, 1, tzinfo=UTC)
    pages = []
    for article in generate_articles(n_docs, seed=seed):
        if days:
            offset = timedelta(seconds=rng.randrange(days * 86400))
            article = dataclasses.replace(article, published_at=crawl_end - offset)
        pages.append((article.url, render_html(article, boilerplate_kb),
                      crawl_time(article, rng)))
    return pages


def write_warcs(pages, directory: Path, n_files: int) -> list[Path]:
    """Deal the pages round-robin into ``n_files`` gzipped WARC files."""
    from newsflow.pipelines.demo.sample_corpus import write_warc

    n_files = max(1, min(n_files, len(pages)))
    paths = [directory / f"bench-{i:05d}.warc.gz" for i in range(n_files)]
    for index, path in enumerate(paths):
        write_warc(path, pages[index::n_files])
    return paths


# ---------------------------------------------------------------------------------------------
# Baseline: the same per-document work in one process, stage by stage


def run_baseline(pages) -> tuple[float, float, Counter, Counter]:
    """Process every page in-process through the pipeline's own steps; returns (seconds, CPU
    seconds, seconds per stage, outcomes)."""
    from newsflow.schemas import Article
    from newsflow.transforms.accounting import outcome_keys
    from newsflow.transforms.dedup import batch_order_key, deduplicate_records
    from newsflow.transforms.extract import ExtractSettings
    from newsflow.transforms.process import ProcessSettings, processing_steps
    from newsflow.transforms.stage import run_steps, steps_ready

    settings = ProcessSettings(extract=ExtractSettings(timeout_s=0), ingested_at=INGESTED_AT,
                               now=INGESTED_AT)
    steps = [step for _, step in processing_steps(settings)]
    stage_seconds: Counter = Counter()
    outcomes: Counter = Counter()
    articles = []
    clock = time.perf_counter
    with steps_ready(steps):  # setup() work, as in the DoFns: not timed
        run_steps(steps, _record(pages[0], -1))  # warm-up: trafilatura's first call loads data
        started, cpu_started = clock(), time.process_time()
        for index, page in enumerate(pages):
            outcome = run_steps(steps, _record(page, index), stage_seconds)
            outcomes[outcome_keys(outcome)] += 1
            if isinstance(outcome, Article):
                articles.append((outcome.article_id,
                                 batch_order_key(outcome.published_at, outcome.article_id),
                                 outcome.text))
        t7 = clock()
        deduplicate_records(articles)  # the pipeline's DeduplicateArticles, in one process
        stage_seconds["dedup"] += clock() - t7
    return clock() - started, time.process_time() - cpu_started, stage_seconds, outcomes


def _record(page: tuple[str, str, datetime], index: int):
    from newsflow.schemas import RawRecord

    url, html, fetched_at = page
    return RawRecord(url=url, body=html, body_kind="html", source_format="warc",
                     source_ref=f"memory@{index}", fetched_at=fetched_at)


def time_reading(paths: list[Path]) -> tuple[float, int]:
    """warcio reading and decoding of the WARC files (pipeline-only work), in one process."""
    from newsflow.schemas import RawRecord
    from newsflow.transforms.archives import iter_file_records

    started, count = time.perf_counter(), 0
    for path in paths:
        count += sum(isinstance(o, RawRecord) for o in iter_file_records(str(path)))
    return time.perf_counter() - started, count


# ---------------------------------------------------------------------------------------------
# Pipeline


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (the SDK workers, their extractors)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run_pipeline(input_glob: str, output: Path, workers: int, extract_timeout: float,
                 extra_args: list[str]) -> tuple[float, float, dict]:
    """Run the backfill; returns (wall seconds, CPU seconds of all its processes, summary)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from newsflow.pipelines import backfill

    args = ["--runner=FnApiRunner", "--direct_running_mode=multi_processing",
            f"--direct_num_workers={workers}", f"--input={input_glob}", f"--output={output}",
            f"--extract_timeout={extract_timeout:g}",
            f"--ingested_at={INGESTED_AT.isoformat()}", *extra_args]
    options = PipelineOptions(args)
    started, cpu_started = time.perf_counter(), cpu_seconds()
    pipeline = beam.Pipeline(options=options)
    outputs = backfill.build(pipeline, options)
    pipeline.run().wait_until_finish()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    return elapsed, cpu, backfill.load_summary(str(output), outputs["commit_id"])


# ---------------------------------------------------------------------------------------------
# Report


def stage_table(stage_seconds: Counter, n_docs: int, reading: tuple[float, int]) -> list[str]:
    total = sum(stage_seconds.values()) or 1.0
    lines = ["per-stage cost, baseline loop (ms/doc; share of the loop):"]
    for stage in STAGES:
        seconds = stage_seconds[stage]
        lines.append(f"  {stage:<10} {1000 * seconds / n_docs:7.2f} ms  "
                     f"{100 * seconds / total:5.1f}%")
    slowest = max(STAGES, key=lambda s: stage_seconds[s])
    read_seconds, read_docs = reading
    lines.append(f"  {'(read)':<10} {1000 * read_seconds / max(read_docs, 1):7.2f} ms  "
                 "warcio + decoding, done by the pipeline only")
    lines.append(f"slowest stage: {slowest}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_backfill",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1000, help="Pages to generate.")
    parser.add_argument("--files", type=int, default=12, help="WARC files to spread them over.")
    parser.add_argument("--workers", type=int, default=2, help="--direct_num_workers.")
    parser.add_argument("--page-kb", type=float, default=56.0, dest="page_kb",
                        help="KB of page chrome around each article (~60 KB pages).")
    parser.add_argument("--extract-timeout", type=float, default=None, dest="extract_timeout",
                        help="Pipeline --extract_timeout (default: the product default; 0 "
                             "extracts in-process without the guard subprocess).")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--days", type=int, default=30,
                        help="Publication dates within this many days before the crawl "
                             "(0: the generator's three-year spread, one file per article).")
    parser.add_argument("--skip-pipeline", action="store_true", help="Only the baseline.")
    parser.add_argument("--marginal", action="store_true",
                        help="Also run the pipeline on a tenth of the pages, to separate the "
                             "fixed start-up cost from the throughput per extra document.")
    parser.add_argument("--keep", default=None, help="Keep inputs and output in this directory.")
    args, extra = parser.parse_known_args(argv)

    logging.getLogger().setLevel(logging.WARNING)
    # SDK workers relay their start-up warnings through the job service: not our business here
    logging.getLogger("apache_beam.runners.portability.local_job_service").setLevel(logging.ERROR)
    from newsflow.transforms.extract import DEFAULT_TIMEOUT_S

    timeout = DEFAULT_TIMEOUT_S if args.extract_timeout is None else args.extract_timeout
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="bench-backfill-"))
    (workdir / "warc").mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        pages = make_pages(args.docs, args.seed, args.page_kb, args.days)
        paths = write_warcs(pages, workdir / "warc", args.files)
        page_kb = sum(len(html.encode()) for _, html, _ in pages) / len(pages) / 1024
        warc_mb = sum(p.stat().st_size for p in paths) / 1e6
        print(f"backfill benchmark: {len(pages)} pages, {page_kb:.1f} KB/page, {len(paths)} "
              f"WARC files ({warc_mb:.1f} MB gzipped), generated in "
              f"{time.perf_counter() - t0:.1f} s; {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.2f}")

        base_seconds, base_cpu, stage_seconds, outcomes = run_baseline(pages)
        base_rate = len(pages) / base_seconds
        print(f"baseline  (1 process, same functions): {base_seconds:7.1f} s  "
              f"{base_rate:7.1f} docs/s   CPU {1000 * base_cpu / len(pages):5.1f} ms/doc   "
              f"{dict(outcomes)}")
        reading = time_reading(paths)

        if not args.skip_pipeline:
            output = workdir / "out"
            shutil.rmtree(output, ignore_errors=True)
            pipe_seconds, pipe_cpu, summary = run_pipeline(
                str(workdir / "warc" / "*.warc.gz"), output, args.workers, timeout, extra)
            pipe_rate = len(pages) / pipe_seconds
            print(f"pipeline  (FnApiRunner multi_processing x{args.workers}, "
                  f"extract_timeout={timeout:g}): {pipe_seconds:7.1f} s  {pipe_rate:7.1f} "
                  f"docs/s   CPU {1000 * pipe_cpu / len(pages):5.1f} ms/doc (all processes)   "
                  f"written {summary['written']}, skipped {summary['skipped']} (WARC "
                  f"request/warcinfo records), dead {summary['dead_letters']}, "
                  f"{'balanced' if summary['balanced'] else 'NOT BALANCED'}")
            print(f"ratio pipeline / baseline: {pipe_rate / base_rate:.2f}x   (aim >= 1.5x with "
                  f"2 workers on 2 cores; the limit is {args.workers}x)")
            if args.marginal:
                small = pages[: max(2, len(pages) // 10)]
                small_paths = write_warcs(small, workdir / "warc-small", 2)
                small_seconds, small_cpu, _ = run_pipeline(
                    str(workdir / "warc-small" / "*.warc.gz"), workdir / "out-small",
                    args.workers, timeout, extra)
                extra_docs = len(pages) - len(small)
                marginal_rate = extra_docs / max(pipe_seconds - small_seconds, 1e-9)
                fixed = small_seconds - len(small) / marginal_rate
                print(f"marginal  ({len(small)} pages in {len(small_paths)} files: "
                      f"{small_seconds:.1f} s): fixed start-up ~{fixed:.1f} s wall / "
                      f"~{small_cpu - len(small) * (pipe_cpu - small_cpu) / extra_docs:.1f} s "
                      f"CPU; {marginal_rate:.1f} docs/s and "
                      f"{1000 * (pipe_cpu - small_cpu) / extra_docs:.1f} ms CPU per extra doc; "
                      f"marginal ratio {marginal_rate / base_rate:.2f}x")
        print("\n".join(stage_table(stage_seconds, len(pages), reading)))
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
