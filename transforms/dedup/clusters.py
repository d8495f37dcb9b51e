"""From verified pairs to clusters: candidate pairs per bucket, canonical choice, and the
whole algorithm in memory (:func:`deduplicate_records`, :func:`deduplicate_stream_records`),
which the Beam graphs must agree with."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from newsflow.schemas.records import Article
from newsflow.transforms.dedup.config import DEFAULT_CONFIG, DedupConfig
from newsflow.transforms.dedup.signatures import (
    Evidence,
    Fingerprint,
    Fingerprinter,
    OrderKey,
    stream_order_key,
    verify_copy,
)

# --------------------------------------------------------------------------------------------
# Candidate pairs and canonical choice


class DedupInput(NamedTuple):
    """One record of the in-memory runs: plain 3-tuples (id, order, text) work too."""

    article_id: str
    order: OrderKey | int  # batch: an order key; streaming: event-time micros
    text: str
    site: str | None = None  # registrable domain: copies within one site need stronger proof


def bucket_pairs(members: Iterable[OrderKey], max_bucket_size: int, max_partners: int
                 ) -> tuple[list[tuple[OrderKey, OrderKey]], bool]:
    """The (earlier, later) pairs of one LSH bucket, and whether it was oversized.

    A bucket of up to ``max_bucket_size`` articles gives all its pairs. A larger one (a wire
    story syndicated thousands of times, or a boilerplate family) pairs every member with the
    bucket's earliest ``max_partners`` only: linear work instead of quadratic, and each copy
    can still join the earliest copy, as in streaming, which verifies an article against its
    buckets' earliest ``max_candidates``.
    """
    unique = sorted(set(members))
    oversized = len(unique) > max_bucket_size
    partners = unique[:max_partners] if oversized else unique
    return [(a, b) for i, a in enumerate(partners) for b in unique[i + 1:]
            if a[-1] != b[-1]], oversized


def assign_canonicals(nodes: Iterable[OrderKey],
                      edges: Iterable[tuple[OrderKey, OrderKey, float]]
                      ) -> dict[str, tuple[str, float]]:
    """Duplicates of one connected component -> (canonical id, similarity to it).

    Greedy in order: an article joins the earliest canonical it has a *verified* edge with,
    else it is a canonical itself. Every member is therefore verified against its canonical;
    a member that only matches another member (a chain) becomes its own canonical.
    """
    neighbours: dict[OrderKey, dict[OrderKey, float]] = defaultdict(dict)
    for a, b, similarity in edges:
        neighbours[a][b] = similarity
        neighbours[b][a] = similarity
    canonicals: set[OrderKey] = set()
    duplicates: dict[str, tuple[str, float]] = {}
    for node in sorted(set(nodes)):
        earlier = [other for other in neighbours[node] if other < node and other in canonicals]
        if earlier:
            best = min(earlier)
            duplicates[node[-1]] = (best[-1], neighbours[node][best])
        else:
            canonicals.add(node)
    return duplicates


def connected_components(edges: Iterable[tuple[OrderKey, OrderKey, float]]
                         ) -> dict[OrderKey, OrderKey]:
    """node -> smallest node of its component (union-find; the in-memory twin of the Beam
    label propagation)."""
    parent: dict[OrderKey, OrderKey] = {}

    def find(node: OrderKey) -> OrderKey:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b, _ in edges:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    return {node: find(node) for node in list(parent)}


def canonicals_by_component(edges: Iterable[tuple[OrderKey, OrderKey, float]]
                            ) -> dict[str, tuple[str, float]]:
    """Verified edges -> duplicate id -> (canonical id, similarity): the connected components,
    then :func:`assign_canonicals` in each."""
    edges = list(edges)
    roots = connected_components(edges)
    components: dict[OrderKey, list[OrderKey]] = defaultdict(list)
    for node, root in roots.items():
        components[root].append(node)
    edges_by_root: dict[OrderKey, list] = defaultdict(list)
    for edge in edges:
        edges_by_root[roots[edge[0]]].append(edge)
    duplicates: dict[str, tuple[str, float]] = {}
    for root, nodes in components.items():
        duplicates.update(assign_canonicals(nodes, edges_by_root[root]))
    return duplicates


@dataclass(frozen=True)
class DedupStats:
    """What a run did, under the same names as the Beam counters."""

    articles: int = 0
    candidates: int = 0
    verified_pairs: int = 0
    exact_duplicates: int = 0
    verified_duplicates: int = 0
    clusters: int = 0
    largest_cluster: int = 0
    oversized_bucket: int = 0
    skipped_short: int = 0


def _cluster_sizes(resolutions: dict[str, tuple[str, float]]) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(lambda: 1)
    for article_id, (cluster_id, _) in resolutions.items():
        if cluster_id != article_id:
            sizes[cluster_id] += 1
    return sizes


def deduplicate_records(records: Iterable[tuple[str, OrderKey, str]],
                        config: DedupConfig | None = None
                        ) -> tuple[dict[str, tuple[str, float]], DedupStats]:
    """In-memory batch deduplication: article_id -> (cluster_id, similarity) for every record.

    The same steps as :class:`DeduplicateArticles` (exact groups, LSH buckets, verification,
    components, greedy canonicals) in one process; used by tests, the evaluation and the bench.
    ``records`` are (article_id, order key, text) with unique ids.
    """
    config = config or DEFAULT_CONFIG
    fingerprinter = Fingerprinter(config)
    resolutions: dict[str, tuple[str, float]] = {}
    exact_groups: dict[int, list[Fingerprint]] = defaultdict(list)
    articles = skipped_short = 0
    for record in records:
        article_id, order_key, text, site = DedupInput(*record)
        articles += 1
        resolutions[article_id] = (article_id, 1.0)
        fp = fingerprinter.fingerprint(article_id, order_key, text, site)
        if fp is None:
            skipped_short += 1
        else:
            exact_groups[fp.exact_key].append(fp)
    representatives: list[Fingerprint] = []
    copies: dict[str, list[str]] = {}
    for group in exact_groups.values():
        group.sort(key=lambda fp: fp.order_key)
        representatives.append(group[0])
        copies[group[0].article_id] = [fp.article_id for fp in group[1:]]
    buckets: dict[int, list[OrderKey]] = defaultdict(list)
    by_key: dict[OrderKey, Fingerprint] = {}
    for fp in representatives:
        by_key[fp.order_key] = fp
        for key in fp.band_keys:
            buckets[key].append(fp.order_key)
    pairs: set[tuple[OrderKey, OrderKey]] = set()
    oversized = 0
    for members in buckets.values():
        if len(members) < 2:
            continue
        found, capped = bucket_pairs(members, config.max_bucket_size, config.max_candidates)
        oversized += capped
        pairs.update(found)
    edges = []
    for a, b in sorted(pairs):
        ok, similarity = verify_copy(by_key[a].evidence, by_key[b].evidence, config)
        if ok:
            edges.append((a, b, similarity))
    resolutions.update(canonicals_by_component(edges))
    exact_duplicates = 0
    for representative, members in copies.items():
        exact_duplicates += len(members)
        cluster_id, similarity = resolutions[representative]
        for member in members:
            resolutions[member] = (cluster_id, similarity if cluster_id != representative else 1.0)
    sizes = _cluster_sizes(resolutions)
    duplicates = sum(1 for i, (c, _) in resolutions.items() if c != i)
    stats = DedupStats(articles=articles, candidates=len(pairs), verified_pairs=len(edges),
                       exact_duplicates=exact_duplicates, verified_duplicates=duplicates,
                       clusters=articles - duplicates,
                       largest_cluster=max(sizes.values(), default=1 if articles else 0),
                       oversized_bucket=oversized, skipped_short=skipped_short)
    return resolutions, stats


def deduplicate_stream_records(records: Iterable[tuple[str, int, str]],
                               config: DedupConfig | None = None
                               ) -> tuple[dict[str, tuple[str, float]], DedupStats]:
    """In-memory twin of :class:`DeduplicateStream` for on-time data: article_id ->
    (duplicate_of or own id, similarity).

    Articles are taken in event-time order; each is verified against the earliest
    ``max_candidates`` earlier articles (within ``horizon``) sharing a band, and points to the
    earliest verified one. ``records`` are (article_id, event-time micros, text).
    """
    config = config or DEFAULT_CONFIG
    fingerprinter = Fingerprinter(config)
    horizon = config.horizon_micros
    keyed = sorted((stream_order_key(record.order, record.article_id), record.text, record.site)
                   for record in (DedupInput(*r) for r in records))
    buckets: dict[int, list[OrderKey]] = defaultdict(list)
    stored: dict[OrderKey, Evidence] = {}
    resolutions: dict[str, tuple[str, float]] = {}
    candidates = verified = skipped_short = oversized = 0
    for key, text, site in keyed:
        resolutions[key[1]] = (key[1], 1.0)
        fp = fingerprinter.fingerprint(key[1], key, text, site)
        if fp is None:
            skipped_short += 1
            continue
        exact, near = set(), set()
        for bucket_key, is_exact in [(k, False) for k in fp.band_keys] + [(fp.exact_key, True)]:
            bucket = buckets[bucket_key]
            bucket[:] = [e for e in bucket if e[0] + horizon > key[0]]  # expired entries go
            earlier = [e for e in bucket if e[1] != key[1]]
            (exact if is_exact else near).update(earlier[: config.max_candidates])
            if len(bucket) < config.max_bucket_size:
                bisect.insort(bucket, key)
            else:
                oversized += 1
        near = sorted(near - exact)[: config.max_candidates]
        candidates += len(near) + len(exact)
        matches = [(e, 1.0) for e in exact]
        for other in near:
            ok, similarity = verify_copy(fp.evidence, stored[other], config)
            if ok:
                verified += 1
                matches.append((other, similarity))
        stored[key] = fp.evidence
        if matches:
            best, similarity = min(matches)
            resolutions[key[1]] = (best[1], similarity)
    sizes = _cluster_sizes(resolutions)
    duplicates = sum(1 for i, (c, _) in resolutions.items() if c != i)
    stats = DedupStats(articles=len(resolutions), candidates=candidates, verified_pairs=verified,
                       verified_duplicates=duplicates, clusters=len(resolutions) - duplicates,
                       largest_cluster=max(sizes.values(), default=0),
                       oversized_bucket=oversized, skipped_short=skipped_short)
    return resolutions, stats


def label_article(article: Article, cluster_id: str, similarity: float) -> Article:
    """Set the four dedup columns; a canonical points to itself with similarity 1.0."""
    duplicate = cluster_id != article.article_id
    return article.replace(cluster_id=cluster_id, duplicate_of=cluster_id if duplicate else None,
                           is_duplicate=duplicate, similarity=similarity if duplicate else 1.0)
