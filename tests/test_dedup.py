"""Near-duplicate detection: pure functions, the labelled evaluation, batch and streaming Beam."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.test_stream import TestStream as BeamTestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from bench.copy_eval import RECIPES, SITE_BOILERPLATE, build_copy_set, make_copy, paragraphs_of
from bench.copy_eval import evaluate as evaluate_copies
from bench.copy_eval import predict as predict_copies
from bench.dedup_eval import (
    EvalDoc,
    as_article,
    evaluate,
    generate_eval_set,
    make_article,
    make_event,
    pairwise_scores,
    predict,
    site_of_outlet,
    write_brief,
)
from bench.real_texts import load_real_texts
from newsflow.schemas.records import Skip
from newsflow.transforms.catalog import read_delta
from newsflow.transforms.dedup import (
    DEFAULT_CONFIG,
    DedupConfig,
    DeduplicateArticles,
    DeduplicateStream,
    Evidence,
    Fingerprinter,
    assign_canonicals,
    band_keys,
    batch_order_key,
    containment,
    deduplicate_records,
    deduplicate_stream_records,
    exact_key,
    is_near_duplicate,
    jaccard,
    make_permutations,
    minhash_signature,
    normalize_for_dedup,
    shared_sentences,
    shingles,
    verify_copy,
)
from newsflow.transforms.dedup.config import LOCAL_CC_ROUNDS
from newsflow.transforms.urls import site_of
from tests.conftest import BEAM_TEST_ARGS

SEED_PREFIX = re.compile(r"^ date (\d{4}-\d{2}-\d{2}) ")
T0 = datetime(2024, 3, 1, 12, tzinfo=UTC)
WORDS = ("harbour officials said the delayed cargo inspections would resume next week after "
         "unions agreed to extra night shifts while exporters warned that perishable goods were "
         "already spoiling in refrigerated containers along the eastern quay").split()


def _text(seed: int, paragraphs: int = 6, words: int = 60) -> str:
    rng = random.Random(seed)
    return "\n\n".join(" ".join(rng.choice(WORDS) + str(rng.randint(0, 999))
                                for _ in range(words)) for _ in range(paragraphs))


def _sh(text: str) -> np.ndarray:
    return shingles(normalize_for_dedup(text), DEFAULT_CONFIG.shingle_size)


def resyndicate(text: str) -> str:
    """What a copy desk does to a wire story: new headline, dateline, trimmed tail, a few
    word edits, typographic quotes, an agency credit and a "RELATED ARTICLES" block."""
    paragraphs = [p for p in re.split(r"\n+", text.strip()) if p.strip()]
    paragraphs = paragraphs[:-1]  # trimmed tail
    paragraphs[0] = "SEOUL (AP) — " + paragraphs[0]
    edited = []
    for paragraph in paragraphs:
        paragraph = paragraph.replace("’", "'").replace("armored", "armoured")
        paragraph = paragraph.replace(" said", " told reporters", 1)
        edited.append(paragraph.replace('"', "”"))
    edited[-1] += " (AP)"
    return "\n\n".join(["Kim tours jet plant as Russia ties deepen"] + edited
                       + ["RELATED ARTICLES", "Putin to visit Pyongyang", "Most Popular"])


def read_seeds(seeds_dir) -> list[tuple[str, datetime | None, str]]:
    seeds = []
    for path in sorted(seeds_dir.glob("0*.txt")):
        raw = path.read_text(encoding="utf-8")
        match = SEED_PREFIX.match(raw)
        published = (datetime.fromisoformat(match.group(1)).replace(tzinfo=UTC)
                     if match else None)
        seeds.append((path.stem, published, raw[match.end():] if match else raw))
    return seeds


# --------------------------------------------------------------------------------------------
# Normalization


@pytest.mark.parametrize("variant", [
    "SEOUL (AP) — North Korean leader Kim Jong Un toured a fighter jet plant on Friday.",
    "Seoul, Sept 15 (Reuters) - North Korean leader Kim Jong Un toured a fighter jet plant "
    "on Friday.",
    "Seoul : North Korean leader Kim Jong Un toured a fighter jet plant on Friday.",
    "WASHINGTON -- North Korean leader Kim Jong Un toured a fighter jet plant on Friday.",
    "Kim tours jet plant\nSEOUL (AFP) - North Korean leader Kim Jong Un toured a fighter jet "
    "plant on Friday.",
    "North  Korean leader Kim Jong\u00a0Un toured a fighter jet plant on Friday. (AP)",
    "NORTH KOREAN LEADER KIM JONG UN TOURED A FIGHTER JET PLANT ON FRIDAY — Reuters",
])
def test_normalize_strips_datelines_credits_case_and_whitespace(variant):
    expected = "north korean leader kim jong un toured a fighter jet plant on friday"
    if variant.startswith("Kim tours"):
        expected = "kim tours jet plant " + expected
    assert normalize_for_dedup(variant) == expected


def test_normalize_unifies_unicode_and_quote_styles():
    curly = "“We’re ready,” said the ﬁrst minister – again…"
    straight = "\"We're ready,\" said the first minister - again..."
    assert normalize_for_dedup(curly) == normalize_for_dedup(straight)
    assert normalize_for_dedup(curly) == "we re ready said the first minister again"


def test_normalize_drops_boilerplate_lines_and_related_tail():
    body = "The port reopened on Monday after a week of strikes by dock workers."
    text = "\n\n".join([
        "Monday, July 1, 2024", body, "Advertisement", "Sign up for our morning newsletter",
        "Reporting by Jane Doe; Editing by John Roe",
        "© 2024 The Associated Press. All rights reserved.",
        "RELATED ARTICLES", "Strikes spread to airports", "Most Popular", "Weather"])
    assert normalize_for_dedup(text) == normalize_for_dedup(body)


def test_normalize_keeps_body_text_that_looks_like_boilerplate():
    long_line = ("By the end of the year the plant had doubled its output, subscribe rates rose "
                 "and officials said the new assembly line would hire four hundred more workers "
                 "from the surrounding towns and villages.")
    assert normalize_for_dedup(long_line).startswith("by the end of the year")
    assert normalize_for_dedup("Advertisement") == ""


# --------------------------------------------------------------------------------------------
# Shingles and similarity


def test_shingles_are_stable_sorted_unique_hashes():
    text = normalize_for_dedup(_text(1))
    first, again = shingles(text, 5), shingles(text, 5)
    assert first.dtype == np.uint32 and np.array_equal(first, again)
    assert np.all(np.diff(first.astype(np.int64)) > 0)
    assert len(first) == len(set(zip(*(text.split()[i:] for i in range(5)), strict=False)))
    assert shingles("", 5).size == 0
    assert shingles("too short", 5).size == 1
    assert not np.array_equal(shingles("a b c d e f", 5), shingles("f e d c b a", 5))


def test_jaccard_and_containment():
    a, b = _sh(_text(1)), _sh(_text(2))
    assert jaccard(a, a) == 1.0 and containment(a, a) == 1.0
    assert jaccard(a, b) < 0.02
    head = _sh(_text(1).split("\n\n", 1)[1])  # the same text without its first paragraph
    assert containment(head, a) == 1.0
    assert 0.7 < jaccard(head, a) < 0.9
    assert jaccard(np.zeros(0, np.uint32), np.zeros(0, np.uint32)) == 0.0


def test_is_near_duplicate_accepts_trimmed_copies_rejects_follow_ups():
    original = _text(1, paragraphs=9)
    paragraphs = original.split("\n\n")
    trimmed = "\n\n".join(paragraphs[:5])  # 5 of 9 paragraphs: Jaccard 0.55, containment 1.0
    ok, similarity = is_near_duplicate(_sh(trimmed), _sh(original))
    assert ok and similarity == 1.0
    brief = paragraphs[0]  # one paragraph of nine: too short to call a copy
    assert not is_near_duplicate(_sh(brief), _sh(original))[0]
    follow_up = "\n\n".join(_text(7, paragraphs=5).split("\n\n") + [paragraphs[3]])
    ok, similarity = is_near_duplicate(_sh(follow_up), _sh(original))
    assert not ok and similarity < 0.3


def test_seeds_are_far_apart_and_follow_up_of_a_seed_is_not_a_duplicate(seeds_dir):
    seeds = [text for _, _, text in read_seeds(seeds_dir)]
    sets = [_sh(text) for text in seeds]
    for i in range(5):
        for j in range(i + 1, 5):
            assert jaccard(sets[i], sets[j]) <= 0.02
            assert not is_near_duplicate(sets[i], sets[j])[0]
    reused = re.split(r"\n+", seeds[1].strip())[2]
    follow_up = seeds[4].replace("\n\n", f"\n\n{reused}\n\n", 1)
    assert not is_near_duplicate(_sh(follow_up), sets[1])[0]


# --------------------------------------------------------------------------------------------
# MinHash and LSH


def test_minhash_estimates_jaccard_and_is_deterministic():
    permutations = make_permutations(256, seed=3)
    again = make_permutations(256, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(permutations, again, strict=True))
    a = _sh(_text(1, paragraphs=9))
    b = _sh("\n\n".join(_text(1, paragraphs=9).split("\n\n")[:6]))
    sig_a, sig_b = minhash_signature(a, permutations), minhash_signature(b, permutations)
    assert sig_a.dtype == np.uint32 and sig_a.shape == (256,)
    assert abs(float(np.mean(sig_a == sig_b)) - jaccard(a, b)) < 0.1
    assert np.array_equal(sig_a, minhash_signature(a, again))


def test_band_keys_differ_per_band_and_change_with_one_row():
    signature = minhash_signature(_sh(_text(1)), make_permutations(128, seed=1))
    keys = band_keys(signature, 42, 3)
    assert len(keys) == len(set(keys)) == 42 and all(0 <= k < 2**63 for k in keys)
    changed = signature.copy()
    changed[7] += 1  # row 7 belongs to band 2
    other = band_keys(changed, 42, 3)
    assert [i for i, (x, y) in enumerate(zip(keys, other, strict=True)) if x != y] == [2]
    assert band_keys(np.zeros(128, np.uint32), 42, 3) != band_keys(np.ones(128, np.uint32), 42, 3)


def test_exact_key_ignores_what_normalization_removes():
    assert exact_key(normalize_for_dedup("SEOUL (AP) — Kim   visited the jet plant.")) == \
        exact_key(normalize_for_dedup("Kim visited the jet plant. (AP)"))
    assert exact_key("kim visited") != exact_key("kim visited a plant")


def test_config_validates():
    with pytest.raises(ValueError):
        DedupConfig(bands=50, rows=3, num_perm=128)
    with pytest.raises(ValueError):
        DedupConfig(jaccard_threshold=0.0)
    with pytest.raises(ValueError):
        DedupConfig(horizon=timedelta(0))


# --------------------------------------------------------------------------------------------
# Canonical choice


def test_batch_order_key_puts_earliest_first_undated_last_ties_by_id():
    keys = [batch_order_key(None, "a"), batch_order_key(T0, "b"), batch_order_key(T0, "a"),
            batch_order_key(T0 - timedelta(hours=1), "z")]
    assert [k[-1] for k in sorted(keys)] == ["z", "a", "b", "a"]
    assert sorted(keys)[-1] == (1, 0, "a")


def test_chains_never_glue_stories_together():
    a, b, c = (0, 1, "a"), (0, 2, "b"), (0, 3, "c")
    # b matches both, c only matches b: c must not join a's cluster through b
    assert assign_canonicals([a, b, c], [(a, b, 0.7), (b, c, 0.7)]) == {"b": ("a", 0.7)}
    assert assign_canonicals([a, b, c], [(a, b, 0.7), (b, c, 0.7), (a, c, 0.6)]) == {
        "b": ("a", 0.7), "c": ("a", 0.6)}


STUB = "This content is not available in your region."


def test_batch_records_exact_copies_undated_last_and_guards():
    base = _text(1, paragraphs=8)
    copy = "WASHINGTON (AP) — " + base.replace("\n\n", "\n") + " (AP)"  # exact after normalizing
    near = "\n\n".join(base.split("\n\n")[:6])
    records = [("undated", batch_order_key(None, "undated"), base),
               ("late", batch_order_key(T0 + timedelta(days=1), "late"), copy),
               ("early", batch_order_key(T0, "early"), near),
               ("stub", batch_order_key(T0, "stub"), STUB),
               ("stub2", batch_order_key(T0, "stub2"), STUB),
               ("other", batch_order_key(T0, "other"), _text(2))]
    resolutions, stats = deduplicate_records(records)
    assert {k: v[0] for k, v in resolutions.items()} == {
        "undated": "early", "late": "early", "early": "early", "stub": "stub",
        "stub2": "stub2", "other": "other"}
    assert stats.exact_duplicates == 1 and stats.skipped_short == 2
    assert stats.verified_duplicates == 2 and stats.clusters == 4 and stats.largest_cluster == 3
    assert resolutions["late"][1] == resolutions["undated"][1]  # same text, same score
    guarded, stats = deduplicate_records(records, DedupConfig(max_bucket_size=2, min_words=3))
    assert stats.oversized_bucket == 0 and guarded["stub2"][0] == "stub"


def _syndicated(copies: int) -> list[tuple[str, tuple, str]]:
    """One wire story under many outlets: near-identical, each with its own byline words."""
    base = _text(5, paragraphs=8)
    return [(f"c{i:02d}", batch_order_key(T0 + timedelta(minutes=i), f"c{i:02d}"),
             base + f" extra{i} words{i} here{i}") for i in range(copies)]


def test_oversized_bucket_pairs_each_copy_with_the_earliest_only():
    copies = _syndicated(12)
    resolutions, stats = deduplicate_records(copies)
    assert stats.oversized_bucket == 0 and stats.candidates == 66  # all 12 * 11 / 2 pairs
    capped, stats = deduplicate_records(copies, DedupConfig(max_bucket_size=4, max_candidates=2))
    assert stats.oversized_bucket > 0
    # c00 and c01 pair with each other and with the 10 others: 1 + 2 * 10 pairs, not 66
    assert stats.candidates == 21
    assert capped == resolutions  # still one cluster under the earliest copy
    assert {cluster for cluster, _ in capped.values()} == {"c00"}
    assert stats.verified_duplicates == 11 and stats.largest_cluster == 12


# --------------------------------------------------------------------------------------------
# Labelled evaluation and the seeds


def test_pairwise_scores():
    perfect = pairwise_scores(["a", "a", "b"], ["x", "x", "y"])
    assert (perfect.precision, perfect.recall, perfect.f1, perfect.ari) == (1.0, 1.0, 1.0, 1.0)
    split = pairwise_scores(["a", "a", "a", "b"], ["x", "x", "y", "z"])
    assert split.precision == 1.0 and split.recall == pytest.approx(1 / 3)
    merged = pairwise_scores(["a", "b", "c"], ["x", "x", "x"])
    assert merged.precision == 0.0 and merged.ari == pytest.approx(0.0)


@pytest.fixture(scope="module")
def eval_set():
    return generate_eval_set(events=40, seed=5)


def test_eval_set_is_deterministic_and_has_hard_negatives(eval_set):
    assert [d.text for d in generate_eval_set(events=40, seed=5)] == [d.text for d in eval_set]
    kinds = {d.kind for d in eval_set}
    assert kinds == {"original", "copy", "follow_up", "brief"}
    assert len({d.label for d in eval_set}) > 100


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_eval_targets(eval_set, mode):
    scores = evaluate(eval_set, mode)
    assert scores.precision >= 0.98 and scores.recall >= 0.95, scores
    assert scores.ari >= 0.95, scores


def test_seeds_stay_five_clusters_and_copies_join_their_seed(seeds_dir):
    seeds = read_seeds(seeds_dir)
    records = [(name, batch_order_key(published, name), text) for name, published, text in seeds]
    records += [(f"copy-{name}", batch_order_key(T0, f"copy-{name}"), resyndicate(text))
                for name, _, text in seeds]
    resolutions, stats = deduplicate_records(records)
    clusters = {resolutions[name][0] for name, _, _ in seeds}
    assert len(clusters) == 5
    for name, _, _ in seeds:
        assert resolutions[f"copy-{name}"][0] == resolutions[name][0]
    assert stats.clusters == 5 and stats.largest_cluster == 2
    # the undated seed 003 is not the canonical of its cluster; dated seeds are
    assert resolutions["003_c8e3a2b9613ef7a0"] == ("copy-003_c8e3a2b9613ef7a0",
                                                   resolutions["003_c8e3a2b9613ef7a0"][1])
    stream, _ = deduplicate_stream_records(
        (name, i * 60_000_000, text) for i, (name, _, text) in enumerate(records))
    assert len({cluster for cluster, _ in stream.values()}) == 5
    assert all(stream[f"copy-{name}"][0] == name for name, _, _ in seeds)


# --------------------------------------------------------------------------------------------
# Heavily edited copies: sentence rules between sites


def _ev(text: str, site: str) -> Evidence:
    fp = Fingerprinter(DEFAULT_CONFIG).fingerprint("x", (0, 0, "x"), text, site)
    return fp.evidence


def _seed_copies(seeds, recipes=tuple(RECIPES)):
    """Every recipe applied to every seed, each copy on a partner site of its own."""
    donors = [p for _, _, text in seeds for p in paragraphs_of(text)[1:]
              if len(p.split()) >= 25][::3]
    copies = []
    for name, _, text in seeds:
        others = [p for p in donors if p not in text]
        for index, recipe in enumerate(recipes):
            rng = random.Random(f"{name}:{recipe}")
            copies.append((f"{name}~{recipe}", name, f"partner{index}.example",
                           make_copy(text, recipe, rng, others)))
    return copies


def test_sentence_rules_take_heavy_copies_between_sites_only(seeds_dir):
    seeds = read_seeds(seeds_dir)
    text = seeds[4][2]
    donors = [p for _, _, other in seeds[:3] for p in paragraphs_of(other)[1:]
              if len(p.split()) >= 25]
    heavy = make_copy(text, "trim_half+insert_local+page_capture", random.Random(1), donors)
    assert not is_near_duplicate(_sh(heavy), _sh(text))[0]  # the shingle rules miss it
    ok, similarity = verify_copy(_ev(heavy, "partner.example"), _ev(text, "seed.example"))
    assert ok and 0.55 <= similarity <= 1.0
    # within one site, or with a site unknown (a text dump), only the shingle rules apply
    assert not verify_copy(_ev(heavy, "seed.example"), _ev(text, "seed.example"))[0]
    assert not verify_copy(_ev(heavy, ""), _ev(text, "seed.example"))[0]
    # a follow-up reusing one paragraph, and another outlet's report of the event, are not
    reused = paragraphs_of(seeds[1][2])[2]
    follow_up = seeds[4][2].replace("\n\n", f"\n\n{reused}\n\n", 1)
    assert not verify_copy(_ev(follow_up, "a.example"), _ev(seeds[1][2], "b.example"))[0]
    assert not verify_copy(_ev(seeds[0][2], "a.example"), _ev(seeds[2][2], "b.example"))[0]


def test_network_footer_shared_by_two_sites_is_not_a_copy():
    footer = SITE_BOILERPLATE["footer"]
    first = f"{_text(11, paragraphs=1, words=40)}.\n\n{footer}"
    second = f"{_text(12, paragraphs=1, words=45)}.\n\n{footer}"
    shared, within, _, block = shared_sentences(
        np.frombuffer(_ev(first, "a.example").sentences, np.uint32),
        np.frombuffer(_ev(second, "b.example").sentences, np.uint32))
    assert shared >= 3 and within >= 0.55 and block == "footer"  # what the footer rule is for
    assert not verify_copy(_ev(first, "a.example"), _ev(second, "b.example"))[0]


def _processed_seeds(shared_dir) -> list[tuple[str, datetime | None, str]]:
    """The seeds as a backfill reads them (text dump reader, cleaning): what copies copy."""
    return [(text.name, text.published_at, text.text) for text in load_real_texts(shared_dir)
            if text.name.startswith("seed:")]


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_every_edit_kind_of_every_seed_joins_its_seed(shared_dir, mode):
    seeds = _processed_seeds(shared_dir)
    copies = _seed_copies(seeds)
    if mode == "batch":
        records = [(name, batch_order_key(published or T0, name), text, f"seed{i}.example")
                   for i, (name, published, text) in enumerate(seeds)]
        records += [(cid, batch_order_key(T0 + timedelta(days=1), cid), text, site)
                    for cid, _, site, text in copies]
        resolutions, _ = deduplicate_records(records)
    else:
        records = [(name, i, text, f"seed{i}.example") for i, (name, _, text) in enumerate(seeds)]
        records += [(cid, 1000 + i, text, site) for i, (cid, _, site, text) in enumerate(copies)]
        resolutions, _ = deduplicate_stream_records(records)
    assert len({resolutions[name][0] for name, _, _ in seeds}) == 5  # five copy-clusters
    missed = [cid for cid, seed, _, _ in copies if resolutions[cid][0] != resolutions[seed][0]]
    assert missed == []


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_same_site_and_network_boilerplate_never_merge(mode):
    rng = random.Random(4)
    docs = []
    for position, block in SITE_BOILERPLATE.items():
        for index in range(8):
            body = write_brief(make_event(rng, T0), rng)
            text = f"{block}\n\n{body}" if position == "header" else f"{body}\n\n{block}"
            site = f"{position}.example" if index % 2 else f"{position}-{index}.example"
            docs.append(EvalDoc(f"{position}{index}", f"{position}{index}", "boilerplate", site,
                                T0 + timedelta(hours=index), T0 + timedelta(hours=index), text))
    predicted = predict_copies(docs, mode)
    assert len(set(predicted.values())) == len(docs)


@pytest.fixture(scope="module")
def copy_set(shared_dir):
    return build_copy_set(events=12, seed=3, shared=shared_dir)


def test_copy_set_has_every_edit_and_negative_kind(copy_set):
    kinds = {d.kind for d in copy_set}
    assert {f"copy:{recipe}" for recipe in RECIPES} <= kinds
    assert {"original", "follow_up", "boilerplate", "brief"} <= kinds
    assert {d.outlet for d in copy_set if d.kind == "original"} >= {
        "cnn.com", "seed-outlet-0.example", "01spb.ru"}  # real texts of all three sources


@pytest.mark.parametrize("mode", ["batch", "stream"])
def test_copy_set_targets(copy_set, mode):
    result = evaluate_copies(copy_set, mode)
    scores = result["scores"]
    assert scores.precision >= 0.99 and scores.recall >= 0.95, scores
    assert min(result["recall_by_kind"].values()) >= 0.85, result["recall_by_kind"]
    assert result["false_merges"] == {}


def test_batch_and_stream_agree_on_copies(shared_dir, copy_set):
    seeds = _processed_seeds(shared_dir)
    copies = _seed_copies(seeds)
    docs = [EvalDoc(name, name, "original", f"seed{i}.example", T0 + timedelta(minutes=i),
                    T0 + timedelta(minutes=i), text) for i, (name, _, text) in enumerate(seeds)]
    docs += [EvalDoc(cid, seed, "copy", site, T0 + timedelta(hours=1, minutes=i),
                     T0 + timedelta(hours=1, minutes=i), text)
             for i, (cid, seed, site, text) in enumerate(copies)]
    assert predict_copies(docs, "batch") == predict_copies(docs, "stream")
    batch, stream = (predict_copies(copy_set, mode) for mode in ("batch", "stream"))
    ids = [d.doc_id for d in copy_set]
    assert pairwise_scores([batch[i] for i in ids], [stream[i] for i in ids]).ari >= 0.95


# --------------------------------------------------------------------------------------------
# Beam batch


def _metrics(result) -> dict:
    query = result.metrics().query(MetricsFilter().with_namespace("dedup"))
    values = {m.key.metric.name: m.committed for m in query["counters"]}
    values.update({m.key.metric.name: m.committed.max for m in query["distributions"]})
    return values


@pytest.mark.parametrize("cc_rounds", [DedupConfig().cc_rounds, LOCAL_CC_ROUNDS])
def test_batch_transform_matches_in_memory_twin_with_counters(eval_set, seeds_dir, shared_dir,
                                                              cc_rounds):
    """Label propagation over shuffles, and the local runner's one-step components."""
    docs = eval_set[:150]
    seeds = read_seeds(seeds_dir)
    articles = [as_article(d) for d in docs]
    articles += [make_article(name, text, published) for name, published, text in seeds]
    articles += [make_article(f"copy-{name}", resyndicate(text), T0)
                 for name, _, text in seeds]
    # heavy copies on partner sites: only the sentence rules find them
    heavy = _seed_copies(_processed_seeds(shared_dir),
                         ("trim_third", "rewrite_lede+insert_local+drop"))
    articles += [make_article(copy_id, text, T0 + timedelta(days=1), domain=site)
                 for copy_id, _, site, text in heavy]
    random.Random(1).shuffle(articles)  # order of input must not matter
    expected, stats = deduplicate_records(
        (a.article_id, batch_order_key(a.published_at, a.article_id), a.text, site_of(a.domain))
        for a in articles)
    assert all(expected[copy_id][0] != copy_id for copy_id, _, _, _ in heavy)

    pipeline = BeamTestPipeline(options=PipelineOptions(BEAM_TEST_ARGS))
    out = (pipeline | beam.Create(articles)
           | "Deduplicate" >> DeduplicateArticles(DedupConfig(cc_rounds=cc_rounds))
           | beam.Map(lambda a: (a.article_id, a.cluster_id, a.duplicate_of, a.is_duplicate,
                                 a.similarity)))
    assert_that(out, equal_to([
        (i, c, c if c != i else None, c != i, s if c != i else 1.0)
        for i, (c, s) in expected.items()]))
    result = pipeline.run()
    result.wait_until_finish()
    metrics = _metrics(result)
    assert metrics["candidates"] == stats.candidates > 0
    assert metrics["verified_duplicates"] == stats.verified_duplicates
    assert metrics["clusters"] == stats.clusters
    assert metrics["largest_cluster"] == stats.largest_cluster
    assert metrics["exact_duplicates"] == stats.exact_duplicates
    assert metrics.get("cc_unconverged", 0) == 0


