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

import dataclasses
import io
import itertools
import json
import logging
import re
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import apache_beam as beam
from apache_beam.io import fileio
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from newsflow.schemas import DeadLetter, RawRecord, ReplayPointer, Skip, dead_letter
from newsflow.schemas.records import MAX_DEAD_LETTER_RAW
from newsflow.transforms.archive_spans import ArchiveSpan, split_archive
from newsflow.transforms.charset import decode_document
from newsflow.transforms.dates import parse_iso_datetime
from newsflow.transforms.exchanges import ENTRY_HEADER, record_fields_from_entry
from newsflow.transforms.stage import (
    DEAD,
    SKIPPED,
    UNEXPECTED_ERROR,
    OutcomeCounters,
    StageClock,
    guarded,
    route,
)

LOG = logging.getLogger(__name__)

FORMATS = ("warc", "arc", "jsonl", "text_dump", "html_file")
#: What format detection says about a file that is none of them but plain text: skipped.
NOT_AN_INPUT = "not_an_input"
RECORDS = "records"

#: One record: a WARC/ARC body, a JSONL line, an HTML or text file. Larger ones are
#: ``too_large`` dead letters (their first MB and a replay pointer), never memory spikes.
MAX_RECORD_BYTES = 20 * 1024 * 1024
_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_TRAILING_SLACK = 4  # a few stray newline bytes after the last record are harmless
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_TEXT_DUMP_DATE = re.compile(r"^\s?date (\d{4}-\d{2}-\d{2}) ")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_EXTENSIONS = (
    (".warc.gz", "warc"), (".warc", "warc"), (".arc.gz", "arc"), (".arc", "arc"),
    (".jsonl.gz", "jsonl"), (".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json.gz", "jsonl"),
    (".html.gz", "html_file"), (".htm.gz", "html_file"), (".html", "html_file"),
    (".htm", "html_file"), (".txt", "text_dump"),
)

Outcome = RawRecord | Skip | DeadLetter
Opener = Callable[[str], io.BufferedIOBase]


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
# Where reading got, what a dead letter can carry


class GunzipStream(io.RawIOBase):
    """The decompressed bytes of a gzip file, every member in order, read in bounded steps.

    Unlike ``gzip.GzipFile`` it never raises on a corrupt or cut-off stream: it delivers every
    byte decoded before the break, then ends, and keeps what went wrong in ``failure``; and it
    knows how far into the stored file decoding got (``stored_good``: exact at member
    boundaries, otherwise where the last block handed to zlib ended). Readers check
    ``failure`` when the stream ends. NUL padding between members is skipped, as gzip does.
    """

    def __init__(self, raw, chunk: int = 64 * 1024):
        self._raw, self._chunk = raw, chunk
        self._input = b""  # compressed bytes read but not yet consumed by zlib
        self._decompressor = None  # set while a member is open
        self._produced = 0
        self.stored_good = raw.tell() if hasattr(raw, "tell") else 0
        self.failure: Exception | None = None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._produced

    def readinto(self, buffer) -> int:
        if self.failure is not None:
            return 0
        try:
            count = self._decode_into(buffer)
        except zlib.error as exc:
            self.failure = exc
            return 0
        self._produced += count
        return count

    def _decode_into(self, buffer) -> int:
        while True:
            if not self._input:
                self._input = self._raw.read(self._chunk)
                if not self._input:
                    if self._decompressor is not None:
                        self.failure = EOFError("the file ends inside a gzip member (cut off)")
                    return 0
            if self._decompressor is None:
                padding = len(self._input) - len(self._input.lstrip(b"\0"))
                self.stored_good += padding
                self._input = self._input[padding:]
                if not self._input:
                    continue
                self._decompressor = zlib.decompressobj(wbits=31)
            data = self._decompressor.decompress(self._input, len(buffer))
            rest = (self._decompressor.unused_data if self._decompressor.eof
                    else self._decompressor.unconsumed_tail)
            self.stored_good += len(self._input) - len(rest)
            self._input = rest
            if self._decompressor.eof:
                self._decompressor = None
            if data:
                buffer[:len(data)] = data
                return len(data)


