"""Large WARC files read in spans by several workers: the same outcomes as reading them whole."""

import gzip
import io
from pathlib import Path

import pytest
from warcio.warcwriter import WARCWriter

from newsflow.pipelines import backfill
from newsflow.transforms import archive_spans, archives
from newsflow.transforms.archive_spans import (
    MIN_SPAN_BYTES,
    ArchiveSpan,
    span_bytes_for,
    split_archive,
)
from newsflow.transforms.archives import file_spans, iter_file_records
from tests.test_archives import ARTICLE_HTML, _response, make_warc
from tests.test_backfill import run_backfill


def _sample_archives(samples_dir: Path) -> list[Path]:
    return sorted(p for p in (samples_dir / "warc").rglob("*")
                  if p.is_file() and p.name not in ("LICENSE", "NOTICE"))


def _read_in_spans(path: Path, span_bytes: int = 1) -> tuple[list[ArchiveSpan], list]:
    spans = file_spans(str(path), None, span_bytes)
    return spans, [outcome for span in spans
                   for outcome in iter_file_records(str(path), span=span)]


def _warc_member(url: str, body: bytes) -> bytes:
    """One response record, gzipped on its own (a member of a gzip-per-record WARC)."""
    plain = io.BytesIO()
    _response(WARCWriter(plain, gzip=False), url, body)
    return gzip.compress(plain.getvalue(), mtime=0)


def test_every_sample_archive_reads_the_same_in_spans(samples_dir):
    """Every shared sample (Common Crawl files, broken, cut-off, oddly gzipped, ARC) cut at
    every record it allows gives the outcomes of reading it whole, in the same order."""
    split = []
    for path in _sample_archives(samples_dir):
        spans, outcomes = _read_in_spans(path)
        assert outcomes == list(iter_file_records(str(path))), path.name
        assert spans[0].start == 0 and spans[-1].end is None and spans[-1].records is None
        for before, after in zip(spans, spans[1:], strict=False):
            assert before.end == after.start
            assert before.first_record + before.records == after.first_record
        if len(spans) > 1:
            split.append(path.name)
    # WARC files are cut, gzipped per record or plain; ARC and odd gzip files are not
    assert {"warcfile.warc.gz", "example.warc.gz", "example.warc"} <= set(split)
    assert "clipped.warc.gz" not in split  # one cut-off record
    assert not any(name.endswith((".arc", ".arc.gz")) for name in split)


def test_spans_cut_at_records_and_hold_the_size_asked(tmp_path):
    path = tmp_path / "big.warc.gz"
    members = [_warc_member(f"https://news.test/{i}", ARTICLE_HTML.encode()) for i in range(12)]
    path.write_bytes(b"".join(members))
    starts = [sum(len(m) for m in members[:i]) for i in range(12)]
    size = min(len(m) for m in members)  # record ids and dates make them differ by a byte
    with open(path, "rb") as raw:
        spans = split_archive(str(path), raw, 3 * size)
    assert [(s.start, s.end, s.first_record, s.records) for s in spans] == [
        (0, starts[3], 0, 3), (starts[3], starts[6], 3, 3), (starts[6], starts[9], 6, 3),
        (starts[9], None, 9, None)]
    _, outcomes = _read_in_spans(path, 3 * size)
    assert [o.url for o in outcomes] == [f"https://news.test/{i}" for i in range(12)]
    assert outcomes == list(iter_file_records(str(path)))


