"""Read archive dumps for backfills: WARC/ARC, JSONL, seed-style text dumps, HTML files.

Every record a reader finds ends as exactly one of :class:`RawRecord` (to be processed),
:class:`Skip` (counted, with a reason) or :class:`DeadLetter` (with the raw input and a
``source_ref`` to replay it). A broken record never stops the file; a broken file never stops
the run.

Gzipped WARC/ARC files are read member by member (so ``source_ref`` offsets can seek). Files
that are one gzip stream, or whose gzip members do not match record boundaries, are detected
on the first anomaly and re-read as one decompressed stream; their offsets are then offsets
into the decompressed data, written ``file@gunzip:OFFSET``.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from newsflow.schemas import DeadLetter, RawRecord, Skip, dead_letter
from newsflow.transforms.charset import decode_document
from newsflow.transforms.dates import parse_iso_datetime
from newsflow.transforms.exchanges import ENTRY_HEADER, record_fields_from_entry
from newsflow.transforms.stage import DEAD, SKIPPED, OutcomeCounters, route

LOG = logging.getLogger(__name__)

FORMATS = ("warc", "arc", "jsonl", "text_dump", "html_file")
#: What format detection says about a file that is none of them but plain text: skipped.
NOT_AN_INPUT = "not_an_input"
RECORDS = "records"

MAX_RECORD_BYTES = 20 * 1024 * 1024  # larger bodies are dead letters, not memory spikes
_GZIP_MAGIC = b"\x1f\x8b"
_TRAILING_SLACK = 4  # a few stray newline bytes after the last record are harmless
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_DUMP_DATE = re.compile(r"^\s?date (\d{4}-\d{2}-\d{2}) ")
_EXTENSIONS = (
    (".warc.gz", "warc"), (".warc", "warc"), (".arc.gz", "arc"), (".arc", "arc"),
    (".jsonl.gz", "jsonl"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json.gz", "jsonl"),
    (".html.gz", "html_file"), (".htm.gz", "html_file"), (".html", "html_file"),
    (".htm", "html_file"), (".txt", "text_dump"),
)

Outcome = RawRecord | Skip | DeadLetter


# ---------------------------------------------------------------------------------------------
# Format detection


def format_from_name(path: str) -> str | None:
    lower = path.lower()
    for suffix, fmt in _EXTENSIONS:
        if lower.endswith(suffix):
            return fmt
    return None


def _plain_head(head: bytes) -> bytes | None:
    """A file's first bytes, gunzipped when they are gzip (None: a broken gzip head)."""
    if not head.startswith(_GZIP_MAGIC):
        return head
    try:
        return zlib.decompressobj(wbits=31).decompress(head, 4096)
    except zlib.error:
        return None


def sniff_format(head: bytes) -> str | None:
    """Guess a format from a file's first bytes (decompressed when gzipped)."""
    head = _plain_head(head)
    if head is None:
        return None
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = stripped[:200].lower()
    if stripped.startswith(b"WARC/"):
        return "warc"
    if stripped.startswith(b"filedesc://"):
        return "arc"
    if stripped.startswith(b"{"):
        return "jsonl"
    if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<!--", b"<meta")):
        return "html_file"
    if b"\x00" in head[:1024]:
        return None
    try:
        head[:1024].decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < 1020:  # an undecodable byte that is not just a cut multi-byte char
            return None
    return "text_dump"


def detect_format(path: str, head: bytes) -> str | None:
    """The extension decides; content sniffing covers unknown or misleading names (``.bad``).

    Sniffed plain text is a text dump only in the dump's shape (a leading `` date YYYY-MM-DD ``):
    a README or LICENSE that a glob happens to match is :data:`NOT_AN_INPUT`, a counted skip.
    """
    fmt = format_from_name(path) or sniff_format(head)
    if fmt == "text_dump" and format_from_name(path) is None \
            and not _TEXT_DUMP_DATE.match(_plain_head(head).decode("utf-8", "replace")):
        return NOT_AN_INPUT
    return fmt


# ---------------------------------------------------------------------------------------------
# WARC / ARC


class _Anomaly(Exception):
    """A record cut short: in a gzip file, re-read it as one decompressed stream."""

    def __init__(self, message: str, partial_body: bytes = b""):
        super().__init__(message)
        self.partial_body = partial_body


def _header(headers, name: str) -> str | None:
    return headers.get_header(name) if headers is not None else None


def _target_uri(record) -> str | None:
    uri = _header(record.rec_headers, "WARC-Target-URI")
    if uri:
        uri = uri.strip().strip("<>")  # wget wraps URIs in <...>
    return uri or None


