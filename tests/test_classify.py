"""Pages that are not articles become skips with a reason; articles in any script pass."""

import pytest

from newsflow.schemas import Draft, PageFacts, RawRecord
from newsflow.transforms.classify import display_length, non_article_reason, word_count

ARTICLE = ("The city council approved the new budget on Tuesday after a long debate about "
           "schools, roads and the future of the harbour. ") * 4


def draft(text: str, url: str | None = "https://news.test/2024/05/01/budget",
          page_type: str | None = "og:article", kind: str = "html") -> Draft:
    """``page_type``: the types the page declares, comma-separated ("og:" + og:type, JSON-LD
    types)."""
    record = RawRecord(url=url, body="", body_kind=kind, source_format="warc", source_ref="r")
    types = tuple(page_type.split(",")) if page_type else ()
    return Draft(record=record, text=text, page=PageFacts(types=types))


PROSE = "\n".join(
    f"Paragraph {i}: the city council approved the new budget on Tuesday after a long debate "
    "about schools, roads, the harbour and the price of public transport for families." for i in
    range(5))
PRICE_TABLE = "\n".join(["Modell", "Preis", "Speicher", "iPhone 16", "949 Euro", "128 GB",
                         "iPhone 16 Pro", "1199 Euro", "256 GB", "Pixel 9", "899 Euro",
                         "128 GB"])
HEADLINES = "\n".join(f"Headline number {i} about the news" for i in range(12))


@pytest.mark.parametrize("text, url, page_type, reason", [
    (ARTICLE, "https://news.test/2024/05/01/budget", "og:article", None),
    (ARTICLE, "https://news.test/index.php/art/detail/id/8884.html", None, None),
    (ARTICLE, "https://news.test/", "og:website", "index_page"),
    (ARTICLE, "https://news.test/category/politics", None, "index_page"),
    (ARTICLE, "https://news.test/index.html", None, "index_page"),
    ("\n".join(f"Headline number {i}" for i in range(12)), "https://news.test/world/x", None,
     "index_page"),
    ("Watch the full interview with the mayor.", "https://news.test/video/123", None,
     "video_page"),
    (ARTICLE, "https://news.test/clip", "og:video.other", "video_page"),
    # the page's own declaration and a real body beat URL words and short lines
    (PROSE, "https://www.taipeitimes.test/News/front/archives/2024/10/16/2003825372",
     "og:article,newsarticle", None),
    (PROSE, "https://news.test/archive/63076", "og:article", None),
    (ARTICLE + "\n" + PRICE_TABLE, "https://heise.test/news/iphone-preise-9912345.html",
     "og:article,newsarticle", None),
    (ARTICLE + "\n" + HEADLINES, "https://news.test/2024/05/01/story", "blogposting", None),
    # without a declaration, URL words count when the text is no prose body...
    (HEADLINES, "https://news.test/archive/2024", None, "index_page"),
    # ...but not against several prose paragraphs
    (PROSE, "https://news.test/archive/63076", None, None),
    (PROSE, "https://news.test/", "og:website,collectionpage", "index_page"),
    (ARTICLE, "https://news.test/list", "og:website,itemlist", "index_page"),
    (PROSE, "https://www.sott.test/article/434715-x", "og:website", None),
    (ARTICLE, "https://news.test/watch/9", "og:video.other,videoobject", "video_page"),
    (PROSE, "https://news.test/video/9", "og:article,newsarticle,videoobject", None),
    # og:type=article with a body is the page's word, whatever its shape, except on the front
    (ARTICLE, "https://news.test/archive/63076", "og:article", None),
    (ARTICLE + "\n" + PRICE_TABLE, "https://heise.test/news/preise.html", "og:article", None),
    (ARTICLE, "https://news.test/", "og:article", "index_page"),
    # an article's carousel (ItemList) next to its og:type=article is no listing
    (ARTICLE, "https://news.test/2024/05/01/x", "og:article,itemlist", None),
    ("We use cookies to improve your experience. Accept all or manage your consent.",
     "https://news.test/a", None, "consent_wall"),
    ("Short teaser only.", "https://news.test/a", "og:article", "too_short"),
    ("Subscribe to read the rest.", "https://news.test/a", "newsarticle", "too_short"),
    # a paywalled story's first paragraph is still the story its page declares
    ("The council approved the budget on Tuesday after a long debate about schools and "
     "roads.", "https://news.test/2024/05/01/budget", "og:article,newsarticle", None),
    ("The council approved the budget on Tuesday after a long debate about schools and "
     "roads.", "https://news.test/2024/05/01/budget", None, "too_short"),
])
def test_non_article_reasons(text, url, page_type, reason):
    assert non_article_reason(draft(text, url, page_type)) == reason


def test_text_records_are_never_index_pages():
    lines = "\n".join(f"Short line {i} of a text dump" for i in range(12))
    assert non_article_reason(draft(lines + "\n" + ARTICLE, url=None, kind="text")) is None


def test_unspaced_scripts_count_as_words_and_width():
    chinese = "市议会星期二在就学校道路和港口未来进行长时间辩论后批准了新预算。" * 6
    assert word_count(chinese) >= 40 and display_length("市议会") == 6
    assert non_article_reason(draft(chinese)) is None


DECLARATIONS = ["og:article", "newsarticle", "og:video.other", "videoobject", "collectionpage",
                "itemlist", "og:website"]
URLS = ["https://news.test/", "https://news.test/en/", "https://news.test/index.html",
        "https://news.test/2024/05/01/budget", "https://news.test/videos/budget",
        "https://news.test/category/politics", None]
TEXTS = [ARTICLE, PROSE, HEADLINES, PRICE_TABLE, "Short teaser only.",
         "Watch: the council votes on the budget."]


def test_what_declarations_settle_holds_for_any_text():
    """Whenever ``declared_non_article`` names a reason (extraction is then spared), the rules
    give that reason for every text the page could have held."""
    from itertools import combinations

    from newsflow.transforms.page_types import declared_non_article

    settled = set()
    for size in range(4):
        for combo in combinations(DECLARATIONS, size):
            for url in URLS:
                reason = declared_non_article(set(combo), url)
                if reason is None:
                    continue
                settled.add((reason, combo, url))
                page_type = ",".join(combo) or None
                for text in TEXTS:
                    assert non_article_reason(draft(text, url, page_type)) == reason, \
                        (combo, url, text[:30])
    assert {reason for reason, _, _ in settled} == {"index_page", "video_page"}
    assert len(settled) > 100
    # what the text must still decide: an article's own declaration, an og:type=article off
    # the front page, a listing under a video path
    assert declared_non_article({"newsarticle", "collectionpage"}, URLS[0]) is None
    assert declared_non_article({"og:article", "itemlist"}, URLS[5]) is None
    assert declared_non_article({"collectionpage"}, URLS[4]) is None
    assert declared_non_article({"og:article"}, URLS[0]) == "index_page"
