"""Parquet partitions with atomic, manifest-committed writes; dead letters; run summaries.

Layout under ``OUTPUT``::

    articles/dt=YYYY-MM-DD/lang=xx/part-<commit_id>-<shard>.parquet
    articles/_commits/<commit_id>.json      # the commit point, written last
    dead_letter/dead-<commit_id>-<shard>.jsonl
    skipped/skipped-<commit_id>.jsonl       # every skip: stage, reason, source_ref, url
    runs/<commit_id>.json                   # the run summary (read = written + ... )

Every file is written under a dot-prefixed temporary name in its final directory and renamed;
the manifest is written last. On ``gs://`` a rename is copy + delete, so the manifest, not the
rename, is what makes a commit visible to readers that follow the contract
(``newsflow.transforms.catalog``). Only Parquet files and ``_``/``.``-prefixed entries live inside
``articles/``, so pyarrow, DuckDB and pandas can open it directly as a hive-partitioned dataset.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow

from newsflow.schemas import (
    ARTICLE_SCHEMA,
    SCHEMA_VERSION,
    UNDATED_PARTITION,
    Article,
    DeadLetter,
    Skip,
)

ARTICLES_DIR = "articles"
COMMITS_DIR = "_commits"
DEAD_LETTER_DIR = "dead_letter"
SKIPPED_DIR = "skipped"
RUNS_DIR = "runs"

_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_DT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")
_ROW_GROUP_ROWS = 10_000


def join(base: str, *parts: str) -> str:
    """Join path parts for local paths and ``gs://`` URLs alike."""
    return FileSystems.join(base, *parts) if parts else base


def safe_lang(language: str | None) -> str:
    """The ``lang=`` partition value: a language code, or ``und`` for anything else."""
    language = (language or "").lower()
    return language if _LANG.match(language) else "und"


def partition_values(article: Article) -> tuple[str, str]:
    """``(dt, lang)``: dt is the UTC publication date; undated rows use the hive null value."""
    dt = article.published_at.astimezone(UTC).strftime("%Y-%m-%d") if article.published_at \
        else UNDATED_PARTITION
    return dt, safe_lang(article.language)


def partition_dir(dt: str, lang: str) -> str:
    """``dt=.../lang=...``; refuses values that are not a date/null marker and a language code."""
    if not (_DT.match(dt) or dt == UNDATED_PARTITION):
        raise ValueError(f"bad dt partition value {dt!r}")
    if safe_lang(lang) != lang:
        raise ValueError(f"bad lang partition value {lang!r}")
    return f"dt={dt}/lang={lang}"


def check_commit_id(commit_id: str) -> str:
    """Commit ids become file names: only a safe character set is accepted."""
    if not _SAFE_ID.match(commit_id):
        raise ValueError(f"unsafe commit id {commit_id!r}")
    return commit_id


def commit_id_for_inputs(prefix: str, inputs: Iterable[str], settings: str = "") -> str:
    """A deterministic id for a run over a set of inputs: same inputs, same files."""
    digest = hashlib.sha256("\n".join(sorted(inputs)).encode() + b"\0" + settings.encode())
    return check_commit_id(f"{prefix}-{digest.hexdigest()[:16]}")


def window_commit_id(base: str, window) -> str:
    """Per-window commit ids for streaming; the global window keeps the base id."""
    if isinstance(window, GlobalWindow):
        return base
    start = window.start.to_utc_datetime().strftime("%Y%m%dT%H%M%S")
    return check_commit_id(f"{base}-w{start}")


def article_to_row(article: Article) -> dict:
    """The Parquet row of an article: exactly the schema's columns."""
    row = {name: getattr(article, name) for name in ARTICLE_SCHEMA.names}
    row["authors"] = list(article.authors)
    row["tags"] = list(article.tags)
    row["versions"] = list(article.versions)
    row["topics"] = list(article.topics) if article.topics is not None else None
    return row


def articles_table(articles: Iterable[Article]) -> pa.Table:
    """Rows sorted by article_id (then ingest/fetch time), so reruns write identical files."""
    ordered = sorted(articles, key=lambda a: (a.article_id, a.source_ref, a.content_hash))
    return pa.Table.from_pylist([article_to_row(a) for a in ordered], schema=ARTICLE_SCHEMA)


def write_bytes_atomic(final_path: str, payload: bytes, mime_type: str) -> int:
    """Write ``payload`` via a dot-prefixed temp file in the final directory and a rename."""
    directory, _, name = final_path.rpartition("/")
    temp_path = f"{directory}/.{name}.tmp-{uuid.uuid4().hex[:12]}"
    with FileSystems.create(temp_path, mime_type=mime_type) as handle:
        handle.write(payload)
    FileSystems.rename([temp_path], [final_path])
    return len(payload)


