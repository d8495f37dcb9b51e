"""Reading newsflow's output by its contract: manifests, partition states, increments, compaction.

The commit manifests under ``OUTPUT/articles/_commits/`` are the only source of truth: a
Parquet file exists for readers once a manifest lists it and no later compaction replaced it.
Everything here derives from the manifests plus one listing of the partition directories:

- :func:`list_partitions`: each ``dt=/lang=`` partition with its committed files and rows and a
  state: ``complete``, ``writing`` (files no manifest lists yet: a write in progress or a crashed
  one) or ``damaged`` (a committed file is missing).
- :func:`complete_partitions_since`: what a downstream job has not read yet, restricted to
  complete partitions, and the checkpoint token to store once it has read it.
- :func:`read_committed`, :func:`read_slices`, :func:`read_latest_articles`: Arrow tables read
  from manifest-listed files only, always with the current schema (older files get nulls).
- :func:`compact`: merge small committed files of a partition into a new ``compaction`` commit,
  then delete the replaced files; a crash at any step leaves a state these readers handle.

See docs/downstream.md for the contract in prose.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pyarrow as pa
from apache_beam.io.filesystem import BeamIOError
from apache_beam.io.filesystems import FileSystems

from newsflow.schemas import article_schema
from newsflow.schemas.catalog import (
    STATE_COMPLETE,
    STATE_DAMAGED,
    STATE_WRITING,
    CommittedFile,
    CompactionSummary,
    FileSlice,
    Increment,
    PartitionState,
    RowSource,
)
from newsflow.transforms.sinks import (
    ARTICLES_DIR,
    build_manifest,
    commit_id_for_inputs,
    join,
    partition_dir,
    read_manifests,
    write_json_atomic,
    write_manifest,
    write_parquet_atomic,
)

LOG = logging.getLogger(__name__)

#: How late a manifest may become visible after its ``written_at`` (clock skew, slow object
#: store listings). Commits older than the newest one minus this are assumed seen by then.
DEFAULT_GRACE = timedelta(hours=1)
#: Compaction aims at files of about this many rows (≈ 100-300 MB of Parquet for news text).
DEFAULT_TARGET_ROWS = 100_000
CHECKPOINT_FORMAT = "newsflow.checkpoint/1"
COMPACTION_KIND = "compaction"
_COMPACT_PREFIX = "compact"

_DATA_PATH = re.compile(r"^dt=([^/]+)/lang=([^/]+)/([^/]+)$")

#: Newest row per article_id (by ingested_at, then fetched_at) over a relation named
#: ``articles``; DuckDB, e.g. ``duckdb.sql(LATEST_ARTICLES_SQL)`` after registering a table.
LATEST_ARTICLES_SQL = """
SELECT * FROM articles
QUALIFY row_number() OVER (
    PARTITION BY article_id
    ORDER BY ingested_at DESC, fetched_at DESC NULLS LAST
) = 1
""".strip()


# --------------------------------------------------------------------------------------------
# The catalog: manifests + one listing, resolved


@dataclass(frozen=True)
class CatalogView:
    """One consistent reading of the output: manifests, live files and partition states."""

    articles_dir: str
    manifests: tuple[dict, ...]
    live: tuple[CommittedFile, ...]  # committed, not superseded; oldest commit first
    partitions: tuple[PartitionState, ...]
    superseded: dict[str, str] = field(default_factory=dict)  # present path -> replaced at
    uncommitted: dict[str, float] = field(default_factory=dict)  # present path -> mtime (s)
    present: dict[str, int] = field(default_factory=dict)  # every data path -> size

    def state_of(self, partition: str) -> PartitionState | None:
        return next((p for p in self.partitions if p.partition == partition), None)


def articles_path(output: str) -> str:
    """``OUTPUT/articles``, where partitions and ``_commits`` live."""
    return join(output, ARTICLES_DIR)


def list_data_files(articles_dir: str) -> dict[str, tuple[int, float]]:
    """Every entry of every ``dt=*/lang=*`` directory, temp files included, by relative path.

    Values are ``(size in bytes, last modified in epoch seconds)``.
    """
    pattern = join(articles_dir, "dt=*", "lang=*", "*")
    found = {}
    for metadata in FileSystems.match([pattern])[0].metadata_list:
        relative = "/".join(metadata.path.replace("\\", "/").split("/")[-3:])
        found[relative] = (metadata.size_in_bytes, metadata.last_updated_in_seconds or 0.0)
    return found


def _split_path(path: str) -> tuple[str, str, str] | None:
    match = _DATA_PATH.match(path)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def _committed_file(manifest: dict, entry: dict) -> CommittedFile | None:
    parts = _split_path(entry["path"])
    if parts is None:
        LOG.warning("manifest %s lists a path outside dt=/lang=: %s",
                    manifest.get("commit_id"), entry["path"])
        return None
    dt, lang, _ = parts
    rows = int(entry["rows"])
    sources = tuple(RowSource(str(s["commit_id"]), str(s["written_at"]), int(s["row_start"]),
                              int(s["rows"])) for s in entry.get("sources") or ())
    if not sources:  # a file is the first commit of its own rows
        sources = (RowSource(manifest["commit_id"], manifest["written_at"], 0, rows),)
    return CommittedFile(path=entry["path"], dt=dt, lang=lang, rows=rows,
                         bytes=int(entry.get("bytes") or 0), commit_id=manifest["commit_id"],
                         kind=manifest.get("kind", ""), written_at=manifest["written_at"],
                         schema_version=int(manifest.get("schema_version") or 0),
                         sources=sources)


def resolve_catalog(articles_dir: str, manifests: Sequence[dict],
                    listing: dict[str, tuple[int, float]]) -> CatalogView:
    """Pure: which files are live, superseded or uncommitted, and each partition's state.

    ``manifests`` must be in commit order (``written_at``, then ``commit_id``). A path is
    superseded when a compaction commit later than the last commit listing it replaces it; a
    commit re-written after a compaction (a backfill re-run) makes its paths live again.
    """
    last_listed: dict[str, tuple[int, dict, dict]] = {}
    last_replaced: dict[str, tuple[int, str]] = {}
    for index, manifest in enumerate(manifests):
        for entry in manifest.get("files") or ():
            last_listed[entry["path"]] = (index, manifest, entry)
        for path in manifest.get("replaces") or ():
            last_replaced[path] = (index, manifest["written_at"])

    live: list[CommittedFile] = []
    superseded: dict[str, str] = {}
    for path, (index, manifest, entry) in last_listed.items():
        replaced = last_replaced.get(path)
        if replaced is not None and replaced[0] > index:
            if path in listing:
                superseded[path] = replaced[1]
            continue
        committed = _committed_file(manifest, entry)
        if committed is not None:
            live.append(committed)
    live.sort(key=lambda f: (f.written_at, f.commit_id, f.path))
    uncommitted = {path: mtime for path, (_, mtime) in listing.items()
                   if path not in last_listed and _split_path(path)}

    by_partition: dict[tuple[str, str], list[CommittedFile]] = {}
    for committed in live:
        by_partition.setdefault((committed.dt, committed.lang), []).append(committed)
    for path in uncommitted:
        dt, lang, _ = _split_path(path)
        by_partition.setdefault((dt, lang), [])
    partitions = [_partition_state(dt, lang, files, listing, uncommitted, superseded)
                  for (dt, lang), files in sorted(by_partition.items())]
    return CatalogView(articles_dir=articles_dir, manifests=tuple(manifests), live=tuple(live),
                       partitions=tuple(partitions), superseded=superseded,
                       uncommitted=uncommitted,
                       present={path: size for path, (size, _) in listing.items()})


def _partition_state(dt: str, lang: str, files: list[CommittedFile],
                     listing: dict[str, tuple[int, float]], uncommitted: dict[str, float],
                     superseded: dict[str, str]) -> PartitionState:
    prefix = f"dt={dt}/lang={lang}/"
    problems, state = [], STATE_COMPLETE
    for committed in files:
        present = listing.get(committed.path)
        name = committed.path[len(prefix):]
        if present is None:
            problems.append(f"missing committed file {name}")
            state = STATE_DAMAGED
        elif committed.bytes and present[0] != committed.bytes:
            problems.append(f"{name} is {present[0]} bytes, its manifest says {committed.bytes} "
                            "(being rewritten?)")
            state = STATE_WRITING if state != STATE_DAMAGED else state
    own_uncommitted = tuple(sorted(p for p in uncommitted if p.startswith(prefix)))
    if own_uncommitted:
        problems.append(f"{len(own_uncommitted)} file(s) not in any manifest")
        state = STATE_WRITING if state != STATE_DAMAGED else state
    commits: dict[str, str] = {}
    for committed in files:
        commits[committed.commit_id] = committed.written_at
    return PartitionState(
        dt=dt, lang=lang, state=state, files=len(files), rows=sum(f.rows for f in files),
        bytes=sum(f.bytes for f in files),
        commits=tuple(sorted(commits, key=lambda c: (commits[c], c))),
        last_commit_at=max(commits.values()) if commits else None,
        schema_versions=tuple(sorted({f.schema_version for f in files})),
        uncommitted=own_uncommitted,
        superseded=tuple(sorted(p for p in superseded if p.startswith(prefix))),
        problems=tuple(problems))


def load_catalog(output: str) -> CatalogView:
    """List the partitions first, then read the manifests, then resolve.

    Listing before reading manifests means a file committed in between is seen as committed,
    never the reverse (a manifest naming a file the listing missed would look damaged).
    """
    articles_dir = articles_path(output)
    listing = list_data_files(articles_dir)
    manifests = sorted(read_manifests(articles_dir),
                       key=lambda m: (_parse_ts(m["written_at"]), m["commit_id"]))
    return resolve_catalog(articles_dir, manifests, listing)


def list_partitions(output: str) -> list[PartitionState]:
    """Every partition with its committed files/rows, commits and state, sorted by dt, lang."""
    return list(load_catalog(output).partitions)


def committed_files(output: str, partitions: Iterable[str] | None = None) -> list[CommittedFile]:
    """The live committed files (optionally of some ``dt=.../lang=...`` partitions).

    For incremental reads use :func:`complete_partitions_since`, which also knows which rows
    of a compacted file are new.
    """
    wanted = set(partitions) if partitions is not None else None
    return [f for f in load_catalog(output).live if wanted is None or f.partition in wanted]


def format_partitions(states: Iterable[PartitionState]) -> str:
    """A fixed-width table for ``newsflow partitions``."""
    header = ("partition", "state", "files", "rows", "commits", "last commit", "schema", "notes")
    lines = [header]
    for state in states:
        notes = []
        if state.uncommitted:
            notes.append(f"{len(state.uncommitted)} uncommitted")
        if state.superseded:
            notes.append(f"{len(state.superseded)} replaced, not yet deleted")
        notes.extend(p for p in state.problems if "not in any manifest" not in p)
        lines.append((state.partition, state.state, str(state.files), str(state.rows),
                      str(len(state.commits)), state.last_commit_at or "-",
                      ",".join(f"v{v}" for v in state.schema_versions) or "-",
                      "; ".join(notes)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    rendered = ["  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True))
                + ("  " + line[-1] if line[-1] else "") for line in lines]
    if len(lines) == 1:
        rendered.append("(no partitions)")
    return "\n".join(row.rstrip() for row in rendered)


def format_compaction(summary: CompactionSummary) -> str:
    """A short report for ``newsflow compact``."""
    lines = [f"compacted {len(summary.partitions)} partition(s): {summary.files_replaced} "
             f"file(s) -> {summary.files_written}, {summary.rows} rows; "
             f"{len(summary.deleted)} file(s) deleted"]
    lines.extend(f"  {partition}  commit {commit}"
                 for partition, commit in zip(summary.partitions, summary.commits, strict=True))
    lines.extend(f"  skipped {partition}: {reason}" for partition, reason in summary.skipped)
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Checkpoints and increments


def _parse_ts(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _format_ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _unit_key(commit_id: str, written_at: str) -> str:
    return f"{commit_id}@{written_at}"


def _parse_checkpoint(checkpoint: dict | None) -> tuple[datetime | None, dict[str, set[str]]]:
    if checkpoint is None:
        return None, {}
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"not a newsflow checkpoint: {str(checkpoint)[:200]}")
    floor = _parse_ts(checkpoint["floor"]) if checkpoint.get("floor") else None
    seen = {key: set(parts) for key, parts in (checkpoint.get("seen") or {}).items()}
    return floor, seen


def _merge_ranges(sources: Iterable[RowSource]) -> list[tuple[int, int]]:
    """Adjacent or overlapping ``[start, end)`` ranges of the given sources, merged."""
    ranges = sorted((s.row_start, s.row_start + s.rows) for s in sources if s.rows > 0)
    merged: list[list[int]] = []
    for start, end in ranges:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def plan_increment(view: CatalogView, checkpoint: dict | None,
                   grace: timedelta = DEFAULT_GRACE) -> tuple[Increment, dict]:
    """Pure: the rows of complete partitions not covered by ``checkpoint``, and the next token.

    The unit of consumption is (commit version, partition): a commit's rows in one partition
    are read together, in the run where that partition is complete. The token keeps the units
    read after its ``floor``; everything committed before the floor counts as read. The floor
    trails the newest commit by ``grace`` and never passes a partition held back as writing.
    """
    floor, seen = _parse_checkpoint(checkpoint)

    def consumed(commit_id: str, written_at: str, partition: str) -> bool:
        if floor is not None and _parse_ts(written_at) < floor:
            return True
        return partition in seen.get(_unit_key(commit_id, written_at), ())

    states = {state.partition: state for state in view.partitions}
    slices: list[FileSlice] = []
    read_now: dict[str, set[str]] = {}
    new_partitions: set[str] = set()
    deferred: set[str] = set()
    oldest_deferred: datetime | None = None
    for committed in view.live:
        partition = committed.partition
        new_sources = [s for s in committed.sources
                       if not consumed(s.commit_id, s.written_at, partition)]
        own_new = not consumed(committed.commit_id, committed.written_at, partition)
        if not new_sources and not own_new:
            continue
        if not states[partition].complete:
            deferred.add(partition)
            times = [_parse_ts(committed.written_at)]
            times.extend(_parse_ts(s.written_at) for s in new_sources)
            oldest_deferred = min([*times, oldest_deferred] if oldest_deferred else times)
            continue
        new_partitions.add(partition)
        for start, end in _merge_ranges(new_sources):
            slices.append(FileSlice(path=committed.path, dt=committed.dt, lang=committed.lang,
                                    row_start=start, rows=end - start, file_rows=committed.rows,
                                    commit_id=committed.commit_id))
        for commit_id, written_at in {(committed.commit_id, committed.written_at),
                                      *((s.commit_id, s.written_at) for s in new_sources)}:
            read_now.setdefault(_unit_key(commit_id, written_at), set()).add(partition)

    newest = max((_parse_ts(m["written_at"]) for m in view.manifests), default=None)
    new_floor = floor
    if newest is not None:
        candidate = newest - grace
        if oldest_deferred is not None:
            candidate = min(candidate, oldest_deferred)
        new_floor = candidate if floor is None else max(floor, candidate)
    merged_seen: dict[str, set[str]] = {}
    for source in (seen, read_now):
        for key, partitions in source.items():
            if new_floor is None or _parse_ts(key.partition("@")[2]) >= new_floor:
                merged_seen.setdefault(key, set()).update(partitions)
    token = {"format": CHECKPOINT_FORMAT,
             "floor": _format_ts(new_floor) if new_floor else None,
             "seen": {key: sorted(parts) for key, parts in sorted(merged_seen.items())}}
    increment = Increment(
        partitions=tuple(states[p] for p in sorted(new_partitions)),
        slices=tuple(slices),
        deferred=tuple(states[p] for p in sorted(deferred)))
    return increment, token


def complete_partitions_since(output: str, checkpoint: dict | None = None, *,
                              grace: timedelta = DEFAULT_GRACE) -> tuple[Increment, dict]:
    """New committed rows in complete partitions since ``checkpoint`` (None: from the start).

    Returns the increment (partitions, the file slices to read, deferred partitions) and the
    token to save once those slices have been processed. Tokens are opaque JSON values.
    """
    return plan_increment(load_catalog(output), checkpoint, grace)


def load_checkpoint(path: str) -> dict | None:
    """The token saved at ``path``, or None when there is none yet (first run)."""
    if not FileSystems.exists(path):
        return None
    with FileSystems.open(path, compression_type="uncompressed") as handle:
        token = json.loads(handle.read())
    _parse_checkpoint(token)
    return token


def save_checkpoint(path: str, token: dict) -> None:
    """Replace the token at ``path`` atomically (temp file + rename)."""
    _parse_checkpoint(token)
    if "://" not in path:
        path = os.path.abspath(path)
    write_json_atomic(path, token)


# --------------------------------------------------------------------------------------------
# Reading


def _arrow_paths(articles_dir: str, relative: Iterable[str]):
    """Absolute paths and the pyarrow filesystem for them (local, gs://, s3://...)."""
    if "://" in articles_dir:
        from pyarrow import fs as pafs

        filesystem, base = pafs.FileSystem.from_uri(articles_dir)
        return [f"{base.rstrip('/')}/{path}" for path in relative], filesystem
    return [os.path.join(articles_dir, path) for path in relative], None


def read_files(articles_dir: str, paths: Sequence[str], columns: Sequence[str] | None = None,
               filter=None) -> pa.Table:
    """Read Parquet files (relative to ``articles_dir``) as one table of the current schema.

    ``pyarrow.dataset`` with the current ``article_schema()`` unifies schema versions: columns
    a file's version did not have come back as nulls.
    """
    import pyarrow.dataset as ds

    schema = article_schema()
    if not paths:
        table = schema.empty_table()
        return table.select(list(columns)) if columns else table
    absolute, filesystem = _arrow_paths(articles_dir, paths)
    dataset = ds.dataset(absolute, schema=schema, format="parquet", filesystem=filesystem)
    return dataset.to_table(columns=list(columns) if columns else None, filter=filter)


def read_committed(output: str, *, partitions: Iterable[str] | None = None,
                   columns: Sequence[str] | None = None, filter=None,
                   complete_only: bool = False) -> pa.Table:
    """All committed rows (optionally of some partitions), never an uncommitted or replaced
    file. Committed files of ``writing`` partitions are included unless ``complete_only``."""
    view = load_catalog(output)
    wanted = set(partitions) if partitions is not None else None
    states = {state.partition: state for state in view.partitions}
    paths = [f.path for f in view.live
             if (wanted is None or f.partition in wanted) and f.path in view.present
             and (not complete_only or states[f.partition].complete)]
    return read_files(view.articles_dir, paths, columns, filter)


def read_slices(output: str, slices: Iterable[FileSlice],
                columns: Sequence[str] | None = None) -> pa.Table:
    """The rows of the given slices (from :func:`complete_partitions_since`), in order."""
    articles_dir = articles_path(output)
    pieces, cache = [], {}
    for piece in slices:
        if piece.path not in cache:
            cache.clear()  # slices of one file come together; keep one file in memory
            cache[piece.path] = read_files(articles_dir, [piece.path], columns)
        table = cache[piece.path]
        pieces.append(table if piece.whole_file else table.slice(piece.row_start, piece.rows))
    if not pieces:
        return read_files(articles_dir, [], columns)
    return pa.concat_tables(pieces)


def latest_rows(table: pa.Table) -> pa.Table:
    """The newest row per ``article_id``: greatest ``ingested_at``, then ``fetched_at``
    (nulls last), then first in input order. Same rule as :data:`LATEST_ARTICLES_SQL`."""
    import numpy as np

    if table.num_rows == 0:
        return table
    import pyarrow.compute as pc

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
    """Committed rows with the latest-row rule applied: one row per article_id."""
    return latest_rows(read_committed(output, **read_options))


# --------------------------------------------------------------------------------------------
# Compaction


@dataclass(frozen=True)
class CompactionPlan:
    """Small committed files of one partition to merge, oldest commit first."""

    dt: str
    lang: str
    inputs: tuple[CommittedFile, ...]

    @property
    def partition(self) -> str:
        return f"dt={self.dt}/lang={self.lang}"

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.inputs)


