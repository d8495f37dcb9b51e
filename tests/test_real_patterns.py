"""Hand-written pages in patterns real publishers use, through extraction, cleaning,
classification and dating: what the devset lacks (an archive URL, a German article with a price
list, a Japanese article ending with short paragraphs, a "Lesen Sie auch" box, wire titles)."""

from datetime import UTC, datetime

import pytest

from newsflow.schemas import Draft, RawRecord
from newsflow.transforms.extract import ExtractSettings
from newsflow.transforms.process import ProcessSettings, processing_steps
from newsflow.transforms.stage import run_steps, steps_ready

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PROSE = ("Der Konzern kündigte am Montag in Cupertino neue Modelle an, die ab Freitag im "
         "Handel erhältlich sind. Die Nachfrage dürfte nach Einschätzung von Analysten hoch "
         "bleiben, obwohl die Preise erneut steigen.")


def page(head: str, body: str, lang: str = "en") -> str:
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">{head}</head>'
            f'<body><header><a href="/">Logo</a><nav><a href="/a">Politik</a> '
            f'<a href="/b">Wirtschaft</a></nav></header><main>{body}</main>'
            f"<footer><p>Impressum</p></footer></body></html>")


@pytest.fixture(scope="module")
def process():
    steps = [step for _, step in processing_steps(ProcessSettings(
        extract=ExtractSettings(timeout_s=0), now=NOW))][:4]  # extract, clean, classify, dates
    with steps_ready(steps):
        def run(url: str, html: str):
            return run_steps(steps, RawRecord(url=url, body=html, body_kind="html",
                                              source_format="warc", source_ref="r"))
        yield run


def test_archive_url_article_is_kept_with_its_offset(process):
    html = page(
        '<title>Typhoon Krathon leaves two dead - Taipei Times</title>'
        '<meta property="og:type" content="article">'
        '<meta property="og:site_name" content="Taipei Times">'
        '<script type="application/ld+json">{"@context":"https://schema.org",'
        '"@type":"NewsArticle","headline":"Typhoon Krathon leaves two dead",'
        '"datePublished":"2024-10-16T03:00:00+08:00",'
        '"author":{"@type":"Person","name":"Lin Ching-chuan"}}</script>',
        '<article><h1>Typhoon Krathon leaves two dead</h1>'
        + "".join(f"<p>Paragraph {i}: Typhoon Krathon brought torrential rain to southern "
                  "Taiwan, where officials evacuated thousands of residents from low-lying "
                  "areas before the storm made landfall near Kaohsiung.</p>" for i in range(4))
        + "</article>")
    draft = process("https://www.taipeitimes.com/News/front/archives/2024/10/16/2003825372",
                    html)
    assert isinstance(draft, Draft)
    assert draft.title == "Typhoon Krathon leaves two dead"
    assert draft.authors == ("Lin Ching-chuan",)
    assert (draft.published_at, draft.published_offset_min, draft.date_source) == \
        (datetime(2024, 10, 15, 19, 0, tzinfo=UTC), 480, "json_ld")


