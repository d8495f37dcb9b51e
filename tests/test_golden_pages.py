"""Golden pages: on real pages (the devset and Common Crawl records), newsflow's processing path
gives the values checked by reading each page (``tests/data/golden_pages.json``).

A field listed under a page's ``known_misses`` is one newsflow still gets wrong: the test checks
it is still wrong, so an improvement shows up here and the annotation gets updated with it.
"""

import pytest

from bench.quality import load_gold, load_pages, page_checks, run_newsflow

GOLD = load_gold()
pytestmark = pytest.mark.slow  # about 40 real pages through the whole processing path


@pytest.fixture(scope="module")
def results(shared_dir):
    pages = load_pages(shared_dir, GOLD)
    return {page.gold["page"]: (page, output)
            for page, output in zip(pages, run_newsflow(pages), strict=True)}


@pytest.mark.parametrize("entry", GOLD, ids=[entry["page"] for entry in GOLD])
def test_golden_page(results, entry):
    page, output = results[entry["page"]]
    checks = page_checks(output, page)
    misses = set(entry.get("known_misses", ()))
    assert misses <= set(checks), f"unknown fields in known_misses: {misses - set(checks)}"
    wrong = sorted(field for field, ok in checks.items() if ok is False and field not in misses)
    fixed = sorted(field for field in misses if checks[field] is not False)
    assert not wrong, f"{entry['page']}: {wrong} differ from the checked values ({output})"
    assert not fixed, f"{entry['page']}: {fixed} are right now: drop them from known_misses"


def test_skips_say_why(results):
    reasons = {name: output.reason for name, (page, output) in results.items()
               if page.gold["type"] in ("index", "video")}
    for name, reason in reasons.items():
        wanted = "classify:index_page" if results[name][0].gold["type"] == "index" \
            else "classify:video_page"
        assert reason == wanted, (name, reason)
