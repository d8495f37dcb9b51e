"""Deterministic sample news data: articles, realistic pages and a mixed archive corpus.

Used by ``newsflow demo``, by tests and by benchmarks. Everything here is generated offline
from a seeded RNG, so the same arguments always give the same articles, pages and file bytes.

* :func:`generate_articles` writes original news prose from per-language sentence templates
  (English, German, French, Spanish) over seven topics, with a cast of made-up people and
  organisations per article, so a thousand articles share little text.
* :func:`render_html` wraps one article in a realistic ~60 KB page: metadata, navigation,
  breadcrumb, the page's display date, share lines, related/popular lists, scripts, styles.
* :func:`render_non_articles` gives pages that are not articles (index, consent wall, video,
  near-empty); :func:`syndicate` gives a re-syndicated copy of a wire story.
* :func:`write_corpus` writes a small mixed corpus (WARC, JSONL, text dumps, HTML files) and
  returns a :class:`CorpusInfo` with the counts a correct backfill must report.

    python -m newsflow.pipelines.demo.sample_corpus OUTDIR --articles 24 --seed 0

The people, outlets and events are fictional; domains use the reserved ``.test`` and
``.example`` top-level domains.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html as html_lib
import io
import json
import random
import re
import sys
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# Public types


@dataclass(frozen=True)
class SampleArticle:
    """One generated article. ``paragraphs`` hold the body without dateline and wire credit;
    :func:`article_text` shows them the way a page or dump prints them."""

    url: str
    title: str
    paragraphs: tuple[str, ...]
    published_at: datetime  # aware, UTC
    language: str
    authors: tuple[str, ...]
    tags: tuple[str, ...]
    site_name: str
    wire: str | None  # "AP", "Reuters", "AFP", "dpa", "EFE" or None
    dateline: str | None  # as printed before the dash: "WASHINGTON (AP)", "BRUSSELS"
    wire_credit: bool = False  # a trailing "(AP)" closes the last paragraph
    topic: str = "politics"
    section: tuple[str, ...] = ()  # breadcrumb below Home: ("World", "Asia")

    @property
    def text(self) -> str:
        """The clean body a correct pipeline should produce: paragraphs, blank-line separated."""
        return "\n\n".join(self.paragraphs)

    @property
    def domain(self) -> str:
        return self.url.split("/")[2]


@dataclass(frozen=True)
class SamplePage:
    """A rendered page that is not an article, with the skip a correct pipeline gives it."""

    url: str
    html: str
    kind: str  # index_page | consent_wall | video_page | near_empty
    expected: str  # summary key of the expected skip, e.g. "classify:index_page"


@dataclass(frozen=True)
class CorpusInfo:
    """What :func:`write_corpus` wrote and what a correct backfill must report for it.

    ``expected_skipped`` and ``expected_dead_letters`` use the run summary's keys
    (``stage:reason``); ``expected_read == expected_articles + skips + dead letters``.
    ``syndicated`` copies are counted as articles: a pipeline with near-duplicate detection
    marks them as duplicates of ``wire_original``.
    """

    directory: str
    files: tuple[str, ...]  # relative to ``directory``
    records: dict[str, int]  # records written by kind
    expected_read: int
    expected_articles: int
    expected_skipped: dict[str, int]
    expected_dead_letters: dict[str, int]
    articles: tuple[SampleArticle, ...]  # every article record, in file order
    wire_original: str  # URL of the wire story that ``syndicated`` copies repeat
    syndicated: tuple[str, ...]  # URLs of the syndicated copies

    @property
    def input_globs(self) -> list[str]:
        """Globs that match exactly the corpus files (for ``--input``)."""
        root = self.directory.rstrip("/")
        return [f"{root}/warc/*.warc.gz", f"{root}/jsonl/*.jsonl", f"{root}/text/*.txt",
                f"{root}/html/*.html", f"{root}/html/*.html.gz"]

    def as_dict(self) -> dict:
        return {"directory": self.directory, "files": list(self.files),
                "records": dict(self.records), "expected_read": self.expected_read,
                "expected_articles": self.expected_articles,
                "expected_skipped": dict(self.expected_skipped),
                "expected_dead_letters": dict(self.expected_dead_letters),
                "wire_original": self.wire_original, "syndicated": list(self.syndicated)}


# ---------------------------------------------------------------------------------------------
# Template engine: "[a|b|c]" picks one alternative (nesting allowed), "{slot}" fills a slot.

_ALTERNATIVE = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")


def _choose_alternatives(template: str, rng: random.Random) -> str:
    while True:
        expanded = _ALTERNATIVE.sub(lambda m: rng.choice(m.group(1).split("|")), template)
        if expanded == template:
            return expanded
        template = expanded


def _capitalize(text: str) -> str:
    for index, char in enumerate(text):
        if char.isalpha():
            return text[:index] + char.upper() + text[index + 1:]
    return text


# ---------------------------------------------------------------------------------------------
# Language data: data/<language>.json. Each topic: main subjects ("items"), roles,
# organisations, headlines, ledes, body sentences and quotes; "generic" sentences work for every
# topic; "page" holds the page furniture; "syndication_edits" the word swaps of a re-syndicated
# copy. JSON arrays become tuples: the data stays immutable and tuple comparisons such as
# ``section == ("World", "Europe")`` hold.

TOPICS = ("politics", "economy", "defence", "science", "sport", "health", "technology")
LANGUAGES = ("en", "de", "fr", "es")


def _frozen(value):
    if isinstance(value, dict):
        return {key: _frozen(item) for key, item in value.items()}
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def _data_file(name: str):
    return json.loads((resources.files("newsflow.pipelines.demo") / "data" / name)
                      .read_text(encoding="utf-8"))


def load_language_data(language: str) -> dict:
    """The sentence templates, names and page furniture of one language (package data)."""
    return _frozen(_data_file(f"{language}.json"))


LANGUAGE_DATA = {language: load_language_data(language) for language in LANGUAGES}
#: Relative weight of each language in a mixed sample: English dominates.
LANGUAGE_WEIGHTS = {"en": 7.0, "de": 1.0, "fr": 1.0, "es": 1.0}


@dataclass(frozen=True)
class Outlet:
    domain: str
    site_name: str
    language: str
    url_style: str  # dated: /section/YYYY/MM/DD/slug ; id: /section/slug-123456 ; html


#: The fictional outlets articles are published by (``data/outlets.json``).
OUTLETS = tuple(Outlet(**outlet) for outlet in _data_file("outlets.json"))
_OUTLET_BY_KEY = {o.domain: o for o in OUTLETS} | {o.site_name.lower(): o for o in OUTLETS}


# ---------------------------------------------------------------------------------------------
# Locale formatting


def _group_digits(value: int, language: str) -> str:
    text = f"{value:,}"
    return {"en": text, "fr": text.replace(",", " ")}.get(language, text.replace(",", "."))


def _decimal(value: float, language: str) -> str:
    text = f"{value:.1f}"
    return text if language == "en" else text.replace(".", ",")


def _percent(value: float, language: str) -> str:
    number = _decimal(value, language)
    return {"en": f"{number}%", "de": f"{number} Prozent", "fr": f"{number} %"}.get(
        language, number + "%")


def _money(rng: random.Random, language: str, small: bool = False) -> str:
    if small or rng.random() < 0.4:
        amount, unit = rng.randint(12, 950), "m"
    else:
        amount, unit = round(rng.uniform(1.1, 48.0), 1), "bn"
    if language == "en":
        currency = rng.choice(("$", "€", "£"))
        return f"{currency}{amount} {'million' if unit == 'm' else 'billion'}"
    if unit == "m":
        return {"de": f"{amount} Millionen Euro", "fr": f"{amount} millions d'euros"}.get(
            language, f"{amount} millones de euros")
    number = _decimal(amount, language)
    return {"de": f"{number} Milliarden Euro", "fr": f"{number} milliards d'euros"}.get(
        language, f"{_group_digits(int(amount * 1000), language)} millones de euros")


# ---------------------------------------------------------------------------------------------
# Article generation


class _Cast:
    """The people, places and organisations of one article, and the slot filler."""

    def __init__(self, rng: random.Random, language: str, topic: str, year: int):
        self.rng, self.language, self.topic, self.year = rng, language, topic, year
        self.data = LANGUAGE_DATA[language]
        self.topic_data = self.data["topics"][topic]
        self.used: set[str] = set()  # templates used in this article
        places = rng.sample(self.data["places"], 2)
        self.place = places[0]
        first, last = self.data["first"], self.data["last"]
        lasts = rng.sample(last, 2)
        people = [f"{rng.choice(first)} {lasts[0]}", f"{rng.choice(first)} {lasts[1]}"]
        roles = rng.sample(self.topic_data["roles"], 2)
        orgs = rng.sample(self.topic_data["orgs"], 2)
        countries = [p[1] for p in self.data["places"] if p[1] != places[0][1]]
        self.fixed = {
            "p1": people[0], "p1_last": lasts[0], "p1_role": roles[0],
            "p2": people[1], "p2_last": lasts[1], "p2_role": roles[1],
            "city": places[0][0], "country": places[0][1], "city2": places[1][0],
            "country2": rng.choice(countries) if countries else places[1][1],
            "item": rng.choice(self.topic_data["items"]),
        }
        self.fixed["org"] = orgs[0].replace("{city}", places[0][0])
        self.fixed["org2"] = orgs[1].replace("{city}", places[1][0])
        self.fixed["p1_role_cap"] = _capitalize(self.fixed["p1_role"])
        self.fixed["p2_role_cap"] = _capitalize(self.fixed["p2_role"])
        self.fixed["country_cap"] = _capitalize(self.fixed["country"])
        self.fixed.update(_case_forms(language, self.fixed))
        self.fixed["org_cap"] = _capitalize(self.fixed["org"])
        self.fixed["item_cap"] = _capitalize(self.fixed["item"])

    def slot(self, name: str) -> str:
        rng, lang = self.rng, self.language
        if name in self.fixed:
            return self.fixed[name]
        if name in ("n", "n2", "n3"):
            return str(rng.choice((2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 18, 20, 24, 30,
                                   36, 40)))
        if name == "big":
            return _group_digits(rng.choice((rng.randint(12, 99) * 100,
                                             rng.randint(11, 950) * 1000,
                                             rng.randint(1200, 9800))), lang)
        if name in ("pct", "pct2"):
            return _percent(rng.uniform(0.3, 68.0 if rng.random() < 0.3 else 9.9), lang)
        if name == "rate":
            return _percent(rng.choice((1.5, 2.0, 2.25, 2.5, 3.0, 3.25, 3.5, 3.75, 4.0, 4.5,
                                        5.25)), lang)
        if name == "money":
            return _money(rng, lang)
        if name == "money_small":
            return _money(rng, lang, small=True)
        if name == "year":
            return str(self.year + rng.randint(1, 5))
        if name == "year0":
            return str(self.year - rng.randint(2, 15))
        if name == "year1":
            return str(self.year - rng.randint(0, 1))
        if name == "weekday":
            return rng.choice(self.data["weekdays"][:5])
        if name == "month":
            return rng.choice(self.data["months"])
        if name == "age":
            return str(rng.randint(38, 71))
        if name == "seats":
            return str(rng.randint(151, 190))
        if name == "seats_total":
            return str(rng.choice((299, 300, 310, 349, 350)))
        if name in ("score", "score2"):
            return f"{rng.randint(0, 4)}{':' if lang == 'de' else '-'}{rng.randint(0, 3)}"
        if name == "minute":
            return str(rng.randint(8, 89))
        if name in ("points", "games"):
            return str(rng.randint(18, 71) if name == "points" else rng.randint(3, 12))
        if name == "race_time":
            return f"2:{rng.randint(4, 12):02d}:{rng.randint(0, 59):02d}"
        if name == "quote":
            return self.expand(self.pick(self.topic_data["quotes"]), capitalize=False)
        raise KeyError(f"unknown template slot {{{name}}}")

    def expand(self, template: str, capitalize: bool = True) -> str:
        text = _choose_alternatives(template, self.rng)
        text = _SLOT.sub(lambda m: self.slot(m.group(1)), text)
        text = re.sub(r" {2,}", " ", text).replace(" ,", ",").replace(" .", ".")
        return _capitalize(text) if capitalize else text

    def unused(self, pool: Sequence[str]) -> list[str]:
        return [t for t in pool if t not in self.used]

    def pick(self, pool: Sequence[str]) -> str:
        """A template from ``pool`` not used yet in this article (any when all are used)."""
        template = self.rng.choice(self.unused(pool) or list(pool))
        self.used.add(template)
        return template


def _de_case(phrase: str, case: str) -> str:
    """A German noun phrase in the dative or accusative ("die X" -> "der X" / "die X")."""
    words = phrase.split(" ")
    article = {"dat": {"der": "dem", "die": "der", "das": "dem"},
               "acc": {"der": "den", "die": "die", "das": "das"}}[case].get(words[0])
    if article is None or (case == "acc" and words[0] != "der"):
        return phrase
    rest = words[1:]
    for index, word in enumerate(rest[:-1]):  # adjectives before the noun: Statistische-n
        if not word.endswith("e"):
            break
        rest[index] = word + "n"
    return " ".join([article] + rest)


def _fr_de(phrase: str) -> str:
    """French "de" + phrase, with contractions: du, des, de la, d'."""
    if phrase.startswith("le "):
        return "du " + phrase[3:]
    if phrase.startswith("les "):
        return "des " + phrase[4:]
    if phrase.startswith(("la ", "l'")):
        return "de " + phrase
    return ("d'" if phrase[:1].lower() in "aeiouyéèêàâîôûh" else "de ") + phrase