def gunzip(raw) -> io.BufferedReader:
    return io.BufferedReader(GunzipStream(raw), buffer_size=_CHUNK)


@dataclass
class _Position:
    """How far reading one file got: the last record boundary reached.

    ``offset`` counts bytes of the stored file, or of its decompressed stream when ``gunzip``
    is set (then ``gunzip.stored_good`` says how much of the stored file was decoded). ``end``
    is where the reader's span of the file ends (None: at the file's end): a loss is of what
    is left up to there, the next spans being read on their own.
    """

    path: str
    gunzip: GunzipStream | None = None
    offset: int = 0
    end: int | None = None

    @property
    def stored(self) -> int:
        return self.gunzip.stored_good if self.gunzip is not None else self.offset

    @property
    def ref(self) -> str:
        return f"{self.path}@{'gunzip:' if self.gunzip is not None else ''}{self.offset}"


def _file_size(opener: Opener, path: str) -> int | None:
    try:
        with opener(path) as handle:
            return handle.seek(0, io.SEEK_END)
    except (OSError, ValueError):
        return None


def stored_bytes(opener: Opener, pointer: ReplayPointer, member_gzip: bool = False,
                 limit: int = MAX_DEAD_LETTER_RAW) -> tuple[bytes, bool]:
    """The first ``limit`` bytes of the input ``pointer`` names, and whether there is more.

    ``member_gzip``: the pointer names one gzip member of the stored file (a record of a
    gzip-per-record WARC), returned decompressed. A stream that breaks off gives what came
    before the break. Memory stays bounded by ``limit`` whatever the input's length.
    """
    left = pointer.length if pointer.length is not None else float("inf")
    out = bytearray()
    try:
        with opener(pointer.path) as raw:
            if pointer.gunzip:
                stream = gunzip(raw)
                skip = pointer.offset
                while skip > 0 and (piece := stream.read(min(skip, _CHUNK))):
                    skip -= len(piece)
            else:
                raw.seek(pointer.offset)
                stream = raw
            decompressor = zlib.decompressobj(wbits=31) if member_gzip else None
            while left > 0 and len(out) <= limit:
                piece = stream.read(int(min(left, _CHUNK)))
                if not piece:
                    break
                left -= len(piece)
                if decompressor is None:
                    out += piece
                    continue
                out += decompressor.decompress(piece, limit + 1 - len(out))
                if decompressor.eof:
                    break
    except (OSError, EOFError, zlib.error):
        return bytes(out[:limit]), True  # what came before the break
    return bytes(out[:limit]), len(out) > limit


def _file_loss(reason: str, error, position: _Position, opener: Opener) -> DeadLetter:
    """The dead letter of a file that cannot be read further: one file-level loss.

    ``source_ref`` and ``replay`` point at the last record boundary reached (in a gzip stream:
    the decompressed stream from there on), ``raw`` holds what follows it as far as it could be
    read, and ``unread_bytes`` counts the stored bytes never read (never decoded, for gzip).
    """
    size = position.end if position.end is not None else _file_size(opener, position.path)
    unread = max(0, size - position.stored) if size is not None else 0
    gunzipped = position.gunzip is not None
    length = None if gunzipped or size is None else size - position.offset
    pointer = ReplayPointer(position.path, position.offset, length, gunzipped)
    raw, more = stored_bytes(opener, pointer)
    total = f"{size:,}" if size is not None else "?"
    if position.end is not None:
        total += " (where the next span starts)"
    if gunzipped:
        where = (f"reading stopped at decompressed byte {position.offset:,}; {unread:,} of "
                 f"{total} stored bytes never decoded")
    else:
        where = f"reading stopped at byte {position.offset:,} of {total}: {unread:,} bytes unread"
    error = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else error
    return dead_letter("read", reason, f"{error}; {where}", position.ref, raw=raw,
                       raw_truncated=more or gunzipped, replay=pointer, unread_bytes=unread)


