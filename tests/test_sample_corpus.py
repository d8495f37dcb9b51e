"""The sample-data generator: deterministic, multilingual, distinct articles, and a corpus whose
expected counts hold for the readers and the per-record processing functions."""

import hashlib
import re
from collections import Counter
from datetime import UTC

import pytest

from newsflow.pipelines.demo.sample_corpus import (
    article_text,
    generate_articles,
    render_html,
    render_non_articles,
    syndicate,
    write_corpus,
)
from newsflow.schemas import DeadLetter, RawRecord, Skip
from newsflow.transforms.archives import iter_file_records
from newsflow.transforms.classify import non_article_reason
from newsflow.transforms.clean import clean_text
from newsflow.transforms.extract import draft_from_extraction, draft_from_text_record
from newsflow.transforms.extractor import extract_html
from newsflow.transforms.language import build_detector_factory, detect_language


def shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + 5]) for i in range(len(words) - 4)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b)


@pytest.fixture(scope="module")
def articles():
    return generate_articles(300, seed=7)


def test_generation_is_deterministic_and_prefix_stable(articles):
    assert generate_articles(300, seed=7) == articles
    assert generate_articles(20, seed=7) == articles[:20]
    assert generate_articles(20, seed=8) != articles[:20]
    assert len({a.url for a in articles}) == len(articles)


def test_article_shape(articles):
    for article in articles:
        assert article.url.startswith("https://")
        assert article.domain.endswith((".test", ".example"))
        assert 4 <= len(article.paragraphs) <= 9
        assert 1800 <= len(article.text.encode()) <= 5200
        assert article.published_at.tzinfo == UTC and 2023 <= article.published_at.year <= 2025
        if article.dateline and article.wire:
            assert article.dateline.endswith(f"({article.wire})")
        assert article.title and article.site_name and article.tags
    assert any("/2023/" in a.url or "/2024/" in a.url or "/2025/" in a.url for a in articles)
    assert {a.wire for a in articles} > {None, "AP"}


def test_english_dominates_and_every_language_is_detected(articles):
    counts = Counter(a.language for a in articles)
    assert set(counts) == {"en", "de", "fr", "es"}
    assert counts["en"] > sum(counts.values()) / 2
    factory = build_detector_factory()
    for language in counts:
        sample = [a for a in articles if a.language == language][:8]
        assert [detect_language(a.text, factory)[0] for a in sample] == [language] * len(sample)


def test_articles_share_little_text(articles):
    sets = [shingles(a.text) for a in articles]
    holders = {}
    for index, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            holders.setdefault(shingle, []).append(index)
    shared = Counter()
    for indices in holders.values():
        for position, i in enumerate(indices):
            for j in indices[position + 1:]:
                shared[i, j] += 1
    similarities = [n / (len(sets[i]) + len(sets[j]) - n) for (i, j), n in shared.items()]
    assert max(similarities) < 0.3
    assert sum(similarities) / (len(sets) * (len(sets) - 1) / 2) < 0.05


def test_syndicated_copy_is_a_near_duplicate(articles):
    original = next(a for a in articles if a.wire and a.language == "en")
    copy = syndicate(original, "dailyherald.example", seed=1)
    assert copy.url != original.url and copy.domain == "dailyherald.example"
    assert copy.title != original.title and copy.site_name == "The Daily Herald"
    assert (copy.dateline is None) != (original.dateline is None)
    similarity = jaccard(shingles(article_text(copy)), shingles(article_text(original)))
    assert 0.6 < similarity < 1.0
    assert syndicate(original, "dailyherald.example", seed=1) == copy


def test_rendered_page_looks_like_a_news_page(articles):
    article = next(a for a in articles if a.dateline and a.language == "en")
    html = render_html(article)
    assert 50_000 < len(html.encode()) < 70_000
    assert '<meta property="og:type" content="article">' in html
    assert f'<link rel="canonical" href="{article.url}">' in html
    published = article.published_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f'<meta property="article:published_time" content="{published}">' in html
    assert "RELATED ARTICLES" in html and "Most Popular" in html and "Home</a> \u203a" in html
    assert f"<p>{article.dateline} \u2014 " in html
    display = re.search(r'<span class="today">([^<]+)</span>', html).group(1)
    assert display != article.published_at.strftime("%A, %B %-d, %Y")
    assert render_html(article) == html
    assert len(render_html(article, boilerplate_kb=10).encode()) < 20_000


