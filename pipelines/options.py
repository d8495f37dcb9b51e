"""Option parsing shared by the entry points: our flags, Beam's flags, nothing else.

``PipelineOptions`` silently drops arguments it does not know; a misspelled ``--ouput`` would
then run with defaults. ``parse_strict`` refuses any argument that neither the pipeline's own
options classes nor Beam's own options classes declare (options classes of other pipelines
imported in the same process do not count), suggests the closest known flag, and reports bad
values and missing required flags in one short line instead of Beam's whole usage.

An options class lists the ``dest`` of its required flags in ``REQUIRED``: ``--help`` shows
them in their own group and ``parse_strict`` refuses a command line without them. (They are
not argparse-required: Beam parses every options class for every pipeline.)
"""

from __future__ import annotations

import argparse
import difflib
import os

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

BEAM_NOTE = ("Beam pipeline options (--runner, --project, --region, --temp_location, "
             "--direct_num_workers, ...) are passed through to Beam.")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows every flag's default, unless it has none worth showing or the help says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, False, [], argparse.SUPPRESS) or "default" in text.lower():
            return text
        return text + " (default: %(default)s)"

    def _format_action_invocation(self, action):
        """``--a_b, --a-b VALUE`` instead of repeating the metavar after every spelling."""
        if not action.option_strings or action.nargs == 0:
            return super()._format_action_invocation(action)
        metavar = self._format_args(action, self._get_default_metavar_for_optional(action))
        return f"{', '.join(action.option_strings)} {metavar}"


class CliParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and a pointer to ``--help`` (exit 2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n"
                     f"Run '{self.prog} --help' for its options.\n")

    def add_value_provider_argument(self, *args, **kwargs):
        """Beam's templated-value flags: only their names matter for checking a command line."""
        self.add_argument(*args, **kwargs)


def _subclasses(cls: type) -> list[type]:
    seen, pending = [], [cls]
    while pending:
        for sub in pending.pop().__subclasses__():
            if sub not in seen:
                seen.append(sub)
                pending.append(sub)
    return seen


def beam_option_classes() -> list[type[PipelineOptions]]:
    """Beam's own options classes (--runner, --project, --streaming, ...)."""
    return [cls for cls in _subclasses(PipelineOptions)
            if cls.__module__.startswith("apache_beam.")]


def known_flags_parser(options_classes, prog: str = "newsflow") -> CliParser:
    """A parser that knows the flags of ``options_classes`` and of Beam's options classes."""
    parser = CliParser(prog=prog, add_help=False, conflict_handler="resolve")
    for cls in (*_as_tuple(options_classes), *beam_option_classes()):
        cls._add_argparse_args(parser)
    return parser


def unknown_arguments(argv: list[str], options_classes) -> list[str]:
    """Arguments that neither ``options_classes`` nor Beam's own options declare."""
    _, unknown = known_flags_parser(options_classes).parse_known_args(argv)
    return unknown


def closest_flag(argument: str, parser: argparse.ArgumentParser) -> str | None:
    """The known flag ``argument`` (``--name`` or ``--name=value``) most likely meant."""
    name = argument.split("=", 1)[0]
    flags = [flag for action in parser._actions for flag in action.option_strings]
    matches = difflib.get_close_matches(name, flags, n=1, cutoff=0.75)
    return matches[0] if matches else None


class OutputOptions(PipelineOptions):
    """Where a pipeline writes; shared by every pipeline that writes the dataset."""

    REQUIRED = ("output",)

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--output", default=None,
                            help="Output directory (local or gs://).")


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
        parser.add_argument("--no_stories", "--no-stories", action="store_true",
                            dest="no_stories",
                            help="Skip story assignment (story columns stay null).")
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
    """Near-duplicate labelling, then story assignment, as the options ask:
    ``(articles, skipped or None)``. A batch run with both labels them in one join."""
    from newsflow.transforms.dedup import DedupConfig, DeduplicateArticles, DeduplicateStream
    from newsflow.transforms.dedup.config import LOCAL_BAND_SHARDS, LOCAL_CC_ROUNDS
    from newsflow.transforms.labels import LabelDuplicatesAndStories
    from newsflow.transforms.stories import AssignStories, AssignStoriesStream, StoryConfig

    processing = options.view_as(ProcessingOptions)
    drop = processing.drop_duplicates
    if streaming:
        config = DedupConfig(band_shards=LOCAL_BAND_SHARDS
                             if is_one_process_stream_runner(options) else None)
    elif is_local_runner(options):
        config = DedupConfig(cc_rounds=LOCAL_CC_ROUNDS)
    else:
        config = DedupConfig()
    if not streaming and not processing.no_dedup and not processing.no_stories:
        result = articles | "DeduplicateAndAssignStories" >> LabelDuplicatesAndStories(
            config, StoryConfig(), drop_duplicates=drop)
        return (result.articles, result.skipped) if drop else (result, None)
    skipped = None
    if not processing.no_dedup:
        transform = (DeduplicateStream if streaming else DeduplicateArticles)(
            config, drop_duplicates=drop)
        result = articles | "Deduplicate" >> transform
        articles, skipped = (result.articles, result.skipped) if drop else (result, None)
    if not processing.no_stories:
        articles = articles | "AssignStories" >> (
            AssignStoriesStream if streaming else AssignStories)(StoryConfig())
    return articles, skipped


