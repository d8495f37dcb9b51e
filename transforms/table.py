"""The articles Delta table: atomic commits of worker-written files, run identity, schema merge.

Workers write plain Parquet files into ``OUTPUT/articles/dt=.../lang=.../`` (no partition
columns inside: ``dt`` and ``lang`` live in the Delta log). One step per backfill run or stream
window then calls :func:`commit_files`, which makes them part of the table in one Delta
transaction:

- an app transaction (``app_id`` = the run, ``version`` = the window or the backfill attempt)
  records the commit, so a retried commit step finds it and does nothing;
- a backfill re-run also removes every earlier row carrying its ``commit_id`` in the same
  transaction (files holding only its rows are removed; compacted files that mix its rows with
  others are rewritten without them), so readers see the old rows or the new ones, never both;
- a nullable column the table does not have yet is added first (Delta schema merge).

A reader (deltalake, polars, Spark, DuckDB, BigQuery) sees a commit entirely or not at all;
files of a run that died before committing are never referenced and ``vacuum`` removes them.
Conflicting concurrent commits (a compaction rewriting the files a re-run replaces) are
re-planned and retried.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from deltalake import DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from deltalake.transaction import (
    AddAction,
    CommitProperties,
    RemoveAction,
    Transaction,
    create_table_with_add_actions,
)

from newsflow.schemas import PARTITION_COLUMNS, table_schema
from newsflow.schemas.catalog import CommitResult, DataFile
from newsflow.transforms.files import join, parquet_bytes, write_bytes_atomic

LOG = logging.getLogger(__name__)

ARTICLES_DIR = "articles"
#: Directory name of Delta's null partition value (undated rows: ``dt`` is null).
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
#: The column that identifies the run (backfill) or window (stream) that committed a row.
COMMIT_COLUMN = "commit_id"
MAX_COMMIT_ATTEMPTS = 8
#: How many recent commits are searched for a window committed out of order.
HISTORY_SEARCH = 1000
#: String statistics longer than this are left out (they only help pruning on short keys).
_MAX_STAT_CHARS = 64
#: Files written by the manifest-committed release: part-<commit_id>-<shard>.parquet
_LEGACY_NAME = re.compile(r"^part-(?P<commit_id>[A-Za-z0-9][A-Za-z0-9_.-]*)-\d{5}\.parquet$")


def table_uri(output: str) -> str:
    """``OUTPUT/articles`` as deltalake wants it: absolute for local paths."""
    uri = join(output, ARTICLES_DIR)
    return uri if "://" in uri else os.path.abspath(uri)


def load_table(uri: str, version: int | None = None) -> DeltaTable | None:
    """The Delta table at ``uri`` (at ``version``), or None when there is none yet."""
    try:
        return DeltaTable(uri, version=version)
    except TableNotFoundError:
        return None


def now_ms() -> int:
    return int(time.time() * 1000)


def partition_path(dt: str | None, lang: str) -> str:
    """The folder of a partition inside the table: ``dt=YYYY-MM-DD/lang=xx``."""
    return f"dt={dt or NULL_PARTITION}/lang={lang}"


# --------------------------------------------------------------------------------------------
# Statistics and actions


def _stat_value(value):
    """A Parquet min/max as Delta writes it in JSON stats, or None to leave it out."""
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, str):
        return value if len(value) <= _MAX_STAT_CHARS else None
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value.isoformat()
    return None  # timestamps (Delta stats are millisecond precision), bytes, nested values


def file_stats(metadata: pq.FileMetaData, schema: pa.Schema | None = None) -> str:
    """Delta statistics from a Parquet footer: row count, and null count / min / max of the
    top-level primitive columns. Columns of ``schema`` the file lacks count as all null."""
    rows = metadata.num_rows
    nulls: dict[str, int] = {}
    minimum: dict = {}
    maximum: dict = {}
    unusable: set[str] = set()
    for group_index in range(metadata.num_row_groups):
        group = metadata.row_group(group_index)
        for column_index in range(group.num_columns):
            chunk = group.column(column_index)
            name = chunk.path_in_schema
            if "." in name:  # list/map/struct leaves
                continue
            stats = chunk.statistics
            if stats is None or stats.null_count is None:
                unusable.add(name)
                continue
            nulls[name] = nulls.get(name, 0) + stats.null_count
            if not stats.has_min_max:
                continue
            low, high = _stat_value(stats.min), _stat_value(stats.max)
            if low is None or high is None:
                unusable.add(name)
                continue
            minimum[name] = low if name not in minimum else min(minimum[name], low)
            maximum[name] = high if name not in maximum else max(maximum[name], high)
    for name in unusable:
        nulls.pop(name, None)
        minimum.pop(name, None)
        maximum.pop(name, None)
    present = set(metadata.schema.to_arrow_schema().names)
    for name in (schema.names if schema is not None else ()):
        if name not in present and name not in PARTITION_COLUMNS:
            nulls[name] = rows
    return json.dumps({"numRecords": rows, "minValues": minimum, "maxValues": maximum,
                       "nullCount": nulls}, sort_keys=True)


def write_data_file(uri: str, relative: str, table: pa.Table) -> tuple[int, str]:
    """Write ``table`` as a Parquet file of the table folder; returns its size and stats."""
    payload = parquet_bytes(table)
    write_bytes_atomic(join(uri, relative), payload, "application/octet-stream")
    return len(payload), file_stats(pq.read_metadata(pa.BufferReader(payload)))


def add_action(data_file: DataFile, modified_ms: int, data_change: bool = True) -> AddAction:
    return AddAction(data_file.path, data_file.bytes, {"dt": data_file.dt, "lang": data_file.lang},
                     modified_ms, data_change, data_file.stats)


def _partition_value(value) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


def live_files(table: DeltaTable) -> list[dict]:
    """The current add actions, one dict per file: path, size, rows, partition values, stats
    (``min.<col>``, ``max.<col>``, ``null_count.<col>``) as deltalake flattens them."""
    rows = pa.table(table.get_add_actions(flatten=True)).to_pylist()
    for row in rows:
        row["dt"] = _partition_value(row.get("partition.dt"))
        row["lang"] = _partition_value(row.get("partition.lang"))
    return rows


def remove_action(live: dict, deleted_ms: int) -> RemoveAction:
    return RemoveAction(live["path"], True, deleted_ms, live["size_bytes"],
                        {"dt": live["dt"], "lang": live["lang"]})


# --------------------------------------------------------------------------------------------
# Reading data files


def open_data_file(uri: str, relative: str):
    """A readable handle on a file of the table folder (``relative`` as the log spells it)."""
    return FileSystems.open(join(uri, unquote(relative)), compression_type="uncompressed")


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` with exactly ``schema``'s columns: missing ones (older writers) as nulls,
    unknown ones (newer writers) dropped, types cast."""
    columns = []
    for target in schema:
        if target.name in table.column_names:
            columns.append(table.column(target.name).cast(target.type))
        else:
            columns.append(pa.nulls(table.num_rows, target.type))
    return pa.Table.from_arrays(columns, schema=schema)