def test_no_cut_past_a_member_holding_several_records(tmp_path):
    """From a member that is not one whole record on, the rest of the file is one span, read
    (and re-read as one stream) as a whole file is."""
    path = tmp_path / "mixed.warc.gz"
    plain = io.BytesIO()
    writer = WARCWriter(plain, gzip=False)
    for i in range(2):
        _response(writer, f"https://news.test/pair{i}", ARTICLE_HTML.encode())
    members = [_warc_member(f"https://news.test/{i}", ARTICLE_HTML.encode()) for i in range(3)]
    path.write_bytes(b"".join(members) + gzip.compress(plain.getvalue(), mtime=0)
                     + _warc_member("https://news.test/after", ARTICLE_HTML.encode()))
    spans, outcomes = _read_in_spans(path)
    second, third = len(members[0]), len(members[0]) + len(members[1])
    assert [(s.start, s.records) for s in spans] == [(0, 1), (second, 1), (third, None)]
    assert outcomes == list(iter_file_records(str(path)))
    assert [o.url for o in outcomes][-3:] == [
        "https://news.test/pair0", "https://news.test/pair1", "https://news.test/after"]


def test_a_cut_off_file_loses_only_its_last_record_in_spans(tmp_path):
    path = tmp_path / "cut.warc.gz"
    make_warc(path, truncate_last=True)
    spans, outcomes = _read_in_spans(path)
    assert len(spans) == 4  # the last span: the fourth record and the cut-off fifth
    assert outcomes == list(iter_file_records(str(path)))
    assert type(outcomes[-1]).__name__ == "DeadLetter" and outcomes[-1].unread_bytes is not None


def test_files_that_are_not_cut(tmp_path):
    small = tmp_path / "small.warc.gz"
    make_warc(small)
    assert file_spans(str(small), None, small.stat().st_size) == [ArchiveSpan(str(small))]
    lines = tmp_path / "export.jsonl.gz"
    lines.write_bytes(b"".join(gzip.compress(b'{"url": "https://a.test/%d"}\n' % i)
                               for i in range(50)))
    assert file_spans(str(lines), None, 1) == [ArchiveSpan(str(lines))]
    assert file_spans(str(small), "jsonl", 1) == [ArchiveSpan(str(small))]  # --format says so


