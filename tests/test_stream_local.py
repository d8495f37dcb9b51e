"""The local streaming run as a user sees it, against real loopback servers: feeds that are
not polled yet, per-host politeness across threads and lanes, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.coders import PickleCoder
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import BagStateSpec, TimerSpec, on_timer
from apache_beam.transforms.window import FixedWindows, TimestampedValue
from apache_beam.utils.timestamp import Timestamp
from deltalake import DeltaTable

from newsflow.pipelines import stream
from newsflow.pipelines.cli import main as cli_main
from newsflow.pipelines.options import deduplicate
from newsflow.pipelines.stream_local import TimerIndex, fix_local_runner, start_banner
from newsflow.schemas.feeds import FeedSpec
from newsflow.transforms.catalog import read_delta
from newsflow.transforms.dedup import DeduplicateStream
from newsflow.transforms.dedup.config import LOCAL_BAND_SHARDS
from newsflow.transforms.feeds.schedule import first_poll_delays_s
from newsflow.transforms.fetch import PacedFetcher
from newsflow.transforms.http import FetchPolicy
from newsflow.transforms.politeness import ARTICLES, HostSlots, RobotsCache
from tests.httpserver import LoopbackServer, Response, static
from tests.test_deploy import DATAFLOW_DRY_RUN
from tests.test_stream import HTML, rss, serve_articles

REPO = Path(__file__).resolve().parent.parent


def _rss_for(server: LoopbackServer, urls: list[str], build: int = 0) -> bytes:
    items = "".join(f"<item><title>Item {url}</title><link>{url}</link><guid>{url}</guid>"
                    f"</item>" for url in urls)
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
            f"<link>{server.url('/')}</link><ttl>{build}</ttl>{items}</channel></rss>").encode()


@pytest.mark.slow
def test_feeds_not_polled_yet_are_listed_as_pending(tmp_path, capsys):
    """Feeds are first polled within their first minute: a short run polls those whose turn
    came and lists every other one as pending, with its first poll time."""
    output = tmp_path / "out"
    with LoopbackServer() as server:
        serve_articles(server)
        paths = [f"/f{n}.xml" for n in range(40)]  # one host: spread 45/40 s apart
        delays = first_poll_delays_s([FeedSpec(url=server.url(p)) for p in paths])
        early = [p for p in paths if delays[server.url(p)] < 1.5]
        late = [p for p in paths if delays[server.url(p)] > 30]
        for path in paths:
            server.route(path, static(rss(server, list(HTML)[:1]),
                                      content_type="application/rss+xml"))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text("".join(server.url(p) + "\n" for p in paths))
        code = stream.run([f"--feeds={feeds}", f"--output={output}", "--allow_loopback",
                           "--duration=5", "--window=2", "--extract_timeout=0",
                           "--per_host_delay=0"])
        hits = dict(server.hits)
    assert code == 0 and len(early) >= 1 and len(late) >= 3
    assert all(hits.get(path) == 1 for path in early)
    assert not any(hits.get(path) for path in late)
    capsys.readouterr()
    assert cli_main(["feeds", "status", str(output)]) == 0
    table = capsys.readouterr().out.splitlines()
    rows = {line.split()[-1] if "(" not in line else line.split("  (")[0].split()[-1]: line
            for line in table[1:]}
    assert set(rows) == {server.url(p) for p in paths}  # every listed feed
    for path in late:
        line = rows[server.url(path)]
        assert line.startswith("pending") and "first poll " in line
    for path in early:
        assert rows[server.url(path)].split()[0] in ("ok", "quiet")


@pytest.mark.slow
def test_per_host_spacing_holds_for_polls_and_pages_across_threads(tmp_path):
    """Feed polls and page fetches to one host, from many threads (two requests of each kind
    may be in flight), never start closer than the delay; a host that answers slowly holds
    only its own requests."""
    delay = 0.3
    output = tmp_path / "out"
    with LoopbackServer() as host_a, LoopbackServer(address="127.0.0.2") as host_b:
        serve_articles(host_a)
        a_pages = list(HTML)
        b_pages = [f"/b/{n}.html" for n in range(3)]
        for path in b_pages:
            host_b.route(path, Response(200, HTML[a_pages[0]].encode(),
                                        {"Content-Type": "text/html"}, delay=2.0))
        links = [host_a.url(p) for p in a_pages] + [host_b.url(p) for p in b_pages]
        host_a.route("/feed.xml", lambda request: static(
            _rss_for(host_a, links, build=host_a.hits["/feed.xml"]),
            content_type="application/rss+xml"))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(host_a.url("/feed.xml") + "\n")
        code = stream.run([f"--feeds={feeds}", f"--output={output}", "--allow_loopback",
                           "--duration=9", "--window=2", "--extract_timeout=0",
                           "--min_poll_interval=2", f"--per_host_delay={delay}",
                           "--fetch_threads=8"])
        arrivals_a, arrivals_b = list(host_a.arrivals), list(host_b.arrivals)
    assert code == 0
    for arrivals in (arrivals_a, arrivals_b):
        times = sorted(t for t, _ in arrivals)
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert gaps and min(gaps) >= delay, sorted(gaps)[:3]
    paths_a = [path for _, path in arrivals_a]
    assert paths_a.count("/feed.xml") >= 2 and set(a_pages) <= set(paths_a)
    assert sorted(path for _, path in arrivals_b) == sorted(b_pages + ["/robots.txt"])
    b_hanging = min(t for t, _ in arrivals_b), min(t for t, _ in arrivals_b) + 2.0
    assert any(b_hanging[0] < t < b_hanging[1] for t, path in arrivals_a
               if path in a_pages)  # host A's pages went on while host B hung
    summaries = stream.run_summaries(str(output), _run_id(output))
    total = stream.total_summary(summaries)
    assert total["balanced"] and total["written"] + total["duplicates"] == len(links)


def test_a_robots_crawl_delay_larger_than_the_delay_spaces_pages():
    with LoopbackServer() as server:
        server.route("/robots.txt", static("User-agent: *\nCrawl-delay: 0.6\n"))
        for n in range(3):
            server.route(f"/p{n}", static("<html>page</html>", content_type="text/html"))
        policy = FetchPolicy(allow_loopback=True)
        slots = HostSlots(0.1)
        plain = PacedFetcher(policy, slots, ARTICLES)
        robots = RobotsCache(policy, fetcher=plain.robots_fetcher)
        fetcher = PacedFetcher(policy, slots, ARTICLES, robots)
        for n in range(3):
            assert robots.allowed(server.url(f"/p{n}"))
            fetcher(server.url(f"/p{n}"), {})
        pages = sorted(t for t, path in server.arrivals if path != "/robots.txt")
    assert [round(b - a, 1) >= 0.6 for a, b in zip(pages, pages[1:], strict=False)] \
        == [True, True]


@pytest.mark.slow
def test_ctrl_c_commits_the_open_windows_and_exits_130(tmp_path):
    """SIGINT during a run: polling stops, what was found is fetched and committed, the run
    prints its summary and exits 130 without tracebacks; every committed window is intact.
    With NEWSFLOW_LOG_LEVEL=INFO newsflow says what it does, without Beam's chatter."""
    output = tmp_path / "out"
    with LoopbackServer() as server:
        serve_articles(server)
        paths = list(HTML)

        def feed(request):  # one more item on every poll
            count = min(len(paths), 1 + server.hits["/feed.xml"])
            return static(rss(server, paths[:count]), content_type="application/rss+xml")

        server.route("/feed.xml", feed)
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(server.url("/feed.xml") + "\n")
        env = {**os.environ, "NEWSFLOW_LOG_LEVEL": "INFO", "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(
            [sys.executable, "-m", "newsflow.pipelines.cli", "stream", f"--feeds={feeds}",
             f"--output={output}", "--allow_loopback", "--window=2", "--tick=0.5",
             "--min_poll_interval=2", "--extract_timeout=0", "--per_host_delay=0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
        lines: list[str] = []
        errors: list[str] = []
        readers = [threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True),
                   threading.Thread(target=lambda: errors.extend(process.stderr), daemon=True)]
        for reader in readers:
            reader.start()
        deadline = time.monotonic() + 60
        while not any(" window " in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=90)
        finally:
            process.kill()
        for reader in readers:
            reader.join(5)
    out, stderr = "".join(lines), "".join(errors)
    assert process.returncode == 130, (out, stderr[-3000:])
    assert out.startswith("newsflow stream: 1 feed(s) on 1 host(s)")
    assert "Ctrl-C" in out.splitlines()[4] and "stopped: " in out and "(balanced)" in out, out
    assert "stopping: no new polls" in stderr and "Traceback" not in stderr
    assert "INFO newsflow." in stderr and "Converting string literal" not in stderr
    summaries = stream.run_summaries(str(output), _run_id(output))
    assert summaries and all(summary["balanced"] for summary in summaries)
    table = DeltaTable(str(output / "articles"))  # every commit readable, as a whole
    commits = [entry for entry in table.history() if "newsflow.commit_id" in entry]
    written = stream.total_summary(summaries)["written"]
    assert sum(entry["newsflow.rows"] for entry in commits) == written > 0
    assert read_delta(table).num_rows == written
    assert out.count(" window ") == len(summaries)


def _run_id(output: Path) -> str:
    return next((output / "runs").glob("*.json")).name.split("-w")[0]


class _ReleaseAtWatermark(beam.DoFn):
    """Holds each element until the watermark passes it, as streaming dedup does."""

    HELD = BagStateSpec("held", PickleCoder())
    WAKE = TimerSpec("wake", TimeDomain.WATERMARK)

    def process(self, element, timestamp=beam.DoFn.TimestampParam,
                held=beam.DoFn.StateParam(HELD), wake=beam.DoFn.TimerParam(WAKE)):
        held.add((element[1], float(timestamp)))
        wake.set(timestamp)

    @on_timer(WAKE)
    def release(self, held=beam.DoFn.StateParam(HELD)):
        for value, timestamp in held.read():
            yield TimestampedValue(value, timestamp)
        held.clear()


def test_the_local_runner_holds_the_watermark_for_pending_timers():
    """Without the hold, Beam's local runner lets a window close before a timer releases its
    elements, and drops them silently (all of them, here)."""
    fix_local_runner()
    events = (test_stream.TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue(("k", n), 1.5 + n / 10) for n in range(3)])
              .advance_watermark_to(5)
              .add_elements([TimestampedValue(("k", 9), 6)])
              .advance_watermark_to_infinity())
    options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])
    with beam.Pipeline(options=options) as p:
        counts = (p | events | beam.ParDo(_ReleaseAtWatermark())
                  | beam.WindowInto(FixedWindows(2))
                  | beam.combiners.Count.Globally().without_defaults()
                  | beam.Map(lambda count, window=beam.DoFn.WindowParam:
                             (float(window.start), count)))
        assert_that(counts, equal_to([(0.0, 3), (6.0, 1)]))