def test_batch_transform_pairs_oversized_buckets_with_their_earliest_members():
    config = DedupConfig(max_bucket_size=4, max_candidates=2)
    articles = [make_article(article_id, text, T0 + timedelta(minutes=i))
                for i, (article_id, _, text) in enumerate(_syndicated(12))]
    expected, stats = deduplicate_records(
        ((a.article_id, batch_order_key(a.published_at, a.article_id), a.text,
          site_of(a.domain)) for a in articles), config)
    assert {cluster for cluster, _ in expected.values()} == {"c00"}
    pipeline = BeamTestPipeline(options=PipelineOptions(BEAM_TEST_ARGS))
    out = (pipeline | beam.Create(articles) | "Deduplicate" >> DeduplicateArticles(config)
           | beam.Map(lambda a: (a.article_id, a.cluster_id, a.similarity)))
    assert_that(out, equal_to([(i, c, s if c != i else 1.0) for i, (c, s) in expected.items()]))
    result = pipeline.run()
    result.wait_until_finish()
    metrics = _metrics(result)
    assert metrics["oversized_bucket"] == stats.oversized_bucket > 0
    assert metrics["candidates"] == stats.candidates == 21


def test_batch_drop_duplicates_counts_skips():
    base = _text(3, paragraphs=8)
    articles = [make_article("orig", base, T0),
                make_article("copy", "PARIS (AFP) - " + base + "\n\nMost Popular\nx", T0),
                make_article("trim", "\n\n".join(base.split("\n\n")[:6]), T0 + timedelta(1)),
                make_article("other", _text(4), T0)]
    with BeamTestPipeline(options=PipelineOptions(BEAM_TEST_ARGS)) as pipeline:
        result = (pipeline | beam.Create(articles)
                  | DeduplicateArticles(drop_duplicates=True))
        assert_that(result.articles | beam.Map(lambda a: (a.article_id, a.cluster_id)),
                    equal_to([("copy", "copy"), ("other", "other")]), label="Canonicals")
        assert_that(result.skipped, equal_to([
            Skip("dedup", "duplicate", "eval.jsonl:orig", "https://example.org/orig"),
            Skip("dedup", "duplicate", "eval.jsonl:trim", "https://example.org/trim")]),
            label="Skips")


