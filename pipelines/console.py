"""What a user sees around a run: checks before it starts, progress, a dry run's graph,
Ctrl-C, and a few rows of what came out.

Shared by the entry points' ``run()``; nothing here is part of a pipeline graph.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager

from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, TestOptions

from newsflow.pipelines.options import is_local_runner

#: Columns shown for the sample rows printed after a run.
SAMPLE_COLUMNS = ("title", "published_at", "language", "url", "source_ref")


def output_problem(output: str) -> str | None:
    """Why ``output`` cannot be written (checked before the job starts), or None.

    Local paths only: a ``gs://`` bucket is checked by the runner itself, and touching it here
    would need credentials (and network) even for a dry run.
    """
    if "://" in output:
        return None
    path = os.path.abspath(output)
    if os.path.exists(path) and not os.path.isdir(path):
        return f"--output {output} is a file; give a directory (it is created if missing)"
    parent = path
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return f"--output {output}: {parent} is a file, so the directory cannot be created"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"--output {output}: no permission to write in {parent}"
    return None


def is_dry_run(options: PipelineOptions) -> bool:
    """``--dry_run``: build (and for Dataflow, validate) the job, but run nothing. Any value
    counts, as it does for Beam's DataflowRunner (``--dry_run=False`` too: omit the flag)."""
    return bool(options.view_as(TestOptions).dry_run)


def describe_dry_run(pipeline, what: str) -> str:
    """Build the job and stop: the DataflowRunner validates and translates it without
    submitting; a local runner would run it, so it is not called. Returns what was built."""
    if not is_local_runner(pipeline.options):
        pipeline.run()
    return describe_graph(pipeline, what)


def describe_graph(pipeline, what: str) -> str:
    """A short account of a built pipeline: its top-level steps and transform count."""
    proto = pipeline.to_runner_api()
    transforms = proto.components.transforms
    top = [transforms[sub].unique_name
           for root in proto.root_transform_ids for sub in transforms[root].subtransforms]
    runner = pipeline.runner.__class__.__name__
    return (f"dry run: built the {what} job graph for {runner} and stopped (nothing was read, "
            f"written or submitted)\n"
            f"  {len(top)} steps ({len(transforms)} transforms in all): {', '.join(top)}")


def local_worker_processes(options: PipelineOptions) -> int:
    """How many SDK worker processes a local run starts (0 when workers are threads)."""
    direct = options.view_as(DirectOptions)
    if not is_local_runner(options) or direct.direct_running_mode != "multi_processing":
        return 0
    return direct.direct_num_workers or 1


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "ETA unknown"
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"ETA {hours}h{minutes:02d}m" if hours else f"ETA {minutes}m{secs:02d}s"


def progress_line(done_bytes: int, total_bytes: int, files: int, records: int,
                  elapsed: float) -> str:
    """``progress: 12.5/74.0 MB of 8 files, 1200 records read, 95 records/s, ETA 2m10s``
    (the ETA of reading, which is fused with processing; deduplication and the commit follow
    it). Measured in stored bytes: files differ in size, and a large one is read in spans."""
    rate = records / elapsed if elapsed > 0 else 0.0
    line = (f"progress: {done_bytes / 1e6:.1f}/{total_bytes / 1e6:.1f} MB of {files} "
            f"file{'' if files == 1 else 's'}, {records} records read, {rate:.0f} records/s")
    if done_bytes >= total_bytes:
        return f"{line}, all read: deduplicating and committing"
    eta = elapsed * (total_bytes - done_bytes) / done_bytes if done_bytes and elapsed > 0 \
        else None
    return f"{line}, {format_eta(eta)} for reading"


def progress_interval() -> float:
    """Seconds between progress lines: often on a terminal, less often in logs (CI, cron),
    where every line stays; ``NEWSFLOW_PROGRESS_SECONDS`` overrides both."""
    override = os.environ.get("NEWSFLOW_PROGRESS_SECONDS")
    if override:
        return max(0.5, float(override))
    return 10.0 if sys.stderr.isatty() else 30.0