def _case_forms(language: str, fixed: dict[str, str]) -> dict[str, str]:
    """Slots whose form depends on the preposition or case in front of them."""
    org, org2 = fixed["org"], fixed["org2"]
    if language == "en":
        role = fixed["p2_role"]
        role = role if role.isupper() else role.lower()
        return {"p2_desc": ("an " if role[0] in "aeiou" else "a ") + role}
    if language == "de":
        dat = _de_case(org, "dat")
        return {"org_dat": dat, "org2_dat": _de_case(org2, "dat"),
                "org_acc": _de_case(org, "acc"),
                "org_von": "vom " + dat[4:] if dat.startswith("dem ") else "von " + dat,
                "org_bei": "beim " + dat[4:] if dat.startswith("dem ") else "bei " + dat,
                "org_poss": "ihres" if org.startswith("die ") else "seines"}
    if language == "fr":
        return {"org_de": _fr_de(org), "org2_de": _fr_de(org2),
                "p1_role_de": _fr_de(fixed["p1_role"]), "p1_last_de": _fr_de(fixed["p1_last"])}

    def es_de(phrase: str) -> str:
        return "del " + phrase[3:] if phrase.startswith("el ") else "de " + phrase

    return {"org_de": es_de(org), "org2_de": es_de(org2), "p1_role_de": es_de(fixed["p1_role"]),
            "org_a": "al " + org[3:] if org.startswith("el ") else "a " + org}


