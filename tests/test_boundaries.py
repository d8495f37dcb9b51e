"""Issue 11: one failure boundary for every DoFn that handles outside data.

Each test injects an exception nobody foresaw into the pure function a DoFn calls (for one
element only) and checks that this element becomes a dead letter with its source reference
while every other element goes on: no failed bundle, no streaming retry loop. Dedup is the one
deliberate difference: its input is already an article row, so a failure leaves the row
uncompared (its own canonical, counted) instead of turning it into a dead letter as well.
"""

import json
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue
from warcio.archiveiterator import ArchiveIterator

from newsflow.schemas import DeadLetter, Exchange, RawRecord, Skip, SkipBatch
from newsflow.schemas.feeds import FeedEntry
from newsflow.transforms import archives, exchanges, fetch
from newsflow.transforms.accounting import format_summary, outcome_counts, summarize
from newsflow.transforms.archives import RECORDS, ReadArchives, iter_file_records
from newsflow.transforms.dedup import DeduplicateArticles, DeduplicateStream, Fingerprinter
from newsflow.transforms.exchanges import ArchiveExchanges
from newsflow.transforms.feeds import poll
from newsflow.transforms.feeds.poll import PollFeeds
from newsflow.transforms.fetch import FetchArticles, FetchSettings
from newsflow.transforms.http import FetchPolicy
from newsflow.transforms.sinks import skips_to_jsonl
from newsflow.transforms.stage import DEAD, MAIN, OutcomeCounters, guarded
from tests.conftest import BEAM_TEST_ARGS
from tests.httpserver import LoopbackServer, static
from tests.test_hostile_readers import _line, _write_lines

T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
PAGE = ("<html><head><title>T</title></head><body><article><p>" +
        "The council voted on the new budget on Tuesday evening. " * 20 +
        "</p></article></body></html>")


def _letters(pcoll, label):
    return pcoll | label >> beam.Map(lambda d: (d.stage, d.reason, d.source_ref))


def _boom(*_args, **_kwargs):
    raise RuntimeError("injected")


def test_guarded_keeps_what_came_before_the_failure():
    def outputs():
        yield "first"
        raise KeyError("late")

    got = list(guarded("read", "dump.jsonl", outputs(), OutcomeCounters("test")))
    assert got[0] == "first" and got[1].tag == DEAD
    assert (got[1].value.stage, got[1].value.reason, got[1].value.source_ref) == (
        "read", "unexpected_error", "dump.jsonl")


# --------------------------------------------------------------------------------------------
# Reading: records inside a file, files inside the DoFn


def test_an_unexpected_error_on_one_line_is_that_lines_dead_letter(tmp_path, monkeypatch):
    path = tmp_path / "export.jsonl"
    lines = [_line(1), _line(2), _line(3)]
    offsets = _write_lines(path, lines)
    real = archives.jsonl_record
    monkeypatch.setattr(archives, "jsonl_record",
                        lambda line, ref: _boom() if ref.endswith(":2") else real(line, ref))
    outcomes = list(iter_file_records(str(path)))
    assert [type(o).__name__ for o in outcomes] == ["RawRecord", "DeadLetter", "RawRecord"]
    letter = outcomes[1]
    assert (letter.reason, letter.source_ref, letter.raw) == ("unexpected_error", f"{path}:2",
                                                              lines[1])
    assert (letter.replay.offset, letter.replay.length) == (offsets[1], len(lines[1]) + 1)


def test_an_unexpected_error_on_one_warc_record_is_that_records_dead_letter(samples_dir,
                                                                            monkeypatch):
    path = samples_dir / "warc/resiliparse/warcfile.warc.gz"
    real = archives._record_outcome
    calls = []

    def flaky(record, ref, fmt):
        calls.append(ref)
        return _boom() if len(calls) == 2 else real(record, ref, fmt)

    monkeypatch.setattr(archives, "_record_outcome", flaky)
    outcomes = list(iter_file_records(str(path)))
    assert len(outcomes) == 50  # every record still has its outcome
    letter = outcomes[1]
    assert (letter.reason, letter.source_ref) == ("unexpected_error", calls[1])
    assert letter.raw.startswith("WARC/1.0") and letter.replay.length > 0


def test_a_reader_failing_on_a_whole_file_is_a_counted_file_loss(tmp_path, monkeypatch):
    path = tmp_path / "export.jsonl"
    _write_lines(path, [_line(1)])
    monkeypatch.setattr(archives, "_iter_jsonl", _boom)
    (loss,) = iter_file_records(str(path))
    assert (loss.reason, loss.source_ref) == ("unexpected_error", f"{path}@0")
    assert loss.unread_bytes == path.stat().st_size and loss.raw == path.read_text()


