"""Record types of the articles Delta table: written files, commits, partitions, increments.

Plain frozen dataclasses so sinks, CLIs, tests and Beam jobs can pass them around (and pickle
them) freely. ``newsflow.transforms.table`` commits :class:`DataFile` records;
``newsflow.transforms.catalog`` reads the rest from the Delta log.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataFile:
    """A Parquet file a worker wrote into the table folder, not yet committed."""

    path: str  # relative to OUTPUT/articles: dt=.../lang=.../part-<commit_id>-<attempt>-<shard>
    dt: str | None  # YYYY-MM-DD, or None for undated rows (Delta's null partition)
    lang: str
    rows: int
    bytes: int
    stats: str  # Delta file statistics (JSON: numRecords, minValues, maxValues, nullCount)


@dataclass(frozen=True)
class CommitResult:
    """What one commit step did: a new table version, or nothing because it already happened."""

    commit_id: str
    app_id: str  # the Delta app transaction: the run
    app_version: int  # ... and the window (stream) or attempt (backfill)
    table_version: int | None  # the version holding this commit (None: nothing to commit)
    rows: int
    files: int
    replaced_rows: int = 0  # earlier rows of this commit id removed (backfill re-runs)
    replaced_files: int = 0
    already_committed: bool = False  # a retried commit step found its transaction in the log


@dataclass(frozen=True)
class PartitionInfo:
    """One ``dt``/``lang`` partition of the current table version, from the Delta log."""

    dt: str | None
    lang: str
    files: int
    rows: int
    bytes: int
    first_version: int | None  # oldest table version that added one of its current files
    last_version: int | None  # newest such version (None: older than the retained log)
    last_write_ms: int  # newest modification time of its files (ms since the epoch)

    @property
    def partition(self) -> str:
        return f"dt={self.dt or 'null'}/lang={self.lang}"


@dataclass(frozen=True)
class AddedFile:
    """A file a table version added as new data (``dataChange``): a unit of incremental work."""

    version: int
    path: str  # relative to OUTPUT/articles, as in the log
    dt: str | None
    lang: str
    rows: int | None


@dataclass(frozen=True)
class Increment:
    """The data added after ``since`` up to and including ``version`` (the next checkpoint)."""

    since: int | None  # None: from the table's first version
    version: int | None  # None: there is no table yet
    files: tuple[AddedFile, ...]

    @property
    def rows(self) -> int:
        return sum(f.rows or 0 for f in self.files)


@dataclass(frozen=True)
class CompactionSummary:
    """What one ``compact`` run did (Delta optimize, plus identity stamping of legacy files)."""

    version_before: int
    version_after: int
    files_removed: int
    files_added: int
    partitions: int
    stamped_files: int = 0  # migrated files rewritten with their commit_id column first


@dataclass(frozen=True)
class MigrationSummary:
    """What ``migrate`` did to a manifest-committed output."""

    table_version: int
    files_in_place: int  # manifest-listed files the table now references unchanged
    files_rewritten: int  # compaction outputs rewritten to record each row's commit_id
    rows: int
    commits: int  # manifests read
    ignored: tuple[str, ...] = ()  # Parquet files no manifest committed (left out of the table)


__all__ = ["AddedFile", "CommitResult", "CompactionSummary", "DataFile", "Increment",
           "MigrationSummary", "PartitionInfo"]
