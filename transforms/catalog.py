"""Reading and looking after the articles Delta table (``OUTPUT/articles``).

The Delta log is the only source of truth; everything here reads it through ``deltalake``:

- :func:`read_articles`, :func:`read_latest_articles`: the rows of a table version, with the
  latest-row rule (:func:`latest_rows`, :data:`LATEST_ARTICLES_SQL`) for re-written articles.
- :func:`list_partitions`: files, rows, bytes, versions and times of every ``dt``/``lang``.
- :func:`changes_since`, :func:`complete_since`: what table versions after a checkpoint added
  (their ``dataChange`` add actions), for incremental downstream jobs whose checkpoint is a
  table version.
- :func:`compact` (Delta optimize), :func:`vacuum` (delete unreferenced files past a
  retention) and :func:`migrate` (turn an output of the manifest-committed release into a
  Delta table, referencing its Parquet files in place).

See docs/downstream.md for the contract in prose and one-liners for other engines.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError
from deltalake.transaction import (
    AddAction,
    CommitProperties,
    RemoveAction,
    create_table_with_add_actions,
)

from newsflow.schemas import PARTITION_COLUMNS, table_schema
from newsflow.schemas.catalog import (
    AddedFile,
    CompactionSummary,
    DataFile,
    Increment,
    MigrationSummary,
    PartitionInfo,
)
from newsflow.transforms.files import join, read_json_files, write_json_atomic
from newsflow.transforms.table import (
    ARTICLES_DIR,
    COMMIT_COLUMN,
    MAX_COMMIT_ATTEMPTS,
    add_action,
    delta_schema,
    file_stats,
    find_commit,
    legacy_commit_id,
    live_files,
    load_table,
    now_ms,
    open_data_file,
    read_data_file,
    table_uri,
    write_data_file,
)

LOG = logging.getLogger(__name__)

#: ``newsflow vacuum`` keeps unreferenced files this long (Delta's default: 7 days), so a
#: reader that started before a compaction or a re-run can finish.
DEFAULT_RETAIN_HOURS = 168
#: Delta optimize's default target file size (delta-rs: 100 MiB).
DEFAULT_TARGET_BYTES = 100 * 1024 * 1024
CHECKPOINT_FORMAT = "newsflow.checkpoint/2"
#: Where ``migrate`` moves the manifests of the old release (beside the table, not in it).
MIGRATED_COMMITS_DIR = "migrated_commits"
_LEGACY_COMMITS_DIR = "_commits"
_LEGACY_UNDATED = "undated"

#: Newest row per article_id (by ingested_at, then fetched_at) over a relation named
#: ``articles``; DuckDB, e.g. ``duckdb.sql(LATEST_ARTICLES_SQL)`` after registering a table.
LATEST_ARTICLES_SQL = """
SELECT * FROM articles
QUALIFY row_number() OVER (
    PARTITION BY article_id
    ORDER BY ingested_at DESC, fetched_at DESC NULLS LAST
) = 1
""".strip()


class TableNotFound(FileNotFoundError):
    """There is no Delta table where one was expected."""


def open_table(output: str, version: int | None = None) -> DeltaTable:
    """The table of ``output`` (at ``version``); a clear error when there is none."""
    uri = table_uri(output)
    table = load_table(uri, version)
    if table is None and not FileSystems.exists(output):
        raise TableNotFound(f"{output} does not exist")
    if table is None:
        legacy = FileSystems.exists(join(uri, _LEGACY_COMMITS_DIR))
        hint = (f"it was written by the manifest-committed release: run 'newsflow migrate "
                f"{output}'" if legacy else
                "nothing has been committed there yet, or the path is wrong")
        raise TableNotFound(f"no Delta table at {uri}: {hint}")
    return table


def arrow_schema(table: DeltaTable) -> pa.Schema:
    return pa.schema(table.schema().to_arrow())


# --------------------------------------------------------------------------------------------
# Reading


def arrow_dataset(table: DeltaTable) -> pads.Dataset:
    """The table as a pyarrow dataset read through pyarrow's own filesystem.

    deltalake's default filesystem is a Python object that Arrow's I/O threads call back
    into; a process that read through it aborts at exit about one time in two ("terminate
    called without an active exception", exit 134; deltalake 1.6.6, pyarrow 25), after its
    work is done. A scheme pyarrow has no filesystem for keeps deltalake's.
    """
    try:
        filesystem, root = pafs.FileSystem.from_uri(table.table_uri)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return table.to_pyarrow_dataset()
    return table.to_pyarrow_dataset(filesystem=pafs.SubTreeFileSystem(root, filesystem))


def read_delta(table: DeltaTable, columns: Sequence[str] | None = None, filter=None) -> pa.Table:
    """``table``'s rows (through :func:`arrow_dataset`)."""
    return arrow_dataset(table).to_table(columns=list(columns) if columns else None,
                                         filter=filter)


def read_articles(output: str, *, version: int | None = None,
                  columns: Sequence[str] | None = None, filter=None) -> pa.Table:
    """The rows of the current (or a given) table version; ``filter`` is a pyarrow
    expression (partition filters on ``dt``/``lang`` prune files)."""
    return read_delta(open_table(output, version), columns, filter)


def latest_rows(table: pa.Table) -> pa.Table:
    """The newest row per ``article_id``: greatest ``ingested_at``, then ``fetched_at``
    (nulls last), then first in input order. Same rule as :data:`LATEST_ARTICLES_SQL`."""
    import numpy as np
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return table
    keys = {"__row": pa.array(np.arange(table.num_rows))}
    for name in ("ingested_at", "fetched_at"):  # nulls sort as the oldest time: last
        column = table.column(name)
        keys[f"__{name}"] = pc.fill_null(column, pa.scalar(datetime(1, 1, 1, tzinfo=UTC),
                                                            column.type))
    indexed = table
    for name, values in keys.items():
        indexed = indexed.append_column(name, values)
    ordered = indexed.sort_by([("article_id", "ascending"), ("__ingested_at", "descending"),
                               ("__fetched_at", "descending"), ("__row", "ascending")])
    ids = ordered.column("article_id").to_numpy(zero_copy_only=False)
    keep = np.ones(len(ids), dtype=bool)
    keep[1:] = ids[1:] != ids[:-1]
    return ordered.filter(pa.array(keep)).drop_columns(list(keys))


def read_latest_articles(output: str, **read_options) -> pa.Table:
    """Table rows with the latest-row rule applied: one row per article_id."""
    return latest_rows(read_articles(output, **read_options))


def read_commit_sample(output: str, commit_id: str, columns: Sequence[str],
                       limit: int) -> pa.Table:
    """Up to ``limit`` rows that the run or window ``commit_id`` committed (none when nothing
    was ever committed to ``output``)."""
    import pyarrow.compute as pc

    table = load_table(table_uri(output))
    if table is None:
        return table_schema().empty_table().select(list(columns))
    rows = read_delta(table, columns, pc.field(COMMIT_COLUMN) == commit_id)
    return rows.slice(0, limit)


def run_committed(output: str, app_id: str, app_version: int) -> bool:
    """Whether the commit of run ``app_id`` (window or attempt ``app_version``) is in the
    table: what a stopped run tells its user."""
    table = load_table(table_uri(output))
    return table is not None and find_commit(table, app_id, app_version)[0]


# --------------------------------------------------------------------------------------------
# The log


def read_log_entry(uri: str, version: int) -> list[dict] | None:
    """The actions of one table version (``_delta_log/<version>.json``), or None when the log
    no longer holds it (log retention after a checkpoint)."""
    path = join(uri, "_delta_log", f"{version:020d}.json")
    try:
        with FileSystems.open(path, compression_type="uncompressed") as handle:
            text = handle.read().decode("utf-8")
    except OSError:
        if FileSystems.exists(path):
            raise
        return None
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _added_file(version: int, add: dict) -> AddedFile:
    values = add.get("partitionValues") or {}
    stats = json.loads(add["stats"]) if add.get("stats") else {}
    return AddedFile(version=version, path=add["path"], dt=values.get("dt") or None,
                     lang=values.get("lang") or "", rows=stats.get("numRecords"))


def _versions_adding(uri: str, latest: int, paths: set[str]) -> dict[str, int]:
    """The version that added each of ``paths``, walking the log back from ``latest`` until
    all are found or the retained log ends."""
    found: dict[str, int] = {}
    for version in range(latest, -1, -1):
        if len(found) == len(paths):
            break
        actions = read_log_entry(uri, version)
        if actions is None:
            break
        for action in actions:
            path = (action.get("add") or {}).get("path")
            if path in paths and path not in found:
                found[path] = version
    return found


# --------------------------------------------------------------------------------------------
# Partitions


def list_partitions(output: str) -> list[PartitionInfo]:
    """Every partition of the current version: files, rows, bytes, the versions that added
    its files and their newest write time, sorted by dt (undated last), lang."""
    table = open_table(output)
    live = live_files(table)
    versions = _versions_adding(table_uri(output), table.version(), {f["path"] for f in live})
    groups: dict[tuple[str | None, str], list[dict]] = {}
    for entry in live:
        groups.setdefault((entry["dt"], entry["lang"]), []).append(entry)
    partitions = []
    for (dt, lang), entries in groups.items():
        added = [versions[e["path"]] for e in entries if e["path"] in versions]
        complete = len(added) == len(entries)
        partitions.append(PartitionInfo(
            dt=dt, lang=lang, files=len(entries),
            rows=sum(e.get("num_records") or 0 for e in entries),
            bytes=sum(e["size_bytes"] for e in entries),
            first_version=min(added) if complete and added else None,
            last_version=max(added) if added else None,
            last_write_ms=max(e["modification_time"] for e in entries)))
    return sorted(partitions, key=lambda p: (p.dt is None, p.dt or "", p.lang))


def describe_table(output: str) -> str:
    """One line: where the table is, its version, last operation and totals."""
    table = open_table(output)
    last = (table.history(1) or [{}])[0]
    when = datetime.fromtimestamp(last.get("timestamp", 0) / 1000, UTC)
    live = live_files(table)
    return (f"{table_uri(output)}: version {table.version()} ({last.get('operation', '?')} at "
            f"{when:%Y-%m-%d %H:%M:%S} UTC), {len(live)} files, "
            f"{sum(f.get('num_records') or 0 for f in live)} rows")


def _format_bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)


