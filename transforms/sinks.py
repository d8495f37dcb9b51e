"""Article files committed to the Delta table; dead letters; per-window files.

Layout under ``OUTPUT``::

    articles/                                  # the Delta table (newsflow.transforms.table)
        _delta_log/                            # the commits: the only source of truth
        dt=YYYY-MM-DD/lang=xx/part-<commit_id>-<attempt>-<shard>.parquet
        dt=__HIVE_DEFAULT_PARTITION__/lang=xx/...   # undated rows (null dt)
    dead_letter/dead-<commit_id>-<shard>.jsonl
    skipped/skipped-<commit_id>.jsonl          # every skip: stage, reason, source_ref, url
    runs/<commit_id>.json                      # the run summary (read = written + ... )

Workers write the article files in parallel; one step per run (batch) or window (streaming)
commits them all in one Delta transaction. Until then no reader sees them, and files of a run
that died are never referenced (``newsflow vacuum`` deletes them). Everything beside the table
is written whole (temp file + rename) and named after the commit, so a re-run replaces it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import UTC

import apache_beam as beam
import pyarrow as pa
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow, GlobalWindows

from newsflow.schemas import ARTICLE_SCHEMA, Article, DeadLetter, Skip, single_skips
from newsflow.schemas.catalog import DataFile
from newsflow.transforms.files import (  # noqa: F401 - the sinks' file helpers, re-exported
    join,
    read_json_files,
    write_bytes_atomic,
    write_json_atomic,
    write_parquet_atomic,
)
from newsflow.transforms.stage import StageClock
from newsflow.transforms.table import (  # noqa: F401 - ARTICLES_DIR re-exported
    ARTICLES_DIR,
    COMMIT_COLUMN,
    commit_files,
    now_ms,
    partition_path,
    table_uri,
    write_data_file,
)

DEAD_LETTER_DIR = "dead_letter"
SKIPPED_DIR = "skipped"
RUNS_DIR = "runs"

_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
_DT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")


def safe_lang(language: str | None) -> str:
    """The ``lang`` partition value: a language code, or ``und`` for anything else."""
    language = (language or "").lower()
    return language if _LANG.match(language) else "und"


def partition_values(article: Article) -> tuple[str | None, str]:
    """``(dt, lang)``: dt is the UTC publication date, None (the null partition) if undated."""
    dt = article.published_at.astimezone(UTC).strftime("%Y-%m-%d") if article.published_at \
        else None
    return dt, safe_lang(article.language)


def partition_dir(dt: str | None, lang: str) -> str:
    """``dt=.../lang=...``; refuses values that are not a date (or None) and a language code."""
    if dt is not None and not _DT.match(dt):
        raise ValueError(f"bad dt partition value {dt!r}")
    if safe_lang(lang) != lang:
        raise ValueError(f"bad lang partition value {lang!r}")
    return partition_path(dt, lang)


def check_commit_id(commit_id: str) -> str:
    """Commit ids become file names: only a safe character set is accepted."""
    if not _SAFE_ID.match(commit_id):
        raise ValueError(f"unsafe commit id {commit_id!r}")
    return commit_id


def commit_id_for_inputs(prefix: str, inputs: Iterable[str], settings: str = "") -> str:
    """A deterministic id for a run over a set of inputs: a re-run replaces its own rows."""
    digest = hashlib.sha256("\n".join(sorted(inputs)).encode() + b"\0" + settings.encode())
    return check_commit_id(f"{prefix}-{digest.hexdigest()[:16]}")


def window_commit_id(base: str, window) -> str:
    """Per-window commit ids for streaming; the global window keeps the base id."""
    if isinstance(window, GlobalWindow):
        return base
    start = window.start.to_utc_datetime().strftime("%Y%m%dT%H%M%S")
    return check_commit_id(f"{base}-w{start}")


def window_version(window, attempt: int) -> int:
    """The app-transaction version of a commit: the window start in epoch seconds (stream),
    the run's attempt (batch: a re-run is a new attempt and replaces the old one)."""
    if isinstance(window, GlobalWindow):
        return attempt
    return int(window.start.micros // 1_000_000)


def article_to_row(article: Article, commit_id: str | None = None) -> dict:
    """The Parquet row of an article: exactly the schema's columns."""
    row = {name: getattr(article, name) for name in ARTICLE_SCHEMA.names
           if name != COMMIT_COLUMN}
    row["authors"] = list(article.authors)
    row["tags"] = list(article.tags)
    row["versions"] = list(article.versions)
    row["topics"] = list(article.topics) if article.topics is not None else None
    row[COMMIT_COLUMN] = commit_id
    return row


def articles_table(articles: Iterable[Article], commit_id: str | None = None) -> pa.Table:
    """Rows sorted by article_id (then source, content), so reruns write identical files."""
    ordered = sorted(articles, key=lambda a: (a.article_id, a.source_ref, a.content_hash))
    return pa.Table.from_pylist([article_to_row(a, commit_id) for a in ordered],
                                schema=ARTICLE_SCHEMA)


def partition_key(article: Article, shards: int = 1) -> tuple[str | None, str, int]:
    """``(dt, lang, shard)``: the file an article goes to within its commit."""
    dt, lang = partition_values(article)
    return dt, lang, (int(article.article_id[:8], 16) % shards if shards > 1 else 0)


def write_partition_file(uri: str, commit_id: str, attempt: int,
                         key: tuple[str | None, str, int], articles: Iterable[Article]) -> DataFile:
    """Write one partition's articles of a commit as a Parquet file of the table folder."""
    dt, lang, shard = key
    relative = f"{partition_dir(dt, lang)}/part-{commit_id}-{attempt:x}-{shard:05d}.parquet"
    table = articles_table(articles, commit_id)
    size, stats = write_data_file(uri, relative, table)
    return DataFile(relative, dt, lang, table.num_rows, size, stats)


def write_article_files(uri: str, commit_id: str, attempt: int, articles: Iterable[Article],
                        shards: int = 1) -> list[DataFile]:
    """All files of one commit, written in this process (what ``WriteArticles`` spreads over
    workers); commit them with ``newsflow.transforms.table.commit_files``."""
    groups: dict[tuple, list[Article]] = {}
    for article in articles:
        groups.setdefault(partition_key(article, shards), []).append(article)
    return [write_partition_file(uri, commit_id, attempt, key, members)
            for key, members in groups.items()]


class _WritePartitionFileFn(beam.DoFn):
    """Writes one Parquet file per (partition, shard) group; emits it as a :class:`DataFile`."""

    def __init__(self, uri: str, base_commit_id: str, attempt: int):
        self._uri = uri
        self._base_commit_id = base_commit_id
        self._attempt = attempt
        self._files = Metrics.counter("sinks", "files_written")
        self._rows = Metrics.counter("sinks", "written")
        self._clock = StageClock("sinks")

    def process(self, element, window=beam.DoFn.WindowParam):
        key, articles = element
        with self._clock.timing():
            data_file = write_partition_file(
                self._uri, window_commit_id(self._base_commit_id, window), self._attempt, key,
                articles)
        self._files.inc()
        self._rows.inc(data_file.rows)
        yield data_file


class _CommitFn(beam.DoFn):
    """Commits every file of a run or window in one Delta transaction, exactly once."""

    def __init__(self, uri: str, base_commit_id: str, attempt: int, replace: bool,
                 info: dict):
        self._uri = uri
        self._base_commit_id = base_commit_id
        self._attempt = attempt
        self._replace = replace
        self._info = info
        self._commits = Metrics.counter("sinks", "commits")
        self._repeated = Metrics.counter("sinks", "commits_already_done")
        self._replaced = Metrics.counter("sinks", "rows_replaced")

    def process(self, element, window=beam.DoFn.WindowParam):
        _, file_lists = element
        files = [f for files in file_lists for f in files]
        commit_id = window_commit_id(self._base_commit_id, window)
        windowed = not isinstance(window, GlobalWindow)
        info = dict(self._info)
        if windowed:
            info["window"] = [window.start.to_utc_datetime().isoformat() + "Z",
                              window.end.to_utc_datetime().isoformat() + "Z"]
        result = commit_files(self._uri, files, commit_id=commit_id,
                              app_id=self._base_commit_id,
                              app_version=window_version(window, self._attempt),
                              replace=self._replace, info=info)
        if result.already_committed:
            self._repeated.inc()
        elif result.table_version is not None:
            self._commits.inc()
        self._replaced.inc(result.replaced_rows)
        yield result


class WriteArticles(beam.PTransform):
    """Write articles as Parquet files and commit them to the Delta table ``OUTPUT/articles``.

    In the global window (batch) one commit covers the whole run and, with ``replace``,
    removes the run's earlier rows (same ``commit_id``) in the same transaction; with
    windowing (streaming) every window is its own commit, named after the window start.
    ``attempt`` tells this execution's files from an earlier one's (default: now, in ms).
    """

    def __init__(self, output: str, commit_id: str, kind: str, shards: int = 1,
                 run_info: dict | None = None, replace: bool = False,
                 attempt: int | None = None):
        super().__init__()
        self._uri = table_uri(output)
        self._commit_id = check_commit_id(commit_id)
        self._shards = max(1, shards)
        self._attempt = attempt if attempt is not None else now_ms()
        self._replace = replace
        self._info = {"kind": kind, **(run_info or {})}

    def expand(self, articles):
        shards = self._shards
        files = (articles
                 | "KeyByPartition" >> beam.Map(lambda a: (partition_key(a, shards), a))
                 | "GroupByPartition" >> beam.GroupByKey()
                 | "WritePartitionFiles" >> beam.ParDo(
                     _WritePartitionFileFn(self._uri, self._commit_id, self._attempt)))
        collect = beam.combiners.ToList()
        if not isinstance(files.windowing.windowfn, GlobalWindows):
            collect = collect.without_defaults()  # empty windows commit nothing
        return (files
                | "CollectFiles" >> collect
                | "KeyCommit" >> beam.Map(lambda file_list: (None, file_list))
                | "GroupCommit" >> beam.GroupByKey()
                | "Commit" >> beam.ParDo(
                    _CommitFn(self._uri, self._commit_id, self._attempt, self._replace,
                              self._info)))


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
    """Skips (and the skips of SkipBatches) as JSON lines, ordered by source so a rerun writes
    the same bytes."""
    single = [skip for element in skips for skip in single_skips(element)]
    ordered = sorted(single, key=lambda s: (s.source_ref, s.stage, s.reason, s.url or ""))
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
