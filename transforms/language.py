"""Language detection with langdetect, made deterministic and cheaper.

langdetect samples randomly; a fixed seed on our own factory (not the library's global one)
makes the same text give the same answer on every worker. Only the first
``SAMPLE_CHARS`` characters are examined: enough for a confident answer, and it keeps the cost
per article flat. Texts with fewer than ``MIN_LETTERS`` letters are ``und``.

langdetect spends most of its time in per-character Python loops (text preparation and n-gram
extraction) and in per-language ones (probability updates). :func:`fast_detector_class`
writes those loops with regular expressions, ``str.translate`` for its character
normalization, the n-grams of each distinct word worked out once, and numpy arrays: the same
n-grams and the same arithmetic in the same order, so the same answers and probabilities
(tested against langdetect's own ``Detector``), in about a quarter of the time once a worker
has met the common words (0.67 against 2.7 ms per devset text).
langdetect is pinned (1.0.9, its last release): the methods replaced are its internals.
"""

from __future__ import annotations

import json
import os
from itertools import chain

from newsflow.schemas import Draft
from newsflow.transforms.stage import ApplyStep, Step

MIN_LETTERS = 40
SAMPLE_CHARS = 2000
SEED = 0
UNDETERMINED = "und"


class _ProfileRows(dict):
    """langdetect's n-gram -> per-language probabilities, each row computed when it is first
    asked for instead of all 88,000 at load time (``DetectorFactory.add_profile`` spends 0.3 s
    and 40 MB per worker building rows that are mostly zeros). The same keys, in the same
    order, and the same values, from the same arithmetic. A dict, so that the membership tests
    of n-gram extraction (thousands per text) stay the dict's own."""

    def __init__(self, profiles: list[tuple[dict, list]], languages: int):
        super().__init__(dict.fromkeys(chain.from_iterable(freq for freq, _ in profiles)))
        self._profiles = profiles  # (n-gram counts, n-gram totals by length), in langlist order
        self._languages = languages

    def __getitem__(self, word: str) -> list[float]:
        if word not in self:
            raise KeyError(word)
        row = [0.0] * self._languages
        length = len(word)
        if 1 <= length <= 3:
            for index, (freq, n_words) in enumerate(self._profiles):
                count = freq.get(word)
                if count is not None:
                    row[index] = 1.0 * count / n_words[length - 1]
        return row


