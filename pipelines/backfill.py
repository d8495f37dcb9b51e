"""Backfill: archive dumps (WARC/ARC, JSONL, text dumps, HTML folders) -> Parquet partitions.

    newsflow backfill --input 'dumps/*.warc.gz' --input 'exports/*.jsonl' --output out/

Records go through the same ``ProcessArticles`` composite as live feed data. The run commits
its rows to the Delta table ``OUTPUT/articles`` in one transaction under a deterministic commit
id derived from the matched input files, so running the same backfill again replaces its own
rows (in that same transaction) instead of duplicating them.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.portability import python_urns
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

from newsflow.pipelines.beam_tuning import memoize_dofn_specs
from newsflow.pipelines.console import (
    describe_dry_run,
    format_sample_rows,
    is_dry_run,
    local_worker_processes,
    output_problem,
    progress_interval,
    progress_line,
    run_in_background,
    sample_rows,
    stop_run,
)
from newsflow.pipelines.options import (
    OutputOptions,
    ProcessingOptions,
    deduplicate,
    is_local_runner,
    parse_strict,
)
from newsflow.pipelines.warm_workers import WarmWorkers
from newsflow.transforms.accounting import SummarizeRun, WriteRunSummary, format_summary
from newsflow.transforms.archive_spans import span_bytes_for
from newsflow.transforms.archives import FORMATS, RECORDS, ReadArchives, read_progress
from newsflow.transforms.dates import parse_iso_datetime
from newsflow.transforms.extract import ExtractSettings
from newsflow.transforms.heap import settle
from newsflow.transforms.process import ARTICLES, ProcessArticles, ProcessSettings
from newsflow.transforms.sinks import (
    RUNS_DIR,
    WriteArticles,
    WriteDeadLetters,
    WriteSkipped,
    commit_id_for_inputs,
    join,
)
from newsflow.transforms.stage import DEAD, SKIPPED
from newsflow.transforms.table import now_ms

LOG = logging.getLogger(__name__)
DESCRIPTION = "Read archive dumps and write clean, dated, language-tagged Parquet partitions."


class BackfillOptions(PipelineOptions):
    REQUIRED = ("input",)

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--input", action="append", default=[],
                            help="Glob of input files (local or gs://); repeat the flag or "
                                 "separate globs with commas.")
        parser.add_argument("--format", default="auto", choices=("auto",) + FORMATS,
                            help="Input format; 'auto' detects it per file from the extension, "
                                 "then the content.")
        parser.add_argument("--max_dead_letter_ratio", "--max-dead-letter-ratio", type=float,
                            default=0.5, dest="max_dead_letter_ratio",
                            help="Exit non-zero when dead letters / records read exceeds this.")
        parser.add_argument("--reshuffle_records", "--reshuffle-records", default="auto",
                            choices=("auto", "yes", "no"), dest="reshuffle_records",
                            help="Spread each file's records over workers after reading; "
                                 "'auto': yes on distributed runners, no on local ones (which "
                                 "cut large WARC files into spans of records instead).")
        parser.add_argument("--ingested_at", "--ingested-at", default=None, dest="ingested_at",
                            help="ISO timestamp stamped as ingested_at (default: run start).")


#: Every options class this pipeline reads (for parsing, --help and the template metadata).
OPTION_CLASSES = (BackfillOptions, OutputOptions, ProcessingOptions)


def input_patterns(values: list[str]) -> list[str]:
    """Flatten repeated and comma-separated --input values."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def matched_files(patterns: list[str]) -> list[tuple[str, int]]:
    """``(path, size)`` of every file the patterns match; a pattern that matches nothing is an
    error."""
    files = []
    for pattern, result in zip(patterns, FileSystems.match(patterns), strict=True):
        if not result.metadata_list:
            raise ValueError(f"--input {pattern!r} matches no files")
        files.extend((m.path, m.size_in_bytes) for m in result.metadata_list)
    return sorted(set(files))


def build(p: beam.Pipeline, options: PipelineOptions, progress_dir: str | None = None) -> dict:
    """Wire the backfill; returns its PCollections for tests and callers.

    ``progress_dir`` (local runs only) is where readers note each finished file.
    """
    opts = options.view_as(BackfillOptions)
    output = options.view_as(OutputOptions).output
    processing = options.view_as(ProcessingOptions)
    patterns = input_patterns(opts.input)
    if not patterns or not output:
        raise ValueError("--input and --output are required")
    fmt = None if opts.format == "auto" else opts.format
    files = matched_files(patterns)
    commit_id = commit_id_for_inputs("backfill", [f"{path}|{size}" for path, size in files],
                                     settings=opts.format)
    ingested_at = parse_iso_datetime(opts.ingested_at, strict=True) or datetime.now(UTC)
    run_info = {"inputs": patterns, "format": opts.format}
    settings = ProcessSettings(
        extract=ExtractSettings(timeout_s=processing.extract_timeout,
                                max_html_chars=processing.max_html_chars),
        ingested_at=ingested_at, now=ingested_at,
        keep_skipped_raw=processing.keep_skipped_raw)

    reshuffle = opts.reshuffle_records == "yes" or (
        opts.reshuffle_records == "auto" and not is_local_runner(options))
    sizes = [size for _, size in files]
    span_bytes = None if reshuffle else span_bytes_for(sizes, local_worker_processes(options))
    read = p | "ReadArchives" >> ReadArchives(patterns, fmt, progress_dir, reshuffle, span_bytes)
    processed = read[RECORDS] | "ProcessArticles" >> ProcessArticles(settings)
    articles, dedup_skipped = deduplicate(processed[ARTICLES], options, streaming=False)
    skipped = ((read[SKIPPED], processed[SKIPPED]) + ((dedup_skipped,) if dedup_skipped else ())
               | "AllSkipped" >> beam.Flatten())
    dead = (read[DEAD], processed[DEAD]) | "AllDeadLetters" >> beam.Flatten()

    attempt = now_ms()  # this execution of the run: its files and its app-transaction version
    commits = articles | "WriteArticles" >> WriteArticles(
        output, commit_id, "backfill", processing.shards_per_partition, run_info, replace=True,
        attempt=attempt)
    dead | "WriteDeadLetters" >> WriteDeadLetters(output, commit_id)
    skipped | "WriteSkipped" >> WriteSkipped(output, commit_id)
    summary = ((read[RECORDS], skipped, dead, articles)
               | "SummarizeRun" >> SummarizeRun()
               | "WriteRunSummary" >> WriteRunSummary(output, commit_id, run_info))
    return {"articles": articles, "skipped": skipped, "dead_letters": dead,
            "commits": commits, "summary": summary, "commit_id": commit_id, "attempt": attempt,
            "sizes": sizes}