def test_the_reading_dofn_turns_a_failure_into_a_dead_letter_and_reads_on(tmp_path,
                                                                          monkeypatch):
    good, bad = tmp_path / "good.jsonl", tmp_path / "bad.jsonl"
    _write_lines(good, [_line(1), _line(2)])
    _write_lines(bad, [_line(3)])
    real = archives.iter_file_records

    def failing_midway(path, fmt=None, opener=None, span=None):
        yield from real(path, fmt, opener, span)
        if path.endswith("bad.jsonl"):
            raise RuntimeError("injected after the file's records")

    monkeypatch.setattr(archives, "iter_file_records", failing_midway)
    with beam.Pipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as p:
        read = p | ReadArchives([str(tmp_path / "*.jsonl")], reshuffle_records=False)
        assert_that(read[RECORDS] | beam.Map(lambda r: r.source_ref),
                    equal_to([f"{good}:1", f"{good}:2", f"{bad}:1"]), label="Records")
        assert_that(_letters(read[DEAD], "Dead"),
                    equal_to([("read", "unexpected_error", str(bad))]), label="DeadLetters")


# --------------------------------------------------------------------------------------------
# Polling and fetching


RSS = ("<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>{items}"
       "</channel></rss>")


def _rss(*links: str) -> bytes:
    return RSS.format(items="".join(f"<item><title>{link}</title><link>{link}</link></item>"
                                    for link in links)).encode()


def test_the_polling_dofn_dead_letters_a_failing_feed_and_backs_it_off(tmp_path, monkeypatch):
    with LoopbackServer() as server:
        server.route("/bad.xml", static(_rss("https://a.test/x"),
                                        content_type="application/rss+xml"))
        server.route("/good.xml", static(_rss("https://b.test/1", "https://b.test/2"),
                                         content_type="application/rss+xml"))
        feeds = tmp_path / "feeds.txt"
        bad_url = server.url("/bad.xml")
        feeds.write_text(f"{bad_url}\n{server.url('/good.xml')}\n")
        real = poll.request_feed

        def request_feed(spec, *args):  # the bad feed's request fails after it was sent
            response = real(spec, *args)
            return _boom() if spec.url == bad_url else response

        monkeypatch.setattr(poll, "request_feed", request_feed)
        settings = FetchSettings(policy=FetchPolicy(allow_loopback=True), per_host_delay_s=0,
                                 robots=False)
        ticks = test_stream.TestStream()
        for offset in (0, 60, 61):  # t0 schedules; 60 polls both; 61: bad is backing off
            ticks = ticks.add_elements([TimestampedValue(offset, T0 + offset)])
            ticks = ticks.advance_watermark_to(T0 + offset)
        options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])
        with beam.Pipeline(options=options) as p:
            polled = (p | ticks.advance_watermark_to_infinity()
                      | PollFeeds(str(feeds), settings, min_interval_floor_s=2))
            assert_that(polled[MAIN] | beam.Map(lambda e: e.link),
                        equal_to(["https://b.test/1", "https://b.test/2"]), label="Entries")
            assert_that(_letters(polled[DEAD], "Dead"),
                        equal_to([("feed", "unexpected_error", bad_url)]), label="DeadLetters")
        assert server.hits["/bad.xml"] == 1  # not again one second later


def _entry(url: str) -> FeedEntry:
    return FeedEntry(feed_url="https://news.test/feed", entry_key=url, link=url, raw_link=url,
                     guid=None, title="t", summary=None, authors=(), tags=(), published_at=None,
                     updated_at=None)


def test_the_fetching_dofn_dead_letters_a_failing_article_and_fetches_on(monkeypatch):
    with LoopbackServer() as server:
        urls = [server.url(f"/a/{i}.html") for i in range(3)]
        for i in range(3):
            server.route(f"/a/{i}.html", static(PAGE, content_type="text/html"))
        real = fetch.decode_text
        monkeypatch.setattr(fetch, "decode_text", lambda result: _boom()
                            if result.url == urls[1] else real(result))
        settings = FetchSettings(policy=FetchPolicy(allow_loopback=True), per_host_delay_s=0,
                                 robots=False)
        with beam.Pipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as p:
            fetched = p | beam.Create([_entry(url) for url in urls]) | FetchArticles(settings)
            assert_that(fetched[MAIN] | beam.Map(lambda r: r.url), equal_to([urls[0], urls[2]]),
                        label="Records")
            assert_that(fetched[DEAD] | beam.Map(lambda d: (d.stage, d.reason, d.source_ref,
                                                             d.url)),
                        equal_to([("fetch", "unexpected_error",
                                   f"https://news.test/feed#{urls[1]}", urls[1])]),
                        label="DeadLetters")


