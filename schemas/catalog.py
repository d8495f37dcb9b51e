"""Record types of the downstream contract: committed files, partition states, increments.

They describe what ``newsflow.transforms.catalog`` reads from the commit manifests under
``OUTPUT/articles/_commits/``; plain frozen dataclasses so CLIs, tests and Beam jobs can pass
them around (and pickle them) freely.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Every file in the partition is committed by a manifest; readers may treat it as done.
STATE_COMPLETE = "complete"
#: Files no manifest references are present (a write in progress, or a crashed one), or a
#: committed file is being rewritten by a re-run. Committed rows stay readable.
STATE_WRITING = "writing"
#: A committed, not superseded file is missing: data was deleted behind the manifests' back.
STATE_DAMAGED = "damaged"
PARTITION_STATES = (STATE_COMPLETE, STATE_WRITING, STATE_DAMAGED)


@dataclass(frozen=True)
class RowSource:
    """Rows ``[row_start, row_start + rows)`` of a file were first committed by this commit.

    A compacted file keeps the provenance of its rows, so an incremental reader that already
    consumed some of the merged commits reads only the rows it has not seen.
    """

    commit_id: str
    written_at: str
    row_start: int
    rows: int

    def to_json(self) -> dict:
        return {"commit_id": self.commit_id, "written_at": self.written_at,
                "row_start": self.row_start, "rows": self.rows}


@dataclass(frozen=True)
class CommittedFile:
    """A Parquet file listed by a manifest and not superseded by a later compaction."""

    path: str  # relative to OUTPUT/articles: dt=.../lang=.../part-<commit_id>-<shard>.parquet
    dt: str
    lang: str
    rows: int
    bytes: int
    commit_id: str
    kind: str
    written_at: str
    schema_version: int
    sources: tuple[RowSource, ...]  # where its rows were first committed (itself if not compacted)

    @property
    def partition(self) -> str:
        return f"dt={self.dt}/lang={self.lang}"


@dataclass(frozen=True)
class PartitionState:
    """One ``dt=/lang=`` partition as a reader following the manifests sees it."""

    dt: str
    lang: str
    state: str  # one of PARTITION_STATES
    files: int  # committed, live files
    rows: int  # rows in those files, from the manifests
    bytes: int
    commits: tuple[str, ...]  # ids of the commits owning the live files, oldest first
    last_commit_at: str | None  # written_at of the newest of those commits
    schema_versions: tuple[int, ...]
    uncommitted: tuple[str, ...] = ()  # files no manifest lists (relative paths)
    superseded: tuple[str, ...] = ()  # replaced files still present, awaiting deletion
    problems: tuple[str, ...] = ()  # human-readable reasons for a non-complete state

    @property
    def partition(self) -> str:
        return f"dt={self.dt}/lang={self.lang}"

    @property
    def complete(self) -> bool:
        return self.state == STATE_COMPLETE


@dataclass(frozen=True)
class FileSlice:
    """Rows ``[row_start, row_start + rows)`` of one committed file: a unit of incremental work."""

    path: str  # relative to OUTPUT/articles
    dt: str
    lang: str
    row_start: int
    rows: int
    file_rows: int
    commit_id: str

    @property
    def whole_file(self) -> bool:
        return self.row_start == 0 and self.rows == self.file_rows


@dataclass(frozen=True)
class Increment:
    """What changed since a checkpoint: complete partitions with new rows and the rows to read.

    ``deferred`` partitions also hold new committed rows but are being written; they are left
    for a later run (the checkpoint does not move past them).
    """

    partitions: tuple[PartitionState, ...]
    slices: tuple[FileSlice, ...]
    deferred: tuple[PartitionState, ...] = ()

    @property
    def rows(self) -> int:
        return sum(piece.rows for piece in self.slices)


@dataclass(frozen=True)
class CompactionSummary:
    """What one ``compact`` run did, partition by partition."""

    commits: tuple[str, ...]  # compaction commit ids written
    partitions: tuple[str, ...]  # partitions compacted
    files_replaced: int
    files_written: int
    rows: int  # rows moved (equal in and out)
    deleted: tuple[str, ...]  # relative paths deleted (replaced and leftover files)
    skipped: tuple[tuple[str, str], ...] = ()  # (partition, reason)


__all__ = [
    "CommittedFile", "CompactionSummary", "FileSlice", "Increment", "PARTITION_STATES",
    "PartitionState", "RowSource", "STATE_COMPLETE", "STATE_DAMAGED", "STATE_WRITING",
]