def run_with_progress(pipeline: beam.Pipeline, progress_dir: str | None, sizes: list[int],
                      every_s: float | None = None) -> None:
    """Run to completion, printing the bytes read of the input files (``sizes``), records/s
    and an ETA every ``every_s`` seconds (on a terminal or not: long runs in CI or cron show
    progress too). Ctrl-C raises ``KeyboardInterrupt`` here, in this process only (see
    ``run_in_background``)."""
    def report(elapsed: float) -> None:
        if progress_dir:
            done, records = read_progress(progress_dir)
            print(progress_line(done, sum(sizes), len(sizes), records, elapsed),
                  file=sys.stderr, flush=True)

    settle()  # the driver holds Beam and the built pipeline until it exits
    run_in_background(lambda: pipeline.run().wait_until_finish(), report,
                      every_s or progress_interval(), local_worker_processes(pipeline.options))


def load_summary(output: str, commit_id: str) -> dict:
    import json

    with FileSystems.open(join(output, RUNS_DIR, f"{commit_id}.json")) as handle:
        return json.loads(handle.read())


def interrupted(output: str, commit_id: str, attempt: int) -> str:
    """The one line printed after Ctrl-C: what this run committed, what it did not."""
    from newsflow.transforms.catalog import run_committed

    if run_committed(output, commit_id, attempt):
        return (f"interrupted: commit {commit_id} was already complete in {output}; "
                "only the run summary may be missing")
    return (f"interrupted: nothing of this run was committed (commit {commit_id}): the table "
            f"is unchanged, readers never see the files it had started ('newsflow vacuum' "
            f"deletes them), and the same command runs it again")


class _WarmWorkersRunner(FnApiRunner):
    """The local runner, its worker processes taken from :mod:`warm_workers` slots."""

    def __init__(self, warm: WarmWorkers):
        super().__init__()
        self._command = warm.command.encode("utf-8")

    def run_via_runner_api(self, pipeline_proto, options):
        for environment in pipeline_proto.components.environments.values():
            if environment.urn == python_urns.SUBPROCESS_SDK:
                environment.payload = self._command
        return super().run_via_runner_api(pipeline_proto, options)


def new_pipeline(options: PipelineOptions, warm: WarmWorkers | None = None) -> beam.Pipeline:
    """The pipeline to build on: on the local runner with worker processes, started from
    ``warm`` workers when the command started some. Beam's DoFn introspection is memoized
    first (``beam_tuning``)."""
    memoize_dofn_specs()
    if warm is not None and local_worker_processes(options) and \
            options.view_as(StandardOptions).runner in (None, "DirectRunner", "FnApiRunner"):
        return beam.Pipeline(runner=_WarmWorkersRunner(warm), options=options)
    return beam.Pipeline(options=options)


def run(argv: list[str] | None = None, warm: WarmWorkers | None = None) -> int:
    """``newsflow backfill``; ``warm``: worker processes the command already started."""
    options = parse_strict(list(sys.argv[1:] if argv is None else argv), OPTION_CLASSES,
                           "newsflow backfill", DESCRIPTION)
    opts = options.view_as(BackfillOptions)
    output = options.view_as(OutputOptions).output
    if not input_patterns(opts.input):
        print("error: --input names no glob (see --help)", file=sys.stderr)
        return 2
    dry_run = is_dry_run(options)
    problem = None if dry_run else output_problem(output)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="newsflow-progress-") as progress_dir:
        local = is_local_runner(options)
        try:
            pipeline = new_pipeline(options, warm)
            outputs = build(pipeline, options, progress_dir if local else None)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted before the run started: nothing was written", file=sys.stderr)
            return 130
        if dry_run:
            print(describe_dry_run(pipeline, "backfill"))
            return 0
        try:
            run_with_progress(pipeline, progress_dir if local else None, outputs["sizes"])
        except KeyboardInterrupt:
            stop_run()
            print(interrupted(output, outputs["commit_id"], outputs["attempt"]),
                  file=sys.stderr)
            return 130
    summary = load_summary(output, outputs["commit_id"])
    print(format_summary(summary))
    samples = sample_rows(output, outputs["commit_id"])
    if samples:
        print(f"\n{len(samples)} of {summary['written'] + summary['duplicates']} rows written:")
        print(format_sample_rows(samples))
    print(f"\noutput: {join(output, 'articles')}  (commit {outputs['commit_id']})")
    if not summary["balanced"]:
        print("error: records were lost between reading and writing", file=sys.stderr)
        return 1
    if summary["dead_letter_ratio"] > opts.max_dead_letter_ratio:
        print(f"error: dead-letter ratio {summary['dead_letter_ratio']:.3f} exceeds "
              f"--max_dead_letter_ratio {opts.max_dead_letter_ratio}", file=sys.stderr)
        return 1
    return 0