def _stream_loss(position: _Position, opener: Opener) -> Iterator[DeadLetter]:
    """The file-level loss of a gzip stream that broke off, if it did."""
    failure = position.gunzip.failure if position.gunzip is not None else None
    if failure is not None:
        reason = "truncated_archive" if isinstance(failure, EOFError) else "corrupt_archive"
        yield _file_loss(reason, failure, position, opener)


def _unexpected(error: Exception, source_ref: str, url: str | None = None, raw=None,
                **letter) -> DeadLetter:
    """One record's dead letter for an exception nobody foresaw while reading it."""
    LOG.warning("reading %s failed: %r", source_ref, error)
    return dead_letter("read", UNEXPECTED_ERROR, error, source_ref, url, raw, **letter)


# ---------------------------------------------------------------------------------------------
# WARC / ARC


class _RecordError(Exception):
    """One archive record is unusable: its dead letter, with ``reason``."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class _Anomaly(_RecordError):
    """A record block cut short: in a gzip file whose members do not match records, the whole
    file is re-read as one decompressed stream."""

    def __init__(self, message: str):
        super().__init__("truncated_record", message)


def _header(headers, name: str) -> str | None:
    return headers.get_header(name) if headers is not None else None


def _target_uri(record) -> str | None:
    uri = _header(record.rec_headers, "WARC-Target-URI")
    if uri:
        uri = uri.strip().strip("<>")  # wget wraps URIs in <...>
    return uri or None


def _record_outcome(record, offset_ref: str, source_format: str) -> RawRecord | Skip:
    """Turn one warcio record into a RawRecord or a Skip; raises :class:`_RecordError`."""
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
            raise _RecordError("corrupt_record", "response without an HTTP status line")
        if status != "200":
            return Skip("read", "http_status", offset_ref, url)
    content_type = (_header(http, "Content-Type") if http is not None
                    else _header(record.rec_headers, "Content-Type")) or ""
    body = record.content_stream().read(MAX_RECORD_BYTES + 1)
    if len(body) > MAX_RECORD_BYTES:
        raise _RecordError("too_large", f"body over {MAX_RECORD_BYTES} bytes")
    while record.raw_stream.read(_CHUNK):  # drain: only a block cut short leaves its limit
        pass
    if record.raw_stream.limit > 0:
        raise _Anomaly(f"record block ends {record.raw_stream.limit} bytes before its declared "
                       "length")
    mime = content_type.split(";")[0].strip().lower()
    identified = (_header(record.rec_headers, "WARC-Identified-Payload-Type") or "").lower()
    looks_html = sniff_format(body[:512]) == "html_file"
    if not (mime in _HTML_TYPES or identified in _HTML_TYPES or (not mime and looks_html)):
        return Skip("read", "not_html", offset_ref, url)
    problems = getattr(getattr(record, "digest_checker", None), "problems", None)
    if problems:
        raise _RecordError("digest_mismatch", "; ".join(problems))
    text, _charset = decode_document(body, content_type)
    return RawRecord(url=url, body=text, body_kind="html", source_format=source_format,
                     source_ref=offset_ref,
                     fetched_at=parse_iso_datetime(_header(record.rec_headers, "WARC-Date")),
                     **record_fields_from_entry(_header(record.rec_headers, ENTRY_HEADER)))


class _ArchiveReader:
    """One pass over a WARC/ARC stream: an outcome per record, every record isolated.

    ``strict`` (a gzip-per-record file read member by member): a record cut short inside the
    file means members and records do not match, and raises :class:`_Anomaly` so the caller
    re-reads the file as one stream. Errors of the stream itself (I/O, decompression, warcio
    unable to find the next record) propagate: the caller makes the rest a file-level loss.
    """

    def __init__(self, path: str, opener: Opener, source_format: str, is_gzip: bool,
                 position: _Position, strict: bool, end: int | None = None):
        self._path, self._opener, self._format = path, opener, source_format
        self._member_gzip = is_gzip and position.gunzip is None
        self._position, self._strict = position, strict
        self._end = end  # a span's end: the next span's first record is not this reader's

    def outcomes(self, stream) -> Iterator[Outcome]:
        from warcio.archiveiterator import ArchiveIterator

        iterator = ArchiveIterator(stream, arc2warc=True, check_digests=True)
        position = self._position
        prefix = "gunzip:" if position.gunzip is not None else ""
        records = iter(iterator)
        while True:
            try:
                record = next(records)
            except StopIteration:
                break
            except Exception:
                position.offset = iterator.offset  # the rest is lost from the last boundary
                raise
            position.offset = iterator.offset  # not get_record_offset(): that one reads the
            offset_ref = f"{self._path}@{prefix}{iterator.offset}"  # record to its end
            if self._end is not None and iterator.offset >= self._end:
                return
            try:
                yield _record_outcome(record, offset_ref, self._format)
                continue
            except _Anomaly as exc:
                if self._strict and not self._is_last_member(iterator):
                    raise
                reason, message = exc.reason, str(exc)
            except _RecordError as exc:
                reason, message = exc.reason, str(exc)
            except _STREAM_ERRORS:
                raise
            except Exception as exc:  # noqa: BLE001 - one record's failure is its dead letter
                LOG.warning("reading %s failed: %r", offset_ref, exc)
                reason, message = UNEXPECTED_ERROR, f"{type(exc).__name__}: {exc}"
            yield self._record_dead_letter(iterator, record, reason, message, offset_ref)
        position.offset = iterator.offset
        if position.gunzip is not None and position.gunzip.failure is not None:
            return  # the caller reports the broken stream
        if hasattr(stream, "tell") and stream.tell() - iterator.offset > _TRAILING_SLACK:
            # warcio ends quietly on a record cut off inside its last gzip member or headers
            raise _TrailingBytes(f"{stream.tell() - iterator.offset} bytes at the end hold no "
                                 "complete record")

    def _is_last_member(self, iterator) -> bool:
        """A gzip member cut short at the end of the file: a truncated file, not a mismatch."""
        iterator.read_to_end()
        offset, length = iterator.member_info
        return offset + length == _file_size(self._opener, self._path)

    def _record_dead_letter(self, iterator, record, reason: str, message: str,
                            offset_ref: str) -> DeadLetter:
        """The record as stored (decompressed), or its first MB and a replay pointer."""
        iterator.read_to_end()
        offset, length = iterator.member_info
        pointer = ReplayPointer(self._path, offset, length, self._position.gunzip is not None)
        raw, more = stored_bytes(self._opener, pointer, self._member_gzip)
        try:
            url = _target_uri(record)
        except Exception:  # noqa: BLE001 - a header we cannot read is no reason to lose more
            url = None
        return dead_letter("read", reason, message, offset_ref, url, raw,
                           raw_truncated=more or reason == "truncated_record", replay=pointer)


class _TrailingBytes(Exception):
    """Bytes after the last record that hold no complete record (a file cut off)."""


_STREAM_ERRORS = (OSError, EOFError, zlib.error, _TrailingBytes)


def iter_archive_records(path: str, opener: Opener, source_format: str, is_gzip: bool,
                         span: ArchiveSpan | None = None) -> Iterator[Outcome]:
    """All outcomes of one WARC or ARC file, or of one span of its records (``span``, cut by
    ``archive_spans``); ``is_gzip`` from the file's first bytes."""
    from warcio.exceptions import ArchiveLoadFailed

    span = span or ArchiveSpan(path)
    errors = (ArchiveLoadFailed, ValueError) + _STREAM_ERRORS
    position = _Position(path, offset=span.start, end=span.end)
    emitted = 0
    try:
        with opener(path) as raw:
            raw.seek(span.start)
            reader = _ArchiveReader(path, opener, source_format, is_gzip, position, is_gzip,
                                    span.end)
            for outcome in reader.outcomes(raw):
                emitted += 1
                yield outcome
        return
    except _Anomaly as exc:
        mismatch = exc
    except errors as exc:
        if not is_gzip or isinstance(exc, _TrailingBytes):
            reason = "truncated_archive" if isinstance(exc, _TrailingBytes) else "corrupt_archive"
            yield _file_loss(reason, exc, position, opener)
            return
        mismatch = exc
    LOG.warning("%s: gzip members do not match records (%s); re-reading as one stream",
                span.ref, type(mismatch).__name__)
    # the records before the span, and those it gave already, are counted but not given again
    position, seen, done = _Position(path, end=span.end), 0, span.first_record + emitted
    last = None if span.records is None else span.first_record + span.records
    try:
        with opener(path) as raw, gunzip(raw) as whole:
            position.gunzip = whole.raw
            reader = _ArchiveReader(path, opener, source_format, is_gzip, position, False)
            for outcome in reader.outcomes(whole):
                seen += 1
                if seen > done:
                    yield outcome
                if seen == last:
                    return  # the rest is the next spans'
            while whole.read(_CHUNK):  # to the end, where a cut-off last member shows
                pass
        yield from _stream_loss(position, opener)
    except errors as exc:
        reason = "truncated_archive" if isinstance(exc, EOFError | _TrailingBytes) \
            else "corrupt_archive"
        yield _file_loss(reason, exc, position, opener)


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


