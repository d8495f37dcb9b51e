"""Beam steps both dedup graphs share: fingerprinting, and emitting or skipping labelled rows."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsflow.schemas.records import Article, Skip
from newsflow.transforms.dedup.config import ARTICLES, NAMESPACE, SKIPPED, DedupConfig
from newsflow.transforms.dedup.signatures import Fingerprinter, batch_order_key
from newsflow.transforms.stage import StageClock
from newsflow.transforms.urls import site_of

# --------------------------------------------------------------------------------------------
# Beam: shared steps


class _FingerprinterDoFn(beam.DoFn):
    """Holds a Fingerprinter: its MinHash permutations are built once per worker, in setup()."""

    def __init__(self, config: DedupConfig):
        self._config = config
        self._fingerprinter: Fingerprinter | None = None
        self._short = Metrics.counter(NAMESPACE, "skipped_short")
        self._clock = StageClock(NAMESPACE)

    def setup(self):
        self._fingerprinter = Fingerprinter(self._config)


class _FingerprintFn(_FingerprinterDoFn):
    """Article -> Fingerprint (batch order)."""

    def process(self, article: Article):
        with self._clock.timing():
            fp = self._fingerprinter.fingerprint(
                article.article_id, batch_order_key(article.published_at, article.article_id),
                article.text, site_of(article.domain))
        if fp is None:
            self._short.inc()
        else:
            yield fp


class _EmitOrSkipFn(beam.DoFn):
    """Last step of both transforms: count clusters and duplicates, drop copies if asked."""

    def __init__(self, drop_duplicates: bool):
        self._drop = drop_duplicates
        self._clusters = Metrics.counter(NAMESPACE, "clusters")
        self._duplicates = Metrics.counter(NAMESPACE, "verified_duplicates")

    def process(self, article: Article):
        if not article.is_duplicate:
            self._clusters.inc()
            yield article
            return
        self._duplicates.inc()
        if self._drop:
            yield beam.pvalue.TaggedOutput(
                SKIPPED, Skip(stage="dedup", reason="duplicate", source_ref=article.source_ref,
                              url=article.url))
        else:
            yield article


def _record_cluster_sizes(duplicates):
    """Distribution ``largest_cluster``: one update per multi-article cluster (max = largest).

    ``duplicates`` are (duplicate id, (cluster id, similarity)); a cluster is its duplicates
    plus the canonical.
    """
    sizes = Metrics.distribution(NAMESPACE, "largest_cluster")

    def update(kv):
        sizes.update(kv[1] + 1)

    return (duplicates
            | "KeyByCluster" >> beam.Map(lambda kv: (kv[1][0], 1))
            | "CountPerCluster" >> beam.CombinePerKey(sum)
            | "RecordClusterSize" >> beam.Map(update))


def _outputs(labelled, drop_duplicates: bool):
    split = labelled | "EmitOrSkip" >> beam.ParDo(_EmitOrSkipFn(drop_duplicates)).with_outputs(
        SKIPPED, main=ARTICLES)
    return split if drop_duplicates else split[ARTICLES]
