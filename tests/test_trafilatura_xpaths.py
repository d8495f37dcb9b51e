"""trafilatura's tuned XPaths select what the originals select, so extraction is unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import trafilatura.core
import trafilatura.xpaths
from lxml.etree import XPath

from bench.real_corpus import load_real_pages
from newsflow.transforms.extractor import EXTRACT_OPTIONS, parse_html
from newsflow.transforms.trafilatura_xpaths import (
    guard_attribute_tests,
    guarded_xpath,
    selects_elements,
    tune_trafilatura,
    tuned_pairs,
)
from newsflow.transforms.xpath_subset import Selector


def test_guard_wraps_tests_of_attributes_whose_pattern_needs_text():
    path = (".//*[re:test(@class, '^shar|social') or re:test(@id|@class, 'cookie', 'i') "
            "or re:test(@id, 'a?') or re:test(string(.), 'ad')]")
    assert guard_attribute_tests(path) == (
        ".//*[((@class) and re:test(@class, '^shar|social')) "
        "or ((@id|@class) and re:test(@id|@class, 'cookie', 'i')) "
        "or re:test(@id, 'a?') "  # 'a?' matches the empty string: an absent @id passes
        "or re:test(string(.), 'ad')]")  # not a test of attributes


def test_only_element_selections_drop_smart_strings():
    assert selects_elements(".//*[re:test(@class, 'x')]//div[@id]")
    assert not selects_elements(".//a[re:test(@class, 'x')]/@href")
    assert not selects_elements(".//p[re:test(@class, 'x')]/text()")
    assert not selects_elements(".//p[re:test(@class, 'x')]/attribute::id")


def test_a_twin_selects_the_same_elements_on_odd_attributes():
    original = XPath(".//*[re:test(@id|@class, '^ad-|(?:^| )share')]",
                     namespaces={"re": "http://exslt.org/regular-expressions"})
    twin = guarded_xpath(original)
    assert twin is not original and "(@id|@class) and" in twin.path
    tree = parse_html(
        "<html><body><div id='' class='ad-x'>1</div><div class='x share'>2</div>"
        "<div id='ad-1'>3</div><div class='ad-2' id='y'>4</div><p>5</p>"
        "<span class='sharer'>6</span><div id='share' class='ad-3'>7</div></body></html>")
    # the first of @id/@class in document order is tested; an empty @id is tested as ""
    assert [e.text for e in original(tree)] == ["2", "3", "4", "6", "7"]
    assert twin(tree) == original(tree)


@pytest.fixture(scope="module")
def real_trees(shared_dir):
    pages = load_real_pages(shared_dir)
    trees = [parse_html(page.body.decode(page.encoding, "replace")) for page in pages]
    assert len([tree for tree in trees if tree is not None]) >= 40
    return [tree for tree in trees if tree is not None]


def test_every_twin_selects_what_its_original_selects_on_real_pages(real_trees):
    tune_trafilatura()
    pairs = tuned_pairs()
    assert len(pairs) >= 15  # trafilatura 2.3's boilerplate, body, comment and author XPaths
    selected = 0
    for original, twin in pairs:
        for tree in real_trees:
            expected = original(tree)
            assert twin(tree) == expected, original.path
            selected += len(expected)
    assert selected > 1000  # the expressions do select on these pages


def test_every_selector_call_during_extraction_matches_libxml2(shared_dir, monkeypatch):
    """Both cascades on every real page, each Python selection checked against the original
    expression on the very tree trafilatura hands it (pruned, converted, copied)."""
    tune_trafilatura()
    originals = {twin.path: original for original, twin in tuned_pairs()
                 if isinstance(twin, Selector)}
    assert all(isinstance(twin, Selector) for twin in
               trafilatura.xpaths.BODY_XPATH + trafilatura.xpaths.OVERALL_DISCARD_XPATH)
    select = Selector.__call__
    checked = []

    def checked_call(self, context, **variables):
        found = select(self, context, **variables)
        assert found == originals[self.path](context, **variables), self.path
        checked.append(len(found))
        return found

    monkeypatch.setattr(Selector, "__call__", checked_call)
    assert any(cascade_texts(shared_dir))
    assert len(checked) > 1000 and sum(checked) > 4000  # 1,228 calls selecting 5,778 here


def cascade_texts(shared: Path) -> list[str | None]:
    """Both cascades' text of every real page (run untuned in a fresh interpreter, and here)."""
    import trafilatura

    texts = []
    for page in load_real_pages(shared):
        tree = parse_html(page.body.decode(page.encoding, "replace"))
        for fast in (True, False):
            document = None if tree is None else trafilatura.bare_extraction(
                tree, url=page.url, fast=fast, **EXTRACT_OPTIONS)
            texts.append(None if document is None else document.text)
    return texts


_UNTUNED = """
import json, sys
from pathlib import Path
from tests.test_trafilatura_xpaths import cascade_texts
print(json.dumps(cascade_texts(Path(sys.argv[1]))))
"""


def test_tuned_trafilatura_extracts_the_same_text_from_real_pages(shared_dir):
    """Both cascades, untuned in a fresh interpreter and tuned here, on the same pages."""
    untuned = subprocess.run([sys.executable, "-c", _UNTUNED, str(shared_dir)], check=True,
                             capture_output=True, text=True, cwd=Path(__file__).parents[1])
    tune_trafilatura()
    assert tuned_pairs()
    assert trafilatura.core._prepare_tree.original  # the fast cascade's tree without backup
    texts = cascade_texts(shared_dir)
    assert texts == json.loads(untuned.stdout)
    assert sum(bool(text) for text in texts) >= 80
