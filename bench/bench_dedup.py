"""Deduplication throughput and streaming state size, against a datasketch MinHashLSH loop.

    python -m bench.bench_dedup --quick            # 1k and 3k documents, a minute
    python -m bench.bench_dedup                    # 10k, 30k, 100k (pure) and 10k, 30k (Beam)

All contenders get the same generated texts (bench.dedup_eval) in the same run:

- ``pure``: :func:`deduplicate_records`, the batch algorithm in one process;
- ``datasketch``: the usual single-process loop: same normalization, shingles as strings,
  ``MinHash.update_batch``, ``MinHashLSH`` query then insert (same bands/rows), verification of
  candidates on exact shingle sets with the same thresholds;
- ``beam``: :class:`newsflow.transforms.dedup.DeduplicateArticles` on the FnApiRunner in one process
  (in_memory), reading the texts from a JSONL file, end to end including pipeline start.

Throughput is documents per second; ratios are against datasketch. Cost per document (µs/doc)
staying flat from 10k to 100k shows linear growth. Streaming state is what the stateful DoFns
of DeduplicateStream keep per article for ``horizon``, encoded with their own state coders.
Every contender is scored against the labels too (pairwise precision/recall).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from bench.dedup_eval import EvalDoc, generate_eval_set, pairwise_scores, site_of_outlet


def corpus(size: int, seed: int = 11) -> list[EvalDoc]:
    """``size`` labelled documents (about 8 per generated event)."""
    docs: list[EvalDoc] = []
    events = max(1, size // 7)
    while len(docs) < size:
        docs = generate_eval_set(events=events, seed=seed)
        events = int(events * 1.2) + 1
    return docs[:size]


def run_pure(docs: Sequence[EvalDoc]) -> tuple[dict[str, str], dict]:
    from newsflow.transforms.dedup import batch_order_key, deduplicate_records

    resolutions, stats = deduplicate_records(
        (d.doc_id, batch_order_key(d.published_at, d.doc_id), d.text, site_of_outlet(d))
        for d in docs)
    return {k: v[0] for k, v in resolutions.items()}, {"candidates": stats.candidates,
                                                         "clusters": stats.clusters}


def run_datasketch(docs: Sequence[EvalDoc]) -> tuple[dict[str, str], dict]:
    """The single-process baseline: MinHash.update_batch + MinHashLSH, then verification."""
    from datasketch import MinHash, MinHashLSH

    from newsflow.transforms.dedup import DEFAULT_CONFIG, batch_order_key, normalize_for_dedup

    config = DEFAULT_CONFIG
    lsh = MinHashLSH(num_perm=config.num_perm, params=(config.bands, config.rows))
    stored: dict[str, np.ndarray] = {}
    clusters: dict[str, str] = {}
    candidates = 0
    ordered = sorted(docs, key=lambda d: batch_order_key(d.published_at, d.doc_id))
    rank = {doc.doc_id: index for index, doc in enumerate(ordered)}
    k = config.shingle_size
    for doc in ordered:
        words = normalize_for_dedup(doc.text).split()
        clusters[doc.doc_id] = doc.doc_id
        if len(words) < config.min_words:
            continue
        grams = {" ".join(words[i:i + k]).encode() for i in range(len(words) - k + 1)}
        signature = MinHash(num_perm=config.num_perm, seed=config.seed)
        signature.update_batch(list(grams))
        hashes = np.unique(np.fromiter((hash(g) for g in grams), dtype=np.int64))
        best = None
        for other in lsh.query(signature):
            candidates += 1
            common = np.intersect1d(hashes, stored[other], assume_unique=True).size
            small, large = sorted((hashes.size, stored[other].size))
            similarity = common / (small + large - common)
            ok = similarity >= config.jaccard_threshold or (
                small / large >= config.min_length_ratio
                and common / small >= config.containment_threshold)
            if ok and (best is None or rank[other] < rank[best]):
                best = other  # the earliest verified canonical (only canonicals are indexed)
        if best is not None:
            clusters[doc.doc_id] = best
        else:
            lsh.insert(doc.doc_id, signature)  # only canonicals are indexed
        stored[doc.doc_id] = hashes
    return clusters, {"candidates": candidates,
                      "clusters": sum(1 for k, v in clusters.items() if k == v)}


def _write_jsonl(docs: Sequence[EvalDoc], path: str) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for d in docs:
            out.write(json.dumps({"id": d.doc_id, "text": d.text, "site": site_of_outlet(d),
                                  "published_at":
                                  d.published_at.isoformat() if d.published_at else None}))
            out.write("\n")


def _to_article(line: str):
    from bench.dedup_eval import make_article

    row = json.loads(line)
    published = datetime.fromisoformat(row["published_at"]) if row["published_at"] else None
    return make_article(row["id"], row["text"], published, domain=row["site"])


def run_beam(docs: Sequence[EvalDoc], workdir: str) -> tuple[dict[str, str], dict]:
    """DeduplicateArticles end to end on the FnApiRunner (one process, in_memory)."""
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from newsflow.transforms.dedup import DeduplicateArticles

    source, target = os.path.join(workdir, "in.jsonl"), os.path.join(workdir, "out")
    _write_jsonl(docs, source)
    started = time.perf_counter()
    with beam.Pipeline(options=PipelineOptions(["--runner=FnApiRunner"])) as pipeline:
        _ = (pipeline
             | "Read" >> beam.io.ReadFromText(source)
             | "Parse" >> beam.Map(_to_article)
             | "Deduplicate" >> DeduplicateArticles()
             | "Format" >> beam.Map(lambda a: f"{a.article_id}\t{a.cluster_id}")
             | "Write" >> beam.io.WriteToText(target, shard_name_template=""))
    elapsed = time.perf_counter() - started
    with open(target, encoding="utf-8") as rows:
        clusters = dict(line.rstrip("\n").split("\t") for line in rows)
    return clusters, {"seconds_with_io": elapsed}


def stream_state_bytes(docs: Sequence[EvalDoc]) -> dict:
    """Bytes DeduplicateStream keeps per article for ``horizon``, by its own state coders.

    Per article: one (event micros, article_id, n) entry in each of its buckets (``bands``
    band keys, up to ``sentence_keys`` sentence keys and the exact-text key), held in the
    bucket's shard as _BandStateFn stores it, and its evidence (shingles, sentence hashes,
    site) once (_VerifyStateFn). Transient state (an article waiting for the watermark, for
    its reports and answers) is released within the watermark delay.
    """
    from newsflow.transforms.dedup import DEFAULT_CONFIG, Fingerprinter, stream_order_key
    from newsflow.transforms.dedup.config import LOCAL_BAND_SHARDS
    from newsflow.transforms.dedup.stream import _BAND_BUCKETS, _EVIDENCE

    fingerprinter = Fingerprinter(DEFAULT_CONFIG)
    evidence_coder = _EVIDENCE.coder
    shards: dict[int, dict[int, list]] = {}
    keys = evidence_bytes = shingle_bytes = counted = 0
    for index, doc in enumerate(docs):
        key = stream_order_key(1_700_000_000_000_000 + index, doc.doc_id)
        fp = fingerprinter.fingerprint(doc.doc_id, key, doc.text, site_of_outlet(doc))
        if fp is None:
            continue
        counted += 1
        keys += len(fp.band_keys) + 1
        for bucket in (*fp.band_keys, fp.exact_key):
            shard = shards.setdefault(bucket % LOCAL_BAND_SHARDS, {})
            shard.setdefault(bucket, []).append(key)
        evidence_bytes += len(evidence_coder.encode(tuple(fp.evidence)))
        shingle_bytes += len(fp.shingles)
    entries = sum(len(_BAND_BUCKETS.coder.encode(sorted(shard.items())))
                  for shard in shards.values())
    per_article = (entries + evidence_bytes) / counted
    return {"articles": counted, "buckets_per_article": round(keys / counted, 1),
            "band_entry_bytes": round(entries / counted, 1),
            "evidence_bytes": round(evidence_bytes / counted, 1),
            "state_bytes_per_article": round(per_article, 1),
            "shingles_in_every_band_bytes": round(keys * shingle_bytes / counted / counted, 1)}


def _timed(function, *args):
    """Wall time of one call; objects alive before it (the corpus) are frozen out of the
    garbage collector's scans, the same for every contender."""
    gc.collect()
    gc.freeze()
    try:
        started = time.perf_counter()
        result = function(*args)
        return result, time.perf_counter() - started
    finally:
        gc.unfreeze()