def write_parquet_atomic(final_path: str, table: pa.Table) -> int:
    """Write ``table`` as Parquet to ``final_path`` via a dot-prefixed temp file and a rename."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", row_group_size=_ROW_GROUP_ROWS)
    return write_bytes_atomic(final_path, buffer.getvalue(), "application/octet-stream")


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


def manifest_path(articles_dir: str, commit_id: str) -> str:
    return join(articles_dir, COMMITS_DIR, f"{check_commit_id(commit_id)}.json")


def write_manifest(articles_dir: str, manifest: dict) -> str:
    """Write a commit manifest: the commit point, so it must be the last write of a commit."""
    path = manifest_path(articles_dir, manifest["commit_id"])
    write_json_atomic(path, manifest)
    return path


def read_manifests(articles_dir: str) -> list[dict]:
    """All commit manifests, oldest first (``written_at``, then ``commit_id``)."""
    manifests = read_json_files(join(articles_dir, COMMITS_DIR, "*.json"))
    return sorted(manifests, key=lambda m: (m["written_at"], m["commit_id"]))


def build_manifest(commit_id: str, kind: str, files: list[dict], window=None,
                   run: dict | None = None, replaces: Iterable[str] = ()) -> dict:
    files = sorted(files, key=lambda f: f["path"])
    window_info = None
    if window is not None and not isinstance(window, GlobalWindow):
        window_info = {"start": window.start.to_utc_datetime().replace(tzinfo=UTC).isoformat(),
                       "end": window.end.to_utc_datetime().replace(tzinfo=UTC).isoformat()}
    return {"commit_id": commit_id, "kind": kind, "schema_version": SCHEMA_VERSION,
            "written_at": datetime.now(UTC).isoformat(), "rows": sum(f["rows"] for f in files),
            "files": files, "replaces": sorted(replaces), "window": window_info,
            "run": run or {}}


def remove_stale_files(articles_dir: str, commit_id: str, keep: Iterable[str]) -> list[str]:
    """Delete this commit's files from an earlier attempt that the new manifest does not list.

    Only files named after ``commit_id`` are candidates, so another run's files are never
    touched.
    """
    pattern = join(articles_dir, "dt=*", "lang=*", f"part-{check_commit_id(commit_id)}-*.parquet")
    keep_paths = {join(articles_dir, path) for path in keep}
    stale = [m.path for m in FileSystems.match([pattern])[0].metadata_list
             if m.path not in keep_paths]
    if stale:
        FileSystems.delete(stale)
    return stale


class _WritePartitionFileFn(beam.DoFn):
    """Writes one Parquet file per (partition, shard) group and emits its manifest entry."""

    def __init__(self, articles_dir: str, base_commit_id: str):
        self._articles_dir = articles_dir
        self._base_commit_id = base_commit_id
        self._files = Metrics.counter("sinks", "files_written")
        self._rows = Metrics.counter("sinks", "written")

    def process(self, element, window=beam.DoFn.WindowParam):
        (dt, lang, shard), articles = element
        commit_id = window_commit_id(self._base_commit_id, window)
        relative = f"{partition_dir(dt, lang)}/part-{commit_id}-{shard:05d}.parquet"
        table = articles_table(articles)
        size = write_parquet_atomic(join(self._articles_dir, relative), table)
        self._files.inc()
        self._rows.inc(table.num_rows)
        yield {"path": relative, "dt": dt, "lang": lang, "rows": table.num_rows, "bytes": size}


class _CommitFn(beam.DoFn):
    """Writes the commit manifest once every file of the commit exists, then drops stale files."""

    def __init__(self, articles_dir: str, base_commit_id: str, kind: str, run_info: dict):
        self._articles_dir = articles_dir
        self._base_commit_id = base_commit_id
        self._kind = kind
        self._run_info = run_info
        self._commits = Metrics.counter("sinks", "commits")

    def process(self, element, window=beam.DoFn.WindowParam):
        _, file_lists = element
        files = [f for files in file_lists for f in files]
        commit_id = window_commit_id(self._base_commit_id, window)
        manifest = build_manifest(commit_id, self._kind, files, window, self._run_info)
        write_manifest(self._articles_dir, manifest)
        remove_stale_files(self._articles_dir, commit_id, [f["path"] for f in files])
        self._commits.inc()
        yield manifest


class WriteArticles(beam.PTransform):
    """Write articles as hive partitions and commit them with a manifest per run or window.

    In the global window (batch) one commit covers the whole run; with windowing (streaming)
    every window is its own commit, named after the window start.
    """

    def __init__(self, output: str, commit_id: str, kind: str, shards: int = 1,
                 run_info: dict | None = None):
        super().__init__()
        self._articles_dir = join(output, ARTICLES_DIR)
        self._commit_id = check_commit_id(commit_id)
        self._kind = kind
        self._shards = max(1, shards)
        self._run_info = run_info or {}

    def expand(self, articles):
        shards = self._shards

        def key(article: Article):
            dt, lang = partition_values(article)
            shard = int(article.article_id[:8], 16) % shards if shards > 1 else 0
            return (dt, lang, shard), article

        files = (articles
                 | "KeyByPartition" >> beam.Map(key)
                 | "GroupByPartition" >> beam.GroupByKey()
                 | "WritePartitionFiles" >> beam.ParDo(
                     _WritePartitionFileFn(self._articles_dir, self._commit_id)))
        return (files
                | "CollectFiles" >> beam.combiners.ToList().without_defaults()
                | "KeyCommit" >> beam.Map(lambda file_list: (None, file_list))
                | "GroupCommit" >> beam.GroupByKey()
                | "WriteManifest" >> beam.ParDo(
                    _CommitFn(self._articles_dir, self._commit_id, self._kind, self._run_info)))


def dead_letter_to_json(letter: DeadLetter) -> dict:
    return dataclasses.asdict(letter)


class _WriteDeadLettersFn(beam.DoFn):
    def __init__(self, dead_dir: str, base_commit_id: str):
        self._dead_dir = dead_dir
        self._base_commit_id = base_commit_id
        self._written = Metrics.counter("sinks", "dead_letters_written")

    def process(self, element, window=beam.DoFn.WindowParam):
        shard, letters = element
        commit_id = window_commit_id(self._base_commit_id, window)
        ordered = sorted(letters, key=lambda d: (d.source_ref, d.stage, d.reason, d.error))
        payload = "".join(json.dumps(dead_letter_to_json(d), sort_keys=True) + "\n"
                          for d in ordered).encode()
        path = join(self._dead_dir, f"dead-{commit_id}-{shard:05d}.jsonl")
        write_bytes_atomic(path, payload, "application/x-ndjson")
        self._written.inc(len(ordered))
        yield path


class WriteDeadLetters(beam.PTransform):
    """Dead letters as JSONL under ``OUTPUT/dead_letter/``, one file per commit (and shard)."""

    def __init__(self, output: str, commit_id: str, shards: int = 1):
        super().__init__()
        self._dead_dir = join(output, DEAD_LETTER_DIR)
        self._commit_id = check_commit_id(commit_id)
        self._shards = max(1, shards)

    def expand(self, dead_letters):
        shards = self._shards

        def key(letter: DeadLetter):
            digest = hashlib.sha256(letter.source_ref.encode()).digest()
            return int.from_bytes(digest[:4], "big") % shards, letter

        return (dead_letters
                | "KeyByShard" >> beam.Map(key)
                | "GroupByShard" >> beam.GroupByKey()
                | "WriteFiles" >> beam.ParDo(
                    _WriteDeadLettersFn(self._dead_dir, self._commit_id)))


class _WriteWindowFileFn(beam.DoFn):
    def __init__(self, directory: str, base_commit_id: str, name: str, render, mime_type: str):
        self._directory = directory
        self._base_commit_id = base_commit_id
        self._name = name
        self._render = render
        self._mime_type = mime_type

    def process(self, element, window=beam.DoFn.WindowParam):
        _, elements = element
        commit_id = window_commit_id(self._base_commit_id, window)
        path = join(self._directory, self._name.format(commit_id=commit_id))
        write_bytes_atomic(path, self._render(list(elements)), self._mime_type)
        yield path


class WriteWindowFile(beam.PTransform):
    """All elements of a window (of the run, in batch) into one file, written atomically.

    ``name`` is a template with ``{commit_id}``; ``render(elements) -> bytes`` must be a
    module-level function (it is pickled with the DoFn).
    """

    def __init__(self, directory: str, commit_id: str, name: str, render,
                 mime_type: str = "application/octet-stream"):
        super().__init__()
        self._fn = _WriteWindowFileFn(directory, check_commit_id(commit_id), name, render,
                                      mime_type)

    def expand(self, pcoll):
        return (pcoll
                | "KeyWindow" >> beam.Map(lambda element: (None, element))
                | "GroupWindow" >> beam.GroupByKey()
                | "WriteFile" >> beam.ParDo(self._fn))


def skip_to_json(skip: Skip) -> dict:
    """One skipped line: stage, reason, source_ref, url; with kept raw input also ``html`` or
    ``text`` (so the line is itself a backfill JSONL record) and ``raw_truncated``."""
    line = {"stage": skip.stage, "reason": skip.reason, "source_ref": skip.source_ref,
            "url": skip.url}
    if skip.raw is not None:
        line[skip.raw_kind or "text"] = skip.raw
        line["raw_truncated"] = skip.raw_truncated
    return line


def skips_to_jsonl(skips) -> bytes:
    """Skips as JSON lines, ordered by source so a rerun writes the same bytes."""
    ordered = sorted(skips, key=lambda s: (s.source_ref, s.stage, s.reason, s.url or ""))
    return "".join(json.dumps(skip_to_json(s), sort_keys=True, ensure_ascii=False) + "\n"
                   for s in ordered).encode()


class WriteSkipped(beam.PTransform):
    """Skips as JSONL under ``OUTPUT/skipped/skipped-<commit_id>.jsonl``, one file per commit:
    every skipped record can be listed and, with ``--keep_skipped_raw``, replayed
    (``newsflow backfill --input 'OUTPUT/skipped/*.jsonl'``)."""

    def __init__(self, output: str, commit_id: str):
        super().__init__()
        self._directory = join(output, SKIPPED_DIR)
        self._commit_id = check_commit_id(commit_id)

    def expand(self, skips):
        return skips | "WriteFile" >> WriteWindowFile(
            self._directory, self._commit_id, "skipped-{commit_id}.jsonl", skips_to_jsonl,
            "application/x-ndjson")
