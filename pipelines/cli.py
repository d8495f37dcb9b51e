"""The ``newsflow`` command: one subcommand per entry point; Beam options pass through."""

from __future__ import annotations

import difflib
import logging
import os
import sys

USAGE = """usage: newsflow <command> [options]

commands:
  backfill   read archive dumps (WARC/ARC, JSONL, text dumps, HTML) into Parquet partitions
  stream     poll RSS/Atom feeds, fetch new articles, write windowed partitions
  feeds      'feeds status OUTPUT': the health of every polled feed
  demo       backfill generated sample archives, then stream from a local feed server
  partitions list the partitions of an output's Delta table: files, rows, versions, times
  compact    merge small files of each partition (Delta optimize)
  vacuum     delete files no recent table version references
  migrate    turn an output of the manifest-committed release into a Delta table

Run 'newsflow <command> --help' for the options of a command; 'newsflow --version' for the
version. Set NEWSFLOW_LOG_LEVEL=INFO (or DEBUG) to see Beam's and newsflow's logs.
"""
COMMANDS = ("backfill", "stream", "feeds", "demo", "partitions", "compact", "vacuum", "migrate")


def configure_logging() -> None:
    """Quiet by default: Beam's local runner logs routine worker chatter as warnings, and its
    INFO lines (type hints, bundles) would drown newsflow's own: only DEBUG shows them."""
    level = os.environ.get("NEWSFLOW_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if level == "WARNING":
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
    elif level == "INFO":
        logging.getLogger("apache_beam").setLevel(logging.WARNING)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed_version

    try:
        return installed_version("newsflow")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown (not installed)"


def missing_output(output: str) -> str | None:
    """Why ``output`` cannot be an existing newsflow output to read, or None.

    The commands that read an output (``partitions``, ``compact``, ``vacuum``, ``migrate``,
    ``feeds status``) check this before doing anything, so a typo is an error, not an empty
    listing.
    """
    if "://" not in output:
        if os.path.isdir(output):
            return None
        if os.path.exists(output):
            return f"{output} is a file, not a newsflow output directory"
        return f"{output} does not exist (give the --output directory of a newsflow run)"
    from apache_beam.io.filesystems import FileSystems

    if FileSystems.match([output.rstrip("/") + "/**"], limits=[1])[0].metadata_list:
        return None
    return f"nothing found under {output} (give the --output directory of a newsflow run)"


def catalog_command(command: str, argv: list[str]) -> int:
    """``partitions``, ``compact``, ``vacuum`` and ``migrate`` on an output's Delta table."""
    from newsflow.pipelines.options import CliParser
    from newsflow.transforms import catalog

    descriptions = {
        "partitions": "List every partition of an output's Delta table: files, rows, the table "
                      "versions that added them and when.",
        "compact": "Bin-pack the small files of each partition into larger ones (Delta "
                   "optimize), as one new table version that changes no row.",
        "vacuum": "Delete the files no table version younger than the retention references: "
                  "files replaced by compactions and re-runs, files of runs that died.",
        "migrate": "Turn an output written by the manifest-committed release (articles/"
                   "_commits/) into a Delta table, keeping its Parquet files in place."}
    parser = CliParser(prog=f"newsflow {command}", description=descriptions[command])
    parser.add_argument("output", help="A newsflow output directory (local or gs://); its "
                                       "articles/ folder is the Delta table.")
    if command == "compact":
        parser.add_argument("--target_mb", "--target-mb", type=float, dest="target_mb",
                            default=catalog.DEFAULT_TARGET_BYTES / 2**20,
                            help="Target file size in MiB (smaller files are merged).")
    if command == "vacuum":
        parser.add_argument("--retain", type=float, default=catalog.DEFAULT_RETAIN_HOURS,
                            metavar="HOURS",
                            help="Keep unreferenced files younger than this many hours, for "
                                 "readers still reading older versions (7 days).")
        parser.add_argument("--dry_run", "--dry-run", action="store_true", dest="dry_run",
                            help="List the files that would be deleted; delete nothing.")
    args = parser.parse_args(argv)
    problem = missing_output(args.output)
    if problem:
        parser.error(problem)
    try:
        if command == "partitions":
            print(catalog.format_partitions(catalog.list_partitions(args.output),
                                            catalog.describe_table(args.output)))
        elif command == "compact":
            print(catalog.format_compaction(catalog.compact(
                args.output, target_bytes=int(args.target_mb * 2**20))))
        elif command == "vacuum":
            deleted = catalog.vacuum(args.output, args.retain, args.dry_run)
            verb = "would delete" if args.dry_run else "deleted"
            print(f"{verb} {len(deleted)} file(s) unreferenced for more than "
                  f"{args.retain:g} h" + "".join(f"\n  {path}" for path in deleted))
        else:
            print(catalog.format_migration(catalog.migrate(args.output), args.output))
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def feeds_command(argv: list[str]) -> int:
    from newsflow.pipelines.options import CliParser
    from newsflow.transforms.feeds.status import format_feed_status, read_feed_status

    parser = CliParser(prog="newsflow feeds", description="Feed health written by the stream "
                                                          "pipeline.")
    sub = parser.add_subparsers(dest="action", required=True, parser_class=CliParser)
    status = sub.add_parser("status", help="Latest status of every feed polled.",
                            description="Latest status of every feed polled.")
    status.add_argument("output", help="The stream pipeline's output directory.")
    args = parser.parse_args(argv)
    problem = missing_output(args.output)
    if problem:
        status.error(problem)
    print(format_feed_status(read_feed_status(args.output)))
    return 0


def dispatch(command: str, rest: list[str]) -> int:
    if command == "backfill":
        from newsflow.pipelines import backfill, warm_workers

        # the local workers, forked with Beam imported, get ready while this process builds
        warm = warm_workers.start(warm_workers.workers_wanted(rest))
        try:
            return backfill.run(rest, warm)
        finally:
            if warm is not None:
                warm.close()
    if command == "stream":
        from newsflow.pipelines import stream

        return stream.run(rest)
    if command == "feeds":
        return feeds_command(rest)
    if command == "demo":
        from newsflow.pipelines.demo.command import run as run_demo

        return run_demo(rest)
    return catalog_command(command, rest)


def main(argv: list[str] | None = None) -> int:
    """``newsflow``'s entry point; output cut short by a closed pipe (``newsflow --help | head
    -1``) ends the command quietly, as Python's documentation recommends, with status 1."""
    try:
        status = _run_command(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at devnull so that fails no more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return status


def _run_command(argv: list[str]) -> int:
    configure_logging()
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if argv[0] in ("-V", "--version"):
        print(f"newsflow {version()}")
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        close = difflib.get_close_matches(command, COMMANDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        print(f"newsflow: unknown command {command!r}{hint}\n\n{USAGE}", file=sys.stderr)
        return 2
    try:
        return dispatch(command, rest)
    except KeyboardInterrupt:
        print(f"interrupted: newsflow {command} stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
