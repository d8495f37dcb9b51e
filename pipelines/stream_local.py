"""Run the streaming job on this machine and tell the user what it is doing.

Locally the job runs on Beam's DirectRunner in streaming mode with a live ``TestStream`` fed
by :class:`TickReader` through a heartbeat server (``TestStreamServiceController``): a tick,
the watermark and the runner's processing time every ``--tick`` seconds, all at the wall
clock, so windows and timers fire on time and files appear per window.

The run says what is going on: a start banner (feeds, output, windows, when the first polls
happen, how to stop), one line per committed window, and a short summary at the end. Ctrl-C
(or ``--duration``) stops polling, lets the requests already started or queued finish (up to
:data:`DRAIN_LIMIT_S`), then ends the tick stream so every open window commits; the process
exits with 130 after Ctrl-C. A second Ctrl-C (or the drain limit) gives the queues up: queued
articles become ``stopped_before_fetch`` dead letters, requests in flight still finish. A third
leaves at once: committed windows stay intact, since a window is visible only once committed.

The tick stream only ends once no request is running or queued in this process: Beam's local
runner holds no watermark for pending timers, so anything emitted after the stream's end
would land in windows that have already closed.
"""

from __future__ import annotations

import heapq
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import apache_beam as beam
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.transforms.timeutil import TimeDomain

from newsflow.schemas.feeds import FeedSpec
from newsflow.transforms.feeds.poll import STOP, feeds_by_host
from newsflow.transforms.feeds.schedule import first_poll_spread_s
from newsflow.transforms.feeds.status import FEEDS_DIR
from newsflow.transforms.hostqueue import JobPool
from newsflow.transforms.politeness import slot_length
from newsflow.transforms.sinks import RUNS_DIR, join, read_json_files

LOG = logging.getLogger(__name__)
#: After a stop, wait this long at most for requests already started or queued.
DRAIN_LIMIT_S = 120.0
#: Ticks in a row with no request running or queued before a stopping run ends its stream.
QUIET_TICKS = 3
#: The TestStream gives up when no event arrives for 30 s.
MAX_TICK_S = 10.0
#: A run that follows this many feeds or fewer prints every feed's status at the end.
STATUS_TABLE_MAX_FEEDS = 20


class TickReader:
    """Feeds a live TestStream: every ``tick_s`` seconds the runner's processing time, a tick
    element and the watermark, all at the wall clock. Once ``stop`` is set (or ``duration_s``
    has passed) ticks carry :data:`~newsflow.transforms.feeds.poll.STOP`, and the stream ends
    when this process has no request running or queued (``pending``) for a few ticks. After
    ``drain_limit_s``, or when ``abort`` is set, the stages give their queues up
    (:meth:`JobPool.request_flush`); requests still running after ``give_up_s`` more are
    abandoned (logged).

    Events carry microseconds: the DirectRunner's TestStream service client decodes them as
    such (Beam's own ``Event.to_runner_api`` writes milliseconds, which it then misreads).
    """

    def __init__(self, tick_s: float, duration_s: float, stop: threading.Event,
                 abort: threading.Event | None = None, pending=JobPool.pending_work,
                 drain_limit_s: float = DRAIN_LIMIT_S, give_up_s: float = 60.0):
        self._tick_s, self._duration_s = tick_s, duration_s
        self._stop, self._abort = stop, abort or threading.Event()
        self._pending, self._drain_limit_s = pending, drain_limit_s
        self._give_up_s = give_up_s
        self.stopping_since: float | None = None
        self.flushing_since: float | None = None

    def read_multiple(self, _tags):
        from apache_beam.portability.api import beam_runner_api_pb2

        payload = beam_runner_api_pb2.TestStreamPayload
        coder = FastPrimitivesCoder()
        started = time.monotonic()
        clock_us, tick, quiet = 0, 0, 0
        while True:
            now = time.monotonic()
            if self._duration_s and now - started >= self._duration_s:
                self._stop.set()
            if (self._stop.is_set() or self._abort.is_set()) and self.stopping_since is None:
                self.stopping_since = now
            if self.flushing_since is None and (self._abort.is_set() or (
                    self.stopping_since is not None
                    and now - self.stopping_since >= self._drain_limit_s)):
                self.flushing_since = now
                JobPool.request_flush()
            value = STOP if self.stopping_since is not None else tick
            now_us = int(time.time() * 1_000_000)
            yield payload.Event(processing_time_event=payload.Event.AdvanceProcessingTime(
                advance_duration=now_us - clock_us))
            clock_us = now_us
            yield payload.Event(element_event=payload.Event.AddElements(elements=[
                payload.TimestampedElement(encoded_element=coder.encode(value),
                                           timestamp=now_us)], tag="None"))
            yield payload.Event(watermark_event=payload.Event.AdvanceWatermark(
                new_watermark=now_us, tag="None"))
            tick += 1
            if self.stopping_since is not None:
                pending = self._pending()
                quiet = quiet + 1 if pending == 0 else 0
                if quiet >= QUIET_TICKS:
                    return
                if self.flushing_since is not None \
                        and time.monotonic() - self.flushing_since >= self._give_up_s:
                    LOG.warning("%d requests still running after %.0f s: abandoned", pending,
                                self._give_up_s)
                    return
                time.sleep(self._tick_s)
            else:
                self._stop.wait(self._tick_s)


