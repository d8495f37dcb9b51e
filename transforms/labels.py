"""Batch labelling in one join: dedup's cluster columns and stories' columns reach each row
together, so a backfill shuffles its articles once for both instead of once for each.

``articles | LabelDuplicatesAndStories(dedup_config, story_config)`` gives the rows
``DeduplicateArticles(dedup_config) | AssignStories(story_config)`` gives (tested). Only the
small things travel to find the labels: fingerprints, verified pairs and each article's story
terms joined to its canonical's id; the texts travel once, to the join.
"""

from __future__ import annotations

import apache_beam as beam

from newsflow.transforms.dedup import (
    DedupConfig,
    FindDuplicates,
    emit_or_skip,
    label_article,
    resolution_of,
)
from newsflow.transforms.stories import FindStories, StoryConfig, label_story


def _label_both(element):
    article_id, joined = element
    cluster_id, similarity = resolution_of(article_id, joined["resolution"])
    story = joined["story"][0] if joined["story"] else None
    for article in joined["article"]:
        labelled = label_article(article, cluster_id, similarity)
        yield label_story(labelled, story) if story is not None else labelled


class LabelDuplicatesAndStories(beam.PTransform):
    """Batch (backfill): dedup's and stories' columns on every article, in one join.

    With ``drop_duplicates=True`` the result is a ``DoOutputsTuple`` as
    :class:`~newsflow.transforms.dedup.DeduplicateArticles` gives it: ``articles`` (canonicals,
    in stories of canonicals) and ``skipped`` (one skip per copy).
    """

    def __init__(self, dedup_config: DedupConfig | None = None,
                 story_config: StoryConfig | None = None, drop_duplicates: bool = False):
        super().__init__()
        self._dedup_config = dedup_config
        self._story_config = story_config
        self._drop = drop_duplicates

    def expand(self, articles):
        resolutions = articles | "FindDuplicates" >> FindDuplicates(self._dedup_config)
        stories = ({"articles": articles, "resolutions": resolutions}
                   | "FindStories" >> FindStories(self._story_config, self._drop))
        labelled = ({"article": articles | "KeyArticlesById" >> beam.Map(
                         lambda article: (article.article_id, article)),
                     "resolution": resolutions, "story": stories}
                    | "JoinLabels" >> beam.CoGroupByKey()
                    | "LabelArticles" >> beam.FlatMap(_label_both))
        return emit_or_skip(labelled, self._drop)