class _KeepOrRelease(_ReleaseAtWatermark):
    """Releases every key's elements at the watermark, except key "keep": held for good."""

    def process(self, element, timestamp=beam.DoFn.TimestampParam,
                held=beam.DoFn.StateParam(_ReleaseAtWatermark.HELD),
                wake=beam.DoFn.TimerParam(_ReleaseAtWatermark.WAKE)):
        held.add((element[1], float(timestamp)))
        if element[0] != "keep":
            wake.set(timestamp)


def test_the_local_runner_forgets_keys_left_without_state():
    """Beam's local runner keeps every key a stage has seen (a few KB each): a stream keyed by
    record grew with every article. Keys whose state and timers are all gone are dropped;
    a key that still holds a value stays, with it."""
    fix_local_runner()
    events = (test_stream.TestStream().advance_watermark_to(0)
              .add_elements([TimestampedValue((f"k{n}", n), 1 + n) for n in range(40)]
                            + [TimestampedValue(("keep", "kept"), 1)])
              .advance_watermark_to(100)
              .advance_watermark_to_infinity())
    options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming"])
    p = beam.Pipeline(options=options)
    released = p | events | "Release" >> beam.ParDo(_KeepOrRelease())
    assert_that(released, equal_to(list(range(40))))
    result = p.run()
    result.wait_until_finish()
    keyed = {transform.full_label: states for transform, states
             in result._evaluation_context._transform_keyed_states.items()}
    states = keyed["Release"]
    assert len(states) == 1
    (state,) = states.values()
    assert [len(values) for tags in state.state.values() for values in tags.values()] == [1]