def _slugify(title: str) -> str:
    import unicodedata

    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    return "-".join(words[:10]) or "story"


def _article_url(outlet: Outlet, section: str, title: str, published: datetime,
                 rng: random.Random) -> str:
    slug = _slugify(title)
    section_slug = _slugify(section) or "news"
    base = f"https://{outlet.domain}"
    if outlet.url_style == "dated":
        return f"{base}/{section_slug}/{published:%Y/%m/%d}/{slug}"
    if outlet.url_style == "id":
        return f"{base}/{section_slug}/{slug}-{rng.randint(100000, 999999)}"
    return f"{base}/{section_slug}/{slug}-{rng.randint(1000, 9999)}.html"


def _pick_language(rng: random.Random, languages: Sequence[str]) -> str:
    weights = [LANGUAGE_WEIGHTS.get(lang, 1.0) for lang in languages]
    return rng.choices(list(languages), weights=weights)[0]


def _length(paragraphs: list[list[str]]) -> int:
    return sum(len(sentence) + 1 for sentences in paragraphs for sentence in sentences)


def _make_article(index: int, seed: int, languages: Sequence[str]) -> SampleArticle:
    rng = random.Random(f"newsflow-sample:{seed}:{index}")
    language = _pick_language(rng, languages)
    data = LANGUAGE_DATA[language]
    topic = rng.choice(TOPICS)
    start = datetime(2023, 1, 1, tzinfo=UTC)
    published = start + timedelta(seconds=rng.randrange(3 * 365 * 86400))
    published = published.replace(second=0, microsecond=0)
    cast = _Cast(rng, language, topic, published.year)
    topic_data = cast.topic_data

    title = cast.expand(rng.choice(topic_data["titles"]))
    body_pool = list(topic_data["body"]) + list(data["generic"])
    quote_frames = data["quote_frames"]

    def sentence() -> str:
        if rng.random() < 0.18 and cast.unused(topic_data["quotes"]):
            return cast.expand(cast.pick(quote_frames))
        return cast.expand(cast.pick(body_pool))

    # 4-9 paragraphs of 2-4 sentences, grown towards a target of 2-5 KB of text
    target = rng.randint(2000, 4800)
    paragraphs = [[cast.expand(cast.pick(topic_data["ledes"]))]]
    paragraphs += [[] for _ in range(rng.randint(3, 8))]
    for sentences in paragraphs:
        for _ in range(rng.randint(2, 3) - len(sentences)):
            sentences.append(sentence())
    while _length(paragraphs) < target:
        open_paragraphs = [p for p in paragraphs if len(p) < 4]
        if open_paragraphs:
            rng.choice(open_paragraphs).append(sentence())
        elif len(paragraphs) < 9:
            paragraphs.append([sentence(), sentence()])
        else:
            break
    while _length(paragraphs) > 5000 and len(paragraphs) > 4:
        paragraphs.pop()
    paragraphs = [" ".join(p) for p in paragraphs]

    outlets = [o for o in OUTLETS if o.language == language]
    outlet = rng.choice(outlets)
    wire = rng.choice(data["wires"]) if rng.random() < 0.3 else None
    dateline_city = cast.place[2]
    if wire:
        style = rng.random()
        dateline = f"{dateline_city} ({wire})" if style < 0.75 else None
        wire_credit = style >= 0.5
    else:
        dateline = dateline_city if rng.random() < 0.2 else None
        wire_credit = False
    section = topic_data["section"]
    if section == ("World", "Europe"):
        section = ("World", rng.choice(data["page"]["world_sub"]))
    url = _article_url(outlet, section[-1], title, published, rng)
    n_authors = 0 if (wire and rng.random() < 0.5) else rng.choice((1, 1, 1, 2))
    authors = tuple(f"{rng.choice(data['first'])} {rng.choice(data['last'])}"
                    for _ in range(n_authors))
    tags = (topic, cast.fixed["city"], cast.fixed["item"])
    return SampleArticle(url=url, title=title, paragraphs=tuple(paragraphs),
                         published_at=published, language=language, authors=authors,
                         tags=tags, site_name=outlet.site_name, wire=wire, dateline=dateline,
                         wire_credit=wire_credit, topic=topic, section=section)


