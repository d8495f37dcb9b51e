"""The benchmark's real-page corpus: real pages first, then distinct copies, as readable WARCs."""

from __future__ import annotations

from bench.real_corpus import build_corpus, iter_corpus_bodies, load_real_pages
from newsflow.schemas import RawRecord
from newsflow.transforms.archives import iter_file_records
from newsflow.transforms.dedup.text import normalize_for_dedup
from newsflow.transforms.extractor import extract_html


def _shingles(text: str, size: int = 5) -> set[tuple[str, ...]]:
    words = normalize_for_dedup(text).split()
    return {tuple(words[i:i + size]) for i in range(len(words) - size + 1)}


def test_copies_keep_the_markup_but_not_the_text(shared_dir, tmp_path):
    pages = load_real_pages(shared_dir)
    assert len(pages) >= 40 and {p.name.split(":")[0] for p in pages} == {"cc", "devset"}
    corpus = build_corpus(shared_dir, len(pages) + 2, 2, tmp_path)
    bodies = list(iter_corpus_bodies(corpus))
    assert len(bodies) == corpus.docs == len(pages) + 2
    assert len({url for url, _, _ in bodies}) == len(bodies)  # every copy has its own URL
    assert bodies[0][1] == pages[0].body  # the first round is the pages as they are
    for original in pages[:2]:  # a Chinese page (unspaced) and a Russian one
        copy = next(body for body in bodies if body[0] == original.url + "?nfcopy=1")
        assert copy[2] == original.content_type  # charset as declared by the real response
        assert abs(len(copy[1]) - len(original.body)) < 0.1 * len(original.body)
        a, b = (_shingles(extract_html(body.decode(original.encoding), url)["text"])
                for url, body in ((original.url, original.body), copy[:2]))
        assert len(a) > 100 and len(a & b) < 0.2 * len(a)  # dedup sees two stories
    # the product reads every response of the files as a record
    records = [o for path in corpus.files for o in iter_file_records(str(path))
               if isinstance(o, RawRecord)]
    assert len(records) == corpus.docs
    assert build_corpus(shared_dir, len(pages) + 2, 2, tmp_path).files == corpus.files  # cached
