"""Flex Template entry point: build the selected pipeline, submit it, exit without waiting.

The Dataflow Flex Template launcher runs this file (``FLEX_TEMPLATE_PYTHON_PY_FILE`` in
deploy/Dockerfile) with the template parameters as ``--name=value`` flags plus Dataflow's own
options. It must return once the job is submitted: ``wait_until_finish`` would block the launch.
The run summary is still written by the pipeline itself (``<output>/runs/<commit>.json``).

``NEWSFLOW_PIPELINE`` (set in the image, default ``backfill``) picks the pipeline; a new
pipeline is one more entry in ``PIPELINES`` (and in ``STREAMING`` if it is unbounded).

Template parameters always carry a value, so a boolean flag arrives as ``--no_robots=true``;
argparse's ``store_true`` flags reject that. ``boolean_flags`` turns ``--flag=true`` into
``--flag`` and drops ``--flag=false`` for every ``store_true`` option (ours and Beam's).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# name -> (module, options classes); each module has build(p, options) and DESCRIPTION.
PIPELINES = {
    "backfill": ("newsflow.pipelines.backfill", "OPTION_CLASSES"),
    "stream": ("newsflow.pipelines.stream", "OPTION_CLASSES"),
}
# Pipelines that run as streaming jobs: the launcher sets StandardOptions.streaming for them.
STREAMING = frozenset({"stream"})


def store_true_flags(options_classes=None) -> set[str]:
    """Option strings of every ``store_true`` flag of ``options_classes`` (default: those of
    every pipeline here) and of Beam's own options classes."""
    from newsflow.pipelines.options import known_flags_parser

    if options_classes is None:
        options_classes = tuple(cls for name in PIPELINES for cls in pipeline_options(name))
    parser = known_flags_parser(options_classes)
    return {option for action in parser._actions
            if isinstance(action, argparse._StoreTrueAction) for option in action.option_strings}


def pipeline_options(name: str) -> tuple:
    """The options classes of pipeline ``name``."""
    module_name, options_name = PIPELINES[name]
    return tuple(getattr(importlib.import_module(module_name), options_name))


def boolean_flags(argv: list[str], flags: set[str]) -> list[str]:
    """``--flag=true`` -> ``--flag``; ``--flag=false`` -> nothing (case-insensitive)."""
    result = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name in flags and value.lower() in ("true", "false"):
            if value.lower() == "true":
                result.append(name)
            continue
        result.append(arg)
    return result


def launch(argv: list[str], name: str | None = None):
    """Build and submit the pipeline ``name``; returns the PipelineResult without waiting."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import StandardOptions

    from newsflow.pipelines.options import parse_strict

    name = name or os.environ.get("NEWSFLOW_PIPELINE", "backfill")
    if name not in PIPELINES:
        raise SystemExit(f"error: unknown NEWSFLOW_PIPELINE {name!r} (known: {sorted(PIPELINES)})")
    module = importlib.import_module(PIPELINES[name][0])
    options_classes = pipeline_options(name)
    argv = boolean_flags(list(argv), store_true_flags(options_classes))
    options = parse_strict(argv, options_classes, f"newsflow {name}", module.DESCRIPTION,
                           local_defaults=False)
    if name in STREAMING:
        options.view_as(StandardOptions).streaming = True
    pipeline = beam.Pipeline(options=options)
    module.build(pipeline, options)
    return pipeline.run()


if __name__ == "__main__":
    logging.getLogger().setLevel(logging.INFO)
    launch(sys.argv[1:])
