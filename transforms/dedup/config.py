"""Every dedup threshold in one place: shingles, MinHash/LSH, verification, buckets, horizon."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

NAMESPACE = "dedup"
#: Tag of the Skip output when duplicates are dropped.
SKIPPED = "skipped"
ARTICLES = "articles"


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class DedupConfig:
    """Everything batch and streaming deduplication share; defaults are the documented ones.

    With 42 bands of 3 rows a pair with shingle Jaccard 0.5 becomes a candidate with
    probability 0.996 (0.94 at 0.4), while same-event rewrites (Jaccard <= 0.02) almost never
    do; verification then decides on the exact shingle sets.
    """

    shingle_size: int = 5
    num_perm: int = 128
    bands: int = 42
    rows: int = 3
    #: A pair is a duplicate when shingle Jaccard reaches this...
    jaccard_threshold: float = 0.5
    #: ...or when this share of the shorter text's shingles is in the longer one (trimmed
    #: copies, appended boilerplate), provided the shorter has min_length_ratio of the longer.
    containment_threshold: float = 0.8
    min_length_ratio: float = 0.3
    #: Heavily edited copies (trimmed to a third, paragraphs dropped, reordered or inserted,
    #: lede rewritten) keep whole sentences. Sentences of at least this many words count...
    sentence_min_words: int = 6
    #: ...and the first ``sentence_keys`` of them also propose candidates (besides the bands).
    sentence_keys: int = 24
    #: Between two sites (a copy within one site needs the shingle rules), a pair is a copy when
    #: this share of the shorter text's sentences is in the longer, and they make at least
    #: ``sentence_share_of_longer`` of the longer's (a trim to the first third)...
    sentence_containment: float = 0.8
    sentence_share_of_longer: float = 0.15
    #: ...or when at least 3 sentences are shared, making these shares (rewritten lede, local
    #: paragraphs inserted, paragraphs dropped: what is added stays below what is kept).
    partial_sentence_containment: float = 0.5
    partial_share_of_longer: float = 0.2
    #: Texts with fewer normalized words are not deduplicated (boilerplate-only stubs).
    min_words: int = 20
    #: LSH buckets with more articles pair each member with their earliest ``max_candidates``
    #: only (batch; counted): a family syndicated thousands of times, or a boilerplate family,
    #: costs linear work, not quadratic. Streaming stores this many per bucket.
    max_bucket_size: int = 1000
    #: Streaming: an article is verified against at most this many earliest candidates; batch:
    #: a member of an oversized bucket is paired with this many earliest members.
    max_candidates: int = 64
    #: Streaming: None gives every bucket a keyed state of its own (keys are cheap on Dataflow);
    #: a number keeps the buckets in that many keyed states (the bucket key modulo it), for a
    #: runner that pays per key, as the local one does (:data:`LOCAL_BAND_SHARDS`).
    band_shards: int | None = None
    #: Batch: rounds of label propagation for connected components (each a shuffle, so the
    #: components spread over workers); 0 finds them in one step, by union-find over all
    #: verified pairs in one worker (:data:`LOCAL_CC_ROUNDS`).
    cc_rounds: int = 8
    #: Streaming: how long (event time) an article can be the canonical of later copies.
    horizon: timedelta = timedelta(hours=72)
    #: Seed of the MinHash permutations; changing it changes band keys, not verified results.
    seed: int = 1

    def __post_init__(self):
        if self.shingle_size < 1:
            raise ValueError("shingle_size must be >= 1")
        if self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm:
            raise ValueError("need 1 <= bands * rows <= num_perm")
        if self.bands > 255:
            raise ValueError("at most 255 bands")
        for name in ("jaccard_threshold", "containment_threshold", "min_length_ratio",
                     "sentence_containment", "sentence_share_of_longer",
                     "partial_sentence_containment", "partial_share_of_longer"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        if self.sentence_min_words < 1 or self.sentence_keys < 0:
            raise ValueError("sentence_min_words >= 1 and sentence_keys >= 0")
        if self.max_bucket_size < 2 or self.max_candidates < 1 or self.cc_rounds < 0:
            raise ValueError("max_bucket_size >= 2, max_candidates >= 1 and cc_rounds >= 0")
        if self.band_shards is not None and self.band_shards < 1:
            raise ValueError("band_shards must be None or >= 1")
        if self.horizon <= timedelta(0):
            raise ValueError("horizon must be positive")

    @property
    def horizon_micros(self) -> int:
        return int(self.horizon.total_seconds() * 1_000_000)

DEFAULT_CONFIG = DedupConfig()
#: The local runner keeps a few KB per key it has seen (~65 buckets per article): 4,096 shards
#: bound that at a few tens of MB, and a shard's buckets stay small enough to rewrite per step.
LOCAL_BAND_SHARDS = 4096
#: On the local runner every stage costs tens of milliseconds whatever its data, and all of it
#: runs on one machine anyway: the verified pairs (about 100 bytes each) are put together in
#: one step, where label propagation's 8 rounds took ten stages.
LOCAL_CC_ROUNDS = 0
