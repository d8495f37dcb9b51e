"""Readers: every record ends as a RawRecord, a Skip or a DeadLetter, whatever the file holds."""

import gzip
import io
import json
from collections import Counter
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from newsflow.schemas import DeadLetter, RawRecord, Skip
from newsflow.transforms.archives import (
    NOT_AN_INPUT,
    detect_format,
    iter_file_records,
    jsonl_record,
    sniff_format,
)

ARTICLE_HTML = ("<html><head><meta charset='utf-8'><title>Test</title></head><body><article>"
                "<h1>Headline</h1><p>" + "Body text of a real article. " * 30 +
                "</p></article></body></html>")
CYRILLIC_HTML = ("<html><head><title>Новости</title></head><body><p>" +
                 "Правительство объявило о новых мерах поддержки экономики. " * 10 +
                 "</p></body></html>")


def _kinds(outcomes) -> Counter:
    return Counter(type(o).__name__ + (f":{o.reason}" if not isinstance(o, RawRecord) else "")
                   for o in outcomes)


def _response(writer, url, body: bytes, content_type="text/html", status="200 OK"):
    headers = StatusAndHeaders(status, [("Content-Type", content_type)], protocol="HTTP/1.1")
    record = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                       http_headers=headers)
    writer.write_record(record)


def make_warc(path: Path, truncate_last: bool = False) -> None:
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        _response(writer, "https://news.test/a", ARTICLE_HTML.encode())
        _response(writer, "https://news.test/logo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50,
                  "image/png")
        _response(writer, "https://news.test/ru", CYRILLIC_HTML.encode("windows-1251"),
                  "text/html; charset=windows-1251")
        _response(writer, "https://news.test/missing", b"<html>not found</html>",
                  status="404 Not Found")
        _response(writer, "https://news.test/last", ARTICLE_HTML.encode())
    if truncate_last:
        data = path.read_bytes()
        path.write_bytes(data[:-200])


def test_warc_made_with_warcio(tmp_path):
    path = tmp_path / "made.warc.gz"
    make_warc(path)
    outcomes = list(iter_file_records(str(path)))
    assert _kinds(outcomes) == Counter({"RawRecord": 3, "Skip:not_html": 1,
                                        "Skip:http_status": 1})
    records = {o.url: o for o in outcomes if isinstance(o, RawRecord)}
    assert "Правительство объявило" in records["https://news.test/ru"].body  # decoded cp1251
    assert records["https://news.test/a"].fetched_at is not None
    assert all(o.source_ref.startswith(f"{path}@") for o in outcomes)


def test_truncated_last_record_is_a_dead_letter_and_earlier_records_survive(tmp_path):
    path = tmp_path / "cut.warc.gz"
    make_warc(path, truncate_last=True)
    outcomes = list(iter_file_records(str(path)))
    kinds = _kinds(outcomes)
    assert kinds["RawRecord"] == 2
    assert kinds["Skip:not_html"] == 1 and kinds["Skip:http_status"] == 1
    dead = [o for o in outcomes if isinstance(o, DeadLetter)]
    assert len(dead) == 1 and dead[0].reason in ("truncated_record", "truncated_archive")