def read_data_file(uri: str, relative: str, schema: pa.Schema, dt: str | None = None,
                   lang: str | None = None) -> pa.Table:
    """One data file as rows of ``schema``; partition columns come from ``dt``/``lang``."""
    with open_data_file(uri, relative) as handle:
        table = pq.read_table(handle)
    partition = {"dt": pa.array([date.fromisoformat(dt) if dt else None] * table.num_rows,
                                pa.date32()),
                 "lang": pa.array([lang] * table.num_rows, pa.string())}
    for name, values in partition.items():
        if name in schema.names and name not in table.column_names:
            table = table.append_column(name, values)
    return conform(table, schema)


def _commit_ids_of(uri: str, relative: str) -> tuple[pa.Array | None, int]:
    """The ``commit_id`` column of a file (None when the file predates it) and its row count."""
    with open_data_file(uri, relative) as handle:
        parquet = pq.ParquetFile(handle)
        if COMMIT_COLUMN not in parquet.schema_arrow.names:
            return None, parquet.metadata.num_rows
        ids = parquet.read(columns=[COMMIT_COLUMN]).column(COMMIT_COLUMN).combine_chunks()
        return ids, len(ids)


# --------------------------------------------------------------------------------------------
# Run identity: which rows of the table a commit id owns


def legacy_commit_id(path: str) -> str | None:
    """The commit id in the name of a file written by the manifest-committed release."""
    match = _LEGACY_NAME.match(unquote(path).rsplit("/", 1)[-1])
    return match.group("commit_id") if match else None


