"""Streaming dedup: stateful Beam stages keyed by record, shard of LSH buckets and candidate,
with state expiring after the horizon (72 h of event time by default)."""

from __future__ import annotations

import bisect
import typing

import apache_beam as beam
from apache_beam.coders import (
    BytesCoder,
    ListCoder,
    PickleCoder,
    StrUtf8Coder,
    TupleCoder,
    VarIntCoder,
)
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

from newsflow.schemas.records import Article
from newsflow.transforms.dedup._shared import _FingerprinterDoFn, emit_or_skip
from newsflow.transforms.dedup.clusters import label_article
from newsflow.transforms.dedup.config import DEFAULT_CONFIG, NAMESPACE, DedupConfig
from newsflow.transforms.dedup.signatures import Evidence, stream_order_key, verify_copy

# Stages, each a stateful DoFn in the global window:
#   _AdmitFn        key: (event micros, article_id) -> numbers the records sharing it, so every
#                   record gets its own key (micros, article_id, n); fingerprints them
#   _BandStateFn    key: shard of LSH buckets (band, sentence and exact-text keys) -> earlier
#                   records of the newcomer's bucket
#   _CollectFn      key: record -> union of its candidates; sends verification requests
#   _VerifyStateFn  key: candidate record -> keeps its evidence for `horizon`, answers requests
#   _DecideFn       key: record -> earliest verified candidate, the labelled article
# Band state holds only (event micros, article_id, n) per bucket; the evidence of a record is
# held once, by _VerifyStateFn, until its event time + horizon. Collect and Decide release
# their state when complete, and a give-up timer releases it in any case.

_REQUESTS, _SHORT = "requests", "short"
#: Key types of the stateful stages, so Beam picks deterministic key coders.
_BAND_KV = typing.Tuple[int, typing.Any]  # noqa: UP006 - Beam type hints
_ADMIT_KV = typing.Tuple[typing.Tuple[int, str], typing.Any]  # noqa: UP006
_RECORD_KV = typing.Tuple[typing.Tuple[int, str, int], typing.Any]  # noqa: UP006


# State and timer specs live at module level: Beam finds them through the parameter defaults.
_ADMIT_PENDING = BagStateSpec("pending", PickleCoder())  # records waiting for the watermark
_ADMIT_COUNT = ReadModifyWriteStateSpec("count", VarIntCoder())  # records numbered so far
_ADMIT_WAKE = TimerSpec("wake", TimeDomain.WATERMARK)
_BAND_PENDING = BagStateSpec("pending", PickleCoder())  # newcomers waiting for the watermark
_ENTRY_CODER = TupleCoder([VarIntCoder(), StrUtf8Coder(), VarIntCoder()])  # (µs, id, n)
#: The shard's buckets: [(bucket key, its entries in order), ...], ~17 B per entry.
_BAND_BUCKETS = ReadModifyWriteStateSpec("buckets", ListCoder(TupleCoder(
    [VarIntCoder(), ListCoder(_ENTRY_CODER)])))
_BAND_WAKE_AT = ReadModifyWriteStateSpec("wake_at", VarIntCoder())
_BAND_WAKE = TimerSpec("wake", TimeDomain.WATERMARK)
#: Expired entries are dropped on a grid of horizon / this many steps (a shard is rewritten
#: at most once per step for expiry alone).
_EXPIRY_STEPS = 24
_HELD_ARTICLE = ReadModifyWriteStateSpec("article", PickleCoder())
_REPORTS = BagStateSpec("reports", PickleCoder())
_COLLECT_GIVE_UP = TimerSpec("give_up", TimeDomain.WATERMARK)
_EVIDENCE = ReadModifyWriteStateSpec(
    "evidence", TupleCoder([BytesCoder(), BytesCoder(), StrUtf8Coder()]))