@pytest.mark.parametrize(("runner_args", "shards"), [
    (["--runner=BundleBasedDirectRunner"], LOCAL_BAND_SHARDS), (DATAFLOW_DRY_RUN, None)])
def test_dedup_buckets_share_keys_only_on_the_local_runner(runner_args, shards):
    """The local runner pays a few KB per key, so its stream keeps buckets in shards; Dataflow
    keeps a key per bucket (its state spread over all the workers)."""
    options = PipelineOptions([*runner_args, "--streaming"])
    p = beam.Pipeline(options=options)
    deduplicate(p | beam.Create([]), options, streaming=True)
    applied = []

    class _Find(beam.pipeline.PipelineVisitor):
        def enter_composite_transform(self, node):
            if isinstance(node.transform, DeduplicateStream):
                applied.append(node.transform)

    p.visit(_Find())
    assert [transform._config.band_shards for transform in applied] == [shards]


class _KeyState:
    """A key's committed state as the local runner holds it: timers by window."""

    def __init__(self, *timers):
        self.timers = {"window": {(name, domain, ""): Timestamp.of(at)
                                  for name, domain, at in timers}}


def test_dofn_method_arguments_are_read_once_per_class(monkeypatch):
    """The runner asks for them on every bundle; a class's answer is kept, a Map's is not."""
    from apache_beam.transforms import core

    fix_local_runner()

    class _Fn(beam.DoFn):
        def process(self, element, timestamp=beam.DoFn.TimestampParam):
            yield element

    calls = []
    real = core.get_function_args_defaults
    monkeypatch.setattr(core, "get_function_args_defaults",
                        lambda f: (calls.append(f), real(f))[1])
    first = core.get_function_arguments(_Fn(), "process")
    assert first == (["element", "timestamp"], [beam.DoFn.TimestampParam])
    assert core.get_function_arguments(_Fn(), "process") == first and len(calls) == 1
    maps = [core.CallableWrapperDoFn(fn) for fn in (lambda x: x, lambda x, y=2: x)]
    assert [core.get_function_arguments(fn, "process")[0] for fn in maps] == [["x"], ["x", "y"]]


