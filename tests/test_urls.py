"""URL normalization: tracking parameters and the AMP/mobile folding of feed entry links."""

from __future__ import annotations

import pytest

from newsflow.transforms.urls import (
    canonical_entry_url,
    domain_of,
    is_registrable_host,
    normalize_url,
    unwrap_amp_cache,
)


def test_normalize_url_basics_unchanged():
    assert normalize_url("HTTPS://WWW.Example.COM:443/a//b/?b=2&a=1#frag") == \
        "https://example.com/a/b?a=1&b=2"
    assert normalize_url("http://example.com:8080/") == "http://example.com:8080/"
    assert normalize_url("http://example.com") == "http://example.com/"


@pytest.mark.parametrize("query", [
    "utm_source=rss&utm_medium=feed", "fbclid=abc", "gclid=1", "CMP=share_btn_tw",
    "at_medium=RSS&at_campaign=KARANGA", "ns_mchannel=rss&ns_source=PublicRSS20-sa",
    "WT.mc_id=x", "mkt_tok=abc", "_hsenc=p2&_hsmi=1", "guccounter=1", "srsltid=abc",
    "source=rss", "from=RSS", "src=feed", "via=feedburner", "usqp=mq331AQFKAGwASA%3D",
])
def test_tracking_params_are_removed(query):
    assert normalize_url(f"https://example.com/story?{query}") == "https://example.com/story"


@pytest.mark.parametrize("query", ["id=42", "source=reuters", "from=2024-01-01", "page=2",
                                   "q=amp"])
def test_content_params_are_kept(query):
    assert normalize_url(f"https://example.com/story?{query}") == \
        f"https://example.com/story?{query}"


def test_ipv6_host_keeps_brackets():
    assert normalize_url("http://[2001:db8::1]:8080/a/") == "http://[2001:db8::1]:8080/a"


def test_domain_of_unchanged():
    assert domain_of("https://www.Example.com/x") == "example.com"
    assert domain_of(None) is None
    assert domain_of("not a url") is None
    assert domain_of("http://[bad") is None


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com/news/story/amp", "https://example.com/news/story"),
    ("https://example.com/news/story/amp/", "https://example.com/news/story"),
    ("https://example.com/news/story?amp", "https://example.com/news/story"),
    ("https://example.com/news/story?amp=1&id=3", "https://example.com/news/story?id=3"),
    ("https://example.com/news/story?outputType=amp", "https://example.com/news/story"),
    ("https://amp.theguardian.com/world/x", "https://theguardian.com/world/x"),
    ("https://m.example.co.uk/news/x/amp?utm_source=tw#c", "https://example.co.uk/news/x"),
    ("https://www.m.example.com/x", "https://example.com/x"),
    ("https://m.example.com:8443/x", "https://example.com:8443/x"),
    ("https://www-example-com.cdn.ampproject.org/c/s/www.example.com/a/b?x=1",
     "https://example.com/a/b?x=1"),
    ("https://example-com.cdn.ampproject.org/c/example.com/a", "http://example.com/a"),
    ("https://www.google.com/amp/s/example.com/a/amp", "https://example.com/a"),
])
def test_canonical_entry_url_folds_amp_and_mobile(url, expected):
    assert canonical_entry_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com/amp", "https://example.com/amp"),  # would become the home page
    ("https://m.co.uk/x", "https://m.co.uk/x"),  # co.uk is not a site
    ("https://amp.com.au/x", "https://amp.com.au/x"),
    ("https://m.blogspot.com/x", "https://m.blogspot.com/x"),  # shared hosting suffix
    # Public suffixes a heuristic misses: the Public Suffix List knows them.
    ("https://m.uk.com/x", "https://m.uk.com/x"),
    ("https://m.s3.amazonaws.com/x", "https://m.s3.amazonaws.com/x"),
    ("https://m.com/x", "https://m.com/x"),  # "com" alone is not a site
    ("https://mobile.example.com/x", "https://mobile.example.com/x"),  # not a safe prefix
    ("https://en.m.wikipedia.org/wiki/X", "https://en.m.wikipedia.org/wiki/X"),
    ("http://192.168.0.1/m", "http://192.168.0.1/m"),
    ("https://example.com/story?amp=0", "https://example.com/story?amp=0"),
    ("https://example.com/amplifiers/amp-123", "https://example.com/amplifiers/amp-123"),
])
def test_canonical_entry_url_leaves_unsafe_cases(url, expected):
    assert canonical_entry_url(url) == expected


def test_unwrap_amp_cache_ignores_other_urls():
    assert unwrap_amp_cache("https://example.com/c/s/other.com/x") == \
        "https://example.com/c/s/other.com/x"
    assert unwrap_amp_cache("https://x.cdn.ampproject.org/c/s/not_a_host/x") == \
        "https://x.cdn.ampproject.org/c/s/not_a_host/x"


def test_is_registrable_host():
    assert is_registrable_host("example.com")
    assert is_registrable_host("example.co.uk")
    assert not is_registrable_host("co.uk")
    assert not is_registrable_host("com")
    assert not is_registrable_host("github.io")
    assert not is_registrable_host("10.0.0.1")
    assert not is_registrable_host("uk.com") and is_registrable_host("shop.uk.com")
    assert is_registrable_host("example-news.test")  # unknown TLDs: the default rule
