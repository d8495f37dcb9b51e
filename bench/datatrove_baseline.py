"""datatrove's WARC -> Trafilatura -> Parquet pipeline, the reference the backfill is compared to.

    python -m bench.datatrove_baseline --input DIR --output DIR [--workers 2] [--timeout 30]

Runs datatrove's ``WarcReader`` (every ``*.warc.gz`` in ``--input``) -> ``Trafilatura``
(its defaults: ``favour_precision``, trafilatura's own dedup, one sandbox process per worker
with a per-page time limit) -> ``ParquetWriter`` with a ``LocalPipelineExecutor`` of one task
per file on ``--workers`` processes. Prints one JSON line: documents read and written.
``bench_backfill`` runs it as a child process, so its CPU time is the child's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path


def installed() -> bool:
    try:
        import datatrove  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.datatrove_baseline",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="Directory of *.warc.gz files.")
    parser.add_argument("--output", required=True, help="Directory for the Parquet files.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="Per-page extraction time limit, as the backfill's.")
    args = parser.parse_args(argv)

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import ParquetWriter
    from datatrove.utils.logging import logger

    logger.remove()  # its per-task progress logging is not what we measure
    tasks = len(list(Path(args.input).glob("*.warc.gz")))
    with tempfile.TemporaryDirectory(prefix="datatrove-logs-") as logs:
        executor = LocalPipelineExecutor(
            pipeline=[WarcReader(args.input, glob_pattern="*.warc.gz"),
                      Trafilatura(timeout=args.timeout),
                      ParquetWriter(args.output)],
            tasks=tasks, workers=args.workers, logging_dir=logs, skip_completed=False)
        stats = executor.run()
    read = written = 0
    for step in stats.stats:
        counts = {name: value.total for name, value in step.stats.items()
                  if hasattr(value, "total")}
        if "Warc" in step.name or "READER" in step.name.upper():
            read = max(read, int(counts.get("documents", 0)))
        if "PARQUET" in step.name.upper() or "WRITER" in step.name.upper():
            written = max(written, int(counts.get("total", 0)))
    print(json.dumps({"read": read, "written": written, "tasks": tasks}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
