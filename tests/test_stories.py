"""Stories: key terms, the index's rules, the labelled same-event set, batch and streaming Beam,
a backfill of the seeds, and the downstream "one row per story per day" examples."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from bench.dedup_eval import make_article
from bench.real_texts import load_real_texts
from bench.story_cases import CASES
from bench.story_eval import build_story_set, evaluate
from newsflow.schemas import SCHEMA_VERSION, article_schema
from newsflow.transforms.catalog import read_delta
from newsflow.transforms.stories import (
    DEFAULT_STORY_CONFIG,
    AssignStories,
    AssignStoriesStream,
    StoryConfig,
    StoryIndex,
    StoryInput,
    assign_stories,
    key_terms,
)
from newsflow.transforms.stories.beam import story_input, to_micros
from tests.conftest import BEAM_TEST_ARGS, REPO

T0 = datetime(2024, 4, 14, tzinfo=UTC)
DAY = 86_400_000_000


def _case_articles():
    return [make_article(f"case-{case_id}", text, datetime.fromisoformat(when),
                         domain=site).replace(language="en")
            for case_id, _, site, when, text in CASES]


def _case_events() -> dict[str, str]:
    return {f"case-{case_id}": event for case_id, event, _, _, _ in CASES}


def _seed_articles(shared_dir):
    return [make_article(text.name.replace(":", "-"), text.text, text.published_at,
                         domain=text.domain).replace(language="en")
            for text in load_real_texts(shared_dir) if text.name.startswith("seed:")]


def _inputs(articles, config=DEFAULT_STORY_CONFIG):
    return [story_input(a, to_micros(a.published_at), config) for a in articles]


def _same_story_groups(labels: dict) -> set[frozenset]:
    groups: dict[str, set] = {}
    for article_id, label in labels.items():
        groups.setdefault(label.story_id if hasattr(label, "story_id") else label,
                          set()).add(article_id)
    return {frozenset(group) for group in groups.values()}


# --------------------------------------------------------------------------------------------
# Key terms


def test_key_terms_are_names_pairs_and_numbers_not_sentence_openers():
    terms = key_terms("Officials said the plant reopened. Rescuers found 27 survivors near "
                      "Chandpur on Sunday, said Kamrul Hasan. Hasan thanked the Bangladesh "
                      "Navy.", title="Ferry sinks near Chandpur", dateline="CHANDPUR")
    found = {term for term, _, _ in terms.terms}
    assert {"chandpur", "kamrul hasan", "hasan", "bangladesh navy", "27"} <= found
    assert not {"officials", "rescuers", "sunday", "said", "the"} & found
    assert terms.terms[0][0] == "chandpur"  # headline, lede and dateline weigh most
    assert "27" not in terms.names and "kamrul hasan" in terms.names
    assert key_terms("") == key_terms("   ") and len(key_terms("")) == 0


def test_seeds_share_names_but_little_wording(shared_dir):
    seeds = [t for t in load_real_texts(shared_dir) if t.name.startswith("seed:")]
    names = [key_terms(t.text).names for t in seeds]
    common = set.intersection(*map(set, names))
    assert {"kim", "putin", "north korean"} <= common


# --------------------------------------------------------------------------------------------
# The index's rules


def test_seeds_are_one_story_in_batch_and_streaming(shared_dir):
    seeds = _seed_articles(shared_dir)
    labels, stats = assign_stories(_inputs(seeds))
    assert len({label.story_id for label in labels.values()}) == 1
    # seed 000 is a rewrite 58 days later (strong evidence), 003 undated (matched last)
    first = labels["seed-001"]
    assert first.story_id == "seed-001" and first.story_size == 5
    assert stats.stories == 1 and stats.joined == 4
    index = StoryIndex()
    stream_ids = {index.assign(StoryInput(a.article_id, i * 60_000_000, item.terms)).story_id
                  for i, (a, item) in enumerate(zip(seeds, _inputs(seeds), strict=True))}
    assert len(stream_ids) == 1


def test_written_cases_join_and_negatives_never_do():
    labels, _ = assign_stories(_inputs(_case_articles()))
    events = _case_events()
    groups = _same_story_groups(labels)
    expected = {frozenset(a for a, e in events.items() if e == event)
                for event in set(events.values())}
    assert groups == expected  # ferry x3 + follow-up, fire x2; same-day and boilerplate apart


def test_a_copy_joins_its_canonicals_story_and_late_reports_need_more():
    ferry = {a.article_id: a for a in _case_articles()}
    first, second = ferry["case-ferry-1"], ferry["case-ferry-2"]
    index = StoryIndex()
    opened = index.assign(_inputs([first])[0])
    copy = story_input(second.replace(article_id="copy", cluster_id="case-ferry-1",
                                      is_duplicate=True, text="unrelated words only"),
                       opened.first_seen_micros + 1, StoryConfig())
    assert index.assign(copy).story_id == "case-ferry-1"
    assert index.threshold(10 * DAY, 0) > index.threshold(DAY // 2, 0) == 0.4
    assert index.threshold(None, 0) == 0.9


def test_horizon_span_expiry_and_capacity():
    config = StoryConfig(horizon=timedelta(days=10), recent=timedelta(days=3),
                         max_open_stories=2)
    terms = key_terms("Komsomolsk Amur Gagarin Sukhoi Zhornik Degtyarev Vladivostok "
                      "Vostochny Manturov Peskov Shoigu Lavrov met.")
    index = StoryIndex(config)
    assert index.assign(StoryInput("a", 0, terms)).story_id == "a"
    assert index.assign(StoryInput("b", 2 * DAY, terms)).story_id == "a"
    # beyond the horizon of the story's first article: a new story, ids never change
    assert index.assign(StoryInput("c", 11 * DAY, terms)).story_id == "c"
    assert index.expire(11 * DAY) == 1 and len(index) == 1  # "a" left the horizon
    other = key_terms("Ferry Shapla Meghna Chandpur Sadarghat Kamrul Hasan Akter sank.")
    index.assign(StoryInput("d", 12 * DAY, other))
    index.assign(StoryInput("e", 12 * DAY, key_terms("Kelowna Okanagan Eby Canada burned.")))
    assert len(index) == 2 and index.stats["closed_over_capacity"] == 1
    assert index.expire(16 * DAY) == 2 and index.next_expiry() is None  # single stories


def test_config_validates():
    with pytest.raises(ValueError):
        StoryConfig(threshold=0)
    with pytest.raises(ValueError):
        StoryConfig(recent=timedelta(days=90))
    with pytest.raises(ValueError):
        StoryConfig(min_shared_rare=5, min_shared_names=3)


# --------------------------------------------------------------------------------------------
# The labelled same-event set


@pytest.fixture(scope="module")
def story_set(shared_dir):
    return build_story_set(events=60, seed=7, shared=shared_dir)


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_story_set_targets(story_set, mode):
    result = evaluate(story_set, mode)
    cross = result["cross_outlet"]
    assert cross["precision"] >= 0.95 and cross["recall"] >= 0.80, cross
    assert result["seed_stories"] == 1
    assert result["longest_span_days"] <= StoryConfig().horizon / timedelta(days=1)
    assert result["real_or_written_false_joins"] == []


# --------------------------------------------------------------------------------------------
# Beam


def _rows(pcoll):
    return pcoll | beam.Map(lambda a: (a.article_id, a.story_id, a.story_size,
                                       a.story_first_seen_at))


def test_batch_transform_matches_the_pure_assignment(shared_dir):
    articles = _seed_articles(shared_dir) + _case_articles()
    random.Random(3).shuffle(articles)
    labels, _ = assign_stories(_inputs(articles))
    expected = [(i, label.story_id, label.story_size,
                 None if label.first_seen_micros is None
                 else datetime(1970, 1, 1, tzinfo=UTC)
                 + timedelta(microseconds=label.first_seen_micros))
                for i, label in labels.items()]
    with BeamTestPipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as pipeline:
        out = pipeline | beam.Create(articles) | "AssignStories" >> AssignStories()
        assert_that(_rows(out), equal_to(expected))


def test_stream_transform_assigns_in_event_time_order_with_stable_ids(shared_dir):
    articles = sorted(_seed_articles(shared_dir) + _case_articles(),
                      key=lambda a: a.article_id)
    base = T0 - timedelta(days=1)
    timed = [(a, base + timedelta(minutes=7 * i)) for i, a in enumerate(articles)]
    index = StoryIndex()
    expected = []
    for article, when in sorted(timed, key=lambda t: (t[1], t[0].article_id)):
        label = index.assign(story_input(article, to_micros(when), StoryConfig()))
        expected.append((article.article_id, label.story_id, label.story_size,
                         datetime(1970, 1, 1, tzinfo=UTC)
                         + timedelta(microseconds=label.first_seen_micros)))
    stream = BeamTestStream()
    for start in range(0, len(timed), 6):
        chunk = [TimestampedValue(a, when.timestamp()) for a, when in timed[start:start + 6]]
        random.Random(start).shuffle(chunk)  # arrival order within a watermark step
        stream = stream.add_elements(chunk).advance_watermark_to(
            timed[min(start + 6, len(timed) - 1)][1].timestamp() - 1)
    stream = stream.advance_watermark_to(timed[-1][1].timestamp() + 60)
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    with BeamTestPipeline(options=options) as pipeline:
        out = pipeline | stream.advance_watermark_to_infinity() | AssignStoriesStream()
        assert_that(_rows(out), equal_to(expected))
    assert len({row[1] for row in expected}) < len(expected) - 5  # stories formed


@pytest.mark.slow
def test_backfill_of_the_seeds_writes_one_story_and_the_docs_examples_read_it(
        tmp_path, seeds_dir, monkeypatch):
    from deltalake import DeltaTable

    from newsflow.pipelines import backfill
    from tests.test_topic_export import run_block

    args = BEAM_TEST_ARGS + [f"--input={seeds_dir}/0*.txt", f"--output={tmp_path / 'out'}",
                             "--extract_timeout=0"]
    with beam.Pipeline(options=PipelineOptions(args)) as pipeline:
        backfill.build(pipeline, PipelineOptions(args))
    rows = read_delta(DeltaTable(str(tmp_path / "out" / "articles")), columns=[
        "story_id", "story_size", "story_first_seen_at", "published_at"]).to_pylist()
    assert len(rows) == 5 and len({row["story_id"] for row in rows}) == 1
    assert {row["story_size"] for row in rows} == {5}
    assert rows[0]["story_first_seen_at"] == min(r["published_at"] for r in rows
                                                 if r["published_at"])
    # docs/stories.md: one row per story per day, in pandas and in DuckDB
    monkeypatch.chdir(tmp_path)
    expected = [("2023-09-15", 3), ("2023-11-12", 1), (None, 1)]
    for marker, path in (("stories-pandas", "docs/stories.md"),
                         ("stories-duckdb", "docs/stories.md"), ("readme-stories", "README.md")):
        per_day = run_block(marker, REPO / path)["per_day"]
        got = sorted(((str(day)[:10] if str(day) not in ("None", "NaT", "nan") else None, count)
                      for day, count in zip(per_day["day"], per_day["articles"], strict=True)),
                     key=lambda row: (row[0] is None, row[0] or ""))
        assert got == expected, marker
        assert set(per_day["story_size"]) == {5} and per_day["story_id"].nunique() == 1


# --------------------------------------------------------------------------------------------
# Schema and downstream


def test_schema_has_nullable_story_columns_and_old_versions_stay_readable():
    schema = article_schema()
    assert SCHEMA_VERSION >= 6
    for name in ("story_id", "story_size", "story_first_seen_at"):
        assert schema.field(name).nullable and schema.field(name).metadata[b"doc"]
        assert name not in article_schema(SCHEMA_VERSION - 1).names




def _labelled_twice(articles, drop_duplicates: bool):
    """Rows of ``DeduplicateArticles | AssignStories`` and of ``LabelDuplicatesAndStories``,
    side by side per (source, id): a PCollection of ``{"old": reprs, "new": reprs}`` (sorted),
    with ``old_skips`` and ``new_skips`` too when copies are dropped."""
    from newsflow.transforms.dedup import DedupConfig, DeduplicateArticles
    from newsflow.transforms.labels import LabelDuplicatesAndStories

    def keyed(label, rows):  # rows and skips: by source, then id (or URL)
        return rows | label >> beam.Map(lambda row: (
            (row.source_ref, getattr(row, "article_id", row.url)), repr(row)))

    config = DedupConfig(cc_rounds=0)
    old = articles | "Old" >> DeduplicateArticles(config, drop_duplicates=drop_duplicates)
    new = articles | "New" >> LabelDuplicatesAndStories(config, None, drop_duplicates)
    old_rows, new_rows = (old.articles, new.articles) if drop_duplicates else (old, new)
    old_rows = old_rows | "OldStories" >> AssignStories()
    sides = {"old": keyed("KeyOld", old_rows), "new": keyed("KeyNew", new_rows)}
    if drop_duplicates:
        sides["old_skips"] = keyed("KeyOldSkips", old.skipped)
        sides["new_skips"] = keyed("KeyNewSkips", new.skipped)
    return (sides | beam.CoGroupByKey()
            | beam.MapTuple(lambda key, joined: {side: sorted(rows)
                                                 for side, rows in joined.items()}))


@pytest.mark.parametrize("drop_duplicates", [False, True])
def test_one_join_labels_as_dedup_then_stories(shared_dir, drop_duplicates):
    """A backfill's one-join labelling gives every row (and skip) exactly what dedup followed
    by story assignment gives: copies in their canonical's story, or dropped before it."""
    seeds = _seed_articles(shared_dir)
    articles = seeds + _case_articles()
    for i, seed in enumerate(seeds[:3]):  # wire copies on other sites, a day later
        articles.append(make_article(f"copy-{i}", "PARIS (AFP) - " + seed.text,
                                     seed.published_at + timedelta(days=1),
                                     domain=f"copies{i}.test").replace(language="en"))
        articles.append(make_article(f"exact-{i}", seed.text, None,
                                     domain=f"exact{i}.test").replace(language="en"))
    # a copy without capitals names nobody: only its canonical's id puts it in the story
    articles.append(make_article("lower", seeds[0].text.lower(),
                                 seeds[0].published_at + timedelta(days=1),
                                 domain="lower.test").replace(language="en"))
    articles.append(articles[0].replace(source_ref="second-listing"))  # one id, two rows
    random.Random(5).shuffle(articles)
    with BeamTestPipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as pipeline:
        groups = _labelled_twice(pipeline | beam.Create(articles), drop_duplicates)
        differing = groups | "Differing" >> beam.Filter(
            lambda sides: sides["old"] != sides["new"]
            or sides.get("old_skips") != sides.get("new_skips"))
        assert_that(differing, equal_to([]), label="SameRows")
        copies = groups | "Copies" >> beam.Map(
            lambda sides: sum("is_duplicate=True" in row for row in sides["new"])
            + len(sides.get("new_skips", ())))
        in_stories = groups | "InStories" >> beam.Map(
            lambda sides: sum("story_size=1," not in row for row in sides["new"]))
        assert_that(copies | "SumCopies" >> beam.CombineGlobally(sum), equal_to([7]),
                    label="SevenCopies")
        # the seeds' story (and its second listing), the cases' own, and the copies in them
        assert_that(in_stories | "SumInStories" >> beam.CombineGlobally(sum),
                    equal_to([12 if drop_duplicates else 19]), label="InStories")
