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

Layout: pure functions (normalization, shingles, MinHash/LSH, verification, canonical choice)
come first and are tested without Beam; then the batch transform :class:`DeduplicateArticles`
and the streaming transform :class:`DeduplicateStream`, which only call them.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import typing
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import apache_beam as beam
import numpy as np
from apache_beam.coders import BytesCoder, PickleCoder, StrUtf8Coder, TupleCoder, VarIntCoder
from apache_beam.metrics import Metrics
from apache_beam.transforms.timeutil import TimeDomain
from apache_beam.transforms.userstate import (
    BagStateSpec,
    ReadModifyWriteStateSpec,
    TimerSpec,
    on_timer,
)
from apache_beam.transforms.window import GlobalWindows, TimestampedValue
from apache_beam.utils.timestamp import Timestamp

from newsflow.schemas.records import Article, Skip

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
    #: Texts with fewer normalized words are not deduplicated (boilerplate-only stubs).
    min_words: int = 20
    #: LSH buckets with more articles are not expanded into pairs (counted; guards against
    #: boilerplate families turning into quadratic work and giant clusters).
    max_bucket_size: int = 1000
    #: Streaming: an article is verified against at most this many earliest candidates.
    max_candidates: int = 64
    #: Batch: rounds of label propagation for connected components.
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
        for name in ("jaccard_threshold", "containment_threshold", "min_length_ratio"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in (0, 1]")
        if self.max_bucket_size < 2 or self.max_candidates < 1 or self.cc_rounds < 1:
            raise ValueError("max_bucket_size >= 2, max_candidates >= 1 and cc_rounds >= 1")
        if self.horizon <= timedelta(0):
            raise ValueError("horizon must be positive")

    @property
    def horizon_micros(self) -> int:
        return int(self.horizon.total_seconds() * 1_000_000)


# --------------------------------------------------------------------------------------------
# Normalization

_AGENCIES = (r"AP|Associated Press|Reuters|AFP|Agence France-Presse|dpa|DPA|UPI|Xinhua|Yonhap|"
             r"Kyodo|Bloomberg|PTI|IANS|ANI|ANSA|EFE|TASS|Interfax|AAP|CP|Bernama")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATELINE = re.compile(
    # WASHINGTON -  /  SEOUL, South Korea (AP) -  /  KYIV, Sept 15 (Reuters) -
    rf"^(?:[A-Z][A-Z.'\- ]{{1,40}}?(?:,\s*[A-Z][A-Za-z.'\- ]{{1,30}}?)?"
    rf"(?:,?\s*{_MONTH}\s+\d{{1,2}})?\s*(?:\((?:{_AGENCIES})\)\s*-{{0,2}}|-{{1,2}}|:)\s+"
    # Seoul, Sept 15 (Reuters) -  /  New Delhi (PTI):
    rf"|[A-Z][\w.'\-]*(?: [A-Z][\w.'\-]*){{0,3}}(?:,\s*[A-Z][\w.'\- ]{{1,30}}?)?"
    rf"(?:,?\s*{_MONTH}\s+\d{{1,2}})?\s*\((?:{_AGENCIES})\)\s*(?:-{{1,2}}|:)?\s*"
    # Seoul :  /  New Delhi -
    r"|[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2}\s+(?:-{1,2}|:)\s+)")
_INLINE_CREDIT = re.compile(rf"\((?:{_AGENCIES})\)|\s-{{1,2}}\s*(?:{_AGENCIES})\s*$")
_BYLINE = re.compile(r"^By [A-Z][\w.'\-]+(?: [A-Z][\w.'\-]+){0,3}"
                     r"(?:(?:,| and) [A-Z][\w.'\-]+(?: [A-Z][\w.'\-]+){0,3})*"
                     rf"(?:,? (?:{_AGENCIES}|[A-Z][\w ]+ (?:writer|correspondent|reporter)s?))?$")
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_DROP_LINE = re.compile(
    r"^(?:(?:reporting|writing|additional reporting|editing|compiled|translated) by\b.*"
    r"|(?:©|\(c\)|copyright\b).*|.*\ball rights reserved\.?"
    r"|this (?:story|article|report) (?:has been|was) (?:\w+ )?(?:published|generated|edited)"
    r" (?:from|by|with) .*"
    rf"|(?:the )?(?:{_AGENCIES})(?: writers?| reporters?)? contributed(?: to)?(?: this)?"
    r"(?: report| story| article)?\.?"
    rf"|-*\s*(?:{_AGENCIES})\.?"
    r"|advertisement|story continues below(?: advertisement)?|sponsored(?: content)?"
    r"|share (?:this|on)\b.*|share|tweet|(?:click|tap) here\b.*|sign up\b.*|subscribe\b.*"
    r"|follow (?:us|@)\b.*|(?:read|see) (?:more|also)\b.*|also read\b.*|continue reading\b.*"
    r"|related:.*|watch:.*|listen:.*|(?:photo|image|video|file photo)(?: credit)?:.*"
    r"|(?:getty images|file photo|afp via getty images)"
    r"|(?:(?:updated|published|posted|last updated):?\s*)?(?:" + _WEEKDAY + r",?\s+)?"
    r"(?:\w+\.? \d{1,2},? \d{4}|\d{1,2} \w+\.? \d{4}|\d{4}-\d{2}-\d{2})"
    r"(?:,? (?:at )?\d{1,2}[:.]\d{2}(?: ?[ap]\.?m\.?)?(?: [a-z]{2,4})?)?"
    r")$", re.IGNORECASE)
_TAIL_MARKER = re.compile(
    r"^(?:related articles?|related stories|related coverage|related content|related|"
    r"most popular|most read|more stories|more from [\w .'-]+|recommended(?: for you| stories)?|"
    r"you (?:may|might) also like|trending(?: now| stories)?|popular now|latest news|"
    r"read next|more on this story|top stories)\s*:?$", re.IGNORECASE)
#: Boilerplate and credit rules only look at short lines: a paragraph of body text that
#: happens to start with "Subscribe" or "By" is kept.
_MAX_DROP_WORDS = 30
_MAX_HEADLINE_WORDS = 16
_PUNCTUATION = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u00b4": "'", "\u2039": "'", "\u203a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"', "\u2010": "-", "\u2011": "-",
    "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u00ad": None,
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
})
_WORD = re.compile(r"\w+")


