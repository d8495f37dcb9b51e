"""Topic tags: normalized declared tags and taxonomy topics for every article.

Two columns come out of this module:

- ``tags``: what the source declared (feed categories, page keywords), normalized by
  :func:`normalize_tags` so the same category from two feeds compares equal.
- ``topics``: labels from a :class:`TopicTagger`. The built-in :class:`RuleTopicTagger` scores
  word-boundary keyword rules from a taxonomy file (``transforms/data/taxonomy.yaml``) on the
  title and the first part of the text, and maps declared categories through the taxonomy's
  ``category_aliases``. A team can plug its own model into :class:`TagTopics` by passing a
  factory of any ``TopicTagger``; the tagger's name and version are stamped on every row.

``topics`` is null only for rows no tagger saw (older schema versions); a tagger that finds
nothing writes an empty list.
"""

from __future__ import annotations

import abc
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

from newsflow.schemas import Article
from newsflow.transforms.stage import ApplyStep, Step

LOG = logging.getLogger(__name__)

#: Language key whose rules apply to articles in every language (acronyms, brand names).
ANY_LANGUAGE = "any"
_TAG_MAX_CHARS = 100
_TAG_STRIP = " \t\r\n\"'#«»“”„"


# --------------------------------------------------------------------------------------------
# Declared tags


def normalize_tags(values: Iterable[str | None] | str | None) -> tuple[str, ...]:
    """Lower-case, trimmed, whitespace-collapsed, de-duplicated and sorted tags.

    Sorting makes rows from re-runs identical; NFKC folds full-width and compatibility forms
    so ``Ｐｏｌｉｔｉｃｓ`` and ``politics`` are one tag. Empty and absurdly long values (a
    paragraph pasted into a keywords field) are dropped.
    """
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    tags = set()
    for value in values:
        if not value:
            continue
        tag = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(value))).strip(_TAG_STRIP)
        tag = tag.lower()
        if tag and len(tag) <= _TAG_MAX_CHARS:
            tags.add(tag)
    return tuple(sorted(tags))


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for matching: ``Élection`` -> ``election``.

    Keywords and texts are folded the same way, so taxonomy authors may write accents or not.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# --------------------------------------------------------------------------------------------
# The tagger interface


class TopicTagger(abc.ABC):
    """What :class:`TagTopics` needs from a topic model; implement it to plug in your own.

    ``tag`` must be deterministic for a given ``version`` (re-runs write identical rows) and
    must not do network I/O per article; load models in ``__init__`` (it runs in
    ``DoFn.setup`` on the worker, once per process).
    """

    name: str = "tagger"
    version: str = "0"

    @abc.abstractmethod
    def tag(self, article: Article) -> tuple[str, ...]:
        """The article's topics, strongest first; ``()`` when none applies."""

    @property
    def stamp(self) -> str:
        """The value written to ``tagger_version``: ``name@version``."""
        return f"{self.name}@{self.version}"


# --------------------------------------------------------------------------------------------
# The built-in rule tagger


@dataclass(frozen=True)
class RuleSettings:
    """Scoring knobs, read from the taxonomy's ``settings`` block (documented there)."""

    text_chars: int = 800
    title_weight: float = 2.0
    max_hits_per_term: int = 2
    min_score: float = 3.0
    relative_min: float = 0.3
    max_topics: int = 3
    category_score: float = 3.0


@dataclass(frozen=True)
class _Rule:
    """One compiled alternation of terms sharing a topic, a language and a weight."""

    topic: str
    language: str
    weight: float
    pattern: re.Pattern


@dataclass(frozen=True)
class Taxonomy:
    """A parsed taxonomy: topics, compiled rules and category aliases."""

    version: str
    topics: tuple[str, ...]
    settings: RuleSettings
    rules: tuple[_Rule, ...]
    aliases: tuple[tuple[str, tuple[str, ...]], ...]  # (alias needle, topics): _words()

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(rule.language for rule in self.rules)