_WAITING = BagStateSpec("waiting", PickleCoder())
_VERIFY_EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)
_ANSWERS = BagStateSpec("answers", PickleCoder())
_DECIDE_GIVE_UP = TimerSpec("give_up", TimeDomain.WATERMARK)
_MEMBERS = ReadModifyWriteStateSpec("members", VarIntCoder())
_MEMBERS_EXPIRE = TimerSpec("expire", TimeDomain.WATERMARK)
_StateParam, _TimerParam = beam.DoFn.StateParam, beam.DoFn.TimerParam
_ADMIT_PENDING_PARAM, _ADMIT_COUNT_PARAM = _StateParam(_ADMIT_PENDING), _StateParam(_ADMIT_COUNT)
_ADMIT_WAKE_PARAM = _TimerParam(_ADMIT_WAKE)
_BAND_PENDING_PARAM, _BAND_BUCKETS_PARAM = _StateParam(_BAND_PENDING), _StateParam(_BAND_BUCKETS)
_BAND_WAKE_AT_PARAM, _BAND_WAKE_PARAM = _StateParam(_BAND_WAKE_AT), _TimerParam(_BAND_WAKE)
_HELD_ARTICLE_PARAM, _REPORTS_PARAM = _StateParam(_HELD_ARTICLE), _StateParam(_REPORTS)
_COLLECT_GIVE_UP_PARAM, _DECIDE_GIVE_UP_PARAM = (_TimerParam(_COLLECT_GIVE_UP),
                                                 _TimerParam(_DECIDE_GIVE_UP))
_EVIDENCE_PARAM, _WAITING_PARAM = _StateParam(_EVIDENCE), _StateParam(_WAITING)
_VERIFY_EXPIRE_PARAM = _TimerParam(_VERIFY_EXPIRE)
_ANSWERS_PARAM = _StateParam(_ANSWERS)
_MEMBERS_PARAM, _MEMBERS_EXPIRE_PARAM = _StateParam(_MEMBERS), _TimerParam(_MEMBERS_EXPIRE)


def _gather(message, held, bag, expected_at: int):
    """Hold an ``("article", ...)`` message and bag every other one; once the bag holds as
    many as the article's field ``expected_at`` says, release the state and return
    ``(article, received)``, else None. Keys are unique per record, so one key never holds
    two articles."""
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


def _give_up_time(key, horizon: int) -> Timestamp:
    """When a record's Collect/Decide state is released whatever has arrived: every message
    for it is due by the end of its candidates' horizon (at most its own event time +
    horizon), so this timer only fires for messages that can no longer complete."""
    return Timestamp(micros=key[0] + 2 * horizon)


def _give_up(held, bag, counter):
    """Release what a give-up timer finds: ``(article, received)`` or None (orphans counted)."""
    article, received = held.read(), list(bag.read())
    held.clear()
    bag.clear()
    counter.inc()
    return (article, received) if article is not None else None


def _record_order(article: Article) -> tuple:
    """Fixed order of records sharing (event time, article_id): equal tuples are equal rows."""
    return (article.source_ref, article.content_hash, article.feed_url or "", article.url or "",
            article.fetched_at.isoformat() if article.fetched_at else "", article.text)


def _admit_key(article: Article, timestamp=beam.DoFn.TimestampParam):
    return (timestamp.micros, article.article_id), article


class _AdmitFn(_FingerprinterDoFn):
    """Per (event time, article_id): give every record its own key, then fingerprint it.

    The same link can arrive twice in one tick (two feeds of an outlet, or one feed under two
    guids): both records share event time and article_id. They wait here until the watermark
    passes their time, are numbered in a fixed order (:func:`_record_order`) and go on as
    (micros, article_id, n), so no later stage mixes them up and each leaves as its own row.
    The count is kept until event time + horizon (a late record continues the numbering, and no
    key (micros, article_id, n) is alive after that). Short texts leave labelled canonical.
    """

    def __init__(self, config: DedupConfig):
        super().__init__(config)
        self._horizon = config.horizon_micros

    def process(self, element, pending=_ADMIT_PENDING_PARAM, wake=_ADMIT_WAKE_PARAM):
        (micros, _), article = element
        pending.add(article)
        wake.set(Timestamp(micros=micros))

    @on_timer(_ADMIT_WAKE)
    def on_wake(self, key=beam.DoFn.KeyParam, pending=_ADMIT_PENDING_PARAM,
                count=_ADMIT_COUNT_PARAM, wake=_ADMIT_WAKE_PARAM):
        micros, article_id = key
        waiting = sorted(pending.read(), key=_record_order)
        if not waiting:  # the horizon is over: no key of this (micros, article_id) is alive
            count.clear()
            return
        pending.clear()
        first = count.read() or 0
        count.write(first + len(waiting))
        wake.set(Timestamp(micros=micros + self._horizon))
        timestamp = Timestamp(micros=micros)
        for number, article in enumerate(waiting, start=first):
            record_key = stream_order_key(micros, article_id, number)
            fp = self._fingerprint(article, record_key)
            if fp is None:
                yield beam.pvalue.TaggedOutput(_SHORT, TimestampedValue(
                    label_article(article, article_id, 1.0), timestamp))
            else:
                yield TimestampedValue((record_key, article, fp), timestamp)