def rows_owned(uri: str, live: dict, commit_id: str) -> tuple[int, pa.Array | None]:
    """How many rows of a live file carry ``commit_id``, and (when some but not all do) the
    mask of those rows. Statistics answer for most files; the others have their
    ``commit_id`` column read. Files from before the column count by their legacy name."""
    rows = live.get("num_records")
    low, high = live.get(f"min.{COMMIT_COLUMN}"), live.get(f"max.{COMMIT_COLUMN}")
    nulls = live.get(f"null_count.{COMMIT_COLUMN}")
    legacy = legacy_commit_id(live["path"]) == commit_id
    if rows is not None and nulls == rows:  # no commit_id in any row: a migrated file
        return (rows if legacy else 0), None
    if low is not None and high is not None:
        if not low <= commit_id <= high:
            return 0, None
        if low == high == commit_id and nulls == 0:
            return rows, None
    ids, rows = _commit_ids_of(uri, live["path"])
    if ids is None or ids.null_count == rows:
        return (rows if legacy else 0), None
    mask = pc.fill_null(pc.equal(ids, commit_id), False)
    owned = pc.sum(mask).as_py() or 0
    return owned, (mask if 0 < owned < rows else None)


@dataclass
class Replacement:
    """Actions that take a commit id's earlier rows out of the table."""

    actions: list = field(default_factory=list)
    rows: int = 0
    files: int = 0
    written: list[str] = field(default_factory=list)  # remainder files written (relative)


def plan_replacement(uri: str, table: DeltaTable, commit_id: str, attempt: str,
                     modified_ms: int) -> Replacement:
    """Remove every row carrying ``commit_id``: whole files, or a rewrite of a mixed
    (compacted) file without them, added with ``dataChange=false`` as its other rows do not
    change."""
    plan = Replacement()
    schema = pa.schema(table.schema().to_arrow())
    for live in live_files(table):
        owned, mask = rows_owned(uri, live, commit_id)
        if not owned:
            continue
        plan.actions.append(remove_action(live, modified_ms))
        plan.rows += owned
        plan.files += 1
        if mask is None:
            continue
        kept = read_data_file(uri, live["path"], schema, live["dt"], live["lang"]) \
            .filter(pc.invert(mask)).drop_columns(list(PARTITION_COLUMNS))
        relative = (f"{partition_path(live['dt'], live['lang'])}/part-rewrite-{commit_id}-"
                    f"{attempt}-{uuid.uuid4().hex[:8]}.parquet")
        size, stats = write_data_file(uri, relative, kept)
        plan.written.append(relative)
        plan.actions.append(add_action(DataFile(relative, live["dt"], live["lang"],
                                                kept.num_rows, size, stats),
                                       modified_ms, data_change=False))
    return plan


# --------------------------------------------------------------------------------------------
# Schema merge


def delta_schema(schema: pa.Schema) -> DeltaSchema:
    return DeltaSchema.from_arrow(schema)


def merge_schema(table: DeltaTable, writer: pa.Schema) -> list[str]:
    """Add the writer's columns the table lacks (they must be nullable); returns their names.

    A column the table has with another type is an error: columns are never retyped.
    """
    existing = {f.name: f for f in table.schema().fields}
    wanted = delta_schema(writer).fields
    missing = []
    for wanted_field in wanted:
        present = existing.get(wanted_field.name)
        if present is None:
            if not wanted_field.nullable:
                raise ValueError(f"cannot add non-nullable column {wanted_field.name!r} to "
                                 f"{table.table_uri}: new columns must be nullable")
            missing.append(wanted_field)
        elif present.type != wanted_field.type:
            raise ValueError(f"column {wanted_field.name!r} of {table.table_uri} is "
                             f"{present.type}, the writer has {wanted_field.type}: columns are "
                             "never retyped, add a new one")
    if missing:
        table.alter.add_columns(missing, commit_properties=CommitProperties(
            custom_metadata={"newsflow.operation": "schema merge"}))
        LOG.info("added columns %s to %s", [f.name for f in missing], table.table_uri)
    return [f.name for f in missing]


# --------------------------------------------------------------------------------------------
# Committing


def _is_ours(entry: dict, app_id: str, app_version: int) -> bool:
    return entry.get("newsflow.app_id") == app_id and entry.get("newsflow.app_version") == \
        app_version