def _strip_dateline(line: str) -> str:
    match = _DATELINE.match(line)
    if match and len(line) - match.end() >= 20:  # a dateline opens a paragraph, it is not one
        return line[match.end():]
    return line


def _looks_like_headline(line: str) -> bool:
    return len(line.split()) <= _MAX_HEADLINE_WORDS and not line.rstrip("\"')").endswith(
        (".", "!", "?", ":", ";"))


def normalize_for_dedup(text: str) -> str:
    """Lower-case words of the story text, space separated, without what syndication changes.

    Applies NFKC, one quote and dash style, drops boilerplate and credit lines, the tail from a
    "RELATED ARTICLES"-style marker, the dateline of the first paragraph (or of the second, when
    the first is a headline) and inline agency credits; keeps ``\\w+`` words, case-folded.
    """
    text = unicodedata.normalize("NFKC", text or "").translate(_PUNCTUATION)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    for index, line in enumerate(lines):
        if index > 0 and _TAIL_MARKER.match(line):
            lines = lines[:index]
            break
    lines = [line for line in lines
             if len(line.split()) > _MAX_DROP_WORDS
             or not (_DROP_LINE.match(line) or _BYLINE.match(line))]
    if lines:
        first = _strip_dateline(lines[0])
        if first == lines[0] and len(lines) > 1 and _looks_like_headline(lines[0]):
            lines[1] = _strip_dateline(lines[1])
        else:
            lines[0] = first
    body = " ".join(lines)
    body = _INLINE_CREDIT.sub(" ", body)
    return " ".join(_WORD.findall(body.casefold()))


# --------------------------------------------------------------------------------------------
# Shingles and similarity

_U64 = np.uint64
_ROLL = _U64(0x100000001B3)  # FNV-64 prime: order-sensitive combination of word hashes
_MIX1, _MIX2 = _U64(0xBF58476D1CE4E5B9), _U64(0x94D049BB133111EB)
_GOLDEN = _U64(0x9E3779B97F4A7C15)
_EMPTY = np.zeros(0, dtype=np.uint32)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: spreads structured 64-bit values over all bits (wraps mod 2^64)."""
    x = x ^ (x >> _U64(30))
    x = x * _MIX1
    x = x ^ (x >> _U64(27))
    x = x * _MIX2
    return x ^ (x >> _U64(31))


def shingles(normalized: str, k: int = 5) -> np.ndarray:
    """Sorted unique 32-bit hashes of the k-word shingles of a normalized text.

    Word hashes are CRC-32 (stable across processes, unlike ``hash``); a text shorter than k
    words is one shingle. Hashes instead of strings keep verification and streaming state small.
    """
    words = normalized.split()
    if not words:
        return _EMPTY
    codes = {word: zlib.crc32(word.encode("utf-8")) for word in dict.fromkeys(words)}
    tokens = np.fromiter((codes[word] for word in words), dtype=_U64, count=len(words))
    k = min(k, len(words))
    count = len(words) - k + 1
    acc = np.zeros(count, dtype=_U64)
    with np.errstate(over="ignore"):
        for offset in range(k):
            acc = acc * _ROLL + tokens[offset:offset + count]
        hashed = (_mix64(acc) >> _U64(32)).astype(np.uint32)
    return np.unique(hashed)


def _overlap(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.intersect1d(a, b, assume_unique=True).size)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """|A ∩ B| / |A ∪ B| of two shingle sets (0.0 when both are empty)."""
    common = _overlap(a, b)
    union = a.size + b.size - common
    return common / union if union else 0.0


def containment(a: np.ndarray, b: np.ndarray) -> float:
    """Share of a's shingles found in b: 1.0 when a is a trimmed copy of b."""
    return _overlap(a, b) / a.size if a.size else 0.0


