"""Authors from what the page declares: JSON-LD ``author``, ``<meta name=author>``, microdata
and bylines, as a de-duplicated list of people.

The first source that yields a person wins, in the order JSON-LD, ``<meta>``, ``itemprop``,
byline element. Each value is split into names ("By A and B", "A, B & C", "A; B"), stripped
of what is not a name (roles such as "CNN Senior Supreme Court Analyst" or "Staff Writer",
parenthesised notes, e-mail addresses, profile URLs, the site's own name) and de-duplicated
case- and punctuation-blind. A wire agency named as author ("Reuters", "AP", "dpa") is
returned as ``wire``, not as an author.
"""

from __future__ import annotations

import re

from newsflow.transforms.clean import WIRE_AGENCIES
from newsflow.transforms.titles import fold, normalize_title

SOURCE_ORDER = ("json_ld", "meta", "itemprop", "byline")
_BY = re.compile(
    r"^(?:(?:text|words|story|reporting|written|analysis|opinion|commentary|photos?|video)"
    r"\s+(?:by|von|par)\s*:?|by\s*:?|von\s*:?|par\s*:?|por\s*:?|di\s*:?|door\s*:?|av\s*:?|"
    r"autor(?:es|en|i|s)?\s*:|auteurs?\s*:|author?s?\s*:|texto?\s*:|redacción\s*:|"
    r"reporter\s*:|credit\s*:)\s*", re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|;|/|\||·|•|&|\band\b|\bund\b|\bet\b|\by\b|\be\b|\bog\b|\ben\b|"
                    r"\bi\b|、|，|・)\s*", re.IGNORECASE)
_PARENS = re.compile(r"\([^)]*\)|\[[^\]]*\]|（[^）]*）")
_ROLE_WORDS = re.compile(
    r"\b(?:staff|writer|reporter|correspondent|editor|editors|editorial|columnist|contributor|"
    r"contributing|analyst|producer|photographer|desk|team|bureau|newsroom|redaktion|"
    r"redakteur(?:in)?|korrespondent(?:in)?|journalist|rédaction|rédacteur|correspondant|"
    r"redacción|corresponsal|special to|for the|wire|news service|news agency|agency|"
    r"press|associated|updated|published|posted|min read|minutes?|hours?|ago|follow|"
    r"view more|more articles|senior|chief|deputy|managing|national|international|"
    r"political|business|sports?|science|opinion)\b", re.IGNORECASE)
_NOT_A_NAME = re.compile(r"https?://|www\.|@|\d|[<>{}=]")
_MAX_NAME_WORDS = 5
_MAX_NAME_CHARS = 60
_MAX_AUTHORS = 12
_MAX_UNSPACED_NAME_CHARS = 8
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _agency(text: str) -> str | None:
    return WIRE_AGENCIES.get(text.strip(" .").lower())


def split_names(value: str) -> list[str]:
    """The names in one author value or byline, in order, without "By" and parentheses.

    A profile URL is no name; in "A | Place | date" only the first field names people.
    """
    value = normalize_title(value)
    if re.match(r"^(?:https?://|www\.)\S+$", value):
        return []
    value = value.split(" | ")[0]
    value = re.sub(r"\S+@\S+|\bfollow\s+@\w+", " ", value, flags=re.IGNORECASE)
    value = _PARENS.sub(" ", value)
    value = _BY.sub("", value)
    return [part.strip(" .:-–—'\"") if part.count('"') != 2 else part.strip(" .:-–—")
            for part in _SPLIT.split(value) if part and part.strip(" .:-–—")]


def name_case(name: str) -> str:
    """"LYNNE O'DONNELL" -> "Lynne O'Donnell": a byline in capitals, not an acronym."""
    letters = [ch for ch in name if ch.isalpha()]
    if len(letters) > 3 and all(ch.isupper() for ch in letters) and " " in name:
        return name.title()
    return name


def looks_like_name(name: str) -> bool:
    words = name.split()
    if not words or len(words) > _MAX_NAME_WORDS or len(name) > _MAX_NAME_CHARS:
        return False
    if len(words) == 1 and len(name) > _MAX_UNSPACED_NAME_CHARS and \
            _UNSPACED.search(name):
        return False  # a sentence in a script written without spaces
    if _NOT_A_NAME.search(name) or _ROLE_WORDS.search(name):
        return False
    return any(ch.isalpha() for ch in name)


def names_from(value: str, kind: str, keys: set[str]) -> tuple[list[str], str | None]:
    """``(names, wire)`` from one declared value; organizations count only as agencies."""
    names, wire = [], None
    for part in split_names(value):
        agency = _agency(part)
        if agency:
            wire = wire or agency
            continue
        if kind == "organization" or fold(part) in keys:
            continue
        if looks_like_name(part):
            names.append(name_case(part))
    return names, wire


def resolve_authors(candidates, site_keys: set[str]) -> tuple[tuple[str, ...], str | None]:
    """``(authors, wire)`` from ``(source, value, kind)`` candidates (module docstring)."""
    by_source: dict[str, list[tuple[str, str]]] = {}
    for source, value, kind in candidates:
        by_source.setdefault(source, []).append((value, kind))
    wire = None
    for source in SOURCE_ORDER:
        names: list[str] = []
        for value, kind in by_source.get(source, ()):
            found, agency = names_from(value, kind, site_keys)
            names.extend(found)
            wire = wire or agency
        unique: dict[str, str] = {}
        for name in names:
            unique.setdefault(fold(name), name)
        if unique:
            return tuple(list(unique.values())[:_MAX_AUTHORS]), wire
    return (), wire
