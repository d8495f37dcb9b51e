"""Issue 11, readers: one bad value never costs another record, and nothing is lost unseen.

Each test is a hostile input a careful user tried; each asserts exactly which records became
records, which became dead letters (reason, raw, replay pointer), and what the run summary says.
"""

import gzip
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from warcio.warcwriter import WARCWriter

from newsflow.schemas import DeadLetter, RawRecord, ReplayPointer, dead_letter
from newsflow.transforms import archives
from newsflow.transforms.accounting import format_summary
from newsflow.transforms.archives import iter_file_records, open_raw, stored_bytes
from newsflow.transforms.charset import decode_document
from newsflow.transforms.extract import ExtractSettings, ExtractStep
from tests.test_archives import ARTICLE_HTML, _response
from tests.test_backfill import run_backfill

UTF8_HTML = ARTICLE_HTML.replace("Headline", "Café crème")


def _line(index: int, **fields) -> str:
    return json.dumps({"url": f"https://a.test/{index}", "html": ARTICLE_HTML, **fields})


def _write_lines(path: Path, lines: list[str]) -> list[int]:
    """Write JSONL; returns each line's byte offset."""
    offsets, offset = [], 0
    for line in lines:
        offsets.append(offset)
        offset += len(line.encode()) + 1
    path.write_text("".join(line + "\n" for line in lines))
    return offsets


def _shape(outcomes) -> list[tuple]:
    return [(type(o).__name__, getattr(o, "reason", None), o.source_ref) for o in outcomes]


# --------------------------------------------------------------------------------------------
# JSONL lines and text dumps


def test_a_year_one_date_with_an_offset_costs_only_its_own_line(tmp_path):
    path = tmp_path / "overflow.jsonl"
    bad = _line(2, published_at="0001-01-01T00:00:00+01:00")  # OverflowError in astimezone
    offsets = _write_lines(path, [_line(1), bad, _line(3), _line(4)])
    outcomes = list(iter_file_records(str(path)))
    assert _shape(outcomes) == [("RawRecord", None, f"{path}:1"),
                                ("DeadLetter", "invalid_record", f"{path}:2"),
                                ("RawRecord", None, f"{path}:3"),
                                ("RawRecord", None, f"{path}:4")]
    letter = outcomes[1]
    assert "OverflowError" in letter.error and letter.url == "https://a.test/2"
    assert letter.raw == bad and not letter.raw_truncated
    assert letter.replay == ReplayPointer(str(path), offsets[1], len(bad) + 1)
    assert letter.unread_bytes is None  # a record, not a file-level loss


def test_huge_integers_and_deep_nesting_are_bad_json_lines(tmp_path):
    path = tmp_path / "hostile.jsonl"
    huge = '{"url": "https://a.test/2", "n": ' + "9" * 5001 + "}"  # ValueError, not JSONDecode
    deep = "[" * 100_000 + "]" * 100_000  # RecursionError
    _write_lines(path, [_line(1), huge, deep, _line(4)])
    outcomes = list(iter_file_records(str(path)))
    assert _shape(outcomes) == [("RawRecord", None, f"{path}:1"),
                                ("DeadLetter", "bad_json", f"{path}:2"),
                                ("DeadLetter", "bad_json", f"{path}:3"),
                                ("RawRecord", None, f"{path}:4")]
    assert "4300 digits" in outcomes[1].error and outcomes[1].raw == huge
    assert "RecursionError" in outcomes[2].error and outcomes[2].raw == deep


def test_a_text_dump_with_an_impossible_date_is_its_dead_letter(tmp_path):
    path = tmp_path / "dump.txt"
    text = " date 2024-13-45 Government announces a new budget. " * 5
    path.write_text(text)
    (letter,) = iter_file_records(str(path))
    assert isinstance(letter, DeadLetter)
    assert (letter.stage, letter.reason, letter.source_ref) == ("read", "invalid_record",
                                                                str(path))
    assert "2024-13-45" in letter.error and letter.raw == text
    assert letter.replay == ReplayPointer(str(path), 0, None)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_line_over_the_cap_is_too_large_and_reading_goes_on(tmp_path, monkeypatch,
                                                              compressed):
    monkeypatch.setattr(archives, "MAX_RECORD_BYTES", 2000)
    long_line = _line(2, text="x" * 5000)
    lines = [_line(1), long_line, _line(3)]
    offsets = _write_lines(tmp_path / "plain.jsonl", lines)
    path = tmp_path / "plain.jsonl"
    if compressed:
        path = tmp_path / "export.jsonl.gz"
        path.write_bytes(gzip.compress((tmp_path / "plain.jsonl").read_bytes()))
    outcomes = list(iter_file_records(str(path)))
    assert _shape(outcomes) == [("RawRecord", None, f"{path}:1"),
                                ("DeadLetter", "too_large", f"{path}:2"),
                                ("RawRecord", None, f"{path}:3")]
    letter = outcomes[1]
    assert letter.raw == long_line[:2001] and letter.raw_truncated
    assert letter.replay == ReplayPointer(str(path), offsets[1], len(long_line) + 1,
                                          gunzip=compressed)
    whole, more = stored_bytes(open_raw, letter.replay)  # the pointer really replays the line
    assert whole == long_line.encode() + b"\n" and not more