def is_near_duplicate(a: np.ndarray, b: np.ndarray,
                      config: DedupConfig | None = None) -> tuple[bool, float]:
    """Whether two shingle sets are copies of one text, and the similarity that decided it.

    Duplicate when Jaccard >= ``jaccard_threshold``, or when the shorter text is at least
    ``min_length_ratio`` of the longer and ``containment_threshold`` of it lies in the longer
    (a trimmed copy). The similarity is Jaccard, or containment when that rule applies.
    """
    config = config or DEFAULT_CONFIG
    if not a.size or not b.size:
        return False, 0.0
    common = _overlap(a, b)
    small, large = sorted((a.size, b.size))
    similarity = common / (a.size + b.size - common)
    is_duplicate = similarity >= config.jaccard_threshold
    if small / large >= config.min_length_ratio:
        contained = common / small
        similarity = max(similarity, contained)
        is_duplicate = is_duplicate or contained >= config.containment_threshold
    return is_duplicate, round(similarity, 4)


# --------------------------------------------------------------------------------------------
# MinHash and LSH


def make_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MinHash hash functions h(x) = ((a*x + b) mod 2^64) >> 32, a odd; fixed by the seed.

    Multiply-add-shift is 2-universal for 32-bit keys (Dietzfelbinger); building them is cheap
    but done once per worker (``DoFn.setup``), never at import.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    a = rng.integers(1, 2**64 - 1, size=num_perm, dtype=_U64, endpoint=True) | _U64(1)
    b = rng.integers(0, 2**64 - 1, size=num_perm, dtype=_U64, endpoint=True)
    return a, b


def minhash_signature(shingle_hashes: np.ndarray,
                      permutations: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """One minimum per hash function (uint32); two signatures agree per row with P = Jaccard."""
    a, b = permutations
    if not shingle_hashes.size:
        return np.full(a.size, np.iinfo(np.uint32).max, dtype=np.uint32)
    x = shingle_hashes.astype(_U64)[None, :]
    with np.errstate(over="ignore"):
        hashed = (a[:, None] * x + b[:, None]) >> _U64(32)
    return hashed.min(axis=1).astype(np.uint32)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    """One 63-bit key per LSH band; the band index is mixed in, so keys of bands never meet."""
    rows_of_bands = signature[: bands * rows].astype(_U64).reshape(bands, rows)
    with np.errstate(over="ignore"):
        acc = (np.arange(1, bands + 1, dtype=_U64) * _GOLDEN)
        for row in range(rows):
            acc = _mix64(acc ^ rows_of_bands[:, row])
    return (acc >> _U64(1)).astype(np.int64).tolist()


def exact_key(normalized: str) -> int:
    """63-bit hash of the normalized text: equal for exact copies after normalization."""
    digest = hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


# --------------------------------------------------------------------------------------------
# Fingerprints and order

#: Total order of articles: the smaller key is the canonical. Batch: (undated, micros, id);
#: streaming: (event-time micros, id).
OrderKey = tuple


def batch_order_key(published_at: datetime | None, article_id: str) -> OrderKey:
    """Earliest publication first, undated last, ties by article_id."""
    if published_at is None:
        return (1, 0, article_id)
    if published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)
    micros = (published_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return (0, micros, article_id)


def stream_order_key(event_micros: int, article_id: str) -> OrderKey:
    """First seen (event time) first, ties by article_id."""
    return (int(event_micros), article_id)


@dataclass(frozen=True)
class Fingerprint:
    """What deduplication needs of one article; shingles as bytes so it pickles small."""

    article_id: str
    order_key: OrderKey
    exact_key: int
    shingles: bytes = field(repr=False)
    band_keys: tuple[int, ...] = field(repr=False)

    @property
    def shingle_array(self) -> np.ndarray:
        return np.frombuffer(self.shingles, dtype=np.uint32)


def shingle_array(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype=np.uint32)


class Fingerprinter:
    """Normalize, shingle, sign and band texts with one fixed set of MinHash permutations."""

    def __init__(self, config: DedupConfig):
        self.config = config
        self.permutations = make_permutations(config.num_perm, config.seed)

    def fingerprint(self, article_id: str, order_key: OrderKey, text: str) -> Fingerprint | None:
        """None for texts shorter than ``min_words``: they are never deduplicated."""
        normalized = normalize_for_dedup(text)
        if normalized.count(" ") + 1 < self.config.min_words or not normalized:
            return None
        hashes = shingles(normalized, self.config.shingle_size)
        signature = minhash_signature(hashes, self.permutations)
        return Fingerprint(article_id, order_key, exact_key(normalized), hashes.tobytes(),
                           tuple(band_keys(signature, self.config.bands, self.config.rows)))


# --------------------------------------------------------------------------------------------
# Candidate pairs and canonical choice


def bucket_pairs(members: Iterable[OrderKey], max_bucket_size: int
                 ) -> list[tuple[OrderKey, OrderKey]] | None:
    """All (earlier, later) pairs of one LSH bucket, or None when it is oversized."""
    unique = sorted(set(members))
    if len(unique) > max_bucket_size:
        return None
    return [(a, b) for i, a in enumerate(unique) for b in unique[i + 1:] if a[-1] != b[-1]]


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
    skipped_oversized_bucket: int = 0
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
    for article_id, order_key, text in records:
        articles += 1
        resolutions[article_id] = (article_id, 1.0)
        fp = fingerprinter.fingerprint(article_id, order_key, text)
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
        found = bucket_pairs(members, config.max_bucket_size)
        if found is None:
            oversized += 1
        else:
            pairs.update(found)
    edges = []
    for a, b in sorted(pairs):
        ok, similarity = is_near_duplicate(by_key[a].shingle_array, by_key[b].shingle_array,
                                           config)
        if ok:
            edges.append((a, b, similarity))
    roots = connected_components(edges)
    components: dict[OrderKey, list[OrderKey]] = defaultdict(list)
    for node, root in roots.items():
        components[root].append(node)
    edges_by_root: dict[OrderKey, list] = defaultdict(list)
    for edge in edges:
        edges_by_root[roots[edge[0]]].append(edge)
    for root, nodes in components.items():
        resolutions.update(assign_canonicals(nodes, edges_by_root[root]))
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
                       skipped_oversized_bucket=oversized, skipped_short=skipped_short)
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
    keyed = sorted((stream_order_key(micros, article_id), text)
                   for article_id, micros, text in records)
    buckets: dict[int, list[OrderKey]] = defaultdict(list)
    stored: dict[OrderKey, np.ndarray] = {}
    resolutions: dict[str, tuple[str, float]] = {}
    candidates = verified = skipped_short = oversized = 0
    for key, text in keyed:
        resolutions[key[-1]] = (key[-1], 1.0)
        fp = fingerprinter.fingerprint(key[-1], key, text)
        if fp is None:
            skipped_short += 1
            continue
        exact, near = set(), set()
        for bucket_key, is_exact in [(k, False) for k in fp.band_keys] + [(fp.exact_key, True)]:
            bucket = buckets[bucket_key]
            bucket[:] = [e for e in bucket if e[0] + horizon > key[0]]  # expired entries go
            earlier = [e for e in bucket if e[-1] != key[-1]]
            (exact if is_exact else near).update(earlier[: config.max_candidates])
            if len(bucket) < config.max_bucket_size:
                bisect.insort(bucket, key)
            else:
                oversized += 1
        near = sorted(near - exact)[: config.max_candidates]
        candidates += len(near) + len(exact)
        matches = [(e, 1.0) for e in exact]
        for other in near:
            ok, similarity = is_near_duplicate(fp.shingle_array, stored[other], config)
            if ok:
                verified += 1
                matches.append((other, similarity))
        stored[key] = fp.shingle_array
        if matches:
            best, similarity = min(matches)
            resolutions[key[-1]] = (best[-1], similarity)
    sizes = _cluster_sizes(resolutions)
    duplicates = sum(1 for i, (c, _) in resolutions.items() if c != i)
    stats = DedupStats(articles=len(resolutions), candidates=candidates, verified_pairs=verified,
                       verified_duplicates=duplicates, clusters=len(resolutions) - duplicates,
                       largest_cluster=max(sizes.values(), default=0),
                       skipped_oversized_bucket=oversized, skipped_short=skipped_short)
    return resolutions, stats


