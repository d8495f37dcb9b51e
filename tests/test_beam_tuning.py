"""Beam's DoFn introspection, memoized: the same specs, found once per DoFn instance."""

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.transforms import userstate

from newsflow.pipelines import backfill
from newsflow.pipelines.beam_tuning import memoize_dofn_specs
from newsflow.transforms.stories.beam import _AssignStreamFn
from newsflow.transforms.stories.config import StoryConfig
from tests.conftest import BEAM_TEST_ARGS


class _Counted(beam.DoFn):
    """A DoFn that counts Beam's introspections of it (each lists its attributes)."""

    def __init__(self):
        super().__init__()
        self.introspections = 0

    def __dir__(self):
        self.introspections += 1
        return super().__dir__()

    def process(self, element):
        yield element


class _Unhashable(beam.DoFn):
    __hash__ = None

    def process(self, element):
        yield element


def _dofns(pipeline: beam.Pipeline) -> list[beam.DoFn]:
    found = []

    class Visitor(beam.pipeline.PipelineVisitor):
        def visit_transform(self, node):
            if isinstance(node.transform, beam.ParDo):
                found.append(node.transform.fn)

    pipeline.visit(Visitor())
    return found


def test_every_dofn_of_the_backfill_gets_the_specs_beam_finds(tmp_path, seeds_dir):
    args = BEAM_TEST_ARGS + [f"--input={seeds_dir}/*.txt", f"--output={tmp_path}/out"]
    pipeline = backfill.new_pipeline(PipelineOptions(args))  # memoizes
    backfill.build(pipeline, PipelineOptions(args))
    introspect = userstate.get_dofn_specs.introspect
    dofns = _dofns(pipeline) + [_AssignStreamFn(StoryConfig())]
    assert len(dofns) > 50
    for dofn in dofns:
        assert userstate.get_dofn_specs(dofn) == introspect(dofn)
        assert userstate.get_dofn_specs(dofn) == introspect(dofn)  # from memory
    assert userstate.is_stateful_dofn(dofns[-1])  # state and timers are found, and kept


def test_a_dofn_is_introspected_once_and_callers_share_nothing():
    memoize_dofn_specs()
    memoize_dofn_specs()  # idempotent: one memo, not a memo of a memo
    counted = _Counted()
    state, timers = userstate.get_dofn_specs(counted)
    state.add("changed by a caller")
    assert userstate.get_dofn_specs(counted) == (set(), set())
    assert counted.introspections == 1
    assert userstate.get_dofn_specs(_Unhashable()) == (set(), set())  # introspected each time