def term_regex(term: str) -> str:
    """A taxonomy term as a folded, word-bounded regex fragment.

    ``re:...`` is a raw regex over folded text; otherwise ``*`` at either end of a word matches
    any word characters there (``*wahl`` finds ``bundestagswahl``), and spaces match any run of
    whitespace or hyphens.
    """
    if term.startswith("re:"):
        return f"(?:{term[3:]})"
    folded = fold(term.strip())
    if not folded:
        raise ValueError(f"empty taxonomy term {term!r}")
    lead = r"\w*" if folded.startswith("*") else ""
    tail = r"\w*" if folded.endswith("*") else ""
    words = [re.escape(word) for word in folded.strip("*").split()]
    return lead + r"[\s\-]+".join(words) + tail


def _compile_terms(terms: Iterable[str]) -> re.Pattern | None:
    fragments = sorted({term_regex(term) for term in terms if term}, key=len, reverse=True)
    if not fragments:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(fragments) + r")(?!\w)")


def parse_taxonomy(data: Mapping) -> Taxonomy:
    """Build a :class:`Taxonomy` from the YAML structure documented in ``taxonomy.yaml``."""
    if not isinstance(data, Mapping) or not isinstance(data.get("topics"), Mapping):
        raise ValueError("taxonomy must be a mapping with a 'topics' mapping")
    version = str(data.get("version") or "").strip()
    if not version:
        raise ValueError("taxonomy has no version")
    known = {field for field in RuleSettings.__dataclass_fields__}
    raw_settings = dict(data.get("settings") or {})
    unknown = set(raw_settings) - known
    if unknown:
        raise ValueError(f"unknown taxonomy settings: {sorted(unknown)}")
    settings = RuleSettings(**raw_settings)
    rules: list[_Rule] = []
    aliases: dict[str, set[str]] = {}
    for topic, spec in data["topics"].items():
        spec = spec or {}
        for key, weight in (("keywords", 1.0), ("strong", 2.0)):
            for language, terms in (spec.get(key) or {}).items():
                pattern = _compile_terms(terms or ())
                if pattern is not None:
                    rules.append(_Rule(topic, str(language), weight, pattern))
        for alias in spec.get("category_aliases") or ():
            for normalized in normalize_tags(str(alias)):
                aliases.setdefault(fold(normalized), set()).add(topic)
    return Taxonomy(version=version, topics=tuple(data["topics"]), settings=settings,
                    rules=tuple(rules),
                    aliases=tuple((_words(alias), tuple(sorted(t)))
                                  for alias, t in aliases.items()))


def shipped_taxonomy_text() -> str:
    """The taxonomy shipped with newsflow: package data ``transforms/data/taxonomy.yaml``, read
    with importlib.resources wherever the code runs (a launcher's checkout path never has to
    exist on a worker)."""
    return (resources.files("newsflow.transforms") / "data" / "taxonomy.yaml").read_text(
        encoding="utf-8")


def load_taxonomy(path: str | None = None) -> Taxonomy:
    """Read and compile a taxonomy file (local path or any Beam filesystem URL); None: the one
    shipped with newsflow."""
    import yaml

    if path is None:
        return parse_taxonomy(yaml.safe_load(shipped_taxonomy_text()))
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(path, compression_type="uncompressed") as handle:
        data = yaml.safe_load(handle.read().decode("utf-8"))
    return parse_taxonomy(data)


def _base_language(language: str | None) -> str:
    return (language or "").lower().split("-")[0]


def score_text(taxonomy: Taxonomy, text: str, languages: frozenset[str] | None) -> dict:
    """Score one (already folded) field: per topic, the weighted count of distinct terms.

    Each distinct term counts at most ``max_hits_per_term`` times so one repeated word cannot
    carry a topic on its own.
    """
    cap = taxonomy.settings.max_hits_per_term
    scores: dict[str, float] = {}
    for rule in taxonomy.rules:
        if languages is not None and rule.language not in languages:
            continue
        counts: dict[str, int] = {}
        for match in rule.pattern.finditer(text):
            counts[match.group(0)] = counts.get(match.group(0), 0) + 1
        if counts:
            hits = sum(min(count, cap) for count in counts.values())
            scores[rule.topic] = scores.get(rule.topic, 0.0) + rule.weight * hits
    return scores


