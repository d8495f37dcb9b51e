"""Hostile inputs, replayed: what each one becomes, and what it costs in memory and time.

    python -m bench.hostile [--quick] [--samples DIR] [--keep DIR]

Every case runs in a process of its own, which reports its outcome and its peak RSS:

1. Backfill: each case is an input file run through ``newsflow backfill`` (FnApiRunner,
   in-process): the cases of issue 11 (a year-one date with an offset, a 5,001-digit integer,
   JSON nested 100,000 deep, a text dump dated 2024-13-45, a lone surrogate in a JSONL
   title, WARC records declaring
   ``charset=undefined``/``punycode``, a 200 MB ``text`` value, a 100 MB page, a JSONL.gz whose
   second gzip member is corrupt, junk inside a plain WARC) and every WARC/ARC file of the
   shared samples. The outcome is the run summary: rows written, dead letters by reason,
   file-level losses and whether it balanced. The baseline is a benign one-line JSONL run in
   the same session: the peak of a hostile case divided by it shows what the input added to
   Beam's own footprint.
2. Live path: the HTTP and feed cases through the guarded client against a loopback server
   (tests/httpserver.py) and through ``parse_feed``: a body cut short of its Content-Length,
   262,000 empty gzip members, a redirect to ``http://[abc/``, a header with CR/LF, a feed of
   100,000 items, one nested 50,000 deep, one with ``&#55296;`` in a title, and the costliest
   feed still under the caps. The
   outcome is the result or the failure reason, with the case's CPU seconds and RSS growth
   (imports done before the clock starts).

``--quick`` leaves out the two cases that write 200 MB and 100 MB files. Nothing is asserted
(tests/test_hostile_*.py do that); only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BIG_LINE_MB = 200
BIG_PAGE_MB = 100
ARTICLE = ("<html><head><meta charset='utf-8'><title>Budget</title></head><body><article>"
           "<h1>Café budget</h1><p>" + "Ministers agreed on the budget after a long night. " * 30
           + "</p></article></body></html>")


# --------------------------------------------------------------------------------------------
# Inputs


def _jsonl(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _record(index: int, **fields) -> str:
    return json.dumps({"url": f"https://bench.test/{index}", "html": ARTICLE, **fields})


def _warc(path: Path, pages: list[tuple[str, bytes, str]], compress: bool = True) -> Path:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=compress)
        for url, body, content_type in pages:
            headers = StatusAndHeaders("200 OK", [("Content-Type", content_type)],
                                       protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), http_headers=headers))
    return path


def _big_line(path: Path) -> Path:
    chunk = "x" * (1 << 20)
    with open(path, "w") as handle:
        handle.write(_record(1) + "\n" + '{"url": "https://bench.test/big", "text": "')
        for _ in range(BIG_LINE_MB):
            handle.write(chunk)
        handle.write('"}\n' + _record(3) + "\n")
    return path


def _corrupt_gzip(path: Path) -> Path:
    good = gzip.compress("".join(_record(i) + "\n" for i in range(10)).encode(), mtime=0)
    broken = bytearray(gzip.compress("".join(_record(i) + "\n" for i in range(10, 30)).encode(),
                                     mtime=0))
    broken[10:30] = b"\xff" * 20
    path.write_bytes(good + bytes(broken))
    return path


def _junk_warc(path: Path, samples: Path) -> Path:
    clean = (samples / "warc/warcio/example.warc").read_bytes()
    cut = clean.index(b"WARC/1.0", 100)
    path.write_bytes(clean[:cut] + b"\x00\x01junk\xff\r\n" + clean[cut:])
    return path


def backfill_cases(work: Path, samples: Path, quick: bool) -> list[tuple[str, Path]]:
    """``(name, input file)`` per case, the benign baseline first."""
    page = ARTICLE.encode()
    (work / "dump.txt").write_text(" date 2024-13-45 " + "A sentence of a news dump. " * 30)
    cases = [
        ("benign one-line JSONL (baseline)", _jsonl(work / "benign.jsonl", _record(1))),
        ("published_at 0001-01-01T00:00:00+01:00", _jsonl(
            work / "overflow.jsonl", _record(1),
            _record(2, published_at="0001-01-01T00:00:00+01:00"), _record(3), _record(4))),
        ("5,001-digit integer", _jsonl(work / "bigint.jsonl", _record(1),
                                       '{"url": "https://bench.test/2", "n": ' + "9" * 5001 + "}",
                                       _record(3))),
        ("JSON nested 100,000 deep", _jsonl(work / "deep.jsonl", _record(1),
                                            "[" * 100_000 + "]" * 100_000, _record(3))),
        ("text dump ' date 2024-13-45 '", work / "dump.txt"),
        ("lone surrogate (\\ud800) in a JSONL title", _jsonl(
            work / "surrogate.jsonl", _record(1),
            _record(2).replace('"url"', '"title": "Vote \\ud800", "url"', 1))),
        ("WARC charset=undefined / punycode", _warc(work / "charsets.warc.gz", [
            ("https://bench.test/0", page, "text/html"),
            ("https://bench.test/undefined", page, "text/html; charset=undefined"),
            ("https://bench.test/punycode", page, "text/html; charset=punycode")] + [
            (f"https://bench.test/{i}", page, "text/html") for i in range(1, 5)])),
        ("JSONL.gz, 2nd gzip member corrupt", _corrupt_gzip(work / "corrupt.jsonl.gz")),
        ("junk inside a plain WARC", _junk_warc(work / "junk.warc", samples)),
    ]
    if not quick:
        cases.append((f"{BIG_LINE_MB} MB `text` value", _big_line(work / "big.jsonl")))
        body = b"<html><body><p>" + b"a" * (BIG_PAGE_MB << 20) + b"</p></body></html>"
        cases.append((f"{BIG_PAGE_MB} MB page in a WARC", _warc(
            work / "bigpage.warc", [("https://bench.test/big", body, "text/html"),
                                    ("https://bench.test/after", page, "text/html")], False)))
    for path in sorted((samples / "warc").rglob("*")):
        if path.is_file() and path.name not in ("LICENSE", "NOTICE"):
            cases.append((f"sample {path.relative_to(samples / 'warc')}", path))
    return cases


# --------------------------------------------------------------------------------------------
# Live-path cases (each a function run in its own process)


def _server():
    from tests.httpserver import LoopbackServer

    return LoopbackServer()


def _fetch_outcome(path: str, answer, headers: dict | None = None) -> str:
    from newsflow.transforms.http import FetchError, FetchPolicy, fetch

    policy = FetchPolicy(allow_loopback=True, total_timeout=10.0)
    with _server() as server:
        server.route(path, answer)
        try:
            result = fetch(server.url(path), policy, headers)
        except FetchError as error:
            return f"FetchError {error.reason}"
        return f"HTTP {result.status}, {len(result.body):,}-byte body"


def case_truncated_body() -> str:
    from tests.httpserver import Response

    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n"
    return _fetch_outcome("/cut", Response(raw=head + b"<html>27 bytes of 100000"))


def case_gzip_members() -> str:
    from tests.httpserver import Response

    body = gzip.compress(b"", mtime=0) * 262_000
    return _fetch_outcome("/members", Response(body=body, headers={
        "Content-Encoding": "gzip", "Content-Type": "text/html"}))


def case_bad_redirect() -> str:
    from tests.httpserver import redirect

    return _fetch_outcome("/moved", redirect("http://[abc/"))


def case_crlf_header() -> str:
    from tests.httpserver import static

    return _fetch_outcome("/feed.xml", static(b"<rss/>"), {"X-Token": "a\r\nX-Injected: 1"})


def _parse(body: bytes) -> str:
    from newsflow.transforms.feeds.parse import parse_feed

    parsed = parse_feed(body, {"content-type": "application/rss+xml"}, "https://bench.test/rss")
    if parsed.error:
        return f"{parsed.error} ({parsed.error_detail})"
    return f"{len(parsed.entries)} entries kept of {parsed.entries_total}"


def _rss(items: bytes) -> bytes:
    return b'<?xml version="1.0"?><rss version="2.0"><channel>' + items + b"</channel></rss>"


def case_feed_items() -> str:
    return _parse(_rss(b"".join(b"<item><link>https://a.test/%06d</link></item>" % i
                                for i in range(100_000))))


def case_feed_nested() -> str:
    return _parse(_rss(b"<item><title>x</title>" + b"<a>" * 50_000 + b"x" + b"</a>" * 50_000
                       + b"</item>"))


def case_feed_surrogate_ref() -> str:
    return _parse(_rss(b"<item><title>A &#55296; B</title><link>https://a.test/1</link></item>"
                       b"<item><title>fine</title><link>https://a.test/2</link></item>"))


def case_feed_under_caps() -> str:
    # 4,900 entries (cap 5,000) and ~196,000 tags and entities (cap 200,000)
    item = b"<item><title>t &amp; u</title><link>https://a.test/%05d</link><d>&lt;p&gt;</d></item>"
    return _parse(_rss(b"".join(item % i for i in range(4_900))))


LIVE_CASES: dict[str, tuple[str, Callable[[], str]]] = {
    "truncated_body": ("Content-Length 100000, 27 bytes sent", case_truncated_body),
    "gzip_members": ("262,000 empty gzip members (5.2 MB)", case_gzip_members),
    "bad_redirect": ("redirect to http://[abc/", case_bad_redirect),
    "crlf_header": ("configured header with CR/LF", case_crlf_header),
    "feed_items": ("feed of 100,000 items (4.7 MB)", case_feed_items),
    "feed_nested": ("feed nested 50,000 deep", case_feed_nested),
    "feed_surrogate_ref": ("feed title with &#55296;", case_feed_surrogate_ref),
    "feed_under_caps": ("costliest feed under the caps", case_feed_under_caps),
}


# --------------------------------------------------------------------------------------------
# Running one case in a child process


def peak_rss_mb() -> float:
    """The peak RSS of this process or of its largest finished child, in MB.

    This process's from ``VmHWM``: its ``ru_maxrss`` also counts the RSS its parent had when
    it forked this process (1.7 GB for a child of a long pytest run), exec or not.
    """
    with open("/proc/self/status") as status:
        own_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    return max(own_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def _child_backfill(path: str, output: str) -> dict:
    from newsflow.pipelines.cli import main

    code = main(["backfill", f"--input={path}", f"--output={output}", "--runner=FnApiRunner",
                 "--extract_timeout=0", "--no_dedup", "--max_dead_letter_ratio=1"])
    summaries = list(Path(output, "runs").glob("*.json"))
    summary = json.loads(summaries[0].read_text()) if summaries else {}
    return {"exit": code, "summary": summary}


def _child(argv: list[str]) -> None:
    """``--child backfill PATH OUTPUT`` or ``--child live NAME``: one JSON line on stdout.

    Live cases import what they use first, so CPU seconds and RSS growth are the case's own.
    """
    if argv[0] == "live":
        import feedparser  # noqa: F401

        import tests.httpserver  # noqa: F401
        from newsflow.transforms import http  # noqa: F401
        from newsflow.transforms.feeds import parse  # noqa: F401
    before = peak_rss_mb()
    started, cpu = time.monotonic(), time.process_time()
    if argv[0] == "backfill":
        report = _child_backfill(argv[1], argv[2])
    else:
        report = {"outcome": LIVE_CASES[argv[1]][1]()}
    report.update(seconds=time.monotonic() - started, cpu=time.process_time() - cpu,
                  peak_mb=peak_rss_mb(), growth_mb=peak_rss_mb() - before)
    print("REPORT " + json.dumps(report), flush=True)


def _run_child(*args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "bench.hostile", "--child", *args],
                            capture_output=True, text=True, timeout=900)
    for line in result.stdout.splitlines():
        if line.startswith("REPORT "):
            return json.loads(line[len("REPORT "):])
    return {"outcome": f"crashed (exit {result.returncode}): {result.stderr[-300:]!r}",
            "peak_mb": float("nan"), "growth_mb": float("nan"), "seconds": float("nan"),
            "cpu": float("nan")}


def describe(summary: dict) -> str:
    """One line of a run summary: rows, dead letters by reason, file losses, balance."""
    if not summary:
        return "no run summary"
    dead = ", ".join(f"{reason.split(':', 1)[1]} {count}"
                     for reason, count in summary["dead_letters_by_reason"].items())
    text = (f"read {summary['read']}: {summary['written']} rows, {summary['skipped']} skipped, "
            f"{summary['dead_letters']} dead" + (f" ({dead})" if dead else ""))
    if summary.get("file_losses"):
        text += (f"; {summary['file_losses']} file loss, "
                 f"{summary['unread_bytes']:,} B unread")
    return text + ("; balanced" if summary["balanced"] else "; NOT BALANCED")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--child":
        _child(argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"skip the {BIG_LINE_MB} MB line and the {BIG_PAGE_MB} MB page")
    shared = os.environ.get("NEWSFLOW_SHARED",
                            str(Path(__file__).resolve().parents[1].parent / "shared"))
    parser.add_argument("--samples", default=str(Path(shared) / "samples"),
                        help="the shared samples folder (default: $NEWSFLOW_SHARED/samples or "
                             "../shared/samples)")
    parser.add_argument("--keep", default=None, help="write inputs and outputs here and keep them")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="newsflow-hostile-") as temporary:
        work = Path(args.keep or temporary)
        (work / "in").mkdir(parents=True, exist_ok=True)
        cases = backfill_cases(work / "in", Path(args.samples), args.quick)
        print("| backfill case | outcome | peak RSS | × baseline | seconds |")
        print("| --- | --- | ---: | ---: | ---: |")
        baseline = None
        for index, (name, path) in enumerate(cases):
            report = _run_child("backfill", str(path), str(work / f"out{index}"))
            baseline = baseline or report["peak_mb"]
            outcome = (describe(report["summary"]) if "summary" in report
                       else report["outcome"])
            if report.get("exit"):
                outcome += f" (exit {report['exit']})"
            print(f"| {name} | {outcome} | {report['peak_mb']:.0f} MB | "
                  f"{report['peak_mb'] / baseline:.2f} | {report['seconds']:.1f} |", flush=True)
        print()
        print("| live-path case | outcome | CPU s | RSS growth |")
        print("| --- | --- | ---: | ---: |")
        for key, (name, _) in LIVE_CASES.items():
            report = _run_child("live", key)
            print(f"| {name} | {report['outcome']} | {report['cpu']:.2f} | "
                  f"{report['growth_mb']:.0f} MB |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
