"""Streaming ingestion against a real loopback server: polling, state, windows, sinks, WARC."""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue
from deltalake import DeltaTable

from newsflow.pipelines import backfill, stream
from newsflow.pipelines.demo.sample_corpus import generate_articles, render_html
from newsflow.schemas.feeds import FeedEntry, FeedSpec
from newsflow.transforms.catalog import read_delta
from newsflow.transforms.feeds import SeenEntries, initial_poll_state
from newsflow.transforms.feeds.poll import PollFeeds, poll_once
from newsflow.transforms.feeds.status import feed_status, format_feed_status, status_to_json
from newsflow.transforms.fetch import FetchArticles, FetchSettings, PacedFetcher
from newsflow.transforms.http import FetchError, FetchPolicy, FetchResult
from newsflow.transforms.politeness import POLLS, HostSlots
from newsflow.transforms.stage import DEAD, MAIN, SKIPPED
from tests.conftest import BEAM_TEST_ARGS
from tests.httpserver import LoopbackServer, error, redirect, static

ARTICLES = generate_articles(4, seed=3, languages=("en",))
HTML = {f"/a/{i}.html": render_html(a, boilerplate_kb=5) for i, a in enumerate(ARTICLES)}

RSS_ONE_ITEM = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>S</title>"
                b"<item><title>Final</title><link>https://feeds.test/a</link><guid>a</guid>"
                b"</item></channel></rss>")


def rss(server: LoopbackServer, paths: list[str], build: int = 0) -> bytes:
    items = "".join(f"<item><title>Item {p}</title><link>{server.url(p)}</link>"
                    f"<guid>{p}</guid></item>" for p in paths)
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
            f"<link>{server.url('/')}</link><ttl>{build}</ttl>{items}</channel></rss>").encode()


def serve_articles(server: LoopbackServer) -> None:
    for path, html in HTML.items():
        server.route(path, static(html, content_type="text/html; charset=utf-8"))
    server.route("/robots.txt", static("User-agent: *\nDisallow: /private/\n"))


def stream_args(feeds: Path, output: Path, *extra: str) -> list[str]:
    return [f"--feeds={feeds}", f"--output={output}", "--allow_loopback", "--tick=1",
            "--min_poll_interval=2", "--extract_timeout=0", "--per_host_delay=0", *extra]


