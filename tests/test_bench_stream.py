"""bench_stream's arithmetic, its loopback site, and one tiny end-to-end run."""

from __future__ import annotations

import http.client
import io
import time

import pytest

from bench import bench_stream as bs


def test_percentile_interpolates_between_ranks():
    assert bs.percentile([], 50) is None
    assert bs.percentile([5.0], 95) == 5.0
    assert bs.percentile([4, 1, 3, 2, 5], 50) == 3
    assert bs.percentile([1, 2, 3, 4, 5], 95) == pytest.approx(4.8)
    assert bs.percentile(range(101), 100) == 100


def test_host_spacing_finds_the_smallest_gap_per_host():
    arrivals = [("a", 10.0), ("b", 0.0), ("a", 11.5), ("a", 10.9), ("b", 5.0)]
    spacing = bs.host_spacing(arrivals, delay_s=1.0)
    assert spacing["a"] == {"requests": 3, "min_gap": pytest.approx(0.6), "below_delay": 2}
    assert spacing["b"] == {"requests": 2, "min_gap": 5.0, "below_delay": 0}
    assert bs.host_spacing([("c", 1.0)], 1.0)["c"]["min_gap"] is None


def test_closest_pairs_name_the_requests_on_either_side():
    log = [(0.0, "a", "/feed/1.xml", 200), (1.2, "a", "/a/1/2.html", 200),
           (2.0, "a", "/robots.txt", 200), (0.5, "b", "/feed/2.xml", 200)]
    assert bs.closest_pairs(log, 1) == [(pytest.approx(0.8), "a", "/a/1/2.html",
                                         "/robots.txt")]


def test_memory_levels_compare_the_last_third_with_the_middle_one():
    flat = bs.memory_levels([(t, 100 + (t < 3) * 50) for t in range(9)])
    assert flat == {"middle": 100, "last": 100, "ratio": 1.0}
    growing = bs.memory_levels([(t, 100 * t) for t in range(1, 7)])
    assert growing["ratio"] == pytest.approx(550 / 350)
    assert bs.memory_levels([(0, 1), (1, 2)])["ratio"] is None


def test_unchanged_bodies_and_non_200_answers_are_not_parsed_listings():
    answers = [("f", 200, "h1", ("a",)), ("f", 304, "e", ()), ("f", 200, "h1", ("a",)),
               ("f", 502, "x", ()), ("f", 200, "h2", ("a", "b")), ("g", 200, "h1", ("c",))]
    assert bs.parsed_listings(answers) == {"f": [("a",), ("a", "b")], "g": [("c",)]}


def test_conservation_counts_items_not_polls():
    listings = {"f": [("old", "a"), ("old", "a", "b"), ("old", "a", "b", "c")]}
    published = {"a", "b", "c"}
    outcomes = {"old": ["skip:feed:too_old"], "a": ["row"], "b": ["dead:fetch:http_500"],
                "c": ["skip:extract:no_main_text"]}
    check = bs.conservation(listings, published, outcomes, known=5)  # old 2, a 2, b 1
    assert check["exact"] and (check["items"], check["rows"], check["dead_letters"],
                               check["skips"], check["known_expected"]) == (3, 1, 1, 1, 5)
    assert check["old_items"] == 1
    assert not bs.conservation(listings, published, outcomes, known=4)["exact"]

    lossy = dict(outcomes, c=[], a=["row", "row"], old=["skip:feed:too_old"] * 2,
                 zzz=["row"])
    check = bs.conservation(listings, published, lossy, known=5)
    assert not check["exact"]
    assert (check["lost"], check["repeated"], check["old_mismatch"],
            check["unknown_refs"]) == (["c"], ["a"], ["old"], ["zzz"])


def _get(host: str, port: int, path: str, headers=None):
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


def test_the_site_serves_feeds_pages_and_304s_on_loopback_hosts_and_logs_them():
    site = bs.Site(12, bs.loopback_hosts(2), duration_s=60, item_every_s=1, seed=3,
                   pages=bs.synthetic_pages(3))
    servers = bs.serve(site)
    try:
        site.start = time.time() - 30  # half the run has passed: some new items are listed
        feed = next(f for f in site.feeds if f.kind == "etag")
        status, headers, body = _get(feed.host, site.port, feed.path)
        assert status == 200 and body.count(b"<item>") == feed.size
        fresh = [number for when, number in feed.items if 0 <= when <= 30]
        assert fresh and f"/a/{feed.index}/{fresh[-1]}.html".encode() in body
        assert _get(feed.host, site.port, feed.path,
                    {"If-None-Match": headers["ETag"]})[0] == 304
        status, _, page = _get(feed.host, site.port, f"/a/{feed.index}/{fresh[-1]}.html")
        assert status == 200 and b"<html" in page
        later = [number for when, number in feed.items if when > 31]
        if later:  # not published yet
            assert _get(feed.host, site.port, f"/a/{feed.index}/{later[0]}.html")[0] == 404
        other = next(host for host in site.hosts if host != feed.host)
        assert _get(other, site.port, feed.path)[0] == 404  # each feed lives on one host
        failing = [f for f in site.feeds if f.kind == "failing"]
        for each in failing:
            assert _get(each.host, site.port, each.path)[0] == 500
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    assert [status for _, _, status, _, _ in site.feed_answers][:2] == [200, 304]
    assert {host for _, host, _, _ in site.log} == set(site.hosts)
    published = site.published()
    assert all(0 <= when - site.start < 60 for when in published.values())
    assert site.item_ref(feed, fresh[-1]) in published


@pytest.mark.slow
def test_a_tiny_bench_run_accounts_for_every_item(tmp_path):
    """Six feeds on two hosts for 12 s (about 30 s in all): every feed polled, nothing lost."""
    out = io.StringIO()
    figures = bs.main(["--feeds", "6", "--hosts", "2", "--duration", "12",
                       "--interval", "60", "--min_poll_interval", "5", "--window", "5",
                       "--per_host_delay", "0.2",
                       "--item_every", "5", "--pages", "synthetic", "--keep", str(tmp_path)],
                      out=out)
    text = out.getvalue()
    assert figures["code"] == 0, text
    assert figures["never_polled"] == 0 and figures["spacing_below"] == 0, text
    assert figures["conservation"]["exact"] and figures["unbalanced"] == 0, text
    assert figures["rows"] > 0 and "EXACT" in text and "polls/s" in text