EXPECTED_SAMPLES = {
    "resiliparse/warcfile.warc.gz": {"RawRecord": 16, "Skip:not_response": 34},
    "resiliparse/clipped.warc.gz": {"DeadLetter:truncated_record": 1},
    "warcio/bad.arc": {"Skip:not_response": 1, "DeadLetter:corrupt_record": 3},
    "warcio/example-bad-non-chunked.warc.gz": {"RawRecord": 1, "Skip:not_response": 4,
                                               "Skip:revisit": 1},
    "warcio/example-bad.warc.gz.bad": {"RawRecord": 1, "Skip:not_response": 3,
                                       "Skip:revisit": 1, "Skip:http_status": 1},
    "warcio/example-digest.warc": {"Skip:not_response": 4},
    "warcio/example-iana.org-chunked.warc": {"RawRecord": 1, "Skip:not_response": 2},
    "warcio/example-resource.warc.gz": {"RawRecord": 1, "Skip:not_response": 2},
    "warcio/example-space-in-target-uri.warc.gz": {"Skip:not_response": 1,
                                                   "Skip:not_http": 1},
    "warcio/example-space-in-url.arc": {"Skip:not_response": 1,
                                        "DeadLetter:truncated_record": 1},
    "warcio/example-trunc.warc": {"Skip:not_response": 3, "DeadLetter:digest_mismatch": 1},
    "warcio/example-wget-bad-target-uri.warc.gz": {"RawRecord": 1, "Skip:not_response": 3,
                                                   "Skip:not_http": 2},
    "warcio/example-wrong-chunks.warc.gz": {"DeadLetter:digest_mismatch": 1,
                                            "Skip:not_response": 1},
    "warcio/example.arc": {"RawRecord": 1, "Skip:not_response": 1},
    "warcio/example.arc.gz": {"RawRecord": 1, "Skip:not_response": 1},
    "warcio/example.warc": {"RawRecord": 1, "Skip:not_response": 4, "Skip:revisit": 1},
    "warcio/example.warc.gz": {"RawRecord": 1, "Skip:not_response": 4, "Skip:revisit": 1},
    "warcio/post-test.warc.gz": {"Skip:not_html": 3, "Skip:not_response": 3},
}


def test_every_sample_archive_is_covered(samples_dir):
    files = {str(p.relative_to(samples_dir / "warc")) for p in (samples_dir / "warc").rglob("*")
             if p.is_file() and p.name not in ("LICENSE", "NOTICE")}
    assert files == set(EXPECTED_SAMPLES)


@pytest.mark.parametrize("name", sorted(EXPECTED_SAMPLES))
def test_sample_archives_give_records_or_dead_letters(samples_dir, name):
    path = samples_dir / "warc" / name
    outcomes = list(iter_file_records(str(path)))
    assert _kinds(outcomes) == Counter(EXPECTED_SAMPLES[name])
    for outcome in outcomes:
        assert outcome.source_ref.startswith(str(path))
        if isinstance(outcome, RawRecord):
            assert outcome.url.startswith("http") and "<html" in outcome.body.lower()
        if isinstance(outcome, DeadLetter):
            assert outcome.stage == "read" and outcome.error


def test_common_crawl_charsets_decode(samples_dir):
    records = [o for o in iter_file_records(str(samples_dir / "warc/resiliparse/warcfile.warc.gz"))
               if isinstance(o, RawRecord)]
    bodies = {r.url: r.body for r in records}
    assert any("\ufffd" not in body and any("\u0400" <= ch <= "\u04ff" for ch in body)
               for url, body in bodies.items() if "01spb.ru" in url)  # windows-1251
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in body)
               for url, body in bodies.items() if "037426.cn" in url)  # gb2312


def test_jsonl_with_broken_and_invalid_lines(tmp_path):
    path = tmp_path / "export.jsonl"
    lines = [
        json.dumps({"url": "https://a.test/1", "html": ARTICLE_HTML, "title": "One",
                    "published_at": "2023-09-15T10:00:00Z", "tags": ["World", "Asia"]}),
        "{not json",
        json.dumps({"url": "https://a.test/2", "text": "Plain text body " * 20,
                    "fetched_at": "2023-09-16"}),
        json.dumps({"url": "https://a.test/3"}),
        json.dumps({"url": "https://a.test/4", "text": "x", "published_at": "yesterday"}),
        "",
        json.dumps(["a list"]),
    ]
    path.write_text("\n".join(lines) + "\n")
    outcomes = list(iter_file_records(str(path)))
    assert _kinds(outcomes) == Counter({"RawRecord": 2, "DeadLetter:bad_json": 1,
                                        "DeadLetter:invalid_record": 3})
    first = outcomes[0]
    assert first.published_source == "archive_record" and first.tags == ("World", "Asia")
    assert outcomes[1].source_ref == f"{path}:2" and outcomes[1].raw == "{not json"
    assert outcomes[2].body_kind == "text"


