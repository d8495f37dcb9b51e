"""Batch dedup (backfills) as a Beam graph: exact copies, LSH candidate pairs, verification,
connected components, and every member verified against its cluster's canonical."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.metrics import Metrics

from newsflow.transforms.dedup._shared import (
    _FingerprintFn,
    _record_cluster_sizes,
    emit_or_skip,
)
from newsflow.transforms.dedup.clusters import (
    assign_canonicals,
    bucket_pairs,
    canonicals_by_component,
    label_article,
)
from newsflow.transforms.dedup.config import DEFAULT_CONFIG, NAMESPACE, DedupConfig
from newsflow.transforms.dedup.signatures import Evidence, verify_copy

# --------------------------------------------------------------------------------------------
# Beam: batch


class _ExactCopiesFn(beam.DoFn):
    """One exact-text group -> its representative (main) and (representative id, copy id)."""

    COPIES = "copies"

    def __init__(self):
        self._exact = Metrics.counter(NAMESPACE, "exact_duplicates")

    def process(self, element):
        _, members = element
        members = sorted(set(members))  # (order_key, band_keys)
        representative = members[0]
        yield representative
        seen = {representative[0][-1]}
        for order_key, _ in members[1:]:
            if order_key[-1] not in seen:
                seen.add(order_key[-1])
                self._exact.inc()
                yield beam.pvalue.TaggedOutput(self.COPIES,
                                               (representative[0][-1], order_key[-1]))


class _BucketPairsFn(beam.DoFn):
    """One LSH bucket -> its candidate pairs (:func:`bucket_pairs`; oversized ones counted)."""

    def __init__(self, config: DedupConfig):
        self._config = config
        self._oversized = Metrics.counter(NAMESPACE, "oversized_bucket")

    def process(self, element):
        _, members = element
        members = list(members)
        if len(members) < 2:
            return
        pairs, oversized = bucket_pairs(members, self._config.max_bucket_size,
                                        self._config.max_candidates)
        if oversized:
            self._oversized.inc()
        yield from pairs


def _first_evidence(joined) -> Evidence | None:
    """One article's evidence (rows sharing an id are one article: the smallest is taken)."""
    return Evidence(*min(joined["evidence"])) if joined["evidence"] else None


def _attach_first_evidence(element):
    _, joined = element
    first = _first_evidence(joined)
    if first is not None:
        for pair in joined["pairs"]:
            yield pair[1][-1], (pair, first)


class _VerifyPairsFn(beam.DoFn):
    """(second id, pairs with the first's evidence + the second's evidence) -> verified edges."""

    def __init__(self, config: DedupConfig):
        self._config = config
        self._candidates = Metrics.counter(NAMESPACE, "candidates")
        self._verified = Metrics.counter(NAMESPACE, "verified_pairs")

    def process(self, element):
        _, joined = element
        second = _first_evidence(joined)
        if second is None:
            return
        for (a, b), first in joined["pairs"]:
            self._candidates.inc()
            ok, similarity = verify_copy(first, second, self._config)
            if ok:
                self._verified.inc()
                yield a, b, similarity


def _both_directions(edge):
    a, b, similarity = edge
    yield a[-1], (a, b, similarity)
    yield b[-1], (b, a, similarity)


def _initial_label(element):
    """(id, [(own, neighbour, sim)]) -> (id, (own key, label, ((neighbour, sim), ...)))."""
    _, incident = element
    incident = sorted(set(incident))
    own = incident[0][0]
    neighbours = tuple((other, similarity) for _, other, similarity in incident)
    label = min([own] + [other for other, _ in neighbours])
    return own[-1], (own, label, neighbours)


def _send_labels(element):
    node_id, (own, label, neighbours) = element
    yield node_id, ("node", own, label, neighbours)
    for other, _ in neighbours:
        yield other[-1], ("label", label)


class _MinLabelFn(beam.DoFn):
    """One label-propagation round: a node takes the smallest label among its neighbours."""

    def __init__(self, last_round: bool):
        self._last = last_round
        self._unconverged = Metrics.counter(NAMESPACE, "cc_unconverged")

    def process(self, element):
        node_id, messages = element
        node, incoming = None, []
        for message in messages:
            if message[0] == "node":
                node = message
            else:
                incoming.append(message[1])
        if node is None:
            return
        _, own, label, neighbours = node
        new_label = min([label] + incoming)
        if self._last and new_label != label:
            self._unconverged.inc()
        yield node_id, (own, new_label, neighbours)


