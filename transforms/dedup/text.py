"""Normalization for comparison: what differs between copies of one wire story is removed.

Unicode forms, quotes and case are folded; datelines, wire credits, bylines, display dates,
boilerplate lines and a trailing "RELATED ARTICLES" block are dropped, so two outlets' copies
of one story normalize to (nearly) the same text.
"""

from __future__ import annotations

import re
import unicodedata

# --------------------------------------------------------------------------------------------
# Normalization

_AGENCIES = (r"AP|Associated Press|Reuters|AFP|Agence France-Presse|dpa|DPA|UPI|Xinhua|Yonhap|"
             r"Kyodo|Bloomberg|PTI|IANS|ANI|ANSA|EFE|TASS|Interfax|AAP|CP|Bernama")
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATELINE = re.compile(
    # WASHINGTON -  /  SEOUL, South Korea (AP) -  /  KYIV, Sept 15 (Reuters) -
    rf"^(?:[A-Z][A-Z.'\- ]{{1,40}}?(?:,\s*[A-Z][A-Za-z.'\- ]{{1,30}}?)?"
    rf"(?:,?\s*{_MONTH}\s+\d{{1,2}})?\s*(?:\((?:{_AGENCIES})\)\s*-{{0,2}}|-{{1,2}}|:)\s+"
    # Seoul, Sept 15 (Reuters) -  /  New Delhi (PTI):
    rf"|[A-Z][\w.'\-]*(?: [A-Z][\w.'\-]*){{0,3}}(?:,\s*[A-Z][\w.'\- ]{{1,30}}?)?"
    rf"(?:,?\s*{_MONTH}\s+\d{{1,2}})?\s*\((?:{_AGENCIES})\)\s*(?:-{{1,2}}|:)?\s*"
    # Seoul :  /  New Delhi -
    r"|[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2}\s+(?:-{1,2}|:)\s+)")
_INLINE_CREDIT = re.compile(rf"\((?:{_AGENCIES})\)|\s-{{1,2}}\s*(?:{_AGENCIES})\s*$")
_BYLINE = re.compile(r"^By [A-Z][\w.'\-]+(?: [A-Z][\w.'\-]+){0,3}"
                     r"(?:(?:,| and) [A-Z][\w.'\-]+(?: [A-Z][\w.'\-]+){0,3})*"
                     rf"(?:,? (?:{_AGENCIES}|[A-Z][\w ]+ (?:writer|correspondent|reporter)s?))?$")
_WEEKDAY = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_DROP_LINE = re.compile(
    r"^(?:(?:reporting|writing|additional reporting|editing|compiled|translated) by\b.*"
    r"|(?:©|\(c\)|copyright\b).*|.*\ball rights reserved\.?"
    r"|this (?:story|article|report) (?:has been|was) (?:\w+ )?(?:published|generated|edited)"
    r" (?:from|by|with) .*"
    rf"|(?:the )?(?:{_AGENCIES})(?: writers?| reporters?)? contributed(?: to)?(?: this)?"
    r"(?: report| story| article)?\.?"
    rf"|-*\s*(?:{_AGENCIES})\.?"
    r"|advertisement|story continues below(?: advertisement)?|sponsored(?: content)?"
    r"|share (?:this|on)\b.*|share|tweet|(?:click|tap) here\b.*|sign up\b.*|subscribe\b.*"
    r"|follow (?:us|@)\b.*|(?:read|see) (?:more|also)\b.*|also read\b.*|continue reading\b.*"
    r"|related:.*|watch:.*|listen:.*|(?:photo|image|video|file photo)(?: credit)?:.*"
    r"|(?:getty images|file photo|afp via getty images)"
    r"|(?:(?:updated|published|posted|last updated):?\s*)?(?:" + _WEEKDAY + r",?\s+)?"
    r"(?:\w+\.? \d{1,2},? \d{4}|\d{1,2} \w+\.? \d{4}|\d{4}-\d{2}-\d{2})"
    r"(?:,? (?:at )?\d{1,2}[:.]\d{2}(?: ?[ap]\.?m\.?)?(?: [a-z]{2,4})?)?"
    r")$", re.IGNORECASE)
