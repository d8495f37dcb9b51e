"""Whole-file writes and path joins that work the same on local disks and ``gs://``.

A file is written under a dot-prefixed temporary name in its final directory and renamed, so
no reader ever sees half a file (on ``gs://`` an object only appears once written, and the
rename is a copy). What makes article files part of the dataset is the Delta commit
(``newsflow.transforms.table``), not their presence.
"""

from __future__ import annotations

import io
import json
import uuid

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

_ROW_GROUP_ROWS = 10_000


def join(base: str, *parts: str) -> str:
    """Join path parts for local paths and ``gs://`` URLs alike."""
    return FileSystems.join(base, *parts) if parts else base


def write_bytes_atomic(final_path: str, payload: bytes, mime_type: str) -> int:
    """Write ``payload`` via a dot-prefixed temp file in the final directory and a rename."""
    directory, _, name = final_path.rpartition("/")
    temp_path = f"{directory}/.{name}.tmp-{uuid.uuid4().hex[:12]}"
    with FileSystems.create(temp_path, mime_type=mime_type) as handle:
        handle.write(payload)
    FileSystems.rename([temp_path], [final_path])
    return len(payload)


def parquet_bytes(table: pa.Table) -> bytes:
    """``table`` as one zstd-compressed Parquet file."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=_ROW_GROUP_ROWS)
    return buffer.getvalue()


def write_parquet_atomic(final_path: str, table: pa.Table) -> int:
    """Write ``table`` as Parquet to ``final_path`` via a dot-prefixed temp file and a rename."""
    return write_bytes_atomic(final_path, parquet_bytes(table), "application/octet-stream")


def write_json_atomic(final_path: str, payload) -> int:
    data = json.dumps(payload, indent=2, sort_keys=True, default=str).encode()
    return write_bytes_atomic(final_path, data, "application/json")


def read_json_files(pattern: str) -> list:
    """The parsed JSON documents of every file ``pattern`` matches (local or ``gs://``)."""
    documents = []
    for metadata in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(metadata.path) as handle:
            documents.append(json.loads(handle.read()))
    return documents


__all__ = ["join", "parquet_bytes", "read_json_files", "write_bytes_atomic",
           "write_json_atomic", "write_parquet_atomic"]