class _ConnectedComponents(beam.PTransform):
    """Verified edges -> (component label, (node, neighbours)) by bounded label propagation.

    The label is the smallest order key reachable, i.e. the earliest article of the component.
    Each round is one GroupByKey, so it runs across workers; duplicate graphs are shallow (most
    copies match the original directly). If ``rounds`` is not enough, ``cc_unconverged`` counts
    the nodes still moving: their component is split, never merged wrongly, and the canonical
    choice stays verified.
    """

    def __init__(self, rounds: int):
        super().__init__()
        self._rounds = rounds

    def expand(self, edges):
        state = (edges
                 | "BothDirections" >> beam.FlatMap(_both_directions)
                 | "GroupNeighbours" >> beam.GroupByKey()
                 | "InitialLabel" >> beam.Map(_initial_label))
        for round_index in range(self._rounds):
            state = (state
                     | f"SendLabels{round_index}" >> beam.FlatMap(_send_labels)
                     | f"GatherLabels{round_index}" >> beam.GroupByKey()
                     | f"MinLabel{round_index}" >> beam.ParDo(
                         _MinLabelFn(last_round=round_index == self._rounds - 1)))
        return state | "KeyByComponent" >> beam.Map(
            lambda kv: (kv[1][1], (kv[1][0], kv[1][2])))


class _ChooseCanonicalsFn(beam.DoFn):
    """One component -> (duplicate id, (canonical id, similarity)) by :func:`assign_canonicals`."""

    def process(self, element):
        _, members = element
        members = list(members)
        nodes = {own for own, _ in members}
        edges = [(own, other, similarity) for own, neighbours in members
                 for other, similarity in neighbours if other in nodes and own < other]
        yield from assign_canonicals(nodes, edges).items()


def _choose_canonicals_in_memory(element):
    """All verified edges -> (duplicate id, (canonical id, similarity)), by the in-memory
    :func:`canonicals_by_component`."""
    _, edges = element
    yield from sorted(canonicals_by_component(sorted(set(edges))).items())


def _resolve_exact_copies(element):
    """Copies of a representative follow it: same cluster, same similarity (same text)."""
    representative, joined = element
    if joined["resolution"]:
        cluster_id, similarity = min(joined["resolution"])
    else:
        cluster_id, similarity = representative, 1.0
    for copy_id in joined["copies"]:
        yield copy_id, (cluster_id, similarity)


def resolution_of(article_id: str, resolutions) -> tuple[str, float]:
    """An article's ``(cluster id, similarity)`` from the resolutions joined to it (rows
    sharing an id are one article: the smallest is taken); none: its own canonical."""
    return min(resolutions) if resolutions else (article_id, 1.0)


def _label_joined(element):
    article_id, joined = element
    cluster_id, similarity = resolution_of(article_id, joined["resolution"])
    for article in joined["article"]:
        yield label_article(article, cluster_id, similarity)


class _CandidatePairs(beam.PTransform):
    """Representatives -> distinct (earlier, later) order-key pairs sharing an LSH bucket."""

    def __init__(self, config: DedupConfig):
        super().__init__()
        self._config = config

    def expand(self, representatives):
        return (representatives
                | "FanOutToBands" >> beam.FlatMap(lambda rep: ((key, rep[0]) for key in rep[1]))
                | "GroupByBand" >> beam.GroupByKey()
                | "PairWithinBand" >> beam.ParDo(_BucketPairsFn(self._config))
                | "DistinctPairs" >> beam.Distinct())


class _VerifyPairs(beam.PTransform):
    """{"pairs", "evidence"} -> verified edges (a, b, similarity); the evidence of both sides
    (shingles, sentences, site) is joined by id, so no step holds more than one article's
    evidence per pair."""

    def __init__(self, config: DedupConfig):
        super().__init__()
        self._config = config

    def expand(self, inputs):
        evidence_by_id = inputs["evidence"]
        with_first = ({"pairs": inputs["pairs"] | "KeyPairByFirst" >> beam.Map(
                           lambda pair: (pair[0][-1], pair)),
                       "evidence": evidence_by_id}
                      | "JoinFirstShingles" >> beam.CoGroupByKey()
                      | "AttachFirstShingles" >> beam.FlatMap(_attach_first_evidence))
        return ({"pairs": with_first, "evidence": evidence_by_id}
                | "JoinSecondShingles" >> beam.CoGroupByKey()
                | "Verify" >> beam.ParDo(_VerifyPairsFn(self._config)))