def test_german_article_with_a_price_list_and_a_read_also_box(process):
    rows = "".join(f"<li>{model}: {price} Euro</li>" for model, price in
                   [("iPhone 16", 949), ("iPhone 16 Plus", 1099), ("iPhone 16 Pro", 1199),
                    ("iPhone 16 Pro Max", 1449), ("Pixel 9", 899), ("Galaxy S24", 899),
                    ("Galaxy S24+", 1149), ("Xperia 1 VI", 1399), ("Nothing 2a", 329)])
    html = page(
        '<title>iPhone 16: Das kosten die neuen Modelle | heise online</title>'
        '<meta property="og:type" content="article">'
        '<meta property="og:site_name" content="heise online">'
        '<meta property="article:published_time" content="2024-09-10T08:15:00+02:00">'
        '<meta name="author" content="Malte Kirchner, dpa">',
        '<article><h1>iPhone 16: Das kosten die neuen Modelle</h1>'
        f'<p>{PROSE}</p><ul>{rows}</ul>'
        '<p><strong>Lesen Sie auch</strong></p>'
        '<ul><li><a href="/x">iPhone 15 im Test: Lohnt sich das Upgrade?</a></li>'
        '<li><a href="/y">Die besten Smartphones unter 300 Euro</a></li></ul>'
        f"<p>{PROSE.replace('Montag', 'Dienstag')}</p>"
        "<p>Die Auslieferung beginnt nach Angaben des Herstellers in der kommenden Woche, "
        "zuerst in Deutschland, Österreich und der Schweiz.</p></article>", lang="de")
    draft = process("https://www.heise.de/news/iPhone-16-Das-kosten-die-Modelle-9867301.html",
                    html)
    assert isinstance(draft, Draft)  # short lines of a price list, declared article
    assert draft.title == "iPhone 16: Das kosten die neuen Modelle"  # colon kept, site gone
    assert draft.authors == ("Malte Kirchner",) and draft.wire == "dpa"
    assert "iPhone 16 Pro: 1199 Euro" in draft.text
    assert "Lohnt sich das Upgrade" not in draft.text  # the box went...
    assert draft.text.endswith("der Schweiz.")  # ...the article after it stayed
    assert (draft.published_at, draft.published_offset_min) == \
        (datetime(2024, 9, 10, 6, 15, tzinfo=UTC), 120)


def test_japanese_article_keeps_its_short_closing_paragraphs(process):
    paragraphs = [
        "政府は１５日、物価高に対応する新たな経済対策を閣議決定した。家計への支援を拡充し、"
        "低所得世帯に一律の給付金を支給するほか、電気・ガス料金の補助を来年春まで延長する。",
        "対策の規模は約２０兆円となる。", "首相は記者会見で「国民の生活を守る」と述べた。",
        "野党は財源の説明が不十分だと批判した。", "補正予算案は来週にも国会に提出される。"]
    html = page(
        '<title>政府、新たな経済対策を決定 ：日本経済新聞</title>'
        '<meta property="og:site_name" content="日本経済新聞 電子版">'
        '<meta property="og:type" content="article">',
        '<article><h1>政府、新たな経済対策を決定</h1>'
        '<div class="article-info">2024年11月15日 18:30</div>'
        + "".join(f"<p>{p}</p>" for p in paragraphs) + "</article>", lang="ja")
    draft = process("https://www.nikkei.com/article/DGXZQOUA150000V11C24A1000000/", html)
    assert isinstance(draft, Draft)
    assert draft.title == "政府、新たな経済対策を決定"
    assert draft.text.split("\n\n") == paragraphs
    # a wall-clock time on a Japanese page is Tokyo time
    assert (draft.published_at, draft.published_offset_min, draft.date_source) == \
        (datetime(2024, 11, 15, 9, 30, tzinfo=UTC), 540, "headline_date")


def test_wire_story_title_and_agency_author(process):
    html = page(
        '<title>Oil prices rise as Middle East tensions mount | Reuters</title>'
        '<meta property="og:type" content="article">'
        '<script type="application/ld+json">{"@context":"http://schema.org",'
        '"@type":"NewsArticle","headline":"Oil prices rise as Middle East tensions mount",'
        '"datePublished":"2024-10-02T01:37:12Z","author":[{"@type":"Person",'
        '"name":"Reuters"}],"publisher":{"@type":"Organization","name":"Reuters"}}</script>',
        "<article><h1>Oil prices rise as Middle East tensions mount</h1>"
        + "".join(f"<p>Sentence {i}: oil prices rose on Wednesday as investors weighed the risk "
                  "of supply disruptions after Iran fired missiles at Israel.</p>"
                  for i in range(4)) + "</article>")
    draft = process("https://www.reuters.com/business/energy/oil-prices-rise-2024-10-02/", html)
    assert draft.title == "Oil prices rise as Middle East tensions mount"
    assert (draft.authors, draft.wire) == ((), "Reuters")
