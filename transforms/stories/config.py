"""Every story parameter in one place: the signature, the horizon, the thresholds, the bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

NAMESPACE = "stories"


@dataclass(frozen=True)
class StoryConfig:
    """What batch and streaming story assignment share; defaults are the documented ones.

    A story opens with its first article and stays open for ``horizon`` (its span never
    exceeds it). An article joins the open story whose key terms hold enough of its own key
    terms' weight: ``threshold`` within a day of the story's first article, then
    ``threshold_per_day`` more per day (at most ``max_threshold``): the later, the more two
    reports must share. A rewrite or follow-up weeks later joins on strong evidence instead:
    ``strong_names`` rare names shared and ``strong_threshold``. A story of one article closes
    after ``recent``: only stories that several reports carry stay open for long.
    """

    #: Key terms kept per article: names (capitalized words and their pairs), numbers.
    terms_per_article: int = 32
    #: Key terms kept per story: those most of its articles share.
    terms_per_story: int = 48
    #: An article joins a story when this share of its key-term weight is in the story...
    threshold: float = 0.4
    threshold_per_day: float = 0.1
    max_threshold: float = 0.9
    #: ...and they share at least this many key terms, ``min_shared_names`` of them names,
    #: ``min_shared_rare`` of those rare: in at most ``rare_share`` of the open stories (a
    #: city or a country is not enough; a person, a plant, a ferry's name is).
    min_shared: int = 4
    min_shared_names: int = 3
    min_shared_rare: int = 1
    rare_share: float = 0.02
    #: Whatever the time within the horizon (or for an undated article): this many shared rare
    #: names and this share of the weight make one story.
    strong_names: int = 12
    strong_threshold: float = 0.5
    #: A term on at least this share of a site's articles (two or more) is its boilerplate.
    site_term_share: float = 0.6
    horizon: timedelta = timedelta(days=60)
    recent: timedelta = timedelta(days=3)
    #: Terms in more than this share of the open stories propose no candidates (too common).
    max_term_share: float = 0.2
    #: At most this many stories are open per language; the least recently joined closes.
    max_open_stories: int = 50_000

    def __post_init__(self):
        if self.terms_per_article < 1 or self.terms_per_story < 1:
            raise ValueError("terms_per_article and terms_per_story must be >= 1")
        for name in ("threshold", "max_threshold", "strong_threshold", "max_term_share",
                     "rare_share", "site_term_share"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        if self.min_shared < 1 or not (0 <= self.min_shared_rare <= self.min_shared_names
                                       <= self.min_shared):
            raise ValueError("need 0 <= min_shared_rare <= min_shared_names <= min_shared")
        if not timedelta(0) < self.recent <= self.horizon:
            raise ValueError("need 0 < recent <= horizon")
        if self.threshold_per_day < 0 or self.strong_names < 1:
            raise ValueError("threshold_per_day >= 0 and strong_names >= 1")
        if self.max_open_stories < 1:
            raise ValueError("max_open_stories must be >= 1")

    @property
    def horizon_micros(self) -> int:
        return self.horizon // timedelta(microseconds=1)

    @property
    def recent_micros(self) -> int:
        return self.recent // timedelta(microseconds=1)


DEFAULT_STORY_CONFIG = StoryConfig()