# --------------------------------------------------------------------------------------------
# Beam streaming (TestStream)


def _stream_options() -> PipelineOptions:
    # The FnApiRunner has no TestStream; the BundleBasedDirectRunner streams without Prism.
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    return options


def _at(article, when: datetime):
    return TimestampedValue(article, when.timestamp())


def _assert_stream(stream: BeamTestStream, expected: list, config: DedupConfig | None = None):
    """Run the stream through DeduplicateStream; rows are (id, cluster_id, is_duplicate)."""
    with BeamTestPipeline(options=_stream_options()) as pipeline:
        out = (pipeline | stream | DeduplicateStream(config)
               | beam.Map(lambda a: (a.article_id, a.cluster_id, a.is_duplicate)))
        assert_that(out, equal_to(expected))


@pytest.mark.parametrize("shards", [None, 1])
def test_stream_copy_within_horizon_is_duplicate_and_state_expires(shards):
    base = _text(5, paragraphs=8)
    config = DedupConfig(horizon=timedelta(hours=72), band_shards=shards)
    stream = (BeamTestStream()
              .add_elements([_at(make_article("orig", base), T0)])
              .advance_watermark_to((T0 + timedelta(minutes=10)).timestamp())
              .add_elements([_at(make_article("copy", resyndicate(base)),
                                 T0 + timedelta(hours=2))])
              .advance_watermark_to((T0 + timedelta(hours=3)).timestamp())
              # after the horizon of both earlier articles: state is gone, a new canonical
              .add_elements([_at(make_article("again", base), T0 + timedelta(hours=80))])
              .advance_watermark_to((T0 + timedelta(hours=81)).timestamp())
              .advance_watermark_to_infinity())
    _assert_stream(stream, [("again", "again", False), ("copy", "orig", True),
                            ("orig", "orig", False)], config)


