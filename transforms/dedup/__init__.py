"""Near-duplicate wire-story detection: one canonical article per story, every copy labelled.

The same AP/Reuters/AFP story reaches us through many outlets with a new headline, a dateline,
a trimmed tail or an appended "RELATED ARTICLES" block. Every row keeps its place in the
dataset and gets ``cluster_id``, ``duplicate_of``, ``is_duplicate`` and ``similarity``; copies
are only left out when the caller asks for it, and then become counted
``Skip(stage="dedup", reason="duplicate")`` records.

Method (docs/dedup.md has the numbers): text is normalized (unicode, quotes, case, datelines,
wire credits, boilerplate lines), cut into 5-word shingles hashed to 32 bits, summarized by a
MinHash signature whose LSH bands propose candidate pairs; every candidate is verified on the
real shingle sets (Jaccard, or containment for trimmed copies). Exact copies (same normalized
text) are grouped first without any shingle comparison. A duplicate is always verified against
the article it points to, so chains of pairwise matches never glue different stories together.

Modules, in the order data flows through them (all but the last two are pure and tested
without Beam):

* :mod:`.config`: :class:`DedupConfig`, every threshold in one place;
* :mod:`.text`: normalization for comparison;
* :mod:`.signatures`: shingles, similarity, MinHash/LSH band keys, per-article fingerprints;
* :mod:`.clusters`: candidate pairs, canonical choice, in-memory batch and streaming runs;
* :mod:`.batch`: :class:`DeduplicateArticles` (and :class:`FindDuplicates`, the clusters it
  joins to the rows), the Beam graph for backfills;
* :mod:`.stream`: :class:`DeduplicateStream`, the stateful Beam graph for live feeds.
"""

from newsflow.transforms.dedup._shared import emit_or_skip
from newsflow.transforms.dedup.batch import DeduplicateArticles, FindDuplicates, resolution_of
from newsflow.transforms.dedup.clusters import (
    DedupInput,
    DedupStats,
    assign_canonicals,
    bucket_pairs,
    connected_components,
    deduplicate_records,
    deduplicate_stream_records,
    label_article,
)
from newsflow.transforms.dedup.config import ARTICLES, DEFAULT_CONFIG, SKIPPED, DedupConfig
from newsflow.transforms.dedup.signatures import (
    Evidence,
    Fingerprint,
    Fingerprinter,
    band_keys,
    batch_order_key,
    containment,
    exact_key,
    is_near_duplicate,
    jaccard,
    make_permutations,
    minhash_signature,
    sentence_hashes,
    shared_sentences,
    shingles,
    stream_order_key,
    verify_copy,
)
from newsflow.transforms.dedup.stream import DeduplicateStream
from newsflow.transforms.dedup.text import normalize_for_dedup

__all__ = [
    "ARTICLES", "DEFAULT_CONFIG", "DedupConfig", "DedupInput", "DedupStats", "DeduplicateArticles",
    "FindDuplicates", "emit_or_skip", "resolution_of",
    "DeduplicateStream", "Evidence", "Fingerprint", "Fingerprinter", "SKIPPED",
    "assign_canonicals",
    "band_keys", "batch_order_key", "bucket_pairs", "connected_components", "containment",
    "deduplicate_records", "deduplicate_stream_records", "exact_key", "is_near_duplicate",
    "jaccard", "label_article", "make_permutations", "minhash_signature", "normalize_for_dedup",
    "sentence_hashes", "shared_sentences", "shingles", "stream_order_key", "verify_copy",
]
