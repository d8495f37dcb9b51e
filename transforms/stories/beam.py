"""Story assignment as Beam graphs: batch (backfills) and stateful streaming.

Both compute key terms in parallel, then run one :class:`StoryIndex` per language in time
order: batch over the run's articles grouped by language (only the small inputs travel,
never the texts), streaming in a stateful stage keyed by language that takes each watermark
step's articles in event-time order and keeps the open stories as state (bounded by
``max_open_stories``, expiring with the horizon). Articles in, labelled articles out.
"""

from __future__ import annotations

import dataclasses
import logging
import typing
from datetime import UTC, datetime, timedelta

import apache_beam as beam
from apache_beam.coders import PickleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.transforms.window import GlobalWindows, TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from newsflow.schemas.records import Article
from newsflow.transforms.dedup import resolution_of
from newsflow.transforms.stories.config import DEFAULT_STORY_CONFIG, NAMESPACE, StoryConfig
from newsflow.transforms.stories.index import StoryIndex, StoryInput, StoryLabel, assign_stories
from newsflow.transforms.stories.terms import StoryTerms, key_terms
from newsflow.transforms.urls import site_of

LOG = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LANGUAGE_KV = typing.Tuple[str, typing.Any]  # noqa: UP006 - Beam type hints


def to_micros(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def story_input(article: Article, micros: int | None, config: StoryConfig) -> StoryInput:
    """What the index needs of an article; a copy carries its canonical's id."""
    terms = key_terms(article.text, article.title, article.dateline, config.terms_per_article)
    return _input(article, micros, terms)


def _input(article: Article, micros: int | None, terms: StoryTerms) -> StoryInput:
    return StoryInput(article.article_id, micros, terms,
                      article.cluster_id if article.is_duplicate else None,
                      site_of(article.domain) or "")


def label_story(article: Article, label: StoryLabel) -> Article:
    first = label.first_seen_micros
    return article.replace(
        story_id=label.story_id, story_size=label.story_size,
        story_first_seen_at=None if first is None else _EPOCH + timedelta(microseconds=first))


class _StoryInputFnBase(beam.DoFn):
    """Computes an article's story input inside stories' failure boundary.

    Terms that cannot be computed in a way nobody foresaw leave the article without terms
    (``stories/terms_failed``, logged with its source): it opens a story of its own, still
    leaves as exactly one row, and the bundle goes on.
    """

    def __init__(self, config: StoryConfig):
        self._config = config
        self._failed = Metrics.counter(NAMESPACE, "terms_failed")

    def _story_input(self, article: Article, micros: int | None) -> StoryInput:
        try:
            return story_input(article, micros, self._config)
        except Exception as exc:  # noqa: BLE001 - the boundary: the row goes on, unmatched
            LOG.warning("stories could not read terms of %s: %r", article.source_ref, exc)
            self._failed.inc()
            return _input(article, micros, StoryTerms(()))


class _Counters:
    """The index's statistics as Beam counters (namespace ``stories``)."""

    NAMES = ("articles", "stories", "joined", "joined_as_copy", "closed_over_capacity",
             "site_terms_dropped")

    def __init__(self):
        self._counters = {name: Metrics.counter(NAMESPACE, name) for name in self.NAMES}

    def add(self, before, after) -> None:
        for name, counter in self._counters.items():
            if after[name] != before.get(name, 0):
                counter.inc(after[name] - before.get(name, 0))


# --------------------------------------------------------------------------------------------
# Batch


class _StoryInputFn(_StoryInputFnBase):
    def process(self, article: Article):
        yield article.language, self._story_input(article, to_micros(article.published_at))


class _AssignBatchFn(beam.DoFn):
    """One language's inputs -> (article_id, label), in publication order."""

    def __init__(self, config: StoryConfig):
        self._config = config
        self._counters = _Counters()

    def process(self, element):
        _, items = element
        labels, stats = assign_stories(items, self._config)
        self._counters.add({}, stats.__dict__)
        yield from labels.items()


def _label_joined(element):
    _, joined = element
    label = joined["label"][0] if joined["label"] else None
    for article in joined["article"]:
        yield label_story(article, label) if label is not None else article


class _StoryInputByIdFn(_StoryInputFnBase):
    """Article (not yet deduplicated) -> (article_id, (language, its input as a canonical))."""

    def process(self, article: Article):
        yield article.article_id, (article.language,
                                   self._story_input(article, to_micros(article.published_at)))


def _mark_copies(element, drop_duplicates: bool):
    """(id, {"input", "resolution"}) -> (language, input): a copy carries its canonical's id,
    or with ``drop_duplicates`` takes no part (it leaves the run as a skip)."""
    article_id, joined = element
    cluster_id, _ = resolution_of(article_id, joined["resolution"])
    for language, item in joined["input"]:
        if cluster_id == article_id:
            yield language, item
        elif not drop_duplicates:
            yield language, dataclasses.replace(item, cluster_id=cluster_id)


class FindStories(beam.PTransform):
    """Batch, beside dedup: ``{"articles", "resolutions"}`` -> ``(article_id, StoryLabel)``.

    ``resolutions`` are dedup's ``(duplicate id, (canonical id, similarity))``
    (:class:`~newsflow.transforms.dedup.batch.FindDuplicates`): the labels
    :class:`AssignStories` gives the deduplicated rows, found from the rows before their
    dedup columns are set, so one join can set both (``transforms.labels``).
    """

    def __init__(self, config: StoryConfig | None = None, drop_duplicates: bool = False):
        super().__init__()
        self._config = config or DEFAULT_STORY_CONFIG
        self._drop = drop_duplicates

    def expand(self, inputs):
        return ({"input": inputs["articles"]
                 | "StoryTerms" >> beam.ParDo(_StoryInputByIdFn(self._config)),
                 "resolution": inputs["resolutions"]}
                | "JoinCopies" >> beam.CoGroupByKey()
                | "MarkCopies" >> beam.FlatMap(_mark_copies, self._drop)
                | "GroupByLanguage" >> beam.GroupByKey()
                | "AssignInTimeOrder" >> beam.ParDo(_AssignBatchFn(self._config)))


class AssignStories(beam.PTransform):
    """Batch (backfill): every article gets ``story_id``, ``story_size`` (the story's articles
    in the run) and ``story_first_seen_at`` (its first article's publication time).

    ``articles | "AssignStories" >> AssignStories(config)``. Articles are taken in
    publication order per language, undated ones last; rows sharing an ``article_id`` are one
    article. Same input, same stories.
    """

    def __init__(self, config: StoryConfig | None = None):
        super().__init__()
        self._config = config or DEFAULT_STORY_CONFIG

    def expand(self, articles):
        labels = (articles
                  | "StoryTerms" >> beam.ParDo(_StoryInputFn(self._config))
                  | "GroupByLanguage" >> beam.GroupByKey()
                  | "AssignInTimeOrder" >> beam.ParDo(_AssignBatchFn(self._config)))
        return ({"article": articles | "KeyArticlesById" >> beam.Map(
                     lambda article: (article.article_id, article)),
                 "label": labels}
                | "JoinStories" >> beam.CoGroupByKey()
                | "LabelStories" >> beam.FlatMap(_label_joined))


# --------------------------------------------------------------------------------------------
# Streaming

_PENDING = BagStateSpec("pending", PickleCoder())  # (micros, order, article, input)
_INDEX = ReadModifyWriteStateSpec("index", PickleCoder())  # the language's StoryIndex
_WAKE_AT = ReadModifyWriteStateSpec("wake_at", VarIntCoder())
_WAKE = TimerSpec("wake", TimeDomain.WATERMARK)
_PENDING_PARAM, _INDEX_PARAM = beam.DoFn.StateParam(_PENDING), beam.DoFn.StateParam(_INDEX)
_WAKE_AT_PARAM, _WAKE_PARAM = beam.DoFn.StateParam(_WAKE_AT), beam.DoFn.TimerParam(_WAKE)


def _stream_order(article: Article) -> tuple:
    """Records sharing time and id (one link listed twice) in a fixed order."""
    return (article.article_id, article.source_ref, article.content_hash)


class _StreamInputFn(_StoryInputFnBase):
    def process(self, article: Article, timestamp=beam.DoFn.TimestampParam):
        micros = timestamp.micros
        yield article.language, (micros, _stream_order(article), article,
                                 self._story_input(article, micros))


class _AssignStreamFn(beam.DoFn):
    """Per language: the open stories as state; each watermark step's articles in order.

    Articles wait until the watermark passes their event time, then join or open stories in
    (event time, id) order, so on-time data gets the same stories whatever its arrival order.
    The same timer closes stories as they leave the horizon (or ``recent``, for one-article
    stories); at most ``max_open_stories`` stay open.
    """

    def __init__(self, config: StoryConfig):
        self._config = config
        self._counters = _Counters()

    def process(self, element, pending=_PENDING_PARAM, wake_at=_WAKE_AT_PARAM,
                wake=_WAKE_PARAM):
        micros = element[1][0]
        pending.add(element[1])
        current = wake_at.read()
        if current is None or micros < current:
            wake_at.write(micros)
            wake.set(Timestamp(micros=micros))

    @on_timer(_WAKE)
    def on_wake(self, fired=beam.DoFn.TimestampParam, pending=_PENDING_PARAM,
                index_state=_INDEX_PARAM, wake_at=_WAKE_AT_PARAM, wake=_WAKE_PARAM):
        now = fired.micros
        waiting = list(pending.read())
        due = sorted((item for item in waiting if item[0] <= now),
                     key=lambda item: (item[0], item[1]))
        later = [item for item in waiting if item[0] > now]
        index = index_state.read() or StoryIndex(self._config)
        before = dict(index.stats)
        for micros, _, article, item in due:
            index.expire(micros)
            yield TimestampedValue(label_story(article, index.assign(item)),
                                   Timestamp(micros=micros))
        index.expire(now)
        self._counters.add(before, index.stats)
        pending.clear()
        for item in later:
            pending.add(item)
        if len(index):
            index_state.write(index)
        else:
            index_state.clear()
        times = [item[0] for item in later] + [t for t in (index.next_expiry(),) if t]
        if times:
            wake_at.write(min(times))
            wake.set(Timestamp(micros=min(times)))
        else:
            wake_at.clear()


class AssignStoriesStream(beam.PTransform):
    """Streaming: every article gets ``story_id``, ``story_size`` (the story's articles so
    far, this one included) and ``story_first_seen_at`` (its first article's event time).

    ``articles | "AssignStories" >> AssignStoriesStream(config)``. Output is in the global
    window with the input timestamps; an article is labelled once the watermark passes its
    event time. A story's id never changes; a late article joins only stories still open.
    """

    def __init__(self, config: StoryConfig | None = None):
        super().__init__()
        self._config = config or DEFAULT_STORY_CONFIG

    def expand(self, articles):
        return (articles
                | "GlobalWindow" >> beam.WindowInto(GlobalWindows())
                | "StoryTerms" >> beam.ParDo(_StreamInputFn(self._config)
                                             ).with_output_types(_LANGUAGE_KV)
                | "AssignInEventTimeOrder" >> beam.ParDo(_AssignStreamFn(self._config)))
