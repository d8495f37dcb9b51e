"""Per-host pacing on a fake clock, and robots.txt served by the loopback server."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from newsflow.transforms.hostqueue import JobPool
from newsflow.transforms.http import FetchPolicy
from newsflow.transforms.politeness import (
    ARTICLES,
    LANES,
    POLLS,
    HostSlots,
    RobotsCache,
    RobotsPolicy,
    RobotsRules,
    host_key,
    lane_slot_start,
    parse_robots,
    robots_url,
    slot_length,
)
from tests.httpserver import (
    LoopbackServer,
    error,
    huge,
    redirect,
    sequence,
    slow,
    static,
    stub_resolver,
)

LOCAL = FetchPolicy(allow_loopback=True, connect_timeout=1.0, read_timeout=1.0, total_timeout=2.0)
ROBOTS = b"""\
User-agent: *
Allow: /private/public.html
Disallow: /private/

User-agent: newsflow
Disallow: /no-newsflow/
Disallow: /private/
Crawl-delay: 3

User-agent: badbot
Disallow: /
"""


class FakeClock:
    """A clock that only moves when someone sleeps (or the test says so)."""

    def __init__(self, now: float = 1000.0):
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server():
    with LoopbackServer() as running:
        yield running


@pytest.fixture
def clock():
    return FakeClock()


# --------------------------------------------------------------------------- HostSlots

def test_requests_of_one_lane_are_spaced_on_their_slots(clock):
    slots = HostSlots(delay_s=2.0, clock=clock, sleep=clock.sleep)
    unit = slot_length(2.0)
    starts = [slots.wait_turn("https://news.example/a", ARTICLES) for _ in range(3)]
    assert clock.now == starts[-1]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == pytest.approx([2 * unit, 2 * unit])
    assert all(round(start / unit) % LANES == ARTICLES for start in starts)


def test_polls_and_pages_of_one_host_never_share_a_slot(clock):
    """Two lanes, as two workers would use them with no shared memory: every start on the
    host is at least the delay from every other one."""
    poll_worker = HostSlots(delay_s=1.0, clock=clock, sleep=clock.sleep)
    page_worker = HostSlots(delay_s=1.0, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(10):
        starts.append(poll_worker.claim("a.example", POLLS))
        starts.append(page_worker.claim("a.example", ARTICLES))
    starts.sort()
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 1.0
    assert len(set(starts)) == 20


def test_one_process_gives_either_lane_every_slot_the_other_leaves(clock):
    """The local runner: polls and pages share one sequence of slots, so a burst of polls
    goes twice as fast as on the two-lane grid, and mixed requests are still a delay apart
    (Crawl-delay then spaces them all)."""
    slots = HostSlots(delay_s=1.0, lanes=1, clock=clock, sleep=clock.sleep)
    unit = slot_length(1.0)
    polls = [slots.claim("a.example", POLLS) for _ in range(4)]
    assert [b - a for a, b in zip(polls, polls[1:], strict=False)] == pytest.approx([unit] * 3)
    mixed = sorted(slots.claim("a.example", lane) for lane in (POLLS, ARTICLES) * 3)
    assert min(b - a for a, b in zip([polls[-1], *mixed], mixed, strict=False)) >= 1.0
    assert slots.clock("a.example", POLLS) == slots.clock("a.example", ARTICLES)
    slots.set_min_gap("a.example", ARTICLES, 5.0)
    before = slots.claim("a.example", POLLS)
    assert slots.claim("a.example", POLLS) - before >= 5.0
    clock.now += 100.37  # idle, off the grid: the next request starts at once
    assert slots.claim("c.example", POLLS) == clock.now
    assert slots.claim("c.example", ARTICLES) == pytest.approx(clock.now + unit)
    two_lanes = HostSlots(delay_s=1.0, clock=clock, sleep=clock.sleep)
    burst = [two_lanes.claim("b.example", POLLS) for _ in range(4)]
    assert burst[-1] - burst[0] == pytest.approx(6 * unit)
    with pytest.raises(ValueError, match="lanes"):
        HostSlots(delay_s=1.0, lanes=3)


def test_different_hosts_do_not_wait_for_each_other(clock):
    slots = HostSlots(delay_s=5.0, clock=clock, sleep=clock.sleep)
    starts = [slots.claim(host, ARTICLES) for host in ("a.example", "b.example",
                                                        "https://c.example/")]
    assert len(set(starts)) == 1 and starts[0] - clock.now < 2 * slot_length(5.0)


def test_time_already_elapsed_counts_towards_the_delay(clock):
    slots = HostSlots(delay_s=2.0, clock=clock, sleep=clock.sleep)
    first = slots.wait_turn("a.example", ARTICLES)
    clock.now = first + 30
    second = slots.wait_turn("a.example", ARTICLES)
    assert second - clock.now < 2 * slot_length(2.0) and second - first >= 30


def test_crawl_delay_spaces_a_lane_further(clock):
    slots = HostSlots(delay_s=1.0, clock=clock, sleep=clock.sleep)
    slots.set_min_gap("slow.example", ARTICLES, 7.0)
    starts = [slots.wait_turn("slow.example", ARTICLES) for _ in range(3)]
    assert all(b - a >= 7.0 for a, b in zip(starts, starts[1:], strict=False))
    assert slots.clock("slow.example", ARTICLES).min_gap == 7.0


def test_a_lane_clock_moves_between_workers(clock):
    """A worker that takes over a host (its key moved) continues after the other's slots."""
    before = HostSlots(delay_s=1.0, clock=clock, sleep=clock.sleep)
    last = [before.claim("a.example", ARTICLES) for _ in range(5)][-1]
    after = HostSlots(delay_s=1.0, clock=clock, sleep=clock.sleep)
    after.restore("a.example", ARTICLES, before.clock("a.example", ARTICLES))
    assert after.claim("a.example", ARTICLES) - last >= 1.0


