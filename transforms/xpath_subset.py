"""The XPath subset of trafilatura's attribute-matching expressions, evaluated in Python.

trafilatura finds boilerplate and the article body with expressions such as
``.//*[self::div or self::p][re:test(@class, 'share|social') or @id='content']``. libxml2
tests them element by element (about a microsecond each) and calls back into Python for every
``re:test``. Whether an element passes such predicates depends only on its tag and on the
values of the attributes they name. A page repeats its combinations (three quarters of its
elements share one with an earlier element), and so do the pages of one site, so
:class:`Selector` decides each combination once per process and looks it up afterwards (each
``re:test`` also remembers its answer per string). On the benchmark's real pages trafilatura's
extraction costs about 28 % less with it; forgetting every decision between pages (no two
pages of one site) still saves about 21 %.

The subset (:func:`parse` refuses anything else with :class:`Unsupported`)::

    expression := branch ("|" branch)*
    branch     := step | "(" step ")" "[1]"
    step       := ".//" (name | "*") ("[" predicate "]")* ["[1]"]
    predicate  := "or" / "and" / parentheses over:
                  "self::" name | ".//" name | "not(" predicate ")" | value ["=" literal]
                  | contains(value, literal) | starts-with(value, literal)
                  | re:test(value, literal [, literal])
    value      := "@" name ("|" "@" name)* | translate(value, literal, literal)

with XPath 1.0's meaning: a union of attributes converts to the string of the first one in
the element's attribute order (an absent attribute to ""), ``[1]`` after a step keeps the
first match among each parent's children, ``(...)[1]`` the first in document order, and
``re:test`` is lxml's EXSLT function (Python's ``re``, ``i`` for case-insensitive).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml.etree import Element, _Element

#: Decisions a selector keeps (distinct tag and attribute values), and answers an ``re:test``
#: keeps (distinct strings), before starting afresh: 460 real pages make about 20,000
#: decisions over all the selectors, and this bounds them to a few tens of MB.
CACHE_LIMIT = 5_000

_TOKEN = re.compile(r"""\s*(?:
    (?P<literal>'[^']*'|"[^"]*")
  | (?P<number>\d+)
  | (?P<op>\.//|::|[()\[\]|,=@*])
  | (?P<name>[A-Za-z_][\w-]*(?::[A-Za-z_][\w-]*)?)
)""", re.VERBOSE)


class Unsupported(ValueError):
    """The expression is outside the subset (the caller keeps evaluating it with libxml2)."""


def _tokens(path: str) -> list[tuple[str, str]]:
    tokens, position, end = [], 0, len(path.rstrip())
    while position < end:
        match = _TOKEN.match(path, position)
        if match is None or match.end() == position:
            raise Unsupported(f"unexpected {path[position:position + 20]!r}")
        kind = match.lastgroup
        text = match[kind]
        tokens.append((kind, text[1:-1] if kind == "literal" else text))
        position = match.end()
    return tokens


# Predicate nodes are tuples: (kind, *operands). Values: ("attrs", names) or
# ("translate", value, table).


@dataclass
class _Branch:
    tags: frozenset | None  # the step's element names (None: any element)
    predicates: list = field(default_factory=list)
    first_per_parent: bool = False  # a trailing [1]: each parent's first matching child
    first_only: bool = False  # (...)[1]: the first match in document order


class _Parser:
    def __init__(self, path: str):
        self.tokens = _tokens(path)
        self.index = 0

    def peek(self, offset: int = 0) -> tuple[str, str] | None:
        at = self.index + offset
        return self.tokens[at] if at < len(self.tokens) else None

    def take(self, text: str | None = None, kind: str | None = None) -> str:
        token = self.peek()
        if token is None or (text is not None and token[1] != text) \
                or (kind is not None and token[0] != kind):
            raise Unsupported(f"expected {text or kind}, found {token and token[1]!r}")
        self.index += 1
        return token[1]

    def at(self, text: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "op" and token[1] == text

    def at_word(self, word: str) -> bool:
        token = self.peek()
        return token is not None and token[0] == "name" and token[1] == word

    def expression(self) -> list[_Branch]:
        branches = [self.branch()]
        while self.at("|"):
            self.take("|")
            branches.append(self.branch())
        if self.peek() is not None:
            raise Unsupported(f"trailing {self.peek()[1]!r}")
        return branches

    def branch(self) -> _Branch:
        if self.at("("):
            self.take("(")
            branch = self.step()
            self.take(")")
            if branch.first_per_parent or not self.first_position():
                raise Unsupported("only (step)[1] is supported")
            branch.first_only = True
            return branch
        return self.step()

    def first_position(self) -> bool:
        """Consume a ``[1]`` if one comes next."""
        if self.at("[") and self.peek(1) == ("number", "1") and self.peek(2) == ("op", "]"):
            self.index += 3
            return True
        return False

    def step(self) -> _Branch:
        self.take(".//")
        if self.at("*"):
            self.take("*")
            branch = _Branch(None)
        else:
            branch = _Branch(frozenset([self.take(kind="name")]))
        while self.at("["):
            if self.first_position():
                branch.first_per_parent = True
                if self.at("["):
                    raise Unsupported("a predicate after [1]")
                break
            self.take("[")
            branch.predicates.append(self.disjunction())
            self.take("]")
        if branch.tags is None and branch.predicates and _tag_test(branch.predicates[0]):
            branch.tags = _tag_test(branch.predicates.pop(0))
        return branch

    def disjunction(self):
        return self.chain("or", self.conjunction)

    def conjunction(self):
        return self.chain("and", self.primary)

    def chain(self, word: str, operand):
        """``operand (word operand)*``: one node, or the operand alone."""
        terms = [operand()]
        while self.at_word(word):
            self.take(word)
            terms.append(operand())
        return terms[0] if len(terms) == 1 else (word, tuple(terms))

    def primary(self):
        if self.at("("):
            self.take("(")
            node = self.disjunction()
            self.take(")")
            return node
        if self.at(".//"):
            self.take(".//")
            return ("descendant", self.take(kind="name"))
        if self.at_word("self") and self.peek(1) == ("op", "::"):
            self.index += 2
            return ("self", self.take(kind="name"))
        if self.at_word("not") and self.peek(1) == ("op", "("):
            self.index += 2
            node = self.disjunction()
            self.take(")")
            return ("not", node)
        for function in ("contains", "starts-with", "re:test"):
            if self.at_word(function) and self.peek(1) == ("op", "("):
                return self.call(function)
        value = self.value()
        if self.at("="):
            self.take("=")
            return ("equals", value, self.take(kind="literal"))
        if value[0] != "attrs":
            raise Unsupported("a translated value used as a truth value")
        return ("present", value[1])

    def call(self, function: str):
        self.index += 2  # the name and "("
        value = self.value()
        self.take(",")
        literal = self.take(kind="literal")
        flags = ""
        if function == "re:test" and self.at(","):
            self.take(",")
            flags = self.take(kind="literal")
        self.take(")")
        if function == "contains":
            return ("contains", value, literal)
        if function == "starts-with":
            return ("starts", value, literal)
        # lxml's EXSLT re:test: Python's re, case-insensitive when the flags hold an "i"
        return ("regex", value, re.compile(literal, re.IGNORECASE if "i" in flags else 0))

    def value(self):
        if self.at_word("translate") and self.peek(1) == ("op", "("):
            self.index += 2
            value = self.value()
            self.take(",")
            source = self.take(kind="literal")
            self.take(",")
            target = self.take(kind="literal")
            self.take(")")
            return ("translate", value, _translation(source, target))
        names = [self.attribute()]
        while self.at("|"):
            self.take("|")
            names.append(self.attribute())
        return ("attrs", tuple(names))

    def attribute(self) -> str:
        self.take("@")
        return self.take(kind="name")


def _translation(source: str, target: str) -> dict:
    """XPath's ``translate``: the first occurrence of a character decides; characters of
    ``source`` beyond ``target``'s length are removed."""
    table: dict[int, str | None] = {}
    for position, char in enumerate(source):
        table.setdefault(ord(char), target[position] if position < len(target) else None)
    return table


def _tag_test(node) -> frozenset | None:
    """The element names a ``self::a or self::b`` predicate allows, or None for other tests."""
    if node[0] == "self":
        return frozenset([node[1]])
    if node[0] == "or" and all(term[0] == "self" for term in node[1]):
        return frozenset(term[1] for term in node[1])
    return None


def _names(node) -> set[str]:
    """The attributes a predicate or value reads."""
    kind = node[0]
    if kind in ("attrs", "present"):
        return set(node[1])
    if kind in ("or", "and"):
        return set().union(*(_names(term) for term in node[1]))
    if kind in ("not", "translate", "contains", "starts", "regex", "equals"):
        return _names(node[1])
    return set()  # self, tag_in, descendant


def _structural(node) -> bool:
    """Whether a predicate looks below the element (so its answer is not the same for every
    element of the same tag and attributes)."""
    kind = node[0]
    if kind == "descendant":
        return True
    if kind in ("or", "and"):
        return any(_structural(term) for term in node[1])
    return kind == "not" and _structural(node[1])


def _value(node):
    """A function of the element's attributes (``{name: value}`` and the ``(name, value)``
    pairs in the element's order) returning the value's XPath string."""
    if node[0] == "translate":
        inner, table = _value(node[1]), node[2]
        return lambda attributes, pairs: inner(attributes, pairs).translate(table)
    names = node[1]
    if len(names) == 1:
        name = names[0]
        return lambda attributes, pairs: attributes.get(name, "")
    return lambda attributes, pairs: next((text for name, text in pairs if name in names), "")


def _compile(node):
    """A predicate as a function ``(tag, attributes, pairs, element) -> bool`` with XPath's
    truth value (``element`` is read only by tests that look below it)."""
    kind = node[0]
    if kind == "or":
        terms = [_compile(term) for term in node[1]]

        def either(tag, attributes, pairs, element):
            for term in terms:
                if term(tag, attributes, pairs, element):
                    return True
            return False
        return either
    if kind == "and":
        return _all(node[1])
    if kind == "not":
        term = _compile(node[1])
        return lambda tag, attributes, pairs, element: not term(tag, attributes, pairs, element)
    if kind == "self":
        return lambda tag, attributes, pairs, element: tag == node[1]
    if kind == "tag_in":
        return lambda tag, attributes, pairs, element: tag in node[1]
    if kind == "descendant":
        return lambda tag, attributes, pairs, element: \
            next(element.iterdescendants(node[1]), None) is not None
    if kind == "present":
        return lambda tag, attributes, pairs, element: any(name in attributes for name in node[1])
    if kind == "equals" and node[1][0] == "attrs":  # some attribute of the set equals it
        names, literal = node[1][1], node[2]
        return lambda tag, attributes, pairs, element: any(
            attributes.get(name) == literal for name in names)
    value, literal = _value(node[1]), node[2]
    if kind == "equals":
        return lambda tag, attributes, pairs, element: value(attributes, pairs) == literal
    if kind == "contains":
        return lambda tag, attributes, pairs, element: literal in value(attributes, pairs)
    if kind == "starts":
        return lambda tag, attributes, pairs, element: value(attributes, pairs).startswith(literal)
    return _regex_test(value, literal)


def _regex_test(value, pattern: re.Pattern):
    """``re:test``, remembering its answer per string: class names recur under many
    combinations of the other attributes."""
    answers: dict[str, bool] = {}

    def test(tag, attributes, pairs, element):
        text = value(attributes, pairs)
        answer = answers.get(text)
        if answer is None:
            if len(answers) >= CACHE_LIMIT:
                answers.clear()
            answer = answers[text] = pattern.search(text) is not None
        return answer
    return test


def _all(predicates: list):
    tests = [_compile(node) for node in predicates]

    def every(tag, attributes, pairs, element):
        for test in tests:
            if not test(tag, attributes, pairs, element):
                return False
        return True
    return every


class _Matcher:
    """Whether elements pass a step's tag test and predicates, decided once per distinct tag
    and attribute values (predicates that look below the element are tested every time)."""

    def __init__(self, tags: frozenset | None, predicates: list):
        self.tags = tags
        self.names = frozenset(set().union(*(_names(node) for node in predicates)))
        self._cached = _all([node for node in predicates if not _structural(node)])
        below = [node for node in predicates if _structural(node)]
        self._below_tests = _all(below) if below else None
        self.decisions: dict = {}

    def _decide(self, key, element) -> bool:
        tag, pairs = (key, ()) if isinstance(key, str) else key
        if len(self.decisions) >= CACHE_LIMIT:
            self.decisions.clear()
        decision = self.decisions[key] = self._cached(tag, dict(pairs), pairs, element)
        return decision

    def _below(self, element) -> bool:
        pairs = tuple([item for item in element.items() if item[0] in self.names])
        return self._below_tests(element.tag, dict(pairs), pairs, element)

    def __call__(self, element) -> bool:
        """Whether one element passes (the same decision as :meth:`filter`)."""
        tag = element.tag
        if self.tags is not None and tag not in self.tags:
            return False
        items = element.items()
        key = (tag, tuple([item for item in items if item[0] in self.names])) if items else tag
        decision = self.decisions.get(key)
        if decision is None:
            decision = self._decide(key, element)
        return decision and (self._below_tests is None or self._below(element))

    def filter(self, elements) -> list:
        """The elements that pass, in their order: :meth:`__call__` as one flat loop (the
        hot path; a call per element would cost a third more)."""
        decisions, names, tags = self.decisions, self.names, self.tags
        passed = []
        for element in elements:
            tag = element.tag
            if tags is not None and tag not in tags:
                continue
            items = element.items()
            key = (tag, tuple([item for item in items if item[0] in names])) if items else tag
            decision = decisions.get(key)
            if decision is None:
                decision = self._decide(key, element)
            if decision:
                passed.append(element)
        if self._below_tests is not None:
            passed = [element for element in passed if self._below(element)]
        return passed


def parse(path: str) -> list[_Branch]:
    """The branches of a union, one step each; raises :class:`Unsupported` outside the
    subset. Branches without a position are merged into one (their union in one pass)."""
    branches = _Parser(path).expression()
    plain = [branch for branch in branches if not (branch.first_only or branch.first_per_parent)]
    if len(plain) < 2:
        return branches
    merged = ("or", tuple(
        ("and", (*([("tag_in", branch.tags)] if branch.tags is not None else []),
                 *branch.predicates))
        for branch in plain))
    tags = None if any(branch.tags is None for branch in plain) \
        else frozenset().union(*(branch.tags for branch in plain))
    return [_Branch(tags, [merged])] + [branch for branch in branches if branch not in plain]


class Selector:
    """Callable like an lxml ``XPath`` on an element: the elements ``path`` selects below it,
    in document order. Any other context (a whole document, variables) goes to
    ``fallback``, the compiled XPath."""

    def __init__(self, path: str, fallback):
        self.path = path
        self.fallback = fallback
        self._branches = [(branch, _Matcher(branch.tags, branch.predicates))
                          for branch in parse(path)]

    def __call__(self, context, **variables):
        if variables or not isinstance(context, _Element):
            return self.fallback(context, **variables)
        if len(self._branches) == 1:
            return self._select(context, *self._branches[0])
        found = list(dict.fromkeys(element for branch, matcher in self._branches
                                   for element in self._select(context, branch, matcher)))
        if len(found) < 2:
            return found
        order = {element: position for position, element in enumerate(context.iter())}
        return sorted(found, key=order.__getitem__)

    @staticmethod
    def _select(context, branch: _Branch, matcher: _Matcher) -> list:
        candidates = context.iterdescendants(*(branch.tags or (Element,)))
        if branch.first_only:
            return next(([element] for element in candidates if matcher(element)), [])
        selected = matcher.filter(candidates)
        if branch.first_per_parent:
            siblings = branch.tags or (Element,)
            selected = [element for element in selected
                        if not any(matcher(sibling) for sibling in
                                   element.itersiblings(*siblings, preceding=True))]
        return selected