def _process(record: RawRecord, factory):
    """The per-record chain of ProcessArticles up to classification, without Beam."""
    if record.body_kind == "text":
        draft = draft_from_text_record(record)
    else:
        extracted = extract_html(record.body, record.url)
        if extracted is None:
            return Skip("extract", "no_main_text", record.source_ref), None
        draft = draft_from_extraction(record, extracted)
    cleaned = clean_text(draft.text, draft.title)
    draft = draft.replace(text=cleaned.text, title=cleaned.title, wire=cleaned.wire,
                          dateline=cleaned.dateline)
    reason = non_article_reason(draft)
    if reason:
        return Skip("classify", reason, record.source_ref), None
    return draft, detect_language(draft.text, factory)[0]


def test_corpus_counts_hold_for_readers_and_processing(tmp_path):
    info = write_corpus(tmp_path, n_articles=12, seed=3)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) \
        == sorted(info.files)
    outcomes = [o for name in info.files for o in iter_file_records(str(tmp_path / name))]
    assert len(outcomes) == info.expected_read
    read_skips = Counter(f"read:{o.reason}" for o in outcomes if isinstance(o, Skip))
    read_dead = Counter(f"read:{o.reason}" for o in outcomes if isinstance(o, DeadLetter))
    assert read_dead == Counter(info.expected_dead_letters)
    assert read_skips == Counter({k: v for k, v in info.expected_skipped.items()
                                  if k.startswith("read:")})

    factory = build_detector_factory()
    later_skips, drafts = Counter(), []
    for record in (o for o in outcomes if isinstance(o, RawRecord)):
        result, language = _process(record, factory)
        if isinstance(result, Skip):
            later_skips[f"{result.stage}:{result.reason}"] += 1
        else:
            drafts.append((result, language))
    assert later_skips == Counter({k: v for k, v in info.expected_skipped.items()
                                   if not k.startswith("read:")})
    assert len(drafts) == info.expected_articles == len(info.articles)

    by_url = {a.url: a for a in info.articles}
    html_drafts = [(d, lang) for d, lang in drafts if d.record.body_kind == "html"]
    assert html_drafts
    for draft, language in html_drafts:
        article = by_url[draft.canonical_url]
        assert draft.text == article.text and draft.title == article.title
        assert (draft.wire, draft.dateline) == (article.wire, article.dateline)
        assert language == article.language
    assert len(info.syndicated) == 3 and info.wire_original in by_url
    assert info.records["warc_article_cp1252"] == 1  # decoded by its HTTP header, checked above
    assert any(re.search(r"[^\x00-\x7f]", d.text) for d, _ in html_drafts)


def test_corpus_bytes_are_reproducible(tmp_path):
    def digest(root):
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file()}

    write_corpus(tmp_path / "a", n_articles=8, seed=1)
    write_corpus(tmp_path / "b", n_articles=8, seed=1)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")


#: sha256 over the names and (gunzipped) bytes of ``write_corpus(n_articles=12, seed=0,
#: boilerplate_kb=8)``, measured before the language data moved from Python dicts to
#: ``data/*.json``. A deliberate change to the templates or the generator updates it.
CORPUS_DIGEST = "464e420c49c86d8ce72ea14106bd1df3f728cddc530021f05288f1037c07bceb"


def test_corpus_bytes_are_pinned(tmp_path):
    import gzip

    info = write_corpus(tmp_path, n_articles=12, seed=0, boilerplate_kb=8)
    digest = hashlib.sha256()
    for name in info.files:
        data = (tmp_path / name).read_bytes()
        digest.update(name.encode() + b"\0" + (gzip.decompress(data) if name.endswith(".gz")
                                                 else data))
    assert digest.hexdigest() == CORPUS_DIGEST


def test_language_data_is_package_data():
    from importlib import resources

    from newsflow.pipelines.demo.sample_corpus import LANGUAGE_DATA, LANGUAGES

    data_dir = resources.files("newsflow.pipelines.demo") / "data"
    assert {p.name for p in data_dir.iterdir() if p.name.endswith(".json")} == {
        f"{language}.json" for language in LANGUAGES} | {"outlets.json"}
    for data in LANGUAGE_DATA.values():
        assert isinstance(data["places"][0], tuple) and data["syndication_edits"]


def test_non_article_pages_and_cli(tmp_path, capsys):
    from newsflow.pipelines.demo.sample_corpus import main

    kinds = {p.kind for p in render_non_articles(0)}
    assert kinds == {"index_page", "consent_wall", "video_page", "near_empty"}
    assert main([str(tmp_path / "cli"), "--articles", "8"]) == 0
    assert '"expected_read"' in capsys.readouterr().out
    assert main([str(tmp_path / "cli2"), "--articles", "3"]) == 2