def local_ticks(p: beam.Pipeline, endpoint: str):
    from apache_beam.testing.test_stream import TestStream

    return p | "Ticks" >> TestStream(coder=FastPrimitivesCoder(), endpoint=endpoint)


class TimerIndex:
    """The keys of one stage that hold timers, earliest event-time timer first.

    Beam's local runner looks for due timers (and we for the earliest one, to hold the
    watermark) by visiting every key a stage has ever had, at every step: streaming dedup
    keeps keys per record and per LSH band for 72 hours, so that scan grows with every
    article and took half the CPU of a 300-feed run after a few minutes. Every change to a
    key's committed state passes :meth:`update`; lookups then cost the keys that are due.
    """

    def __init__(self, keyed_states: dict):
        self._earliest: dict = {}  # key -> its earliest event-time timer
        self._heap: list = []  # (timestamp, key); entries that no longer match are skipped
        self.realtime: set = set()  # keys with a processing-time timer (checked every time)
        for key, state in keyed_states.items():
            self.update(key, state)

    def update(self, key, state) -> None:
        earliest, realtime = None, False
        for timers in state.timers.values():
            for (_, domain, _), timestamp in timers.items():
                if domain == TimeDomain.WATERMARK:
                    earliest = timestamp if earliest is None else min(earliest, timestamp)
                else:
                    realtime = True
        if realtime:
            self.realtime.add(key)
        else:
            self.realtime.discard(key)
        if earliest is None:
            self._earliest.pop(key, None)
        elif self._earliest.get(key) != earliest:
            self._earliest[key] = earliest
            heapq.heappush(self._heap, (earliest, key))
            if len(self._heap) > 2 * len(self._earliest) + 64:
                self._heap = [(timestamp, key) for key, timestamp in self._earliest.items()]
                heapq.heapify(self._heap)

    def due(self, watermark) -> set:
        """Keys with an event-time timer at or before ``watermark``: a walk of the heap
        that stops below every entry later than it."""
        heap, found, stack = self._heap, set(), [0]
        while stack:
            at = stack.pop()
            if at < len(heap) and heap[at][0] <= watermark:
                timestamp, key = heap[at]
                if self._earliest.get(key) == timestamp:
                    found.add(key)
                stack += (2 * at + 1, 2 * at + 2)
        return found

    def earliest(self):
        """The earliest event-time timer of any key, or None."""
        heap = self._heap
        while heap and self._earliest.get(heap[0][1]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0] if heap else None


class _PickledOnce:
    """``pickler.roundtrip`` for the local runner's DoFns: each is pickled once, then every
    bundle unpickles its own copy, as it would from a fresh pickling."""

    def __init__(self):
        self._pickled: dict[int, tuple[object, bytes]] = {}  # id -> (the DoFn, its pickle)
        self._lock = threading.Lock()

    def roundtrip(self, dofn):
        from apache_beam.internal import pickler

        pickle_lib = pickler.desired_pickle_lib  # what Beam's roundtrip uses: no compression
        with self._lock:
            kept = self._pickled.get(id(dofn))
            if kept is None or kept[0] is not dofn:
                kept = self._pickled[id(dofn)] = (dofn, pickle_lib._dumps(dofn))
        return pickle_lib._loads(kept[1])


def _timer_index(watermarks) -> TimerIndex:
    """The stage's :class:`TimerIndex`, built from its keyed states on first use."""
    index = getattr(watermarks, "_newsflow_timers", None)
    if index is None:
        index = watermarks._newsflow_timers = TimerIndex(watermarks._keyed_states)
    return index