# --------------------------------------------------------------------------------------------
# Archiving live exchanges to WARC


def _exchange(index: int) -> Exchange:
    return Exchange(url=f"https://a.test/{index}", status=200,
                    request_headers=(("User-Agent", "newsflow"),),
                    response_headers=(("Content-Type", "text/html"),),
                    body=f"<html>page {index}</html>".encode(),
                    fetched_at=datetime(2024, 1, 1, 0, 0, index, tzinfo=UTC))


def test_the_archiving_dofn_dead_letters_an_exchange_and_archives_the_rest(tmp_path,
                                                                           monkeypatch):
    real = exchanges.exchange_warc
    monkeypatch.setattr(exchanges, "exchange_warc", lambda exchange: _boom()
                        if exchange.url.endswith("/1") else real(exchange))
    with beam.Pipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as p:
        failed = (p | beam.Create([_exchange(i) for i in range(3)])
                  | ArchiveExchanges(str(tmp_path), "stream-test"))
        assert_that(failed | beam.Map(lambda d: (d.stage, d.reason, d.source_ref, d.raw)),
                    equal_to([("archive", "unexpected_error", "https://a.test/1",
                               "<html>page 1</html>")]))
    with open(tmp_path / "warc" / "stream-test.warc.gz", "rb") as handle:
        archived = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
                    for r in ArchiveIterator(handle)]
    assert archived == [("response", "https://a.test/0"), ("request", "https://a.test/0"),
                        ("response", "https://a.test/2"), ("request", "https://a.test/2")]


def test_archive_failures_are_reported_outside_the_record_equation():
    letter = DeadLetter(stage="archive", reason="unexpected_error", error="e",
                        source_ref="https://a.test/1")
    record = RawRecord(url="u", body="b", body_kind="html", source_format="feed",
                       source_ref="f#1")
    counts: dict[str, int] = {}
    for element in (letter, record):
        for key, amount in outcome_counts(element):
            counts[key] = counts.get(key, 0) + amount
    counts["article"] = 1
    summary = summarize(counts)
    assert (summary["read"], summary["written"], summary["dead_letters"]) == (1, 1, 0)
    assert summary["archive_failures"] == 1 and summary["balanced"]
    assert "1 exchange(s) could not be archived" in format_summary(summary)
    assert json.dumps(summary)


def test_a_poll_s_skip_batch_is_counted_and_written_skip_by_skip():
    skips = (Skip("feed", "too_old", "https://f.test/feed#1", "https://f.test/1"),
             Skip("feed", "seen", "https://f.test/feed#2", "https://f.test/2"),
             Skip("feed", "too_old", "https://f.test/feed#3", "https://f.test/3"))
    counts: dict[str, int] = {}
    for element in (SkipBatch(skips[:2], known=40), SkipBatch(skips[2:]), SkipBatch((), 7)):
        for key, amount in outcome_counts(element):
            counts[key] = counts.get(key, 0) + amount
    summary = summarize(counts)
    assert summary["read"] == summary["skipped"] == 3 and summary["balanced"]
    assert summary["skipped_by_reason"] == {"feed:seen": 1, "feed:too_old": 2}
    # entries listed again after an earlier poll are reported beside the equation, not read
    assert summary["feed_entries_known"] == 47
    assert "47 feed entries listed again" in format_summary(summary)
    # the skip file is the same whether the skips came one by one or in batches
    assert skips_to_jsonl([SkipBatch(skips[2:]), SkipBatch(skips[:2])]) == skips_to_jsonl(skips)
    assert len(skips_to_jsonl([SkipBatch(skips)]).splitlines()) == 3


# --------------------------------------------------------------------------------------------
# Near-duplicate detection: a failure leaves the row uncompared, never lost or doubled


def _failing_for(article_id: str):
    real = Fingerprinter.fingerprint

    def fingerprint(self, key, *args, **kwargs):
        return _boom() if key == article_id else real(self, key, *args, **kwargs)

    return fingerprint


def _dedup_articles():
    from bench.dedup_eval import make_article
    from tests.test_dedup import _text

    base = _text(11, paragraphs=8)
    return [make_article("orig", base, datetime(2024, 3, 1, tzinfo=UTC)),
            make_article("copy", base, datetime(2024, 3, 2, tzinfo=UTC)),
            make_article("other", _text(12, paragraphs=8), datetime(2024, 3, 1, tzinfo=UTC))]