def _record_outcome(record, offset_ref: str, source_format: str) -> Outcome:
    """Turn one warcio record into a RawRecord, a Skip or a DeadLetter."""
    rec_type = record.rec_type
    url = _target_uri(record)
    if rec_type == "revisit":
        return Skip("read", "revisit", offset_ref, url)
    if rec_type not in ("response", "resource"):
        return Skip("read", "not_response", offset_ref, url)
    if url and not url.lower().startswith(("http://", "https://")):
        return Skip("read", "not_http", offset_ref, url)
    http = record.http_headers if rec_type == "response" else None
    if rec_type == "response":
        status = http.get_statuscode() if http is not None else None
        if not status or not status.isdigit():
            body = record.raw_stream.read(MAX_RECORD_BYTES)
            return dead_letter("read", "corrupt_record", "response without an HTTP status line",
                               offset_ref, url, body)
        if status != "200":
            return Skip("read", "http_status", offset_ref, url)
    content_type = (_header(http, "Content-Type") if http is not None
                    else _header(record.rec_headers, "Content-Type")) or ""
    body = record.content_stream().read(MAX_RECORD_BYTES + 1)
    if len(body) <= MAX_RECORD_BYTES:
        record.raw_stream.read()  # drain: only a block cut short leaves its limit unused
        if record.raw_stream.limit > 0:
            raise _Anomaly(f"record block ends {record.raw_stream.limit} bytes before its "
                           "declared length", body)
    if len(body) > MAX_RECORD_BYTES:
        return dead_letter("read", "too_large", f"body over {MAX_RECORD_BYTES} bytes",
                           offset_ref, url, body[:65536])
    mime = content_type.split(";")[0].strip().lower()
    identified = (_header(record.rec_headers, "WARC-Identified-Payload-Type") or "").lower()
    looks_html = sniff_format(body[:512]) == "html_file"
    if not (mime in _HTML_TYPES or identified in _HTML_TYPES or (not mime and looks_html)):
        return Skip("read", "not_html", offset_ref, url)
    problems = getattr(getattr(record, "digest_checker", None), "problems", None)
    if problems:
        return dead_letter("read", "digest_mismatch", "; ".join(problems), offset_ref, url, body)
    text, _charset = decode_document(body, content_type)
    return RawRecord(url=url, body=text, body_kind="html", source_format=source_format,
                     source_ref=offset_ref,
                     fetched_at=parse_iso_datetime(_header(record.rec_headers, "WARC-Date")),
                     **record_fields_from_entry(_header(record.rec_headers, ENTRY_HEADER)))


def _iterate_archive(stream, path: str, source_format: str, offset_prefix: str,
                     strict: bool) -> Iterator[Outcome]:
    from warcio.archiveiterator import ArchiveIterator

    iterator = ArchiveIterator(stream, arc2warc=True, check_digests=True)
    for record in iterator:
        offset_ref = f"{path}@{offset_prefix}{iterator.offset}"  # not get_record_offset():
        # that one reads the record to its end before we can
        try:
            yield _record_outcome(record, offset_ref, source_format)
        except _Anomaly as exc:
            if strict:
                raise
            yield dead_letter("read", "truncated_record", str(exc), offset_ref,
                              _target_uri(record), exc.partial_body)
    if hasattr(stream, "tell") and stream.tell() - iterator.offset > _TRAILING_SLACK:
        # warcio ends quietly on a record cut off inside its last gzip member or headers
        message = f"{stream.tell() - iterator.offset} bytes at the end hold no complete record"
        if strict:
            raise _Anomaly(message)
        yield dead_letter("read", "truncated_archive", message,
                          f"{path}@{offset_prefix}{iterator.offset}")


def iter_archive_records(path: str, opener: Callable[[str], io.BufferedIOBase],
                         source_format: str, is_gzip: bool) -> Iterator[Outcome]:
    """All outcomes of one WARC or ARC file; ``is_gzip`` from the file's first bytes."""
    from warcio.exceptions import ArchiveLoadFailed

    errors = (ArchiveLoadFailed, EOFError, OSError, zlib.error, ValueError, _Anomaly)
    emitted = 0
    try:
        with opener(path) as raw:
            for outcome in _iterate_archive(raw, path, source_format, "", strict=is_gzip):
                emitted += 1
                yield outcome
        return
    except errors as exc:
        if not is_gzip:
            yield dead_letter("read", "corrupt_archive", exc, f"{path}@record{emitted}")
            return
        LOG.warning("%s: gzip members do not match records (%s); re-reading as one stream",
                    path, type(exc).__name__)
    seen = 0
    try:
        with opener(path) as raw, gzip.GzipFile(fileobj=raw) as whole:
            for outcome in _iterate_archive(whole, path, source_format, "gunzip:", strict=False):
                seen += 1
                if seen > emitted:
                    yield outcome
            whole.read()  # raises EOFError when the last gzip member was cut off
    except errors as exc:
        reason = "truncated_archive" if isinstance(exc, EOFError) else "corrupt_archive"
        yield dead_letter("read", reason, exc, f"{path}@gunzip:record{seen}")


