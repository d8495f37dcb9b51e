"""Pages that are not articles become skips with a reason; articles in any script pass."""

import pytest

from newsflow.schemas import Draft, RawRecord
from newsflow.transforms.classify import display_length, non_article_reason, word_count

ARTICLE = ("The city council approved the new budget on Tuesday after a long debate about "
           "schools, roads and the future of the harbour. ") * 4


def draft(text: str, url: str | None = "https://news.test/2024/05/01/budget",
          page_type: str | None = "article", kind: str = "html") -> Draft:
    record = RawRecord(url=url, body="", body_kind=kind, source_format="warc", source_ref="r")
    return Draft(record=record, text=text, page_type=page_type)


@pytest.mark.parametrize("text, url, page_type, reason", [
    (ARTICLE, "https://news.test/2024/05/01/budget", "article", None),
    (ARTICLE, "https://news.test/index.php/art/detail/id/8884.html", None, None),
    (ARTICLE, "https://news.test/", "website", "index_page"),
    (ARTICLE, "https://news.test/category/politics", None, "index_page"),
    (ARTICLE, "https://news.test/index.html", None, "index_page"),
    ("\n".join(f"Headline number {i}" for i in range(12)), "https://news.test/world/x", None,
     "index_page"),
    ("Watch the full interview with the mayor.", "https://news.test/video/123", None,
     "video_page"),
    (ARTICLE, "https://news.test/clip", "video.other", "video_page"),
    ("We use cookies to improve your experience. Accept all or manage your consent.",
     "https://news.test/a", None, "consent_wall"),
    ("Short teaser only.", "https://news.test/a", "article", "too_short"),
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