def build_detector_factory():
    """langdetect's profiles as its ``DetectorFactory.load_profile`` reads them (the same
    files in the same order: ``langlist`` and every probability are its own), with rows made
    on demand (:class:`_ProfileRows`): 0.05 s instead of 0.3 s. Call from ``DoFn.setup``."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    names = os.listdir(PROFILES_DIRECTORY)
    profiles = []
    for name in names:
        filename = os.path.join(PROFILES_DIRECTORY, name)
        if name.startswith(".") or not os.path.isfile(filename):
            continue
        with open(filename, encoding="utf-8") as handle:
            profile = json.load(handle)
        factory.langlist.append(profile["name"])
        profiles.append((profile["freq"], profile["n_words"]))
    factory.word_lang_prob_map = _ProfileRows(profiles, len(names))
    factory.seed = SEED
    return factory


_FAST_DETECTOR = None
#: n-gram probability rows kept as arrays (a few thousand per language met; 55 floats each)
_MAX_CACHED_ROWS = 50_000
#: distinct words kept with their n-grams (a few hundred thousand in any one language)
_MAX_CACHED_WORDS = 200_000


class _NormalizedChars(dict):
    """A ``str.translate`` table: code point -> langdetect's normalization of the character,
    each worked out the first time it is met."""

    def __init__(self, normalize):
        super().__init__()
        self._normalize = normalize

    def __missing__(self, code: int) -> str:
        value = self[code] = self._normalize(chr(code))
        return value


def _word_ngrams(word: str, known) -> tuple[str, ...]:
    """The n-grams langdetect's ``NGram`` buffer yields over one normalized word (and its
    following space), starting, as it does after a space, from an empty buffer: 1- to
    3-grams of the profiles, none while inside a run of capitals."""
    result, grams, capital = [], " ", False
    for ch in word:
        last = grams[-1]
        if last == " ":
            grams, capital = " ", False
            if ch == " ":
                continue
        elif len(grams) >= 3:
            grams = grams[1:]
        grams += ch
        capital = ch.isupper() and (capital or last.isupper())
        if capital:
            continue
        if ch != " " and ch in known:
            result.append(ch)
        if len(grams) >= 2:
            if grams[-2:] in known:
                result.append(grams[-2:])
            if len(grams) == 3 and grams in known:
                result.append(grams)
    return tuple(result)


def fast_detector_class():
    """langdetect's ``Detector`` with its hot loops rewritten, built on first use."""
    global _FAST_DETECTOR
    if _FAST_DETECTOR is not None:
        return _FAST_DETECTOR
    import re

    import numpy
    from langdetect.detector import Detector
    from langdetect.lang_detect_exception import ErrorCode, LangDetectException
    from langdetect.utils.ngram import NGram

    space_runs = re.compile(" {2,}")
    latin = re.compile("[A-z]")  # langdetect's 'A' <= ch <= 'z', backquote and brackets too
    # langdetect also means to spare Latin Extended Additional here, but compares its block
    # number with a block name, so every character from U+0300 on counts as non-Latin
    non_latin = re.compile("[\u0300-\U0010ffff]")
    normalized = _NormalizedChars(NGram.normalize)  # str.translate table

    class FastDetector(Detector):
        def __init__(self, factory):
            super().__init__(factory)
            # n-gram -> its per-language probabilities as an array, kept with the profiles
            self._rows = vars(factory).setdefault("newsflow_array_rows", {})
            # a normalized word (with its following space, if any) -> its n-grams
            self._words = vars(factory).setdefault("newsflow_word_ngrams", {})

        def append(self, text):
            text = self.URL_RE.sub(" ", text)
            text = self.MAIL_RE.sub(" ", text)
            text = NGram.normalize_vi(text)
            self.text += space_runs.sub(" ", text[:self.max_text_length])

        def cleaning_text(self):
            if 2 * len(latin.findall(self.text)) < len(non_latin.findall(self.text)):
                self.text = latin.sub("", self.text)

        def _extract_ngrams(self):
            # the n-gram buffer starts afresh after every space, so a word's n-grams depend on
            # the word alone (and on whether a space follows it): each distinct word is
            # worked out once, by langdetect's per-character rules, and its n-grams reused
            words = self.text.translate(normalized).split(" ")
            last, result = len(words) - 1, []
            for index, word in enumerate(words):
                if word:
                    key = word + " " if index < last else word
                    grams = self._words.get(key)
                    if grams is None:
                        if len(self._words) >= _MAX_CACHED_WORDS:
                            self._words.clear()
                        grams = self._words[key] = _word_ngrams(key, self.word_lang_prob_map)
                    result += grams
            return result

        def _detect_block(self):
            # langdetect's trials, the 55 per-language probabilities updated as one numpy
            # array: each element gets the same IEEE operations in the same order, and the
            # normalizing sum stays Python's sequential one
            self.cleaning_text()
            ngrams = self._extract_ngrams()
            if not ngrams:
                raise LangDetectException(ErrorCode.CantDetectError, "No features in text.")
            langprob = [0.0] * len(self.langlist)
            self.random.seed(self.seed)
            for _ in range(self.n_trial):
                prob = numpy.array(self._init_probability())
                alpha = self.alpha + self.random.gauss(0.0, 1.0) * self.ALPHA_WIDTH
                weight = alpha / self.BASE_FREQ
                i = 0
                while True:
                    prob *= weight + self._row(self.random.choice(ngrams))
                    if i % 5 == 0:
                        prob /= sum(prob.tolist())
                        if prob.max() > self.CONV_THRESHOLD or i >= self.ITERATION_LIMIT:
                            break
                    i += 1
                for j, p in enumerate(prob.tolist()):
                    langprob[j] += p / self.n_trial
            self.langprob = langprob

        def _row(self, word):
            row = self._rows.get(word)
            if row is None:
                if len(self._rows) >= _MAX_CACHED_ROWS:
                    self._rows.clear()
                row = self._rows[word] = numpy.array(self.word_lang_prob_map[word])
            return row

    _FAST_DETECTOR = FastDetector
    return FastDetector


def detect_language(text: str, factory) -> tuple[str, float | None]:
    """``(code, probability)``; ``("und", None)`` for too little text or no features."""
    from langdetect.lang_detect_exception import LangDetectException

    sample = text[:SAMPLE_CHARS]
    if sum(map(str.isalpha, sample)) < MIN_LETTERS:
        return UNDETERMINED, None
    detector = fast_detector_class()(factory)
    detector.append(sample)
    try:
        best = detector.get_probabilities()[0]
    except (LangDetectException, IndexError):
        return UNDETERMINED, None
    return best.lang.lower(), round(float(best.prob), 4)


class DetectLanguageStep(Step):
    """Draft -> Draft with ``language`` and ``language_prob`` set."""

    name = "language"

    def setup(self):
        self._factory = build_detector_factory()

    def apply(self, draft: Draft) -> Draft:
        language, probability = detect_language(draft.text, self._factory)
        return draft.replace(language=language, language_prob=probability)


class DetectLanguage(ApplyStep):
    """Draft -> Draft with ``language`` and ``language_prob`` set."""

    def __init__(self):
        super().__init__(DetectLanguageStep())
