"""The step contract: one failure boundary, one chain that Beam, benches and tests all run."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing import test_pipeline
from apache_beam.testing.util import assert_that, equal_to

from newsflow.schemas import DeadLetter, Draft, RawRecord, Skip
from newsflow.transforms.archives import iter_file_records
from newsflow.transforms.extract import ExtractSettings
from newsflow.transforms.process import ARTICLES, ProcessArticles, ProcessSettings, processing_steps
from newsflow.transforms.stage import (
    DEAD,
    MAIN,
    SKIPPED,
    ApplyStep,
    StageClock,
    Step,
    apply_step,
    run_steps,
    steps_ready,
)
from tests.conftest import BEAM_TEST_ARGS

RECORD = RawRecord(url="https://a.test/x", body="<html>raw page</html>", body_kind="html",
                   source_format="warc", source_ref="dump.warc@42")


class Exploding(Step):
    name = "explode"

    def apply(self, value):
        raise KeyError("no such field")


class SkipAll(Step):
    name = "skipper"

    def apply(self, value):
        return Skip(self.name, "not_wanted", value.source_ref, value.url)


class Upper(Step):
    name = "upper"

    def apply(self, value):
        return value.upper()


def test_an_unexpected_exception_becomes_the_records_dead_letter():
    outcome = apply_step(Exploding(), RECORD)
    assert isinstance(outcome, DeadLetter)
    assert (outcome.stage, outcome.reason, outcome.source_ref, outcome.url, outcome.raw) == (
        "explode", "unexpected_error", "dump.warc@42", "https://a.test/x",
        "<html>raw page</html>")
    assert "KeyError" in outcome.error
    draft = Draft(record=RECORD, text="t")
    assert apply_step(Exploding(), draft).raw == RECORD.body  # found through the draft


def test_run_steps_stops_at_the_first_skip():
    outcome = run_steps([SkipAll(), Exploding()], RECORD)
    assert isinstance(outcome, Skip) and outcome.reason == "not_wanted"


def test_apply_step_in_beam_routes_every_outcome():
    with test_pipeline.TestPipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as p:
        values = p | beam.Create(["a", "b"])
        upper = values | "Upper" >> ApplyStep(Upper())
        broken = values | "Broken" >> ApplyStep(Exploding())
        assert_that(upper[MAIN], equal_to(["A", "B"]), label="main")
        assert_that(broken[DEAD] | beam.Map(lambda d: (d.stage, d.reason, d.source_ref)),
                    equal_to([("explode", "unexpected_error", "a"),
                             ("explode", "unexpected_error", "b")]), label="dead")
        assert_that(broken[SKIPPED], equal_to([]), label="skipped")


class Busy(Step):
    """Burns a known amount of CPU per element."""

    name = "busy"

    def apply(self, value):
        deadline = time.thread_time() + 0.02
        while time.thread_time() < deadline:
            pass
        return value


def test_every_step_reports_its_cpu_and_wall_time_per_element():
    from apache_beam.metrics.metric import MetricsFilter

    pipeline = beam.Pipeline(options=PipelineOptions(BEAM_TEST_ARGS))
    _ = pipeline | beam.Create(["a", "b", "c"]) | "Busy" >> ApplyStep(Busy())
    result = pipeline.run()
    result.wait_until_finish()
    found = {m.key.metric.name: m.committed for m in result.metrics().query(
        MetricsFilter().with_namespace("busy"))["distributions"]}
    assert found["cpu_us"].count == 3 and found["wall_us"].count == 3
    assert 60_000 <= found["cpu_us"].sum <= found["wall_us"].sum


def test_a_timed_generator_does_not_count_the_work_done_at_its_yields(monkeypatch):
    added = []
    clock = StageClock("reader")
    monkeypatch.setattr(clock, "add", lambda cpu, wall: added.append(wall))
    for _ in clock.timed(iter(range(3))):
        time.sleep(0.02)  # the consumer's work, while the generator waits at its yield
    assert len(added) == 4  # three items and the end
    assert max(added) < 10_000_000  # ns: none of the consumer's 20 ms


def test_the_pipeline_and_the_in_process_chain_give_the_same_rows(seeds_dir):
    """Benchmarks and tests run ``processing_steps`` directly: it must be what Beam runs."""
    ingested = datetime(2026, 1, 1, tzinfo=UTC)
    settings = ProcessSettings(extract=ExtractSettings(timeout_s=0), ingested_at=ingested,
                               now=ingested)
    records = [outcome for path in sorted(seeds_dir.glob("*.txt"))
               for outcome in iter_file_records(str(path))]
    assert len(records) == 5 and all(isinstance(r, RawRecord) for r in records)
    steps = [step for _, step in processing_steps(settings)]
    with steps_ready(steps):
        in_process = [run_steps(steps, record) for record in records]
    with test_pipeline.TestPipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as p:
        processed = p | beam.Create(records) | ProcessArticles(settings)
        assert_that(processed[ARTICLES], equal_to(in_process))