class _ChooseCanonicals(beam.PTransform):
    """Verified edges -> (duplicate id, (canonical id, similarity)), per connected component;
    with ``cc_rounds`` 0 all in one step (``DedupConfig.cc_rounds``)."""

    def __init__(self, cc_rounds: int):
        super().__init__()
        self._cc_rounds = cc_rounds

    def expand(self, edges):
        if self._cc_rounds == 0:
            return (edges
                    | "KeyAllEdges" >> beam.Map(lambda edge: (None, edge))
                    | "GroupAllEdges" >> beam.GroupByKey()
                    | "GreedyInMemory" >> beam.FlatMap(_choose_canonicals_in_memory))
        return (edges
                | "ConnectedComponents" >> _ConnectedComponents(self._cc_rounds)
                | "GroupComponents" >> beam.GroupByKey()
                | "Greedy" >> beam.ParDo(_ChooseCanonicalsFn()))


class FindDuplicates(beam.PTransform):
    """Batch: articles -> ``(duplicate id, (canonical id, similarity))``, one per copy: the
    labels :class:`DeduplicateArticles` joins to the rows (an article without one is its own
    canonical). The canonical of a cluster is the earliest ``published_at`` (undated last,
    ties by ``article_id``), and every member is verified against it. Every fan-out here
    feeds a GroupByKey, which also spreads the work.
    """

    def __init__(self, config: DedupConfig | None = None):
        super().__init__()
        self._config = config or DEFAULT_CONFIG

    def expand(self, articles):
        config = self._config
        fingerprints = articles | "Fingerprint" >> beam.ParDo(_FingerprintFn(config))
        exact = (fingerprints
                 | "KeyByExactText" >> beam.Map(lambda fp: (fp.exact_key,
                                                            (fp.order_key, fp.band_keys)))
                 | "GroupExactCopies" >> beam.GroupByKey()
                 | "SplitExactCopies" >> beam.ParDo(_ExactCopiesFn()).with_outputs(
                     _ExactCopiesFn.COPIES, main="representatives"))
        pairs = exact.representatives | "CandidatePairs" >> _CandidatePairs(config)
        evidence_by_id = fingerprints | "KeyShinglesById" >> beam.Map(
            lambda fp: (fp.article_id, tuple(fp.evidence)))
        duplicates = ({"pairs": pairs, "evidence": evidence_by_id}
                      | "VerifyPairs" >> _VerifyPairs(config)
                      | "ChooseCanonicals" >> _ChooseCanonicals(config.cc_rounds))
        copies = ({"resolution": duplicates, "copies": exact[_ExactCopiesFn.COPIES]}
                  | "JoinExactCopies" >> beam.CoGroupByKey()
                  | "ResolveExactCopies" >> beam.FlatMap(_resolve_exact_copies))
        resolutions = (duplicates, copies) | "AllDuplicates" >> beam.Flatten()
        _record_cluster_sizes(resolutions)
        return resolutions


class DeduplicateArticles(beam.PTransform):
    """Batch (backfill) deduplication: every article gets its cluster, copies are labelled.

    ``articles | "Deduplicate" >> DeduplicateArticles(config)`` returns the articles with
    ``cluster_id``/``duplicate_of``/``is_duplicate``/``similarity`` set (the clusters of
    :class:`FindDuplicates`). With ``drop_duplicates=True`` the result is a
    ``DoOutputsTuple``: ``result.articles`` holds canonicals only, ``result.skipped`` one
    ``Skip(stage="dedup", reason="duplicate")`` per copy. Same input, same clusters.
    """

    def __init__(self, config: DedupConfig | None = None, drop_duplicates: bool = False):
        super().__init__()
        self._config = config or DEFAULT_CONFIG
        self._drop = drop_duplicates

    def expand(self, articles):
        resolutions = articles | "FindDuplicates" >> FindDuplicates(self._config)
        labelled = ({"article": articles | "KeyArticlesById" >> beam.Map(
                         lambda article: (article.article_id, article)),
                     "resolution": resolutions}
                    | "JoinResolutions" >> beam.CoGroupByKey()
                    | "LabelArticles" >> beam.FlatMap(_label_joined))
        return emit_or_skip(labelled, self._drop)