def run_in_background(target: Callable[[], None], report: Callable[[float], None],
                      every_s: float, worker_processes: int = 0) -> None:
    """Run ``target`` in a thread, calling ``report(elapsed)`` every ``every_s`` seconds;
    re-raises ``target``'s exception, and ``KeyboardInterrupt`` from the wait.

    Ctrl-C is meant for this process alone, which then stops the run with one line: until the
    local runner's ``worker_processes`` have started (at most ``startup_s``), SIGINT is ignored
    here, so they inherit "ignore SIGINT" instead of printing a traceback each.
    """
    failure: list[BaseException] = []

    def guarded():
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the calling thread
            failure.append(exc)

    worker = threading.Thread(target=guarded, name="newsflow-run", daemon=True)
    started = time.monotonic()
    with _sigint_ignored_until(lambda: not worker.is_alive()
                               or _sdk_workers_started() >= worker_processes,
                               enabled=worker_processes > 0):
        worker.start()
    while worker.is_alive():
        worker.join(every_s)
        if worker.is_alive():
            report(time.monotonic() - started)
    if failure:
        raise failure[0]


@contextmanager
def _sigint_ignored_until(done: Callable[[], bool], enabled: bool, startup_s: float = 60.0):
    """Ignore SIGINT from entering the block until ``done()`` (checked after the block)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
        deadline = time.monotonic() + startup_s
        while not done() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        signal.signal(signal.SIGINT, previous)


def _descendants() -> list[int]:
    """Pids of every process this one started, and theirs (Linux ``/proc``; else none)."""
    def children(pid: int) -> list[int]:
        found = []
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return found
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as handle:
                    found += [int(p) for p in handle.read().split()]
            except OSError:
                continue
        return found

    pending, found = children(os.getpid()), []
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending += children(pid)
    return found


def _sdk_workers_started() -> int:
    """How many of this process's descendants are Beam SDK worker processes (or the
    ``warm_workers attach`` processes the runner starts instead)."""
    count = 0
    for pid in _descendants():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
        except OSError:
            continue
        if b"-m" in argv and (b"apache_beam.runners.worker.sdk_worker_main" in argv
                              or argv[-2:] == [b"attach", b""]):  # warm_workers' attach
            count += 1
    return count


def stop_run(timeout_s: float = 5.0) -> int:
    """After Ctrl-C: end the interrupted local run quietly; returns how many processes ended.

    Terminates every process this one started (and theirs), by pid: the local runner's workers
    would otherwise keep running. Their threads in this process that then fail (the runner's
    worker watchers) stay silent: the caller prints the one line that matters. Linux only
    (``/proc``); elsewhere no process is terminated.
    """
    threading.excepthook = lambda args: None
    logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
    descendants = _descendants()
    for pid in descendants:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + timeout_s
    for pid in descendants:
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:  # not our direct child: its parent reaps it
                if _is_zombie(pid):
                    break
            time.sleep(0.05)
    return len(descendants)


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def sample_rows(output: str, commit_id: str, limit: int = 5) -> list[dict]:
    """Up to ``limit`` article rows a commit wrote, read back from the output (rows with a
    title first).

    Reads the commit's rows back from the Delta table (``newsflow.transforms.catalog``).
    """
    from newsflow.transforms.catalog import read_commit_sample

    rows = read_commit_sample(output, commit_id, SAMPLE_COLUMNS, limit * 10).to_pylist()
    return sorted(rows, key=lambda row: not row["title"])[:limit]


def format_sample_rows(rows: list[dict], width: int = 100) -> str:
    """Two lines per row: date, language and title; then the URL (or where the row came
    from, for records without one)."""
    lines = []
    for row in rows:
        published = row["published_at"]
        date = published.strftime("%Y-%m-%d") if published else "undated"
        title = (row["title"] or "(no title)").replace("\n", " ")
        room = max(20, width - len(date) - 8)
        if len(title) > room:
            title = title[: room - 1] + "…"
        lines.append(f"  {date:<10}  {row['language'] or 'und':<3} {title}\n"
                     f"{'':18}{row['url'] or row['source_ref']}")
    return "\n".join(lines)