def _band_messages(signed, shards: int | None):
    """One message per LSH band (and sentence key) plus one for the exact-text bucket, each
    keyed by the shard that holds its bucket (the bucket itself when ``shards`` is None)."""
    key, _, fp = signed
    for band_key in fp.band_keys:
        yield band_key if shards is None else band_key % shards, (band_key, key, False)
    yield fp.exact_key if shards is None else fp.exact_key % shards, (fp.exact_key, key, True)


def _article_message(signed):
    key, article, fp = signed
    return key, ("article", article, tuple(fp.evidence), len(fp.band_keys) + 1)


def _register_message(signed):
    key, _, fp = signed
    return key, ("register", tuple(fp.evidence))


class _BandStateFn(beam.DoFn):
    """Per shard of LSH buckets: report the earlier articles of each newcomer's bucket, in
    event-time order.

    A shard holds its buckets as one value, each bucket key with its sorted (event micros,
    article_id, n) entries. By default each bucket is its own shard; with ``band_shards`` a
    shard is ``bucket key % band_shards``, for a runner that pays per key (the local one keeps
    a few KB per key, and an article has some 65 buckets, against ~17 B per entry).
    Newcomers wait in PENDING until the watermark passes their timestamp, then are handled
    sorted by (event time, id): on-time data is therefore compared in the same order in every
    bucket, whatever order it arrived in. Entries older than ``horizon`` are never reported
    and are dropped when the shard next changes, or by an expiry timer on a coarse grid (one
    rewrite per shard per grid step, not one per entry). A bucket that already holds
    ``max_bucket_size`` entries stops storing (counted ``oversized_bucket``) but still
    reports.
    """

    def __init__(self, config: DedupConfig):
        self._horizon = config.horizon_micros
        self._expiry_grid = max(1, self._horizon // _EXPIRY_STEPS)
        self._max_bucket = config.max_bucket_size
        self._max_candidates = config.max_candidates
        self._oversized = Metrics.counter(NAMESPACE, "oversized_bucket")

    def process(self, element, pending=_BAND_PENDING_PARAM, wake_at=_BAND_WAKE_AT_PARAM,
                wake=_BAND_WAKE_PARAM):
        micros = element[1][1][0]
        pending.add(element[1])
        current = wake_at.read()
        if current is None or micros < current:
            wake_at.write(micros)
            wake.set(Timestamp(micros=micros))

    @on_timer(_BAND_WAKE)
    def on_wake(self, fired=beam.DoFn.TimestampParam, pending=_BAND_PENDING_PARAM,
                buckets_state=_BAND_BUCKETS_PARAM, wake_at=_BAND_WAKE_AT_PARAM,
                wake=_BAND_WAKE_PARAM):
        now = fired.micros
        waiting = list(pending.read())
        due = sorted((item for item in waiting if item[1][0] <= now),
                     key=lambda item: (item[1], item[0]))
        later = [item for item in waiting if item[1][0] > now]
        stored = dict(buckets_state.read() or ())
        buckets = _live_buckets(stored, now - self._horizon)
        for band_key, key, is_exact in due:
            bucket = buckets.setdefault(band_key, [])
            earlier = [entry for entry in bucket
                       if entry < key and entry[0] + self._horizon > key[0]
                       and entry[1] != key[1]]
            yield key, ("report", is_exact, tuple(earlier[: self._max_candidates]))
            if len(bucket) < self._max_bucket:
                bisect.insort(bucket, key)
            else:
                self._oversized.inc()
        if due or buckets != stored:
            pending.clear()
            for item in later:
                pending.add(item)
            if buckets:
                buckets_state.write(sorted(buckets.items()))
            else:
                buckets_state.clear()
        times = [item[1][0] for item in later]
        oldest = min((bucket[0][0] for bucket in buckets.values()), default=None)
        if oldest is not None:  # the next grid line after the oldest entry's expiry
            times.append((oldest + self._horizon) // self._expiry_grid * self._expiry_grid
                         + self._expiry_grid)
        if times:
            wake_at.write(min(times))
            wake.set(Timestamp(micros=min(times)))
        else:
            wake_at.clear()


def _live_buckets(stored: dict, expired_before: int) -> dict:
    """The buckets of a shard without entries whose event time is at or before
    ``expired_before`` (and without buckets left empty); entries stay sorted."""
    live = {}
    for band_key, bucket in stored.items():
        kept = [entry for entry in bucket if entry[0] > expired_before]
        if kept:
            live[band_key] = kept
    return live


class _CollectFn(beam.DoFn):
    """Per record: wait for every bucket's report, then ask each candidate to verify it.

    Exact-text matches need no verification (similarity 1.0). At most ``max_candidates``
    earliest near candidates are asked. Every bucket reports exactly once per record, so the
    state is released when the last report arrives; a give-up timer releases it in any case
    (``released_incomplete``: the record goes on with the reports it has; or, with no record,
    the orphaned reports are dropped).
    """

    def __init__(self, config: DedupConfig):
        self._horizon = config.horizon_micros
        self._max_candidates = config.max_candidates
        self._candidates = Metrics.counter(NAMESPACE, "candidates")
        self._incomplete = Metrics.counter(NAMESPACE, "released_incomplete")

    def process(self, element, held=_HELD_ARTICLE_PARAM, reports=_REPORTS_PARAM,
                give_up=_COLLECT_GIVE_UP_PARAM):
        key, message = element
        gathered = _gather(message, held, reports, expected_at=2)
        if gathered is None:
            give_up.set(_give_up_time(key, self._horizon))
        else:
            give_up.clear()
            yield from self._dispatch(key, *gathered)

    @on_timer(_COLLECT_GIVE_UP)
    def on_give_up(self, key=beam.DoFn.KeyParam, held=_HELD_ARTICLE_PARAM,
                   reports=_REPORTS_PARAM):
        gathered = _give_up(held, reports, self._incomplete)
        if gathered is not None:
            yield from self._dispatch(key, *gathered)

    def _dispatch(self, key, article, received):
        article_row, evidence, _ = article
        exact = {entry for is_exact, found in received if is_exact for entry in found}
        near = {entry for is_exact, found in received if not is_exact for entry in found}
        near = sorted(near - exact)[: self._max_candidates]
        self._candidates.inc(len(near) + len(exact))
        for candidate in near:
            yield beam.pvalue.TaggedOutput(_REQUESTS,
                                           (candidate, ("request", key, evidence)))
        best_exact = (min(exact), 1.0) if exact else None
        yield key, ("article", article_row, len(near), best_exact)


class _VerifyStateFn(beam.DoFn):
    """Per record: keep its evidence for ``horizon`` and verify later records against it.

    A request that overtakes the record's own registration waits for it.
    """

    def __init__(self, config: DedupConfig):
        self._config = config
        self._verified = Metrics.counter(NAMESPACE, "verified_pairs")

    def process(self, element, stored=_EVIDENCE_PARAM, waiting=_WAITING_PARAM,
                expire=_VERIFY_EXPIRE_PARAM):
        key, message = element
        expire.set(Timestamp(micros=key[0] + self._config.horizon_micros))
        if message[0] == "register":
            stored.write(message[1])
            for requester, requester_evidence in waiting.read():
                yield self._answer(key, message[1], requester, requester_evidence)
            waiting.clear()
            return
        _, requester, requester_evidence = message
        own = stored.read()
        if own is None:
            waiting.add((requester, requester_evidence))
        else:
            yield self._answer(key, own, requester, requester_evidence)

    def _answer(self, key, own, requester, requester_evidence):
        ok, similarity = verify_copy(Evidence(*requester_evidence), Evidence(*own),
                                     self._config)
        if ok:
            self._verified.inc()
        return requester, ("answer", key, ok, similarity)

    @on_timer(_VERIFY_EXPIRE)
    def on_expire(self, key=beam.DoFn.KeyParam, stored=_EVIDENCE_PARAM,
                  waiting=_WAITING_PARAM):
        for requester, _ in waiting.read():
            yield requester, ("answer", key, False, 0.0)
        stored.clear()
        waiting.clear()


class _DecideFn(beam.DoFn):
    """Per record: once every answer is in, point to the earliest verified candidate.

    Every request is answered exactly once (after expiry with "not verified"), so the state is
    released with the last answer; the give-up timer releases it in any case (missing answers
    count as "not verified").
    """

    def __init__(self, config: DedupConfig):
        self._horizon = config.horizon_micros
        self._incomplete = Metrics.counter(NAMESPACE, "released_incomplete")

    def process(self, element, held=_HELD_ARTICLE_PARAM, answers=_ANSWERS_PARAM,
                give_up=_DECIDE_GIVE_UP_PARAM):
        key, message = element
        gathered = _gather(message, held, answers, expected_at=1)
        if gathered is None:
            give_up.set(_give_up_time(key, self._horizon))
        else:
            give_up.clear()
            yield self._decide(key, *gathered)

    @on_timer(_DECIDE_GIVE_UP)
    def on_give_up(self, key=beam.DoFn.KeyParam, held=_HELD_ARTICLE_PARAM,
                   answers=_ANSWERS_PARAM):
        gathered = _give_up(held, answers, self._incomplete)
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
    stay canonical). Records sharing event time and ``article_id`` (one link listed twice)
    are numbered and each leaves as its own row, labelled alike. Output is in the global
    window, with the input timestamps. State per record: one (micros, id, n) entry per band
    for ``horizon``, plus its evidence (shingles, sentences, site) once.
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
                  | "KeyByEventTimeAndId" >> beam.Map(_admit_key).with_output_types(_ADMIT_KV)
                  | "Fingerprint" >> beam.ParDo(_AdmitFn(config)).with_outputs(
                      _SHORT, main="signed"))
        reports = (signed.signed
                   | "FanOutToBands" >> beam.FlatMap(
                       _band_messages, config.band_shards).with_output_types(_BAND_KV)
                   | "MatchWithinBand" >> beam.ParDo(_BandStateFn(config)))
        collected = ((signed.signed | "ArticleMessages" >> beam.Map(_article_message), reports)
                     | "MergeReports" >> beam.Flatten().with_output_types(_RECORD_KV)
                     | "CollectCandidates" >> beam.ParDo(_CollectFn(config)).with_outputs(
                         _REQUESTS, main="decide"))
        answers = ((signed.signed | "RegisterShingles" >> beam.Map(_register_message),
                    collected[_REQUESTS])
                   | "MergeRequests" >> beam.Flatten().with_output_types(_RECORD_KV)
                   | "VerifyCandidates" >> beam.ParDo(_VerifyStateFn(config)))
        decided = ((collected.decide, answers)
                   | "MergeAnswers" >> beam.Flatten().with_output_types(_RECORD_KV)
                   | "ChooseCanonical" >> beam.ParDo(_DecideFn(config)))
        _ = (decided
             | "Duplicates" >> beam.Filter(lambda article: article.is_duplicate)
             | "KeyByCluster" >> beam.Map(lambda article: (article.cluster_id, 1)
                                          ).with_output_types(typing.Tuple[str, int])  # noqa: UP006
             | "CountClusterMembers" >> beam.ParDo(_ClusterSizeFn(config)))
        labelled = (decided, signed[_SHORT]) | "WithShortArticles" >> beam.Flatten()
        return emit_or_skip(labelled, self._drop)
