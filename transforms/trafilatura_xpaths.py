"""trafilatura's XPaths, evaluated with fewer and cheaper calls into Python.

trafilatura finds boilerplate and the article body with expressions such as
``.//*[re:test(@class, 'share|social|...')]``. lxml evaluates each ``re:test`` by calling back
into Python, once per element tested, and libxml2 tests every element against every
predicate. :func:`tuned_xpath` replaces each expression by a cheaper one selecting the same
elements:

- within the subset of ``newsflow.transforms.xpath_subset`` (the boilerplate, body and comment
  expressions), a ``Selector`` that decides each distinct tag and attribute values once per
  process: on the benchmark's real pages 2-5 times faster than libxml2;
- otherwise, an XPath whose tests of attributes are guarded by their presence,
  ``((@class) and re:test(@class, ...))`` (lxml tests an absent attribute as the empty string,
  which a guarded pattern never matches; a pattern that matches the empty string is left
  unguarded), compiled without smart strings when it selects elements, so lxml hands the
  callback plain strings.

:func:`tune_trafilatura` puts the replacements in trafilatura's modules, once per process, with
one more change that is not an XPath: the fast cascade no longer copies the cleaned tree that
only the full cascade and comment capture read (:func:`prepare_tree_for`; 0.35 ms per page
on the benchmark's pages). The tests compare every replacement with its original on real
pages, and extraction with and without them: the text is the same.
"""

from __future__ import annotations

import re
import threading

#: ``re:test(<attribute union>, '<pattern>'[, '<flags>'])``: the calls the guard can wrap.
_ATTRIBUTE_TEST = re.compile(
    r"re:test\(\s*(?P<attributes>@[\w-]+(?:\s*\|\s*@[\w-]+)*)\s*,"
    r"\s*'(?P<pattern>[^']*)'\s*(?:,\s*'(?P<flags>[a-z]*)'\s*)?\)")
#: lxml's EXSLT regular-expression namespace, bound to the ``re`` prefix in trafilatura.
_REGEXP_NS = "http://exslt.org/regular-expressions"
#: trafilatura's modules holding such expressions (in lists, or as names in two modules).
_MODULES = ("xpaths", "settings", "baseline", "core", "main_extractor", "external", "metadata")

#: id(original) -> (original, twin) of every expression :func:`tune_trafilatura` swapped; the
#: originals stay referenced so that no id is reused while the swap runs.
_TWINS: dict[int, tuple] = {}
_TUNING = threading.Lock()  # in-process extraction may run on several Beam threads
_TUNED = threading.Event()  # set once every expression is swapped (_TWINS fills during it)


def guard_attribute_tests(path: str) -> str:
    """``path`` with each ``re:test`` of attributes evaluated only when one is present."""
    def guarded(match: re.Match) -> str:
        flags = re.IGNORECASE if "i" in (match["flags"] or "") else 0
        if re.search(match["pattern"], "", flags):
            return match[0]  # the empty string matches: an absent attribute passes the test
        return f"(({match['attributes']}) and {match[0]})"

    return _ATTRIBUTE_TEST.sub(guarded, path)


def selects_elements(path: str) -> bool:
    """Whether ``path``'s steps (predicates aside) select no attribute and no text, so its
    results are elements and smart strings change nothing it returns."""
    depth, steps = 0, []
    for char in path:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif depth == 0:
            steps.append(char)
    outer = "".join(steps)
    return "@" not in outer and "text()" not in outer and "::" not in outer


def guarded_xpath(xpath):
    """The rewritten twin of an lxml ``XPath`` using ``re:test``, or ``xpath`` itself when
    there is nothing to rewrite or the twin does not compile."""
    from lxml.etree import XPath, XPathError

    path = xpath.path
    if "re:test" not in path:
        return xpath
    try:
        return XPath(guard_attribute_tests(path), namespaces={"re": _REGEXP_NS},
                     smart_strings=not selects_elements(path))
    except XPathError:
        return xpath


def tuned_xpath(xpath):
    """What evaluates ``xpath`` cheapest with the same result: a Python ``Selector`` when the
    expression is in its subset (its fallback for other contexts is the guarded twin), else
    :func:`guarded_xpath`."""
    from newsflow.transforms.xpath_subset import Selector, Unsupported

    fallback = guarded_xpath(xpath)
    try:
        return Selector(xpath.path, fallback)
    except Unsupported:
        return fallback


def prepare_tree_for(original):
    """trafilatura's ``core._prepare_tree`` (``original``: clean a copy of the tree, copy the
    cleaned tree as a backup, convert its tags), without the backup when nothing will read it.

    Only the full cascade (``compare_extraction``) and the capture of comments read the
    backup; the fast cascade without comments gets None in its place (its recall retry
    prepares its own tree the same way). Any other extraction runs ``original``.
    """
    from copy import copy

    from trafilatura import core

    def prepare_tree(tree, options, url):
        if not options.fast or options.comments:
            return original(tree, options, url)
        cleaned = core.tree_cleaning(copy(tree), options)
        return core.convert_tags(cleaned, options, url), None

    prepare_tree.original = original
    return prepare_tree


def tune_trafilatura() -> None:
    """Swap the tuned expressions (and :func:`prepare_tree_for`) into trafilatura's modules,
    once per process."""
    if _TUNED.is_set():
        return
    import importlib

    from lxml.etree import XPath

    def twin(xpath):
        if id(xpath) not in _TWINS:
            _TWINS[id(xpath)] = (xpath, tuned_xpath(xpath))
        return _TWINS[id(xpath)][1]

    with _TUNING:
        if _TUNED.is_set():
            return
        done_lists: set[int] = set()  # lists are shared between modules: rewrite each once
        for module in (importlib.import_module(f"trafilatura.{name}") for name in _MODULES):
            for name, value in list(vars(module).items()):
                if isinstance(value, XPath):
                    setattr(module, name, twin(value))
                elif isinstance(value, list) and id(value) not in done_lists \
                        and any(isinstance(item, XPath) for item in value):
                    done_lists.add(id(value))
                    value[:] = [twin(item) if isinstance(item, XPath) else item
                                for item in value]
        core = importlib.import_module("trafilatura.core")
        core._prepare_tree = prepare_tree_for(core._prepare_tree)
        _TUNED.set()


def tuned_pairs() -> list[tuple]:
    """``(original, twin)`` of each expression the tuning rewrote."""
    return [(original, twin) for original, twin in _TWINS.values() if twin is not original]
