"""Cleaning: seed 003's boilerplate goes, every body paragraph of every seed stays."""

from pathlib import Path

import pytest

from newsflow.transforms.archives import text_dump_record
from newsflow.transforms.clean import clean_text, extract_dateline, extract_wire_credit


def _seed(seeds_dir: Path, prefix: str) -> str:
    return text_dump_record(next(seeds_dir.glob(f"{prefix}_*.txt")).read_text("utf-8"),
                            prefix).body


def _paragraphs(text: str) -> list[str]:
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_seed_003_is_headline_and_body_only(seeds_dir):
    raw = _seed(seeds_dir, "003")
    result = clean_text(raw)
    assert result.title == "Kim Jong Un visited Russian fighter jet factory"
    paragraphs = result.text.split("\n\n")
    assert paragraphs[0].startswith("On Friday, North Korean Leader Kim Jong Un")
    assert paragraphs[-1].endswith("voted in favour of.")
    body = _paragraphs(raw)[3:-2]  # after date, breadcrumb+title, title; before the tail
    assert paragraphs == body
    for boilerplate in ("Monday, July 1, 2024", "HomeWorldAsia", "RELATED ARTICLES",
                        "Most Popular"):
        assert boilerplate not in result.text
    assert set(result.removed) >= {"page_date", "breadcrumb", "title", "related_tail"}
    assert result.wire is None  # "according to TASS" is a source mention, not a credit


@pytest.mark.parametrize("prefix", ["000", "001", "002", "003", "004"])
def test_every_body_paragraph_of_every_seed_survives(seeds_dir, prefix):
    raw = _seed(seeds_dir, prefix)
    cleaned = clean_text(raw).text
    boilerplate = {"Monday, July 1, 2024", "RELATED ARTICLES", "Most Popular",
                   "HomeWorldAsiaKim Jong Un visited Russian fighter jet factory",
                   "Kim Jong Un visited Russian fighter jet factory"}
    for paragraph in _paragraphs(raw):
        if paragraph in boilerplate:
            continue
        paragraph = paragraph.removeprefix("Seoul : ").removesuffix(" (AP)")
        assert paragraph in cleaned, paragraph[:80]
    # seed 002's mid-article subheading is body, not boilerplate
    if prefix == "002":
        assert "Kim, Putin take ties to the next level" in cleaned


def test_seed_004_dateline_and_wire_are_fields(seeds_dir):
    result = clean_text(_seed(seeds_dir, "004"))
    assert result.dateline == "Seoul"
    assert result.wire == "AP"
    assert result.text.startswith("North Korean leader Kim Jong Un peered")
    assert not result.text.endswith("(AP)")


@pytest.mark.parametrize("line, dateline, wire, rest", [
    ("WASHINGTON (AP) — The Senate voted on the spending bill late on Tuesday night.",
     "WASHINGTON (AP)", "AP", "The Senate voted"),
    ("SEOUL, Sept. 15 (Reuters) - North Korea fired two ballistic missiles on Friday.",
     "SEOUL, Sept. 15 (Reuters)", "Reuters", "North Korea fired"),
    ("NEW YORK — Stocks fell sharply on Monday as investors weighed new data.",
     "NEW YORK", None, "Stocks fell"),
    ("Update: the story was changed later today by the editors of this site.", None, None,
     "Update:"),
    ("On Friday, Kim toured a plant, according to TASS news agency reports.", None, None,
     "On Friday"),
])
def test_datelines(line, dateline, wire, rest):
    lines, found, agency = extract_dateline([line])
    assert (found, agency) == (dateline, wire)
    assert lines[0].startswith(rest)