def test_batch_dedup_keeps_an_article_it_cannot_fingerprint_as_its_own_row(monkeypatch):
    from apache_beam.metrics.metric import MetricsFilter

    monkeypatch.setattr(Fingerprinter, "fingerprint", _failing_for("copy"))
    pipeline = beam.Pipeline(options=PipelineOptions(BEAM_TEST_ARGS))
    rows = (pipeline | beam.Create(_dedup_articles()) | DeduplicateArticles()
            | beam.Map(lambda a: (a.article_id, a.cluster_id, a.is_duplicate)))
    assert_that(rows, equal_to([("orig", "orig", False), ("copy", "copy", False),
                                ("other", "other", False)]))
    result = pipeline.run()
    result.wait_until_finish()
    failed = result.metrics().query(MetricsFilter().with_name("fingerprint_failed"))["counters"]
    assert [m.committed for m in failed] == [1]


def test_stream_dedup_keeps_an_article_it_cannot_fingerprint_as_its_own_row(monkeypatch):
    monkeypatch.setattr(Fingerprinter, "fingerprint", _failing_for("copy"))
    orig, copy, other = _dedup_articles()
    t0 = datetime(2024, 3, 1, 12, tzinfo=UTC).timestamp()
    stream = (test_stream.TestStream()
              .add_elements([TimestampedValue(orig, t0), TimestampedValue(other, t0)])
              .advance_watermark_to(t0 + 600)
              .add_elements([TimestampedValue(copy, t0 + 3600)])
              .advance_watermark_to(t0 + 7200)
              .advance_watermark_to_infinity())
    options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])
    with beam.Pipeline(options=options) as p:
        rows = (p | stream | DeduplicateStream()
                | beam.Map(lambda a: (a.article_id, a.cluster_id, a.is_duplicate)))
        assert_that(rows, equal_to([("orig", "orig", False), ("copy", "copy", False),
                                    ("other", "other", False)]))


# --------------------------------------------------------------------------------------------
# Stories: a failure leaves the article in a story of its own, never lost or doubled


def _terms_failing_for(article_id: str, monkeypatch):
    from newsflow.transforms.stories import beam as stories_beam

    real = stories_beam.story_input

    def story_input(article, micros, config):
        return _boom() if article.article_id == article_id else real(article, micros, config)

    monkeypatch.setattr(stories_beam, "story_input", story_input)


def _story_articles():
    orig, copy, other = _dedup_articles()
    return [orig.replace(language="en"), copy.replace(language="en"),
            other.replace(language="en")]


def test_batch_stories_keep_an_article_whose_terms_fail_in_a_story_of_its_own(monkeypatch):
    from apache_beam.metrics.metric import MetricsFilter

    from newsflow.transforms.stories import AssignStories

    _terms_failing_for("copy", monkeypatch)
    pipeline = beam.Pipeline(options=PipelineOptions(BEAM_TEST_ARGS))
    rows = (pipeline | beam.Create(_story_articles()) | AssignStories()
            | beam.Map(lambda a: (a.article_id, a.story_id == a.article_id)))
    assert_that(rows | beam.Map(lambda row: row[0]), equal_to(["orig", "copy", "other"]))
    assert_that(rows | "Own" >> beam.Filter(lambda row: row[0] == "copy"),
                equal_to([("copy", True)]), label="own story")
    result = pipeline.run()
    result.wait_until_finish()
    failed = result.metrics().query(MetricsFilter().with_name("terms_failed"))["counters"]
    assert [m.committed for m in failed] == [1]


def test_stream_stories_keep_an_article_whose_terms_fail_in_a_story_of_its_own(monkeypatch):
    from newsflow.transforms.stories import AssignStoriesStream

    _terms_failing_for("copy", monkeypatch)
    orig, copy, other = _story_articles()
    t0 = datetime(2024, 3, 1, 12, tzinfo=UTC).timestamp()
    stream = (test_stream.TestStream()
              .add_elements([TimestampedValue(orig, t0), TimestampedValue(other, t0)])
              .advance_watermark_to(t0 + 600)
              .add_elements([TimestampedValue(copy, t0 + 3600)])
              .advance_watermark_to(t0 + 7200)
              .advance_watermark_to_infinity())
    options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])
    with beam.Pipeline(options=options) as p:
        rows = (p | stream | AssignStoriesStream()
                | beam.Map(lambda a: (a.article_id, a.story_id == a.article_id)))
        assert_that(rows | beam.Filter(lambda row: row[0] == "copy"),
                    equal_to([("copy", True)]), label="own story")
        assert_that(rows | "Ids" >> beam.Map(lambda row: row[0]),
                    equal_to(["orig", "copy", "other"]), label="all rows")