def generate_articles(n: int, seed: int = 0,
                      languages: Sequence[str] = ("en", "de", "fr", "es")
                      ) -> list[SampleArticle]:
    """``n`` distinct articles; article ``i`` depends only on ``(seed, i, languages)``, so a
    longer list starts with the shorter one."""
    unknown = [lang for lang in languages if lang not in LANGUAGE_DATA]
    if unknown or not languages:
        raise ValueError(f"unsupported languages {unknown}; choose from {sorted(LANGUAGE_DATA)}")
    articles, seen_urls = [], set()
    for index in range(n):
        article = _make_article(index, seed, languages)
        base, suffix = article.url, 2
        while article.url in seen_urls:
            article = replace(article, url=f"{base}-{suffix}")
            suffix += 1
        seen_urls.add(article.url)
        articles.append(article)
    return articles


def article_text(article: SampleArticle) -> str:
    """The body as a page or text dump prints it: dateline and wire credit included."""
    paragraphs = list(article.paragraphs)
    if article.dateline:
        paragraphs[0] = f"{article.dateline} \u2014 {paragraphs[0]}"
    if article.wire and article.wire_credit:
        paragraphs[-1] = f"{paragraphs[-1]} ({article.wire})"
    return "\n\n".join(paragraphs)


# ---------------------------------------------------------------------------------------------
# Syndication (for the dedup demo)



def _outlet_for(outlet: str | Outlet, language: str) -> Outlet:
    if isinstance(outlet, Outlet):
        return outlet
    known = _OUTLET_BY_KEY.get(outlet.lower())
    if known:
        return known
    name = outlet.split(".")[0].replace("-", " ").title()
    domain = outlet if "." in outlet else f"{_slugify(outlet)}.example"
    return Outlet(domain, name, language, "dated")