def _valid_unicode(value):
    """``value`` with lone surrogates (``"\\ud800"`` escapes, which JSON allows and no UTF-8
    writer can store) replaced by U+FFFD, as undecodable bytes are; lists item by item."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_valid_unicode(item) for item in value]
    return value


def jsonl_record(line: str, source_ref: str) -> Outcome:
    """One JSONL line: ``url`` and ``html`` or ``text`` required; ``title``, ``published_at``,
    ``fetched_at`` (ISO 8601) and ``tags`` optional."""
    try:
        data = json.loads(line)
    except (ValueError, RecursionError) as exc:  # also integers over 4,300 digits, deep nesting
        return dead_letter("read", "bad_json", exc, source_ref, raw=line)
    if not isinstance(data, dict):
        return dead_letter("read", "invalid_record", "line is not a JSON object", source_ref,
                           raw=line)
    data = {key: _valid_unicode(value) for key, value in data.items()}
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
    except (ValueError, OverflowError) as exc:  # OverflowError: year 1 with a +01:00 offset
        return dead_letter("read", "invalid_record", exc, source_ref, url, line)
    title = data.get("title") if isinstance(data.get("title"), str) else None
    return RawRecord(url=url.strip(), body=body, body_kind=kind, source_format="jsonl",
                     source_ref=source_ref, fetched_at=fetched, published_at=published,
                     published_source="archive_record" if published else None, title=title,
                     tags=tags)


def text_dump_record(text: str, source_ref: str) -> RawRecord | DeadLetter:
    """A seed-style text dump: an optional `` date YYYY-MM-DD `` prefix, then the body."""
    match = _TEXT_DUMP_DATE.match(text)
    published = None
    if match:
        try:
            published = datetime.strptime(match.group(1), "%Y-%m-%d").replace(tzinfo=UTC)
        except ValueError as exc:
            return dead_letter("read", "invalid_record", f"date prefix: {exc}", source_ref,
                               raw=text)
        text = text[match.end():]
    return RawRecord(url=None, body=text, body_kind="text", source_format="text_dump",
                     source_ref=source_ref, published_at=published,
                     published_source="text_dump_prefix" if published else None)


class _Line(NamedTuple):
    number: int
    offset: int  # of its first byte, in the (decompressed) stream
    length: int  # bytes, newline included
    data: bytes  # the line, or only its first MAX_DEAD_LETTER_RAW bytes when it is too long
    too_long: bool


def capped_lines(stream, limit: int = MAX_RECORD_BYTES) -> Iterator[_Line]:
    """The lines of a binary stream, never holding more than ``limit`` bytes of one in memory:
    a longer line is measured to its end and returned as its head, ``too_long``."""
    offset = 0
    for number in itertools.count(1):
        line = stream.readline(limit + 1)
        if not line:
            return
        length = len(line)
        if length <= limit or line.endswith(b"\n"):
            yield _Line(number, offset, length, line, False)
        else:
            head = line[:MAX_DEAD_LETTER_RAW]
            del line
            while not (piece := stream.readline(_CHUNK)).endswith(b"\n") and piece:
                length += len(piece)
            length += len(piece)
            yield _Line(number, offset, length, head, True)
        offset += length


def _decompressed(raw, position: _Position):
    """``raw``, gunzipped when it starts with the gzip magic (noted in ``position``)."""
    if raw.peek(2)[:2] != _GZIP_MAGIC:
        return raw
    stream = gunzip(raw)
    position.gunzip = stream.raw
    return stream


def _iter_jsonl(path: str, opener: Opener) -> Iterator[Outcome]:
    """Every line its own record: a broken line never costs the next one."""
    position = _Position(path)
    with opener(path) as raw:
        stream = _decompressed(raw, position)
        gunzipped = position.gunzip is not None
        try:
            for line in capped_lines(stream, MAX_RECORD_BYTES):
                if gunzipped and position.gunzip.failure and not line.data.endswith(b"\n"):
                    break  # the stream broke inside this line: it belongs to the loss
                position.offset = line.offset + line.length  # the rest starts after this line
                ref = f"{path}:{line.number}"
                pointer = ReplayPointer(path, line.offset, line.length, gunzipped)
                if line.too_long:
                    yield dead_letter("read", "too_large", f"line of {line.length:,} bytes is "
                                      f"over the {MAX_RECORD_BYTES:,}-byte limit", ref,
                                      raw=line.data, raw_truncated=True, replay=pointer)
                    continue
                text = line.data.decode("utf-8", "replace").rstrip("\r\n")
                if not text.strip():
                    continue
                try:
                    outcome = jsonl_record(text, ref)
                except Exception as exc:  # noqa: BLE001 - one line's failure is its dead letter
                    outcome = _unexpected(exc, ref, raw=text)
                if isinstance(outcome, DeadLetter):
                    outcome = dataclasses.replace(outcome, replay=pointer)
                yield outcome
        except OSError as exc:
            yield _file_loss("unreadable_file", exc, position, opener)
            return
    yield from _stream_loss(position, opener)


def _iter_document(path: str, opener: Opener, fmt: str) -> Iterator[Outcome]:
    """An HTML file or a text dump: the whole (decompressed) file is one record."""
    position = _Position(path)
    with opener(path) as raw:
        data = _decompressed(raw, position).read(MAX_RECORD_BYTES + 1)
    if position.gunzip is not None and position.gunzip.failure is not None:
        yield from _stream_loss(position, opener)  # a cut-off page is no page
        return
    gunzipped = position.gunzip is not None
    pointer = ReplayPointer(path, 0, None, gunzipped)
    if len(data) > MAX_RECORD_BYTES:
        yield dead_letter("read", "too_large", f"over the {MAX_RECORD_BYTES:,}-byte limit", path,
                          raw=data[:MAX_DEAD_LETTER_RAW], raw_truncated=True, replay=pointer)
        return
    try:
        if fmt == "html_file":
            text, _ = decode_document(data)
            outcome = RawRecord(url=None, body=text, body_kind="html", source_format="html_file",
                                source_ref=path)
        else:
            text, _ = decode_document(data, "text/plain; charset=utf-8")
            outcome = text_dump_record(text, path)
    except Exception as exc:  # noqa: BLE001 - the file's one record becomes its dead letter
        outcome = _unexpected(exc, path, raw=data)
    if isinstance(outcome, DeadLetter):
        outcome = dataclasses.replace(outcome, replay=pointer)
    yield outcome


def iter_file_records(path: str, fmt: str | None = None, opener: Opener | None = None,
                      span: ArchiveSpan | None = None) -> Iterator[Outcome]:
    """Every outcome of one input file, or of one span of a WARC file's records (``span``);
    ``fmt`` None means detect it.

    Each record is isolated (any failure decoding, parsing or validating it makes it a dead
    letter and reading goes on); a file that cannot be read further ends with one file-level
    loss dead letter for its unread rest (``unread_bytes``, ``replay``).
    """
    opener = opener or open_raw
    position = _Position(path) if span is None else _Position(path, offset=span.start, end=span.end)
    try:
        with opener(path) as handle:
            head = handle.read(4096)
        fmt = fmt or detect_format(path, head)
        if fmt is None:
            yield dead_letter("read", "unknown_format", "not WARC, ARC, JSONL, HTML or text",
                              path, raw=head, raw_truncated=len(head) == 4096,
                              replay=ReplayPointer(path, 0, None))
        elif fmt == NOT_AN_INPUT:
            yield Skip("read", NOT_AN_INPUT, path)
        elif fmt in ("warc", "arc") and sniff_format(head) not in ("warc", "arc"):
            yield _file_loss("corrupt_archive", "does not start with a WARC or ARC record "
                             "header", position, opener)
        elif fmt in ("warc", "arc"):
            yield from iter_archive_records(path, opener, fmt, head[:2] == _GZIP_MAGIC, span)
        elif fmt == "jsonl":
            yield from _iter_jsonl(path, opener)
        else:
            yield from _iter_document(path, opener, fmt)
    except OSError as exc:
        yield _file_loss("unreadable_file", exc, position, opener)
    except Exception as exc:  # noqa: BLE001 - a reader's own bug must not lose the file silently
        LOG.warning("reading %s failed: %r", path, exc)
        yield _file_loss(UNEXPECTED_ERROR, exc, position, opener)


def file_spans(path: str, fmt: str | None, span_bytes: int,
               opener: Opener | None = None) -> list[ArchiveSpan]:
    """The spans to read a file in (``archive_spans``): a WARC file (gzipped per record or
    not) of at least two spans' size is cut; any other file is one span, the whole file."""
    opener = opener or open_raw
    with opener(path) as raw:
        head = raw.read(4096)
        size = raw.seek(0, io.SEEK_END)
        if size < 2 * span_bytes or (fmt or detect_format(path, head)) != "warc":
            return [ArchiveSpan(path)]
        raw.seek(0)
        return split_archive(path, raw, span_bytes, head[:2] == _GZIP_MAGIC)


