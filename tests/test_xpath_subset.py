"""The Python evaluation of trafilatura's XPath subset selects exactly what libxml2 selects."""

from __future__ import annotations

import pytest
from lxml.etree import XPath

from newsflow.transforms import xpath_subset
from newsflow.transforms.extractor import parse_html
from newsflow.transforms.xpath_subset import Selector, Unsupported

_NS = {"re": "http://exslt.org/regular-expressions"}

_PAGE = """<html><head><title>t</title></head><body>
<div class="ad-x" id="">a1</div>
<div id="share" class="ad-3">a2</div>
<div id="y" class="share-bar">a3</div>
<div class="Teaser big" role="Navigation">a4</div>
<section id="main-wrap"><h1>Head</h1><div class="content">c1</div><div class="content">c2</div>
  <p class="content">c3</p></section>
<div class="content"><div class="content">c4</div></div>
<div class="" data-lp-replacement-content="">a5</div>
<span style="display: none">hidden</span>
<aside class="x">aside</aside>
<p class="FullText">ft</p>
<main id="main">m</main>
<div class="mvp-post-add-box"><h1>kept-h1</h1></div>
<div class="mvp-post-add-wrap">plain</div>
<div class="infinite-scroll"><h1>next article</h1></div>
<article><div class="comment-list">x</div></article>
</body></html>"""

#: Expressions covering each construct of the subset.
EXPRESSIONS = [
    # the first of @id/@class in attribute order is tested; an empty @id counts as present
    ".//*[re:test(@id|@class, '^ad-|share')]",
    ".//*[starts-with(@class|@id, 'ad')]",
    ".//*[re:test(@class, 'fulltext', 'i')]",
    ".//*[re:test(@class, 'bar|big')]",  # found anywhere in the value, not only at its start
    ".//*[self::div or self::p][contains(translate(@class, 'TC', 'tc'), 'teaser')]",
    ".//*[contains(translate(@role, 'NX', 'n'), 'nav')]",  # X is deleted, N lowered
    ".//*[@class='content' or @id='main']",
    ".//*[@data-lp-replacement-content or contains(@style, 'display: none')]",
    ".//div[@class='content'][1]",  # each parent's first matching child
    ".//*[self::div or self::p][@class='content'][1]",
    "(.//*[self::div or self::section][@class='content'])[1]",
    "(.//*[self::div][starts-with(@id, 'nope')])[1]",  # nothing: an empty list
    "(.//*[self::article or self::section][starts-with(@id, 'main')])[1]|(.//main)[1]",
    "(.//article)[1]|(.//main)[1]",  # a union in document order, not in branch order
    "(.//*[self::div][not(.//h1)][contains(@class, 'mvp')])[1]",  # looks below each one
    ".//aside|.//div[contains(@class|@id, 'content')]|.//*[re:test(@class, 'teaser', 'i')]",
    ".//*[self::div][re:test(@class, 'mvp-post-add-(?:box|wrap)|infinite-?scroll')]"
    "[not(.//h1) or re:test(@class, 'mvp-post-add-(?:box|wrap)')]",
    ".//*[not(self::div or self::p) and (@id or @role)]",
    ".//*[re:test(@title, 'a?')]",  # matches the empty string: elements without the attribute
]


@pytest.fixture(scope="module")
def tree():
    return parse_html(_PAGE)


@pytest.mark.parametrize("path", EXPRESSIONS)
def test_selects_what_libxml2_selects(tree, path):
    original = XPath(path, namespaces=_NS)
    expected = original(tree)
    selector = Selector(path, original)
    assert selector(tree) == expected
    assert selector(tree) == expected  # again, from the decisions it keeps
    section = tree.find(".//section")
    assert selector(section) == original(section)  # relative to any element


def test_the_page_exercises_the_subset(tree):
    """What the expressions above select here, read off the page by hand."""
    def texts(path):
        return [element.text for element in Selector(path, None)(tree)]

    # class="ad-x" id="" (class first): tested; id="y" class="share-bar": "y" is tested
    assert texts(EXPRESSIONS[0]) == ["a1", "a2"]
    assert texts(EXPRESSIONS[16]) == [None, "plain"]  # the h1 inside keeps only infinite-scroll
    assert texts("(.//article)[1]|(.//main)[1]") == ["m", None]
    assert texts(EXPRESSIONS[14]) == ["plain"]
    assert texts(EXPRESSIONS[5]) == ["a4"]
    assert texts(EXPRESSIONS[3]) == ["a3", "a4"]
    assert len(texts(EXPRESSIONS[-1])) == len(list(tree.iterdescendants()))


def test_each_parents_first_match_is_kept(tree):
    selected = Selector(".//div[@class='content'][1]", None)(tree)
    assert [(element.getparent().tag, element.text) for element in selected] == [
        ("section", "c1"), ("body", None), ("div", "c4")]


def test_other_contexts_and_variables_go_to_the_xpath(tree):
    original = XPath(".//*[@class='content']")
    selector = Selector(original.path, original)
    document = tree.getroottree()
    assert selector(document) == original(document)  # a document: the root element counts
    calls = []

    def fallback(context, **variables):
        calls.append(variables)
        return []

    assert Selector(".//*[@id='x']", fallback)(tree, name="x") == []
    assert calls == [{"name": "x"}]


@pytest.mark.parametrize("path", [
    "//*[@class='x']",  # from the document root
    ".//div/p",  # two steps
    ".//a/@href",
    ".//*[local-name()='annotation']",
    ".//*[@class='x'][2]",
    ".//*[rel='me']",  # a child element's text
    ".//*[contains(string(.), 'x')]",
    ".//*[@class='x'][1][@id]",
    ".//*[translate(@class, 'a', 'b')]",
])
def test_other_expressions_are_refused(path):
    with pytest.raises(Unsupported):
        xpath_subset.parse(path)


def test_the_decisions_kept_are_bounded(tree, monkeypatch):
    monkeypatch.setattr(xpath_subset, "CACHE_LIMIT", 3)
    path = ".//*[re:test(@id|@class, '^ad-|share')]"
    selector = Selector(path, None)
    assert selector(tree) == XPath(path, namespaces=_NS)(tree)
    matcher = selector._branches[0][1]
    assert 0 < len(matcher.decisions) <= 3
