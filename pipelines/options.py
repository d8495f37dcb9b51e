"""Option parsing shared by the entry points: our flags, Beam's flags, nothing else.

``PipelineOptions`` silently drops arguments it does not know; a misspelled ``--ouput`` would
then run with defaults. ``parse_strict`` refuses any argument that neither the pipeline's own
options class nor any Beam options class declares.
"""

from __future__ import annotations

import argparse
import os

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

BEAM_NOTE = ("Beam pipeline options (--runner, --project, --region, --temp_location, "
             "--direct_num_workers, ...) are passed through to Beam.")


def _all_option_classes() -> list[type[PipelineOptions]]:
    seen, pending = [], [PipelineOptions]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.append(sub)
                pending.append(sub)
    return seen


def unknown_arguments(argv: list[str]) -> list[str]:
    parser = argparse.ArgumentParser(allow_abbrev=False, add_help=False)
    for cls in _all_option_classes():
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:
            continue  # two classes declaring one flag: already registered
    _, unknown = parser.parse_known_args(argv)
    return unknown


class OutputOptions(PipelineOptions):
    """Where a pipeline writes; shared by every pipeline that writes the dataset."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--output", default=None,
                            help="Output directory (local or gs://). Required.")


class ProcessingOptions(PipelineOptions):
    """Settings of the shared processing composite and the Parquet sink."""

    @classmethod
    def _add_argparse_args(cls, parser):
        from newsflow.transforms.extract import DEFAULT_MAX_HTML_CHARS, DEFAULT_TIMEOUT_S

        parser.add_argument("--extract_timeout", "--extract-timeout", type=float,
                            default=DEFAULT_TIMEOUT_S, dest="extract_timeout",
                            help="Seconds one page may spend in extraction before it is "
                                 "dead-lettered (0 disables the guard).")
        parser.add_argument("--max_html_chars", "--max-html-chars", type=int,
                            default=DEFAULT_MAX_HTML_CHARS, dest="max_html_chars",
                            help="Larger pages are dead-lettered as too_large.")
        parser.add_argument("--shards_per_partition", "--shards-per-partition", type=int,
                            default=1, dest="shards_per_partition",
                            help="Parquet files per dt/lang partition per commit.")
        parser.add_argument("--no_dedup", "--no-dedup", action="store_true", dest="no_dedup",
                            help="Skip near-duplicate detection (cluster columns stay null).")
        parser.add_argument("--drop_duplicates", "--drop-duplicates", action="store_true",
                            dest="drop_duplicates",
                            help="Write canonical articles only; duplicates become counted "
                                 "skips (skipped_duplicate) instead of rows.")
        parser.add_argument("--keep_skipped_raw", "--keep-skipped-raw", action="store_true",
                            dest="keep_skipped_raw",
                            help="Keep each skipped page's input in OUTPUT/skipped/ (capped "
                                 "at 1 MB), so the skipped lines can be replayed as a "
                                 "JSONL backfill input.")


def deduplicate(articles, options: PipelineOptions, streaming: bool):
    """Near-duplicate labelling as the options ask: ``(articles, skipped or None)``."""
    from newsflow.transforms.dedup import DedupConfig, DeduplicateArticles, DeduplicateStream

    processing = options.view_as(ProcessingOptions)
    if processing.no_dedup:
        return articles, None
    transform = (DeduplicateStream if streaming else DeduplicateArticles)(
        DedupConfig(), drop_duplicates=processing.drop_duplicates)
    result = articles | "Deduplicate" >> transform
    if processing.drop_duplicates:
        return result.articles, result.skipped
    return result, None


def help_parser(prog: str, description: str, options_classes):
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=BEAM_NOTE,
                                     allow_abbrev=False)
    for options_class in _as_tuple(options_classes):
        options_class._add_argparse_args(parser)
    return parser


def _as_tuple(options_classes) -> tuple:
    return tuple(options_classes) if isinstance(options_classes, list | tuple) \
        else (options_classes,)


def parse_strict(argv: list[str], options_classes, prog: str,
                 description: str, local_defaults: bool = True) -> PipelineOptions:
    """Parse ``argv`` into pipeline options, failing on unknown flags; ``--help`` prints ours.

    With ``local_defaults`` and no ``--runner``, the job runs on the FnApiRunner (the
    DirectRunner would try to download Prism) in multi-processing mode on every core.
    """
    parser = help_parser(prog, description, options_classes)
    if any(arg in ("-h", "--help") for arg in argv):
        parser.print_help()
        raise SystemExit(0)
    unknown = unknown_arguments(argv)
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    argv = list(argv)
    if local_defaults and not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        argv += ["--runner=FnApiRunner"]
        if not any(a.startswith("--direct_running_mode") for a in argv):
            argv += ["--direct_running_mode=multi_processing",
                     f"--direct_num_workers={os.cpu_count() or 1}"]
    options = PipelineOptions(argv)
    return options


def is_local_runner(options: PipelineOptions) -> bool:
    runner = options.view_as(StandardOptions).runner or "DirectRunner"
    return runner in ("DirectRunner", "FnApiRunner", "BundleBasedDirectRunner",
                      "SwitchingDirectRunner")
