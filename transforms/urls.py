"""URL normalization: one canonical form per article for ids, seen-state and deduplication.

Two levels:

* :func:`normalize_url` only removes what never changes the document: case of scheme/host,
  ``www.``, default ports, fragments, trailing slashes and reader-tracking query parameters.
* :func:`canonical_entry_url` additionally folds AMP and mobile variants of an article onto the
  desktop URL. It is meant for feed entry links, where the same story is announced as
  ``m.example.com/story`` by one feed and ``example.com/story/amp`` by another. See its
  docstring for what counts as "safe".
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

#: Query parameters that only track the reader; they never select different content.
TRACKING_PARAMS = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|gclsrc|dclid|wbraid|gbraid|msclkid|ttclid|twclid|li_fat_id|"
    r"mc_cid|mc_eid|igshid|yclid|srsltid|_ga|_gl|_hsenc|_hsmi|__hssc|__hstc|__hsfp|hsctatracking|"
    r"mkt_tok|oly_anon_id|oly_enc_id|vero_id|vero_conv|wickedid|rb_clickid|s_cid|sc_cid|ncid|"
    r"ref|ref_src|ref_url|cmpid|cmp|intcmp|icid|ito|ocid|smid|soc_src|soc_trk|taid|xtor|"
    r"ns_mchannel|ns_source|ns_campaign|ns_linkname|ns_fee|"
    r"at_medium|at_campaign|at_campaign_type|at_link_id|at_link_type|at_link_origin|at_ptr_name|"
    r"at_format|at_bbc_team|at_custom\d+|"
    r"wt\.mc_id|wt\.mc_ev|guccounter|guce_referrer|guce_referrer_sig|"
    r"fb_action_ids|fb_action_types|fb_ref|fb_source|action_object_map|action_type_map|"
    r"action_ref_map|__twitter_impression|__tn__|"
    r"amp_js_v|amp_gsa|amp_ct|amp_tf|usqp|aoh)$",
    re.IGNORECASE)

#: Generic parameter names that are tracking only when they say "this came from a feed"
#: (``?source=rss``); with other values they may select content and are kept.
FEED_MARKER_PARAMS = re.compile(r"^(source|src|from|via|feed|channel|partner)$", re.IGNORECASE)
FEED_MARKER_VALUES = re.compile(
    r"^(rss|rss2|rss20|rssfeed|rss_feed|rss-feed|feed|feeds|feed_rss|atom|feedburner|"
    r"feedly|newsfeed)$", re.IGNORECASE)

#: Query parameters that only ask for the AMP rendering of the same article.
AMP_PARAMS = re.compile(r"^(amp|outputtype)$", re.IGNORECASE)
_AMP_VALUES = re.compile(r"^(|1|true|yes|amp)$", re.IGNORECASE)

#: Host prefixes that name the mobile/AMP edition of the same site.
_VARIANT_HOST_PREFIXES = ("amp.", "m.")
_AMP_CACHE_HOSTS = re.compile(r"(^|\.)cdn\.ampproject\.org$|(^|\.)ampproject\.net$")
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")


def _is_tracking_param(name: str, value: str) -> bool:
    if TRACKING_PARAMS.match(name):
        return True
    return bool(FEED_MARKER_PARAMS.match(name) and FEED_MARKER_VALUES.match(value.strip()))


def normalize_url(url: str) -> str:
    """Canonical form: lower-case scheme/host, no ``www.``, default port, fragment, tracking
    parameters or trailing slash; remaining query parameters sorted."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower() or "http"
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if ":" in host:  # IPv6 literal: urlsplit drops the brackets
        host = f"[{host}]"
    port = parts.port if parts.port not in (None, 80, 443) else None
    netloc = f"{host}:{port}" if port else host
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    if len(path) > 1:
        path = path.rstrip("/")
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _is_tracking_param(k, v))
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def domain_of(url: str | None) -> str | None:
    """Lower-case host without ``www.``, or None for URLs without a host."""
    if not url:
        return None
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    if host.startswith("www."):
        host = host[4:]
    return host or None


