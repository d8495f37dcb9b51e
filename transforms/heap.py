"""Keep Python's garbage collector off what a worker holds for its whole life.

A worker imports Beam (about 190,000 objects the collector tracks) and builds its heavy objects
once (langdetect's profiles alone are 88,000 lists), then handles records. Every full
collection walks all of that again: 0.1 to 0.2 s each, five or so per worker on the benchmark's
920 pages, and one more at interpreter exit, about 0.5 s, which the local runner waits for once
per worker, one worker after the other, at the end of every run. :func:`settle` moves what is
alive after set-up out of the collector's sight (``gc.freeze``): later collections only look at
what records create. Reference counting still frees every object that is no longer used, and
Python does not promise finalizers of objects still alive at exit anyway.
"""

from __future__ import annotations

import atexit
import gc
import threading

_LOCK = threading.Lock()
_AT_EXIT = False


def settle() -> None:
    """Freeze what is alive now (call after a set-up) and, once per process, freeze again at
    exit so the interpreter's last full collection has nothing to walk."""
    global _AT_EXIT
    gc.freeze()
    with _LOCK:
        if not _AT_EXIT:
            atexit.register(gc.freeze)
            _AT_EXIT = True