def test_the_timer_index_finds_exactly_the_due_keys():
    """What the runner's scan of every key would find, from the keys that are due."""
    wm, rt = TimeDomain.WATERMARK, TimeDomain.REAL_TIME
    index = TimerIndex({b"a": _KeyState(("wake", wm, 5)), b"b": _KeyState(("wake", wm, 9)),
                        b"c": _KeyState()})
    assert index.due(Timestamp.of(4)) == set() and index.earliest() == Timestamp.of(5)
    assert index.due(Timestamp.of(5)) == {b"a"}
    index.update(b"a", _KeyState(("wake", wm, 12)))  # fired, set again later
    index.update(b"c", _KeyState(("expire", wm, 1), ("give_up", wm, 30)))
    index.update(b"d", _KeyState(("poll", rt, 0)))
    assert index.due(Timestamp.of(10)) == {b"b", b"c"} and index.realtime == {b"d"}
    index.update(b"c", _KeyState())
    index.update(b"d", _KeyState())
    assert index.earliest() == Timestamp.of(9) and index.realtime == set()
    for n in range(1000):  # stale heap entries are dropped as keys move on
        index.update(b"b", _KeyState(("wake", wm, 100 + n)))
    assert len(index._heap) < 200
    assert index.due(Timestamp.of(1_000_000)) == {b"a", b"b"}


def test_the_banner_says_when_a_busy_host_s_pacing_delays_its_first_polls():
    """40 feeds of one host at a 1 s delay cannot all be polled in the 45 s spread: the banner
    names the time pacing allows, not the spread's."""
    started = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)

    def first_polls_line(urls):
        banner = start_banner([FeedSpec(url=url) for url in urls], "feeds.txt", "out", 60, 1.0,
                              2, True, 0, started)
        return banner.splitlines()[2]

    few = first_polls_line([f"https://a{n}.example/feed.xml" for n in range(3)])
    assert "all by 12:00:45 UTC;" in few and "busiest" not in few
    busy = first_polls_line([f"https://a.example/{n}.xml" for n in range(40)])
    assert "all by 12:00:48 UTC (the busiest host has 40 feeds, one request per 1.2 s: 48 s)" \
        in busy
