"""Stories: reports of one event by different outlets, grouped although they share little
wording. Every row gets ``story_id`` (the id of the story's first article), ``story_size``
and ``story_first_seen_at``.

Modules, in the order data flows through them (all but the last are pure and tested without
Beam):

* :mod:`.config`: :class:`StoryConfig`, the horizon, thresholds and bounds;
* :mod:`.terms`: the key terms of an article (names, name pairs, numbers);
* :mod:`.index`: :class:`StoryIndex`, the open stories and the rule an article joins one by;
* :mod:`.beam`: :class:`AssignStories` (batch; :class:`FindStories` beside dedup) and
  :class:`AssignStoriesStream` (stateful).
"""

from newsflow.transforms.stories.beam import (
    AssignStories,
    AssignStoriesStream,
    FindStories,
    label_story,
)
from newsflow.transforms.stories.config import DEFAULT_STORY_CONFIG, StoryConfig
from newsflow.transforms.stories.index import (
    StoryIndex,
    StoryInput,
    StoryLabel,
    StoryStats,
    assign_stories,
)
from newsflow.transforms.stories.terms import StoryTerms, key_terms

__all__ = [
    "AssignStories", "AssignStoriesStream", "DEFAULT_STORY_CONFIG", "FindStories", "StoryConfig",
    "StoryIndex", "label_story",
    "StoryInput", "StoryLabel", "StoryStats", "StoryTerms", "assign_stories", "key_terms",
]