def label_article(article: Article, cluster_id: str, similarity: float) -> Article:
    """Set the four dedup columns; a canonical points to itself with similarity 1.0."""
    duplicate = cluster_id != article.article_id
    return article.replace(cluster_id=cluster_id, duplicate_of=cluster_id if duplicate else None,
                           is_duplicate=duplicate, similarity=similarity if duplicate else 1.0)


DEFAULT_CONFIG = DedupConfig()

# --------------------------------------------------------------------------------------------
# Beam: shared steps


class _FingerprinterDoFn(beam.DoFn):
    """Holds a Fingerprinter: its MinHash permutations are built once per worker, in setup()."""

    def __init__(self, config: DedupConfig):
        self._config = config
        self._fingerprinter: Fingerprinter | None = None
        self._short = Metrics.counter(NAMESPACE, "skipped_short")

    def setup(self):
        self._fingerprinter = Fingerprinter(self._config)


class _FingerprintFn(_FingerprinterDoFn):
    """Article -> Fingerprint (batch order)."""

    def process(self, article: Article):
        fp = self._fingerprinter.fingerprint(
            article.article_id, batch_order_key(article.published_at, article.article_id),
            article.text)
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
    """One LSH bucket -> its candidate pairs, unless it is oversized (then counted)."""

    def __init__(self, max_bucket_size: int):
        self._max = max_bucket_size
        self._oversized = Metrics.counter(NAMESPACE, "skipped_oversized_bucket")

    def process(self, element):
        _, members = element
        members = list(members)
        if len(members) < 2:
            return
        pairs = bucket_pairs(members, self._max)
        if pairs is None:
            self._oversized.inc()
            return
        yield from pairs


def _first_shingles(joined) -> bytes | None:
    return min(joined["shingles"]) if joined["shingles"] else None


def _attach_first_shingles(element):
    _, joined = element
    first = _first_shingles(joined)
    if first is not None:
        for pair in joined["pairs"]:
            yield pair[1][-1], (pair, first)


class _VerifyPairsFn(beam.DoFn):
    """(second id, pairs with the first's shingles + the second's shingles) -> verified edges."""

    def __init__(self, config: DedupConfig):
        self._config = config
        self._candidates = Metrics.counter(NAMESPACE, "candidates")
        self._verified = Metrics.counter(NAMESPACE, "verified_pairs")

    def process(self, element):
        _, joined = element
        second = _first_shingles(joined)
        if second is None:
            return
        second_array = shingle_array(second)
        for (a, b), first in joined["pairs"]:
            self._candidates.inc()
            ok, similarity = is_near_duplicate(shingle_array(first), second_array, self._config)
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