def find_commit(table: DeltaTable, app_id: str, app_version: int) -> tuple[bool, int | None]:
    """Whether ``(app_id, app_version)`` is committed, and by which table version if found.

    The app transaction answers for the newest window of a run; a window committed out of
    order is looked up in the last ``HISTORY_SEARCH`` commits.
    """
    last = table.transaction_version(app_id)
    if last is None or last < app_version:
        return False, None
    for limit in (10, HISTORY_SEARCH):  # mostly one of the newest: read few commits first
        for entry in table.history(limit):
            if _is_ours(entry, app_id, app_version):
                return True, int(entry["version"])
    return last == app_version, None


def _discard(uri: str, relative_paths: Iterable[str]) -> None:
    """Best effort: delete files of a failed commit attempt (vacuum would, later)."""
    paths = [join(uri, path) for path in relative_paths]
    if paths:
        try:
            FileSystems.delete(paths)
        except OSError as error:  # BeamIOError is an IOError
            LOG.info("left for vacuum: %s (%s)", paths, error)


def commit_files(uri: str, files: Sequence[DataFile], *, commit_id: str, app_id: str,
                 app_version: int, replace: bool = False, info: dict | None = None,
                 schema: pa.Schema | None = None) -> CommitResult:
    """Commit worker-written ``files`` in one Delta transaction, exactly once.

    ``replace`` (backfill runs) also removes every earlier row carrying ``commit_id``. A
    retried call finds its app transaction and returns ``already_committed``.
    """
    schema = schema or table_schema()
    files = sorted(files, key=lambda f: f.path)
    result = dict(commit_id=commit_id, app_id=app_id, app_version=app_version,
                  rows=sum(f.rows for f in files), files=len(files))
    metadata = {"newsflow.commit_id": commit_id, "newsflow.app_id": app_id,
                "newsflow.app_version": app_version, "newsflow.rows": result["rows"],
                **{f"newsflow.{key}": value for key, value in (info or {}).items()}}
    properties = CommitProperties(custom_metadata=metadata,
                                  app_transactions=[Transaction(app_id, app_version)])
    attempt = uuid.uuid4().hex[:8]
    error: Exception | None = None
    for attempt_number in range(MAX_COMMIT_ATTEMPTS):
        if attempt_number:
            time.sleep(min(5.0, 0.1 * 2 ** attempt_number))
        modified = now_ms()
        adds = [add_action(f, modified) for f in files]
        table = load_table(uri)
        if table is None:
            if not files:
                return CommitResult(table_version=None, **result)
            try:
                create_table_with_add_actions(uri, delta_schema(schema), adds, mode="error",
                                              partition_by=list(PARTITION_COLUMNS),
                                              commit_properties=properties)
            except DeltaError as exc:  # another writer created it first: commit to it
                if load_table(uri) is None:
                    raise
                error = exc
                continue
            return CommitResult(table_version=0, **result)
        committed, version = find_commit(table, app_id, app_version)
        if committed:
            return CommitResult(table_version=version, already_committed=True, **result)
        if merge_schema(table, schema):
            table = load_table(uri)
        plan = plan_replacement(uri, table, commit_id, attempt, modified) if replace \
            else Replacement()
        if not adds and not plan.actions:
            return CommitResult(table_version=None, **result)
        try:
            table.create_write_transaction(plan.actions + adds, mode="append",
                                           schema=table.schema(),
                                           partition_by=list(PARTITION_COLUMNS),
                                           commit_properties=properties)
        except CommitFailedError as exc:  # a concurrent commit touched what we read: re-plan
            LOG.info("commit %s conflicted, retrying: %s", commit_id, exc)
            _discard(uri, plan.written)
            error = exc
            continue
        table.update_incremental()
        _, version = find_commit(table, app_id, app_version)
        return CommitResult(table_version=version,
                            replaced_rows=plan.rows, replaced_files=plan.files, **result)
    raise RuntimeError(f"could not commit {commit_id} to {uri} after {MAX_COMMIT_ATTEMPTS} "
                       f"attempts; last error: {error}")


__all__ = [
    "ARTICLES_DIR", "COMMIT_COLUMN", "NULL_PARTITION", "Replacement", "add_action",
    "commit_files", "conform", "delta_schema", "file_stats", "find_commit", "legacy_commit_id",
    "live_files", "load_table", "merge_schema", "now_ms", "open_data_file", "partition_path",
    "plan_replacement", "read_data_file", "remove_action", "rows_owned", "table_uri",
    "write_data_file",
]