@pytest.mark.parametrize("last, wire", [
    ("The talks continue on Monday. (AP)", "AP"),
    ("The talks continue on Monday. — AFP", "AFP"),
    ("The talks continue on Monday (Reuters)", "Reuters"),
    ("The talks continue, according to TASS", None),
    ("Officials told Reuters the talks continue.", None),
])
def test_wire_credits(last, wire):
    lines, agency = extract_wire_credit(["First paragraph.", last])
    assert agency == wire
    if wire:
        assert lines[-1] == "The talks continue on Monday." or \
            lines[-1] == "The talks continue on Monday"


def test_share_lines_and_link_lists_are_removed_but_short_body_lines_stay():
    text = "\n".join([
        "Home > News > Politics",
        "Parliament passes budget",
        "The parliament passed the budget on Thursday after a long debate.",
        "Share this article",
        "Ministers said the vote was close.",
        "Subscribe to our newsletter for daily updates",
        "The opposition promised to keep fighting.",
        "Budget row deepens",
        "Election polls tighten",
        "Storm hits coast",
        "Markets rally on data",
    ])
    result = clean_text(text, title="Parliament passes budget")
    assert result.text.split("\n\n") == [
        "The parliament passed the budget on Thursday after a long debate.",
        "Ministers said the vote was close.",
        "The opposition promised to keep fighting.",
    ]
    assert {"breadcrumb", "title", "share_or_subscribe", "link_list"} <= set(result.removed)


def test_german_page_furniture_and_dpa_dateline():
    text = "\n".join([
        "Mittwoch, 19. März 2025",
        "StartseitePolitikAuslandRegierung beschließt neues Gesetz",
        "Regierung beschließt neues Gesetz",
        "Berlin (dpa) - Die Bundesregierung hat am Mittwoch ein neues Gesetz beschlossen, "
        "das die Wirtschaft stärken soll.",
        "Die Opposition kritisierte den Entwurf scharf und kündigte Widerstand an.",
        "Artikel teilen",
        "Mehr zum Thema",
        "Regierung in der Krise",
    ])
    result = clean_text(text)
    assert result.title == "Regierung beschließt neues Gesetz"
    assert (result.dateline, result.wire) == ("Berlin (dpa)", "dpa")
    assert result.text.split("\n\n") == [
        "Die Bundesregierung hat am Mittwoch ein neues Gesetz beschlossen, das die Wirtschaft "
        "stärken soll.",
        "Die Opposition kritisierte den Entwurf scharf und kündigte Widerstand an.",
    ]


@pytest.mark.parametrize("line", [
    "mercredi 19 mars 2025", "Le 19 mars 2025 à 10h30", "miércoles, 19 de marzo de 2025",
    "19. März 2025, 10:30 Uhr", "Updated: Monday, July 1, 2024 at 10:30 EST",
])
def test_page_date_lines_in_four_languages_are_removed(line):
    body = "Le gouvernement a présenté mercredi un projet de loi très attendu par les maires."
    result = clean_text(f"{line}\n{body}")
    assert result.text == body and result.removed == ("page_date",)


@pytest.mark.parametrize("line, dateline, wire", [
    ("París (EFE) — El gobierno francés anunció hoy nuevas medidas económicas.",
     "París (EFE)", "EFE"),
    ("Der Minister (SPD) - sagte am Dienstag etwas über den Haushalt.", None, None),
])
def test_title_case_datelines_need_an_agency(line, dateline, wire):
    assert extract_dateline([line])[1:] == (dateline, wire)


def test_japanese_article_ending_with_short_paragraphs_keeps_them():
    paragraphs = [
        "政府は１５日、新しい経済対策を閣議決定した。物価高に対応するため、家計への支援を拡充する。",
        "対策の規模は約２０兆円となる。",
        "首相は記者会見で「国民の生活を守る」と述べた。",
        "野党は財源の説明が不十分だと批判した。",
        "補正予算案は来週にも国会に提出される。",
    ]
    result = clean_text("\n".join(paragraphs))
    assert result.text.split("\n\n") == paragraphs and "link_list" not in result.removed


