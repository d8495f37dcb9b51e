"""Shingles, sentences, similarity, MinHash/LSH and per-article fingerprints (numpy, no Beam).

5-word shingles are hashed to 32 bits; a MinHash signature of 128 permutations is cut into
LSH bands whose keys propose candidates, and so do the hashes of the first sentences;
verification compares the real shingle sets (Jaccard, or containment for a trimmed copy) and,
between two sites, the shared sentences (a heavily edited copy keeps whole sentences).
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np

from newsflow.transforms.dedup.config import DEFAULT_CONFIG, DedupConfig
from newsflow.transforms.dedup.text import normalized_sentences

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


def sentence_hashes(sentences: list[str], min_words: int) -> np.ndarray:
    """32-bit hashes of the normalized sentences of at least ``min_words`` words, in text order,
    each once (its first occurrence)."""
    hashes = [zlib.crc32(sentence.encode("utf-8")) for sentence in sentences
              if sentence.count(" ") + 1 >= min_words]
    return np.fromiter(dict.fromkeys(hashes), dtype=np.uint32)


def _trailing_run(sequence: np.ndarray, other: set) -> int:
    run = 0
    for value in sequence[::-1].tolist():
        if value not in other:
            break
        run += 1
    return run


def shared_sentences(a: np.ndarray, b: np.ndarray) -> tuple[int, float, float, str | None]:
    """(shared, share of the shorter's sentences, share of the longer's, boundary block).

    The boundary block is "footer" when every shared sentence lies in the block of shared
    sentences that ends both texts, "header" when in the block that opens both (the shape of
    what a site or a network of sites puts around every article), else None.
    """
    set_a, set_b = set(a.tolist()), set(b.tolist())
    shared = len(set_a & set_b)
    if not shared:
        return 0, 0.0, 0.0, None
    small, large = sorted((len(set_a), len(set_b)))
    block = None
    if _trailing_run(a, set_b) >= shared and _trailing_run(b, set_a) >= shared:
        block = "footer"
    elif _trailing_run(a[::-1], set_b) >= shared and _trailing_run(b[::-1], set_a) >= shared:
        block = "header"
    return shared, shared / small, shared / large, block


class Evidence(NamedTuple):
    """What verification compares of one article (small: it travels with candidate pairs)."""

    shingles: bytes  # sorted unique uint32 shingle hashes
    sentences: bytes  # uint32 sentence hashes in text order
    site: str  # registrable domain, "" when unknown


def verify_copy(a: Evidence, b: Evidence, config: DedupConfig | None = None
                ) -> tuple[bool, float]:
    """Whether two articles are copies of one story text, and the similarity that decided it.

    First the shingle rules of :func:`is_near_duplicate`. Then, for two known, different sites,
    the sentence rules: the shorter text's sentences are mostly in the longer
    (``sentence_containment``, at least ``sentence_share_of_longer`` of the longer: a trim to
    the first third) or, with at least three shared, partly (``partial_*``: rewritten lede,
    inserted or dropped paragraphs). Sentences shared only as the block both texts end with
    (a footer that two sites of one network carry) never make a copy; shared only as the
    block both open with (a header, or a trim), only under the first rule. Within
    one site, or with a site unknown (a text dump), the sentence rules do not apply: the pages
    of one site share headers and footers, and its own copies (URL variants) pass the shingle
    rules. The similarity is the larger of the shingle similarity and, when a sentence rule
    decided, the sentence containment.
    """
    config = config or DEFAULT_CONFIG
    ok, similarity = is_near_duplicate(shingle_array(a.shingles), shingle_array(b.shingles),
                                       config)
    if ok or not (a.site and b.site) or a.site == b.site:
        return ok, similarity
    shared, within_shorter, of_longer, block = shared_sentences(
        shingle_array(a.sentences), shingle_array(b.sentences))
    if shared < 2 or block == "footer":
        return False, similarity
    copy = (within_shorter >= config.sentence_containment
            and of_longer >= config.sentence_share_of_longer) or (
        shared >= 3 and block is None
        and within_shorter >= config.partial_sentence_containment
        and of_longer >= config.partial_share_of_longer)
    return copy, round(max(similarity, within_shorter), 4) if copy else similarity


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


def sentence_keys(hashes: np.ndarray, count: int) -> list[int]:
    """Bucket keys of the first ``count`` sentences; tagged, so they never meet band keys."""
    with np.errstate(over="ignore"):
        mixed = _mix64(hashes[:count].astype(_U64) ^ _U64(0x5E47E4CE5E47E4CE))
    return (mixed >> _U64(1)).astype(np.int64).tolist()


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
    """What deduplication needs of one article; arrays as bytes so it pickles small.

    ``band_keys`` are the LSH band keys followed by the sentence keys: every one is a bucket.
    """

    article_id: str
    order_key: OrderKey
    exact_key: int
    shingles: bytes = field(repr=False)
    band_keys: tuple[int, ...] = field(repr=False)
    sentences: bytes = field(default=b"", repr=False)
    site: str = ""

    @property
    def shingle_array(self) -> np.ndarray:
        return np.frombuffer(self.shingles, dtype=np.uint32)

    @property
    def evidence(self) -> Evidence:
        return Evidence(self.shingles, self.sentences, self.site)


def shingle_array(raw: bytes) -> np.ndarray:
    """uint32 hashes (shingles or sentences) from their bytes."""
    return np.frombuffer(raw, dtype=np.uint32)


class Fingerprinter:
    """Normalize, shingle, sign and band texts with one fixed set of MinHash permutations."""

    def __init__(self, config: DedupConfig):
        self.config = config
        self.permutations = make_permutations(config.num_perm, config.seed)

    def fingerprint(self, article_id: str, order_key: OrderKey, text: str,
                    site: str | None = None) -> Fingerprint | None:
        """None for texts shorter than ``min_words``: they are never deduplicated.

        ``site`` is the article's registrable domain (None when unknown).
        """
        config = self.config
        sentences = normalized_sentences(text)
        normalized = " ".join(sentences)  # normalize_for_dedup(text), in the same pass
        if normalized.count(" ") + 1 < config.min_words or not normalized:
            return None
        hashes = shingles(normalized, config.shingle_size)
        signature = minhash_signature(hashes, self.permutations)
        sentences = sentence_hashes(sentences, config.sentence_min_words)
        keys = band_keys(signature, config.bands, config.rows) + sentence_keys(
            sentences, config.sentence_keys)
        return Fingerprint(article_id, order_key, exact_key(normalized), hashes.tobytes(),
                           tuple(keys), sentences.tobytes(), site or "")
