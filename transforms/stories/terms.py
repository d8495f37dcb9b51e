"""Key terms of an article: the names and numbers that different outlets' reports share.

Two reports of one event rarely share sentences (shingle Jaccard <= 0.02 for the seeds), but
they name the same people, places, organisations and numbers: "Kim Jong Un",
"Komsomolsk-on-Amur", "Su-35", "Vladivostok". Names are found by case, without a model: a
capitalized word that is not a known function word, and not only at a sentence start;
neighbouring names also count as a pair ("kim jong", "jong un"), which is rarer than each
word. Numbers of two or more characters count too. A term's salience is how often the text
uses it, doubled in the headline and the first two sentences, and the dateline is a name of
the lede. Deterministic, offline, about 1 ms per 800-word article.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

#: Capitalized words that are not names: function words, titles, days, months, page words.
_NOT_NAMES = frozenset("""
a an the and or but nor so yet if then than as at by for from in into of off on onto out over
to up upon with within without about above after against along among around before behind
below beneath beside between beyond during except inside near since through throughout toward
towards under until via while when where whether which who whom whose why what how that this
these those there here it its it's he she his her hers him they them their theirs we us our
ours you your yours i me my mine one some any all both each every either neither no not none
many much more most other another such same own few several also even just only still already
however meanwhile moreover furthermore nevertheless instead although though because unless
once later earlier today tonight yesterday tomorrow now then again according said says say
told asked added noted mr mrs ms dr sir madam prof gen col lt sgt capt gov sen rep president
minister prime leader chief officials official monday tuesday wednesday thursday friday
saturday sunday january february march april may june july august september october november
december jan feb mar apr jun jul aug sep sept oct nov dec breaking update updated read watch
photo video advertisement share follow subscribe sign click related more news live opinion
analysis editorial exclusive home world local report reports reporting new latest top first
last next is are was were be been being has have had do does did will would can could should
shall might must may let lets if yes no ok
""".split())
_WORD = re.compile(r"[^\W_](?:[\w'\u2019.\-]*[^\W_])?")
_SENTENCE = re.compile(r"(?<=[.!?\u0964\u3002\u061f])[\"'\u201d\u2019)\]]*\s+|\n+")
_POSSESSIVE = re.compile(r"['\u2019]s$")
_DIGIT = re.compile(r"\d")
_PHRASE_BREAK = re.compile(r"[,;:()\[\]\"\u201c\u201d\u2014\u2013]|\s[-/]\s")
_LEDE_SENTENCES = 2


@dataclass(frozen=True)
class StoryTerms:
    """An article's key terms, most salient first: (term, salience, is_name)."""

    terms: tuple[tuple[str, float, bool], ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(term for term, _, is_name in self.terms if is_name)

    def __len__(self) -> int:
        return len(self.terms)


def _is_capitalized(word: str) -> bool:
    first = word[0]
    return first.isupper() and first.lower() != first


def _tokens(sentence: str) -> list[str]:
    return [_POSSESSIVE.sub("", word) if "'" in word or "\u2019" in word else word
            for word in _WORD.findall(sentence)]


def _phrases(sentence: str) -> list[list[str]]:
    """The sentence's words in runs that only spaces separate: a name pair never spans a
    comma ("Komsomolsk-on-Amur, Russia" is two names, not a pair)."""
    return [_tokens(part) for part in _PHRASE_BREAK.split(sentence)]


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCE.split(unicodedata.normalize("NFKC", text)) if s.strip()]


def _count(word: str, opens_sentence: bool, previous: str | None, boost: float,
           inner_caps: set[str], salience: Counter, names: set[str]) -> str | None:
    """Count one word (a number, a name, and with the name before it a pair); returns the
    name it was, for the next word's pair."""
    folded = word.casefold()
    if _DIGIT.search(word):
        if len(word) >= 2:
            salience[folded] += boost
        return None
    if not (_is_capitalized(word) and folded not in _NOT_NAMES and len(word) > 1
            and (not opens_sentence or folded in inner_caps)):
        return None
    names.add(folded)
    salience[folded] += boost
    if previous is not None:
        pair = f"{previous} {folded}"
        names.add(pair)
        salience[pair] += 1.5 * boost
    return folded


def key_terms(text: str, title: str | None = None, dateline: str | None = None,
              limit: int = 32) -> StoryTerms:
    """The ``limit`` most salient names, name pairs and numbers of an article.

    A capitalized word opening a sentence counts only if the text also capitalizes it
    elsewhere (so "Officials said..." is no name, "Putin said..." is).
    """
    sentences = _sentences(text)
    lede = set(range(_LEDE_SENTENCES))
    if title:
        sentences = [title] + sentences
        lede = set(range(_LEDE_SENTENCES + 1))
    phrased = [_phrases(sentence) for sentence in sentences]  # words never span a break
    inner_caps = {word.casefold() for phrases in phrased
                  for word in [word for words in phrases for word in words][1:]
                  if _is_capitalized(word)}
    salience: Counter = Counter()
    names: set[str] = set()
    for index, phrases in enumerate(phrased):
        boost = 2.0 if index in lede else 1.0
        position = 0
        for words in phrases:
            previous = None
            for word in words:
                if word[0].isupper() or _DIGIT.search(word):
                    previous = _count(word, position == 0, previous, boost, inner_caps,
                                      salience, names)
                else:  # most words: neither a name nor a number
                    previous = None
                position += 1
    if dateline:
        for word in _tokens(dateline):
            folded = word.casefold()
            if folded not in _NOT_NAMES and len(folded) > 1 and not folded.isdigit():
                names.add(folded)
                salience[folded] += 2.0
    ranked = sorted(salience.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return StoryTerms(tuple((term, round(value, 3), term in names) for term, value in ranked))