def is_registrable_host(host: str) -> bool:
    """Whether ``host`` is a site of its own (a registrable domain or below one), not a public
    suffix such as ``co.uk`` or a shared hosting suffix such as ``blogspot.com``.

    Uses the Public Suffix List snapshot bundled with ``publicsuffixlist`` (ICANN and private
    sections; nothing is downloaded). Names under TLDs the list does not know (``.test``,
    ``.example``) follow its default rule: the last label is the suffix.
    """
    host = host.lower().rstrip(".")
    if not _HOSTNAME.match(host) or host.replace(".", "").isdigit():
        return False
    return _public_suffix_list().privatesuffix(host) is not None


def site_of(host: str | None) -> str | None:
    """The registrable domain of a host, one site: ``edition.cnn.com`` -> ``cnn.com``."""
    if not host:
        return None
    host = host.lower().rstrip(".")
    if ":" in host or host.replace(".", "").isdigit():  # an IP address is a site of its own
        return host
    return _public_suffix_list().privatesuffix(host) or host


@functools.cache
def _public_suffix_list():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def unwrap_amp_cache(url: str) -> str:
    """The publisher's URL behind a Google AMP cache/viewer URL, or ``url`` unchanged.

    ``https://example-com.cdn.ampproject.org/c/s/example.com/a/b`` and
    ``https://www.google.com/amp/s/example.com/a/b`` both name ``https://example.com/a/b``
    explicitly, so unwrapping them is always safe (``/s/`` means https, no ``s`` means http).
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return url
    path = parts.path
    if _AMP_CACHE_HOSTS.search(host):
        match = re.match(r"^/(?:c|v|wp)/(s/)?([^/]+)(/.*)?$", path)
    elif re.match(r"^(www\.)?google\.[a-z.]+$", host):
        match = re.match(r"^/amp/(s/)?([^/]+)(/.*)?$", path)
    else:
        return url
    if not match or not _HOSTNAME.match(match.group(2).lower().split(":")[0]):
        return url
    scheme = "https" if match.group(1) else "http"
    return urlunsplit((scheme, match.group(2), match.group(3) or "/", parts.query, ""))


def canonical_entry_url(url: str) -> str:
    """:func:`normalize_url` plus folding of AMP/mobile variants onto the desktop article.

    "Safe" means the rewrite cannot land on a different site or a different document:

    * AMP cache/viewer URLs are unwrapped (:func:`unwrap_amp_cache`): the origin is explicit.
    * ``amp``/``amp=1``/``amp=true``/``outputType=amp`` query parameters are dropped: they ask
      for another rendering of the same path.
    * A final ``/amp`` path segment is dropped, but only when another segment remains
      (``/amp`` alone would become the home page).
    * A leading ``amp.`` or ``m.`` host label is dropped only when what remains is still a
      registrable site (:func:`is_registrable_host`): ``m.example.co.uk`` becomes
      ``example.co.uk``; ``m.co.uk`` or ``m.blogspot.com`` stay as they are. Other mobile
      spellings (``mobile.``, ``en.m.``) are left alone: they are not reliably the same site.
    """
    parts = urlsplit(normalize_url(unwrap_amp_cache(url)))
    netloc = parts.netloc
    host, sep, port = netloc.partition(":")
    for prefix in _VARIANT_HOST_PREFIXES:
        if host.startswith(prefix) and is_registrable_host(host[len(prefix):]):
            netloc = f"{host[len(prefix):]}{sep}{port}"
            break
    segments = parts.path.split("/")
    path = parts.path
    if len(segments) > 2 and segments[-1].lower() == "amp":
        path = "/".join(segments[:-1])
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not (AMP_PARAMS.match(k) and _AMP_VALUES.match(v))]
    return urlunsplit((parts.scheme, netloc, path, urlencode(query), ""))


__all__ = [
    "AMP_PARAMS", "FEED_MARKER_PARAMS", "TRACKING_PARAMS", "canonical_entry_url", "domain_of",
    "is_registrable_host", "normalize_url", "site_of", "unwrap_amp_cache",
]