# ---------------------------------------------------------------------------------------------
# JSONL, text dumps, HTML files


def _as_tags(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list | tuple):
        raise ValueError("tags must be a list or a comma-separated string")
    return tuple(str(tag) for tag in value)


def jsonl_record(line: str, source_ref: str) -> Outcome:
    """One JSONL line: ``url`` and ``html`` or ``text`` required; ``title``, ``published_at``,
    ``fetched_at`` (ISO 8601) and ``tags`` optional."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return dead_letter("read", "bad_json", exc, source_ref, raw=line)
    if not isinstance(data, dict):
        return dead_letter("read", "invalid_record", "line is not a JSON object", source_ref,
                           raw=line)
    url, html, text = data.get("url"), data.get("html"), data.get("text")
    body, kind = (html, "html") if isinstance(html, str) and html.strip() else (text, "text")
    if not isinstance(url, str) or not url.strip() or not isinstance(body, str) \
            or not body.strip():
        return dead_letter("read", "invalid_record", "needs a `url` and a non-empty `html` or "
                           "`text` string", source_ref, raw=line)
    try:
        published = parse_iso_datetime(data.get("published_at"), strict=True)
        fetched = parse_iso_datetime(data.get("fetched_at"), strict=True)
        tags = _as_tags(data.get("tags"))
    except ValueError as exc:
        return dead_letter("read", "invalid_record", exc, source_ref, url, line)
    title = data.get("title") if isinstance(data.get("title"), str) else None
    return RawRecord(url=url.strip(), body=body, body_kind=kind, source_format="jsonl",
                     source_ref=source_ref, fetched_at=fetched, published_at=published,
                     published_source="archive_record" if published else None, title=title,
                     tags=tags)


def text_dump_record(text: str, source_ref: str) -> RawRecord:
    """A seed-style text dump: an optional `` date YYYY-MM-DD `` prefix, then the body."""
    match = _TEXT_DUMP_DATE.match(text)
    published = None
    if match:
        published = datetime.strptime(match.group(1), "%Y-%m-%d").replace(tzinfo=UTC)
        text = text[match.end():]
    return RawRecord(url=None, body=text, body_kind="text", source_format="text_dump",
                     source_ref=source_ref, published_at=published,
                     published_source="text_dump_prefix" if published else None)


def _read_capped(handle, path: str) -> bytes:
    data = handle.read(MAX_RECORD_BYTES + 1)
    if len(data) > MAX_RECORD_BYTES:
        raise OverflowError(f"{path} is over {MAX_RECORD_BYTES} bytes")
    return data


def _decompressed(handle):
    """Transparently gunzip a handle whose content starts with the gzip magic."""
    head = handle.peek(2)[:2] if hasattr(handle, "peek") else b""
    return gzip.GzipFile(fileobj=handle) if head == _GZIP_MAGIC else handle


def iter_file_records(path: str, fmt: str | None = None,
                      opener: Callable[[str], io.BufferedIOBase] | None = None
                      ) -> Iterator[Outcome]:
    """Every outcome of one input file; ``fmt`` None means detect it."""
    opener = opener or open_raw
    try:
        with opener(path) as handle:
            head = handle.read(4096)
        fmt = fmt or detect_format(path, head)
        if fmt is None:
            yield dead_letter("read", "unknown_format", "not WARC, ARC, JSONL, HTML or text",
                              path, raw=head)
        elif fmt == NOT_AN_INPUT:
            yield Skip("read", NOT_AN_INPUT, path)
        elif fmt in ("warc", "arc") and sniff_format(head) not in ("warc", "arc"):
            yield dead_letter("read", "corrupt_archive", "does not start with a WARC or ARC "
                              "record header", path, raw=head)
        elif fmt in ("warc", "arc"):
            yield from iter_archive_records(path, opener, fmt, head[:2] == _GZIP_MAGIC)
        elif fmt == "jsonl":
            with opener(path) as raw, _decompressed(raw) as handle:
                for number, line in enumerate(io.TextIOWrapper(handle, "utf-8", "replace"), 1):
                    if line.strip():
                        yield jsonl_record(line.rstrip("\r\n"), f"{path}:{number}")
        else:
            with opener(path) as raw, _decompressed(raw) as handle:
                data = _read_capped(handle, path)
            if fmt == "html_file":
                text, _ = decode_document(data)
                yield RawRecord(url=None, body=text, body_kind="html", source_format="html_file",
                                source_ref=path)
            else:
                text, _ = decode_document(data, "text/plain; charset=utf-8")
                yield text_dump_record(text, path)
    except OverflowError as exc:
        yield dead_letter("read", "too_large", exc, path)
    except (OSError, EOFError, zlib.error, UnicodeError) as exc:
        yield dead_letter("read", "unreadable_file", exc, path)


def open_raw(path: str) -> io.BufferedReader:
    """Open a local or ``gs://`` file as raw bytes; we handle gzip ourselves."""
    return io.BufferedReader(FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED),
                             buffer_size=1 << 20)