def syndicate(article: SampleArticle, outlet: str | Outlet, seed: int = 0) -> SampleArticle:
    """A re-syndicated copy of ``article`` at another outlet: new headline, dateline added or
    removed, tail trimmed, a few light word edits. Near-duplicate detection should match it to
    the original; its URL and id differ."""
    rng = random.Random(f"newsflow-syndicate:{seed}:{article.url}:{outlet}")
    target = _outlet_for(outlet, article.language)
    paragraphs = list(article.paragraphs)
    if len(paragraphs) >= 5:
        paragraphs = paragraphs[:-1]  # the tail an editor cut
    else:
        last = re.split(r"(?<=[.!?\u201d»])\s+", paragraphs[-1])
        if len(last) > 1:
            paragraphs[-1] = " ".join(last[:-1])
    edits = list(LANGUAGE_DATA[article.language]["syndication_edits"])
    rng.shuffle(edits)
    budget = max(2, min(6, sum(len(p.split()) for p in paragraphs) // 120))
    for old, new in edits:
        if budget <= 0:
            break
        candidates = [i for i, p in enumerate(paragraphs) if old in p]
        if candidates:
            index = rng.choice(candidates)
            paragraphs[index] = paragraphs[index].replace(old, new, 1)
            budget -= 1
    lede = article.paragraphs[0].split(". ")[0]
    clause = re.split(r",| \u2014 ", lede)[0].rstrip(".")
    words = clause.split()
    headline = " ".join(words[:12]).rstrip(",;:")
    headline = rng.choice((headline, f"{headline}, report says" if article.language == "en"
                           else headline))
    wire = article.wire or "AP"
    city = (article.dateline or "").split(" (")[0] or _dateline_from_text(article)
    if article.dateline:
        dateline, wire_credit = None, True  # dateline removed: keep the credit at the end
    else:
        dateline, wire_credit = f"{city} ({wire})", rng.random() < 0.5
    published = article.published_at + timedelta(minutes=rng.randint(20, 600))
    section = article.section[-1] if article.section else "news"
    url = _article_url(target, section, headline, published, rng)
    if url == article.url:
        url += "-syndicated"
    return replace(article, url=url, title=_capitalize(headline), paragraphs=tuple(paragraphs),
                   published_at=published, site_name=target.site_name, wire=wire,
                   dateline=dateline, wire_credit=wire_credit, authors=())


def _dateline_from_text(article: SampleArticle) -> str:
    data = LANGUAGE_DATA[article.language]
    for name, _country, dateline in data["places"]:
        if name in article.text:
            return dateline
    return data["places"][0][2]


# ---------------------------------------------------------------------------------------------
# HTML rendering

_E = html_lib.escape


def _display_date(day: date, language: str) -> str:
    data = LANGUAGE_DATA[language]
    weekday, month = data["weekdays"][day.weekday()], data["months"][day.month - 1]
    if language == "en":
        return f"{weekday}, {month} {day.day}, {day.year}"
    if language == "de":
        return f"{weekday}, {day.day}. {month} {day.year}"
    return f"{weekday} {day.day} {month} {day.year}".capitalize()


def _filler_words(rng: random.Random, count: int) -> str:
    syllables = ("lo", "rem", "ip", "sum", "dol", "or", "sit", "am", "et", "con", "sec", "tur",
                 "ad", "pis", "cing", "el", "it", "sed", "do", "eius", "mod", "tem", "por")
    return " ".join("".join(rng.choice(syllables) for _ in range(rng.randint(1, 3)))
                    for _ in range(count))


def _css_padding(rng: random.Random, target_bytes: int) -> str:
    props = ("margin:0 auto", "padding:.5rem 1rem", "display:flex", "align-items:center",
             "font-family:Georgia,serif", "font-size:1.0625rem", "line-height:1.6",
             "color:#1a1a1a", "background:#fff", "border-bottom:1px solid #e5e5e5",
             "grid-template-columns:repeat(12,1fr)", "gap:1.25rem", "max-width:1180px",
             "text-transform:uppercase", "letter-spacing:.04em", "position:sticky", "top:0",
             "z-index:40", "transition:opacity .2s ease-in-out", "overflow:hidden")
    blocks, size = ["/* theme */"], 0
    names = ("header", "nav", "menu", "story", "teaser", "card", "rail", "footer", "promo",
             "byline", "share", "ad-slot", "newsletter", "video", "gallery", "ticker")
    while size < target_bytes:
        selector = (f".{rng.choice(names)}__{rng.choice(names)}"
                    f"--{rng.choice(('lg', 'sm', 'dark', 'compact', 'hero', 'alt'))}"
                    f"{rng.randint(1, 99)}")
        rule = f"{selector}{{{';'.join(rng.sample(props, rng.randint(3, 7)))}}}"
        if rng.random() < 0.15:
            rule = f"@media (min-width:{rng.choice((640, 768, 1024, 1280))}px){{{rule}}}"
        blocks.append(rule)
        size += len(rule) + 1
    return "\n".join(blocks)


def _js_padding(rng: random.Random, target_bytes: int) -> str:
    entries, size = [], 0
    while size < target_bytes:
        key = f"slot_{rng.randint(1000, 99999)}"
        value = {"id": rng.getrandbits(48), "sizes": [[300, 250], [728, 90]][: rng.randint(1, 2)],
                 "targeting": {"pos": rng.choice(("top", "mid", "btf")), "kw": _filler_words(
                     rng, rng.randint(2, 6)).split()}, "lazy": rng.random() < 0.5,
                 "refresh": rng.choice((0, 30, 60))}
        entry = f"{json.dumps(key)}:{json.dumps(value, separators=(',', ':'))}"
        entries.append(entry)
        size += len(entry) + 1
    return ("window.__APP_STATE__=window.__APP_STATE__||{};"
            f"window.__APP_STATE__.adConfig={{{','.join(entries)}}};"
            "(function(w,d){var s=d.createElement('script');s.async=true;"
            "s.src='/static/js/analytics.min.js';d.head.appendChild(s);})(window,document);")


def _teaser_titles(rng: random.Random, language: str, count: int) -> list[tuple[str, str]]:
    """Headlines and URLs for related/popular lists (made from the title templates)."""
    out = []
    for _ in range(count):
        topic = rng.choice(TOPICS)
        cast = _Cast(rng, language, topic, 2024)
        title = cast.expand(rng.choice(cast.topic_data["titles"]))
        section = _slugify(cast.topic_data["section"][-1])
        out.append((title, f"/{section}/{_slugify(title)}-{rng.randint(10000, 99999)}"))
    return out


def _mega_menu(rng: random.Random, page: dict, target_bytes: int) -> str:
    items, size = [], 0
    while size < target_bytes:
        section = rng.choice(page["sections"])
        label = _capitalize(_filler_words(rng, rng.randint(1, 2)))
        item = (f'<li class="menu__item"><a class="menu__link" href="/{_slugify(section)}/'
                f'{_slugify(label)}">{_E(section)}: {_E(label)}</a></li>')
        items.append(item)
        size += len(item)
    return '<ul class="menu__list menu__list--mega" hidden>' + "".join(items) + "</ul>"


def render_html(article: SampleArticle, boilerplate_kb: float = 56.0,
                render_date: date | None = None, charset: str | None = "utf-8") -> str:
    """A realistic news page for ``article``: roughly ``boilerplate_kb`` KB of page chrome,
    scripts and styles around the article (≈60 KB in total by default).

    The header shows the page's display date (``render_date``, by default a few days after
    publication: the day the page was served), never to be taken as the publication date.
    ``charset`` None leaves the charset to the HTTP header.
    """
    rng = random.Random(f"newsflow-render:{article.url}")
    lang = article.language
    page = LANGUAGE_DATA[lang]["page"]
    if render_date is None:
        render_date = (article.published_at + timedelta(days=rng.randint(1, 400))).date()
    published_iso = article.published_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    origin = "/".join(article.url.split("/")[:3])
    crumbs = [(page["home"], "/")] + [
        (name, "/" + "/".join(_slugify(s) for s in article.section[: i + 1]) + "/")
        for i, name in enumerate(article.section)]
    paragraphs = article_text(article).split("\n\n")
    description = paragraphs[0].split(". ")[0][:200]

    head = [
        "<!DOCTYPE html>", f'<html lang="{lang}">', "<head>",
        f'<meta charset="{charset}">' if charset else "",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_E(article.title)} | {_E(article.site_name)}</title>",
        f'<meta name="description" content="{_E(description)}">',
        *(f'<meta name="author" content="{_E(a)}">' for a in article.authors),
        f'<meta name="keywords" content="{_E(", ".join(article.tags))}">',
        '<meta property="og:type" content="article">',
        f'<meta property="og:site_name" content="{_E(article.site_name)}">',
        f'<meta property="og:title" content="{_E(article.title)}">',
        f'<meta property="og:url" content="{_E(article.url)}">',
        f'<meta property="og:description" content="{_E(description)}">',
        f'<meta property="article:published_time" content="{published_iso}">',
        f'<meta property="article:section" content="{_E(article.section[0])}">',
        *(f'<meta property="article:tag" content="{_E(t)}">' for t in article.tags),
        f'<link rel="canonical" href="{_E(article.url)}">',
        f'<link rel="stylesheet" href="{origin}/static/css/main.{rng.getrandbits(32):08x}.css">',
        '<link rel="icon" href="/favicon.ico">',
    ]
    head += ["<style>\x00CSS\x00</style>", "</head>"]

    nav = "".join(f'<li><a href="/{_slugify(s)}/">{_E(s)}</a></li>' for s in page["sections"])
    breadcrumb = " \u203a ".join(f'<a href="{href}">{_E(name)}</a>' for name, href in crumbs)
    byline = ""
    if article.authors:
        byline = (f'<div class="byline">{page["by"]} '
                  + " &amp; ".join(f'<a rel="author" href="/authors/{_slugify(a)}">{_E(a)}</a>'
                                   for a in article.authors) + "</div>")
    shown_date = _display_date(article.published_at.date(), lang)
    body_paragraphs = []
    related = _teaser_titles(rng, lang, 5)
    for index, paragraph in enumerate(paragraphs):
        body_paragraphs.append(f"<p>{_E(paragraph)}</p>")
        if index == 1 and len(paragraphs) > 3:
            body_paragraphs.append(f'<div class="ad-slot" data-slot="mid"><span>{page["ad"]}'
                                   "</span></div>")
        if index == 2 and len(paragraphs) > 4:
            title, href = related[0]
            body_paragraphs.append(f'<p class="inline-related"><strong>{page["read_more"]}'
                                   f'</strong> <a href="{href}">{_E(title)}</a></p>')
    popular = _teaser_titles(rng, lang, 6)
    footer_links = "".join(f'<li><a href="/{_slugify(x)}">{_E(x)}</a></li>'
                           for x in page["footer"])
    body = [
        '<body class="article-page">',
        '<a class="skip-link" href="#main">Skip to content</a>',
        '<header class="site-header">',
        f'<div class="top-bar"><span class="today">{_display_date(render_date, lang)}</span>'
        f' <a href="/subscribe">{_E(page["subscribe"].split()[0])}</a>'
        ' <a href="/login">Log in</a></div>',
        f'<a class="logo" href="/">{_E(article.site_name)}</a>',
        f'<nav class="main-nav" aria-label="Sections"><ul>{nav}</ul>\x00MENU\x00</nav>',
        "</header>",
        '<main id="main">',
        f'<nav class="breadcrumb" aria-label="Breadcrumb">{breadcrumb}</nav>',
        '<article class="story">',
        f'<h1 class="story__headline">{_E(article.title)}</h1>',
        byline,
        f'<div class="story__meta"><time datetime="{published_iso}">{_E(shown_date)}</time>'
        "</div>",
        f'<div class="share-bar"><span>{_E(page["share"])}</span> '
        '<a href="#" class="share--fb">Facebook</a> <a href="#" class="share--x">X</a> '
        '<a href="#" class="share--mail">Email</a></div>',
        '<div class="story__body">',
        *body_paragraphs,
        "</div>",
        f'<p class="newsletter-cta">{_E(page["subscribe"])}</p>',
        "</article>",
        '<section class="related">',
        f"<h2>{_E(page['related'])}</h2><ul>",
        *(f'<li><a href="{href}">{_E(title)}</a></li>' for title, href in related[1:]),
        "</ul></section>",
        f'<aside class="most-popular"><h2>{_E(page["popular"])}</h2><ol>',
        *(f'<li><a href="{href}">{_E(title)}</a></li>' for title, href in popular),
        "</ol></aside>",
        "</main>",
        '<footer class="site-footer">',
        f"<ul>{footer_links}</ul>",
        f"<p>\u00a9 {render_date.year} {_E(article.site_name)}. {_E(page['rights'])}</p>",
        "</footer>",
        "<script>\x00JS\x00</script>",
        '<script type="application/ld+json">' + json.dumps({
            "@context": "https://schema.org", "@type": "NewsArticle",
            "headline": article.title, "datePublished": published_iso,
            "author": [{"@type": "Person", "name": a} for a in article.authors],
            "publisher": {"@type": "Organization", "name": article.site_name},
            "mainEntityOfPage": article.url}, ensure_ascii=False).replace("</", "<\\/")
        + "</script>",
        "</body>", "</html>",
    ]
    page_html = "\n".join(line for line in head + body if line)
    # Pad with styles, an ad-config script and a hidden mega menu up to the boilerplate budget
    article_bytes = sum(len(_E(p).encode()) for p in paragraphs)
    missing = int(boilerplate_kb * 1024) - (len(page_html.encode()) - article_bytes)
    missing = max(0, missing)
    return (page_html.replace("\x00CSS\x00", _css_padding(rng, int(missing * 0.35)))
            .replace("\x00JS\x00", _js_padding(rng, int(missing * 0.40)))
            .replace("\x00MENU\x00", _mega_menu(rng, page, int(missing * 0.25))))


def render_non_articles(seed: int = 0, domain: str = "example-news.test") -> list[SamplePage]:
    """Pages that are not articles: a section index, a cookie consent wall, a video page and a
    near-empty page, each with the skip a correct pipeline gives it."""
    rng = random.Random(f"newsflow-non-articles:{seed}")
    origin = f"https://{domain}"
    site = _OUTLET_BY_KEY.get(domain, OUTLETS[0]).site_name
    pages = []

    teasers = _teaser_titles(rng, "en", 24)
    items = "".join(f'<li class="teaser"><a href="{origin}{href}">{_E(title)}</a>'
                    f'<span class="teaser__time">{rng.randint(1, 23)}h ago</span></li>'
                    for title, href in teasers)
    index_html = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Politics | {site}</title>"
        '<meta property="og:type" content="website">'
        f'<link rel="canonical" href="{origin}/category/politics/"></head><body>'
        f'<header><a href="/">{site}</a><nav><a href="/world/">World</a> '
        '<a href="/category/politics/">Politics</a></nav></header>'
        f'<main><h1>Politics</h1><ul class="teaser-list">{items}</ul></main>'
        f"<footer>\u00a9 {site}</footer></body></html>")
    pages.append(SamplePage(f"{origin}/category/politics/", index_html, "index_page",
                            "classify:index_page"))

    consent_html = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Before you continue to {site}</title></head><body>"
        '<div class="consent-wall" role="dialog"><h1>Before you continue</h1>'
        f"<p>We use cookies and data to deliver and maintain {site}, measure audience "
        "engagement and site statistics, and show personalised content and advertising "
        "depending on your settings. If you choose to accept all, we will also use cookies "
        "and data to develop and improve new services.</p>"
        "<p>If you choose to reject all, we will not use cookies for these additional "
        "purposes. Select manage your privacy settings to see more options, including "
        "information about your privacy choices and how to withdraw consent at any time.</p>"
        '<button>Accept all</button> <button>Reject all</button> '
        '<a href="/privacy">Manage your privacy settings</a></div></body></html>')
    pages.append(SamplePage(f"{origin}/consent?continue=%2Fworld%2Fstory", consent_html,
                            "consent_wall", "classify:consent_wall"))

    video_title = "Watch: Floodwaters sweep through river town after record rainfall"
    video_html = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{video_title} | {site}</title>"
        '<meta property="og:type" content="video.other">'
        f'<meta property="og:title" content="{video_title}">'
        f'<link rel="canonical" href="{origin}/video/floodwaters-river-town-4411"></head><body>'
        f'<header><a href="/">{site}</a></header><main><article>'
        f"<h1>{video_title}</h1>"
        '<div class="player"><video src="/media/4411.mp4" controls></video></div>'
        "<p>Residents used boats to reach neighbours stranded on rooftops after the river "
        "burst its banks overnight. Emergency crews said the water was still rising on "
        "Saturday morning and more rain was forecast for the weekend.</p>"
        "</article></main></body></html>")
    pages.append(SamplePage(f"{origin}/video/floodwaters-river-town-4411", video_html,
                            "video_page", "classify:video_page"))

    empty_html = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{site}</title></head><body><main><article><h1>Live updates</h1>"
        "<p>Updates will appear here shortly. Check back soon.</p></article></main>"
        "</body></html>")
    pages.append(SamplePage(f"{origin}/live/2024/election-night-updates", empty_html,
                            "near_empty", "classify:too_short"))
    return pages


