"""Flex Template entry point: build the selected pipeline, submit it, exit without waiting.

The Dataflow Flex Template launcher runs this file (``FLEX_TEMPLATE_PYTHON_PY_FILE`` in
deploy/Dockerfile) with the template parameters as ``--name=value`` flags plus Dataflow's own
options. It must return once the job is submitted: ``wait_until_finish`` would block the launch.
The run summary is still written by the pipeline itself (``<output>/runs/<commit>.json``).

``NEWSFLOW_PIPELINE`` (set in the image, default ``backfill``) picks the pipeline; a new
pipeline is one more entry in ``PIPELINES``.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

# name -> (module, options class); each module has build(p, options) and DESCRIPTION.
PIPELINES = {
    "backfill": ("pipelines.backfill", "OPTION_CLASSES"),
}


def launch(argv: list[str], name: str | None = None):
    """Build and submit the pipeline ``name``; returns the PipelineResult without waiting."""
    import apache_beam as beam

    from pipelines.options import parse_strict

    name = name or os.environ.get("NEWSFLOW_PIPELINE", "backfill")
    if name not in PIPELINES:
        raise SystemExit(f"error: unknown NEWSFLOW_PIPELINE {name!r} (known: {sorted(PIPELINES)})")
    module_name, options_name = PIPELINES[name]
    module = importlib.import_module(module_name)
    options = parse_strict(list(argv), getattr(module, options_name), f"newsflow {name}",
                           module.DESCRIPTION, local_defaults=False)
    pipeline = beam.Pipeline(options=options)
    module.build(pipeline, options)
    return pipeline.run()


if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)
    launch(sys.argv[1:])