def test_live_stream_commits_windows_while_running(tmp_path):
    output = tmp_path / "out"
    with LoopbackServer() as server:
        serve_articles(server)
        # the feed re-publishes its entries on every poll, in a body that changes every time
        # (so the unchanged-body shortcut does not apply); a second feed is down
        paths = list(HTML)[:3] + ["/gone.html", "/private/x.html"]
        server.route("/feed.xml", lambda request: static(
            rss(server, paths, build=server.hits["/feed.xml"]),
            content_type="application/rss+xml"))
        server.route("/down.xml", error(500))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(f"{server.url('/feed.xml')}\n{server.url('/down.xml')}\n")
        first_commit: list[float] = []
        started = time.monotonic()
        done = threading.Event()

        def watch():
            while not done.is_set() and not first_commit:
                if list((output / "articles" / "_delta_log").glob("*.json")):
                    first_commit.append(time.monotonic() - started)
                time.sleep(0.2)

        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            code = stream.run(stream_args(feeds, output, "--duration=12", "--window=3"))
        finally:
            done.set()
            watcher.join()
        elapsed = time.monotonic() - started
        hits = dict(server.hits)
    assert code == 0
    assert first_commit and first_commit[0] < elapsed - 4  # a window landed mid-run
    for path in list(HTML)[:3]:
        assert hits[path] == 1  # re-published entries are not fetched again
    assert hits["/feed.xml"] >= 2 and "/private/x.html" not in hits
    table = DeltaTable(str(output / "articles"))
    run_ids = {entry["newsflow.app_id"] for entry in table.history()}
    summaries = stream.run_summaries(str(output), run_ids.pop())
    assert not run_ids
    assert summaries and all(s["balanced"] for s in summaries)
    total = stream.total_summary(summaries)
    assert total["written"] == 3 and total["balanced"]
    assert total["dead_letters_by_reason"]["fetch:http_404"] == 1
    assert total["dead_letters_by_reason"]["feed:http_500"] >= 1
    assert total["skipped_by_reason"]["fetch:robots_disallowed"] == 1
    assert total["feed_entries_known"] >= 5  # every later listing counted, none written
    assert "feed:seen" not in total["skipped_by_reason"]
    skipped = [json.loads(line) for path in (output / "skipped").glob("skipped-*-w*.jsonl")
               for line in path.read_text().splitlines()]
    assert len(skipped) == total["skipped"]  # every skip of every window is written
    assert {"url": server.url("/private/x.html"), "reason": "robots_disallowed"}.items() <= \
        next(line for line in skipped if line["reason"] == "robots_disallowed").items()
    rows = read_delta(table)
    assert rows.num_rows == 3
    assert set(rows.column("feed_url").to_pylist()) == {f"{server.base_url}/feed.xml"}
    status = {row["feed_url"].rsplit("/", 1)[1]: row
              for row in stream.read_feed_status(str(output))}
    assert status["feed.xml"]["health"] in ("ok", "quiet")
    assert status["down.xml"]["consecutive_failures"] >= 1

    # live -> WARC -> backfill gives the same rows
    replay = tmp_path / "replay"
    args = BEAM_TEST_ARGS + [f"--input={output}/warc/*.warc.gz", f"--output={replay}",
                             "--extract_timeout=0"]
    with beam.Pipeline(options=PipelineOptions(args)) as p:
        backfill.build(p, PipelineOptions(args))
    columns = ["article_id", "url", "title", "text", "published_at", "date_source",
               "fetched_at", "language", "tags", "feed_url", "content_hash", "wire"]
    live = rows.select(columns).sort_by("article_id").to_pylist()
    replayed = read_delta(DeltaTable(str(replay / "articles")), columns=columns) \
        .sort_by("article_id").to_pylist()
    assert live == replayed


T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def _ticks(*offsets_s: float):
    stream_ = test_stream.TestStream()
    for offset in offsets_s:
        stream_ = stream_.add_elements([TimestampedValue(int(offset), T0 + offset)])
        stream_ = stream_.advance_watermark_to(T0 + offset)
    return stream_.advance_watermark_to_infinity()


def _streaming_options() -> PipelineOptions:
    return PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])


def _poll_every_feed(p, feeds: Path, per_host_concurrency: int):
    """PollFeeds over ``feeds`` (loopback, no delay, no robots), ticked at t0 (scheduling)
    and an hour later (every feed due); returns its outputs and the URLs of polled feeds."""
    settings = FetchSettings(policy=FetchPolicy(allow_loopback=True), per_host_delay_s=0,
                             per_host_concurrency=per_host_concurrency, robots=False)
    polled = p | _ticks(0, 3600) | PollFeeds(str(feeds), settings, min_interval_floor_s=2)
    statuses = (polled["status"]
                | "AfterPoll" >> beam.Filter(lambda s: s.health != "pending")
                | "Polled" >> beam.Map(lambda s: s.feed_url))
    return polled, statuses


def test_seen_state_expires_in_event_time(tmp_path):
    """Within the seen TTL a re-published entry is skipped; 31 days later it is new again."""
    with LoopbackServer() as server:
        serve_articles(server)
        bodies = iter([rss(server, ["/a/0.html"]),  # t0+1m: new
                       rss(server, ["/a/0.html", "/a/1.html"]),  # t0+1h: /a/0 seen
                       rss(server, ["/a/0.html", "/a/2.html"])])  # t0+40d: /a/0 expired

        def feed(request):
            return static(next(bodies), content_type="application/rss+xml")

        server.route("/feed.xml", feed)
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(server.url("/feed.xml") + "\n")
        settings = FetchSettings(policy=FetchPolicy(allow_loopback=True), per_host_delay_s=0,
                                 robots=False)
        with beam.Pipeline(options=_streaming_options()) as p:
            # t0 only schedules the feed (first polls are spread over one interval)
            polled = (p | _ticks(0, 60, 3600, 40 * 86400)
                      | PollFeeds(str(feeds), settings, min_interval_floor_s=2))
            links = polled[MAIN] | "Links" >> beam.Map(lambda e: e.raw_link.rsplit("/", 1)[1])
            assert_that(links, equal_to(["0.html", "1.html", "0.html", "2.html"]))
            batches = polled[SKIPPED] | "Batches" >> beam.Map(
                lambda batch: (len(batch.skips), batch.known))
            assert_that(batches, equal_to([(0, 1)]), label="OneKnownEntry")