def format_partitions(partitions: Sequence[PartitionInfo], title: str = "") -> str:
    """A fixed-width table for ``newsflow partitions``."""
    header = ("partition", "files", "rows", "size", "added in versions", "last write (UTC)")
    lines = [header]
    for info in partitions:
        if info.last_version is None:
            versions = "before the retained log"
        elif info.first_version is None:
            versions = f"..{info.last_version}"
        elif info.first_version == info.last_version:
            versions = str(info.last_version)
        else:
            versions = f"{info.first_version}..{info.last_version}"
        written = datetime.fromtimestamp(info.last_write_ms / 1000, UTC)
        lines.append((info.partition, str(info.files), str(info.rows),
                      _format_bytes(info.bytes), versions, f"{written:%Y-%m-%d %H:%M:%S}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    rendered = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                .rstrip() for line in lines]
    if len(lines) == 1:
        rendered.append("(no partitions)")
    return "\n".join(([title] if title else []) + rendered)


# --------------------------------------------------------------------------------------------
# Incremental reads


def changes_since(output: str, version: int | None) -> Increment:
    """The files table versions after ``version`` added as new data, up to the current version.

    ``version=None`` (a first run) returns every file of the current version instead. A
    backfill re-run shows up as its new files (its replaced rows were reported before): apply
    the latest-row rule downstream. Compaction adds no new data and is not reported.
    """
    table = open_table(output)
    latest = table.version()
    if version is None:
        files = tuple(AddedFile(version=latest, path=f["path"], dt=f["dt"], lang=f["lang"],
                                rows=f.get("num_records")) for f in live_files(table))
        return Increment(since=None, version=latest, files=files)
    if version > latest:
        raise ValueError(f"checkpoint version {version} is newer than the table ({latest}): "
                         "is it the checkpoint of another table?")
    uri = table_uri(output)
    files = []
    for step in range(version + 1, latest + 1):
        actions = read_log_entry(uri, step)
        if actions is None:
            raise ValueError(f"table version {step} is no longer in the Delta log (log "
                             f"retention): delete the checkpoint to read everything again")
        files.extend(_added_file(step, action["add"]) for action in actions
                     if action.get("add", {}).get("dataChange"))
    return Increment(since=version, version=latest, files=tuple(files))


def read_added(output: str, added: AddedFile, schema: pa.Schema) -> pa.Table:
    """The rows of one added file, as ``schema`` (the table's, at the increment's version).

    A file a later compaction replaced is still read from storage: keep ``vacuum``'s
    retention longer than the time between two runs of an incremental job.
    """
    try:
        return read_data_file(table_uri(output), added.path, schema, added.dt, added.lang)
    except FileNotFoundError as error:
        raise FileNotFoundError(
            f"{added.path} (added in version {added.version}) was vacuumed before this job "
            "read it: delete the checkpoint to read everything again, and run the job more "
            "often than the vacuum retention") from error


def increment_schema(output: str, increment: Increment) -> pa.Schema:
    """The table schema at the increment's version (a newer column reads as null before)."""
    if increment.version is None:
        return table_schema()
    return arrow_schema(open_table(output, increment.version))


def complete_since(output: str, version: int | None) -> tuple[pa.Table, int]:
    """Every row committed after table version ``version`` (None: all rows), and the version
    to use as the next checkpoint."""
    increment = changes_since(output, version)
    schema = increment_schema(output, increment)
    tables = [read_added(output, added, schema) for added in increment.files]
    rows = pa.concat_tables(tables) if tables else schema.empty_table()
    return rows, increment.version


def load_checkpoint(path: str) -> int | None:
    """The table version saved at ``path``, or None when there is none yet (first run)."""
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        token = json.loads(handle.read())
    if not isinstance(token, dict) or token.get("format") != CHECKPOINT_FORMAT \
            or not isinstance(token.get("table_version"), int):
        raise ValueError(f"{path} is not a newsflow checkpoint ({CHECKPOINT_FORMAT}); a "
                         "checkpoint of the manifest-committed release cannot be reused: "
                         "delete it to read everything again")
    return token["table_version"]


def save_checkpoint(path: str, version: int) -> None:
    """Replace the checkpoint at ``path`` atomically (temp file + rename)."""
    if "://" not in path:
        path = os.path.abspath(path)
    write_json_atomic(path, {"format": CHECKPOINT_FORMAT, "table_version": int(version)})


# --------------------------------------------------------------------------------------------
# Compaction and retention


def _retry_conflicts(operation, what: str):
    """Run ``operation`` again when a concurrent commit conflicts with it."""
    for attempt in range(MAX_COMMIT_ATTEMPTS):
        try:
            return operation()
        except CommitFailedError as error:
            LOG.info("%s conflicted with a concurrent commit, retrying: %s", what, error)
            time.sleep(min(5.0, 0.1 * 2 ** attempt))
    return operation()


def stamp_legacy_files(output: str, max_bytes: int) -> int:
    """Give migrated files below ``max_bytes`` (the ones optimize will merge) their
    ``commit_id`` column, taken from their name, so a re-run of an old backfill still finds
    its rows after compaction. Returns how many files were rewritten (once per file)."""
    uri = table_uri(output)

    def stamp() -> int:
        table = open_table(output)
        schema = arrow_schema(table)
        if COMMIT_COLUMN not in schema.names:
            return 0
        actions, modified = [], now_ms()
        for live in live_files(table):
            commit_id = legacy_commit_id(live["path"])
            if (commit_id is None or live["size_bytes"] >= max_bytes
                    or live.get(f"null_count.{COMMIT_COLUMN}") != live.get("num_records")):
                continue
            rows = read_data_file(uri, live["path"], schema, live["dt"], live["lang"])
            rows = rows.set_column(rows.schema.get_field_index(COMMIT_COLUMN), COMMIT_COLUMN,
                                   pa.array([commit_id] * rows.num_rows, pa.string()))
            relative = live["path"].rsplit("/", 1)[0] + \
                f"/part-{commit_id}-stamped-{uuid.uuid4().hex[:8]}.parquet"
            size, stats = write_data_file(uri, relative, rows.drop_columns(
                list(PARTITION_COLUMNS)))
            actions.append(RemoveAction(live["path"], False, modified, live["size_bytes"],
                                        {"dt": live["dt"], "lang": live["lang"]}))
            actions.append(add_action(DataFile(relative, live["dt"], live["lang"],
                                               rows.num_rows, size, stats),
                                      modified, data_change=False))
        if actions:
            table.create_write_transaction(
                actions, mode="append", schema=table.schema(),
                partition_by=list(PARTITION_COLUMNS), commit_properties=CommitProperties(
                    custom_metadata={"newsflow.operation": "stamp migrated files"}))
        return len(actions) // 2

    return _retry_conflicts(stamp, "stamping migrated files")


def compact(output: str, *, target_bytes: int = DEFAULT_TARGET_BYTES) -> CompactionSummary:
    """Delta optimize: bin-pack each partition's small files into files of ~``target_bytes``.

    One new version with ``dataChange=false``: rows and readers are unaffected; files it
    replaces stay on storage for readers of older versions until :func:`vacuum`.
    """
    before = open_table(output).version()
    stamped = stamp_legacy_files(output, target_bytes)
    metrics = _retry_conflicts(
        lambda: open_table(output).optimize.compact(target_size=target_bytes), "compaction")
    return CompactionSummary(version_before=before, version_after=open_table(output).version(),
                             files_removed=int(metrics.get("numFilesRemoved", 0)),
                             files_added=int(metrics.get("numFilesAdded", 0)),
                             partitions=int(metrics.get("partitionsOptimized", 0)),
                             stamped_files=stamped)


def format_compaction(summary: CompactionSummary) -> str:
    if not summary.files_removed and not summary.stamped_files:
        return f"nothing to compact (table version {summary.version_after})"
    text = (f"compacted {summary.partitions} partition(s): {summary.files_removed} file(s) -> "
            f"{summary.files_added}; table version {summary.version_before} -> "
            f"{summary.version_after}")
    if summary.stamped_files:
        text += f"; {summary.stamped_files} migrated file(s) given their commit_id first"
    return text


def vacuum(output: str, retain_hours: float = DEFAULT_RETAIN_HOURS,
           dry_run: bool = False) -> list[str]:
    """Delete files no table version within ``retain_hours`` references: files replaced by
    compactions and re-runs, and files of runs that died before committing. Returns them."""
    if retain_hours < 0:
        raise ValueError("--retain must be zero or more hours")
    table = open_table(output)
    return sorted(table.vacuum(retention_hours=int(retain_hours), dry_run=dry_run,
                               enforce_retention_duration=False, full=True))


# --------------------------------------------------------------------------------------------
# Migration from the manifest-committed release


def _legacy_manifests(articles_dir: str) -> list[dict]:
    manifests = read_json_files(join(articles_dir, _LEGACY_COMMITS_DIR, "*.json"))
    return sorted(manifests, key=lambda m: (m["written_at"], m["commit_id"]))


def legacy_live_entries(manifests: Sequence[dict]) -> list[tuple[dict, dict]]:
    """Pure: ``(manifest, file entry)`` of every file the old catalog read as live: listed
    by its last manifest and not replaced by a later compaction."""
    last_listed: dict[str, tuple[int, dict, dict]] = {}
    last_replaced: dict[str, int] = {}
    for index, manifest in enumerate(manifests):
        for entry in manifest.get("files") or ():
            last_listed[entry["path"]] = (index, manifest, entry)
        for path in manifest.get("replaces") or ():
            last_replaced[path] = index
    return [(manifest, entry) for path, (index, manifest, entry) in sorted(last_listed.items())
            if last_replaced.get(path, -1) < index]


def _row_commit_ids(manifest: dict, entry: dict, rows: int) -> list[str] | None:
    """Per-row commit ids of a file an old compaction wrote (from its ``sources``); None for
    a file of a backfill or stream commit, whose name holds its commit id."""
    if manifest.get("kind") != "compaction":
        return None
    ids: list[str | None] = [None] * rows
    for source in entry.get("sources") or ():
        for row in range(source["row_start"], min(rows, source["row_start"] + source["rows"])):
            ids[row] = source["commit_id"]
    return ids


def migrate(old_output: str) -> MigrationSummary:
    """Turn ``OLD_OUTPUT/articles`` (manifest-committed) into a Delta table in place.

    Every live file is added to the table as it is (its statistics come from its Parquet
    footer); only files an old compaction merged from several commits are rewritten, to
    record each row's ``commit_id``. The manifests move to ``OLD_OUTPUT/migrated_commits/``.
    """
    uri = table_uri(old_output)
    if not FileSystems.exists(uri):
        raise TableNotFound(f"{uri} does not exist")
    if load_table(uri) is not None:
        raise ValueError(f"{uri} is already a Delta table")
    manifests = _legacy_manifests(uri)
    if not manifests:
        raise ValueError(f"{uri} has no {_LEGACY_COMMITS_DIR}/*.json manifests: not an output "
                         "of the manifest-committed release")
    schema = table_schema()
    adds, in_place, rewritten, rows, modified = [], 0, 0, 0, now_ms()
    live_paths = set()
    for manifest, entry in legacy_live_entries(manifests):
        path = entry["path"]
        live_paths.add(path)
        dt = None if entry["dt"] == _LEGACY_UNDATED else entry["dt"]
        with open_data_file(uri, path) as handle:
            metadata = pq.read_metadata(handle)
        commit_ids = _row_commit_ids(manifest, entry, metadata.num_rows)
        if commit_ids is None:
            size = FileSystems.match([join(uri, path)])[0].metadata_list[0].size_in_bytes
            data_file = DataFile(path, dt, entry["lang"], metadata.num_rows, size,
                                 file_stats(metadata, schema))
            in_place += 1
        else:
            table = read_data_file(uri, path, pa.schema([f for f in schema
                                                         if f.name not in PARTITION_COLUMNS]))
            table = table.set_column(table.schema.get_field_index(COMMIT_COLUMN),
                                     COMMIT_COLUMN, pa.array(commit_ids, pa.string()))
            relative = path.rsplit("/", 1)[0] + \
                f"/part-migrated-{uuid.uuid4().hex[:12]}-00000.parquet"
            size, stats = write_data_file(uri, relative, table)
            data_file = DataFile(relative, dt, entry["lang"], table.num_rows, size, stats)
            rewritten += 1
        rows += data_file.rows
        adds.append(AddAction(data_file.path, data_file.bytes,
                              {"dt": data_file.dt, "lang": data_file.lang}, modified, True,
                              data_file.stats))
    present = {"/".join(m.path.replace("\\", "/").split("/")[-3:])
               for m in FileSystems.match([join(uri, "dt=*", "lang=*", "*.parquet")])[0]
               .metadata_list}
    create_table_with_add_actions(
        uri, delta_schema(schema), adds, mode="error", partition_by=list(PARTITION_COLUMNS),
        commit_properties=CommitProperties(custom_metadata={
            "newsflow.operation": "migrate", "newsflow.manifests": len(manifests)}))
    _move_manifests(old_output, uri)
    return MigrationSummary(table_version=0, files_in_place=in_place, files_rewritten=rewritten,
                            rows=rows, commits=len(manifests),
                            ignored=tuple(sorted(present - live_paths)))


def _move_manifests(old_output: str, uri: str) -> None:
    sources = [m.path for m in FileSystems.match([join(uri, _LEGACY_COMMITS_DIR, "*.json")])[0]
               .metadata_list]
    if not sources:
        return
    target_dir = join(old_output, MIGRATED_COMMITS_DIR)
    if not FileSystems.exists(target_dir):
        FileSystems.mkdirs(target_dir)
    FileSystems.rename(sources, [join(target_dir, path.replace("\\", "/").rsplit("/", 1)[-1])
                                 for path in sources])
    if "://" not in uri:
        try:
            os.rmdir(join(uri, _LEGACY_COMMITS_DIR))
        except OSError:
            LOG.info("left %s in place", join(uri, _LEGACY_COMMITS_DIR))


def format_migration(summary: MigrationSummary, output: str) -> str:
    lines = [f"migrated {summary.commits} manifest commit(s) into the Delta table "
             f"{table_uri(output)} (version {summary.table_version}): {summary.rows} rows, "
             f"{summary.files_in_place} file(s) kept in place, {summary.files_rewritten} "
             f"rewritten; manifests moved to {join(output, MIGRATED_COMMITS_DIR)}"]
    if summary.ignored:
        lines.append(f"{len(summary.ignored)} Parquet file(s) no manifest committed are not in "
                     "the table ('newsflow vacuum' deletes them after the retention):")
        lines.extend(f"  {path}" for path in summary.ignored)
    return "\n".join(lines)


__all__ = [
    "ARTICLES_DIR", "CHECKPOINT_FORMAT", "DEFAULT_RETAIN_HOURS", "DEFAULT_TARGET_BYTES",
    "LATEST_ARTICLES_SQL", "TableNotFound", "changes_since", "compact", "complete_since",
    "describe_table", "format_compaction", "format_migration", "format_partitions",
    "increment_schema", "latest_rows", "legacy_live_entries", "list_partitions",
    "load_checkpoint", "migrate", "open_table", "read_added", "read_articles",
    "read_commit_sample", "read_latest_articles", "read_log_entry", "run_committed",
    "save_checkpoint", "stamp_legacy_files", "vacuum",
]