def test_text_records_get_the_size_check_html_gets():
    record = RawRecord(url="https://a.test/t", body="word " * 300, body_kind="text",
                       source_format="jsonl", source_ref="x.jsonl:1")
    outcome = ExtractStep(ExtractSettings(timeout_s=0, max_html_chars=1000)).apply(record)
    assert isinstance(outcome, DeadLetter) and outcome.reason == "too_large"
    assert outcome.stage == "extract" and outcome.source_ref == "x.jsonl:1"


@pytest.mark.slow
def test_a_200_mb_text_value_stays_a_bounded_dead_letter(tmp_path):
    """The whole CLI in a child process: the line is read with a cap, never held whole."""
    path = tmp_path / "big.jsonl"
    with open(path, "w") as handle:
        handle.write(json.dumps({"url": "https://a.test/1", "text": "First story. " * 40}) + "\n")
        handle.write('{"url": "https://a.test/big", "text": "')
        chunk = "x" * (1 << 20)
        for _ in range(200):
            handle.write(chunk)
        handle.write('"}\n')
        handle.write(json.dumps({"url": "https://a.test/3", "text": "Last story. " * 40}) + "\n")
    big_length = len('{"url": "https://a.test/big", "text": "') + 200 * (1 << 20) + 3
    output = tmp_path / "out"
    # VmHWM, not ru_maxrss: a child's ru_maxrss also counts pytest's RSS when it forked
    child = ("import sys\n"
             "from bench.hostile import peak_rss_mb\n"
             "from newsflow.pipelines.cli import main\n"
             "code = main(sys.argv[1:])\n"
             "print(f'peak_mb {peak_rss_mb():.0f}')\n"
             "sys.exit(code)\n")
    result = subprocess.run(
        [sys.executable, "-c", child, "backfill", f"--input={path}", f"--output={output}",
         "--runner=FnApiRunner", "--extract_timeout=0", "--no_dedup",
         "--max_dead_letter_ratio=1"], capture_output=True, text=True, timeout=300)
    path.unlink()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "read 3 = written 2 + duplicates 0 + dead letters 1 + skipped 0" in result.stdout
    (letter,) = [json.loads(line) for f in (output / "dead_letter").glob("*.jsonl")
                 for line in f.read_text().splitlines()]
    assert (letter["reason"], letter["source_ref"]) == ("too_large", f"{path}:2")
    assert letter["raw_truncated"] and len(letter["raw"]) == 1_000_000
    assert letter["replay"] == {"path": str(path), "offset": len(json.dumps(
        {"url": "https://a.test/1", "text": "First story. " * 40})) + 1,
        "length": big_length, "gunzip": False}
    # before the fix: a 209-million-character row and 5.5 GB; Beam alone is ~0.3 GB
    peak_mb = int(result.stdout.rsplit("peak_mb ", 1)[1])
    assert peak_mb < 1024, f"peak RSS {peak_mb} MB"


# --------------------------------------------------------------------------------------------
# WARC records


def _charset_warc(path: Path) -> None:
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        _response(writer, "https://news.test/0", UTF8_HTML.encode())
        _response(writer, "https://news.test/undefined", UTF8_HTML.encode(),
                  "text/html; charset=undefined")
        _response(writer, "https://news.test/punycode", UTF8_HTML.encode(),
                  "text/html; charset=punycode")
        for index in range(1, 5):
            _response(writer, f"https://news.test/{index}", UTF8_HTML.encode())


def test_charsets_python_cannot_use_for_pages_fall_back_to_detection(tmp_path):
    path = tmp_path / "charsets.warc.gz"
    _charset_warc(path)
    outcomes = list(iter_file_records(str(path)))
    assert [type(o).__name__ for o in outcomes] == ["RawRecord"] * 7  # 4 used to be lost
    assert all("Café crème" in o.body for o in outcomes)
    for declared in ("undefined", "punycode", "unicode-escape", "base64"):
        text, codec = decode_document(UTF8_HTML.encode(), f"text/html; charset={declared}")
        assert (text, codec) == (UTF8_HTML, "utf-8")


