"""Streaming ingestion: poll RSS/Atom feeds, fetch new articles, write windowed partitions.

    newsflow stream --feeds feeds.opml --output out/ [--window 60] [--duration 600]

Ticks drive the polling: on Dataflow a ``PeriodicImpulse``; locally a ``TestStream`` fed live
by a heartbeat server (:mod:`newsflow.pipelines.stream_local`), which is what makes the local
DirectRunner really stream (windows, state and timers fire on time, files appear per window).
Everything after the tick source is the same transforms in both places: ``PollFeeds`` (keyed
by host) → ``FetchArticles`` (keyed by host) → ``ProcessArticles`` (shared with the backfill)
→ windowed sinks. Every window is its own commit: its articles in one Delta transaction
(recorded with the run and window, so a retried commit step is a no-op), dead letters, a run
summary, a feed-status snapshot and a WARC of every HTTP exchange.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms.window import FixedWindows

from newsflow.pipelines.console import describe_dry_run, is_dry_run, output_problem
from newsflow.pipelines.options import (
    OutputOptions,
    ProcessingOptions,
    deduplicate,
    is_local_runner,
    is_one_process_stream_runner,
    parse_strict,
)
from newsflow.pipelines.stream_local import (
    MAX_TICK_S,
    STATUS_TABLE_MAX_FEEDS,
    feed_health_line,
    fix_local_runner,
    run_local,
    start_banner,
)
from newsflow.transforms.accounting import (
    KNOWN_ENTRIES,
    SOURCE_STAGES,
    SummarizeRun,
    WriteRunSummary,
    format_summary,
    summarize,
)
from newsflow.transforms.exchanges import ArchiveExchanges
from newsflow.transforms.extract import ExtractSettings
from newsflow.transforms.feeds.poll import STATUS, PollFeeds, feed_specs
from newsflow.transforms.feeds.status import (
    WriteFeedStatus,
    format_feed_status,
    read_feed_status,
)
from newsflow.transforms.fetch import EXCHANGES, FetchArticles, FetchSettings
from newsflow.transforms.http import FetchPolicy
from newsflow.transforms.process import ARTICLES, ProcessArticles, ProcessSettings
from newsflow.transforms.sinks import (
    RUNS_DIR,
    WriteArticles,
    WriteDeadLetters,
    WriteSkipped,
    check_commit_id,
    join,
    read_json_files,
)
from newsflow.transforms.stage import DEAD, MAIN, SKIPPED

LOG = logging.getLogger(__name__)
DESCRIPTION = "Poll RSS/Atom feeds, fetch new articles and write windowed Parquet partitions."
MIN_LIST_INTERVAL_S = 60.0


class StreamOptions(PipelineOptions):
    REQUIRED = ("feeds",)

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--feeds", default=None,
                            help="Feed list: text file of URLs, OPML, CSV or YAML (local or "
                                 "gs://).")
        parser.add_argument("--window", type=float, default=60.0,
                            help="Seconds per output window; each window is one commit.")
        parser.add_argument("--duration", type=float, default=0.0,
                            help="Stop after this many seconds, committing every window "
                                 "(local runs; 0 runs until interrupted).")
        parser.add_argument("--tick", type=float, default=1.0,
                            help="Seconds between checks of which feeds are due and of which "
                                 "requests have finished (each feed is still polled on its "
                                 "own adaptive schedule).")
        parser.add_argument("--allow_loopback", "--allow-loopback", action="store_true",
                            dest="allow_loopback",
                            help="Allow fetching from 127.0.0.1/::1 (tests and the demo); "
                                 "other private and link-local targets stay refused.")
        parser.add_argument("--min_poll_interval", "--min-poll-interval", type=float,
                            default=None, dest="min_poll_interval",
                            help="Lower every feed's minimum poll interval to this many "
                                 "seconds (below 60 only with --allow_loopback).")
        parser.add_argument("--max_entry_age", "--max-entry-age", type=float, default=None,
                            dest="max_entry_age",
                            help="Skip feed entries published more than this many seconds "
                                 "ago (skipped_too_old).")
        parser.add_argument("--per_host_delay", "--per-host-delay", type=float, default=1.0,
                            dest="per_host_delay",
                            help="Minimum seconds between two requests to one host (feed "
                                 "polls and article pages alike, across all workers); a "
                                 "larger robots.txt Crawl-delay wins for pages.")
        parser.add_argument("--per_host_concurrency", "--per-host-concurrency", type=int,
                            default=2, dest="per_host_concurrency",
                            help="Feed polls, and article pages, in flight per host at most.")
        parser.add_argument("--fetch_threads", "--fetch-threads", type=int, default=64,
                            dest="fetch_threads",
                            help="Threads per worker process for feed polls, and as many for "
                                 "article pages: requests to many hosts run at once.")
        parser.add_argument("--fetch_timeout", "--fetch-timeout", type=float, default=30.0,
                            dest="fetch_timeout",
                            help="Wall-clock limit of one HTTP fetch, redirects included.")
        parser.add_argument("--no_robots", "--no-robots", action="store_true",
                            dest="no_robots",
                            help="Do not check robots.txt before fetching articles.")


OPTION_CLASSES = (StreamOptions, OutputOptions, ProcessingOptions)


def fetch_settings(opts: StreamOptions, single_process: bool = False) -> FetchSettings:
    policy = FetchPolicy(total_timeout=opts.fetch_timeout,
                         read_timeout=min(15.0, opts.fetch_timeout),
                         connect_timeout=min(5.0, opts.fetch_timeout),
                         allow_loopback=opts.allow_loopback)
    return FetchSettings(policy=policy, per_host_delay_s=opts.per_host_delay,
                         per_host_concurrency=opts.per_host_concurrency,
                         robots=not opts.no_robots, fetch_threads=opts.fetch_threads,
                         single_process=single_process)


def validate(options: PipelineOptions) -> None:
    """Fail before the job starts: required flags, sane numbers, a readable feed list."""
    opts = options.view_as(StreamOptions)
    if not opts.feeds or not options.view_as(OutputOptions).output:
        raise ValueError("--feeds and --output are required")
    if opts.window <= 0 or not 0 < opts.tick <= MAX_TICK_S:
        raise ValueError(f"--window must be > 0 and --tick between 0 and {MAX_TICK_S:g}")
    if opts.per_host_delay < 0 or opts.per_host_concurrency < 1 or opts.fetch_threads < 1:
        raise ValueError("--per_host_delay must be >= 0, --per_host_concurrency and "
                         "--fetch_threads >= 1")
    floor = opts.min_poll_interval
    if floor is not None and floor < MIN_LIST_INTERVAL_S and not opts.allow_loopback:
        raise ValueError("--min_poll_interval below 60 s is only for loopback tests/demos")
    feed_specs(opts.feeds)  # raises FeedListError naming every bad line


def periodic_ticks(p: beam.Pipeline, tick_s: float):
    """The production tick source: an unbounded ``PeriodicImpulse`` (Dataflow, Flink...)."""
    from apache_beam.transforms.periodicsequence import PeriodicImpulse

    return p | "Ticks" >> PeriodicImpulse(fire_interval=tick_s, apply_windowing=False)


def build(p: beam.Pipeline, options: PipelineOptions, ticks=None,
          run_id: str | None = None) -> dict:
    """Wire the streaming job after its tick source; returns its PCollections.

    ``ticks`` defaults to ``PeriodicImpulse``; local runs and tests pass a ``TestStream``.
    A tick's timestamp is the time at which feeds are checked for being due.
    """
    validate(options)
    if is_local_runner(options):
        fix_local_runner()  # timer holds (or timer outputs are dropped), fast bundles
    opts = options.view_as(StreamOptions)
    output = options.view_as(OutputOptions).output
    processing = options.view_as(ProcessingOptions)
    run_id = check_commit_id(run_id or f"stream-{datetime.now(UTC):%Y%m%dT%H%M%S}")
    settings = fetch_settings(opts, single_process=is_one_process_stream_runner(options))
    if ticks is None:
        ticks = periodic_ticks(p, opts.tick)

    polled = ticks | "PollFeeds" >> PollFeeds(opts.feeds, settings, opts.max_entry_age,
                                              opts.min_poll_interval)
    fetched = polled[MAIN] | "FetchArticles" >> FetchArticles(settings)
    processed = fetched[MAIN] | "ProcessArticles" >> ProcessArticles(ProcessSettings(
        extract=ExtractSettings(timeout_s=processing.extract_timeout,
                                max_html_chars=processing.max_html_chars),
        keep_skipped_raw=processing.keep_skipped_raw))

    # dedup state lives in the global window, like the poll state: window afterwards
    deduplicated, dedup_skipped = deduplicate(processed[ARTICLES], options, streaming=True)

    def windowed(pcoll, label):
        return pcoll | f"Window{label}" >> beam.WindowInto(FixedWindows(opts.window))

    articles = windowed(deduplicated, "Articles")
    records = windowed(fetched[MAIN], "Records")
    skipped = windowed((polled[SKIPPED], fetched[SKIPPED], processed[SKIPPED])
                       + ((dedup_skipped,) if dedup_skipped else ())
                       | "AllSkipped" >> beam.Flatten(), "Skipped")
    dead = windowed((polled[DEAD], fetched[DEAD], processed[DEAD])
                    | "AllDeadLetters" >> beam.Flatten(), "DeadLetters")
    exchanges = windowed((polled[EXCHANGES], fetched[EXCHANGES])
                         | "AllExchanges" >> beam.Flatten(), "Exchanges")
    statuses = windowed(polled[STATUS], "Status")

    run_info = {"feeds": opts.feeds, "run_id": run_id, "window_s": opts.window}
    commits = articles | "WriteArticles" >> WriteArticles(
        output, run_id, "stream", processing.shards_per_partition, run_info)
    unarchived = exchanges | "ArchiveExchanges" >> ArchiveExchanges(output, run_id)
    dead = (dead, unarchived) | "WithArchiveFailures" >> beam.Flatten()
    dead | "WriteDeadLetters" >> WriteDeadLetters(output, run_id)
    skipped | "WriteSkipped" >> WriteSkipped(output, run_id)
    statuses | "WriteFeedStatus" >> WriteFeedStatus(output, run_id)
    summary = ((records, skipped, dead, articles)
               | "SummarizeRun" >> SummarizeRun(windowed=True)
               | "WriteRunSummary" >> WriteRunSummary(output, run_id, run_info))
    return {"entries": polled[MAIN], "records": records, "articles": articles,
            "skipped": skipped, "dead_letters": dead, "statuses": statuses,
            "exchanges": exchanges, "commits": commits, "summary": summary,
            "run_id": run_id}


def run_summaries(output: str, run_id: str) -> list[dict]:
    documents = read_json_files(join(output, RUNS_DIR, f"{run_id}-w*.json"))
    return sorted(documents, key=lambda d: d["commit_id"])


def total_summary(summaries: list[dict]) -> dict:
    """One summary over every window of a run (the equation holds per window, so in sum)."""
    counts: dict[str, int] = {}
    for summary in summaries:
        counts["record"] = counts.get("record", 0) + summary["read"] - sum(
            v for k, v in {**summary["dead_letters_by_reason"],
                           **summary["skipped_by_reason"]}.items()
            if k.split(":")[0] in SOURCE_STAGES)
        counts["article"] = counts.get("article", 0) + summary["written"]
        counts["duplicate"] = counts.get("duplicate", 0) + summary["duplicates"]
        for key in ("file_losses", "unread_bytes", "archive_failures", KNOWN_ENTRIES):
            counts[key] = counts.get(key, 0) + summary.get(key, 0)
        for kind, key in (("dead", "dead_letters_by_reason"), ("skip", "skipped_by_reason")):
            for reason, count in summary[key].items():
                counts[f"{kind}:{reason}"] = counts.get(f"{kind}:{reason}", 0) + count
    return summarize(counts)


def run(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = parse_strict(argv, OPTION_CLASSES, "newsflow stream", DESCRIPTION,
                           local_defaults=False)
    opts = options.view_as(StreamOptions)
    try:
        validate(options)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    standard = options.view_as(StandardOptions)
    standard.streaming = True
    if not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        standard.runner = "BundleBasedDirectRunner"
    output = options.view_as(OutputOptions).output
    problem = None if is_dry_run(options) else output_problem(output)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not is_local_runner(options):
        pipeline = beam.Pipeline(options=options)
        outputs = build(pipeline, options)
        if is_dry_run(options):
            print(describe_dry_run(pipeline, "streaming"))
            return 0
        pipeline.run()
        print(f"submitted streaming job {outputs['run_id']}; output: {output}")
        return 0
    specs = feed_specs(opts.feeds, opts.min_poll_interval)
    banner = start_banner(specs, opts.feeds, output, opts.window, opts.per_host_delay,
                          opts.per_host_concurrency, not opts.no_robots, opts.duration,
                          datetime.now(UTC))
    run_id, interrupted = run_local(
        options, lambda p, o, ticks: build(p, o, ticks=ticks), opts.tick, opts.duration,
        banner, output)
    summaries = run_summaries(output, run_id)
    print(f"\n{'stopped' if interrupted else 'done'}: {len(summaries)} window(s) committed "
          f"under {join(output, 'articles')} (run {run_id})")
    if summaries:
        print(format_summary(total_summary(summaries)))
    rows = read_feed_status(output)
    if len(specs) <= STATUS_TABLE_MAX_FEEDS:
        print("\n" + format_feed_status(rows))
    else:
        print(feed_health_line(rows, len(specs), output))
    return 130 if interrupted else 0