def plan_compaction(view: CatalogView, target_rows: int = DEFAULT_TARGET_ROWS,
                    min_files: int = 2) -> tuple[list[CompactionPlan], list[tuple[str, str]]]:
    """Pure: per partition, the committed files under ``target_rows`` rows to merge (when at
    least ``min_files``), and the partitions skipped with a reason.

    Files whose size differs from their manifest (a re-run rewriting them) are left alone, and
    damaged partitions are not touched.
    """
    plans, skipped = [], []
    for state in view.partitions:
        if state.state == STATE_DAMAGED:
            skipped.append((state.partition, "damaged: " + "; ".join(state.problems)))
            continue
        inputs = tuple(f for f in view.live
                       if f.partition == state.partition and f.rows < target_rows
                       and view.present.get(f.path) == f.bytes)
        if len(inputs) >= max(2, min_files):
            plans.append(CompactionPlan(state.dt, state.lang, inputs))
    return plans, skipped


def split_sources(sources: Sequence[RowSource], start: int, end: int) -> list[RowSource]:
    """The parts of ``sources`` (offsets in a merged table) inside ``[start, end)``, re-based to
    ``start`` and with adjacent ranges of the same commit joined."""
    parts: list[RowSource] = []
    for source in sources:
        low, high = max(start, source.row_start), min(end, source.row_start + source.rows)
        if high <= low:
            continue
        previous = parts[-1] if parts else None
        if (previous and (previous.commit_id, previous.written_at)
                == (source.commit_id, source.written_at)
                and previous.row_start + previous.rows == low - start):
            parts[-1] = RowSource(source.commit_id, source.written_at, previous.row_start,
                                  previous.rows + high - low)
        else:
            parts.append(RowSource(source.commit_id, source.written_at, low - start, high - low))
    return parts