def category_topics(taxonomy: Taxonomy, tags: Iterable[str]) -> set[str]:
    """Topics whose ``category_aliases`` name a declared tag (whole words inside the tag)."""
    found: set[str] = set()
    folded_tags = "\n".join(_words(fold(tag)) for tag in tags)  # no needle holds a newline
    for needle, topics in taxonomy.aliases:
        if needle in folded_tags:
            found.update(topics)
    return found


def _words(text: str) -> str:
    """``text``'s words between single spaces, one space before and after: ``" a b "`` is
    found in ``" x a b "`` and not in ``" x ab "``."""
    return " " + re.sub(r"[\W_]+", " ", text).strip() + " "


def score_article(taxonomy: Taxonomy, title: str | None, text: str | None,
                  language: str | None, tags: Iterable[str] = ()) -> dict[str, float]:
    """Topic scores for one article: weighted title hits, lead hits and declared categories.

    Rules of the article's language (plus ``any``) are used when the taxonomy has rules for
    that language; otherwise (``und``, unsupported languages) every language's rules apply.
    """
    settings = taxonomy.settings
    base = _base_language(language)
    languages = (frozenset({base, ANY_LANGUAGE}) if base in taxonomy.languages else None)
    scores: dict[str, float] = {}
    for field_text, weight in ((title or "", settings.title_weight),
                               ((text or "")[: settings.text_chars], 1.0)):
        if not field_text:
            continue
        for topic, value in score_text(taxonomy, fold(field_text), languages).items():
            scores[topic] = scores.get(topic, 0.0) + weight * value
    for topic in category_topics(taxonomy, tags):
        scores[topic] = scores.get(topic, 0.0) + settings.category_score
    return scores


def pick_topics(scores: Mapping[str, float], settings: RuleSettings,
                order: Iterable[str] = ()) -> tuple[str, ...]:
    """Topics above ``min_score`` and within ``relative_min`` of the best, strongest first."""
    if not scores:
        return ()
    best = max(scores.values())
    rank = {topic: index for index, topic in enumerate(order)}
    kept = [topic for topic, value in scores.items()
            if value >= settings.min_score and value >= settings.relative_min * best]
    kept.sort(key=lambda topic: (-scores[topic], rank.get(topic, len(rank)), topic))
    return tuple(kept[: settings.max_topics])


class RuleTopicTagger(TopicTagger):
    """Keyword/regex rules from a taxonomy file; its version is the taxonomy's version."""

    name = "newsflow-rules"

    def __init__(self, taxonomy: Taxonomy | str | None = None):
        self.taxonomy = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
        self.version = self.taxonomy.version

    def scores(self, article: Article) -> dict[str, float]:
        """Per-topic scores, for explaining a decision."""
        return score_article(self.taxonomy, article.title, article.text, article.language,
                             article.tags)

    def tag(self, article: Article) -> tuple[str, ...]:
        return pick_topics(self.scores(article), self.taxonomy.settings, self.taxonomy.topics)


@dataclass(frozen=True)
class TaggerScore:
    """Micro-averaged precision/recall over labelled articles, plus per-topic counts."""

    precision: float
    recall: float
    f1: float
    per_topic: dict  # topic -> {"tp": int, "fp": int, "fn": int}
    errors: tuple  # (example id, predicted, gold) for every article not predicted exactly