def open_raw(path: str) -> io.BufferedReader:
    """Open a local or ``gs://`` file as raw bytes; we handle gzip ourselves."""
    return io.BufferedReader(FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED),
                             buffer_size=1 << 20)


# ---------------------------------------------------------------------------------------------
# Beam


def note_progress(progress_dir: str, span: ArchiveSpan, records: int, size: int) -> None:
    """One small file per file or span read: a local run's driver sums them to show progress
    (records, and the stored bytes the span covered)."""
    import hashlib
    import os

    name = hashlib.sha1(f"{span.path}@{span.start}".encode()).hexdigest()
    temp = os.path.join(progress_dir, f".{name}.tmp")
    with open(temp, "w") as handle:
        handle.write(f"{records} {size}")
    os.replace(temp, os.path.join(progress_dir, name))


def read_progress(progress_dir: str) -> tuple[int, int]:
    """``(stored bytes read, records read)`` noted so far under ``progress_dir``."""
    import os

    done = records = 0
    for name in os.listdir(progress_dir):
        if name.startswith("."):
            continue
        try:
            with open(os.path.join(progress_dir, name)) as handle:
                count, size = handle.read().split()
            records += int(count)
            done += int(size)
        except (OSError, ValueError):
            continue
    return done, records


class _SplitArchiveFn(beam.DoFn):
    """A file -> the spans to read it in (``file_spans``); the whole file when finding them
    fails: the reader then meets the problem and reports it as for any file."""

    def __init__(self, fmt: str | None, span_bytes: int):
        self._fmt, self._span_bytes = fmt, span_bytes
        self._spans = Metrics.counter("archives", "spans")
        self._split = Metrics.counter("archives", "files_split")
        self._clock = StageClock("split")

    def process(self, path: str):
        with self._clock.timing():
            try:
                spans = file_spans(path, self._fmt, self._span_bytes)
            except Exception as exc:  # noqa: BLE001 - the reader reports what is wrong
                LOG.info("not splitting %s: %r", path, exc)
                spans = [ArchiveSpan(path)]
        self._spans.inc(len(spans))
        if len(spans) > 1:
            self._split.inc()
        yield from spans