# ---------------------------------------------------------------------------------------------
# Corpus writing

_WARC_NAME = "news-00000.warc.gz"
_JSONL_NAME = "export.jsonl"
_PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00"
        b"\x00\x1f\xf3\xffa" + bytes(range(64)) + b"\x00\x00\x00\x00IEND\xaeB`\x82")


def _record_id(*parts) -> str:
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return f"<urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}>"


def _warc_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class WarcBuilder:
    """Writes request/response pairs (and a warcinfo record) with deterministic ids and dates."""

    def __init__(self, handle, filename: str):
        from warcio.warcwriter import WARCWriter

        self._writer = WARCWriter(handle, gzip=True)
        self._filename = filename
        self.records = 0

    def warcinfo(self, when: datetime) -> None:
        payload = (b"software: newsflow sample_corpus\r\nformat: WARC File Format 1.1\r\n"
                   b"description: generated sample news crawl\r\nisPartOf: newsflow-demo\r\n"
                   )
        record = self._writer.create_warc_record(
            "", "warcinfo", payload=io.BytesIO(payload),
            warc_content_type="application/warc-fields",
            warc_headers_dict={"WARC-Record-ID": _record_id(self._filename, "warcinfo"),
                               "WARC-Date": _warc_date(when), "WARC-Filename": self._filename})
        self._writer.write_record(record)
        self.records += 1

    def exchange(self, url: str, body: bytes, when: datetime, content_type: str,
                 status: str = "200 OK") -> None:
        from warcio.statusandheaders import StatusAndHeaders

        host, path = url.split("/", 3)[2], "/" + url.split("/", 3)[3] if url.count("/") > 2 \
            else "/"
        request_id = _record_id(self._filename, url, "request")
        request_headers = StatusAndHeaders(
            f"GET {path} HTTP/1.1",
            [("Host", host), ("User-Agent", "newsflow-sample-crawler/1.0"),
             ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
             ("Accept-Encoding", "identity")],
            is_http_request=True)
        request = self._writer.create_warc_record(
            url, "request", payload=io.BytesIO(b""), http_headers=request_headers,
            warc_headers_dict={"WARC-Record-ID": request_id, "WARC-Date": _warc_date(when)})
        response_headers = StatusAndHeaders(
            status, [("Content-Type", content_type), ("Content-Length", str(len(body))),
                     ("Server", "nginx"), ("Cache-Control", "max-age=300"),
                     ("Date", when.strftime("%a, %d %b %Y %H:%M:%S GMT"))],
            protocol="HTTP/1.1")
        response = self._writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=response_headers,
            warc_headers_dict={"WARC-Record-ID": _record_id(self._filename, url, "response"),
                               "WARC-Date": _warc_date(when),
                               "WARC-Concurrent-To": request_id})
        self._writer.write_record(request)
        self._writer.write_record(response)
        self.records += 2


