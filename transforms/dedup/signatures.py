"""Shingles, similarity, MinHash/LSH and per-article fingerprints (numpy, no Beam).

5-word shingles are hashed to 32 bits; a MinHash signature of 128 permutations is cut into
LSH bands whose keys propose candidates; verification compares the real shingle sets
(Jaccard, or containment for a trimmed copy).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from newsflow.transforms.dedup.config import DEFAULT_CONFIG, DedupConfig
from newsflow.transforms.dedup.text import normalize_for_dedup

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
#: streaming: (event-time micros, id, n), n numbering records that share time and id.
OrderKey = tuple


def batch_order_key(published_at: datetime | None, article_id: str) -> OrderKey:
    """Earliest publication first, undated last, ties by article_id."""
    if published_at is None:
        return (1, 0, article_id)
    if published_at.tzinfo is None:
        published_at = published_at.replace(tzinfo=UTC)
    micros = (published_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return (0, micros, article_id)


def stream_order_key(event_micros: int, article_id: str, number: int = 0) -> OrderKey:
    """First seen (event time) first, ties by article_id, then by the record's number among
    records sharing both (one link listed twice in a tick)."""
    return (int(event_micros), article_id, int(number))


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
