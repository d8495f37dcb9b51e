"""The ``newsflow`` command: one subcommand per entry point; Beam options pass through."""

from __future__ import annotations

import logging
import os
import sys

USAGE = """usage: newsflow <command> [options]

commands:
  backfill   read archive dumps (WARC/ARC, JSONL, text dumps, HTML) into Parquet partitions
  stream     poll RSS/Atom feeds, fetch new articles, write windowed partitions
  feeds      'feeds status OUTPUT': the health of every polled feed
  demo       backfill generated sample archives, then stream from a local feed server
  partitions list the partitions of an output with their commit state
  compact    merge small committed files of each partition into larger ones

Run 'newsflow <command> --help' for the options of a command.
Set NEWSFLOW_LOG_LEVEL=INFO (or DEBUG) to see Beam's and newsflow's logs.
"""


def configure_logging() -> None:
    """Quiet by default: Beam's local runner logs routine worker chatter as warnings."""
    level = os.environ.get("NEWSFLOW_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if level == "WARNING":
        logging.getLogger("apache_beam").setLevel(logging.ERROR)


def catalog_command(command: str, argv: list[str]) -> int:
    import argparse

    from newsflow.transforms import catalog

    parser = argparse.ArgumentParser(prog=f"newsflow {command}", allow_abbrev=False)
    parser.add_argument("output", help="A newsflow output directory (local or gs://).")
    if command == "compact":
        parser.add_argument("--target_rows", "--target-rows", type=int,
                            default=catalog.DEFAULT_TARGET_ROWS, dest="target_rows",
                            help="Rows per merged file.")
        parser.add_argument("--min_files", "--min-files", type=int, default=2, dest="min_files",
                            help="Compact a partition only when it has this many files.")
    args = parser.parse_args(argv)
    if command == "partitions":
        print(catalog.format_partitions(catalog.list_partitions(args.output)))
    else:
        print(catalog.format_compaction(catalog.compact(
            args.output, target_rows=args.target_rows, min_files=args.min_files)))
    return 0


def feeds_command(argv: list[str]) -> int:
    import argparse

    from newsflow.transforms.feeds.status import format_feed_status, read_feed_status

    parser = argparse.ArgumentParser(prog="newsflow feeds", allow_abbrev=False,
                                     description="Feed health written by the stream pipeline.")
    sub = parser.add_subparsers(dest="action", required=True)
    status = sub.add_parser("status", help="Latest status of every feed polled.")
    status.add_argument("output", help="The stream pipeline's output directory.")
    args = parser.parse_args(argv)
    print(format_feed_status(read_feed_status(args.output)))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    configure_logging()
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "backfill":
        from newsflow.pipelines import backfill

        return backfill.run(rest)
    if command == "stream":
        from newsflow.pipelines import stream

        return stream.run(rest)
    if command == "feeds":
        return feeds_command(rest)
    if command == "demo":
        from newsflow.pipelines.demo.command import run as run_demo

        return run_demo(rest)
    if command in ("partitions", "compact"):
        return catalog_command(command, rest)
    print(f"newsflow: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