def test_a_late_wake_up_gives_its_slot_up(clock):
    """A thread that oversleeps its slot takes the next one instead of starting late."""
    oversleep = [0.5]

    def sleep(seconds):
        clock.sleep(seconds + (oversleep.pop() if oversleep else 0.0))

    slots = HostSlots(delay_s=1.0, clock=clock, sleep=sleep)
    first = slots.claim("a.example", POLLS)
    start = slots.wait_turn("a.example", POLLS)
    assert slots.missed == 1 and start - first == pytest.approx(4 * slot_length(1.0))


def test_the_delay_counts_from_when_a_request_went_out(clock):
    """A request written 0.35 s into its slot (a busy process's connect) pushes the next one
    to a full delay after it, past the slot that would have been next."""
    slots = HostSlots(delay_s=1.0, lanes=1, clock=clock, sleep=clock.sleep)
    start = slots.wait_turn("a.example", POLLS)
    assert slots.claim("b.example", ARTICLES) == start  # other hosts are not concerned
    clock.now = start + 0.35
    slots.sent("a.example", POLLS)
    assert slots.wait_turn("a.example", ARTICLES) >= start + 0.35 + 1.0 > start + slot_length(1.0)
    clock.now += 0.01
    slots.sent("a.example", ARTICLES)  # on time: the slot's own spacing stands
    assert slots.claim("a.example", POLLS) == pytest.approx(start + 1.45 + slot_length(1.0))
    unpaced = HostSlots(delay_s=0.0, clock=clock, sleep=clock.sleep)
    unpaced.sent("a.example", POLLS)
    assert unpaced.claim("a.example", POLLS) == clock.now