_TAIL_MARKER = re.compile(
    r"^(?:related articles?|related stories|related coverage|related content|related|"
    r"most popular|most read|more stories|more from [\w .'-]+|recommended(?: for you| stories)?|"
    r"you (?:may|might) also like|trending(?: now| stories)?|popular now|latest news|"
    r"read next|more on this story|top stories)\s*:?$", re.IGNORECASE)
#: Boilerplate and credit rules only look at short lines: a paragraph of body text that
#: happens to start with "Subscribe" or "By" is kept.
_MAX_DROP_WORDS = 30
_MAX_HEADLINE_WORDS = 16
_PUNCTUATION = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u00b4": "'", "\u2039": "'", "\u203a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"', "\u2010": "-", "\u2011": "-",
    "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u00ad": None,
    "\u200b": None, "\u200c": None, "\u200d": None, "\u2060": None, "\ufeff": None,
})
_WORD = re.compile(r"\w+")
_TO_REPLACE = re.compile("[" + "".join(map(chr, _PUNCTUATION)) + "]")


def _unify_punctuation(text: str) -> str:
    """``str.translate`` of :data:`_PUNCTUATION`, by a regex: a few times faster on long
    texts with few such characters."""
    return _TO_REPLACE.sub(lambda match: _PUNCTUATION[ord(match.group())] or "", text)


def _strip_dateline(line: str) -> str:
    match = _DATELINE.match(line)
    if match and len(line) - match.end() >= 20:  # a dateline opens a paragraph, it is not one
        return line[match.end():]
    return line


def _looks_like_headline(line: str) -> bool:
    return len(line.split()) <= _MAX_HEADLINE_WORDS and not line.rstrip("\"')").endswith(
        (".", "!", "?", ":", ";"))


def _comparable_lines(text: str) -> list[str]:
    """The lines of a text that copies share: NFKC, one quote and dash style, without
    boilerplate and credit lines, the tail from a "RELATED ARTICLES"-style marker and the
    dateline of the first paragraph (or of the second, when the first is a headline)."""
    text = _unify_punctuation(unicodedata.normalize("NFKC", text or ""))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    for index, line in enumerate(lines):
        if index > 0 and _TAIL_MARKER.match(line):
            lines = lines[:index]
            break
    lines = [line for line in lines
             if len(line.split()) > _MAX_DROP_WORDS
             or not (_DROP_LINE.match(line) or _BYLINE.match(line))]
    if lines:
        first = _strip_dateline(lines[0])
        if first == lines[0] and len(lines) > 1 and _looks_like_headline(lines[0]):
            lines[1] = _strip_dateline(lines[1])
        else:
            lines[0] = first
    return [_INLINE_CREDIT.sub(" ", line) for line in lines]


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.casefold()))


def normalize_for_dedup(text: str) -> str:
    """Lower-case words of the story text, space separated, without what syndication changes.

    Applies NFKC, one quote and dash style, drops boilerplate and credit lines, the tail from a
    "RELATED ARTICLES"-style marker, the dateline of the first paragraph (or of the second, when
    the first is a headline) and inline agency credits; keeps ``\\w+`` words, case-folded.
    """
    return _words(" ".join(_comparable_lines(text)))


_SENTENCE_END = re.compile(r"(?<=[.!?\u0964\u3002\u061f])[\"')\]]*\s+")


def normalized_sentences(text: str) -> list[str]:
    """The sentences of :func:`normalize_for_dedup`'s text, in order, each normalized alike:
    joined by spaces they are that text.

    A copy desk trims, drops, reorders and inserts whole sentences and paragraphs but rarely
    rewrites the ones it keeps: the sentences are the unit a heavily edited copy shares.
    """
    sentences = []
    for line in _comparable_lines(text):
        for sentence in _SENTENCE_END.split(line):
            words = _words(sentence)
            if words:
                sentences.append(words)
    return sentences