def test_chinese_and_thai_paragraphs_are_not_link_lists():
    chinese = ["外交部发言人表示，中方愿同各方加强沟通。", "双方同意继续保持对话。",
               "会谈在友好气氛中进行。", "（编辑：王辉）"]
    assert clean_text("\n".join(chinese)).text.split("\n\n") == chinese
    thai = ["ผู้สื่อข่าวรายงานว่าเมื่อวันที่ 21 มกราคม เจ้าหน้าที่ตำรวจได้ตรวจสอบพื้นที่",
            "ครอบครัวยังไม่ขอให้สัมภาษณ์", "ตำรวจเร่งหาเบาะแส", "เจ้าหน้าที่ยืนยันผลดีเอ็นเอ"]
    assert clean_text("\n".join(thai)).text.split("\n\n") == thai


def test_lesen_sie_auch_box_inside_the_article_removes_only_the_box():
    body = [
        "Apple hat am Montag neue iPhones vorgestellt, die ab Freitag im Handel sind.",
        "Die Preise steigen im Vergleich zum Vorjahr um bis zu 100 Euro, teilte der Konzern mit.",
        "Lesen Sie auch",
        "iPhone 15 im Test: Lohnt sich das Upgrade?",
        "Die besten Smartphones unter 300 Euro",
        "Analysten erwarten dennoch eine hohe Nachfrage, vor allem nach dem Pro-Modell.",
        "Der Marktanteil von Apple in Deutschland liegt bei rund 35 Prozent, so die Marktforscher.",
    ]
    result = clean_text("\n".join(body))
    assert result.text.split("\n\n") == body[:2] + body[5:]
    assert "related_box" in result.removed


def test_related_marker_followed_only_by_links_is_the_tail():
    body = ["The council approved the budget on Tuesday after a long and heated debate.",
            "It takes effect in January, officials said.",
            "Related stories", "Budget row deepens", "Mayor faces vote", "See all news"]
    result = clean_text("\n".join(body))
    assert result.text.split("\n\n") == body[:2] and "related_tail" in result.removed


def test_read_more_lines_repeats_and_bylines():
    text = "\n".join([
        "By Jane Doe and Max Roe",
        "The council approved the budget on Tuesday after a long and heated debate.",
        "Read more: Budget row deepens as mayor faces vote",
        "The council approved the budget on Tuesday after a long and heated debate.",
        "It takes effect in January, officials said.",
        "jane.doe@daily.test",
        "(END)",
    ])
    result = clean_text(text)
    assert result.text.split("\n\n") == [
        "The council approved the budget on Tuesday after a long and heated debate.",
        "It takes effect in January, officials said."]
    assert result.authors == ("Jane Doe", "Max Roe")
    assert {"byline", "related_link", "repeated_paragraph", "end_marker"} <= set(result.removed)


def test_a_byline_line_naming_known_authors_goes():
    text = "Autori:Anna Ūdre(LTV Ziņu dienesta redaktore)\nNorvēģijas glābšanas komanda " \
           "četras dienas pēc tam atradusi piekto bojāgājušo, vēsta vietējie mediji."
    result = clean_text(text, authors=("Anna Ūdre",))
    assert result.text.startswith("Norvēģijas") and "byline" in result.removed


def test_a_price_table_closing_the_article_is_no_link_list():
    body = ["Apple hat die Preise für das neue iPhone bekanntgegeben, sie steigen leicht.",
            "Modell", "Preis", "iPhone 16", "949 Euro", "iPhone 16 Pro", "1199 Euro", "128 GB"]
    result = clean_text("\n".join(body))
    assert result.text.split("\n\n") == body and "link_list" not in result.removed


def test_copyright_lines_go():
    result = clean_text("The council approved the budget on Tuesday after a long debate.\n"
                        "™ & © 2013 Cable News Network, Inc. All rights reserved.")
    assert result.text == "The council approved the budget on Tuesday after a long debate."