def test_stream_orders_by_event_time_within_the_watermark_and_late_data_stays_canonical():
    base, other = _text(6, paragraphs=8), _text(7, paragraphs=8)
    stream = (BeamTestStream()
              # the copy arrives first, but its original is older and still on time
              .add_elements([_at(make_article("copy", resyndicate(base)), T0 + timedelta(hours=1)),
                             _at(make_article("orig", base), T0)])
              .advance_watermark_to((T0 + timedelta(hours=2)).timestamp())
              .add_elements([_at(make_article("first", other), T0 + timedelta(hours=3))])
              .advance_watermark_to((T0 + timedelta(hours=4)).timestamp())
              # behind the watermark: compared only with earlier articles, so it stays canonical
              .add_elements([_at(make_article("late", other), T0 + timedelta(hours=2, minutes=30))])
              .advance_watermark_to((T0 + timedelta(hours=5)).timestamp())
              .advance_watermark_to_infinity())
    _assert_stream(stream, [("copy", "orig", True), ("first", "first", False),
                            ("late", "late", False), ("orig", "orig", False)])


@pytest.mark.parametrize("shards", [None, 1])
def test_stream_transform_matches_in_memory_twin(eval_set, shards):
    """The same labels whether each bucket has a keyed state of its own or every bucket shares
    one (``band_shards=1``)."""
    docs = sorted(eval_set[:60], key=lambda d: d.seen_at)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    expected = deduplicate_stream_records(
        (d.doc_id, (d.seen_at - epoch) // timedelta(microseconds=1), d.text, site_of_outlet(d))
        for d in docs)[0]
    stream, rng = BeamTestStream(), random.Random(2)
    for start in range(0, len(docs), 12):
        chunk = [_at(as_article(d), d.seen_at) for d in docs[start:start + 12]]
        rng.shuffle(chunk)  # arrival order within the watermark must not matter
        stream = stream.add_elements(chunk).advance_watermark_to(
            docs[min(start + 12, len(docs) - 1)].seen_at.timestamp() - 1)
    stream = stream.advance_watermark_to(docs[-1].seen_at.timestamp() + 3600)
    assert predict(docs, "stream") == {k: v[0] for k, v in expected.items()}
    assert sum(1 for k, v in expected.items() if v[0] != k) > 10
    _assert_stream(stream.advance_watermark_to_infinity(),
                   [(k, c, c != k) for k, (c, _) in expected.items()],
                   DedupConfig(band_shards=shards))


def test_stream_drop_duplicates():
    base = _text(8, paragraphs=8)
    stream = (BeamTestStream()
              .add_elements([_at(make_article("orig", base), T0),
                             _at(make_article("copy", base), T0 + timedelta(minutes=5))])
              .advance_watermark_to((T0 + timedelta(hours=1)).timestamp())
              .advance_watermark_to_infinity())
    with BeamTestPipeline(options=_stream_options()) as pipeline:
        result = pipeline | stream | DeduplicateStream(drop_duplicates=True)
        assert_that(result.articles | beam.Map(lambda a: a.article_id), equal_to(["orig"]),
                    label="Canonicals")
        assert_that(result.skipped | beam.Map(lambda s: (s.stage, s.reason, s.source_ref)),
                    equal_to([("dedup", "duplicate", "eval.jsonl:copy")]), label="Skips")


# --------------------------------------------------------------------------------------------
# Beam streaming: records sharing event time and article_id (one link listed twice)


def test_stream_keeps_every_record_sharing_event_time_and_id():
    base = _text(5, paragraphs=8)
    first = make_article("same", base)
    other_feed = first.replace(source_ref="feed2#x", feed_url="https://two.test/rss")
    other_guid = first.replace(source_ref="feed1#y", text=resyndicate(base))
    identical = make_article("twin", _text(9, paragraphs=8))
    stream = (BeamTestStream()
              .add_elements([_at(first, T0), _at(other_feed, T0), _at(other_guid, T0),
                             _at(identical, T0), _at(identical, T0),
                             _at(make_article("copy", base), T0 + timedelta(minutes=1))])
              .advance_watermark_to((T0 + timedelta(minutes=10)).timestamp())
              .advance_watermark_to_infinity())
    with BeamTestPipeline(options=_stream_options()) as pipeline:
        out = (pipeline | stream | DeduplicateStream()
               | beam.Map(lambda a: (a.article_id, a.source_ref, a.cluster_id, a.is_duplicate)))
        # records of one id are never candidates of each other; a later copy points to the id
        assert_that(out, equal_to([
            ("same", "eval.jsonl:same", "same", False), ("same", "feed2#x", "same", False),
            ("same", "feed1#y", "same", False), ("twin", "eval.jsonl:twin", "twin", False),
            ("twin", "eval.jsonl:twin", "twin", False),
            ("copy", "eval.jsonl:copy", "same", True)]))


def test_stream_give_up_timer_releases_incomplete_and_orphaned_state():
    """Collect state is released by its timer even when a report never comes."""
    from newsflow.transforms.dedup.stream import _RECORD_KV, _CollectFn

    config = DedupConfig(horizon=timedelta(hours=1))
    micros = int(T0.timestamp() * 1_000_000)
    held, orphan = (micros, "held", 0), (micros, "orphan", 0)
    row = make_article("held", _text(1))
    stream = (BeamTestStream()
              .add_elements([_at((held, ("article", row, b"", 3)), T0),
                             _at((held, ("report", False, ())), T0),
                             _at((orphan, ("report", False, ())), T0)])
              .advance_watermark_to((T0 + timedelta(hours=3)).timestamp())
              .advance_watermark_to_infinity())
    with BeamTestPipeline(options=_stream_options()) as pipeline:
        collected = (pipeline | stream
                     | beam.Map(lambda kv: kv).with_output_types(_RECORD_KV)
                     | beam.ParDo(_CollectFn(config)).with_outputs("requests", main="decide"))
        # the held record goes on with the one report it got; the orphan report is dropped
        assert_that(collected.decide, equal_to([(held, ("article", row, 0, None))]))


class _Bag:
    """Stands in for a Beam bag state in pure tests of the give-up helper."""

    def __init__(self, *values):
        self.values = list(values)

    def read(self):
        return list(self.values)

    def clear(self):
        self.values = []


class _Value(_Bag):
    def read(self):
        return self.values[0] if self.values else None


def test_give_up_releases_held_record_and_drops_orphans():
    from newsflow.transforms.dedup.stream import _give_up

    counter = Counter()
    counter.inc = lambda: counter.update(["released"])
    held, bag = _Value(("row", b"", 3)), _Bag((False, ()))
    assert _give_up(held, bag, counter) == (("row", b"", 3), [(False, ())])
    assert held.read() is None and bag.read() == []
    orphans = _Bag((False, ()), (True, ()))
    assert _give_up(_Value(), orphans, counter) is None
    assert orphans.read() == [] and counter["released"] == 2


def _feed(server, items) -> bytes:
    body = "".join(f"<item><title>{guid}</title><link>{server.url(path)}</link>"
                   f"<guid>{guid}</guid></item>" for path, guid in items)
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title>"
            f"<link>{server.url('/')}</link>{body}</channel></rss>").encode()