def _resolve_exact_copies(element):
    """Copies of a representative follow it: same cluster, same similarity (same text)."""
    representative, joined = element
    if joined["resolution"]:
        cluster_id, similarity = min(joined["resolution"])
    else:
        cluster_id, similarity = representative, 1.0
    for copy_id in joined["copies"]:
        yield copy_id, (cluster_id, similarity)


def _label_joined(element):
    article_id, joined = element
    cluster_id, similarity = (min(joined["resolution"]) if joined["resolution"]
                              else (article_id, 1.0))
    for article in joined["article"]:
        yield label_article(article, cluster_id, similarity)


class _CandidatePairs(beam.PTransform):
    """Representatives -> distinct (earlier, later) order-key pairs sharing an LSH bucket."""

    def __init__(self, max_bucket_size: int):
        super().__init__()
        self._max_bucket_size = max_bucket_size

    def expand(self, representatives):
        return (representatives
                | "FanOutToBands" >> beam.FlatMap(lambda rep: ((key, rep[0]) for key in rep[1]))
                | "GroupByBand" >> beam.GroupByKey()
                | "PairWithinBand" >> beam.ParDo(_BucketPairsFn(self._max_bucket_size))
                | "DistinctPairs" >> beam.Distinct())


class _VerifyPairs(beam.PTransform):
    """{"pairs", "shingles"} -> verified edges (a, b, similarity); the shingles of both sides
    are joined by id, so no step holds more than one article's shingles per pair."""

    def __init__(self, config: DedupConfig):
        super().__init__()
        self._config = config

    def expand(self, inputs):
        shingles_by_id = inputs["shingles"]
        with_first = ({"pairs": inputs["pairs"] | "KeyPairByFirst" >> beam.Map(
                           lambda pair: (pair[0][-1], pair)),
                       "shingles": shingles_by_id}
                      | "JoinFirstShingles" >> beam.CoGroupByKey()
                      | "AttachFirstShingles" >> beam.FlatMap(_attach_first_shingles))
        return ({"pairs": with_first, "shingles": shingles_by_id}
                | "JoinSecondShingles" >> beam.CoGroupByKey()
                | "Verify" >> beam.ParDo(_VerifyPairsFn(self._config)))


class _ChooseCanonicals(beam.PTransform):
    """Verified edges -> (duplicate id, (canonical id, similarity)), per connected component."""

    def __init__(self, cc_rounds: int):
        super().__init__()
        self._cc_rounds = cc_rounds

    def expand(self, edges):
        return (edges
                | "ConnectedComponents" >> _ConnectedComponents(self._cc_rounds)
                | "GroupComponents" >> beam.GroupByKey()
                | "Greedy" >> beam.ParDo(_ChooseCanonicalsFn()))


class DeduplicateArticles(beam.PTransform):
    """Batch (backfill) deduplication: every article gets its cluster, copies are labelled.

    ``articles | "Deduplicate" >> DeduplicateArticles(config)`` returns the articles with
    ``cluster_id``/``duplicate_of``/``is_duplicate``/``similarity`` set. The canonical of a
    cluster is the earliest ``published_at`` (undated last, ties by ``article_id``), and every
    member is verified against it. With ``drop_duplicates=True`` the result is a
    ``DoOutputsTuple``: ``result.articles`` holds canonicals only, ``result.skipped`` one
    ``Skip(stage="dedup", reason="duplicate")`` per copy. Same input, same clusters. Every
    fan-out here feeds a GroupByKey, which also spreads the work.
    """

    def __init__(self, config: DedupConfig | None = None, drop_duplicates: bool = False):
        super().__init__()
        self._config = config or DEFAULT_CONFIG
        self._drop = drop_duplicates

    def expand(self, articles):
        config = self._config
        fingerprints = articles | "Fingerprint" >> beam.ParDo(_FingerprintFn(config))
        exact = (fingerprints
                 | "KeyByExactText" >> beam.Map(lambda fp: (fp.exact_key,
                                                            (fp.order_key, fp.band_keys)))
                 | "GroupExactCopies" >> beam.GroupByKey()
                 | "SplitExactCopies" >> beam.ParDo(_ExactCopiesFn()).with_outputs(
                     _ExactCopiesFn.COPIES, main="representatives"))
        pairs = exact.representatives | "CandidatePairs" >> _CandidatePairs(
            config.max_bucket_size)
        shingles_by_id = fingerprints | "KeyShinglesById" >> beam.Map(
            lambda fp: (fp.article_id, fp.shingles))
        duplicates = ({"pairs": pairs, "shingles": shingles_by_id}
                      | "VerifyPairs" >> _VerifyPairs(config)
                      | "ChooseCanonicals" >> _ChooseCanonicals(config.cc_rounds))
        copies = ({"resolution": duplicates, "copies": exact[_ExactCopiesFn.COPIES]}
                  | "JoinExactCopies" >> beam.CoGroupByKey()
                  | "ResolveExactCopies" >> beam.FlatMap(_resolve_exact_copies))
        resolutions = (duplicates, copies) | "AllDuplicates" >> beam.Flatten()
        _record_cluster_sizes(resolutions)
        labelled = ({"article": articles | "KeyArticlesById" >> beam.Map(
                         lambda article: (article.article_id, article)),
                     "resolution": resolutions}
                    | "JoinResolutions" >> beam.CoGroupByKey()
                    | "LabelArticles" >> beam.FlatMap(_label_joined))
        return _outputs(labelled, self._drop)


