"""Quality on real pages: newsflow's processing path against bare trafilatura and htmldate.

    python -m bench.quality [--shared ../shared] [--pages] [--gold tests/data/golden_pages.json]

The pages are the development set (``shared/devset``: 30 real pages) and the Common Crawl
records of ``shared/samples/warc/resiliparse/warcfile.warc.gz``; what each page really says
(title, publication instant with its offset, authors, page type, first and last paragraph)
was checked by reading it and is kept in ``tests/data/golden_pages.json``. In one run, on the
same pages:

* newsflow: the processing steps of the pipelines (``processing_steps``, run in-process with
  ``run_steps``: extract, clean, classify, dates, language, build, topics);
* trafilatura: ``bare_extraction(html, url=url, with_metadata=True)`` with its defaults;
* htmldate: ``find_date(html, url=url, original_date=True)`` keeping the time of day.

Scores, over the pages that are articles (``type: article``):

* pages kept: the share of article pages that come out as an article;
* body F1: token F1 against the devset's reference text (newspaper4k's expected text; a page
  not kept scores 0; unspaced scripts are compared character by character);
* title: exact match after collapsing whitespace;
* date day: the calendar day stored (``dt``: the UTC day, or the day of a day-only date)
  equals the page's own date in UTC;
* local day: the stored instant read in the publisher's offset (or the stored day of a
  day-only date) equals the page's own local date; a time without a stated offset is read
  as UTC, as a reader of the table would;
* within 1 min: the stored instant is within a minute of the page's own timestamp (pages
  stating a time only);
* authors: author-set F1 per page (names compared case- and punctuation-blind; both empty
  counts 1), averaged.

CPU per page is ``time.process_time`` per page of each system (newsflow extracting in-process,
without the time-limit child). Nothing is asserted here; ``tests/test_golden_pages.py`` checks
the per-page values.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOLD = REPO / "tests" / "data" / "golden_pages.json"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
HTMLDATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_UNSPACED = re.compile(r"[\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
                       r"\uac00-\ud7af]")
_WORD = re.compile(r"\w+")
_WS = re.compile(r"\s+")


@dataclass
class Page:
    gold: dict
    html: str
    url: str | None
    fetched_at: datetime | None
    reference: str | None  # the devset's expected text, when there is one


@dataclass
class Output:
    """What one system made of one page."""

    kept: bool = False
    title: str | None = None
    instant: datetime | None = None  # UTC
    offset_min: int | None = None
    precision: str | None = None  # "time" | "day"
    naive: bool = False  # a wall-clock time without offset (baselines only)
    authors: tuple[str, ...] = ()
    text: str = ""
    reason: str | None = None  # why it was not kept
    cpu_s: float = 0.0
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Pages


def load_gold(path: Path = GOLD) -> list[dict]:
    return json.loads(path.read_text("utf-8"))["pages"]


def _warc_records(path: Path) -> dict[str, object]:
    from newsflow.schemas import RawRecord
    from newsflow.transforms.archives import iter_file_records

    return {o.source_ref.rsplit("@", 1)[1]: o for o in iter_file_records(str(path))
            if isinstance(o, RawRecord)}


def load_pages(shared: Path, gold: list[dict] | None = None) -> list[Page]:
    """Every annotated page with its HTML (decoded as the pipeline's readers decode it)."""
    gold = gold if gold is not None else load_gold()
    devset = shared / "devset" / "newspaper4k"
    warcs: dict[str, dict] = {}
    pages = []
    for entry in gold:
        kind, _, ref = entry["page"].partition(":")
        if kind == "devset":
            html = (devset / "html" / f"{ref}.html").read_bytes().decode("utf-8", "replace")
            reference = devset / "txt" / f"{ref}.txt"
            pages.append(Page(entry, html, entry.get("url"), None,
                              reference.read_text("utf-8") if reference.exists() else None))
        else:
            name, _, offset = ref.partition("@")
            if name not in warcs:
                warcs[name] = _warc_records(shared / "samples" / "warc" / name)
            record = warcs[name][offset]
            pages.append(Page(entry, record.body, record.url, record.fetched_at, None))
    return pages


# ---------------------------------------------------------------------------------------------
# Systems


def _record(page: Page, index: int):
    from newsflow.schemas import RawRecord

    return RawRecord(url=page.url, body=page.html, body_kind="html", source_format="html_file",
                     source_ref=f"page@{index}", fetched_at=page.fetched_at)


def run_newsflow(pages: list[Page]) -> list[Output]:
    """The pipelines' own processing steps, in-process, page by page."""
    from newsflow.schemas import Article
    from newsflow.transforms.extract import ExtractSettings
    from newsflow.transforms.process import ProcessSettings, processing_steps
    from newsflow.transforms.stage import run_steps, steps_ready

    settings = ProcessSettings(extract=ExtractSettings(timeout_s=0), ingested_at=NOW, now=NOW)
    steps = [step for _, step in processing_steps(settings)]
    outputs = []
    with steps_ready(steps):
        run_steps(steps, _record(pages[0], -1))  # warm-up: first calls load models and data
        for index, page in enumerate(pages):
            started = time.process_time()
            outcome = run_steps(steps, _record(page, index))
            cpu = time.process_time() - started
            if not isinstance(outcome, Article):
                outputs.append(Output(reason=f"{outcome.stage}:{outcome.reason}", cpu_s=cpu))
                continue
            outputs.append(Output(
                kept=True, title=outcome.title, instant=outcome.published_at,
                offset_min=outcome.published_offset_min, precision=outcome.published_precision,
                authors=outcome.authors, text=outcome.text, cpu_s=cpu,
                extra={"date_source": outcome.date_source, "wire": outcome.wire}))
    return outputs


def _baseline_date(value: str | None) -> tuple[datetime | None, int | None, str | None, bool]:
    from newsflow.transforms.timestamps import parse_date_value

    parsed = parse_date_value(value) if value else None
    if parsed is None:
        return None, None, None, False
    return parsed.instant, parsed.offset_min, parsed.precision, parsed.naive


def run_trafilatura(pages: list[Page]) -> list[Output]:
    import trafilatura

    outputs = []
    trafilatura.bare_extraction(pages[0].html, url=pages[0].url, with_metadata=True)  # warm-up
    for page in pages:
        started = time.process_time()
        document = trafilatura.bare_extraction(page.html, url=page.url, with_metadata=True)
        cpu = time.process_time() - started
        if document is None or not (document.text or "").strip():
            outputs.append(Output(reason="no_text", cpu_s=cpu))
            continue
        instant, offset, precision, naive = _baseline_date(document.date)
        authors = tuple(a.strip() for a in (document.author or "").split(";") if a.strip())
        outputs.append(Output(kept=True, title=document.title, instant=instant,
                              offset_min=offset, precision=precision, naive=naive,
                              authors=authors, text=document.text, cpu_s=cpu))
    return outputs


def run_htmldate(pages: list[Page]) -> list[Output]:
    from htmldate import find_date

    outputs = []
    find_date(pages[0].html, url=pages[0].url)  # warm-up
    for page in pages:
        started = time.process_time()
        found = find_date(page.html, url=page.url, original_date=True,
                          outputformat=HTMLDATE_FORMAT)
        cpu = time.process_time() - started
        instant, offset, precision, naive = _baseline_date(found)
        outputs.append(Output(kept=True, instant=instant, offset_min=offset,
                              precision=precision, naive=naive, cpu_s=cpu))
    return outputs


# ---------------------------------------------------------------------------------------------
# Scores


def tokens(text: str) -> list[str]:
    out = []
    for word in _WORD.findall(text.casefold()):
        if _UNSPACED.search(word):
            out.extend(word)
        else:
            out.append(word)
    return out


def token_f1(candidate: str, reference: str) -> float:
    from collections import Counter

    got, want = Counter(tokens(candidate)), Counter(tokens(reference))
    overlap = sum((got & want).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(got.values()), overlap / sum(want.values())
    return 2 * precision * recall / (precision + recall)


def name_key(name: str) -> str:
    return re.sub(r"[\W_]+", "", name.casefold())


def authors_f1(got, want) -> float:
    got, want = {name_key(a) for a in got}, {name_key(a) for a in want}
    if not got and not want:
        return 1.0
    overlap = len(got & want)
    if not overlap:
        return 0.0
    precision, recall = overlap / len(got), overlap / len(want)
    return 2 * precision * recall / (precision + recall)


def normalize(text: str | None) -> str:
    return _WS.sub(" ", text or "").strip()


def gold_date(gold: dict):
    """``(instant, local date, precision)`` of the page's own statement, or None."""
    from newsflow.transforms.timestamps import parse_date_value

    parsed = parse_date_value(gold.get("published"))
    if parsed is None:
        return None
    return parsed.instant, parsed.local.date(), parsed.precision


def date_checks(output: Output, gold: dict) -> dict[str, bool | None]:
    """``day``, ``local_day``, ``minute`` for one page (None: not applicable)."""
    stated = gold_date(gold)
    if stated is None:
        return {"day": None, "local_day": None, "minute": None}
    instant, local_day, precision = stated
    minute = None if precision == "day" else False
    if output.instant is None:
        return {"day": False, "local_day": False, "minute": minute}
    if output.precision == "day":
        ours_day = ours_local = output.instant.date()
    else:
        ours_day = output.instant.date()
        if output.naive:  # a baseline's wall-clock time: its own date
            ours_local = output.instant.date()
        else:
            offset = timedelta(minutes=parse_offset(gold))
            ours_local = (output.instant + offset).date()
    if minute is not None:
        minute = output.precision == "time" and abs(output.instant - instant) <= \
            timedelta(minutes=1)
    gold_utc_day = instant.date() if precision == "time" else local_day
    return {"day": ours_day == gold_utc_day, "local_day": ours_local == local_day,
            "minute": minute}


def parse_offset(gold: dict) -> int:
    from newsflow.transforms.timestamps import parse_date_value

    parsed = parse_date_value(gold.get("published"))
    return parsed.offset_min or 0 if parsed is not None else 0


def paragraph_checks(output: Output, gold: dict) -> dict[str, bool | None]:
    paragraphs = [normalize(p) for p in output.text.split("\n\n") if p.strip()] \
        if output.kept else []
    checks = {}
    for key, index in (("first", 0), ("last", -1)):
        snippet = gold.get(key)
        checks[key] = None if snippet is None else bool(paragraphs) and \
            normalize(snippet) in paragraphs[index]
    return checks


def page_checks(output: Output, page: Page) -> dict[str, bool | None]:
    """Per field: True/False, or None when the page has nothing to check for it."""
    gold = page.gold
    article = gold["type"] == "article"
    checks: dict[str, bool | None] = {"type": output.kept == article}
    if not article:
        return checks
    checks["title"] = None if gold.get("title") is None else \
        normalize(output.title) == normalize(gold["title"])
    checks["published"] = None
    dates = date_checks(output, gold)
    if gold.get("published") is not None:
        checks["published"] = dates["minute"] if dates["minute"] is not None \
            else dates["local_day"]
    checks["authors"] = None if "authors" not in gold else \
        authors_f1(output.authors, gold["authors"]) == 1.0
    checks.update(paragraph_checks(output, gold))
    return checks


def scores(pages: list[Page], outputs: list[Output]) -> dict[str, float | None]:
    def mean(values):
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    articles = [(p, o) for p, o in zip(pages, outputs, strict=True)
                if p.gold["type"] == "article"]
    dates = [date_checks(o, p.gold) for p, o in articles]
    return {
        "pages kept": mean([o.kept for _, o in articles]),
        "body F1": mean([token_f1(o.text, p.reference) if o.kept else 0.0
                         for p, o in articles if p.reference]),
        "title exact": mean([normalize(o.title) == normalize(p.gold["title"])
                             for p, o in articles if p.gold.get("title")]),
        "date day": mean([d["day"] for d in dates]),
        "local day": mean([d["local_day"] for d in dates]),
        "within 1 min": mean([d["minute"] for d in dates]),
        "authors F1": mean([authors_f1(o.authors, p.gold["authors"])
                            for p, o in articles if "authors" in p.gold]),
        "CPU ms/page": 1000 * sum(o.cpu_s for o in outputs) / len(outputs),
    }


def count_line(pages: list[Page]) -> str:
    articles = [p for p in pages if p.gold["type"] == "article"]
    dated = [p for p in articles if gold_date(p.gold)]
    timed = [p for p in dated if gold_date(p.gold)[2] == "time"]
    return (f"{len(pages)} pages: {len(articles)} articles ({len(dated)} dated, {len(timed)} "
            f"with a time), {len(pages) - len(articles)} not articles")


def format_table(results: dict[str, dict]) -> str:
    systems = list(results)
    metrics = list(next(iter(results.values())))
    lines = ["| metric | " + " | ".join(systems) + " |",
             "| --- |" + " ---: |" * len(systems)]
    for metric in metrics:
        cells = []
        for system in systems:
            value = results[system].get(metric)
            cells.append("–" if value is None else (f"{value:.1f}" if metric.startswith("CPU")
                                                     else f"{value:.2f}"))
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared",
                        help="The shared data folder (devset/ and samples/).")
    parser.add_argument("--gold", type=Path, default=GOLD, help="The checked annotations.")
    parser.add_argument("--pages", action="store_true",
                        help="Also print every page's checks for newsflow.")
    args = parser.parse_args(argv)
    import logging

    logging.disable(logging.WARNING)  # trafilatura logs every page it discards
    pages = load_pages(args.shared, load_gold(args.gold))
    # the bare libraries first: newsflow's extraction tunes trafilatura's XPaths in this process
    bare = {"trafilatura": run_trafilatura(pages), "htmldate": run_htmldate(pages)}
    runs = {"newsflow": run_newsflow(pages), **bare}
    results = {name: scores(pages, outputs) for name, outputs in runs.items()}
    for metric in ("pages kept", "body F1", "title exact", "authors F1"):
        results["htmldate"][metric] = None
    print(count_line(pages))
    print(format_table(results))
    if args.pages:
        for page, output in zip(pages, runs["newsflow"], strict=True):
            checks = page_checks(output, page)
            failed = [k for k, v in checks.items() if v is False]
            print(f"{page.gold['page']:<48} {'ok' if not failed else 'MISS ' + ','.join(failed)}"
                  f"  ({output.cpu_s * 1000:.0f} ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
