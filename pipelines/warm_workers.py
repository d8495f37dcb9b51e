"""Local SDK workers that start with the command, not after the pipeline is built.

With ``--direct_running_mode=multi_processing`` the local runner starts each SDK worker only
when the job starts: a new Python that imports Beam (1.5 to 2 s of CPU) while the driver,
which spent the same importing Beam and building the pipeline, waits. On a laptop-sized
backfill (a thousand pages) that start-up is a tenth of the run. So ``newsflow backfill``
starts the workers' Python first (:func:`start`, before the driver imports Beam): each waits,
Beam imported, in a *slot* for the settings of a job. The runner then launches
``python -m newsflow.pipelines.warm_workers attach`` instead of Beam's worker: it claims a free
slot, hands the waiting worker its environment (the runner's addresses, the options) and lives
as long as it does, passing on its exit status, so the runner sees an ordinary worker. When no
slot is free (more workers than slots, a slot that failed), ``attach`` becomes Beam's own worker
(``exec``): a warm worker is only ever faster, never required.

This module imports neither Beam nor anything that does: the command imports it first.
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
import struct
import subprocess
import sys
import tempfile

#: Where ``attach`` finds the slots (set by :func:`start` for the processes the runner starts).
SLOTS_ENV = "NEWSFLOW_WARM_SLOTS"
BEAM_WORKER = "apache_beam.runners.worker.sdk_worker_main"
#: The environment a worker needs from the runner (what Beam's launcher sets).
_WORKER_SETTINGS = ("CONTROL_API_SERVICE_DESCRIPTOR", "LOGGING_API_SERVICE_DESCRIPTOR",
                    "PIPELINE_OPTIONS", "WORKER_ID")


class WarmWorkers:
    """Started slots; :meth:`close` ends the workers no job claimed and removes the slots."""

    def __init__(self, directory: str, processes: list[subprocess.Popen]):
        self.directory = directory
        self._processes = processes

    @property
    def command(self) -> str:
        """The worker command line for the runner's environment (run by ``sh -c``)."""
        return (f"{SLOTS_ENV}={shlex.quote(self.directory)} {shlex.quote(sys.executable)} "
                f"-m {__name__} attach")

    def close(self) -> None:
        for process in self._processes:
            if process.poll() is None:
                process.kill()
            process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def start(count: int) -> WarmWorkers:
    """Start ``count`` workers that import Beam now and wait for a job's settings."""
    directory = tempfile.mkdtemp(prefix="newsflow-workers-")
    processes = [subprocess.Popen([sys.executable, "-m", __name__, "serve", directory, str(slot)],
                                  stdin=subprocess.DEVNULL)
                 for slot in range(count)]
    return WarmWorkers(directory, processes)


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


def serve(directory: str, slot: int) -> int:
    """A warm worker: listen, import Beam's worker, take one job's settings, run it, and send
    back its exit status."""
    # Ctrl-C is the command's to handle: it ends its workers (console.stop_run)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(_slot(directory, slot) + ".sock")
    listener.listen(1)  # from now on a job can connect: it waits until the import is done
    from apache_beam.runners.worker import sdk_worker_main

    from newsflow.transforms.child import start_spare
    from newsflow.transforms.extract import EXTRACTOR

    start_spare(EXTRACTOR)  # the extraction child warms up while the driver builds the job

    connection, _ = listener.accept()
    listener.close()
    with connection.makefile("r", encoding="utf-8") as reader:
        os.environ.update(json.loads(reader.readline()))
    status = 1
    try:
        sdk_worker_main.main([BEAM_WORKER])  # what ``python -m`` of it runs
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    finally:
        connection.sendall(str(status).encode())  # attach then waits for this process to end
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
        worker = _peer_process(connection)
        with connection.makefile("rb") as reader:
            status = reader.read()  # until the worker closes the connection
        _wait_for_exit(worker)  # the runner takes this process's end for the worker's
        return int(status) if status.isdigit() else 1
    os.execv(sys.executable, [sys.executable, "-m", BEAM_WORKER])


def _peer_process(connection: socket.socket) -> int | None:
    """The pid at the other end of a Unix socket (Linux's ``SO_PEERCRED``), or None."""
    try:
        credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    except (AttributeError, OSError):
        return None
    return struct.unpack("3i", credentials)[0]


def _wait_for_exit(pid: int | None) -> None:
    """Block until process ``pid`` (not a child of ours) has ended."""
    if pid is None:
        return
    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # gone already, or no pidfd (not Linux)
        return
    try:
        select.select([handle], [], [])
    finally:
        os.close(handle)


def main(argv: list[str]) -> int:
    if argv[1:2] == ["serve"]:
        return serve(argv[2], int(argv[3]))
    if argv[1:2] == ["attach"]:
        return attach()
    print(f"usage: python -m {__name__} serve DIRECTORY SLOT | attach", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
