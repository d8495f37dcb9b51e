"""Example downstream job: export canonical articles of some topics, incrementally.

    python -m newsflow.pipelines.topic_export --source out/ --export exports/ \
        --topic science --topic health --language en,de --checkpoint exports/_checkpoint.json

Each run reads only the files the Delta table's versions after the checkpoint added
(``newsflow.transforms.catalog.changes_since``; the checkpoint is a table version), keeps rows
of the wanted topics and languages that are canonical (``is_duplicate`` is not true) and
writes them to ``EXPORT/topic=<topic>/part-<source file>.parquet``. The checkpoint is saved
only after the pipeline succeeded, so a failed run is simply run again. Output file names
derive from the source file, so a re-run rewrites the same files instead of adding copies.

This is the pattern for any downstream consumer: plan from the Delta log before the pipeline
starts, distribute the added files, save the version at the end.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions

from newsflow.pipelines.options import parse_strict
from newsflow.schemas.catalog import AddedFile
from newsflow.transforms.catalog import (
    changes_since,
    increment_schema,
    load_checkpoint,
    read_added,
    save_checkpoint,
)
from newsflow.transforms.files import join, write_parquet_atomic

LOG = logging.getLogger(__name__)
DESCRIPTION = ("Export canonical articles of given topics and languages committed to a "
               "newsflow table since the last run, as topic=<topic>/ Parquet.")
_SAFE_VALUE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class TopicExportOptions(PipelineOptions):
    REQUIRED = ("source", "export", "topic", "checkpoint")

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--source", default=None,
                            help="The newsflow output directory to read (local or gs://); "
                                 "its articles/ Delta table.")
        parser.add_argument("--export", default=None,
                            help="Destination directory of the topic=<topic>/ dataset. ")
        parser.add_argument("--topic", action="append", default=[],
                            help="Topic to export (taxonomy label, e.g. science); repeat the "
                                 "flag or separate with commas.")
        parser.add_argument("--language", action="append", default=[],
                            help="Language codes to keep (e.g. en,de); default: all.")
        parser.add_argument("--checkpoint", default=None,
                            help="Checkpoint file holding the table version read last; read "
                                 "at start (absent: export everything) and replaced after a "
                                 "successful run.")


def split_values(values: list[str]) -> tuple[str, ...]:
    """Flatten repeated and comma-separated flag values, lower-cased, in first-seen order."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            if part.strip():
                seen.setdefault(part.strip().lower(), None)
    return tuple(seen)


def safe_path_value(value: str) -> str:
    """A value that becomes a path component must be a short slug: no ``/``, ``..`` or
    spaces can reach the file system."""
    if not _SAFE_VALUE.match(value):
        raise ValueError(f"{value!r} cannot be used in a path: use a-z, 0-9, '_' and '-'")
    return value


def _has_topic(topics: pa.ChunkedArray | pa.Array, topic: str) -> pa.Array:
    """Row mask: ``topic`` is one of the row's topics (null lists never match)."""
    topics = topics.combine_chunks() if isinstance(topics, pa.ChunkedArray) else topics
    mask = [False] * len(topics)
    flat = pc.list_flatten(topics)
    parents = pc.list_parent_indices(topics)
    for parent in pc.filter(parents, pc.equal(flat, topic)).to_pylist():
        mask[parent] = True
    return pa.array(mask, type=pa.bool_())


def select_rows(table: pa.Table, topic: str, languages: tuple[str, ...]) -> pa.Table:
    """Canonical rows (``is_duplicate`` not true) of ``topic`` in ``languages`` (empty: all)."""
    if table.num_rows == 0:
        return table
    keep = pc.invert(pc.fill_null(table.column("is_duplicate"), False))
    if languages:
        keep = pc.and_(keep, pc.is_in(table.column("language"),
                                      value_set=pa.array(languages, pa.string())))
    keep = pc.and_(keep, _has_topic(table.column("topics"), topic))
    return table.filter(keep)


def export_name(added: AddedFile) -> str:
    """A file name that only depends on the source file: re-runs overwrite, never duplicate."""
    return f"part-{hashlib.sha256(added.path.encode()).hexdigest()[:20]}.parquet"


class _ExportFileFn(beam.DoFn):
    """Reads one added file of the table and writes its matching rows once per topic."""

    def __init__(self, output: str, export: str, topics: tuple[str, ...],
                 languages: tuple[str, ...], schema: pa.Schema):
        self._output = output
        self._export = export
        self._topics = topics
        self._languages = languages
        self._schema = schema
        self._read = Metrics.counter("topic_export", "rows_read")
        self._exported = Metrics.counter("topic_export", "rows_exported")

    def process(self, added: AddedFile):
        table = read_added(self._output, added, self._schema)
        self._read.inc(table.num_rows)
        for topic in self._topics:
            selected = select_rows(table, topic, self._languages)
            if selected.num_rows == 0:
                continue
            relative = f"topic={safe_path_value(topic)}/{export_name(added)}"
            size = write_parquet_atomic(join(self._export, relative), selected)
            self._exported.inc(selected.num_rows)
            yield {"path": relative, "topic": topic, "rows": selected.num_rows, "bytes": size,
                   "source": added.path}


def build(p: beam.Pipeline, options: PipelineOptions) -> dict:
    """Plan the increment from the Delta log and wire the export; returns PCollections, the
    increment and the table version to save as the checkpoint after success."""
    opts = options.view_as(TopicExportOptions)
    topics = tuple(safe_path_value(t) for t in split_values(opts.topic))
    languages = split_values(opts.language)
    if not (opts.source and opts.export and opts.checkpoint and topics):
        raise ValueError("--source, --export, --topic and --checkpoint are required")
    increment = changes_since(opts.source, load_checkpoint(opts.checkpoint))
    files = (p
             | "AddedFiles" >> beam.Create(list(increment.files))
             | "Distribute" >> beam.Reshuffle()
             | "ExportFiles" >> beam.ParDo(_ExportFileFn(
                 opts.source, opts.export, topics, languages,
                 increment_schema(opts.source, increment))))
    return {"files": files, "checkpoint": increment.version, "increment": increment}


def run(argv: list[str] | None = None) -> int:
    options = parse_strict(list(sys.argv[1:] if argv is None else argv), TopicExportOptions,
                           "topic_export", DESCRIPTION)
    opts = options.view_as(TopicExportOptions)
    try:
        pipeline = beam.Pipeline(options=options)
        outputs = build(pipeline, options)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = pipeline.run()
    state = result.wait_until_finish()
    if state not in (None, "DONE"):
        print(f"error: pipeline finished in state {state}; checkpoint not saved",
              file=sys.stderr)
        return 1
    save_checkpoint(opts.checkpoint, outputs["checkpoint"])
    increment = outputs["increment"]
    since = "the start" if increment.since is None else f"version {increment.since}"
    print(f"exported from {len(increment.files)} file(s) added since {since}, "
          f"{increment.rows} new rows read; checkpoint (table version {increment.version}) "
          f"saved to {opts.checkpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(run())