# --------------------------------------------------------------------------------------------
# Beam: streaming
#
# Stages, each a stateful DoFn in the global window:
#   _BandStateFn    key: LSH band key (and one exact-text key) -> earlier articles of the bucket
#   _CollectFn      key: article -> union of its candidates; sends verification requests
#   _VerifyStateFn  key: candidate article -> keeps its shingles for `horizon`, answers requests
#   _DecideFn       key: article -> earliest verified candidate, the labelled article
# Band state holds only (event micros, article_id) per bucket; the shingles of an article are
# held once, by _VerifyStateFn, until its event time + horizon.

_REQUESTS, _SHORT = "requests", "short"
_ENTRY_CODER = TupleCoder([VarIntCoder(), StrUtf8Coder()])
#: Key types of the stateful stages, so Beam picks deterministic key coders.
_BAND_KV = typing.Tuple[int, typing.Any]  # noqa: UP006 - Beam type hints
_ARTICLE_KV = typing.Tuple[typing.Tuple[int, str], typing.Any]  # noqa: UP006


# State and timer specs live at module level: Beam finds them through the parameter defaults.
_BAND_PENDING = BagStateSpec("pending", PickleCoder())  # newcomers waiting for the watermark
_BAND_ENTRIES = BagStateSpec("entries", _ENTRY_CODER)  # (event micros, article_id) per article
_BAND_WAKE = TimerSpec("wake", TimeDomain.WATERMARK)
_HELD_ARTICLE = ReadModifyWriteStateSpec("article", PickleCoder())
_REPORTS = BagStateSpec("reports", PickleCoder())
_SHINGLES = ReadModifyWriteStateSpec("shingles", BytesCoder())
_WAITING = BagStateSpec("waiting", PickleCoder())
_VERIFY_EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)
_ANSWERS = BagStateSpec("answers", PickleCoder())
_MEMBERS = ReadModifyWriteStateSpec("members", VarIntCoder())
_MEMBERS_EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)
_StateParam, _TimerParam = beam.DoFn.StateParam, beam.DoFn.TimerParam
_BAND_PENDING_PARAM, _BAND_ENTRIES_PARAM = _StateParam(_BAND_PENDING), _StateParam(_BAND_ENTRIES)
_BAND_WAKE_PARAM = _TimerParam(_BAND_WAKE)
_HELD_ARTICLE_PARAM, _REPORTS_PARAM = _StateParam(_HELD_ARTICLE), _StateParam(_REPORTS)
_SHINGLES_PARAM, _WAITING_PARAM = _StateParam(_SHINGLES), _StateParam(_WAITING)
_VERIFY_EXPIRE_PARAM = _TimerParam(_VERIFY_EXPIRE)
_ANSWERS_PARAM = _StateParam(_ANSWERS)
_MEMBERS_PARAM, _MEMBERS_EXPIRE_PARAM = _StateParam(_MEMBERS), _TimerParam(_MEMBERS_EXPIRE)


def _gather(message, held, bag, expected_at: int):
    """Hold an ``("article", ...)`` message and bag every other one; once the bag holds as
    many as the article's field ``expected_at`` says, release the state and return
    ``(article, received)``, else None."""
    if message[0] == "article":
        held.write(message[1:])
    else:
        bag.add(message[1:])
    article = held.read()
    if article is None:
        return None
    received = list(bag.read())
    if len(received) < article[expected_at]:
        return None
    held.clear()
    bag.clear()
    return article, received


def _wake_time(pending: list, entries: list, horizon: int) -> int | None:
    times = [key[0] for key, _ in pending] + [key[0] + horizon for key in entries]
    return min(times) if times else None


class _StreamFingerprintFn(_FingerprinterDoFn):
    """Article -> (order key, article, fingerprint); short texts go out labelled canonical."""

    def process(self, article: Article, timestamp=beam.DoFn.TimestampParam):
        key = stream_order_key(timestamp.micros, article.article_id)
        fp = self._fingerprinter.fingerprint(article.article_id, key, article.text)
        if fp is None:
            self._short.inc()
            yield beam.pvalue.TaggedOutput(_SHORT, label_article(article, article.article_id, 1.0))
        else:
            yield key, article, fp


def _band_messages(signed):
    """One message per LSH band plus one for the exact-text bucket."""
    key, _, fp = signed
    for band_key in fp.band_keys:
        yield band_key, (key, False)
    yield fp.exact_key, (key, True)


def _article_message(signed):
    key, article, fp = signed
    return key, ("article", article, fp.shingles, len(fp.band_keys) + 1)


def _register_message(signed):
    key, _, fp = signed
    return key, ("register", fp.shingles)