def test_windows_become_commits_named_after_event_time(tmp_path):
    output = tmp_path / "out"
    with LoopbackServer() as server:
        serve_articles(server)
        server.route("/feed.xml", static(rss(server, list(HTML)[:2]),
                                         content_type="application/rss+xml"))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(server.url("/feed.xml") + "\n")
        options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming",
                                   *stream_args(feeds, output, "--window=60", "--no_robots")])
        with beam.Pipeline(options=options) as p:
            outputs = stream.build(p, options, ticks=p | _ticks(0, 30, 90), run_id="stream-t")
            assert_that(outputs["summary"] | beam.Map(lambda s: (s["written"], s["balanced"])),
                        equal_to([(2, True)]))
    table = DeltaTable(str(output / "articles"))
    commits = [e for e in table.history() if "newsflow.commit_id" in e]
    assert [e["newsflow.commit_id"] for e in commits] == ["stream-t-w20240101T000000"]
    assert commits[0]["newsflow.kind"] == "stream" and commits[0]["newsflow.rows"] == 2
    assert commits[0]["newsflow.window"][0].startswith("2024-01-01T00:00:00")
    assert table.transaction_version("stream-t") == int(T0)  # app_id = run, version = window
    assert (output / "warc" / "stream-t-w20240101T000000.warc.gz").exists()
    assert (output / "feeds" / "status-stream-t-w20240101T000000.json").exists()


def test_poll_once_outcomes_are_pure():
    spec = FeedSpec(url="https://feeds.test/rss")
    now = datetime(2024, 1, 1, tzinfo=UTC)
    state = initial_poll_state(spec, now)

    def failing(url, headers):
        raise FetchError("timeout", "too slow")

    new_state, _, outputs = poll_once(spec, state, SeenEntries(), now, failing, None)
    assert [(tag, value.reason) for tag, value in outputs] == [(DEAD, "timeout")]
    assert new_state.consecutive_failures == 1 and new_state.next_poll_at > now

    def not_modified(url, headers):
        return FetchResult(url=url, status=304, headers={}, body=b"")

    _, _, outputs = poll_once(spec, new_state, SeenEntries(), now + timedelta(hours=1),
                              not_modified, None)
    assert [tag for tag, _ in outputs] == ["exchanges"]


@pytest.mark.parametrize("status, body, new_entries, failures", [
    (203, RSS_ONE_ITEM, 1, 0),  # non-authoritative content is content
    (204, b"", 0, 0),  # nothing new, not a failure
    (410, b"gone", 0, 1),
])
def test_poller_and_scheduler_agree_on_what_a_status_means(status, body, new_entries,
                                                           failures):
    spec = FeedSpec(url="https://feeds.test/rss", headers=(("X-Api-Key", "k"),))
    now = datetime(2024, 1, 1, tzinfo=UTC)
    sent = []

    def answer(url, headers):
        sent.append(headers)
        return FetchResult(url=url, status=status, headers={}, body=body)

    state, _, outputs = poll_once(spec, initial_poll_state(spec, now), SeenEntries(), now,
                                  answer, None)
    assert sum(tag == MAIN for tag, _ in outputs) == new_entries
    assert sum(tag == DEAD for tag, _ in outputs) == failures
    assert state.consecutive_failures == failures
    assert sent == [{"X-Api-Key": "k"}]  # the feed's headers, once


