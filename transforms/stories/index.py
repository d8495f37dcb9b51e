"""Story assignment: the open stories of one language, and the rule an article joins one by.

One :class:`StoryIndex` takes articles in time order and gives each its story. Batch and
streaming both run it (batch over a backfill sorted by publication time, streaming over
each watermark step sorted by event time), so the two agree by construction.

- Candidates: the open stories sharing key terms with the article (an inverted index over the
  stories' terms; a term in more than ``max_term_share`` of the open stories proposes none).
- Verification: the share of the article's key-term weight that the story's key terms hold,
  each term weighted by its rarity among the open stories (``log(1 + stories / stories with
  it)``), name pairs half again. It must reach a threshold that rises with the time since the
  story's first article, with ``min_shared`` terms, ``min_shared_names`` names and
  ``min_shared_rare`` rare names; or many rare names (``strong_names``) at any time. The
  story's span must stay within ``horizon``.
- Site boilerplate: terms on most of a site's earlier articles are dropped from its next.
- A copy (``cluster_id`` of dedup) joins its canonical's story when that is open.
- Otherwise the article opens a story; its ``article_id`` is the story's id, for good.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from newsflow.transforms.stories.config import DEFAULT_STORY_CONFIG, StoryConfig
from newsflow.transforms.stories.terms import StoryTerms

_PAIR_WEIGHT = 1.5


@dataclass(frozen=True)
class StoryInput:
    """What assignment needs of one article; ``micros`` is None for an undated article."""

    article_id: str
    micros: int | None
    terms: StoryTerms
    cluster_id: str | None = None  # the canonical's id when dedup marked it a copy
    site: str = ""  # registrable domain: terms on most of a site's pages are its boilerplate

    @property
    def order(self) -> tuple:
        """Time order, undated last, ties by id."""
        return (self.micros is None, self.micros or 0, self.article_id)


@dataclass(frozen=True)
class StoryLabel:
    story_id: str
    story_size: int
    first_seen_micros: int | None


@dataclass
class _Story:
    story_id: str
    first_micros: int | None
    earliest: int | None
    latest: int | None
    joined_at: int  # sequence number of the last join (least recently joined closes first)
    size: int = 0
    terms: Counter = field(default_factory=Counter)  # term -> articles with it
    names: set = field(default_factory=set)
    members: list = field(default_factory=list)


@dataclass(frozen=True)
class StoryStats:
    """What a run did, under the same names as the Beam counters."""

    articles: int = 0
    stories: int = 0
    joined: int = 0
    joined_as_copy: int = 0
    closed_over_capacity: int = 0
    site_terms_dropped: int = 0


class StoryIndex:
    """The open stories of one language (picklable: streaming keeps it as state)."""

    def __init__(self, config: StoryConfig | None = None, keep_closed: bool = False):
        self.config = config or DEFAULT_STORY_CONFIG
        self._keep_closed = keep_closed
        self._closed: list[_Story] = []
        self._stories: dict[str, _Story] = {}
        self._postings: dict[str, set[str]] = defaultdict(set)
        self._story_of: dict[str, str] = {}
        self._site_terms: dict[str, Counter] = defaultdict(Counter)
        self._site_articles: Counter = Counter()
        self._sequence = 0
        self.stats = Counter()

    def __len__(self) -> int:
        return len(self._stories)

    # -- assignment -------------------------------------------------------------------------

    def assign(self, item: StoryInput) -> StoryLabel:
        """The story of ``item``: the best open story it verifies against, or a new one."""
        self._sequence += 1
        self.stats["articles"] += 1
        item = self._without_site_boilerplate(item)
        story = self._canonical_story(item)
        if story is not None:
            self.stats["joined_as_copy"] += 1
        else:
            story = self._best_story(item)
            if story is not None:
                self.stats["joined"] += 1
        if story is None:
            story = self._open(item)
        self._join(story, item)
        return StoryLabel(story.story_id, story.size, story.first_micros)

    def _without_site_boilerplate(self, item: StoryInput) -> StoryInput:
        """Drop the terms most of the site's earlier articles carry (its name, its footer),
        then count this article's terms for its site."""
        if not item.site:
            return item
        seen = self._site_articles[item.site]
        counts = self._site_terms[item.site]
        share = self.config.site_term_share
        boilerplate = {term for term, _, _ in item.terms.terms
                       if seen >= 2 and counts[term] >= max(2, share * seen)}
        self._site_articles[item.site] += 1
        counts.update(term for term, _, _ in item.terms.terms)
        if len(counts) > 8 * self.config.terms_per_article:
            self._site_terms[item.site] = Counter(dict(counts.most_common(
                4 * self.config.terms_per_article)))
        if not boilerplate:
            return item
        self.stats["site_terms_dropped"] += len(boilerplate)
        kept = tuple(t for t in item.terms.terms if t[0] not in boilerplate)
        return StoryInput(item.article_id, item.micros, StoryTerms(kept), item.cluster_id,
                          item.site)

    def _canonical_story(self, item: StoryInput) -> _Story | None:
        if not item.cluster_id or item.cluster_id == item.article_id:
            return None
        story = self._stories.get(self._story_of.get(item.cluster_id, ""))
        return story if story is not None and self._within_span(story, item.micros) else None

    def _within_span(self, story: _Story, micros: int | None) -> bool:
        if micros is None or story.earliest is None:
            return True
        return (max(story.latest, micros) - min(story.earliest, micros)
                <= self.config.horizon_micros)

    def _weights(self, terms: StoryTerms) -> dict[str, float]:
        open_stories = max(1, len(self._stories))
        return {term: math.log(1 + open_stories / max(1, len(self._postings.get(term, ()))))
                * (_PAIR_WEIGHT if " " in term else 1.0) for term, _, _ in terms.terms}

    def _candidates(self, item: StoryInput) -> Counter:
        config = self.config
        common = max(50, config.max_term_share * len(self._stories))
        shared: Counter = Counter()
        for term, _, _ in item.terms.terms:
            postings = self._postings.get(term)
            if postings and len(postings) <= common:
                shared.update(postings)
        return shared

    def score(self, item: StoryInput, story: _Story) -> tuple[float, int, int, int]:
        """(share of the item's key-term weight in the story's key terms, shared terms,
        shared names, shared rare names: in at most ``rare_share`` of the open stories)."""
        weights = self._weights(item.terms)
        top = self._top_terms(story)
        shared = [term for term in weights if term in top]
        names = [term for term in shared if term in story.names and term in item.terms.names]
        rare = max(2.0, self.config.rare_share * len(self._stories))
        rare_names = sum(1 for term in names if len(self._postings.get(term, ())) <= rare)
        total = sum(weights.values())
        return ((sum(weights[t] for t in shared) / total if total else 0.0), len(shared),
                len(names), rare_names)

    def threshold(self, micros: int | None, first_micros: int | None) -> float:
        """The share an article needs: ``threshold`` within a day of the story's first
        article, rising by ``threshold_per_day``; undated, ``max_threshold``."""
        config = self.config
        if micros is None or first_micros is None:
            return config.max_threshold
        days = max(0.0, abs(micros - first_micros) / 86_400e6 - 1.0)
        return min(config.max_threshold, config.threshold + config.threshold_per_day * days)

    def _top_terms(self, story: _Story) -> set[str]:
        return {term for term, _ in heapq.nsmallest(
            self.config.terms_per_story, story.terms.items(), key=lambda kv: (-kv[1], kv[0]))}

    def _best_story(self, item: StoryInput) -> _Story | None:
        config = self.config
        best, best_key = None, None
        for story_id, count in self._candidates(item).items():
            if count < config.min_shared:
                continue
            story = self._stories[story_id]
            if not self._within_span(story, item.micros):
                continue
            score, shared, names, rare = self.score(item, story)
            strong = rare >= config.strong_names and score >= config.strong_threshold
            if not strong and (shared < config.min_shared or names < config.min_shared_names
                               or rare < config.min_shared_rare
                               or score < self.threshold(item.micros, story.first_micros)):
                continue
            key = (-score, story.first_micros is None, story.first_micros or 0, story_id)
            if best_key is None or key < best_key:
                best, best_key = story, key
        return best

    def _open(self, item: StoryInput) -> _Story:
        story = _Story(item.article_id, item.micros, item.micros, item.micros, self._sequence)
        self._stories[story.story_id] = story
        self.stats["stories"] += 1
        while len(self._stories) > self.config.max_open_stories:
            oldest = min(self._stories.values(), key=lambda s: (s.joined_at, s.story_id))
            self._close(oldest)
            self.stats["closed_over_capacity"] += 1
        return story

    def _join(self, story: _Story, item: StoryInput) -> None:
        story.size += 1
        story.joined_at = self._sequence
        if item.micros is not None:
            story.earliest = item.micros if story.earliest is None else min(story.earliest,
                                                                             item.micros)
            story.latest = item.micros if story.latest is None else max(story.latest,
                                                                        item.micros)
        for term, _, is_name in item.terms.terms:
            if story.terms[term] == 0:
                self._postings[term].add(story.story_id)
            story.terms[term] += 1
            if is_name:
                story.names.add(term)
        story.members.append(item.article_id)
        self._story_of[item.article_id] = story.story_id
        self._trim_terms(story)

    def _trim_terms(self, story: _Story) -> None:
        """A story keeps at most 4 x ``terms_per_story`` terms (the most shared): bounded."""
        limit = 4 * self.config.terms_per_story
        if len(story.terms) <= limit:
            return
        keep = dict(heapq.nsmallest(limit, story.terms.items(), key=lambda kv: (-kv[1], kv[0])))
        for term in list(story.terms):
            if term not in keep:
                del story.terms[term]
                self._drop_posting(term, story.story_id)

    # -- expiry -----------------------------------------------------------------------------

    def expire(self, now_micros: int) -> int:
        """Close the stories that can take no more articles at ``now``: older than the horizon,
        or a single article older than ``recent``. Returns how many closed."""
        config = self.config
        closed = [s for s in self._stories.values() if s.first_micros is not None and (
            now_micros - s.first_micros > config.horizon_micros
            or (s.size == 1 and now_micros - s.first_micros > config.recent_micros))]
        for story in closed:
            self._close(story)
        return len(closed)

    def next_expiry(self) -> int | None:
        """When :meth:`expire` would next close a story (for a streaming timer)."""
        config = self.config
        times = [s.first_micros + (config.recent_micros if s.size == 1
                                   else config.horizon_micros) + 1
                 for s in self._stories.values() if s.first_micros is not None]
        return min(times) if times else None

    def _close(self, story: _Story) -> None:
        for term in story.terms:
            self._drop_posting(term, story.story_id)
        for member in story.members:
            if self._story_of.get(member) == story.story_id:
                del self._story_of[member]
        del self._stories[story.story_id]
        if self._keep_closed:
            self._closed.append(story)

    def reopen_closed(self) -> None:
        """Batch: open every closed story again (for undated articles, matched last)."""
        closed, self._closed = self._closed, []
        for story in closed:
            self._stories[story.story_id] = story
            for term in story.terms:
                self._postings[term].add(story.story_id)
            for member in story.members:
                self._story_of[member] = story.story_id

    def _drop_posting(self, term: str, story_id: str) -> None:
        postings = self._postings.get(term)
        if postings is not None:
            postings.discard(story_id)
            if not postings:
                del self._postings[term]