class _BandStateFn(beam.DoFn):
    """Per LSH bucket: report the earlier articles to each newcomer, in event-time order.

    Newcomers wait in PENDING until the watermark passes their timestamp, then are handled
    sorted by (event time, id): on-time data is therefore compared in the same order in every
    bucket, whatever order it arrived in. ENTRIES older than ``horizon`` are dropped by the
    same event-time timer. A bucket that already holds ``max_bucket_size`` entries stops
    storing (counted ``skipped_oversized_bucket``) but still reports.
    """

    def __init__(self, config: DedupConfig):
        self._horizon = config.horizon_micros
        self._max_bucket = config.max_bucket_size
        self._max_candidates = config.max_candidates
        self._oversized = Metrics.counter(NAMESPACE, "skipped_oversized_bucket")

    def process(self, element, pending=_BAND_PENDING_PARAM, entries=_BAND_ENTRIES_PARAM,
                wake=_BAND_WAKE_PARAM):
        pending.add(element[1])
        wake.set(Timestamp(micros=_wake_time(list(pending.read()), list(entries.read()),
                                             self._horizon)))

    @on_timer(_BAND_WAKE)
    def on_wake(self, fired=beam.DoFn.TimestampParam, pending=_BAND_PENDING_PARAM,
                entries=_BAND_ENTRIES_PARAM, wake=_BAND_WAKE_PARAM):
        now = fired.micros
        waiting = list(pending.read())
        due = sorted(item for item in waiting if item[0][0] <= now)
        later = [item for item in waiting if item[0][0] > now]
        stored = sorted(tuple(entry) for entry in entries.read())
        live = [entry for entry in stored if entry[0] + self._horizon > now]
        for key, is_exact in due:
            earlier = [entry for entry in live
                       if entry < key and entry[0] + self._horizon > key[0]
                       and entry[1] != key[1]]
            yield key, ("report", is_exact, tuple(earlier[: self._max_candidates]))
            if len(live) < self._max_bucket:
                bisect.insort(live, key)
            else:
                self._oversized.inc()
        pending.clear()
        for item in later:
            pending.add(item)
        if live != stored:
            entries.clear()
            for entry in live:
                entries.add(entry)
        next_wake = _wake_time(later, live, self._horizon)
        if next_wake is not None:
            wake.set(Timestamp(micros=next_wake))


class _CollectFn(beam.DoFn):
    """Per article: wait for every bucket's report, then ask each candidate to verify it.

    Exact-text matches need no verification (similarity 1.0). At most ``max_candidates``
    earliest near candidates are asked. Every bucket reports exactly once per article, so the
    state is always released; no timer is needed.
    """

    def __init__(self, config: DedupConfig):
        self._max_candidates = config.max_candidates
        self._candidates = Metrics.counter(NAMESPACE, "candidates")

    def process(self, element, held=_HELD_ARTICLE_PARAM, reports=_REPORTS_PARAM):
        key, message = element
        gathered = _gather(message, held, reports, expected_at=2)
        if gathered is not None:
            yield from self._dispatch(key, *gathered)

    def _dispatch(self, key, article, received):
        article_row, shingle_bytes, _ = article
        exact = {entry for is_exact, found in received if is_exact for entry in found}
        near = {entry for is_exact, found in received if not is_exact for entry in found}
        near = sorted(near - exact)[: self._max_candidates]
        self._candidates.inc(len(near) + len(exact))
        for candidate in near:
            yield beam.pvalue.TaggedOutput(_REQUESTS,
                                           (candidate, ("request", key, shingle_bytes)))
        best_exact = (min(exact), 1.0) if exact else None
        yield key, ("article", article_row, len(near), best_exact)


class _VerifyStateFn(beam.DoFn):
    """Per article: keep its shingles for ``horizon`` and verify later articles against them.

    A request that overtakes the article's own registration waits for it.
    """

    def __init__(self, config: DedupConfig):
        self._config = config
        self._verified = Metrics.counter(NAMESPACE, "verified_pairs")

    def process(self, element, stored=_SHINGLES_PARAM, waiting=_WAITING_PARAM,
                expire=_VERIFY_EXPIRE_PARAM):
        key, message = element
        expire.set(Timestamp(micros=key[0] + self._config.horizon_micros))
        if message[0] == "register":
            stored.write(message[1])
            for requester, requester_shingles in waiting.read():
                yield self._answer(key, message[1], requester, requester_shingles)
            waiting.clear()
            return
        _, requester, requester_shingles = message
        own = stored.read()
        if own is None:
            waiting.add((requester, requester_shingles))
        else:
            yield self._answer(key, own, requester, requester_shingles)

    def _answer(self, key, own: bytes, requester, requester_shingles: bytes):
        ok, similarity = is_near_duplicate(shingle_array(requester_shingles), shingle_array(own),
                                           self._config)
        if ok:
            self._verified.inc()
        return requester, ("answer", key, ok, similarity)

    @on_timer(_VERIFY_EXPIRE)
    def on_expire(self, key=beam.DoFn.KeyParam, stored=_SHINGLES_PARAM, waiting=_WAITING_PARAM):
        for requester, _ in waiting.read():
            yield requester, ("answer", key, False, 0.0)
        stored.clear()
        waiting.clear()


