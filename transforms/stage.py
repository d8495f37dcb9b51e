"""The shared shape of a processing stage: one element in, one outcome out, failures as data.

A stage's pure logic returns the next value, a :class:`Skip` or a :class:`DeadLetter`; the
DoFn routes them to tagged outputs and counts every outcome under the stage's namespace
(``skipped_<reason>``, ``dead_<reason>``). An unexpected exception in one record becomes that
record's dead letter (reason ``unexpected_error``), so one bad record never fails a bundle.
"""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsflow.schemas import DeadLetter, RawRecord, Skip, dead_letter

LOG = logging.getLogger(__name__)

MAIN, SKIPPED, DEAD = "main", "skipped", "dead_letters"


class OutcomeCounters:
    """Beam counters of one namespace, created on first use (outcome names are open-ended)."""

    def __init__(self, namespace: str):
        self._namespace = namespace
        self._counters: dict[str, object] = {}

    def inc(self, name: str, value: int = 1) -> None:
        if name not in self._counters:
            self._counters[name] = Metrics.counter(self._namespace, name)
        self._counters[name].inc(value)


def route(outcome, counters: OutcomeCounters):
    """A Skip or DeadLetter becomes a tagged output (and is counted); anything else passes."""
    if isinstance(outcome, Skip):
        counters.inc(f"skipped_{outcome.reason}")
        return beam.pvalue.TaggedOutput(SKIPPED, outcome)
    if isinstance(outcome, DeadLetter):
        counters.inc(f"dead_{outcome.reason}")
        return beam.pvalue.TaggedOutput(DEAD, outcome)
    return outcome


def _record_of(element) -> RawRecord | None:
    if isinstance(element, RawRecord):
        return element
    return getattr(element, "record", None)


class StageFn(beam.DoFn):
    """Base DoFn for a processing stage; subclasses set ``stage`` and implement ``apply``."""

    stage = "stage"

    def __init__(self):
        self._processed = Metrics.counter(self.stage, "processed")
        self._counters = OutcomeCounters(self.stage)

    def apply(self, element):
        raise NotImplementedError

    def process(self, element):
        try:
            outcome = self.apply(element)
        except Exception as exc:  # noqa: BLE001 - any failure of one record is its dead letter
            record = _record_of(element)
            LOG.warning("%s failed on %s: %r", self.stage,
                        record.source_ref if record else "?", exc)
            outcome = dead_letter(self.stage, "unexpected_error", exc,
                                  record.source_ref if record else "unknown",
                                  record.url if record else None,
                                  record.body if record else None)
        self._processed.inc()
        yield route(outcome, self._counters)


class StageTransform(beam.PTransform):
    """A public stage transform: outputs ``main``, ``skipped`` and ``dead_letters``."""

    def make_fn(self) -> StageFn:
        raise NotImplementedError

    def expand(self, pcoll):
        return pcoll | "Apply" >> beam.ParDo(self.make_fn()).with_outputs(SKIPPED, DEAD,
                                                                           main=MAIN)


__all__ = ["DEAD", "MAIN", "SKIPPED", "OutcomeCounters", "StageFn", "StageTransform", "route"]