def test_a_slow_connect_does_not_bring_the_next_request_closer(server, monkeypatch):
    """Requests as the server sees them: the first one's connect takes 0.3 s of its slot,
    and the second still arrives a full delay after it."""
    from newsflow.transforms import http as guarded
    from newsflow.transforms.fetch import PacedFetcher

    server.route("/p", static("<html>page</html>", content_type="text/html"))
    connect, delays = guarded._connect, [0.3]

    def slow_first_connect(*args):
        if delays:
            time.sleep(delays.pop())
        return connect(*args)

    monkeypatch.setattr(guarded, "_connect", slow_first_connect)
    fetcher = PacedFetcher(LOCAL, HostSlots(0.2, lanes=1), ARTICLES)
    for _ in range(2):
        fetcher(server.url("/p"), {})
    first, second = (arrival for arrival, _ in server.arrivals)
    assert second - first >= 0.2


def test_no_delay_means_no_grid(clock):
    slots = HostSlots(delay_s=0.0, clock=clock, sleep=clock.sleep)
    assert [slots.wait_turn("a.example", lane) for lane in (POLLS, ARTICLES, POLLS)] \
        == [1000.0] * 3
    assert lane_slot_start(12.3, ARTICLES, 0.0) == 12.3


def test_concurrent_callers_get_distinct_slots():
    clock = FakeClock(now=0.0)
    slots = HostSlots(delay_s=1.0, clock=clock, sleep=lambda seconds: None)
    starts, lock = [], threading.Lock()

    def worker():
        start = slots.claim("a.example", ARTICLES)
        with lock:
            starts.append(start)

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2.0)
    starts.sort()
    assert len(set(starts)) == 10
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == pytest.approx([2 * slot_length(1.0)] * 9)


def test_a_finished_job_frees_its_thread_before_it_is_collected():
    """Threads are for running requests: a finished job that waits for its host's next
    callback must not keep another host from starting."""
    pool = JobPool(1, "test")
    release = threading.Event()
    assert pool.try_submit("a.example", "feed-1", release.wait, 10)
    assert not pool.try_submit("b.example", "feed-2", time.sleep, 0)  # the one thread is busy
    release.set()
    deadline = time.monotonic() + 5
    while not pool.try_submit("b.example", "feed-2", time.sleep, 0):
        assert time.monotonic() < deadline, "the finished job still holds the thread"
        time.sleep(0.01)
    assert pool.running("a.example") == {"feed-1"}  # still there to be collected
    assert [job for job, _ in pool.collect("a.example", wait_s=5)] == ["feed-1"]
    assert [job for job, _ in pool.collect("b.example", wait_s=5)] == ["feed-2"]


def test_a_job_over_its_host_s_limit_waits_without_a_thread_and_follows_at_once():
    """A host's next request is handed over before a running one ends; it starts the moment
    one ends, not at the stage's next callback, and never beside more than ``limit``."""
    pool = JobPool(4, "test")
    first, second = threading.Event(), threading.Event()
    started: list[tuple[str, float]] = []

    def job(name, gate):
        started.append((name, time.monotonic()))
        return gate.wait(10)

    assert pool.try_submit("slow.example", "feed-1", job, "feed-1", first, limit=1)
    assert pool.try_submit("slow.example", "feed-2", job, "feed-2", second, limit=1)
    assert pool.try_submit("other.example", "feed-3", job, "feed-3", second, limit=1)
    time.sleep(0.2)
    assert sorted(name for name, _ in started) == ["feed-1", "feed-3"]  # feed-2 waits
    assert pool.running("slow.example") == {"feed-1", "feed-2"}
    assert pool._busy() == 2  # the waiting job holds no thread
    ended = time.monotonic()
    first.set()
    deadline = time.monotonic() + 5
    while len(started) < 3:
        assert time.monotonic() < deadline, "the waiting job did not follow"
        time.sleep(0.005)
    assert started[-1][0] == "feed-2" and started[-1][1] - ended < 0.5
    second.set()
    assert sorted(job for job, _ in pool.collect("slow.example", wait_s=5)) == [
        "feed-1", "feed-2"]
    assert [job for job, _ in pool.collect("other.example", wait_s=5)] == ["feed-3"]
    assert pool._busy() == 0


