"""Cut large WARC files into spans of whole records, so several workers read one file.

A backfill of one 1 GB Common Crawl file would otherwise run on one worker however many cores
the machine has: files are the unit Beam spreads, and on a local runner shuffling the records
themselves costs more than it saves (every record body would pass through the runner's one
process). Instead one quick pass finds record boundaries, and each span of records goes to
its own worker, which seeks there and reads only that span.

WARC files are cut, gzipped per record (the form Common Crawl and most crawlers write) or not
gzipped; ARC files and files gzipped otherwise are read whole. In a gzipped file the pass
inflates each gzip member in C, without parsing records, and checks that it holds exactly one
whole WARC record (it starts ``WARC/``, and its length is what its ``Content-Length`` says);
in a plain file it reads each record's headers and seeks past its block. Cuts are made only
at such records' starts; from the first place that is anything else (several records per
member, a record across members, a cut-off or corrupt member, padding, a wrong length) the
rest of the file is one span, read exactly as a whole file is, with every anomaly handled
and reported as it is now. So a file gives the same outcomes, in the same order, whether it
is read whole or span by span.
"""

from __future__ import annotations

import re
import zlib
from typing import NamedTuple

#: Spans a local run aims for per worker: enough that the last ones even out the workers.
SPANS_PER_WORKER = 4
#: Smaller spans gain nothing: finding the boundaries costs more than the work they spread.
MIN_SPAN_BYTES = 4 * 1024 * 1024
#: Past a member this large (declared), cutting stops: the reader handles the rest of the file.
MAX_MEMBER_BYTES = 64 * 1024 * 1024
_PIECE = 1 << 20  # compressed bytes read at a time, and the most output one call makes
_HEAD_BYTES = 64 * 1024  # enough of a record to hold its WARC headers
_PLAIN_HEAD_BYTES = 8 * 1024  # what holds them nearly always
_WARC_HEADERS_END = b"\r\n\r\n"
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)[ \t]*\r\n", re.IGNORECASE)


class ArchiveSpan(NamedTuple):
    """Whole records of one file: from ``start`` (the first byte of a record, or of its gzip
    member) up to ``end`` (the next span's start; None: the end of the file).
    ``first_record`` counts the file's records before ``start``; ``records`` is how many the
    span holds (None: all to the end of the file)."""

    path: str
    start: int = 0
    end: int | None = None
    first_record: int = 0
    records: int | None = None

    @property
    def ref(self) -> str:
        """The file, or where in it the span starts: what a failure of the span points at."""
        return self.path if self.start == 0 else f"{self.path}@{self.start}"


def _one_record_length(head: bytes) -> int | None:
    """The length of the WARC record that ``head`` (its first bytes, decompressed) begins,
    trailing blank lines included, or None when it does not begin one: a gzip member holds
    exactly that record when it decompresses to that many bytes."""
    if not head.startswith(b"WARC/"):
        return None
    headers_end = head.find(_WARC_HEADERS_END)
    if headers_end < 0:
        return None
    headers = head[:headers_end + 2]
    match = _CONTENT_LENGTH.search(headers)
    if match is None:
        return None
    return headers_end + len(_WARC_HEADERS_END) + int(match.group(1)) + len(_WARC_HEADERS_END)


def record_member_starts(raw):
    """Yield the start offset of each gzip member of ``raw`` (a binary file at offset 0) that
    holds exactly one whole WARC record, in order, and stop at the first member that does not
    (or at the end of the file). Memory stays bounded whatever the members hold."""
    offset, pending = 0, b""
    while True:
        if not pending:
            pending = raw.read(_PIECE)
            if not pending:
                return  # the end of the file, at a member boundary
        decompressor = zlib.decompressobj(wbits=31)
        head, produced, consumed, expected = b"", 0, 0, None
        try:
            while not decompressor.eof:
                if not pending:
                    pending = raw.read(_PIECE)
                    if not pending:
                        return  # the file ends inside this member
                out = decompressor.decompress(pending, _PIECE)
                rest = decompressor.unused_data if decompressor.eof \
                    else decompressor.unconsumed_tail
                consumed += len(pending) - len(rest)
                pending = rest
                produced += len(out)
                if len(head) < _HEAD_BYTES:
                    head += out[:_HEAD_BYTES - len(head)]
                    expected = _one_record_length(head)
                if expected is None and len(head) >= _HEAD_BYTES:
                    return  # no record header in sight
                if expected is not None and (produced > expected
                                             or expected > MAX_MEMBER_BYTES):
                    return  # several records in one member (a whole-file gzip stream), or
                    # one too large to be worth inflating twice: the reader takes it from here
        except zlib.error:
            return
        if produced != expected:
            return
        yield offset
        offset += consumed


def plain_record_starts(raw):
    """Yield the start offset of each record of ``raw`` (an uncompressed WARC file, seekable),
    in order, and stop at the first place that holds no whole record: a record is found by its
    headers and skipped by its ``Content-Length``, without reading its block."""
    offset = 0
    while True:
        raw.seek(offset)
        head = raw.read(_PLAIN_HEAD_BYTES)
        if not head:
            return
        length = _one_record_length(head)
        if length is None and _WARC_HEADERS_END not in head:
            head += raw.read(_HEAD_BYTES - len(head))
            length = _one_record_length(head)
        if length is None:
            return
        raw.seek(offset + length - len(_WARC_HEADERS_END))
        if raw.read(len(_WARC_HEADERS_END)) != _WARC_HEADERS_END:
            return  # a record shorter than it declares (cut off, or a wrong length)
        yield offset
        offset += length


def split_archive(path: str, raw, span_bytes: int, is_gzip: bool = True) -> list[ArchiveSpan]:
    """Spans of about ``span_bytes`` stored bytes covering the WARC file ``raw`` (open at
    offset 0), cut at the starts of records that are whole (in a gzip file, of members that
    each hold one whole record: the module's docstring): one span for the whole file when
    there is nothing to cut."""
    starts = record_member_starts(raw) if is_gzip else plain_record_starts(raw)
    spans, start, first = [], 0, 0
    for index, offset in enumerate(starts):
        if offset >= start + span_bytes:
            spans.append(ArchiveSpan(path, start, offset, first, index - first))
            start, first = offset, index
    spans.append(ArchiveSpan(path, start, None, first, None))
    return spans


def span_bytes_for(sizes: list[int], workers: int) -> int | None:
    """How large a span to cut files into so ``workers`` stay busy to the end, or None when
    the files spread well as they are (none is much larger than a fair share)."""
    if workers < 2 or not sizes:
        return None
    span = max(MIN_SPAN_BYTES, sum(sizes) // (workers * SPANS_PER_WORKER))
    return span if max(sizes) >= 2 * span else None