@pytest.mark.parametrize(("sizes", "workers", "expected"), [
    ([9_000_000] * 8, 2, None),  # as many files as spans wanted: files spread by themselves
    ([74_000_000], 2, 74_000_000 // 8),  # one large file: four spans per worker
    ([74_000_000], 1, None),  # one worker: nothing to spread
    ([5_000_000], 2, None),  # too small to be worth a pass over it
    ([60_000_000, 1_000_000], 4, MIN_SPAN_BYTES),  # a fair share is under the floor
    ([], 2, None),
])
def test_span_size_for_a_run(sizes, workers, expected):
    assert span_bytes_for(sizes, workers) == expected
    if expected is not None:
        assert expected >= MIN_SPAN_BYTES


def test_backfill_in_spans_conserves_every_record(tmp_path, samples_dir, monkeypatch):
    """The whole run, every gzip WARC cut at every record: the same summary as reading files
    whole, and the balance holds."""
    inputs = [f"{samples_dir}/warc/*/*.*arc*"]
    whole = run_backfill(inputs, tmp_path / "whole", "--max_dead_letter_ratio=1")
    monkeypatch.setattr(backfill, "span_bytes_for", lambda sizes, workers: 1)
    cut = []

    def split_and_note(path, raw, span_bytes, is_gzip):
        spans = split_archive(path, raw, span_bytes, is_gzip)
        cut.extend(span for span in spans if span.start)
        return spans

    monkeypatch.setattr(archives, "split_archive", split_and_note)
    spans = run_backfill(inputs, tmp_path / "spans", "--max_dead_letter_ratio=1")
    assert {Path(span.path).name for span in cut} >= {
        "warcfile.warc.gz", "example.warc.gz", "example.warc"}
    keys = ("read", "written", "duplicates", "dead_letters", "skipped", "balanced",
            "skipped_by_reason", "dead_letters_by_reason")
    assert {k: spans[k] for k in keys} == {k: whole[k] for k in keys}
    assert spans["read"] > 20


def test_cutting_stops_before_a_member_too_large_to_inflate_twice(tmp_path, monkeypatch):
    members = [_warc_member(f"https://news.test/{i}", ARTICLE_HTML.encode()) for i in range(4)]
    large = _warc_member("https://news.test/large", ARTICLE_HTML.encode() * 20)
    path = tmp_path / "large.warc.gz"
    path.write_bytes(b"".join(members[:2]) + large + b"".join(members[2:]))
    monkeypatch.setattr(archive_spans, "MAX_MEMBER_BYTES", len(ARTICLE_HTML) * 10)
    spans, outcomes = _read_in_spans(path)
    assert [s.start for s in spans] == [0, len(members[0])]  # the second record on: one span
    assert [o.url for o in outcomes][-3:] == [
        "https://news.test/large", "https://news.test/2", "https://news.test/3"]


def test_plain_warc_is_cut_by_its_record_lengths_up_to_a_wrong_one(tmp_path):
    plain = io.BytesIO()
    writer = WARCWriter(plain, gzip=False)
    for i in range(6):
        _response(writer, f"https://news.test/{i}", ARTICLE_HTML.encode())
    data = plain.getvalue()
    record = len(data) // 6  # the same page, same-length headers: records of one length
    path = tmp_path / "plain.warc"
    path.write_bytes(data)
    spans, outcomes = _read_in_spans(path, 2 * record - 10)
    assert [(s.start, s.first_record, s.records) for s in spans] == [
        (0, 0, 2), (2 * record, 2, 2), (4 * record, 4, None)]
    assert outcomes == list(iter_file_records(str(path)))
    # the fourth record declares a byte more than it holds: cutting stops before it
    third = data.index(b"Content-Length: ", data.index(b"https://news.test/3"))
    digits = data[third + 16:data.index(b"\r\n", third)]
    wrong = data[:third + 16] + str(int(digits) + 1).encode() + data[third + 16 + len(digits):]
    path.write_bytes(wrong)
    spans, outcomes = _read_in_spans(path, 1)
    assert [s.start for s in spans] == [0, record, 2 * record]
    assert outcomes == list(iter_file_records(str(path)))


def test_a_span_that_cannot_be_read_on_loses_only_its_own_rest(tmp_path):
    """A read failing inside a span is a file-level loss of the rest of that span (the next
    spans are read on their own), with a replay pointer to that rest."""
    plain = io.BytesIO()
    writer = WARCWriter(plain, gzip=False)
    for i in range(6):  # records larger than warcio's 16 KB read-ahead
        _response(writer, f"https://news.test/{i}", ARTICLE_HTML.encode() * 40)
    record = len(plain.getvalue()) // 6
    path = tmp_path / "plain.warc"
    path.write_bytes(plain.getvalue())
    first = file_spans(str(path), None, 2 * record - 10)[0]
    assert (first.start, first.end) == (0, 2 * record)

    class FailingInSecondRecord(io.FileIO):
        def readinto(self, buffer):
            if self.tell() >= record + record // 2:
                raise OSError("the disk went away")
            return super().readinto(memoryview(buffer)[:512])

    def failing(name):
        return io.BufferedReader(FailingInSecondRecord(name), buffer_size=512)

    in_span = list(iter_file_records(str(path), opener=failing, span=first))
    whole = list(iter_file_records(str(path), opener=failing))
    assert [type(o).__name__ for o in in_span] == ["RawRecord", "DeadLetter"]
    loss = in_span[-1]
    assert loss.replay.offset == record and loss.replay.length == record
    assert loss.unread_bytes == record and "where the next span starts" in loss.error
    assert whole[-1].unread_bytes == 5 * record  # read whole, the loss is the file's rest


def test_a_span_of_a_file_gone_unreadable_is_a_loss_of_that_span(tmp_path):
    path = tmp_path / "gone.warc.gz"
    make_warc(path)

    def unreadable(name):
        raise OSError("the file went away")

    span = ArchiveSpan(str(path), 100, 300, 2, 1)
    [loss] = iter_file_records(str(path), opener=unreadable, span=span)
    assert (loss.reason, loss.source_ref) == ("unreadable_file", f"{path}@100")
    assert (loss.replay.offset, loss.replay.length, loss.unread_bytes) == (100, 200, 200)
