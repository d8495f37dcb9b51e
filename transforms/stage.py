"""One step contract for per-record work, and the one Beam adapter that runs it.

A :class:`Step` has a ``name`` (its stage: the counter namespace and the dead-letter stage),
``setup``/``teardown`` for heavy objects (a model, a child process) and a pure
``apply(value)`` that returns the next value, a :class:`Skip` or a :class:`DeadLetter`.
:func:`apply_step` is the failure boundary: an unexpected exception while handling one element
becomes that element's dead letter (reason ``unexpected_error``, with its source reference and
raw input), so one bad record never fails a bundle or stalls a streaming job. DoFns that are
not steps (reading files, polling, fetching, dedup, sinks) put the same boundary around their
work with :func:`guarded`.

The same steps run everywhere: :class:`ApplyStep` wraps one step as a Beam transform (tagged
outputs ``main``/``skipped``/``dead_letters``, a counter per outcome); :func:`run_steps` runs a
chain of them in-process, for benchmarks and tests.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsflow.schemas import (
    DeadLetter,
    Exchange,
    RawRecord,
    Skip,
    SkipBatch,
    dead_letter,
    single_skips,
    skip_with_raw,
)
from newsflow.schemas.feeds import FeedEntry
from newsflow.transforms.heap import settle

LOG = logging.getLogger(__name__)

MAIN, SKIPPED, DEAD = "main", "skipped", "dead_letters"
#: The dead-letter reason of an exception nobody foresaw (counter ``dead_unexpected_error``).
UNEXPECTED_ERROR = "unexpected_error"


class Step:
    """One per-record step; subclasses set ``name`` and implement :meth:`apply`."""

    name = "step"
    _counters: OutcomeCounters | None = None  # bound by the Beam adapter in setup

    def setup(self) -> None:
        """Build heavy objects, once per worker (``DoFn.setup``); never pickled."""

    def teardown(self) -> None:
        """Release what :meth:`setup` built."""

    def apply(self, value):
        """The next value, or a :class:`Skip` / :class:`DeadLetter` that ends the record."""
        raise NotImplementedError

    def count(self, outcome: str, value: int = 1) -> None:
        """Count a step-specific outcome (``topics/tagged``...); a no-op outside Beam."""
        if self._counters is not None:
            self._counters.inc(outcome, value)


class StageClock:
    """Where a run's time goes: the CPU (this thread) and wall time of one stage's own work, as
    Beam distributions in microseconds (``<stage>/cpu_us``, ``<stage>/wall_us``; their sums
    over a run are the stage's total). Downstream work done while a generator is suspended at a
    ``yield`` is not counted (:meth:`timed`)."""

    def __init__(self, namespace: str):
        self._namespace = namespace
        self._cpu = self._wall = None

    def add(self, cpu_ns: int, wall_ns: int) -> None:
        if self._cpu is None:  # created on the worker: Beam metrics are not picklable state
            self._cpu = Metrics.distribution(self._namespace, "cpu_us")
            self._wall = Metrics.distribution(self._namespace, "wall_us")
        # a thread's CPU time cannot exceed the wall time it spans; the two clocks can
        # disagree by a few microseconds
        self._cpu.update(min(cpu_ns, wall_ns) // 1000)
        self._wall.update(wall_ns // 1000)

    @contextlib.contextmanager
    def timing(self) -> Iterator[None]:
        cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
        try:
            yield
        finally:
            self.add(time.thread_time_ns() - cpu, time.perf_counter_ns() - wall)

    def timed(self, outputs: Iterable) -> Iterator:
        """Yield from ``outputs``, timing only the work that produces each item."""
        iterator = iter(outputs)
        while True:
            cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
            try:
                item = next(iterator)
            except StopIteration:
                return
            finally:
                self.add(time.thread_time_ns() - cpu, time.perf_counter_ns() - wall)
            yield item


class OutcomeCounters:
    """Beam counters of one namespace, created on first use (outcome names are open-ended)."""

    def __init__(self, namespace: str):
        self._namespace = namespace
        self._counters: dict[str, object] = {}

    def inc(self, name: str, value: int = 1) -> None:
        if name not in self._counters:
            self._counters[name] = Metrics.counter(self._namespace, name)
        self._counters[name].inc(value)


def source_of(element) -> tuple[str, str | None, str | bytes | None]:
    """``(source_ref, url, raw input)`` of any element a step or DoFn handles, for its dead
    letter.

    Records carry their raw body; drafts their record; exchanges their URL and body; feed
    entries their feed and key;
    articles their source reference and URL (their raw input is one replay away through
    ``source_ref``); a plain string (a file path, a feed URL) is its own reference.
    """
    record = element if isinstance(element, RawRecord) else getattr(element, "record", None)
    if isinstance(record, RawRecord):
        return record.source_ref, record.url, record.body
    if isinstance(element, Exchange):
        return element.url, element.url, element.body
    if isinstance(element, FeedEntry):
        return f"{element.feed_url}#{element.entry_key}", element.raw_link or element.link, None
    if isinstance(element, tuple) and len(element) == 2:  # a keyed element: look at the value
        return source_of(element[1])
    if isinstance(element, str):
        return element, element if element.startswith(("http://", "https://")) else None, None
    ref = getattr(element, "source_ref", None)
    url = getattr(element, "url", None)
    if ref is None:
        ref = url or "unknown"
    return str(ref), url if isinstance(url, str) else None, None


def failure_dead_letter(stage: str, error: Exception, element) -> DeadLetter:
    """The dead letter of ``element`` after an exception nobody foresaw in ``stage``."""
    ref, url, raw = source_of(element)
    LOG.warning("%s failed on %s: %r", stage, ref, error)
    return dead_letter(stage, UNEXPECTED_ERROR, error, ref, url, raw)


def apply_step(step: Step, value):
    """``step.apply(value)``, with any exception turned into the element's dead letter."""
    try:
        return step.apply(value)
    except Exception as exc:  # noqa: BLE001 - any failure of one record is its dead letter
        return failure_dead_letter(step.name, exc, value)


def guarded(stage: str, element, outputs: Iterable, counters: OutcomeCounters):
    """The failure boundary of a DoFn that emits several outputs per element.

    Yields ``outputs`` (a generator: its body runs inside the boundary); an exception nobody
    foresaw ends them with ``element``'s dead letter, tagged and counted, so the bundle goes on
    and a streaming job never retries a poisonous element forever. What was yielded before
    the failure stays yielded.
    """
    try:
        yield from outputs
    except Exception as exc:  # noqa: BLE001 - the boundary: every failure is a dead letter
        yield route(failure_dead_letter(stage, exc, element), counters)


def is_final(outcome) -> bool:
    """A skip or a dead letter ends a record's way through the steps."""
    return isinstance(outcome, Skip | DeadLetter)


def run_steps(steps: Sequence[Step], value, seconds: Counter | None = None):
    """Run ``value`` through ``steps`` in-process until it is final or done.

    ``seconds`` (optional) accumulates wall time per step name (for benchmarks).
    """
    for step in steps:
        started = time.perf_counter()
        value = apply_step(step, value)
        if seconds is not None:
            seconds[step.name] += time.perf_counter() - started
        if is_final(value):
            break
    return value


@contextlib.contextmanager
def steps_ready(steps: Sequence[Step]) -> Iterator[Sequence[Step]]:
    """Set steps up for in-process use and tear them down afterwards."""
    for step in steps:
        step.setup()
    try:
        yield steps
    finally:
        for step in steps:
            step.teardown()


def route(outcome, counters: OutcomeCounters):
    """A Skip, SkipBatch or DeadLetter becomes a tagged output (each skip of a batch counted,
    and a batch's known entries as ``entries_known``); anything else passes."""
    if isinstance(outcome, Skip | SkipBatch):
        for skip in single_skips(outcome):
            counters.inc(f"skipped_{skip.reason}")
        if isinstance(outcome, SkipBatch) and outcome.known:
            counters.inc("entries_known", outcome.known)
        return beam.pvalue.TaggedOutput(SKIPPED, outcome)
    if isinstance(outcome, DeadLetter):
        counters.inc(f"dead_{outcome.reason}")
        return beam.pvalue.TaggedOutput(DEAD, outcome)
    return outcome


def with_skipped_raw(outcome, element):
    """A skip of a record (or draft) carrying the record's body, for replay."""
    record = element if isinstance(element, RawRecord) else getattr(element, "record", None)
    if isinstance(outcome, Skip) and outcome.raw is None and isinstance(record, RawRecord):
        return skip_with_raw(outcome, record)
    return outcome


class _IdleSteps:
    """Steps set up on this worker process and not in use, per DoFn of the graph.

    Beam's local streaming runner rebuilds every DoFn for every bundle (setup, one bundle,
    teardown): without this, each bundle of the extract step would start a new extraction
    child and each bundle of the language step would load the language profiles again. A DoFn
    takes an idle step in ``setup`` and hands it back in ``teardown``; runners that keep their
    DoFns (the FnApiRunner, Dataflow) set each one up once, as before. At most ``keep`` idle
    steps per DoFn are kept; the rest, and all of them at exit, are torn down.
    """

    def __init__(self, keep: int = 4):
        self._keep = keep
        self._lock = threading.Lock()
        self._idle: dict[str, list[Step]] = {}
        atexit.register(self.clear)

    def take(self, key: str) -> Step | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def give_back(self, key: str, step: Step) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self._keep:
                idle.append(step)
                return
        step.teardown()

    def clear(self) -> None:
        with self._lock:
            steps = [step for idle in self._idle.values() for step in idle]
            self._idle.clear()
        for step in steps:
            step.teardown()


_IDLE_STEPS = _IdleSteps()


class _ApplyStepFn(beam.DoFn):
    def __init__(self, step: Step, keep_skipped_raw: bool = False):
        self._step = step
        self._step_key = uuid.uuid4().hex  # the same in every copy of this DoFn
        self._keep_skipped_raw = keep_skipped_raw
        self._processed = Metrics.counter(step.name, "processed")
        self._clock = StageClock(step.name)

    def setup(self):
        self._counters = OutcomeCounters(self._step.name)
        idle = _IDLE_STEPS.take(self._step_key)
        if idle is None:
            self._step.setup()
        else:
            self._step = idle
        self._step._counters = self._counters
        settle()  # what the step built lives as long as the worker

    def teardown(self):
        _IDLE_STEPS.give_back(self._step_key, self._step)

    def process(self, element):
        with self._clock.timing():
            outcome = apply_step(self._step, element)
        if self._keep_skipped_raw:
            outcome = with_skipped_raw(outcome, element)
        self._processed.inc()
        yield route(outcome, self._counters)


class ApplyStep(beam.PTransform):
    """Run one :class:`Step` on every element: outputs ``main``, ``skipped``, ``dead_letters``.

    ``keep_skipped_raw``: skips carry the record's body (``--keep_skipped_raw``).
    """

    def __init__(self, step: Step, keep_skipped_raw: bool = False):
        super().__init__()
        self._step = step
        self._keep_skipped_raw = keep_skipped_raw

    def expand(self, pcoll):
        return pcoll | "Apply" >> beam.ParDo(
            _ApplyStepFn(self._step, self._keep_skipped_raw)).with_outputs(
            SKIPPED, DEAD, main=MAIN)


__all__ = [
    "DEAD", "MAIN", "SKIPPED", "UNEXPECTED_ERROR", "ApplyStep", "OutcomeCounters", "StageClock",
    "Step",
    "apply_step", "failure_dead_letter", "guarded", "is_final", "route", "run_steps", "source_of",
    "steps_ready", "with_skipped_raw",
]
