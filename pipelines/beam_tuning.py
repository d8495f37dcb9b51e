"""Beam's pipeline construction, made cheaper where it repeats itself.

Beam asks whether each DoFn is stateful (``userstate.get_dofn_specs``: an ``inspect.signature``
of every method the DoFn has, about 30) several times per ParDo while it builds a pipeline and
each time it translates one: for the backfill's 84 ParDos about 500 introspections, 0.16 s of
building and translating (measured: 0.38 against 0.22 s), and a run translates twice. The
answer for one DoFn instance never changes, so :func:`memoize_dofn_specs` keeps it.
"""

from __future__ import annotations

import threading
import weakref

_LOCK = threading.Lock()
_INSTALLED = threading.Event()


def memoize_dofn_specs() -> None:
    """Make Beam find each DoFn instance's state and timer specs once per process (idempotent).

    Callers get new sets each time, so none can change what another sees; a DoFn that cannot
    be a weak dictionary key is introspected each time, as before.
    """
    if _INSTALLED.is_set():
        return
    from apache_beam.transforms import userstate

    with _LOCK:
        if _INSTALLED.is_set():
            return
        introspect = userstate.get_dofn_specs
        known: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

        def get_dofn_specs(dofn):
            try:
                state, timers = known[dofn]
            except KeyError:
                state, timers = introspect(dofn)
                known[dofn] = frozenset(state), frozenset(timers)
            except TypeError:  # unhashable, or not weakly referable
                return introspect(dofn)
            return set(state), set(timers)

        get_dofn_specs.introspect = introspect
        userstate.get_dofn_specs = get_dofn_specs
        _INSTALLED.set()
