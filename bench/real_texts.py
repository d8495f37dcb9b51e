"""Real article texts for the copy and story evaluations, read at run time from ../shared.

Nothing here copies a shared text into the repository: the texts are read from
``/work/shared`` (or ``$NEWSFLOW_SHARED``) through newsflow's own readers and processing chain
(:func:`newsflow.transforms.archives.iter_file_records`, then
:func:`newsflow.transforms.process.processing_steps`), exactly as a backfill would read them.
The repository only holds our own labels: which texts report the same event and when.

- ``seed:*``: the five seed articles (one event, five outlets);
- ``devset:*``: newspaper4k's expected article texts (spaced scripts only: the word-based
  methods compare words);
- ``warc:*``: the article pages of the Common Crawl sample.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

SHARED = Path(os.environ.get("NEWSFLOW_SHARED",
                             Path(__file__).resolve().parent.parent.parent / "shared"))


@dataclass(frozen=True)
class RealText:
    """One real article after newsflow's processing, with our own labels."""

    name: str  # seed:001, devset:cnn_001, warc:01spb.ru
    text: str
    published_at: datetime | None
    domain: str
    language: str
    event: str  # our label: texts with the same event report the same event

    @property
    def words(self) -> int:
        return len(self.text.split())


def _day(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


#: Our labels for the devset texts: (publication day, site, event). Days were read on the
#: pages (newspaper4k's metadata is one tool's output); a site is what a URL would give.
#: Texts of one event: cnn_article and cnn_summary (an extractive summary of it: the same
#: story, not a copy); cleveland.com1 and video_article_01 are one text on two pages.
DEVSET_LABELS: dict[str, tuple[str | None, str, str]] = {
    "arabic_article": ("2013-08-03", "arabic.cnn.com", "syria-arms-depots"),
    "article_with_br": ("2020-04-02", "sott.net", "assange-sands-spying"),
    "bengali_article": (None, "bengali.example", "birbhum-election"),
    "cleveland.com1": ("2014-12-27", "cleveland.com", "google-food-searches-2014"),
    "cnn_001": ("2023-11-06", "cnn.com", "alito-supreme-court"),
    "cnn_002": ("2023-11-06", "cnn.com", "trump-fraud-testimony"),
    "cnn_article": ("2013-11-27", "cnn.com", "us-thanksgiving-storm"),
    "cnn_summary": ("2013-11-27", "cnn-summary.example", "us-thanksgiving-storm"),
    "cnn_test_nlp": ("2016-12-18", "edition.cnn.com", "gates-defends-tillerson"),
    "fox13now_001": ("2013-12-30", "fox13now.com", "new-laws-2014"),
    "hindi_article": (None, "hindi.example", "ram-temple-consecration"),
    "korean_article": (None, "korean.example", "chey-tae-won-lawsuit"),
    "latvian_article": (None, "latvian.example", "norway-landslide-ask"),
    "nepali_article": (None, "nepali.example", "usury-victims-protest"),
    "spanish_article": (None, "ultimahora.es", "infanta-cristina-case"),
    "time_001": ("2023-11-02", "time.com", "hansen-climate-warning"),
    "video_article_01": ("2014-12-27", "video.cleveland.com", "google-food-searches-2014"),
    "video_article_02": ("2023-11-19", "oneesports.gg", "t1-worlds-2023"),
    "wired_001": ("2023-11-07", "wired.com", "west-bank-surveillance"),
    "yna_co_kr": ("2019-08-20", "en.yna.co.kr", "nk-newspaper-blasts-drill"),
}
#: The seeds: one event (Kim Jong Un at the Komsomolsk-on-Amur aircraft plant), five outlets.
SEED_EVENT = "kim-komsomolsk-plant"
SEED_SITES = ("seed-outlet-0.example", "seed-outlet-1.example", "seed-outlet-2.example",
              "seed-outlet-3.example", "seed-outlet-4.example")
#: Texts shorter than this many words are not used as originals (briefs are made from them).
MIN_WORDS = 60


def _process(outcomes) -> list:
    from newsflow.schemas import Article
    from newsflow.transforms.process import ProcessSettings, processing_steps
    from newsflow.transforms.stage import run_steps, steps_ready

    steps = [step for _, step in processing_steps(ProcessSettings(
        ingested_at=datetime(2024, 6, 1, tzinfo=UTC), now=datetime(2024, 6, 1, tzinfo=UTC)))]
    articles = []
    with steps_ready(steps):
        for outcome in outcomes:
            if type(outcome).__name__ == "RawRecord":
                result = run_steps(steps, outcome)
                articles.append(result if isinstance(result, Article) else None)
            else:
                articles.append(None)
    return articles


@functools.lru_cache(maxsize=4)
def load_real_texts(shared: Path = SHARED) -> tuple[RealText, ...]:
    """Every usable real article text, processed by newsflow, with our labels (cached)."""
    from newsflow.transforms.archives import iter_file_records

    texts: list[RealText] = []
    seeds = sorted((shared / "seeds").glob("0*.txt"))
    for index, (path, article) in enumerate(zip(
            seeds, _process(next(iter_file_records(str(p)), None) for p in seeds),
            strict=True)):
        if article is not None:
            texts.append(RealText(f"seed:{path.stem[:3]}", article.text, article.published_at,
                                  SEED_SITES[index], article.language, SEED_EVENT))
    devset = shared / "devset" / "newspaper4k" / "txt"
    names = sorted(DEVSET_LABELS)
    paths = [devset / f"{name}.txt" for name in names]
    for name, article in zip(names, _process(next(iter_file_records(str(p)), None)
                                             for p in paths), strict=True):
        if article is not None and len(article.text.split()) >= MIN_WORDS:
            day, site, event = DEVSET_LABELS[name]
            texts.append(RealText(f"devset:{name}", article.text, day and _day(day), site,
                                  article.language, event))
    warc = shared / "samples" / "warc" / "resiliparse" / "warcfile.warc.gz"
    outcomes = list(iter_file_records(str(warc)))
    for article in _process(outcomes):
        if article is not None and len(article.text.split()) >= MIN_WORDS:
            texts.append(RealText(f"warc:{article.domain}", article.text, None, article.domain,
                                  article.language, f"warc-{article.domain}"))
    return tuple(texts)
