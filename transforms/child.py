"""One function run in a child process, under a time limit and off the caller's GIL.

For work that can hang (trafilatura has no timeout of its own, and ``signal.alarm`` only works
in a main thread, which Beam workers are not) or that would hold the worker's GIL against
everything else it does (parsing every feed of a stream's first round). The child is started
as ``python -m newsflow.transforms.child module:function`` and imports only that function's
module, never Beam unless that module does: ``multiprocessing``'s spawn would re-import the
parent's main module, which in a Beam SDK worker is Beam itself. Parent and child exchange
length-prefixed pickles over pipes; a call that runs past its limit gets the child killed, and
the next call starts a new one. A child runs its module's ``warm_up()``, when it has one,
before the first call; :func:`start_spare` starts one ahead of need.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pickle
import select
import struct
import subprocess
import sys
import threading
import weakref

_FRAME = struct.Struct(">I")
_LIVE: weakref.WeakSet = weakref.WeakSet()  # children to end at exit, if still running


class ChildTimeout(Exception):
    """The call ran past its time limit; the child was killed."""


class ChildFailed(Exception):
    """The function raised (the message says what), or the child died."""


def _write_frame(stream, payload) -> None:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_FRAME.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _read_frame(stream):
    (size,) = _FRAME.unpack(_read_exact(stream, _FRAME.size))
    return pickle.loads(_read_exact(stream, size))


def serve(function, stdin=None, stdout=None) -> None:
    """Child loop: read ``(args, kwargs)`` frames, answer ``("ok", result)`` or
    ``("error", message)``, until the parent closes the pipe."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    while True:
        try:
            args, kwargs = _read_frame(stdin)
        except EOFError:
            return
        try:
            answer = ("ok", function(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - reported to the parent as this call's error
            answer = ("error", f"{type(exc).__name__}: {exc}")
        _write_frame(stdout, answer)


_SPARES: dict[str, list[subprocess.Popen]] = {}  # started ahead of need, by target
_SPARES_LOCK = threading.Lock()


def _spawn(target: str) -> subprocess.Popen:
    # Its own session: Ctrl-C in a terminal reaches the worker, which ends this child
    # (closing its stdin ends it too), never the child itself mid-call with a traceback.
    return subprocess.Popen(
        [sys.executable, "-m", __name__, target], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True)


def start_spare(target: str) -> None:
    """Start a child for ``target`` now, for the next :class:`ChildProcess` of that target to
    take: a worker that starts before its job can have its child's imports and warm-up done
    (the target module's ``warm_up``) by the time the first record arrives."""
    process = _spawn(target)
    with _SPARES_LOCK:
        _SPARES.setdefault(target, []).append(process)


def _take_spare(target: str) -> subprocess.Popen | None:
    with _SPARES_LOCK:
        spares = _SPARES.get(target, [])
        while spares:
            process = spares.pop()
            if process.poll() is None:
                return process
    return None


class ChildProcess:
    """``call(args, kwargs, timeout_s)`` runs ``target`` (``"module:function"``) in the child.

    Started lazily on the first call, so workers that never need it never pay for it; calls
    from several threads take turns. Closed at interpreter exit at the latest.
    """

    def __init__(self, target: str):
        self._target = target
        self._process: subprocess.Popen | None = None
        self._lock = threading.Lock()
        _LIVE.add(self)

    def _start(self) -> None:
        self._process = _take_spare(self._target) or _spawn(self._target)

    def call(self, args: tuple, kwargs: dict | None = None, *, timeout_s: float):
        with self._lock:
            return self._call(args, kwargs or {}, timeout_s)

    def _call(self, args: tuple, kwargs: dict, timeout_s: float):
        if self._process is None or self._process.poll() is not None:
            self._start()
        try:
            _write_frame(self._process.stdin, (args, kwargs))
        except (BrokenPipeError, OSError) as exc:
            self._close()
            raise ChildFailed(f"{self._target} process died") from exc
        ready, _, _ = select.select([self._process.stdout], [], [], timeout_s)
        if not ready:
            self._close()
            raise ChildTimeout(f"took longer than {timeout_s:g}s")
        try:
            status, payload = _read_frame(self._process.stdout)
        except (EOFError, pickle.UnpicklingError, struct.error) as exc:
            self._close()  # the child died (e.g. out of memory): the next call starts afresh
            raise ChildFailed(f"{self._target} process died") from exc
        if status == "error":
            raise ChildFailed(payload)
        return payload

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._process is None:
            return
        process, self._process = self._process, None
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
        for stream in (process.stdin, process.stdout):
            try:
                stream.close()
            except OSError:
                continue


@atexit.register
def close_children() -> None:
    """End every child this process started, spares included (at exit, or by a process that
    leaves without exit handlers)."""
    for child in list(_LIVE):
        child.close()
    with _SPARES_LOCK:
        spares = [process for processes in _SPARES.values() for process in processes]
        _SPARES.clear()
    for process in spares:
        process.kill()
        process.wait(timeout=5)


def main(argv: list[str]) -> None:
    module_name, _, name = argv[1].partition(":")
    module = importlib.import_module(module_name)
    warm_up = getattr(module, "warm_up", None)
    if warm_up is not None:  # before the first call: a spare child does it ahead of need
        warm_up()
    serve(getattr(module, name))


if __name__ == "__main__":
    main(sys.argv)