def test_a_page_over_the_cap_keeps_a_truthful_raw_and_a_replay_pointer(tmp_path):
    path = tmp_path / "big.warc"
    page = ("<html><body><p>" + "a" * (archives.MAX_RECORD_BYTES + 10) + "</p></body></html>")
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=False)
        _response(writer, "https://news.test/big", page.encode())
        _response(writer, "https://news.test/after", ARTICLE_HTML.encode())
    outcomes = list(iter_file_records(str(path)))
    assert _shape(outcomes)[0] == ("DeadLetter", "too_large", f"{path}@0")
    assert isinstance(outcomes[1], RawRecord) and outcomes[1].url == "https://news.test/after"
    letter = outcomes[0]
    assert letter.raw.startswith("WARC/1.0") and len(letter.raw) == 1_000_000
    assert letter.raw_truncated  # it used to say false about 64 KB of a 20 MB page
    after = int(outcomes[1].source_ref.rsplit("@", 1)[1])
    assert letter.replay == ReplayPointer(str(path), 0, after - 4)  # CRLF CRLF: no record


def test_sample_dead_letters_carry_their_raw_records(samples_dir):
    bad_arc = samples_dir / "warc/warcio/bad.arc"
    letters = [o for o in iter_file_records(str(bad_arc)) if isinstance(o, DeadLetter)]
    assert [(d.reason, d.source_ref) for d in letters] == [
        ("corrupt_record", f"{bad_arc}@134"), ("corrupt_record", f"{bad_arc}@202"),
        ("corrupt_record", f"{bad_arc}@262")]
    stored = bad_arc.read_bytes()
    for letter in letters:  # the ARC record exactly as stored
        pointer = letter.replay
        assert letter.raw == stored[pointer.offset:pointer.offset + pointer.length].decode()
        assert letter.raw.startswith("http://") and not letter.raw_truncated
    clipped = samples_dir / "warc/resiliparse/clipped.warc.gz"
    (letter,) = iter_file_records(str(clipped))
    assert (letter.reason, letter.source_ref) == ("truncated_record", f"{clipped}@0")
    assert letter.raw.startswith("WARC/1.0") and "<html" in letter.raw.lower()
    assert letter.raw_truncated and letter.replay == ReplayPointer(str(clipped), 0, 18184)


# --------------------------------------------------------------------------------------------
# Files that cannot be read to their end


def _corrupt_jsonl_gz(path: Path) -> tuple[int, int]:
    """Ten good lines in one gzip member, twenty in a second one whose data is broken.
    Returns (decompressed bytes of the good member, stored bytes of the good member)."""
    lines = [json.dumps({"url": f"https://a.test/{i}", "text": f"Story {i}. " * 40}) + "\n"
             for i in range(30)]
    good = gzip.compress("".join(lines[:10]).encode(), mtime=0)
    broken = bytearray(gzip.compress("".join(lines[10:]).encode(), mtime=0))
    broken[10:30] = b"\xff" * 20
    path.write_bytes(good + bytes(broken))
    return len("".join(lines[:10]).encode()), len(good)


def test_a_corrupt_gzip_stream_is_one_counted_file_level_loss(tmp_path):
    path = tmp_path / "export.jsonl.gz"
    decoded, good_member = _corrupt_jsonl_gz(path)
    size = path.stat().st_size
    outcomes = list(iter_file_records(str(path)))
    assert [type(o).__name__ for o in outcomes] == ["RawRecord"] * 10 + ["DeadLetter"]
    loss = outcomes[-1]
    assert (loss.reason, loss.source_ref) == ("corrupt_archive", f"{path}@gunzip:{decoded}")
    assert loss.unread_bytes == size - good_member  # the broken member, exactly
    assert f"{size - good_member:,} of {size:,} stored bytes never decoded" in loss.error
    assert loss.replay == ReplayPointer(str(path), decoded, None, gunzip=True)


def test_a_warc_that_cannot_be_parsed_further_says_how_much_is_left(tmp_path, samples_dir):
    clean = (samples_dir / "warc/warcio/example.warc").read_bytes()
    cut = clean.index(b"WARC/1.0", 100)
    path = tmp_path / "junk.warc"
    path.write_bytes(clean[:cut] + b"\x00\x01junk\xff\r\n" + clean[cut:])
    outcomes = list(iter_file_records(str(path)))
    assert _shape(outcomes) == [("Skip", "not_response", f"{path}@0"),
                                ("DeadLetter", "corrupt_archive", f"{path}@{cut}")]
    loss = outcomes[1]
    size = path.stat().st_size
    assert loss.unread_bytes == size - cut and loss.replay == ReplayPointer(str(path), cut,
                                                                             size - cut)
    assert loss.raw_encoding == "base64" and not loss.raw_truncated
    assert f"reading stopped at byte {cut:,} of {size:,}" in loss.error


# --------------------------------------------------------------------------------------------
# The whole backfill: every hostile file at once, and the summary's equation