def _holds_nothing(state) -> bool:
    """A key's committed state with no timer and no value (every state tag's list empty): the
    runner would make the same one afresh for the key's next element."""
    return (not any(state.timers.values()) and not state.global_state
            and not any(values for tags in state.state.values() for values in tags.values()))


def fix_local_runner() -> None:
    """Five fixes to Beam's local streaming runner (``BundleBasedDirectRunner``); idempotent.

    * It holds no watermark for pending timers: a stateful stage that emits from a timer
      (streaming dedup releases an article once the watermark has passed it; the host queues
      emit finished requests) emits behind a watermark that has moved on, and a downstream
      window closed in the same step drops the element silently. Here a stage's output
      watermark waits for its earliest event-time timer, as in the Beam model (and on
      Dataflow).
    * It visits every key of every stage at every step to find due timers; here a
      :class:`TimerIndex` per stage, kept up to date as keyed state is committed, answers.
    * It introspects every DoFn's method signatures for every bundle (``get_dofn_specs``,
      and ``get_function_arguments`` for each method as it builds the bundle's DoFnRunner):
      three quarters of an idle stream's CPU, a quarter of a 1,000-feed first round's. The
      answer depends only on the DoFn's class (and a Map's function), so it is computed once.
    * It pickles every DoFn for every bundle to give the bundle its own copy (a tenth of a
      1,000-feed run's CPU); the pickled form is kept and only unpickled per bundle.
    * It keeps every key a stage has ever seen, state or not (a few KB each): a stream that
      keys by record (dedup's collect and decide stages, the windows of the sinks) grew by
      that much per article for as long as it ran. A key whose committed state holds no
      timer and no value is forgotten.
    """
    from apache_beam.runners.direct import (
        evaluation_context,
        transform_evaluator,
        watermark_manager,
    )
    from apache_beam.runners.direct.util import TimerFiring
    from apache_beam.transforms import core, userstate

    watermarks = watermark_manager._TransformWatermarks
    if getattr(watermarks, "_newsflow_fixed", False):
        return
    refresh = watermarks.refresh
    context = evaluation_context.EvaluationContext
    handle_result = context.handle_result
    dofn_specs = userstate.get_dofn_specs
    known_specs: dict = {}
    function_arguments = core.get_function_arguments
    known_arguments: dict = {}

    def refresh_with_timer_holds(self) -> bool:
        before = self._output_watermark
        refresh(self)
        with self._lock:
            earliest = _timer_index(self).earliest()
            if earliest is not None:
                held = min(self._output_watermark, earliest)
                self._output_watermark = max(before, held)
            return self._output_watermark > before

    def extract_indexed_timers(self):
        """Beam's ``extract_transform_timers``, visiting only the keys with due timers."""
        with self._lock:
            index = _timer_index(self)
            now, fired = self._clock.time(), []
            for key in index.due(self._input_watermark) | index.realtime:
                timers, _ = self._keyed_states[key].get_timers(
                    watermark=self._input_watermark, processing_time=now)
                fired += [TimerFiring(key, window, name, domain, timestamp,
                                      dynamic_timer_tag=tag)
                          for window, (name, domain, timestamp, tag) in timers]
            self._fired_timers.update(fired)
            return fired, bool(index.realtime)

    def handle_result_with_state_first(self, completed_bundle, completed_timers, result):
        """Commit the stage's keyed state (its timers) before its watermark is refreshed: the
        runner does it after, so a watermark could pass a timer set by this very bundle."""
        with self._lock:
            committed_states = self._transform_keyed_states[result.transform]
            stage = self._watermark_manager._transform_to_watermarks[result.transform]
            with stage._lock:
                index = _timer_index(stage)
                for key, state in result.partial_keyed_state.items():
                    committed_states[key] = state
                    index.update(key, state)
        committed = handle_result(self, completed_bundle, completed_timers, result)
        with self._lock, stage._lock:  # forget the keys this bundle left without state
            for key, state in result.partial_keyed_state.items():
                if committed_states.get(key) is state and _holds_nothing(state):
                    del committed_states[key]
        return committed

    def cached_dofn_specs(dofn):
        key = (type(dofn), getattr(getattr(dofn, "_fn", None), "__code__", None))
        if key not in known_specs:
            known_specs[key] = dofn_specs(dofn)
        state_specs, timer_specs = known_specs[key]
        return set(state_specs), set(timer_specs)

    def cached_function_arguments(obj, func):
        # a method's own answer (a Map's ``_inspect_process``) or one set on the instance is
        # asked every time; a class's method is the same function for all its instances
        if hasattr(obj, f"_inspect_{func}") or func in getattr(obj, "__dict__", {}):
            return function_arguments(obj, func)
        key = (type(obj), func)
        if key not in known_arguments:
            known_arguments[key] = function_arguments(obj, func)
        args, defaults = known_arguments[key]
        return list(args), list(defaults)

    transform_evaluator.pickler = _PickledOnce()
    core.get_function_arguments = cached_function_arguments
    watermarks.refresh = refresh_with_timer_holds
    watermarks.extract_transform_timers = extract_indexed_timers
    context.handle_result = handle_result_with_state_first
    userstate.get_dofn_specs = cached_dofn_specs
    transform_evaluator.get_dofn_specs = cached_dofn_specs
    watermarks._newsflow_fixed = True


