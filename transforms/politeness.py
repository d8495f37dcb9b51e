"""Being a good citizen on other people's servers: per-host pacing and robots.txt.

``HostSlots`` gives every request to a host a start time on a per-host grid of slots, one lane
for feed polls and one for article fetches, so requests to one host stay a delay apart across
lanes, threads and workers (concurrency per host is capped by the keyed stages that use it,
:mod:`newsflow.transforms.hostqueue`). ``RobotsCache``
fetches robots.txt through ``newsflow.transforms.http.fetch`` (the guarded client), parses it
with ``protego`` and answers ``allowed(url)``. Protego follows RFC 9309 where the standard
library's ``urllib.robotparser`` does not: ``*`` and ``$`` in paths (``/*.pdf$``, ``/search*``)
and the longest matching rule winning over file order. Status handling follows RFC 9309 too:
4xx means no rules, 5xx or an unreachable server means "disallow everything for now".
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
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


#: Lanes of the per-host slot grid: feed polls and article fetches never share a slot.
POLLS, ARTICLES = 0, 1
LANES = 2


def start_margin(delay_s: float) -> float:
    """How late in its slot a request may still start (thread wake-up, GIL); a slot is the
    delay plus two margins, so a request that reaches the server up to two margins late is
    still a full delay after the one before. 0.1 s: on a busy 2-core worker (1,000 feeds'
    first round) a request reached its server 131 ms after its slot began."""
    return min(0.1, delay_s / 4)


def slot_length(delay_s: float) -> float:
    """Seconds per slot of the grid for a configured per-host delay (0: no grid)."""
    return delay_s + 2 * start_margin(delay_s) if delay_s > 0 else 0.0


def lane_slot_start(earliest: float, lane: int, unit: float) -> float:
    """The start of the first slot of ``lane`` that begins at or after ``earliest``.

    Slot ``k`` of every host begins at ``k * unit`` (Unix time) and belongs to lane
    ``k % LANES``: a pure function of the time, so workers that never talk to each other agree
    on it (only their clocks must).
    """
    if unit <= 0:
        return earliest
    k = math.ceil(earliest / unit - 1e-9)
    k += (lane - k) % LANES
    return k * unit


@dataclass(frozen=True)
class LaneClock:
    """What one host's lane must remember between workers (kept in keyed state)."""

    next_free: float = 0.0  # earliest start of the lane's next request (Unix time)
    min_gap: float = 0.0  # the lane's own spacing beyond the grid (robots.txt Crawl-delay)


