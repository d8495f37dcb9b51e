"""Being a good citizen on other people's servers: per-host pacing and robots.txt.

``HostThrottle`` spaces requests to one host and caps how many run at once. ``RobotsCache``
fetches robots.txt through ``newsflow.transforms.http.fetch`` (the guarded client), parses it
with ``protego`` and answers ``allowed(url)``. Protego follows RFC 9309 where the standard
library's ``urllib.robotparser`` does not: ``*`` and ``$`` in paths (``/*.pdf$``, ``/search*``)
and the longest matching rule winning over file order. Status handling follows RFC 9309 too:
4xx means no rules, 5xx or an unreachable server means "disallow everything for now".
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from protego import Protego

from newsflow.transforms.http import FetchError, FetchPolicy, Resolver, fetch


def host_key(url_or_host: str) -> str:
    """The lower-case host a URL (or a bare host) is paced under."""
    if "://" in url_or_host:
        try:
            return (urlsplit(url_or_host).hostname or "").rstrip(".")
        except ValueError:
            return ""
    return url_or_host.lower().rstrip(".")


class HostThrottle:
    """Per-host minimum delay between request starts and a per-host concurrency cap.

    Thread-safe. A request reserves its start time under the lock and sleeps outside it, so
    threads for different hosts never wait for each other. ``clock``/``sleep`` are injectable
    so tests run on a fake clock.
    """

    def __init__(self, min_delay: float = 1.0, max_concurrent: int = 2, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, max_hosts: int = 10_000):
        if min_delay < 0 or max_concurrent < 1:
            raise ValueError("min_delay must be >= 0 and max_concurrent >= 1")
        self.min_delay = min_delay
        self.max_concurrent = max_concurrent
        self._clock, self._sleep = clock, sleep
        self._max_hosts = max_hosts
        self._condition = threading.Condition()
        self._active: defaultdict[str, int] = defaultdict(int)
        self._next_start: dict[str, float] = {}
        self._delays: dict[str, float] = {}

    def delay_for(self, host: str) -> float:
        """Seconds between two request starts on ``host``."""
        return max(self.min_delay, self._delays.get(host_key(host), 0.0))

    def set_delay(self, host: str, seconds: float | None) -> None:
        """A host-specific delay (e.g. robots.txt Crawl-delay); never below ``min_delay``."""
        with self._condition:
            if seconds is None:
                self._delays.pop(host_key(host), None)
            else:
                self._delays[host_key(host)] = float(seconds)

    def defer(self, host: str, seconds: float) -> None:
        """Start nothing on ``host`` for ``seconds`` (a 429/503 Retry-After, for instance)."""
        key = host_key(host)
        with self._condition:
            not_before = self._clock() + seconds
            self._next_start[key] = max(self._next_start.get(key, 0.0), not_before)

    def acquire(self, host: str, timeout: float | None = None) -> float:
        """Wait for a slot and for the host's turn; returns the seconds slept for pacing.

        ``timeout`` bounds only the wait for a concurrency slot (``TimeoutError``).
        """
        key = host_key(host)
        with self._condition:
            if not self._condition.wait_for(lambda: self._active[key] < self.max_concurrent,
                                            timeout):
                raise TimeoutError(f"no free slot for {key} within {timeout} s")
            self._active[key] += 1
            now = self._clock()
            start = max(now, self._next_start.get(key, now))
            self._next_start[key] = start + self.delay_for(key)
            self._forget_idle_hosts(now)
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return wait

    def release(self, host: str) -> None:
        key = host_key(host)
        with self._condition:
            self._active[key] = max(0, self._active[key] - 1)
            if not self._active[key]:
                del self._active[key]
            self._condition.notify_all()

    @contextmanager
    def slot(self, url_or_host: str, timeout: float | None = None):
        """``with throttle.slot(url): fetch(url, ...)``"""
        self.acquire(url_or_host, timeout)
        try:
            yield
        finally:
            self.release(url_or_host)

    def _forget_idle_hosts(self, now: float) -> None:
        """Keep memory bounded on long runs: drop hosts that are idle and past their delay."""
        if len(self._next_start) <= self._max_hosts:
            return
        for key in [k for k, t in self._next_start.items() if t <= now and k not in self._active]:
            del self._next_start[key]


# --------------------------------------------------------------------------- robots.txt

@dataclass(frozen=True)
class RobotsPolicy:
    """How robots.txt is honoured."""

    enabled: bool = True
    ttl: float = 24 * 3600  # RFC 9309: a cached copy SHOULD NOT be used for more than 24 h
    unreachable_ttl: float = 10 * 60  # how long a 5xx/unreachable "disallow all" is kept
    max_bytes: int = 500 * 1024  # RFC 9309 asks parsers to handle at least 500 KiB
    max_hosts: int = 10_000  # cache size


@dataclass(frozen=True)
class RobotsRules:
    """One host's answer: ``verdict`` is ``rules``, ``allow_all`` or ``disallow_all``."""

    verdict: str
    expires: float
    parser: Protego | None = None
    why: str = ""  # status or fetch error, for logs

    def allowed(self, url: str, user_agent: str) -> bool:
        if self.verdict == "allow_all":
            return True
        if self.verdict == "disallow_all" or self.parser is None:
            return False
        return self.parser.can_fetch(url, user_agent)

    def crawl_delay(self, user_agent: str) -> float | None:
        if self.parser is None:
            return None
        delay = self.parser.crawl_delay(user_agent)
        return float(delay) if delay is not None else None


