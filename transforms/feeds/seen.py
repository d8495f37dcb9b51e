"""Entry keys already seen per feed: bounded (``max_keys``), expiring (``ttl_s``), compact.

A feed re-lists old items and re-publishes them under new guids; the poller handles an entry
only when its key is not in the feed's :class:`SeenEntries`, stored as bytes in Beam state.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from newsflow.schemas.feeds import (
    FeedEntry,
)
from newsflow.transforms.feeds.schedule import as_utc

DEFAULT_SEEN_MAX_KEYS = 2000
DEFAULT_SEEN_TTL_S = 30 * 86400.0
_SEEN_VERSION = 1
_SEEN_HEADER = struct.Struct(">BId")
_SEEN_ITEM = struct.Struct(">8sI")


def _digest(key: str) -> bytes:
    """64-bit key digest: collisions are negligible for a few thousand keys per feed."""
    return hashlib.sha256(key.encode("utf-8")).digest()[:8]


@dataclass(frozen=True)
class SeenEntries:
    """Entry keys of one feed seen recently: bounded (``max_keys``) and expiring (``ttl_s``
    after a key was last seen in the feed). Keys are stored as 8-byte digests with a
    whole-second timestamp, 12 bytes each in :meth:`to_bytes`, so it fits Beam state. Pure:
    methods return new instances.
    """

    max_keys: int = DEFAULT_SEEN_MAX_KEYS
    ttl_s: float = DEFAULT_SEEN_TTL_S
    items: tuple[tuple[bytes, int], ...] = ()  # (digest, last seen unix seconds), oldest first

    def __post_init__(self):
        if self.max_keys < 1 or self.ttl_s <= 0:
            raise ValueError("SeenEntries needs max_keys >= 1 and ttl_s > 0")

    def __len__(self) -> int:
        return len(self.items)

    def active(self, now: datetime) -> frozenset[bytes]:
        """Digests not yet expired at ``now``."""
        horizon = as_utc(now).timestamp() - self.ttl_s
        return frozenset(digest for digest, seen_at in self.items if seen_at >= horizon)

    def contains(self, key: str, now: datetime) -> bool:
        return _digest(key) in self.active(now)

    def remember(self, keys: Iterable[str], now: datetime) -> SeenEntries:
        """Mark ``keys`` (feed order, newest first) as seen at ``now``; drop expired keys and
        the least recently seen beyond ``max_keys``. The first keys of the feed are kept
        longest."""
        stamp = int(as_utc(now).timestamp())
        order = {digest: seen_at for digest, seen_at in self.items}
        for key in reversed(list(keys)):
            digest = _digest(key)
            order.pop(digest, None)
            order[digest] = stamp
        horizon = stamp - self.ttl_s
        kept = [(digest, seen_at) for digest, seen_at in order.items() if seen_at >= horizon]
        kept.sort(key=lambda item: item[1])  # stable: equal stamps keep insertion order
        return SeenEntries(self.max_keys, self.ttl_s, tuple(kept[-self.max_keys:]))

    def expire(self, now: datetime) -> SeenEntries:
        return self.remember((), now)

    def refresh_latest(self, now: datetime) -> SeenEntries:
        """Re-stamp the keys of the last :meth:`remember` call with ``now``.

        For a 304 or a byte-identical body: the feed still holds exactly those entries, so
        their TTL must keep running from now, or a feed quiet for longer than ``ttl_s`` would
        re-emit its whole window on its next change.
        """
        if not self.items:
            return self
        latest = max(seen_at for _digest, seen_at in self.items)
        keys = [digest for digest, seen_at in self.items if seen_at == latest]
        stamp = int(as_utc(now).timestamp())
        older = [(digest, seen_at) for digest, seen_at in self.items if seen_at != latest]
        items = tuple(older + [(digest, max(stamp, latest)) for digest in keys])
        return SeenEntries(self.max_keys, self.ttl_s, items).expire(now)

    def to_dict(self) -> dict:
        """JSON-friendly form."""
        return {"version": _SEEN_VERSION, "max_keys": self.max_keys, "ttl_s": self.ttl_s,
                "keys": [[digest.hex(), seen_at] for digest, seen_at in self.items]}

    @classmethod
    def from_dict(cls, data: Mapping) -> SeenEntries:
        if data.get("version") != _SEEN_VERSION:
            raise ValueError(f"unsupported SeenEntries version {data.get('version')!r}")
        items = tuple((bytes.fromhex(digest), int(seen_at)) for digest, seen_at in data["keys"])
        return cls(int(data["max_keys"]), float(data["ttl_s"]), items)

    def to_bytes(self) -> bytes:
        """Compact form: a 13-byte header then 12 bytes per key."""
        parts = [_SEEN_HEADER.pack(_SEEN_VERSION, self.max_keys, self.ttl_s)]
        parts.extend(_SEEN_ITEM.pack(digest, min(seen_at, 2**32 - 1))
                     for digest, seen_at in self.items)
        return b"".join(parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> SeenEntries:
        if len(data) < _SEEN_HEADER.size or (len(data) - _SEEN_HEADER.size) % _SEEN_ITEM.size:
            raise ValueError("truncated SeenEntries bytes")
        version, max_keys, ttl_s = _SEEN_HEADER.unpack_from(data)
        if version != _SEEN_VERSION:
            raise ValueError(f"unsupported SeenEntries version {version}")
        items = tuple(_SEEN_ITEM.iter_unpack(data[_SEEN_HEADER.size:]))
        return cls(max_keys, ttl_s, items)


class FilteredEntries(NamedTuple):
    """One listing split three ways, feed order kept in each part."""

    new: list[FeedEntry]  # to process
    skipped: list[tuple[FeedEntry, str]]  # (entry, reason): read and skipped, once each
    known: list[FeedEntry]  # listed at an earlier poll: already accounted for, not read again


def filter_new_entries(entries: Iterable[FeedEntry], seen: SeenEntries, now: datetime,
                       max_age: timedelta | float | None = None) -> FilteredEntries:
    """Split a listing into new, skipped and known entries.

    ``known``: the key is in ``seen``, so an earlier poll already ended the entry as a row, a
    skip or a dead letter; a feed re-lists its window on every poll, and writing a skip for
    each re-listing would grow the skip files by the whole window every poll, forever.
    Skip reasons: ``seen`` (the key repeated within this listing) and ``too_old``
    (``published_at``, else ``updated_at``, older than ``now - max_age``; undated entries are
    never too old). Does not update ``seen``: use :func:`filter_and_remember`.
    """
    now = as_utc(now)
    if isinstance(max_age, int | float):
        max_age = timedelta(seconds=max_age)
    oldest = now - max_age if max_age is not None else None
    earlier = seen.active(now)
    batch: set[bytes] = set()
    result = FilteredEntries([], [], [])
    for entry in entries:
        digest = _digest(entry.entry_key)
        if digest in earlier:
            result.known.append(entry)
        elif digest in batch:
            result.skipped.append((entry, "seen"))
        else:
            batch.add(digest)
            dated = entry.published_at or entry.updated_at
            if oldest is not None and dated is not None and dated < oldest:
                result.skipped.append((entry, "too_old"))
            else:
                result.new.append(entry)
    return result


def filter_and_remember(entries: Iterable[FeedEntry], seen: SeenEntries, now: datetime,
                        max_age: timedelta | float | None = None,
                        ) -> tuple[FilteredEntries, SeenEntries]:
    """:func:`filter_new_entries`, then remember every entry of the listing (too old ones
    too, so they are skipped once): refreshing the re-listed keys is what keeps them from
    expiring and coming back as "new"."""
    entries = list(entries)
    filtered = filter_new_entries(entries, seen, now, max_age)
    return filtered, seen.remember((entry.entry_key for entry in entries), now)
