"""What pages declare about themselves, read from hand-written pages in real publishers'
patterns (Yoast-style JSON-LD @graph, NewsArticle with an offset, <time> under the headline)."""

from trafilatura.utils import load_html

from newsflow.transforms.metadata import read_page_metadata

GRAPH_PAGE = """<!DOCTYPE html><html lang="en"><head>
<title>Faker wins his fourth world title | ONE Esports</title>
<meta property="og:type" content="article">
<meta property="og:site_name" content="ONE Esports">
<meta property="og:title" content="Faker wins his fourth world title">
<meta property="article:published_time" content="2023-11-19T19:18:44+08:00">
<meta property="article:modified_time" content="2023-11-19T20:31:10+08:00">
<meta property="article:tag" content="T1"><meta property="article:tag" content="Worlds">
<link rel="canonical" href="https://www.esports.test/lol/t1-worlds-2023-champion/">
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"Organization","@id":"https://www.esports.test/#organization","name":"ONE Esports"},
 {"@type":"WebSite","@id":"https://www.esports.test/#website","name":"ONE Esports",
  "publisher":{"@id":"https://www.esports.test/#organization"}},
 {"@type":"WebPage","@id":"https://www.esports.test/lol/t1-worlds-2023-champion/#webpage",
  "datePublished":"2023-11-19T19:18:44+08:00"},
 {"@type":"Person","@id":"https://www.esports.test/author/tania/","name":"Amanda Tan"},
 {"@type":"NewsArticle","headline":"Faker wins his fourth world title",
  "datePublished":"2023-11-19T19:18:44+08:00","dateModified":"2023-11-19T20:31:10+08:00",
  "author":{"@id":"https://www.esports.test/author/tania/","name":"Amanda Tan"},
  "publisher":{"@id":"https://www.esports.test/#organization"},
  "keywords":"T1,worlds 2023"}]}</script>
</head><body><header><span class="today">Monday, November 20, 2023</span></header>
<article><h1>Faker wins his fourth world title</h1>
<div class="byline">By <a rel="author" href="/author/tania/">Amanda Tan</a></div>
<time datetime="2023-11-19T19:18:44+08:00">November 19, 2023</time>
<p>T1 are your world champions after a clean sweep in the final in Seoul.</p></article>
</body></html>"""

OFFSET_PAGE = """<html><head><title>Kim tours jet factory - Daily Test</title>
<meta property="article:published_time" content="2023-09-15T08:30:00">
<script type="application/ld+json">
{"@context": "http://schema.org", "@type": "NewsArticle",
 "headline": "Kim tours jet factory", "datePublished": "2023-09-15T10:30:00+02:00",
 "author": [{"@type": "Person", "name": "Jane Doe"}, {"@type": "Person", "name": "Max Roe"}],
 "publisher": {"@type": "Organization", "name": "Daily Test"},}
</script></head>
<body><div class="site-date">Friday, 20 September 2024 09:00</div>
<h1>Kim tours jet factory</h1><div class="meta">Posted on 15.09.2023 10:30</div>
<p>North Korean leader Kim Jong Un toured an aircraft plant in the far east.</p></body></html>"""


def read(page: str, url: str | None = None) -> dict:
    return read_page_metadata(load_html(page), url)


def test_json_ld_graph_with_id_references():
    meta = read(GRAPH_PAGE, "https://www.esports.test/lol/t1-worlds-2023-champion/")
    assert meta["dates"][0] == ("json_ld", "2023-11-19T19:18:44+08:00")
    assert ("opengraph", "2023-11-19T19:18:44+08:00") in meta["dates"]
    assert ("time_element", "2023-11-19T19:18:44+08:00") in meta["dates"]
    assert meta["modified"][0] == ("json_ld", "2023-11-19T20:31:10+08:00")
    assert meta["authors"][0] == ("json_ld", "Amanda Tan", "person")
    assert ("byline", "By Amanda Tan", "unknown") in meta["authors"]
    assert meta["site_names"][0] == "ONE Esports"
    assert {"og:article", "newsarticle", "webpage", "website"} <= set(meta["types"])
    assert ("json_ld", "Faker wins his fourth world title") in meta["titles"]
    assert ("h1", "Faker wins his fourth world title") in meta["titles"]
    assert {"T1", "Worlds", "worlds 2023"} <= set(meta["tags"])
    assert meta["canonical_url"] == "https://www.esports.test/lol/t1-worlds-2023-champion/"
    # the header's "today" date is page furniture, never a candidate
    assert not any("November 20" in value for _, value in meta["dates"])
    assert meta["body_chars"] == 0  # no articleBody declared


def test_declared_article_body_length():
    page = GRAPH_PAGE.replace('"keywords":"T1,worlds 2023"',
                              '"keywords":"T1,worlds 2023","articleBody":"T1 are   your\\nworld '
                              'champions."')
    assert read(page)["body_chars"] == len("T1 are your world champions.")


def test_broken_json_ld_offsets_and_dates_under_the_headline():
    meta = read(OFFSET_PAGE)
    assert meta["dates"][0] == ("json_ld", "2023-09-15T10:30:00+02:00")  # trailing comma
    assert ("opengraph", "2023-09-15T08:30:00") in meta["dates"]
    assert ("headline_date", "Posted on 15.09.2023 10:30") in meta["dates"]
    assert not any("2024" in value for _, value in meta["dates"])  # above the headline
    assert [name for source, name, _ in meta["authors"] if source == "json_ld"] == \
        ["Jane Doe", "Max Roe"]


def test_a_page_without_declarations():
    meta = read("<html><body><h1>Hello</h1><p>Text only.</p></body></html>")
    assert meta["dates"] == () and meta["types"] == () and meta["canonical_url"] is None
    assert meta["titles"] == (("h1", "Hello"),)


def test_the_storys_headline_anchors_a_plain_date_line():
    page = """<html lang="zh-CN"><head>
    <title>外国专家：中美合作共赢符合国际社会利益 - 中国日报网</title></head>
    <body><header><h1><a href="/">中国日报网</a></h1>
    <div class="nav">2024 专题 视频 English 12 34</div></header>
    <div class="main"><h1>外国专家：中美合作共赢符合国际社会利益</h1>
    <div class="xinf-le">2023-11-17 15:13</div><div id="Content"><p>在美国旧金山举行的中美元首会晤
    吸引了全世界的目光。多名外国专家告诉记者，中美合作共赢符合国际社会利益。</p></div></div>
    </body></html>"""
    meta = read(page)
    assert ("headline_date", "2023-11-17 15:13") in meta["dates"]
    assert meta["locale"] == "zh-CN"