def robots_url(url: str) -> str | None:
    """``scheme://host[:port]/robots.txt`` for an http(s) URL, else None."""
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        return f"{parts.scheme.lower()}://{parts.netloc.rsplit('@', 1)[-1].lower()}/robots.txt"
    except ValueError:
        return None


def parse_robots(body: bytes) -> Protego:
    """Rules parsed from robots.txt bytes (UTF-8, undecodable bytes replaced, BOM dropped)."""
    return Protego.parse(body.decode("utf-8", errors="replace").lstrip("\ufeff"))


def rules_from_status(status: int, body: bytes, now: float, policy: RobotsPolicy) -> RobotsRules:
    """RFC 9309 §2.3.1: 2xx → the file's rules; 4xx → no rules; 5xx (and 429) → unreachable."""
    if 200 <= status < 300:
        return RobotsRules("rules", now + policy.ttl, parse_robots(body), f"HTTP {status}")
    if 400 <= status < 500 and status != 429:
        return RobotsRules("allow_all", now + policy.ttl, why=f"HTTP {status}")
    return RobotsRules("disallow_all", now + policy.unreachable_ttl, why=f"HTTP {status}")


def rules_from_error(error: FetchError, now: float, policy: RobotsPolicy) -> RobotsRules:
    """Too many redirects means "unavailable" (RFC 9309 §2.3.1.2), anything else unreachable."""
    if error.reason in ("too_many_redirects", "redirect_loop"):
        return RobotsRules("allow_all", now + policy.ttl, why=error.reason)
    return RobotsRules("disallow_all", now + policy.unreachable_ttl, why=error.reason)


class RobotsCache:
    """robots.txt per scheme+host+port, fetched through the guarded client, cached with a TTL.

    Thread-safe; concurrent lookups for one host share one fetch. When a refresh finds the
    server unreachable, the previous rules are kept (RFC 9309 §2.4) instead of switching to
    "disallow all".
    """

    def __init__(self, fetch_policy: FetchPolicy | None = None,
                 policy: RobotsPolicy | None = None, *,
                 fetcher: Callable[..., object] = fetch, resolver: Resolver | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.policy = policy or RobotsPolicy()
        base = fetch_policy or FetchPolicy()
        self.fetch_policy = dataclasses.replace(base, max_bytes=self.policy.max_bytes,
                                                allowed_content_types=None)
        self.user_agent = base.user_agent
        self._fetcher, self._resolver, self._clock = fetcher, resolver, clock
        self._entries: OrderedDict[str, RobotsRules] = OrderedDict()
        self._lock = threading.Lock()
        self._fetch_locks: dict[str, threading.Lock] = {}

    def allowed(self, url: str, user_agent: str | None = None) -> bool:
        """May ``user_agent`` (default: ours) fetch ``url``? Non-http URLs never are."""
        if not self.policy.enabled:
            return True
        location = robots_url(url)
        if location is None:
            return False
        if urlsplit(url).path == "/robots.txt":
            return True
        return self.rules(location).allowed(url, user_agent or self.user_agent)

    def crawl_delay(self, url: str, user_agent: str | None = None) -> float | None:
        """The host's Crawl-delay for us, if it sets one (feed it to ``HostThrottle.set_delay``)."""
        location = robots_url(url)
        if not self.policy.enabled or location is None:
            return None
        return self.rules(location).crawl_delay(user_agent or self.user_agent)

    def rules(self, location: str) -> RobotsRules:
        """Cached rules for one robots.txt URL, fetched when missing or expired."""
        cached = self._fresh(location)
        if cached is not None:
            return cached
        with self._fetch_lock(location):
            cached = self._fresh(location)  # another thread may have fetched it meanwhile
            if cached is not None:
                return cached
            rules = self._download(location)
            with self._lock:
                previous = self._entries.get(location)
                if rules.verdict == "disallow_all" and previous is not None \
                        and previous.verdict != "disallow_all":
                    rules = dataclasses.replace(previous, expires=rules.expires, why=rules.why)
                self._store(location, rules)
            return rules

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _fresh(self, location: str) -> RobotsRules | None:
        with self._lock:
            rules = self._entries.get(location)
            if rules is None or rules.expires <= self._clock():
                return None
            self._entries.move_to_end(location)
            return rules

    def _fetch_lock(self, location: str) -> threading.Lock:
        with self._lock:
            return self._fetch_locks.setdefault(location, threading.Lock())

    def _download(self, location: str) -> RobotsRules:
        try:
            result = self._fetcher(location, self.fetch_policy, resolver=self._resolver)
        except FetchError as error:
            return rules_from_error(error, self._clock(), self.policy)
        return rules_from_status(result.status, result.body, self._clock(), self.policy)

    def _store(self, location: str, rules: RobotsRules) -> None:
        """Insert under ``self._lock``, evicting the least recently used hosts."""
        self._entries[location] = rules
        self._entries.move_to_end(location)
        while len(self._entries) > self.policy.max_hosts:
            evicted, _ = self._entries.popitem(last=False)
            self._fetch_locks.pop(evicted, None)