class _ReadArchiveFileFn(beam.DoFn):
    """Reads one file or span; outcomes go to the records, skipped or dead-letter output."""

    def __init__(self, fmt: str | None, progress_dir: str | None = None):
        self._fmt = fmt
        self._progress_dir = progress_dir
        self._read = Metrics.counter("archives", "read")
        self._files = Metrics.counter("archives", "files_done")
        self._counters = OutcomeCounters("archives")
        self._clock = StageClock("read")

    def process(self, span: ArchiveSpan | str):
        span = ArchiveSpan(span) if isinstance(span, str) else span
        yield from guarded("read", span.ref, self._read_span(span), self._counters)

    def _read_span(self, span: ArchiveSpan):
        started, count = time.monotonic(), 0
        outcomes = iter_file_records(span.path, self._fmt, span=span)
        for outcome in self._clock.timed(outcomes):
            count += 1
            self._read.inc()
            yield route(outcome, self._counters)
        if span.end is None:
            self._files.inc()
        if self._progress_dir:
            end = span.end if span.end is not None else _file_size(open_raw, span.path) or 0
            note_progress(self._progress_dir, span, count, max(0, end - span.start))
        elapsed = time.monotonic() - started
        LOG.info("read %s: %d records in %.1fs (%.0f/s)", span.ref, count, elapsed,
                 count / elapsed if elapsed else 0.0)