def crawl_time(article: SampleArticle, rng: random.Random) -> datetime:
    """When a crawler fetched the article: a little after publication."""
    return article.published_at + timedelta(minutes=rng.randint(30, 60 * 24 * 20))


def write_warc(path: str | Path, pages: Sequence[tuple[str, str, datetime]],
               filename: str | None = None) -> int:
    """Write ``(url, html, fetched_at)`` pages as one gzipped WARC; returns records written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        builder = WarcBuilder(handle, filename or path.name)
        builder.warcinfo(min((p[2] for p in pages), default=datetime(2024, 1, 1, tzinfo=UTC)))
        for url, html, fetched in pages:
            builder.exchange(url, html.encode("utf-8"), fetched, "text/html; charset=utf-8")
        return builder.records


def _split_counts(n: int) -> dict[str, int]:
    """How many of ``n`` articles go to each format (WARC gets the rest)."""
    if n < 6:
        raise ValueError("write_corpus needs at least 6 articles (one per input kind)")
    counts = {"jsonl_html": max(1, n // 8), "jsonl_text": max(1, n // 12),
              "text": max(2, n // 7), "html": max(2, n // 8)}
    counts["warc"] = n - sum(counts.values())
    return counts


def write_corpus(directory: str | Path, n_articles: int = 24, seed: int = 0,
                 boilerplate_kb: float = 56.0) -> CorpusInfo:
    """Write a mixed sample corpus into ``directory`` and say what a backfill must report.

    Layout: ``warc/news-00000.warc.gz`` (warcinfo, request/response pairs: articles, a
    windows-1252 page declared only by the HTTP header, three syndicated copies of one wire
    story, non-article pages, an image and a 404), ``jsonl/export.jsonl`` (HTML and text
    records, one broken line), ``text/*.txt`` text dumps (one raw page capture without a date
    prefix) and ``html/*.html`` plus one ``.html.gz``.
    """
    root = Path(directory)
    rng = random.Random(f"newsflow-corpus:{seed}")
    articles = generate_articles(n_articles, seed=seed)
    counts = _split_counts(n_articles)
    queue = list(articles)

    def take(k: int) -> list[SampleArticle]:
        taken, queue[:] = queue[:k], queue[k:]
        return taken

    warc_articles = take(counts["warc"])
    jsonl_html, jsonl_text = take(counts["jsonl_html"]), take(counts["jsonl_text"])
    text_articles, html_articles = take(counts["text"]), take(counts["html"])

    records: Counter = Counter()
    skipped: Counter = Counter()
    dead: Counter = Counter()
    files: list[str] = []
    in_order: list[SampleArticle] = []

    # WARC ------------------------------------------------------------------------------------
    wire_original = next((a for a in warc_articles if a.wire and a.language == "en"), None)
    if wire_original is None:  # make one: the dedup demo needs a wire story in the WARC
        wire_original = replace(warc_articles[0], wire="AP", wire_credit=True)
        warc_articles[0] = wire_original
    cp1252_article = next((a for a in warc_articles if a.language != "en"), warc_articles[-1])
    copies = [syndicate(wire_original, outlet, seed)
              for outlet in ("dailyherald.example", "metro-tribune.test", "globe-ledger.test")
              if outlet != wire_original.domain][:3]
    if len(copies) < 3:
        copies.append(syndicate(wire_original, "coastal-courier.example", seed))
    non_articles = render_non_articles(seed)
    warc_path = root / "warc" / _WARC_NAME
    warc_path.parent.mkdir(parents=True, exist_ok=True)
    with open(warc_path, "wb") as handle:
        builder = WarcBuilder(handle, _WARC_NAME)
        first = min(a.published_at for a in warc_articles) + timedelta(days=1)
        builder.warcinfo(first)
        skipped["read:not_response"] += 1
        records["warcinfo"] += 1
        for article in warc_articles:
            fetched = crawl_time(article, rng)
            if article is cp1252_article:
                html = render_html(article, boilerplate_kb, charset=None)
                body = html.encode("cp1252", errors="xmlcharrefreplace")
                builder.exchange(article.url, body, fetched, "text/html; charset=windows-1252")
                records["warc_article_cp1252"] += 1
            else:
                builder.exchange(article.url, render_html(article, boilerplate_kb).encode(),
                                 fetched, "text/html; charset=utf-8")
                records["warc_article"] += 1
            in_order.append(article)
        for copy in copies:
            builder.exchange(copy.url, render_html(copy, boilerplate_kb).encode(),
                             crawl_time(copy, rng), "text/html; charset=utf-8")
            records["warc_syndicated"] += 1
            in_order.append(copy)
        when = first + timedelta(hours=3)
        for page in non_articles:
            builder.exchange(page.url, page.html.encode(), when, "text/html; charset=utf-8")
            records[f"warc_{page.kind}"] += 1
            skipped[page.expected] += 1
        builder.exchange("https://example-news.test/static/img/logo.png", _PNG, when,
                         "image/png")
        records["warc_image"] += 1
        skipped["read:not_html"] += 1
        builder.exchange("https://example-news.test/world/2024/01/01/removed-story",
                         b"<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>",
                         when, "text/html; charset=utf-8", status="404 Not Found")
        records["warc_404"] += 1
        skipped["read:http_status"] += 1
    exchanges = (len(warc_articles) + len(copies) + len(non_articles) + 2)
    records["warc_request"] = exchanges
    skipped["read:not_response"] += exchanges
    files.append(f"warc/{_WARC_NAME}")

    # JSONL -----------------------------------------------------------------------------------
    lines = []
    for article in jsonl_html:
        fetched = crawl_time(article, rng)
        lines.append({"url": article.url, "html": render_html(article, boilerplate_kb / 2),
                      "fetched_at": _warc_date(fetched)})
        in_order.append(article)
    for index, article in enumerate(jsonl_text):
        record = {"url": article.url, "title": article.title, "text": article_text(article),
                  "published_at": article.published_at.isoformat(),
                  "tags": list(article.tags)}
        if index % 2 == 0:
            record["fetched_at"] = _warc_date(crawl_time(article, rng))
        lines.append(record)
        in_order.append(article)
    records["jsonl_html"], records["jsonl_text"] = len(jsonl_html), len(jsonl_text)
    encoded = [json.dumps(line, ensure_ascii=False) for line in lines]
    broken = json.dumps({"url": "https://example-news.test/cut-off", "html": "<html><body>"
                         "<p>This export line was cut off mid-record"})[:-12]
    encoded.insert(min(1, len(encoded)), broken)
    records["jsonl_broken"] = 1
    dead["read:bad_json"] += 1
    jsonl_path = root / "jsonl" / _JSONL_NAME
    jsonl_path.parent.mkdir(parents=True, exist_ok=True)
    jsonl_path.write_text("\n".join(encoded) + "\n", encoding="utf-8")
    files.append(f"jsonl/{_JSONL_NAME}")

    # Text dumps ------------------------------------------------------------------------------
    (root / "text").mkdir(parents=True, exist_ok=True)
    english = [a for a in text_articles if a.language == "en"]
    if english:  # the raw capture imitates seed 003, an English page: make it the last one
        text_articles.remove(english[0])
        text_articles.append(english[0])
    for index, article in enumerate(text_articles):
        name = f"text/{index:03d}_{hashlib.sha256(article.url.encode()).hexdigest()[:16]}.txt"
        if index == len(text_articles) - 1:
            content = _page_capture(article, rng)  # no date prefix: an undated raw capture
            records["text_capture"] += 1
        else:
            body = article_text(article)
            if index % 2:
                body = body.replace("\n\n", "\n")  # some dumps use single newlines
            content = f" date {article.published_at:%Y-%m-%d} {body}\n"
            records["text_dump"] += 1
        (root / name).write_text(content, encoding="utf-8")
        files.append(name)
        in_order.append(article)

    # HTML files ------------------------------------------------------------------------------
    (root / "html").mkdir(parents=True, exist_ok=True)
    for index, article in enumerate(html_articles):
        html = render_html(article, boilerplate_kb)
        stem = f"html/{_slugify(article.title)[:48]}"
        if index == len(html_articles) - 1:
            name = f"{stem}.html.gz"
            (root / name).write_bytes(gzip.compress(html.encode(), mtime=0))
            records["html_gz"] += 1
        else:
            name = f"{stem}.html"
            (root / name).write_text(html, encoding="utf-8")
            records["html_file"] += 1
        files.append(name)
        in_order.append(article)

    expected_articles = len(in_order)
    expected_read = expected_articles + sum(skipped.values()) + sum(dead.values())
    assert expected_read == sum(records.values()), (expected_read, records)
    return CorpusInfo(
        directory=str(root), files=tuple(files), records=dict(sorted(records.items())),
        expected_read=expected_read, expected_articles=expected_articles,
        expected_skipped=dict(sorted(skipped.items())),
        expected_dead_letters=dict(sorted(dead.items())), articles=tuple(in_order),
        wire_original=wire_original.url, syndicated=tuple(c.url for c in copies))


def _page_capture(article: SampleArticle, rng: random.Random) -> str:
    """A raw page capture as text (like seed 003): display date, glued breadcrumb, the
    headline twice, the body and a related/popular tail."""
    page = LANGUAGE_DATA[article.language]["page"]
    day = (article.published_at + timedelta(days=rng.randint(30, 300))).date()
    crumbs = "".join((page["home"],) + article.section)
    related = [t for t, _ in _teaser_titles(rng, article.language, 5)]
    return "\n".join([
        _display_date(day, article.language), f"{crumbs}{article.title}", "", article.title,
        "", article_text(article), "", page["related"], *related[:3], "", page["popular"],
        *related[3:], ""])


# ---------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m newsflow.pipelines.demo.sample_corpus",
        description="Write a deterministic mixed sample news corpus (WARC, JSONL, text, HTML).")
    parser.add_argument("directory", help="Output directory (created if missing).")
    parser.add_argument("--articles", type=int, default=24, help="Articles to generate.")
    parser.add_argument("--seed", type=int, default=0, help="Random seed.")
    parser.add_argument("--page-kb", type=float, default=56.0, dest="boilerplate_kb",
                        help="KB of page chrome, scripts and styles around each article.")
    args = parser.parse_args(argv)
    try:
        info = write_corpus(args.directory, args.articles, args.seed, args.boilerplate_kb)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(info.as_dict(), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