# ------------------------------------------------------------------------------ what the user sees

def start_banner(specs: list[FeedSpec], feeds_path: str, output: str, window_s: float,
                 per_host_delay_s: float, per_host_concurrency: int, robots: bool,
                 duration_s: float, started: datetime) -> str:
    """What the run will do, when the first polls happen, and how to stop it."""
    by_host = feeds_by_host(specs)
    window = max((first_poll_spread_s(spec) for spec in specs), default=0)
    intervals = sorted({spec.min_interval_s for spec in specs})
    cadence = (f"every {_duration(intervals[0])} at most" if len(intervals) == 1
               else f"every {_duration(intervals[0])} to {_duration(intervals[-1])} at most")
    # one request per slot and host: the busiest host may need longer than the spread
    busiest = max((len(group) for group in by_host.values()), default=0)
    unit = slot_length(per_host_delay_s)
    paced = round(busiest * unit, 1)
    first_by = started + timedelta(seconds=max(window, paced))
    why_later = (f" (the busiest host has {busiest} feeds, one request per "
                 f"{_duration(round(unit, 2))}: {_duration(paced)})" if paced > window else "")
    stop = f"after {_duration(duration_s)} (--duration), or " if duration_s else ""
    return "\n".join([
        f"newsflow stream: {len(specs)} feed(s) on {len(by_host)} host(s) from {feeds_path}",
        f"  output     {output} (one commit per {_duration(window_s)} window: articles, dead "
        f"letters, run summary, feed status, WARC)",
        f"  first polls spread over the first {_duration(window)}, all by "
        f"{first_by:%H:%M:%S} UTC{why_later}; then each feed on its own schedule ({cadence})",
        f"  politeness {_duration(per_host_delay_s)} between requests to one host, at most "
        f"{per_host_concurrency} polls and {per_host_concurrency} pages at a time"
        + ("; robots.txt honoured" if robots else "; robots.txt NOT checked (--no_robots)"),
        f"  stop       {stop}Ctrl-C: polling stops, open windows are committed first",
    ])


def window_line(summary: dict, statuses: list[dict] | None, committed_at: datetime) -> str:
    """One line per committed window: its outcomes, its polls, how late it committed.
    ``statuses`` is the window's feed-status snapshot (None: no feed was polled in it)."""
    start, end = _window_of(summary["commit_id"], summary)
    polled = [row for row in statuses or () if row.get("last_poll_at")]
    failing = sum(1 for row in polled if row.get("consecutive_failures"))
    lag = (committed_at - end).total_seconds() if end else None
    parts = [f"{committed_at:%H:%M:%S} window {start:%H:%M:%S}-{end:%H:%M:%S}" if start
             else f"{committed_at:%H:%M:%S} window {summary['commit_id']}",
             f"{summary['written']} articles, {summary['duplicates']} duplicates, "
             f"{summary['skipped']} skipped, {summary['dead_letters']} dead letters",
             f"{len(polled)} feeds polled, {failing} failing"]
    if lag is not None:
        parts.append(f"committed {max(0.0, lag):.0f} s after it closed")
    return " | ".join(parts)


def feed_health_line(rows: list[dict], listed: int, output: str) -> str:
    """``feeds: 1000 listed: 990 ok, 3 failing, 7 pending, 1 moved; details: ...``"""
    health = Counter(row["health"] for row in rows)
    health["pending"] += max(0, listed - len(rows))
    moved = sum(1 for row in rows if row.get("moved_to"))
    counts = ", ".join(f"{count} {name}" for name, count in health.most_common() if count)
    return (f"feeds: {listed} listed: {counts}" + (f", {moved} moved" if moved else "")
            + f"; details: newsflow feeds status {output}")


