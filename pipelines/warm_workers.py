"""Local SDK workers forked from the command once it has imported Beam, before it builds the job.

With ``--direct_running_mode=multi_processing`` the local runner starts each SDK worker only
when the job starts: a new Python that imports Beam (1.5 to 2 s of CPU) while the driver,
which spent the same importing Beam and building the pipeline, waits. On a laptop-sized
backfill (a thousand pages) that start-up is a tenth of the run. So ``newsflow backfill``
imports Beam, then forks its workers (:func:`start`) before it builds the job: each starts
with Beam already imported (the import is paid once, not once per process) and waits in a
*slot* for the settings of a job. The runner then launches ``python -m
newsflow.pipelines.warm_workers attach`` instead of Beam's worker: it claims a free slot, hands
the waiting worker its environment (the runner's addresses, the options) and lives as long as
it does, passing on its exit status, so the runner sees an ordinary worker. When no slot is
free (more workers than slots, a slot that failed), ``attach`` becomes Beam's own worker
(``exec``): a warm worker is only ever faster, never required.

Forking is safe here because it happens before the process holds what a fork cannot copy:
no gRPC channel or server exists before the runner starts, and workers are forked only while
the process runs a single thread (:func:`can_fork_workers`), on Linux (``attach`` waits for
them by pidfd); otherwise the runner starts Beam's own workers. ``attach`` itself imports
neither Beam nor anything that does: it starts in a few milliseconds.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import shlex
import shutil
import signal
import socket
import sys
import tempfile
import traceback

#: Where ``attach`` finds the slots (set by :func:`start` for the processes the runner starts).
SLOTS_ENV = "NEWSFLOW_WARM_SLOTS"
BEAM_WORKER = "apache_beam.runners.worker.sdk_worker_main"
#: The environment a worker needs from the runner (what Beam's launcher sets).
_WORKER_SETTINGS = ("CONTROL_API_SERVICE_DESCRIPTOR", "LOGGING_API_SERVICE_DESCRIPTOR",
                    "PIPELINE_OPTIONS", "WORKER_ID")


class WarmWorkers:
    """Forked slots; :meth:`close` ends the workers no job claimed, reaps every worker and
    removes the slots."""

    def __init__(self, directory: str, pids: list[int]):
        self.directory = directory
        self.pids = pids

    @property
    def command(self) -> str:
        """The worker command line for the runner's environment (run by ``sh -c``)."""
        return (f"{SLOTS_ENV}={shlex.quote(self.directory)} {shlex.quote(sys.executable)} "
                f"-m {__name__} attach")

    def close(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)  # a worker that ran its job has exited already
            except ProcessLookupError:
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:  # reaped already
                pass
        self.pids = []
        shutil.rmtree(self.directory, ignore_errors=True)


#: Native threads that survive a fork: jemalloc's (pyarrow's allocator) re-arm themselves.
_FORK_SAFE_THREADS = ("jemalloc_bg_thd",)


def can_fork_workers() -> bool:
    """Linux (``attach`` waits for a worker it did not start by pidfd), and no thread runs
    here that a fork would break. A fork copies only the calling thread, so no other Python
    thread may run, nor a named native runtime (a gRPC server's, deltalake's tokio runtime
    once a table was opened); the thread pools that handle a fork are allowed: numpy's BLAS
    (its threads carry the process's own name) and jemalloc's."""
    import threading

    if sys.platform != "linux" or not hasattr(os, "pidfd_open"):
        return False
    if threading.active_count() != 1:
        return False
    with open("/proc/self/comm", encoding="utf-8") as handle:
        allowed = (handle.read().strip(),) + _FORK_SAFE_THREADS
    for thread in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{thread}/comm", encoding="utf-8") as handle:
                name = handle.read().strip()
        except OSError:  # ended meanwhile
            continue
        if name not in allowed:
            return False
    return True


def start(count: int) -> WarmWorkers | None:
    """Fork ``count`` workers that wait for a job's settings; None where workers cannot be
    forked (:func:`can_fork_workers`: the runner then starts Beam's own). Call it after
    importing Beam (the workers inherit the import) and before anything starts a thread."""
    if count < 1 or not can_fork_workers():
        return None
    from apache_beam.runners.worker import sdk_worker_main  # noqa: F401 - inherited by the fork

    directory = tempfile.mkdtemp(prefix="newsflow-workers-")
    pids = []
    for slot in range(count):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(_slot(directory, slot) + ".sock")
        listener.listen(1)  # from now on a job can connect to this slot
        sys.stdout.flush()  # or the worker would write this process's pending output again
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _forked_worker(listener)
        listener.close()
        pids.append(pid)
    return WarmWorkers(directory, pids)


