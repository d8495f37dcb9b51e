"""Realistic syndicated copies, built at run time from real article texts, and their scoring.

    python -m bench.copy_eval [--events 60] [--seed 3] [--mode batch|stream]

Originals are the real texts of :mod:`bench.real_texts` (the seeds, the devset, the Common
Crawl articles) plus the originals of the generator in :mod:`bench.dedup_eval`. Each original
gets copies made by the edit recipes below (our own, the only thing stored here): what copy
desks and aggregators do to a story, alone and combined. A copy keeps at least about 40 % of
the original's sentences in order (a trim to the first third keeps a third), and what it adds
stays below what it keeps. Hard negatives come with it: other outlets' own reports of the same
event (the seeds, the generator's outlets), follow-ups that reuse one paragraph, and briefs of
one site that all carry the same header or footer. Scores are pairwise over "same cluster"
pairs (:func:`bench.dedup_eval.pairwise_scores`), and recall per edit kind.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from bench.dedup_eval import (
    EvalDoc,
    _curly_quotes,
    _edit_words,
    generate_eval_set,
    make_event,
    pairwise_scores,
    write_article,
    write_brief,
)
from bench.real_texts import load_real_texts

# --------------------------------------------------------------------------------------------
# Edit recipes: text -> copy


def paragraphs_of(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n+", text) if p.strip()]


_SENTENCE_END = re.compile(r"(?<=[.!?\u0964\u3002])\s+")


def sentences_of(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(paragraph) if s.strip()]


def _units(text: str) -> list[str]:
    """Paragraphs, or sentences when a text has too few paragraphs to edit."""
    paragraphs = paragraphs_of(text)
    if len(paragraphs) >= 6:
        return paragraphs
    return [s for p in paragraphs for s in sentences_of(p)]


_STOP_CAPS = {"The", "A", "An", "In", "On", "At", "He", "She", "It", "They", "We", "But", "And",
              "This", "That", "As", "For", "After", "Since", "While", "His", "Her", "Its"}


def _names(text: str, limit: int = 4) -> list[str]:
    """Capitalized words of a text (not sentence openers we know), for headlines and ledes."""
    found = [w.strip(".,;:\"'“”’()") for w in text.split()[1:]
             if w[:1].isupper() and w.strip(".,;:\"'“”’()") not in _STOP_CAPS]
    return list(dict.fromkeys(w for w in found if len(w) > 2))[:limit] or ["Officials"]


_HEADLINE_FORMS = ("{0} and {1}: what we know so far", "{0} in focus as {1} responds",
                   "Latest: {0}, {1} and the questions that remain", "{0} — {1} update",
                   "Why {0} matters for {1}")
_LEDE_FORMS = ("{0} was at the centre of attention again as {1} and {2} drew scrutiny from "
               "officials and observers alike, according to accounts gathered on {day}.",
               "What began with {0} has turned into a wider story involving {1}, with {2} "
               "among those named in reports published on {day}.",
               "Readers following {0} will want to know the latest: {1} and {2} are now at "
               "the heart of the matter, people familiar with it said on {day}.")


def headline(text: str, rng: random.Random) -> str:
    names = _names(text) + ["Officials", "Residents"]
    return rng.choice(_HEADLINE_FORMS).format(*names[:2])


def trim_third(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    return units[: max(2, -(-len(units) // 3))]


def trim_half(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    return units[: max(2, -(-len(units) // 2))]


def drop_units(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    """Drop up to 40 % of the units after the first (never the lede)."""
    drop = set(rng.sample(range(1, len(units)), k=int((len(units) - 1) * rng.uniform(0.2, 0.4))))
    return [u for i, u in enumerate(units) if i not in drop]


def reorder(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    """Move two or three units (never the lede) somewhere else."""
    units = list(units)
    for _ in range(rng.randint(2, 3)):
        if len(units) < 4:
            break
        moved = units.pop(rng.randrange(1, len(units)))
        units.insert(rng.randrange(1, len(units) + 1), moved)
    return units


def insert_local(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    """Insert local paragraphs (another text's) amounting to at most half of what is kept."""
    units = list(units)
    budget = sum(len(u.split()) for u in units) // 2
    for donor in rng.sample(donors, k=min(len(donors), 3)):
        if len(donor.split()) > budget:
            continue
        budget -= len(donor.split())
        units.insert(rng.randrange(1, len(units) + 1), donor)
    return units


def rewrite_lede(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    """The first unit is rewritten: its names survive, its wording does not."""
    names = _names(units[0], 3) + ["officials", "residents", "the authorities"]
    day = rng.choice(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"))
    return [rng.choice(_LEDE_FORMS).format(*names[:3], day=day)] + units[1:]


def new_headline(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    top = [headline(" ".join(units[:2]), rng)]
    if rng.random() < 0.5:
        top.append(f"{_names(units[0], 1)[0]}: the details, the reactions and what comes next")
    return top + units


def page_capture(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    """A whole-page capture: date line, breadcrumb, the title twice, a related tail."""
    title = headline(" ".join(units[:2]), rng)
    return ([rng.choice(("Monday, July 1, 2024", "Updated: 12 March 2024 14:05")),
             f"HomeWorldNews{title}", title] + units
            + ["RELATED ARTICLES", headline(units[-1], rng), "Most Popular",
               headline(units[len(units) // 2], rng)])


def light(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    """Light syndication edits: dateline, agency credit, word edits, ads, quotes."""
    units = [_edit_words(u, rng, 0.01) for u in units]
    city = _names(units[0], 1)[0].upper()
    units[0] = rng.choice((f"{city} (AP) — ", f"{city.title()} (Reuters) - ", "")) + units[0]
    for _ in range(rng.randint(0, 2)):
        units.insert(rng.randrange(1, len(units) + 1), rng.choice(
            ("Advertisement", "Story continues below advertisement", "Share this article")))
    units[-1] += rng.choice(("", " (AP)", " — Reuters"))
    return units


def url_variant(units: list[str], rng: random.Random, donors: list[str]) -> list[str]:
    """The same page under another URL (print, AMP, tracking parameters)."""
    return list(units)


EDITS: dict[str, Callable] = {
    "url_variant": url_variant, "page_capture": page_capture, "light": light,
    "trim_third": trim_third, "trim_half": trim_half, "drop": drop_units, "reorder": reorder,
    "insert_local": insert_local, "rewrite_lede": rewrite_lede, "headline": new_headline,
}
#: Recipes: one edit or a combination, applied left to right.
RECIPES: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in EDITS},
    "trim_half+rewrite_lede+headline": ("trim_half", "rewrite_lede", "headline"),
    "drop+reorder+light": ("drop", "reorder", "light"),
    "trim_third+headline+light": ("trim_third", "headline", "light"),
    "rewrite_lede+insert_local+drop": ("drop", "rewrite_lede", "insert_local"),
    "trim_half+insert_local+page_capture": ("trim_half", "insert_local", "page_capture"),
    "reorder+rewrite_lede+headline": ("reorder", "rewrite_lede", "headline"),
}
#: Real texts that are one text on two pages: copies of each other.
SAME_TEXT = {"devset:video_article_01": "devset:cleveland.com1"}
HEAVY = ("trim_third", "trim_half", "drop", "reorder", "insert_local", "rewrite_lede",
         "headline")


def make_copy(text: str, recipe: str, rng: random.Random, donors: list[str]) -> str:
    units = _units(text)
    for edit in RECIPES[recipe]:
        units = EDITS[edit](units, rng, donors)
    copy = "\n\n".join(units)
    return _curly_quotes(copy) if "light" in RECIPES[recipe] and rng.random() < 0.5 else copy


# --------------------------------------------------------------------------------------------
# Hard negatives of our own: site boilerplate and follow-ups

#: Our own boilerplate blocks, as sites leave them in extracted text (unknown to any rule).
SITE_BOILERPLATE = {
    "footer": ("The Harbour Gazette is an independent, reader-funded newsroom covering the "
               "city, the port and the valley since 1911. Our reporting is free to read "
               "because thousands of readers chip in every month. If you value local news, "
               "please consider becoming a member today. Corrections and tips can be sent to "
               "our newsroom at any time, and every message is read by an editor."),
    "header": ("Valley Courier Live. Local news, weather and traffic for the valley and the "
               "lakeshore towns. Today's forecast: sunny spells with a chance of showers later "
               "in the afternoon. Download our app to get breaking news alerts and the morning "
               "briefing straight to your phone, free of charge."),
}


# --------------------------------------------------------------------------------------------
# The set


def _site(name: str) -> str:
    return f"{name}.example"


def build_copy_set(events: int = 60, seed: int = 3, shared=None,
                   recipes_per_original: int | None = None) -> list[EvalDoc]:
    """Real and generated originals, their copies by every recipe, and the hard negatives.

    Deterministic for a seed. Each doc's ``outlet`` is its site (a domain).
    """
    rng = random.Random(seed)
    real = [t for t in (load_real_texts(shared) if shared else load_real_texts())
            if t.words >= 120]
    generated = generate_eval_set(events=events, seed=seed)
    docs: list[EvalDoc] = []
    when0 = datetime(2024, 3, 1, tzinfo=UTC)

    def add(label: str | None, kind: str, site: str, published, text: str,
            seen: datetime | None = None) -> EvalDoc:
        """``published`` may be None (undated); ``seen`` (the stream's event time) never is."""
        doc_id = f"c{len(docs):06d}"
        seen = seen or (published or when0) + timedelta(minutes=rng.randint(1, 240))
        doc = EvalDoc(doc_id, label or doc_id, kind, site, published, seen, text)
        docs.append(doc)
        return doc

    donors = [p for t in real for p in paragraphs_of(t.text)[1:] if 25 <= len(p.split()) <= 90]
    originals = [(t.text, t.domain, t.published_at or when0, t.name) for t in real]
    renamed: dict[str, str] = {}
    for doc in generated:  # the generator's own set stays as it is, with its labels
        kept = add(renamed.get(doc.label), doc.kind, _site(doc.outlet), doc.published_at,
                   doc.text, doc.seen_at)
        renamed.setdefault(doc.label, kept.label)
        if doc.kind == "original":
            originals.append((doc.text, kept.outlet, doc.seen_at, kept.label))
    labels: dict[str, str] = {}
    for text, site, published, name in originals:
        if name.startswith(("seed:", "devset:", "warc:")):
            labels[name] = add(labels.get(SAME_TEXT.get(name, "")), "original", site, published,
                               text).label
        else:
            labels[name] = name
    names = sorted(RECIPES)
    for text, site, published, name in originals:
        local = random.Random(f"{seed}:{name}")
        chosen = names if name.startswith(("seed:", "devset:", "warc:")) else \
            local.sample(HEAVY + tuple(n for n in names if "+" in n), k=2)
        if recipes_per_original:
            chosen = local.sample(chosen, k=min(recipes_per_original, len(chosen)))
        for recipe in chosen:
            copy_site = site if recipe == "url_variant" else _site(
                f"partner{local.randrange(40):02d}")
            add(labels[name], f"copy:{recipe}", copy_site,
                published + timedelta(hours=local.randint(0, 48)),
                make_copy(text, recipe, local, donors))
    # follow-ups: a new story (generated) that reuses one paragraph of the original
    for text, site, published, _ in originals[: len(real)]:
        paragraphs = paragraphs_of(text)
        if len(paragraphs) < 6:
            continue
        follow = paragraphs_of(write_article(make_event(rng, published), rng, (4, 7)))
        follow.insert(rng.randint(1, len(follow)), rng.choice(paragraphs[1:]))
        add(None, "follow_up", site, published + timedelta(days=1), "\n\n".join(follow))
    # briefs that carry one site's header, or the footer of one network's three sites
    for position, block in SITE_BOILERPLATE.items():
        for index in range(10):
            body = write_brief(make_event(rng, when0), rng)
            text = f"{block}\n\n{body}" if position == "header" else f"{body}\n\n{block}"
            # the footer is one network's: its three sites carry it
            site = f"site-{position}" + (f"-{index % 3}" if position == "footer" else "")
            add(None, "boilerplate", _site(site), when0 + timedelta(hours=index), text)
    return docs


# --------------------------------------------------------------------------------------------
# Scoring


def recall_by_kind(docs: Sequence[EvalDoc], predicted: dict[str, str]) -> dict[str, float]:
    """Per copy kind: the share of copies put in the same cluster as their story's original."""
    anchor = {d.label: d.doc_id for d in docs if d.doc_id == d.label}
    hits: dict[str, list[int]] = defaultdict(list)
    for d in docs:
        if d.kind.startswith("copy") and d.label in anchor:
            hits[d.kind.split(":", 1)[-1]].append(
                predicted[d.doc_id] == predicted[anchor[d.label]])
    return {kind: round(sum(v) / len(v), 3) for kind, v in sorted(hits.items())}


def false_merges_by_kind(docs: Sequence[EvalDoc], predicted: dict[str, str]) -> dict[str, int]:
    """Per kind of negative: how many of its docs share a cluster with a doc of another label."""
    labels_in: dict[str, set[str]] = defaultdict(set)
    for d in docs:
        labels_in[predicted[d.doc_id]].add(d.label)
    merged = Counter(d.kind for d in docs if len(labels_in[predicted[d.doc_id]]) > 1)
    return dict(sorted(merged.items()))


def predict(docs: Sequence[EvalDoc], mode: str = "batch", config=None) -> dict[str, str]:
    """doc_id -> predicted cluster, by the in-memory twin of the batch or streaming transform,
    with each doc's site."""
    from newsflow.transforms.dedup import (
        DedupInput,
        batch_order_key,
        deduplicate_records,
        deduplicate_stream_records,
    )

    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    if mode == "batch":
        resolutions, _ = deduplicate_records(
            (DedupInput(d.doc_id, batch_order_key(d.published_at, d.doc_id), d.text, d.outlet)
             for d in docs), config)
    elif mode == "stream":
        resolutions, _ = deduplicate_stream_records(
            (DedupInput(d.doc_id, (d.seen_at - epoch) // timedelta(microseconds=1), d.text,
                        d.outlet) for d in docs), config)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return {doc_id: cluster for doc_id, (cluster, _) in resolutions.items()}


def evaluate(docs: Sequence[EvalDoc], mode: str = "batch", config=None) -> dict:
    predicted = predict(docs, mode, config)
    scores = pairwise_scores([d.label for d in docs], [predicted[d.doc_id] for d in docs])
    return {"scores": scores, "recall_by_kind": recall_by_kind(docs, predicted),
            "false_merges": false_merges_by_kind(docs, predicted)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60, help="Generated events to add.")
    parser.add_argument("--seed", type=int, default=3, help="Seed of the edits.")
    parser.add_argument("--mode", choices=("batch", "stream"), default="batch")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    docs = build_copy_set(args.events, args.seed)
    built = time.perf_counter()
    result = evaluate(docs, args.mode)
    kinds = Counter(d.kind.split(":")[0] for d in docs)
    print(f"documents: {len(docs)} ({dict(kinds)}), built in {built - started:.1f}s, scored in "
          f"{time.perf_counter() - built:.1f}s")
    scores = result["scores"]
    print(json.dumps({"mode": args.mode, "events": args.events, "seed": args.seed,
                      **{k: round(v, 4) if isinstance(v, float) else v
                         for k, v in scores.__dict__.items()}}))
    print("recall by edit:", json.dumps(result["recall_by_kind"]))
    print("docs in a cluster with another label, by kind:", json.dumps(result["false_merges"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