def test_stream_pipeline_window_balances_when_a_link_is_listed_twice(tmp_path):
    """Two feeds list one link, one of them twice under two guids: 3 records of one article
    (and one other article) in one tick become 4 rows, and the window's summary balances."""
    from deltalake import DeltaTable

    from newsflow.pipelines import stream as stream_pipeline
    from newsflow.pipelines.demo.sample_corpus import generate_articles, render_html
    from tests.httpserver import LoopbackServer, static
    from tests.test_stream import _ticks, stream_args

    output = tmp_path / "out"
    pages = generate_articles(2, seed=4, languages=("en",))
    with LoopbackServer() as server:
        for index, page in enumerate(pages):
            server.route(f"/a/{index}.html", static(render_html(page, boilerplate_kb=2),
                                                    content_type="text/html; charset=utf-8"))
        rss = "application/rss+xml"
        server.route("/one.xml", static(_feed(server, [("/a/0.html", "x"), ("/a/0.html", "y"),
                                                       ("/a/1.html", "z")]), content_type=rss))
        server.route("/two.xml", static(_feed(server, [("/a/0.html", "x")]), content_type=rss))
        feeds = tmp_path / "feeds.txt"
        feeds.write_text(f"{server.url('/one.xml')}\n{server.url('/two.xml')}\n")
        options = PipelineOptions(["--runner=BundleBasedDirectRunner", "--streaming",
                                   *stream_args(feeds, output, "--window=60", "--no_robots")])
        with beam.Pipeline(options=options) as pipeline:
            outputs = stream_pipeline.build(pipeline, options,
                                            ticks=pipeline | _ticks(0, 30, 90),
                                            run_id="stream-c")
            assert_that(outputs["summary"] | beam.Map(
                lambda s: (s["read"], s["written"], s["duplicates"], s["balanced"])),
                equal_to([(4, 4, 0, True)]))
    rows = read_delta(DeltaTable(str(output / "articles")))  # the committed rows
    ids = sorted(rows.column("article_id").to_pylist())
    assert len(set(ids)) == 2 and rows.num_rows == 4
    assert sorted(rows.column("cluster_id").to_pylist()) == ids