def _forked_worker(listener: socket.socket) -> None:
    """The forked process: serve the slot, then leave without unwinding the command's stack or
    running its exit handlers (they are the command's: its temporary folders, its files)."""
    status = 1
    try:
        status = serve(listener)
    except BaseException:  # noqa: BLE001 - reported, then this process ends with status 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def workers_wanted(argv: list[str]) -> int:
    """How many worker processes a ``newsflow backfill`` command line will run: those of the
    local runner in multi-processing mode (``--direct_num_workers``, 0 meaning one per CPU),
    which is also the command's default without ``--runner`` (``options.parse_strict``), or 0
    for other runners and modes, dry runs and help. Read from the words themselves: Beam is
    not imported yet."""
    values: dict[str, str] = {}
    for index, word in enumerate(argv):
        if word in ("-h", "--help") or word.startswith("--dry_run"):
            return 0
        name, equals, value = word.partition("=")
        if name.startswith("--") and not equals and index + 1 < len(argv):
            value = argv[index + 1]
        values[name] = value
    if "--runner" not in values and "--direct_running_mode" not in values:
        return os.cpu_count() or 1  # the command's local default
    if values.get("--runner", "FnApiRunner") not in ("DirectRunner", "FnApiRunner"):
        return 0
    if values.get("--direct_running_mode") != "multi_processing":
        return 0
    try:
        workers = int(values.get("--direct_num_workers", "1"))
    except ValueError:
        return 0  # Beam reports the bad value
    return workers if workers > 0 else (os.cpu_count() or 1)


def _slot(directory: str, slot: int) -> str:
    return os.path.join(directory, f"slot-{slot}")


def serve(listener: socket.socket) -> int:
    """A warm worker: take one job's settings from the slot's ``listener``, run Beam's worker
    for it, and send back its exit status."""
    # Ctrl-C is the command's to handle: it ends its workers (console.stop_run)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from apache_beam.runners.worker import sdk_worker_main

    from newsflow.transforms.child import close_children, start_spare
    from newsflow.transforms.extract import EXTRACTOR

    start_spare(EXTRACTOR)  # the extraction child warms up while the driver builds the job

    connection, _ = listener.accept()
    listener.close()
    with connection.makefile("r", encoding="utf-8") as reader:
        os.environ.update(json.loads(reader.readline()))
    connection.sendall(f"{os.getpid()}\n".encode())  # attach waits for this process to end
    status = 1
    try:
        sdk_worker_main.main([BEAM_WORKER])  # what ``python -m`` of it runs
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    finally:
        close_children()  # no exit handlers run in a forked worker: end its children here
        connection.sendall(str(status).encode())
        connection.close()
    return status


def attach() -> int:
    """What the runner starts: hand its settings to a free warm worker and wait for it; with
    none free, become Beam's own worker."""
    directory = os.environ.get(SLOTS_ENV, "")
    slot = 0
    while directory and os.path.exists(_slot(directory, slot) + ".sock"):
        path = _slot(directory, slot)
        slot += 1
        claim = open(path + ".claim", "a")  # noqa: SIM115 - held until this process ends
        try:
            fcntl.flock(claim, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another worker took this slot
            claim.close()
            continue
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            connection.connect(path + ".sock")
        except OSError:  # its worker is gone
            connection.close()
            continue
        settings = {name: os.environ[name] for name in _WORKER_SETTINGS if name in os.environ}
        connection.sendall((json.dumps(settings) + "\n").encode())
        with connection.makefile("rb") as reader:
            worker = reader.readline().strip()  # its pid: it took the settings
            if not worker.isdigit():  # it died before: try the next slot
                connection.close()
                continue
            status = reader.read()  # until the worker closes the connection
        _wait_for_exit(int(worker))  # the runner takes this process's end for the worker's
        return int(status) if status.isdigit() else 1
    os.execv(sys.executable, [sys.executable, "-m", BEAM_WORKER])


def _wait_for_exit(pid: int) -> None:
    """Block until process ``pid`` (not a child of ours) has ended."""
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # gone already, or no pidfd (not Linux)
        return
    try:
        select.select([handle], [], [])
    finally:
        os.close(handle)


def main(argv: list[str]) -> int:
    if argv[1:2] == ["attach"]:
        return attach()
    print(f"usage: python -m {__name__} attach", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