class WindowReporter:
    """Prints :func:`window_line` once for every window of a run that has committed."""

    def __init__(self, output: str, run_id: str, out=None):
        self._output, self._run_id = output, run_id
        self._out = out or sys.stdout
        self._seen: set[str] = set()
        self._first_seen: dict[str, float] = {}

    def report(self, final: bool = False) -> int:
        """Print the lines of windows committed since the last call; returns how many."""
        printed = 0
        pattern = join(self._output, RUNS_DIR, f"{self._run_id}-w*.json")
        for summary in sorted(read_json_files(pattern), key=lambda s: s["commit_id"]):
            commit_id = summary["commit_id"]
            if commit_id in self._seen:
                continue
            statuses = _read_one(join(self._output, FEEDS_DIR, f"status-{commit_id}.json"))
            first = self._first_seen.setdefault(commit_id, time.monotonic())
            if statuses is None and not final and time.monotonic() - first < 3.0:
                continue  # the status snapshot of this window is being written
            self._seen.add(commit_id)
            print(window_line(summary, statuses, datetime.now(UTC)), file=self._out, flush=True)
            LOG.info("committed window %s", commit_id)
            printed += 1
        return printed


def _read_one(path: str):
    documents = read_json_files(path)
    return documents[0] if documents else None


def _window_of(commit_id: str, summary: dict):
    """``(start, end)`` of a window from its commit id (``...-wYYYYmmddTHHMMSS``)."""
    stamp = commit_id.rsplit("-w", 1)[-1]
    try:
        start = datetime.strptime(stamp, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None, None
    window_s = summary.get("run", {}).get("window_s")
    return start, start + timedelta(seconds=window_s) if window_s else start


def _duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 120 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


# ------------------------------------------------------------------------------ the run itself

def run_local(options, build, tick_s: float, duration_s: float, banner: str, output: str,
              out=None, err=None) -> tuple[str, bool]:
    """Build the job on a live TestStream, run it, report windows; ``(run_id, interrupted)``.

    ``build(pipeline, options, ticks)`` wires the job and returns its outputs (with
    ``run_id``). The runner works in a background thread; this thread prints, and takes
    Ctrl-C: the first stops polling and drains, the second gives the queues up, the third
    exits the process.
    """
    from apache_beam.testing.test_stream_service import TestStreamServiceController

    out, err = out or sys.stdout, err or sys.stderr
    stop, abort = threading.Event(), threading.Event()
    JobPool.request_flush(False)
    reader = TickReader(tick_s, duration_s, stop, abort)
    controller = TestStreamServiceController(reader)
    controller.start()
    interrupts = []

    def on_sigint(_signum, _frame):
        """Ctrl-C sets flags: a KeyboardInterrupt would also tear down the tick stream's
        connection and end the job with work still in flight."""
        interrupts.append(time.monotonic())
        _interrupted(len(interrupts), stop, abort, err)

    previous = _install_sigint(on_sigint)
    try:
        pipeline = beam.Pipeline(options=options)
        outputs = build(pipeline, options, local_ticks(pipeline, controller.endpoint))
        print(banner, file=out, flush=True)
        reporter = WindowReporter(output, outputs["run_id"], out)
        failure: list[BaseException] = []

        def execute():
            try:
                pipeline.run().wait_until_finish()
            except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
                failure.append(exc)

        runner = threading.Thread(target=execute, name="newsflow-stream", daemon=True)
        runner.start()
        while runner.is_alive():
            runner.join(0.5)
            reporter.report()
        if failure:
            raise failure[0]
        reporter.report(final=True)
    finally:
        _install_sigint(previous)
        controller.stop()
    return outputs["run_id"], bool(interrupts)


def _install_sigint(handler):
    """Install ``handler`` for SIGINT when this is the main thread; returns the previous one."""
    if handler is None or threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGINT, handler)


def _interrupted(count: int, stop: threading.Event, abort: threading.Event, err) -> None:
    if count == 1:
        stop.set()
        print(f"\nstopping: no new polls; finishing the {JobPool.pending_work()} requests "
              f"started or queued (at most {DRAIN_LIMIT_S:.0f} s), then committing the open "
              "windows. Ctrl-C again to commit without waiting.", file=err, flush=True)
    elif count == 2:
        abort.set()
        print("giving the queues up: queued articles become stopped_before_fetch dead "
              "letters; requests in flight finish, then the open windows are committed. "
              "Ctrl-C again to quit at once (open windows are then lost; committed ones stay "
              "intact).", file=err, flush=True)
    else:
        print("quitting: open windows are lost, committed windows are intact.", file=err,
              flush=True)
        os._exit(130)