@pytest.mark.parametrize(("value", "key"), [
    ("https://News.Example:8443/a?b", "news.example"), ("Example.COM.", "example.com"),
    ("http://[::1]:80/", "::1"),
])
def test_host_key(value, key):
    assert host_key(value) == key


# --------------------------------------------------------------------------- robots.txt

def test_robots_rules_are_applied(server):
    server.route("/robots.txt", static(ROBOTS))
    robots = RobotsCache(LOCAL)
    assert robots.allowed(server.url("/news/1.html"))
    assert not robots.allowed(server.url("/no-newsflow/x"))  # our own group
    assert not robots.allowed(server.url("/private/x"))
    assert robots.allowed(server.url("/no-newsflow/x"), "otherbot/1.0")  # the * group
    assert robots.allowed(server.url("/private/public.html"), "otherbot/1.0")
    assert not robots.allowed(server.url("/news/1.html"), "BadBot/2.0")
    assert robots.allowed(server.url("/robots.txt"), "BadBot/2.0")
    assert robots.crawl_delay(server.url("/")) == 3.0
    request = server.last_request("/robots.txt")
    assert request.header("user-agent") == LOCAL.user_agent


def test_robots_are_cached_per_host_until_the_ttl(server, clock):
    server.route("/robots.txt", static(ROBOTS))
    robots = RobotsCache(LOCAL, RobotsPolicy(ttl=3600), clock=clock)
    for path in ("/a", "/b", "/private/c", "/d"):
        robots.allowed(server.url(path))
    assert server.hits["/robots.txt"] == 1
    clock.now += 3599
    robots.allowed(server.url("/e"))
    assert server.hits["/robots.txt"] == 1
    clock.now += 2
    robots.allowed(server.url("/e"))
    assert server.hits["/robots.txt"] == 2


def test_missing_robots_allows_everything(server):
    server.route("/robots.txt", error(404, b"not here"))
    robots = RobotsCache(LOCAL)
    assert robots.allowed(server.url("/private/x"))
    assert robots.crawl_delay(server.url("/")) is None


@pytest.mark.parametrize("status", [401, 403, 410])
def test_other_4xx_robots_allow_everything(server, status):
    server.route("/robots.txt", error(status))
    assert RobotsCache(LOCAL).allowed(server.url("/anything"))


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_error_disallows_for_a_while(server, clock, status):
    server.route("/robots.txt", sequence(error(status), static(ROBOTS)))
    robots = RobotsCache(LOCAL, RobotsPolicy(unreachable_ttl=600), clock=clock)
    assert not robots.allowed(server.url("/news/1"))
    clock.now += 599
    assert not robots.allowed(server.url("/news/1"))
    assert server.hits["/robots.txt"] == 1
    clock.now += 2
    assert robots.allowed(server.url("/news/1"))
    assert server.hits["/robots.txt"] == 2


def test_unreachable_host_disallows():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    assert not RobotsCache(LOCAL).allowed(f"http://127.0.0.1:{port}/news")


def test_dns_failure_disallows():
    robots = RobotsCache(LOCAL, resolver=stub_resolver({}))
    assert not robots.allowed("http://nowhere.example/news")


def test_robots_fetch_goes_through_the_guarded_client(server):
    server.route("/robots.txt", static(b"User-agent: *\nDisallow:\n"))
    strict = FetchPolicy(connect_timeout=1.0, read_timeout=1.0, total_timeout=2.0)
    robots = RobotsCache(strict, resolver=stub_resolver({"meta.example": "169.254.169.254"}))
    assert not robots.allowed(server.url("/news"))  # loopback refused: unreachable
    assert not robots.allowed("http://meta.example/news")
    assert server.hits["/robots.txt"] == 0