# ---------------------------------------------------------------------------------------------
# Beam


def note_progress(progress_dir: str, path: str, records: int) -> None:
    """One small file per input file done: a local run's driver sums them to show progress."""
    import hashlib
    import os

    name = hashlib.sha1(path.encode()).hexdigest()
    temp = os.path.join(progress_dir, f".{name}.tmp")
    with open(temp, "w") as handle:
        handle.write(str(records))
    os.replace(temp, os.path.join(progress_dir, name))


def read_progress(progress_dir: str) -> tuple[int, int]:
    """``(files done, records read)`` noted so far under ``progress_dir``."""
    import os

    files = records = 0
    for name in os.listdir(progress_dir):
        if name.startswith("."):
            continue
        try:
            with open(os.path.join(progress_dir, name)) as handle:
                records += int(handle.read() or 0)
            files += 1
        except (OSError, ValueError):
            continue
    return files, records


class _ReadArchiveFileFn(beam.DoFn):
    """Reads one matched file; outcomes go to the records, skipped or dead-letter output."""

    def __init__(self, fmt: str | None, progress_dir: str | None = None):
        self._fmt = fmt
        self._progress_dir = progress_dir
        self._read = Metrics.counter("archives", "read")
        self._files = Metrics.counter("archives", "files_done")
        self._counters = OutcomeCounters("archives")

    def process(self, path: str):
        started, count = time.monotonic(), 0
        for outcome in iter_file_records(path, self._fmt):
            count += 1
            self._read.inc()
            yield route(outcome, self._counters)
        self._files.inc()
        if self._progress_dir:
            note_progress(self._progress_dir, path, count)
        elapsed = time.monotonic() - started
        LOG.info("read %s: %d records in %.1fs (%.0f/s)", path, count, elapsed,
                 count / elapsed if elapsed else 0.0)


class ReadArchives(beam.PTransform):
    """Match globs (local or ``gs://``), spread files over workers, read every record.

    Returns a dict of PCollections: ``records`` (RawRecord), ``skipped`` (Skip) and
    ``dead_letters`` (DeadLetter). Files are always spread over workers; ``reshuffle_records``
    also spreads the records of each file, which pays on a cluster with few, large files but
    costs more than it gains on a local runner, where every shuffle passes through one process.
    """

    def __init__(self, patterns: list[str], fmt: str | None = None,
                 progress_dir: str | None = None, reshuffle_records: bool = True):
        super().__init__()
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
        self._patterns = list(patterns)
        self._fmt = fmt
        self._progress_dir = progress_dir
        self._reshuffle_records = reshuffle_records

    def expand(self, pbegin):
        outputs = (pbegin
                   | "InputPatterns" >> beam.Create(self._patterns)
                   | "MatchFiles" >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW)
                   | "FilePaths" >> beam.Map(lambda metadata: metadata.path)
                   | "DistinctFiles" >> beam.Distinct()  # overlapping globs read a file once
                   | "ReadFiles" >> beam.ParDo(
                       _ReadArchiveFileFn(self._fmt, self._progress_dir)).with_outputs(
                       SKIPPED, DEAD, main=RECORDS))
        records = outputs[RECORDS]
        if self._reshuffle_records:  # one large WARC file's records spread over workers
            records = records | "ReshuffleRecords" >> beam.Reshuffle()
        return {RECORDS: records, SKIPPED: outputs[SKIPPED], DEAD: outputs[DEAD]}
