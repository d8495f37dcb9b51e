"""Headlines lose site furniture only when it names the site; authors become a clean list."""

import pytest

from newsflow.transforms.authors import resolve_authors, split_names
from newsflow.transforms.titles import choose_title, site_keys, strip_site_furniture


@pytest.mark.parametrize("title, sites, url, expected", [
    ("After storm, forecasters see smooth sailing - CNN", ["CNN"], None,
     "After storm, forecasters see smooth sailing"),
    ("Oil prices rise on supply worries | Reuters", [], "https://www.reuters.com/markets/x",
     "Oil prices rise on supply worries"),
    ("Reuters: Oil prices rise on supply worries", ["Reuters"], None,
     "Oil prices rise on supply worries"),
    ("Takeaways from Trump's testimony | CNN Politics", ["CNN"], None,
     "Takeaways from Trump's testimony"),
    ("معارضون يسيطرون على مخازن للصواريخ - CNNArabic.com", ["CNNArabic"], None,
     "معارضون يسيطرون على مخازن للصواريخ"),
    ("Anticorrupción decidirá en Madrid » Local » Noticias » Ultima Hora Mallorca",
     ["Ultima Hora Mallorca"], None, "Anticorrupción decidirá en Madrid"),
    ("'The American friends': New court files -- Puppet Masters -- Sott.net", [],
     "https://www.sott.net/article/434715", "'The American friends': New court files"),
    ("LinkNaija | Nigeria's popular news platform: Nollywood Actress Kate Henshaw Stuns",
     ["LinkNaija | Nigeria's popular news platform"], None,
     "Nollywood Actress Kate Henshaw Stuns"),
    ("米朝首脳直通電話 習氏に挑むトランプ戦術の成否 ：日本経済新聞", ["日本経済新聞 電子版"], None,
     "米朝首脳直通電話 習氏に挑むトランプ戦術の成否"),
    # a colon or dash that is part of the headline stays
    ("Alito and Prelogar: The nonstop sparring match", ["CNN"], None,
     "Alito and Prelogar: The nonstop sparring match"),
    ("Kim Jong-un visits Russia - state media", ["CNN"], None,
     "Kim Jong-un visits Russia - state media"),
    ("Breaking: Storm hits coast", [], None, "Breaking: Storm hits coast"),
])
def test_site_furniture(title, sites, url, expected):
    assert strip_site_furniture(title, site_keys(sites, url)) == expected


def test_the_shown_headline_wins_when_metadata_agrees():
    titles = [("og", "Analysis: The nonstop sparring match at the Supreme Court | CNN Politics"),
              ("title", "Alito and Prelogar: The nonstop sparring match at the Supreme Court"),
              ("h1", "The nonstop sparring match at the Supreme Court")]
    assert choose_title(titles, ["CNN"]) == "The nonstop sparring match at the Supreme Court"
    # a headline element holding the byline too: the part that agrees
    titles = [("og", "米朝首脳直通電話 習氏に挑むトランプ戦術の成否（写真＝ロイター）"),
              ("h1", "米朝首脳直通電話 習氏に挑むトランプ戦術の成否 編集委員 中沢克二"),
              ("h1", "米朝首脳直通電話 習氏に挑むトランプ戦術の成否"), ("h1", "編集委員 中沢克二")]
    assert choose_title(titles, ["日本経済新聞 電子版"]) == \
        "米朝首脳直通電話 習氏に挑むトランプ戦術の成否"


def test_logo_headlines_and_generic_page_titles():
    titles = [("title", "ผล DNA ยืนยัน ศพลอยแม่น้ำโขง | ประชาไท Prachatai.com"),
              ("h1", "ประชาไท"), ("h1", "ผล DNA ยืนยัน ศพลอยแม่น้ำโขง")]
    assert choose_title(titles, [], "https://prachatai.com/journal/2019/01/80642") == \
        "ผล DNA ยืนยัน ศพลอยแม่น้ำโขง"
    titles = [("title", "News from The Associated Press"),
              ("h1", "Father of Orlando gunman known for rambling political videos")]
    assert choose_title(titles) == "Father of Orlando gunman known for rambling political videos"
    titles = [("title", "Budget passes after long night | Daily Test"), ("h1", "Politics")]
    assert choose_title(titles, ["Daily Test"]) == "Budget passes after long night"
    assert choose_title([], fallback="From the feed") == "From the feed"


@pytest.mark.parametrize("value, names", [
    ("By Jeremy Herb, Lauren del Valle and Kara Scannell, CNN",
     ["Jeremy Herb", "Lauren del Valle", "Kara Scannell", "CNN"]),
    ("Dana A. Ford, James S.A. Corey, Chien-Ming Wang, and Tom Watkins, CNN",
     ["Dana A. Ford", "James S.A. Corey", "Chien-Ming Wang", "Tom Watkins", "CNN"]),
    ("Autori: Anna Ūdre (LTV Ziņu dienesta ārzemju ziņu redaktore)", ["Anna Ūdre"]),
    ("Von Max Mustermann und Erika Musterfrau", ["Max Mustermann", "Erika Musterfrau"]),
    ("Patricio Candia | Palma de Mallorca | 08/01/2014", ["Patricio Candia"]),
    ("https://www.facebook.com/bbcnews", []),
    ("support@edumock.test (EduMock Team)", []),
])
def test_split_names(value, names):
    assert split_names(value) == names


def test_authors_from_the_strongest_source_without_roles_sites_or_agencies():
    keys = site_keys(["CNN"], "https://www.cnn.com/2023/11/06/x")
    candidates = [("meta", "Douglas Wood", "unknown"),
                  ("json_ld", "Joan Biskupic", "person"),
                  ("json_ld", "CNN", "organization"),
                  ("byline", "Analysis by Joan Biskupic, CNN Senior Supreme Court Analyst",
                   "unknown")]
    assert resolve_authors(candidates, keys) == (("Joan Biskupic",), None)
    candidates = [("meta", "Dana A. Ford, James S.A. Corey, and Tom Watkins, CNN", "unknown"),
                  ("byline", "By Dana A Ford", "unknown")]
    assert resolve_authors(candidates, keys) == (
        ("Dana A. Ford", "James S.A. Corey", "Tom Watkins"), None)
    # an agency is a wire credit, staff and desks are no people, names are de-duplicated
    candidates = [("json_ld", "Reuters", "organization"),
                  ("meta", "Reuters Staff", "unknown"),
                  ("byline", "By Jane Doe and JANE DOE; National Desk", "unknown")]
    assert resolve_authors(candidates, set()) == (("Jane Doe",), "Reuters")
    assert resolve_authors([("json_ld", "BBC News", "organization")],
                           site_keys(["BBC News"], None)) == ((), None)


def test_bylines_in_capitals_read_as_names():
    assert resolve_authors([("byline", "By LYNNE O'DONNELL", "unknown")], set()) == \
        (("Lynne O'Donnell",), None)
    assert resolve_authors([("meta", "BBC", "unknown")], set()) == (("BBC",), None)