class ReadArchives(beam.PTransform):
    """Match globs (local or ``gs://``), spread files over workers, read every record.

    Returns a dict of PCollections: ``records`` (RawRecord), ``skipped`` (Skip) and
    ``dead_letters`` (DeadLetter). Files are always spread over workers. ``span_bytes`` also
    cuts large WARC files into spans of about that many bytes, each read by any worker
    (``archive_spans``): what spreads a few large files over a local runner's workers.
    ``reshuffle_records`` spreads the records of each file instead, which pays on a cluster
    but costs more than it gains on a local runner, where every shuffle passes through one
    process.
    """

    def __init__(self, patterns: list[str], fmt: str | None = None,
                 progress_dir: str | None = None, reshuffle_records: bool = True,
                 span_bytes: int | None = None):
        super().__init__()
        if fmt is not None and fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; expected one of {FORMATS}")
        self._patterns = list(patterns)
        self._fmt = fmt
        self._progress_dir = progress_dir
        self._reshuffle_records = reshuffle_records
        self._span_bytes = span_bytes

    def expand(self, pbegin):
        files = (pbegin
                 | "InputPatterns" >> beam.Create(self._patterns)
                 | "MatchFiles" >> fileio.MatchAll(fileio.EmptyMatchTreatment.ALLOW)
                 | "FilePaths" >> beam.Map(lambda metadata: metadata.path)
                 | "DistinctFiles" >> beam.Distinct())  # overlapping globs read a file once
        if self._span_bytes:
            files = (files
                     | "SplitArchives" >> beam.ParDo(_SplitArchiveFn(self._fmt, self._span_bytes))
                     | "SpreadSpans" >> beam.Reshuffle())
        outputs = files | "ReadFiles" >> beam.ParDo(
            _ReadArchiveFileFn(self._fmt, self._progress_dir)).with_outputs(
            SKIPPED, DEAD, main=RECORDS)
        records = outputs[RECORDS]
        if self._reshuffle_records:  # one large WARC file's records spread over workers
            records = records | "ReshuffleRecords" >> beam.Reshuffle()
        return {RECORDS: records, SKIPPED: outputs[SKIPPED], DEAD: outputs[DEAD]}
