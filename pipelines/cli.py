"""The ``newsflow`` command: one subcommand per entry point; Beam options pass through."""

from __future__ import annotations

import sys

USAGE = """usage: newsflow <command> [options]

commands:
  backfill   read archive dumps (WARC/ARC, JSONL, text dumps, HTML) into Parquet partitions
  demo       generate a small sample corpus and backfill it

Run 'newsflow <command> --help' for the options of a command.
"""


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command == "backfill":
        from pipelines import backfill

        return backfill.run(rest)
    if command == "demo":
        from pipelines import demo

        return demo.run(rest)
    print(f"newsflow: unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
