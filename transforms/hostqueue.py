"""Requests of a stage keyed by host run in a bounded pool of threads, collected later.

The local runner runs one bundle at a time, and a runner gives each key to one thread at a
time, so a request made inside ``process`` holds its stage (locally: the whole job) for as long
as the slowest server takes. The stages keyed by host (``PollFeeds``, ``FetchArticles``)
instead hand each request to their worker's :class:`JobPool` and pick the result up on a
later tick or timer of the same key, where the key's state and the outputs are updated
together. One slow host then only ever occupies its own threads.

A job never raises: an exception becomes a :class:`JobFailed` result, which the stage turns
into the element's dead letter. A job that a worker loses (the key moved to another worker,
the worker restarted) is noticed by its key's state and started again.

How a callback behaves depends on how its event time compares with the wall clock
(:func:`clock_mode`): live, requests run in the background; far behind (a test replaying old
ticks, a job catching up on a day-old backlog) each callback waits for its requests, so
results do not depend on thread timing; ahead of the wall clock (the job is draining and the
watermark has jumped to the end of time), nothing new starts and requests in flight are
waited for.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

import apache_beam as beam

LOG = logging.getLogger(__name__)

LIVE, CATCH_UP, DRAIN = "live", "catch_up", "drain"
#: Event time this far behind the wall clock is a replay or a backlog, not live data.
CATCH_UP_AFTER_S = 86400.0
#: Event time this far ahead of the wall clock only happens when the job drains.
DRAIN_AFTER_S = 60.0


def clock_mode(event_s: float, wall_s: float | None = None) -> str:
    """``live``, ``catch_up`` or ``drain`` for a callback at event time ``event_s``."""
    wall_s = time.time() if wall_s is None else wall_s
    if event_s < wall_s - CATCH_UP_AFTER_S:
        return CATCH_UP
    if event_s > wall_s + DRAIN_AFTER_S:
        return DRAIN
    return LIVE


def output_time(event_s: float, mode: str, wall_s: float | None = None) -> float:
    """The timestamp of what a timer callback emits: live, the wall clock if later than the
    timer (Beam's local runner holds no watermark for pending timers, so an output stamped
    with the timer's time can land in a window that has just closed); otherwise the timer's
    own time, which runners that hold the watermark for timers keep on time."""
    if mode != LIVE:
        return event_s
    return max(event_s, time.time() if wall_s is None else wall_s)


def stamped(output, timestamp_s: float):
    """``output`` (a value or a ``TaggedOutput``) with its event time set to ``timestamp_s``."""
    if isinstance(output, beam.pvalue.TaggedOutput):
        return beam.pvalue.TaggedOutput(output.tag,
                                        beam.window.TimestampedValue(output.value, timestamp_s))
    return beam.window.TimestampedValue(output, timestamp_s)


def event_now(event_s: float, wall_s: float | None = None) -> datetime:
    """The "now" schedules use: the event time, but never ahead of the wall clock (while a job
    drains, event time races to the end of time and every feed would look due)."""
    wall_s = time.time() if wall_s is None else wall_s
    return datetime.fromtimestamp(min(event_s, wall_s), UTC)


def host_job_room(concurrency: int) -> int:
    """How many jobs a stage hands the pool per host: ``concurrency`` running (the pool's
    ``limit``) and as many waiting to follow them the moment they end."""
    return 2 * concurrency


@dataclass(frozen=True)
class JobFailed:
    """What a job that raised returns instead: the stage dead-letters its element."""

    error: str  # repr of the exception
    trace: str


def _guarded(function: Callable, args: tuple):
    try:
        return function(*args)
    except Exception as exc:  # noqa: BLE001 - one failed request must not lose its element
        LOG.warning("request job failed: %r", exc)
        return JobFailed(repr(exc), traceback.format_exc(limit=8))


class JobPool:
    """One stage's threads on one worker process, and its jobs per key.

    Stages find theirs by a stage id fixed when the pipeline is built (:meth:`of`): a runner
    that rebuilds DoFns for every bundle still finds the jobs the previous bundle started.
    ``backlog`` counts what each key still has to do (queued and running); the local runner
    reads the sum to know when a stopping job has finished its work.
    """

    _pools: dict[str, JobPool] = {}
    _pools_lock = threading.Lock()
    _flush = threading.Event()

    def __init__(self, threads: int, name: str = "newsflow"):
        if threads < 1:
            raise ValueError("a JobPool needs at least one thread")
        self.threads = threads
        self._executor = ThreadPoolExecutor(threads, thread_name_prefix=name)
        self._lock = threading.Lock()
        self._running: dict[Hashable, dict[Hashable, Future]] = {}  # submitted, not collected
        self._active: dict[Hashable, int] = {}  # jobs of a key holding a thread
        self._waiting: dict[Hashable, deque] = {}  # (future, function, args) over a key's limit
        self._backlog: dict[Hashable, int] = {}

    @classmethod
    def of(cls, stage_id: str, threads: int) -> JobPool:
        """The worker's pool of one stage (created on first use)."""
        with cls._pools_lock:
            pool = cls._pools.get(stage_id)
            if pool is None:
                pool = cls._pools[stage_id] = JobPool(threads, stage_id.split("-")[0])
            return pool

    @classmethod
    def pending_work(cls) -> int:
        """Requests queued or running in every stage of this process."""
        with cls._pools_lock:
            pools = list(cls._pools.values())
        return sum(pool.backlog() for pool in pools)

    @classmethod
    def request_flush(cls, flush: bool = True) -> None:
        """Ask every stage of this process to give up its queue (a local run stopping without
        waiting): queued work leaves as dead letters; what runs still finishes."""
        if flush:
            cls._flush.set()
        else:
            cls._flush.clear()

    @classmethod
    def flush_requested(cls) -> bool:
        return cls._flush.is_set()

    def _busy(self) -> int:
        """Threads holding a job. A finished job waiting for its key's next callback to collect
        it holds none: counting those starved other hosts of threads (at 1,000 feeds on 50
        hosts, some went 40 s without a poll while all 64 threads were "taken")."""
        return sum(self._active.values())

    def try_submit(self, key: Hashable, job_id: Hashable, function: Callable, *args,
                   limit: int | None = None) -> bool:
        """Start ``function(*args)`` now if a thread is free (never queue behind others).

        With ``limit``, at most that many jobs of ``key`` run at once; one submitted beyond it
        waits here, without a thread, and starts the moment one of them ends. A stage hands a
        host's next request over before a running one finishes, so the host is asked again
        without waiting for the stage's next tick (a 5 s host at 2 requests at a time had
        asked every 6.6 s per lane, not every 5 s)."""
        with self._lock:
            if self._busy() >= self.threads:
                return False
            future: Future = Future()
            self._running.setdefault(key, {})[job_id] = future
            if limit is not None and self._active.get(key, 0) >= limit:
                self._waiting.setdefault(key, deque()).append((future, function, args))
            else:
                self._start(key, future, function, args)
        return True

    def _start(self, key: Hashable, future: Future, function: Callable, args: tuple) -> None:
        """Run a job on a thread (the caller holds the lock)."""
        self._active[key] = self._active.get(key, 0) + 1
        self._executor.submit(self._run, key, future, function, args)

    def _run(self, key: Hashable, future: Future, function: Callable, args: tuple) -> None:
        result = _guarded(function, args)
        with self._lock:
            waiting = self._waiting.get(key)
            self._active[key] -= 1
            if not self._active[key]:
                del self._active[key]
            if waiting:
                self._start(key, *waiting.popleft())
                if not waiting:
                    del self._waiting[key]
        future.set_result(result)

    def running(self, key: Hashable) -> set:
        """Job ids of ``key`` started on this worker and not yet collected."""
        with self._lock:
            return set(self._running.get(key, ()))

    def collect(self, key: Hashable, wait_s: float = 0.0) -> list[tuple[Hashable, object]]:
        """``(job_id, result)`` of the finished jobs of ``key``, removed from the pool; with
        ``wait_s``, first wait that long for all of them to finish."""
        with self._lock:
            futures = list(self._running.get(key, {}).values())
        if wait_s > 0 and futures:
            wait(futures, timeout=wait_s)
        finished = []
        with self._lock:
            jobs = self._running.get(key, {})
            for job_id, future in list(jobs.items()):
                if future.done():
                    finished.append((job_id, future.result()))
                    del jobs[job_id]
            if not jobs:
                self._running.pop(key, None)
        return finished

    def add_backlog(self, key: Hashable, count: int = 1) -> None:
        with self._lock:
            self._backlog[key] = self._backlog.get(key, 0) + count

    def set_backlog(self, key: Hashable, count: int) -> None:
        with self._lock:
            if count:
                self._backlog[key] = count
            else:
                self._backlog.pop(key, None)

    def backlog(self) -> int:
        with self._lock:
            return sum(self._backlog.values())


_SHARED: dict[tuple[str, str], object] = {}
_SHARED_LOCK = threading.Lock()


def worker_shared(stage_id: str, name: str, factory: Callable[[], object]):
    """One object per stage and worker process (a paced fetcher, a robots.txt cache), built on
    first use: DoFns set up again for every bundle keep what the previous bundle learned."""
    with _SHARED_LOCK:
        key = (stage_id, name)
        if key not in _SHARED:
            _SHARED[key] = factory()
        return _SHARED[key]

