"""One backfill run as ``newsflow backfill`` makes it, in its own process, for the benchmark.

    python -m bench.backfill_run --metrics OUT.json -- <newsflow backfill options>

Like the command, it imports Beam, forks the local worker processes (``warm_workers``), parses
the flags as the command does, then builds and runs the pipeline, so the benchmark's time
includes the driver's start-up (Python, Beam's import) as datatrove's includes its own.
Writes the pipeline's per-stage CPU seconds (``<stage>/cpu_us`` metrics) and the commit id to
``--metrics``.
"""

from __future__ import annotations

import argparse
import json
import sys


def stage_cpu_seconds(result) -> dict[str, float]:
    """Sum of every ``<stage>/cpu_us`` distribution of a finished pipeline, in seconds."""
    from apache_beam.metrics.metric import MetricsFilter

    totals: dict[str, float] = {}
    query = result.metrics().query(MetricsFilter().with_name("cpu_us"))
    for metric in query["distributions"]:
        namespace = metric.key.metric.namespace
        totals[namespace] = totals.get(namespace, 0.0) + metric.committed.sum / 1e6
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.backfill_run")
    parser.add_argument("--metrics", required=True)
    args, pipeline_args = parser.parse_known_args(argv)
    pipeline_args = [arg for arg in pipeline_args if arg != "--"]

    import logging

    from newsflow.pipelines import backfill, warm_workers
    from newsflow.pipelines.options import parse_strict

    warm = warm_workers.start(warm_workers.workers_wanted(pipeline_args))
    try:
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
        options = parse_strict(pipeline_args, backfill.OPTION_CLASSES, "newsflow backfill",
                               backfill.DESCRIPTION)  # as the command parses its flags
        pipeline = backfill.new_pipeline(options, warm)
        outputs = backfill.build(pipeline, options)
        result = pipeline.run()
        result.wait_until_finish()
    finally:
        if warm is not None:
            warm.close()
    with open(args.metrics, "w", encoding="utf-8") as handle:
        json.dump({"stage_cpu": stage_cpu_seconds(result), "commit_id": outputs["commit_id"]},
                  handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