def test_feed_list_errors_fail_before_the_job_starts(tmp_path):
    feeds = tmp_path / "feeds.txt"
    feeds.write_text("ftp://not-http.test/feed\n")
    assert stream.run([f"--feeds={feeds}", f"--output={tmp_path}"]) == 2
    feeds.write_text("https://feeds.test/rss\n")
    assert stream.run([f"--feeds={feeds}", f"--output={tmp_path}",
                       "--min_poll_interval=1"]) == 2  # below 60 s needs --allow_loopback
    with pytest.raises(SystemExit):
        stream.run([f"--feeds={feeds}", "--outptu=x"])


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss version="2.0"><channel><title>&lol3;</title>
<item><title>&lol3;</title></item></channel></rss>"""


def _sample_headers(body: bytes) -> dict[str, str]:
    headers = {}
    for line in body.decode("latin-1").splitlines():
        if line.strip().startswith("Header:"):
            name, _, value = line.strip()[len("Header:"):].partition(":")
            headers[name.strip()] = value.strip()
    return headers


def test_every_sample_feed_is_parsed_or_dead_lettered(tmp_path, samples_dir):
    """Sample feeds link to public hosts: polling only, article fetching is not wired here."""
    files = sorted((samples_dir / "feeds").rglob("*.xml"))
    assert len(files) > 200
    with LoopbackServer() as server:
        routes = {}
        for index, path in enumerate(files):
            body = path.read_bytes()
            route = f"/f/{index}.xml"
            headers = _sample_headers(body) if "http" in path.name else {}
            server.route(route, static(body, headers=headers,
                                       content_type=None if "Content-Type" in {
                                           k.title() for k in headers} else "application/xml"))
            routes[server.url(route)] = path
        server.route("/bomb.xml", static(BILLION_LAUGHS, content_type="application/rss+xml"))
        server.route("/oversize.xml", static(b"<rss>" + b"<!-- pad -->" * 1_000_000 + b"</rss>",
                                             content_type="application/rss+xml"))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text("\n".join([*routes, server.url("/bomb.xml"),
                                    server.url("/oversize.xml")]) + "\n")
        with beam.Pipeline(options=_streaming_options()) as p:
            polled, statuses = _poll_every_feed(p, feeds, per_host_concurrency=64)
            assert_that(statuses, equal_to([*routes, server.url("/bomb.xml"),
                                             server.url("/oversize.xml")]))
            dead = polled[DEAD] | "DeadUrls" >> beam.Map(lambda d: (d.source_ref, d.reason))
            bombs = dead | "Ours" >> beam.Filter(lambda d: d[0].endswith(("bomb.xml",
                                                                         "oversize.xml")))
            assert_that(bombs | "Reasons" >> beam.Map(lambda d: d[1]),
                        equal_to(["unsafe_xml", "too_large"]), label="OwnHostileFeeds")


def test_a_slow_host_is_asked_at_most_per_host_concurrency_at_once(tmp_path):
    """Polls of one slow host: never more than ``per_host_concurrency`` requests in flight
    (the next ones wait in the pool), and every feed is polled."""
    in_flight, peak, lock = [0], [0], threading.Lock()

    def slow_feed(request):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.3)
        with lock:
            in_flight[0] -= 1
        return static(RSS_ONE_ITEM, content_type="application/rss+xml")

    with LoopbackServer() as server:
        urls = [server.url(f"/f/{index}.xml") for index in range(8)]
        for index in range(8):
            server.route(f"/f/{index}.xml", slow_feed)
        feeds = tmp_path / "feeds.txt"
        feeds.write_text("\n".join(urls) + "\n")
        with beam.Pipeline(options=_streaming_options()) as p:
            _polled, statuses = _poll_every_feed(p, feeds, per_host_concurrency=2)
            assert_that(statuses, equal_to(urls))
    assert peak[0] == 2


def test_feed_topic_hints_become_entry_tags():
    spec = FeedSpec(url="https://feeds.test/sport.xml", topic_hints=("sport",))
    now = datetime(2024, 1, 1, tzinfo=UTC)
    body = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>S</title>"
            b"<item><title>Final</title><link>https://feeds.test/a</link><guid>a</guid>"
            b"<category>Football</category></item></channel></rss>")

    def answer(url, headers):
        return FetchResult(url=url, status=200, headers={"content-type": "application/rss+xml"},
                           body=body)

    _, _, outputs = poll_once(spec, initial_poll_state(spec, now), SeenEntries(), now, answer,
                              None)
    entries = [value for tag, value in outputs if tag == MAIN]
    assert [e.tags for e in entries] == [("football", "sport")]


@pytest.mark.parametrize(("status", "moves"), [(301, True), (308, True), (302, False),
                                                (307, False)])
def test_a_permanent_redirect_moves_the_feed_for_good(status, moves):
    """301/308: later polls go straight to the new URL, the status shows the move and entries
    keep the listed feed URL; 302/307: every poll asks the listed URL again."""
    with LoopbackServer() as server:
        server.route("/old.xml", redirect("/new.xml", status))
        server.route("/new.xml", static(RSS_ONE_ITEM, content_type="application/rss+xml"))
        spec = FeedSpec(url=server.url("/old.xml"))
        settings = FetchSettings(policy=FetchPolicy(allow_loopback=True), per_host_delay_s=0)
        fetcher = PacedFetcher(settings.policy, HostSlots(0.0), POLLS)
        now = datetime(2024, 1, 1, tzinfo=UTC)
        state, seen, outputs = poll_once(spec, initial_poll_state(spec, now), SeenEntries(),
                                         now, fetcher, None)
        entries = [value for tag, value in outputs if tag == MAIN]
        assert [entry.feed_url for entry in entries] == [spec.url]
        assert state.moved_to == (server.url("/new.xml") if moves else None)
        state, _, _ = poll_once(spec, state, seen, now + timedelta(hours=1), fetcher, None)
        hits = dict(server.hits)
    assert hits["/old.xml"] == (1 if moves else 2) and hits["/new.xml"] == 2
    row = status_to_json(feed_status(state))
    assert (row["moved_to"] is not None) == moves
    line = format_feed_status([row]).splitlines()[1]
    assert (f"moved \u2192 {server.url('/new.xml')}" in line) == moves


def test_a_move_to_a_failing_url_is_not_followed_for_good():
    with LoopbackServer() as server:
        server.route("/old.xml", redirect("/gone.xml", 301))
        server.route("/gone.xml", error(404))
        spec = FeedSpec(url=server.url("/old.xml"))
        fetcher = PacedFetcher(FetchPolicy(allow_loopback=True), HostSlots(0.0), POLLS)
        now = datetime(2024, 1, 1, tzinfo=UTC)
        state, _, outputs = poll_once(spec, initial_poll_state(spec, now), SeenEntries(), now,
                                      fetcher, None)
    assert state.moved_to is None and state.consecutive_failures == 1
    assert [value.reason for tag, value in outputs if tag == DEAD] == ["http_404"]


def test_entries_queued_when_a_job_drains_become_replayable_dead_letters():
    """Event time past the wall clock means the job drains: nothing new is fetched, and every
    queued entry leaves as a stopped_before_fetch dead letter carrying the entry."""
    future = time.time() + 86400
    entries = [FeedEntry(feed_url="https://feeds.test/rss", link=f"http://127.0.0.1:9/a/{n}",
                         raw_link=f"http://127.0.0.1:9/a/{n}", guid=str(n), title=f"A{n}",
                         summary=None, authors=(), tags=(), published_at=None,
                         updated_at=None, entry_key=str(n)) for n in range(3)]
    source = test_stream.TestStream().add_elements(
        [TimestampedValue(entry, future) for entry in entries]).advance_watermark_to_infinity()
    settings = FetchSettings(policy=FetchPolicy(allow_loopback=True), per_host_delay_s=0)
    with beam.Pipeline(options=_streaming_options()) as p:
        fetched = p | source | FetchArticles(settings)
        assert_that(fetched[MAIN], equal_to([]), label="NothingFetched")
        assert_that(fetched[DEAD] | beam.Map(lambda d: (d.reason, json.loads(d.raw)["title"])),
                    equal_to([("stopped_before_fetch", f"A{n}") for n in range(3)]))