def _delete(articles_dir: str, paths: Iterable[str]) -> list[str]:
    """Delete files (relative paths); ones already gone are fine (a crashed run may have)."""
    deleted = []
    for path in paths:
        try:
            FileSystems.delete([join(articles_dir, path)])
        except BeamIOError as error:
            if FileSystems.exists(join(articles_dir, path)):
                raise
            LOG.info("already deleted: %s (%s)", path, error)
            continue
        deleted.append(path)
    return deleted


def _is_compaction_leftover(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith((f"part-{_COMPACT_PREFIX}-", f".part-{_COMPACT_PREFIX}-"))


def _leftovers(view: CatalogView, now: datetime, retention: timedelta,
               uncommitted_min_age: timedelta | None) -> list[str]:
    """Replaced files past retention, outputs of crashed compactions and (opt-in) old
    uncommitted files."""
    paths = [path for path, replaced_at in view.superseded.items()
             if _parse_ts(replaced_at) <= now - retention]
    for path, mtime in view.uncommitted.items():
        if _is_compaction_leftover(path):
            paths.append(path)
        elif uncommitted_min_age is not None and mtime and \
                datetime.fromtimestamp(mtime, UTC) <= now - uncommitted_min_age:
            paths.append(path)
    return sorted(set(paths))


def _merge_partition(articles_dir: str, plan: CompactionPlan, target_rows: int,
                     commit_id: str) -> list[dict]:
    """Write the merged files of one plan; returns their manifest entries (with ``sources``)."""
    tables, sources, offset = [], [], 0
    for committed in plan.inputs:
        table = read_files(articles_dir, [committed.path])
        if table.num_rows != committed.rows:
            raise ValueError(f"{committed.path} has {table.num_rows} rows, its manifest says "
                             f"{committed.rows}")
        tables.append(table)
        sources.extend(RowSource(s.commit_id, s.written_at, offset + s.row_start, s.rows)
                       for s in committed.sources)
        offset += table.num_rows
    merged = pa.concat_tables(tables)
    count = max(1, math.ceil(merged.num_rows / target_rows))
    size = math.ceil(merged.num_rows / count)
    entries = []
    for shard in range(count):
        start, end = shard * size, min(merged.num_rows, (shard + 1) * size)
        if end <= start:
            continue
        relative = f"{partition_dir(plan.dt, plan.lang)}/part-{commit_id}-{shard:05d}.parquet"
        written = write_parquet_atomic(join(articles_dir, relative),
                                       merged.slice(start, end - start))
        entries.append({"path": relative, "dt": plan.dt, "lang": plan.lang, "rows": end - start,
                        "bytes": written,
                        "sources": [s.to_json() for s in split_sources(sources, start, end)]})
    if sum(entry["rows"] for entry in entries) != plan.rows:
        raise ValueError(f"compaction of {plan.partition} would change the row count")
    return entries


def compact(output: str, *, target_rows: int = DEFAULT_TARGET_ROWS, min_files: int = 2,
            retention: timedelta = timedelta(0),
            remove_uncommitted_older_than: timedelta | None = None,
            now: datetime | None = None) -> CompactionSummary:
    """Merge each partition's small committed files into files of about ``target_rows`` rows.

    Per partition: write the merged files (temp + rename), write a ``compaction`` manifest
    whose ``replaces`` lists the inputs (the commit point), then delete the inputs. Readers
    following the manifests see either the inputs or the merged files, never both or neither.
    A crash before the manifest leaves uncommitted files (removed by the next run); a crash
    after it leaves replaced files that readers ignore (deleted by the next run).

    ``retention`` keeps replaced files that long after their replacement, for readers that
    listed files before it. Run one compaction at a time per output.
    """
    if target_rows < 1:
        raise ValueError("target_rows must be positive")
    now = now or datetime.now(UTC)
    view = load_catalog(output)
    articles_dir = view.articles_dir
    deleted = _delete(articles_dir, _leftovers(view, now, retention,
                                               remove_uncommitted_older_than))
    if deleted:
        view = load_catalog(output)
    plans, skipped = plan_compaction(view, target_rows, min_files)
    commits, partitions, replaced, written, rows = [], [], 0, 0, 0
    for plan in plans:
        inputs = [f"{f.path}@{f.commit_id}@{f.written_at}" for f in plan.inputs]
        commit_id = commit_id_for_inputs(_COMPACT_PREFIX, inputs, f"target_rows={target_rows}")
        try:
            entries = _merge_partition(articles_dir, plan, target_rows, commit_id)
        except (OSError, ValueError, pa.ArrowException) as error:
            LOG.warning("not compacting %s: %s", plan.partition, error)
            skipped.append((plan.partition, str(error)))
            continue
        manifest = build_manifest(
            commit_id, COMPACTION_KIND, entries, replaces=[f.path for f in plan.inputs],
            run={"tool": "newsflow compact", "partition": plan.partition,
                 "target_rows": target_rows, "inputs": len(plan.inputs)})
        # A compaction must order after the commits it replaces, whatever the clocks say.
        newest_input = max(_parse_ts(f.written_at) for f in plan.inputs)
        if _parse_ts(manifest["written_at"]) <= newest_input:
            manifest["written_at"] = _format_ts(newest_input + timedelta(microseconds=1))
        write_manifest(articles_dir, manifest)
        commits.append(commit_id)
        partitions.append(plan.partition)
        replaced += len(plan.inputs)
        written += len(entries)
        rows += plan.rows
        if retention <= timedelta(0):
            deleted.extend(_delete(articles_dir, [f.path for f in plan.inputs]))
    return CompactionSummary(commits=tuple(commits), partitions=tuple(partitions),
                             files_replaced=replaced, files_written=written, rows=rows,
                             deleted=tuple(deleted), skipped=tuple(skipped))


__all__ = [
    "CHECKPOINT_FORMAT", "COMPACTION_KIND", "CatalogView", "CompactionPlan", "DEFAULT_GRACE",
    "DEFAULT_TARGET_ROWS", "LATEST_ARTICLES_SQL", "articles_path",
    "committed_files", "compact", "complete_partitions_since", "format_compaction",
    "format_partitions",
    "latest_rows", "list_data_files", "list_partitions", "load_catalog", "load_checkpoint",
    "plan_compaction", "plan_increment", "read_committed", "read_files",
    "read_latest_articles", "read_manifests", "read_slices", "resolve_catalog",
    "save_checkpoint", "split_sources",
]