def test_jsonl_gz_and_html_folder(tmp_path):
    with gzip.open(tmp_path / "export.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"url": "https://a.test/1", "text": "Body " * 50}) + "\n")
    (tmp_path / "page.html").write_text(ARTICLE_HTML)
    (tmp_path / "page2.html.gz").write_bytes(gzip.compress(ARTICLE_HTML.encode()))
    for name, fmt in (("export.jsonl.gz", "jsonl"), ("page.html", "html_file"),
                      ("page2.html.gz", "html_file")):
        outcomes = list(iter_file_records(str(tmp_path / name)))
        assert len(outcomes) == 1 and isinstance(outcomes[0], RawRecord), name
        assert outcomes[0].source_format == fmt


def test_binary_junk_is_a_dead_letter(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 8)
    outcomes = list(iter_file_records(str(junk)))
    assert _kinds(outcomes) == Counter({"DeadLetter:unknown_format": 1})
    fake_gz = tmp_path / "fake.warc.gz"
    fake_gz.write_bytes(b"\x1f\x8b\x08\x00garbage that is not deflate")
    outcomes = list(iter_file_records(str(fake_gz)))
    assert len(outcomes) == 1 and isinstance(outcomes[0], DeadLetter)


def test_format_detection():
    assert detect_format("a/x.warc.gz", b"") == "warc"
    assert detect_format("a/x.ARC", b"") == "arc"
    assert detect_format("a/x.bad", gzip.compress(b"WARC/1.0\r\n")) == "warc"
    assert detect_format("a/noext", b"filedesc://x") == "arc"
    assert detect_format("a/noext", b'{"url": 1}') == "jsonl"
    assert detect_format("a/noext", b"<!DOCTYPE html><html>") == "html_file"
    assert detect_format("a/noext", b" date 2023-09-15 Body") == "text_dump"
    assert sniff_format(b"\x00\x01\x02binary") is None


def test_text_that_is_not_a_dump_is_a_counted_skip(seeds_dir, tmp_path):
    """A glob over a dump folder also matches its README or LICENSE: plain text without the
    dump's leading date is skipped as not_an_input, never ingested as an article."""
    (tmp_path / "LICENSE").write_text("Apache License\nVersion 2.0, January 2004\n")
    (tmp_path / "dump-0001").write_text(" date 2023-09-15 A dump without an extension.\n")
    (tmp_path / "undated.txt").write_text("A .txt file is a text dump by its name.\n")
    assert detect_format(str(tmp_path / "LICENSE"), b"Apache License") == NOT_AN_INPUT
    outcomes = {path.name: list(iter_file_records(str(path)))
                for path in [*tmp_path.iterdir(), seeds_dir / "README.md"]}
    assert outcomes["LICENSE"] == [Skip("read", "not_an_input", str(tmp_path / "LICENSE"))]
    assert outcomes["README.md"] == [Skip("read", "not_an_input",
                                          str(seeds_dir / "README.md"))]
    assert isinstance(outcomes["dump-0001"][0], RawRecord)
    assert outcomes["dump-0001"][0].published_at.year == 2023
    assert isinstance(outcomes["undated.txt"][0], RawRecord)


def test_text_dump_prefix(seeds_dir):
    records = [next(iter_file_records(str(p))) for p in sorted(seeds_dir.glob("*.txt"))]
    dates = [r.published_at.date().isoformat() if r.published_at else None for r in records]
    assert dates == ["2023-11-12", "2023-09-15", "2023-09-15", None, "2023-09-15"]
    assert all(isinstance(r, RawRecord) and r.body_kind == "text" for r in records)
    assert not records[0].body.startswith(" date")


def test_jsonl_record_is_pure():
    assert isinstance(jsonl_record('{"url": "u", "text": "t"}', "f:1"), RawRecord)
    assert isinstance(jsonl_record('{"url": "u", "text": "t", "tags": 5}', "f:1"), DeadLetter)
    assert not isinstance(jsonl_record("{}", "f:1"), Skip)
