"""Beam steps both dedup graphs share: fingerprinting, and emitting or skipping labelled rows."""

from __future__ import annotations

import logging

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsflow.schemas.records import Article, Skip
from newsflow.transforms.dedup.config import ARTICLES, NAMESPACE, SKIPPED, DedupConfig
from newsflow.transforms.dedup.signatures import Fingerprinter, batch_order_key
from newsflow.transforms.stage import StageClock
from newsflow.transforms.urls import site_of

LOG = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------
# Beam: shared steps


class _FingerprinterDoFn(beam.DoFn):
    """Holds a Fingerprinter: its MinHash permutations are built once per worker, in setup()."""

    def __init__(self, config: DedupConfig):
        self._config = config
        self._fingerprinter: Fingerprinter | None = None
        self._short = Metrics.counter(NAMESPACE, "skipped_short")
        self._clock = StageClock(NAMESPACE)
        self._failed = Metrics.counter(NAMESPACE, "fingerprint_failed")

    def setup(self):
        self._fingerprinter = Fingerprinter(self._config)

    def _fingerprint(self, article: Article, order_key):
        """The article's fingerprint, or None when it is not compared: too short
        (``skipped_short``), or fingerprinting failed in a way nobody foresaw
        (``fingerprint_failed``, logged with its source). This is dedup's failure boundary:
        the article still leaves as exactly one row, its own canonical, so it is neither lost
        nor doubled by a dead letter, and the bundle goes on."""
        try:
            fp = self._fingerprinter.fingerprint(article.article_id, order_key, article.text,
                                                 site_of(article.domain))
        except Exception as exc:  # noqa: BLE001 - the boundary: the row goes on uncompared
            LOG.warning("dedup could not fingerprint %s: %r", article.source_ref, exc)
            self._failed.inc()
            return None
        if fp is None:
            self._short.inc()
        return fp


class _FingerprintFn(_FingerprinterDoFn):
    """Article -> Fingerprint (batch order)."""

    def process(self, article: Article):
        with self._clock.timing():
            fp = self._fingerprint(article,
                                   batch_order_key(article.published_at, article.article_id))
        if fp is not None:
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


def emit_or_skip(labelled, drop_duplicates: bool):
    """Labelled rows out: all of them, or with ``drop_duplicates`` a ``DoOutputsTuple`` of
    canonicals (``articles``) and one counted skip per copy (``skipped``)."""
    split = labelled | "EmitOrSkip" >> beam.ParDo(_EmitOrSkipFn(drop_duplicates)).with_outputs(
        SKIPPED, main=ARTICLES)
    return split if drop_duplicates else split[ARTICLES]