def test_backfill_over_hostile_files_balances_and_counts_the_file_loss(tmp_path, capsys):
    inputs = tmp_path / "in"
    inputs.mkdir()
    _write_lines(inputs / "overflow.jsonl",
                 [_line(1), _line(2, published_at="0001-01-01T00:00:00+01:00"), _line(3)])
    _write_lines(inputs / "hostile.jsonl", [
        '{"url": "https://a.test/n", "n": ' + "9" * 5001 + "}", "[" * 50_000 + "]" * 50_000,
        json.dumps({"url": "https://b.test/2023/09/15/x", "html": UTF8_HTML})])
    (inputs / "dump.txt").write_text(" date 2024-13-45 " + "A sentence of a news dump. " * 30)
    _charset_warc(inputs / "charsets.warc.gz")
    _decoded, good_member = _corrupt_jsonl_gz(inputs / "export.jsonl.gz")
    unread = (inputs / "export.jsonl.gz").stat().st_size - good_member
    output = tmp_path / "out"
    summary = run_backfill([f"{inputs}/*"], output, "--no_dedup", "--max_dead_letter_ratio=1")
    assert summary["dead_letters_by_reason"] == {
        "read:bad_json": 2, "read:corrupt_archive": 1, "read:invalid_record": 2}
    assert (summary["file_losses"], summary["unread_bytes"]) == (1, unread)
    records = 2 + 1 + 7 + 10  # overflow.jsonl, hostile.jsonl, charsets, export's first member
    assert summary["read"] == records + 5
    assert summary["read"] == (summary["written"] + summary["duplicates"] +
                               summary["dead_letters"] + summary["skipped"])
    assert summary["balanced"] and summary["written"] + summary["skipped"] == records
    letters = [json.loads(line) for f in (output / "dead_letter").glob("*.jsonl")
               for line in f.read_text().splitlines()]
    assert Counter(d["reason"] for d in letters) == Counter(
        {"bad_json": 2, "invalid_record": 2, "corrupt_archive": 1})
    assert all(d["replay"]["path"].startswith(str(inputs)) for d in letters)
    assert [d["unread_bytes"] for d in letters if d["unread_bytes"] is not None] == [unread]
    assert f"1 file(s) could not be read to the end: {unread:,} bytes unread" in \
        format_summary(summary)


def test_dead_letter_raw_truncation_is_always_flagged():
    assert dead_letter("read", "x", "e", "r", raw="a" * 10).raw_truncated is False
    assert dead_letter("read", "x", "e", "r", raw="a" * 10, raw_truncated=True).raw_truncated
    cut = dead_letter("read", "x", "e", "r", raw=("é" * 10).encode()[:-1], raw_truncated=True)
    assert (cut.raw, cut.raw_encoding) == ("é" * 9, "text")  # not base64 for a cut character
    capped = dead_letter("read", "x", "e", "r", raw=b"\xff" * 2_000_000)
    assert capped.raw_encoding == "base64" and capped.raw_truncated
    assert len(capped.raw) <= 1_000_000


def test_lone_surrogates_in_json_become_replacement_characters(tmp_path):
    """JSON may escape half a surrogate pair; no Parquet writer can store it (it used to fail
    the whole partition file in the sink, and with it the run)."""
    path = tmp_path / "surrogates.jsonl"
    body = "The council voted on the new budget on Tuesday evening. " * 20
    lines = [_line(1), '{"url": "https://a.test/2", "title": "Vote \\ud800", '
             '"tags": ["x\\udfff"], "text": "' + body + ' \\ud83d end"}']
    _write_lines(path, lines)
    _first, second = iter_file_records(str(path))
    assert (second.title, second.tags) == ("Vote \ufffd", ("x\ufffd",))
    assert second.body.endswith(" \ufffd end")
    summary = run_backfill([str(path)], tmp_path / "out", "--no_dedup")
    assert (summary["read"], summary["written"], summary["dead_letters"]) == (2, 2, 0)


def test_a_row_no_writer_can_store_is_its_records_dead_letter():
    from datetime import UTC, datetime

    from newsflow.schemas import Draft
    from newsflow.transforms.process import BuildArticleStep

    record = RawRecord(url="https://a.test/x", body="<html>raw</html>", body_kind="html",
                       source_format="feed", source_ref="feed#x")
    step = BuildArticleStep(datetime(2026, 1, 1, tzinfo=UTC))
    step.setup()
    letter = step.apply(Draft(record=record, text="Body.", title="Half a pair \ud800"))
    assert isinstance(letter, DeadLetter)
    assert (letter.stage, letter.reason, letter.source_ref, letter.raw) == (
        "build", "invalid_text", "feed#x", "<html>raw</html>")
    assert "`title`" in letter.error
