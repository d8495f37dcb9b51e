"""Labelled same-event set and story scoring (with the copy set of bench.copy_eval beside it).

    python -m bench.story_eval [--events 150] [--seed 7] [--mode batch|stream]

The documents, built at run time (nothing shared is stored here, only our labels):

- real texts (:mod:`bench.real_texts`): the five seeds (one event, five outlets: seed 000 is a
  rewrite dated eight weeks later, seed 003 is undated), the devset texts (two CNN stories of
  one day, a storm report and its summary, ...) and the Common Crawl articles, with our event
  labels and days;
- our written cases (:mod:`bench.story_cases`): three outlets and a follow-up on one ferry
  disaster, two on one wildfire and a same-day wildfire in another country, three stories of
  one outlet on one day, three stories under one site footer;
- the generator's events (:mod:`bench.dedup_eval`): 1-4 outlets per event with the same
  names, places and numbers in their own words, follow-ups a day later, briefs; copies left
  out (they join their canonical's story through dedup).

Scores: pairwise precision/recall over "same story" pairs, over all pairs and over pairs of
different outlets; the longest predicted story span against the horizon.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bench.dedup_eval import EvalDoc, generate_eval_set, pairwise_scores
from bench.real_texts import load_real_texts
from bench.story_cases import CASES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def build_story_set(events: int = 150, seed: int = 7, shared=None) -> list[EvalDoc]:
    """Real, written and generated reports with event labels (``label`` is the event)."""
    docs: list[EvalDoc] = []
    start = datetime(2024, 3, 1, tzinfo=UTC)
    real = load_real_texts(shared) if shared else load_real_texts()
    first_dated = {}
    for text in sorted((t for t in real if t.published_at), key=lambda t: t.published_at):
        first_dated.setdefault(text.event, text.published_at)
    for text in real:  # a crawler sees an undated page about when its event was reported
        seen = text.published_at or first_dated.get(text.event, start)
        docs.append(EvalDoc(text.name, text.event, "real", text.domain, text.published_at,
                            seen + timedelta(hours=len(docs) % 7), text.text, text.event))
    for case_id, event, site, when, text in CASES:
        moment = datetime.fromisoformat(when)
        docs.append(EvalDoc(f"case:{case_id}", event, "written", site, moment,
                            moment + timedelta(minutes=5), text, event))
    for doc in generate_eval_set(events=events, seed=seed):
        if doc.kind != "copy":
            docs.append(EvalDoc(f"gen:{doc.doc_id}", doc.event, f"generated_{doc.kind}",
                                f"{doc.outlet}.example", doc.published_at, doc.seen_at,
                                doc.text, doc.event))
    return docs


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - EPOCH) // timedelta(microseconds=1)


def predict(docs: Sequence[EvalDoc], mode: str = "batch", config=None) -> dict[str, str]:
    """doc_id -> story id. Batch: publication time (undated last); stream: event time, in
    order, through one index (what the stateful stage does per watermark step)."""
    from newsflow.transforms.stories import StoryIndex, StoryInput, assign_stories, key_terms

    config_terms = (config.terms_per_article if config else 32)
    items = {d.doc_id: StoryInput(d.doc_id, _micros(d.published_at if mode == "batch"
                                                    else d.seen_at),
                                  key_terms(d.text, limit=config_terms), site=d.outlet)
             for d in docs}
    if mode == "batch":
        labels, _ = assign_stories(items.values(), config)
        return {doc_id: label.story_id for doc_id, label in labels.items()}
    if mode != "stream":
        raise ValueError(f"unknown mode {mode!r}")
    index = StoryIndex(config)
    predicted = {}
    for item in sorted(items.values(), key=lambda item: item.order):
        index.expire(item.micros)
        predicted[item.article_id] = index.assign(item).story_id
    return predicted


def story_spans(docs: Sequence[EvalDoc], predicted: dict[str, str], mode: str) -> timedelta:
    """The longest time between two dated articles of one predicted story."""
    times = defaultdict(list)
    for d in docs:
        moment = d.published_at if mode == "batch" else d.seen_at
        if moment is not None:
            times[predicted[d.doc_id]].append(moment)
    return max((max(t) - min(t) for t in times.values()), default=timedelta(0))


def cross_outlet_scores(docs: Sequence[EvalDoc], predicted: dict[str, str]):
    """Pairwise precision/recall over pairs of documents from different outlets."""
    true_pairs = predicted_pairs = correct = 0
    for i, a in enumerate(docs):
        for b in docs[i + 1:]:
            if a.outlet == b.outlet:
                continue
            same_truth = a.label == b.label
            same_predicted = predicted[a.doc_id] == predicted[b.doc_id]
            true_pairs += same_truth
            predicted_pairs += same_predicted
            correct += same_truth and same_predicted
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "true_pairs": true_pairs, "predicted_pairs": predicted_pairs}


def evaluate(docs: Sequence[EvalDoc], mode: str = "batch", config=None) -> dict:
    predicted = predict(docs, mode, config)
    scores = pairwise_scores([d.label for d in docs], [predicted[d.doc_id] for d in docs])
    seeds = {predicted[d.doc_id] for d in docs if d.doc_id.startswith("seed:")}
    wrong = sorted({d.doc_id for d in docs for other in docs
                    if d.doc_id < other.doc_id and d.label != other.label
                    and predicted[d.doc_id] == predicted[other.doc_id]
                    and not d.doc_id.startswith("gen:")})
    return {"scores": scores, "cross_outlet": cross_outlet_scores(docs, predicted),
            "seed_stories": len(seeds), "longest_span_days": round(
                story_spans(docs, predicted, mode) / timedelta(days=1), 2),
            "stories": len(set(predicted.values())), "real_or_written_false_joins": wrong}


def main(argv: Sequence[str] | None = None) -> int:
    """Scores the stories and, in the same run, the realistic copy set (bench.copy_eval)."""
    from bench import copy_eval

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150, help="Generated events to add.")
    parser.add_argument("--seed", type=int, default=7, help="Generator seed.")
    parser.add_argument("--mode", choices=("batch", "stream"), default="batch")
    parser.add_argument("--no-copies", action="store_true", dest="no_copies",
                        help="Skip the copy set (python -m bench.copy_eval scores it alone).")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    docs = build_story_set(args.events, args.seed)
    built = time.perf_counter()
    result = evaluate(docs, args.mode)
    scores = result.pop("scores")
    print(f"stories: {len(docs)} documents, {len({d.label for d in docs})} events, built in "
          f"{built - started:.1f}s, scored in {time.perf_counter() - built:.1f}s")
    print(json.dumps({"mode": args.mode, "events": args.events, "seed": args.seed,
                      "precision": round(scores.precision, 4),
                      "recall": round(scores.recall, 4), "ari": round(scores.ari, 4),
                      **result}))
    if not args.no_copies:
        copy_eval.main(["--mode", args.mode])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