class _GroupRouter:
    """Hands an options class's flags to the "required" or the "options" help group."""

    def __init__(self, required_group, optional_group, required: tuple[str, ...]):
        self._required, self._optional, self._dests = required_group, optional_group, required

    def add_argument(self, *flags, **kwargs):
        dest = kwargs.get("dest") or flags[0].lstrip("-").replace("-", "_")
        group = self._required if dest in self._dests else self._optional
        return group.add_argument(*flags, **kwargs)


def help_parser(prog: str, description: str, options_classes) -> CliParser:
    """The parser ``--help`` prints: the pipeline's own flags, required ones first."""
    parser = CliParser(prog=prog, description=description, epilog=BEAM_NOTE, add_help=False)
    required = parser.add_argument_group("required")
    optional = parser.add_argument_group("options")
    optional.add_argument("-h", "--help", action="help", help="Show this help and exit.")
    for options_class in _as_tuple(options_classes):
        options_class._add_argparse_args(_GroupRouter(
            required, optional, getattr(options_class, "REQUIRED", ())))
    parser.usage = " ".join([prog, *(f"{a.option_strings[0]} {a.metavar or a.dest.upper()}"
                                     for a in required._group_actions),
                             "[options] [beam options]"])
    return parser


def _as_tuple(options_classes) -> tuple:
    return tuple(options_classes) if isinstance(options_classes, list | tuple) \
        else (options_classes,)


def required_flags(parser: argparse.ArgumentParser, options_classes) -> dict[str, str]:
    """``dest -> flag`` of every required option of ``options_classes``."""
    dests = {dest for cls in _as_tuple(options_classes) for dest in getattr(cls, "REQUIRED", ())}
    return {action.dest: action.option_strings[0] for action in parser._actions
            if action.dest in dests and action.option_strings}


class CachedViewOptions(PipelineOptions):
    """Pipeline options whose views are made once per options class.

    Beam's ``view_as`` parses every flag again for each call, and building the backfill calls it
    about 800 times (type checks ask for ``TypeOptions`` per transform): 0.15 s of a laptop
    run's start. Views of one options object share its values (``_all_options``), so handing
    out the same view again changes nothing; the cache is not pickled with the options.
    """

    def view_as(self, cls):
        views = self.__dict__.setdefault("_newsflow_views", {})  # not an option: no __setattr__
        view = views.get(cls)
        if view is None:
            view = views[cls] = super().view_as(cls)
        return view

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_newsflow_views", None)
        return state


def parse_strict(argv: list[str], options_classes, prog: str,
                 description: str, local_defaults: bool = True) -> PipelineOptions:
    """Parse ``argv`` into pipeline options, failing (exit 2, one line) on unknown flags, bad
    values and missing required flags; ``--help`` prints ours.

    With ``local_defaults`` and no ``--runner``, the job runs on the FnApiRunner (the
    DirectRunner would try to download Prism) in multi-processing mode on every core.
    """
    parser = help_parser(prog, description, options_classes)
    if any(arg in ("-h", "--help") for arg in argv):
        parser.print_help()
        raise SystemExit(0)
    own, _ = parser.parse_known_args(argv)  # our flags' values: choices and types
    known = known_flags_parser(options_classes, prog)
    _, unknown = known.parse_known_args(argv)
    for argument in unknown:
        hint = closest_flag(argument, known) if argument.startswith("--") else None
        parser.error(f"unrecognized argument {argument}"
                     + (f" (did you mean {hint}?)" if hint else ""))
    missing = [flag for dest, flag in required_flags(parser, options_classes).items()
               if getattr(own, dest) in (None, "", [])]
    if missing:
        listed = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
        parser.error(f"missing required {listed}")
    argv = list(argv)
    if local_defaults and not any(a == "--runner" or a.startswith("--runner=") for a in argv):
        argv += ["--runner=FnApiRunner"]
        if not any(a.startswith("--direct_running_mode") for a in argv):
            argv += ["--direct_running_mode=multi_processing",
                     f"--direct_num_workers={os.cpu_count() or 1}"]
    return CachedViewOptions(argv)


def _runner(options: PipelineOptions) -> str:
    return options.view_as(StandardOptions).runner or "DirectRunner"


def is_local_runner(options: PipelineOptions) -> bool:
    return _runner(options) in ("DirectRunner", "FnApiRunner", "BundleBasedDirectRunner",
                                "SwitchingDirectRunner")


def is_one_process_stream_runner(options: PipelineOptions) -> bool:
    """Beam's local streaming runners, which run every stage of a stream in this process (the
    FnApiRunner, local too, may spread stages over worker processes)."""
    return is_local_runner(options) and _runner(options) != "FnApiRunner"