def evaluate_tagger(tagger: TopicTagger,
                    examples: Iterable[tuple[str, Article, Iterable[str]]]) -> TaggerScore:
    """Score a tagger against ``(id, article, gold topics)`` examples: compare your model with
    the rules on the same labelled set before swapping it in."""
    per_topic: dict[str, dict[str, int]] = {}
    errors = []
    for example_id, article, gold in examples:
        predicted, expected = set(tagger.tag(article)), set(gold)
        for topic in predicted | expected:
            counts = per_topic.setdefault(topic, {"tp": 0, "fp": 0, "fn": 0})
            if topic in predicted and topic in expected:
                counts["tp"] += 1
            elif topic in predicted:
                counts["fp"] += 1
            else:
                counts["fn"] += 1
        if predicted != expected:
            errors.append((example_id, tuple(sorted(predicted)), tuple(sorted(expected))))
    tp = sum(c["tp"] for c in per_topic.values())
    fp = sum(c["fp"] for c in per_topic.values())
    fn = sum(c["fn"] for c in per_topic.values())
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return TaggerScore(precision, recall, f1, dict(sorted(per_topic.items())), tuple(errors))


# --------------------------------------------------------------------------------------------
# The Beam transform


def tag_article(tagger: TopicTagger, article: Article) -> Article:
    """The article with ``topics``, ``tagger_version`` and normalized ``tags`` set."""
    return article.replace(tags=normalize_tags(article.tags),
                           topics=tuple(tagger.tag(article)), tagger_version=tagger.stamp)


class TagTopicsStep(Step):
    """Article -> Article with ``topics``, ``tagger_version`` and normalized ``tags``.

    Builds the tagger once per worker process (taxonomies and models are not pickled). A
    plugged-in model that fails on one article must not cost the article: it passes on
    untagged (``topics`` null) and is counted under ``topics/failed``; ``topics/tagged`` and
    ``topics/untagged`` count articles with and without a topic.
    """

    name = "topics"

    def __init__(self, tagger_factory: Callable[[], TopicTagger] | None = None,
                 taxonomy_path: str | None = None):
        if tagger_factory is not None and taxonomy_path is not None:
            raise ValueError("pass either tagger_factory or taxonomy_path, not both")
        self._tagger_factory = tagger_factory or _RuleTaggerFactory(taxonomy_path)

    def setup(self):
        self._tagger = self._tagger_factory()

    def apply(self, article: Article) -> Article:
        try:
            tagged = tag_article(self._tagger, article)
        except Exception as error:  # noqa: BLE001 - a tagger bug must not drop the article
            LOG.warning("topic tagger %s failed on %s: %r", self._tagger.stamp,
                        article.source_ref, error)
            self.count("failed")
            return article.replace(tags=normalize_tags(article.tags))
        self.count("tagged" if tagged.topics else "untagged")
        return tagged


class TagTopics(ApplyStep):
    """Article -> Article with ``topics`` and ``tagger_version`` (outputs as every step's).

    Pass ``taxonomy_path`` to use the rule tagger with another taxonomy, or ``tagger_factory``
    (a picklable zero-argument callable returning a :class:`TopicTagger`, e.g. a class or a
    ``functools.partial``) to plug in your own model.
    """

    def __init__(self, tagger_factory: Callable[[], TopicTagger] | None = None,
                 taxonomy_path: str | None = None):
        super().__init__(TagTopicsStep(tagger_factory, taxonomy_path))


@dataclass(frozen=True)
class _RuleTaggerFactory:
    """Picklable factory: only the path (None: the shipped taxonomy) travels to workers; the
    file is read in setup."""

    taxonomy_path: str | None

    def __call__(self) -> RuleTopicTagger:
        return RuleTopicTagger(self.taxonomy_path)


__all__ = [
    "ANY_LANGUAGE", "RuleSettings", "RuleTopicTagger", "TagTopics", "TagTopicsStep", "Taxonomy",
    "TopicTagger", "category_topics", "fold", "load_taxonomy", "normalize_tags",
    "parse_taxonomy", "pick_topics", "score_article", "shipped_taxonomy_text", "tag_article",
    "term_regex",
]