class HostSlots:
    """Start times of requests per host: a slot grid shared by lanes, paced per lane.

    Every request to a host starts at the beginning of a slot of its lane (give or take
    :func:`start_margin`), so a feed poll and an article fetch are at least the configured
    delay apart even when different workers make them; within a lane, this object hands out
    one slot per request (thread-safe), and :meth:`clock`/:meth:`restore` carry the lane's
    position across workers through keyed state. A lane's ``min_gap`` (a robots.txt
    Crawl-delay larger than the delay) spaces its own requests further, and a request that
    went out late in its slot (:meth:`sent`) keeps the lane's next one a delay after it.
    ``clock``/``sleep`` are injectable so tests run on a fake clock.

    ``lanes=1`` is for jobs whose every stage runs in this one process (the local runner):
    polls and pages then take turns on one sequence of slots, each getting every slot the
    other leaves free, instead of every other slot (a host's first round of 20 feeds at a 1 s
    delay took 44 s of poll slots, not 22). With no other worker to agree with, a slot then
    starts when the last one's delay is over, not at the next grid line: a host answering
    in 4.9 s had waited 0.6 s on average for the grid after each answer.
    """

    def __init__(self, delay_s: float = 1.0, *, lanes: int = LANES,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, max_hosts: int = 100_000):
        if delay_s < 0:
            raise ValueError("delay_s must be >= 0")
        if lanes not in (1, LANES):
            raise ValueError(f"lanes must be 1 or {LANES}")
        self.delay_s = delay_s
        self.lanes = lanes
        self.unit = slot_length(delay_s)
        self.margin = start_margin(delay_s)
        self._clock, self._sleep = clock, sleep
        self._max_hosts = max_hosts
        self._lock = threading.Lock()
        self._lanes: dict[tuple[str, int], LaneClock] = {}
        self.missed = 0  # slots a request woke up too late for (it took the next one)

    def next_start(self, host: str, lane: int) -> float:
        """When the lane's next request would start (nothing is reserved)."""
        with self._lock:
            return self._next_start(host_key(host), lane, self._clock())

    def claim(self, host: str, lane: int) -> float:
        """Reserve the lane's next slot on ``host``; returns its start (Unix time)."""
        key = host_key(host)
        with self._lock:
            now = self._clock()
            start = self._next_start(key, lane, now)
            clock = self._lanes.get(self._clock_key(key, lane), LaneClock())
            gap = max(clock.min_gap, self.unit)
            self._lanes[self._clock_key(key, lane)] = LaneClock(next_free=start + gap,
                                                                min_gap=clock.min_gap)
            self._forget_idle(now)
        return start

    def wait_turn(self, host: str, lane: int) -> float:
        """Claim a slot and sleep until it starts; a slot missed by oversleeping is given up
        for the next one. Returns the start time."""
        while True:
            start = self.claim(host, lane)
            wait = start - self._clock()
            if wait > 0:
                self._sleep(wait)
            if not self.unit or self._clock() <= start + self.margin:
                return start
            with self._lock:
                self.missed += 1

    def sent(self, host: str, lane: int) -> None:
        """A request of the lane has just been written: its next one starts no sooner than the
        delay (and a margin) from now, however late this one went out after its slot began
        (a busy process can connect and send a few hundred ms into its slot)."""
        if not self.unit:
            return
        self._update(host, lane, lambda clock: dataclasses.replace(clock, next_free=max(
            clock.next_free, self._clock() + max(clock.min_gap, self.delay_s + self.margin))))

    def set_min_gap(self, host: str, lane: int, seconds: float | None) -> None:
        """Space the lane's requests at least ``seconds`` apart (never closer than the grid)."""
        self._update(host, lane,
                     lambda clock: dataclasses.replace(clock, min_gap=float(seconds or 0.0)))

    def clock(self, host: str, lane: int) -> LaneClock:
        with self._lock:
            return self._lanes.get(self._clock_key(host_key(host), lane), LaneClock())

    def restore(self, host: str, lane: int, saved: LaneClock | None) -> None:
        """Adopt a lane clock kept in state (another worker's), never moving time backwards."""
        if saved is None:
            return
        self._update(host, lane, lambda clock: LaneClock(
            max(clock.next_free, saved.next_free), max(clock.min_gap, saved.min_gap)))

    def _update(self, host: str, lane: int, change: Callable[[LaneClock], LaneClock]) -> None:
        """Replace a lane's clock by ``change`` of it, under the lock."""
        key = self._clock_key(host_key(host), lane)
        with self._lock:
            self._lanes[key] = change(self._lanes.get(key, LaneClock()))

    def _clock_key(self, key: str, lane: int) -> tuple[str, int]:
        """Where a lane's clock is kept: with one lane, polls and pages share the host's."""
        return key, lane % self.lanes

    def _next_start(self, key: str, lane: int, now: float) -> float:
        clock = self._lanes.get(self._clock_key(key, lane), LaneClock())
        if self.lanes == 1:  # one process: no other worker to agree on a grid with
            return max(now, clock.next_free)
        return lane_slot_start(max(now, clock.next_free), lane, self.unit)

    def _forget_idle(self, now: float) -> None:
        """Keep memory bounded on long runs: drop lanes whose clock is in the past."""
        if len(self._lanes) <= self._max_hosts:
            return
        for key in [k for k, c in self._lanes.items() if c.next_free <= now and not c.min_gap]:
            del self._lanes[key]


_SHARED_SLOTS: dict[tuple[float, int], HostSlots] = {}
_SHARED_LOCK = threading.Lock()


def shared_slots(delay_s: float, lanes: int = LANES) -> HostSlots:
    """The worker process's one :class:`HostSlots` for ``delay_s`` (and ``lanes``): every
    stage that sends requests paces them through it, so feed polls and article fetches share
    one clock."""
    with _SHARED_LOCK:
        if (delay_s, lanes) not in _SHARED_SLOTS:
            _SHARED_SLOTS[(delay_s, lanes)] = HostSlots(delay_s, lanes=lanes)
        return _SHARED_SLOTS[(delay_s, lanes)]


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
        """The host's Crawl-delay for us, if it sets one (feed it to ``HostSlots.set_min_gap``)."""
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