def bench(sizes: Sequence[int], beam_sizes: Sequence[int], seed: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_dedup_") as workdir:
        warm_up = corpus(50, seed + 1)  # imports and first-call costs stay out of the timings
        run_pure(warm_up), run_datasketch(warm_up), run_beam(warm_up, workdir)
        for size in sizes:
            docs, generated = _timed(corpus, size, seed)
            truth = [d.label for d in docs]
            row = {"documents": len(docs), "generate_s": round(generated, 1)}
            contenders = [("pure", run_pure, ()), ("datasketch", run_datasketch, ())]
            if size in beam_sizes:
                contenders.append(("beam", run_beam, (workdir,)))
            for name, function, extra in contenders:
                (clusters, info), seconds = _timed(function, docs, *extra)
                scores = pairwise_scores(truth, [clusters[d.doc_id] for d in docs])
                row[name] = {"docs_per_s": round(len(docs) / seconds, 1),
                             "us_per_doc": round(seconds / len(docs) * 1e6, 1),
                             "precision": round(scores.precision, 4),
                             "recall": round(scores.recall, 4), **info}
                print(f"  {size:>7} {name:<10} {row[name]['docs_per_s']:>9.1f} docs/s "
                      f"{row[name]['us_per_doc']:>8.1f} us/doc  P={scores.precision:.4f} "
                      f"R={scores.recall:.4f}", flush=True)
            for name in ("pure", "beam"):
                if name in row:
                    row[f"{name}_vs_datasketch"] = round(
                        row[name]["docs_per_s"] / row["datasketch"]["docs_per_s"], 2)
            rows.append(row)
            del docs
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Small sizes (1k, 3k).")
    parser.add_argument("--sizes", type=lambda v: [int(x) for x in v.split(",")],
                        help="Comma-separated corpus sizes (default 10000,30000,100000).")
    parser.add_argument("--beam-sizes", type=lambda v: [int(x) for x in v.split(",")],
                        help="Sizes also run through the Beam transform (default 10000,30000).")
    parser.add_argument("--seed", type=int, default=11, help="Corpus seed.")
    parser.add_argument("--json", help="Also write the results to this JSON file.")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([1000, 3000] if args.quick else [10_000, 30_000, 100_000])
    beam_sizes = args.beam_sizes or ([1000] if args.quick else [10_000, 30_000])
    print(f"started {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, cpus={os.cpu_count()}")
    rows = bench(sizes, beam_sizes, args.seed)
    state = stream_state_bytes(corpus(2000, args.seed))
    print("\n| documents | pure docs/s | datasketch docs/s | pure/datasketch | beam docs/s | "
          "beam/datasketch | pure µs/doc | datasketch µs/doc |")
    print("|---|---|---|---|---|---|---|---|")
    for row in rows:
        beam = row.get("beam", {})
        print(f"| {row['documents']} | {row['pure']['docs_per_s']} | "
              f"{row['datasketch']['docs_per_s']} | {row['pure_vs_datasketch']} | "
              f"{beam.get('docs_per_s', '-')} | {row.get('beam_vs_datasketch', '-')} | "
              f"{row['pure']['us_per_doc']} | {row['datasketch']['us_per_doc']} |")
    print(f"\nstreaming state per article: {json.dumps(state)}")
    horizon_day = timedelta(hours=72) / timedelta(days=1)
    print(f"e.g. 100k articles/day kept {horizon_day:g} days: "
          f"{state['state_bytes_per_article'] * 100_000 * horizon_day / 1e9:.2f} GB of state")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump({"rows": rows, "stream_state": state}, out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
