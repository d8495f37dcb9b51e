"""Option parsing shared by the entry points: our flags, Beam's flags, nothing else.

``PipelineOptions`` silently drops arguments it does not know; a misspelled ``--ouput`` would
then run with defaults. ``parse_strict`` refuses any argument that neither the pipeline's own
options class nor any Beam options class declares.
"""

from __future__ import annotations

import argparse
import os
import sys

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


def help_parser(prog: str, description: str, options_class: type[PipelineOptions]):
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=BEAM_NOTE,
                                     allow_abbrev=False)
    options_class._add_argparse_args(parser)
    return parser


def parse_strict(argv: list[str], options_class: type[PipelineOptions], prog: str,
                 description: str, local_defaults: bool = True) -> PipelineOptions:
    """Parse ``argv`` into pipeline options, failing on unknown flags; ``--help`` prints ours.

    With ``local_defaults`` and no ``--runner``, the job runs on the FnApiRunner (the
    DirectRunner would try to download Prism) in multi-processing mode on every core.
    """
    parser = help_parser(prog, description, options_class)
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


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)