def assign_stories(items: Iterable[StoryInput], config: StoryConfig | None = None
                   ) -> tuple[dict[str, StoryLabel], StoryStats]:
    """Batch assignment of one language: article_id -> label, sizes as of the whole run.

    Articles are taken in time order; undated ones come last and are matched against every
    story of the run, under ``max_threshold`` or the strong-evidence rule. Rows that share an
    ``article_id`` are one article.
    """
    index = StoryIndex(config, keep_closed=True)
    labels: dict[str, StoryLabel] = {}
    reopened = False
    for item in sorted({item.article_id: item for item in items}.values(),
                       key=lambda item: item.order):
        if item.micros is not None:
            index.expire(item.micros)
        elif not reopened:
            index.reopen_closed()
            reopened = True
        labels[item.article_id] = index.assign(item)
    sizes = Counter(label.story_id for label in labels.values())
    stats = index.stats
    return ({article_id: StoryLabel(label.story_id, sizes[label.story_id],
                                    label.first_seen_micros)
             for article_id, label in labels.items()},
            StoryStats(articles=stats["articles"], stories=len(sizes), joined=stats["joined"],
                       joined_as_copy=stats["joined_as_copy"],
                       closed_over_capacity=stats["closed_over_capacity"],
                       site_terms_dropped=stats["site_terms_dropped"]))