def test_refresh_failure_keeps_the_previous_rules(server, clock):
    server.route("/robots.txt", sequence(static(ROBOTS), error(503)))
    robots = RobotsCache(LOCAL, RobotsPolicy(ttl=60, unreachable_ttl=600), clock=clock)
    assert robots.allowed(server.url("/news"))
    clock.now += 61
    assert robots.allowed(server.url("/news"))  # 503 now, last known rules still apply
    assert not robots.allowed(server.url("/private/x"))
    assert server.hits["/robots.txt"] == 2


def test_robots_redirect_loop_counts_as_unavailable(server):
    server.route("/robots.txt", redirect("/robots-moved.txt"))
    server.route("/robots-moved.txt", redirect("/robots.txt"))
    assert RobotsCache(LOCAL).allowed(server.url("/private/x"))


def test_robots_redirect_is_followed(server):
    server.route("/robots.txt", redirect("/real-robots.txt", 301))
    server.route("/real-robots.txt", static(ROBOTS))
    assert not RobotsCache(LOCAL).allowed(server.url("/private/x"))


def test_oversized_robots_is_treated_as_unreachable(server):
    server.route("/robots.txt", huge(2 * 1024 * 1024))
    assert not RobotsCache(LOCAL, RobotsPolicy(max_bytes=1024)).allowed(server.url("/news"))


def test_one_fetch_for_concurrent_lookups(server):
    server.route("/robots.txt", slow(0.2, ROBOTS))
    robots = RobotsCache(LOCAL)
    answers, lock = [], threading.Lock()

    def ask():
        answer = robots.allowed(server.url("/news"))
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(2.0)
    assert answers == [True] * 6
    assert server.hits["/robots.txt"] == 1


def test_disabled_robots_allow_everything_without_fetching(server):
    server.route("/robots.txt", static(b"User-agent: *\nDisallow: /\n"))
    robots = RobotsCache(LOCAL, RobotsPolicy(enabled=False))
    assert robots.allowed(server.url("/anything"))
    assert robots.crawl_delay(server.url("/")) is None
    assert server.hits["/robots.txt"] == 0


def test_non_http_urls_are_never_allowed():
    robots = RobotsCache(LOCAL)
    assert not robots.allowed("file:///etc/passwd")
    assert not robots.allowed("not a url")


def test_robots_url_and_parse():
    assert robots_url("HTTPS://user:pw@News.Example:8443/a/b?c") == \
        "https://news.example:8443/robots.txt"
    assert robots_url("ftp://x/") is None
    parser = parse_robots(b"\xef\xbb\xbfUser-agent: *\nDisallow: /x\n\xff\n")
    assert not parser.can_fetch("http://a/x/1", "newsflow")
    assert parser.can_fetch("http://a/y", "newsflow")


#: Rules that ``urllib.robotparser`` got wrong (it allowed all four disallowed URLs below):
#: wildcards and end anchors in paths, and the longest match winning over file order.
MODERN_ROBOTS = b"""\
User-agent: *
Allow: /
Disallow: /*.pdf$
Disallow: /search*
Disallow: /archive/
Allow: /archive/public/
"""


@pytest.mark.parametrize("path, allowed", [
    ("/files/report.pdf", False),         # /*.pdf$
    ("/search?q=kim", False),             # /search*
    ("/search/advanced", False),          # /search*
    ("/archive/2023/story.html", False),  # Disallow /archive/ is longer than Allow /
    ("/files/report.pdf?download=1", True),   # $ anchors the end: the query follows
    ("/archive/public/story.html", True),     # the longer Allow wins
    ("/news/story.html", True),
])
def test_robots_wildcards_anchors_and_longest_match(path, allowed):
    rules = RobotsRules("rules", expires=0.0, parser=parse_robots(MODERN_ROBOTS))
    assert rules.allowed(f"https://news.example{path}", LOCAL.user_agent) is allowed