class _DecideFn(beam.DoFn):
    """Per article: once every answer is in, point to the earliest verified candidate.

    Every request is answered exactly once (after expiry with "not verified"), so the state is
    always released.
    """

    def process(self, element, held=_HELD_ARTICLE_PARAM, answers=_ANSWERS_PARAM):
        key, message = element
        gathered = _gather(message, held, answers, expected_at=1)
        if gathered is not None:
            yield self._decide(key, *gathered)

    @staticmethod
    def _decide(key, article, received):
        article_row, _, best_exact = article
        matches = [(candidate, similarity) for candidate, ok, similarity in received if ok]
        if best_exact is not None:
            matches.append(best_exact)
        cluster_id, similarity = key[1], 1.0
        if matches:
            best, similarity = min(matches)
            cluster_id = best[1]
        return TimestampedValue(label_article(article_row, cluster_id, similarity),
                               Timestamp(micros=key[0]))


class _ClusterSizeFn(beam.DoFn):
    """Per canonical: count the rows pointing at it while it can still gain members
    (distribution ``largest_cluster``: its max is the largest cluster)."""

    def __init__(self, config: DedupConfig):
        self._horizon = config.horizon_micros
        self._sizes = Metrics.distribution(NAMESPACE, "largest_cluster")

    def process(self, element, timestamp=beam.DoFn.TimestampParam, members=_MEMBERS_PARAM,
                expire=_MEMBERS_EXPIRE_PARAM):
        total = (members.read() or 1) + element[1]
        members.write(total)
        self._sizes.update(total)
        expire.set(Timestamp(micros=timestamp.micros + self._horizon))

    @on_timer(_MEMBERS_EXPIRE)
    def on_expire(self, members=_MEMBERS_PARAM):
        members.clear()


class DeduplicateStream(beam.PTransform):
    """Streaming deduplication: each article is compared with earlier articles of its bands.

    ``articles | "Deduplicate" >> DeduplicateStream(config)``. The canonical is the first
    article by event time (ties by ``article_id``) among articles still within ``horizon``;
    a duplicate points to the earliest earlier article it verifies against. Articles are
    handled once the watermark passes their timestamp, so on-time data is deterministic; an
    article arriving behind the watermark is only compared with articles of *earlier* event
    time, so a late original never turns an already emitted canonical into a duplicate (both
    stay canonical). Output is in the global window, with the input timestamps. State per
    article: one (micros, id) entry per band for ``horizon``, plus its shingles once.
    ``drop_duplicates`` works as in :class:`DeduplicateArticles`.
    """

    def __init__(self, config: DedupConfig | None = None, drop_duplicates: bool = False):
        super().__init__()
        self._config = config or DEFAULT_CONFIG
        self._drop = drop_duplicates

    def expand(self, articles):
        config = self._config
        signed = (articles
                  | "GlobalWindow" >> beam.WindowInto(GlobalWindows())
                  | "Fingerprint" >> beam.ParDo(_StreamFingerprintFn(config)).with_outputs(
                      _SHORT, main="signed"))
        reports = (signed.signed
                   | "FanOutToBands" >> beam.FlatMap(_band_messages).with_output_types(
                       _BAND_KV)
                   | "MatchWithinBand" >> beam.ParDo(_BandStateFn(config)))
        collected = ((signed.signed | "ArticleMessages" >> beam.Map(_article_message), reports)
                     | "MergeReports" >> beam.Flatten().with_output_types(_ARTICLE_KV)
                     | "CollectCandidates" >> beam.ParDo(_CollectFn(config)).with_outputs(
                         _REQUESTS, main="decide"))
        answers = ((signed.signed | "RegisterShingles" >> beam.Map(_register_message),
                    collected[_REQUESTS])
                   | "MergeRequests" >> beam.Flatten().with_output_types(_ARTICLE_KV)
                   | "VerifyCandidates" >> beam.ParDo(_VerifyStateFn(config)))
        decided = ((collected.decide, answers)
                   | "MergeAnswers" >> beam.Flatten().with_output_types(_ARTICLE_KV)
                   | "ChooseCanonical" >> beam.ParDo(_DecideFn()))
        _ = (decided
             | "Duplicates" >> beam.Filter(lambda article: article.is_duplicate)
             | "KeyByCluster" >> beam.Map(lambda article: (article.cluster_id, 1)
                                          ).with_output_types(typing.Tuple[str, int])  # noqa: UP006
             | "CountClusterMembers" >> beam.ParDo(_ClusterSizeFn(config)))
        labelled = (decided, signed[_SHORT]) | "WithShortArticles" >> beam.Flatten()
        return _outputs(labelled, self._drop)


__all__ = [
    "ARTICLES", "DEFAULT_CONFIG", "DedupConfig", "DedupStats", "DeduplicateArticles",
    "DeduplicateStream", "Fingerprint", "Fingerprinter", "SKIPPED", "assign_canonicals",
    "band_keys", "batch_order_key", "bucket_pairs", "connected_components", "containment",
    "deduplicate_records", "deduplicate_stream_records", "exact_key", "is_near_duplicate",
    "jaccard", "label_article", "make_permutations", "minhash_signature", "normalize_for_dedup",
    "shingles", "stream_order_key",
]
