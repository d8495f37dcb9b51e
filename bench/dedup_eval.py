"""Labelled evaluation set for near-duplicate detection, and its scoring.

    python -m bench.dedup_eval --events 300 --seed 7 [--mode batch|stream]

Generates synthetic but news-shaped articles (deterministic for a seed) in three groups:

- originals: independent articles about shared events. Several outlets cover each event with
  the same names, places and numbers but their own wording (hard negatives: same event,
  different text; the five seed articles are this case);
- syndicated copies of originals (positives, same label as their original): retitled, dateline
  added or removed, wire credit, trimmed tail, appended "RELATED ARTICLES"/"Most Popular"
  blocks, "Advertisement"/"Read more" lines, light word edits, quote and whitespace style,
  sometimes a copy of a copy;
- more hard negatives: follow-up stories that reuse one paragraph of an earlier article, and
  short briefs of one outlet that all carry the same site footer.

Scores: pairwise precision/recall/F1 over "same cluster" pairs and the adjusted Rand index.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from math import comb

# --------------------------------------------------------------------------------------------
# Vocabulary

FIRST = ("Anna Maria Olga Elena Sofia Yuki Min-jun Ji-woo Amir Fatima Carlos Lucia Pierre "
         "Claire Hans Ingrid Tomasz Agnieszka Kwame Amara Ravi Priya Chen Wei Hiroshi Sergei "
         "Dmitry Natalia Oleksandr Iryna Mehmet Ayse Juan Gabriela David Sarah James Emily "
         "Mohammed Leila Ivan Kofi Thabo Nomvula Arjun Mei Jorge Ana Henrik Astrid").split()
LAST = ("Kim Park Lee Tanaka Sato Petrov Ivanova Kovalenko Shevchenko Nowak Kowalski Schmidt "
        "Muller Dubois Martin Rossi Bianchi Garcia Lopez Silva Santos Okafor Mensah Diallo "
        "Khan Sharma Patel Singh Wang Zhang Liu Yilmaz Demir Hassan Haddad Novak Horvat "
        "Andersen Larsen Johansson Murphy Walsh Cohen Levi Nguyen Tran Ramos Mendes").split()
ROLES = ("prime minister", "foreign minister", "defence minister", "finance minister",
         "president", "mayor", "regional governor", "central bank governor", "chief executive",
         "spokesperson", "police chief", "health minister", "opposition leader",
         "trade minister", "energy minister", "army chief", "interior minister")
PLACES = (("Seoul", "South Korea"), ("Tokyo", "Japan"), ("Vladivostok", "Russia"),
          ("Kyiv", "Ukraine"), ("Warsaw", "Poland"), ("Berlin", "Germany"),
          ("Paris", "France"), ("Madrid", "Spain"), ("Lisbon", "Portugal"),
          ("Lagos", "Nigeria"), ("Nairobi", "Kenya"), ("Accra", "Ghana"),
          ("Mumbai", "India"), ("Dhaka", "Bangladesh"), ("Jakarta", "Indonesia"),
          ("Manila", "the Philippines"), ("Hanoi", "Vietnam"), ("Ankara", "Turkey"),
          ("Cairo", "Egypt"), ("Lima", "Peru"), ("Bogota", "Colombia"),
          ("Santiago", "Chile"), ("Toronto", "Canada"), ("Sydney", "Australia"),
          ("Oslo", "Norway"), ("Athens", "Greece"), ("Bucharest", "Romania"),
          ("Tbilisi", "Georgia"), ("Karachi", "Pakistan"), ("Taipei", "Taiwan"))
ORGS = ("the United Nations", "the European Union", "the World Bank", "the IMF", "NATO",
        "the African Union", "the Red Cross", "the World Health Organization", "OPEC",
        "the Asian Development Bank", "the International Energy Agency", "Amnesty International")
COMPANIES = ("Hanwa Heavy Industries", "Nordlys Energy", "Meridian Motors", "Caspian Steel",
             "Atlas Shipping", "Solvik Pharma", "Kestrel Aerospace", "Baltic Rail",
             "Orion Telecom", "Pacifica Foods", "Vantor Mining", "Helix Semiconductors")

EVENTS = {
    "summit": dict(noun=("summit", "meeting", "talks", "visit"),
                   verb=("met", "held talks with", "hosted", "sat down with"),
                   topic=("military cooperation", "trade", "energy supplies", "sanctions",
                          "a new security pact", "grain exports", "border disputes")),
    "quake": dict(noun=("earthquake", "quake", "tremor", "disaster"),
                  verb=("struck", "hit", "shook", "rocked"),
                  topic=("rescue efforts", "aftershocks", "damaged buildings",
                         "emergency shelters", "power outages", "relief supplies")),
    "fire": dict(noun=("fire", "blaze", "explosion", "inferno"),
                 verb=("tore through", "engulfed", "destroyed", "gutted"),
                 topic=("safety violations", "the cause of the fire", "chemical storage",
                        "emergency exits", "compensation for families", "an inquiry")),
    "election": dict(noun=("election", "vote", "ballot", "runoff"),
                     verb=("won", "claimed victory in", "conceded", "contested"),
                     topic=("turnout", "the economy", "corruption", "coalition talks",
                            "vote counting", "campaign promises")),
    "strike": dict(noun=("strike", "walkout", "industrial action", "stoppage"),
                   verb=("halted", "disrupted", "paralysed", "shut down"),
                   topic=("wages", "pension reform", "working hours", "inflation",
                          "union demands", "negotiations")),
    "deal": dict(noun=("deal", "merger", "takeover", "acquisition"),
                 verb=("agreed to buy", "announced a merger with", "took over",
                       "signed a deal with"),
                 topic=("market share", "job cuts", "regulatory approval", "share prices",
                        "debt financing", "competition concerns")),
    "storm": dict(noun=("storm", "typhoon", "cyclone", "floods"),
                  verb=("battered", "swept across", "flooded", "lashed"),
                  topic=("evacuations", "crop losses", "landslides", "flight cancellations",
                         "damaged roads", "school closures")),
    "launch": dict(noun=("launch", "rocket launch", "missile test", "satellite launch"),
                   verb=("launched", "fired", "tested", "sent up"),
                   topic=("regional security", "space ambitions", "international condemnation",
                          "rocket technology", "an emergency meeting", "surveillance")),
    "court": dict(noun=("ruling", "verdict", "court decision", "judgment"),
                  verb=("overturned", "upheld", "struck down", "suspended"),
                  topic=("press freedom", "land rights", "an appeal", "the constitution",
                         "election law", "detention conditions")),
}
ADJ = ("key", "major", "controversial", "long-awaited", "unprecedented", "fragile", "deadly",
       "sweeping", "rare", "tense", "high-profile", "surprise", "landmark", "bitter",
       "cautious", "growing", "sharp", "modest", "fresh", "urgent", "broad", "limited",
       "official", "secret", "public", "regional", "national", "international", "early",
       "late", "heavy", "slow", "rapid", "temporary", "permanent", "historic", "routine")
NOUNS = ("officials", "residents", "analysts", "diplomats", "workers", "investors", "lawmakers",
         "rescuers", "witnesses", "experts", "critics", "voters", "farmers", "students",
         "doctors", "engineers", "traders", "soldiers", "activists", "neighbours", "families",
         "executives", "regulators", "prosecutors", "observers", "volunteers", "pilots")
THINGS = ("plans", "concerns", "questions", "warnings", "demands", "measures", "reports",
          "figures", "rules", "talks", "protests", "doubts", "hopes", "promises", "fears",
          "claims", "efforts", "costs", "delays", "risks", "tensions", "prices", "supplies")
VERBS_SAY = ("said", "told reporters", "said in a statement", "wrote on social media",
             "told state media", "said at a news conference", "told a briefing",
             "said in an interview", "added", "noted", "insisted", "warned", "confirmed")
VERBS = ("raised", "rejected", "welcomed", "criticised", "discussed", "reviewed", "delayed",
         "approved", "questioned", "backed", "announced", "outlined", "defended", "dismissed",
         "examined", "expanded", "limited", "restored", "suspended", "promised", "demanded",
         "described", "highlighted", "downplayed", "investigated", "tracked", "reported")
ADVERBS = ("quickly", "repeatedly", "publicly", "privately", "briefly", "sharply", "firmly",
           "openly", "again", "formally", "largely", "partly", "already", "still", "later")
TIMES = ("on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday",
         "on Saturday", "on Sunday", "earlier this week", "late on Thursday", "this morning",
         "overnight", "last month", "in recent days", "over the weekend", "hours later")
LINKS = ("but", "and", "while", "although", "as", "after", "even as", "because", "since")
SOURCES = ("officials", "police", "state media", "a spokesperson", "witnesses")
OPENERS = ("However,", "Meanwhile,", "Separately,", "In a statement,", "By contrast,",
           "At the same time,", "Earlier,", "Still,", "For now,", "In response,",
           "According to local media,", "Speaking to reporters,", "Last year,")
PREPS = ("in", "near", "across", "outside", "around", "throughout", "beyond")
AREA = ("the capital", "the region", "the border area", "the industrial zone", "the port",
        "the northern provinces", "the coastal towns", "the city centre", "the suburbs",
        "the main airport", "the old town", "nearby villages", "the financial district")
# British/American and light wording edits that syndication desks make
EDITS = {"defence": "defense", "criticised": "criticized", "paralysed": "paralyzed",
         "neighbours": "neighbors", "centre": "center", "said": "told reporters",
         "officials": "authorities", "quickly": "swiftly", "major": "big", "warned": "cautioned",
         "residents": "locals", "rapid": "fast", "largely": "mostly", "experts": "specialists",
         "announced": "unveiled", "demanded": "called for", "approximately": "about"}

AGENCY_DATELINES = ("{CITY} (AP) — ", "{CITY}, {Country} (AP) — ",
                    "{City}, {mon} {d} (Reuters) - ", "{CITY} (AFP) - ",
                    "{City} (dpa) - ", "{CITY} — ", "{City} : ",
                    "{CITY}, {mon}. {d} (Xinhua) -- ")
WIRE_CREDITS = (" (AP)", " — Reuters", "\n\nReporting by {name}; Editing by {name2}",
                "\n\n© {year} The Associated Press. All rights reserved.",
                "\n\nThis story has been published from a wire agency feed without "
                "modifications to the text.",
                "\n\nThe Associated Press contributed to this report.",
                "\n\nCopyright {year} Agence France-Presse", " — AFP",
                "\n\nBy {name}, Associated Press")
TAIL_BLOCKS = ("RELATED ARTICLES", "Most Popular", "Related Stories", "More from World",
               "You may also like", "Recommended", "Trending Now")
INLINE_JUNK = ("Advertisement", "Read more: {headline}", "ADVERTISEMENT",
               "Sign up for our morning newsletter", "Share this article",
               "Story continues below advertisement", "Also read: {headline}",
               "Follow us on Facebook and Twitter", "Click here to subscribe")
FILLER_SENTENCES = ("The ministry did not immediately respond to a request for comment.",
                    "It was not immediately clear how many people were affected.",
                    "Officials gave no further details.",
                    "The story is developing and will be updated.",
                    "Local television showed footage of the scene.")


@dataclass(frozen=True)
class Event:
    kind: str
    city: str
    country: str
    people: tuple[tuple[str, str], ...]  # (name, role)
    org: str
    company: str
    numbers: tuple[int, ...]
    day: datetime


@dataclass(frozen=True)
class EvalDoc:
    """One labelled document: ``label`` is the id of the story it is a copy of (or its own)."""

    doc_id: str
    label: str
    kind: str  # original | copy | follow_up | brief
    outlet: str
    published_at: datetime | None
    seen_at: datetime  # when a crawler saw it: the event time of the streaming transform
    text: str
    event: str = ""  # the event it reports (stories): one per generated event


# --------------------------------------------------------------------------------------------
# Writing


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def make_event(rng: random.Random, day: datetime) -> Event:
    city, country = rng.choice(PLACES)
    people = tuple((_person(rng), rng.choice(ROLES)) for _ in range(rng.randint(2, 4)))
    return Event(kind=rng.choice(sorted(EVENTS)), city=city, country=country, people=people,
                 org=rng.choice(ORGS), company=rng.choice(COMPANIES),
                 numbers=tuple(rng.randint(3, 900) for _ in range(3)), day=day)


class _Writer:
    """Produces sentences about one event in one outlet's random wording."""

    def __init__(self, event: Event, rng: random.Random):
        self.e, self.rng = event, rng
        self.vocab = EVENTS[event.kind]

    def _np(self) -> str:
        r, e = self.rng, self.e
        choice = r.random()
        if choice < 0.25:
            name, role = r.choice(e.people)
            return r.choice((f"{name}", f"{e.country}'s {role}, {name},", f"the {role}",
                             f"{name.split()[-1]}", f"{role} {name}"))
        if choice < 0.35:
            return r.choice((e.org, e.company, f"the government of {e.country}",
                             f"authorities in {e.city}"))
        if choice < 0.5:
            return f"the {r.choice(ADJ)} {r.choice(self.vocab['noun'])}"
        return f"{r.choice(('many', 'some', 'several', 'local', 'foreign', 'senior', 'the'))} " \
               f"{r.choice(NOUNS)}"

    def _object(self) -> str:
        r = self.rng
        return r.choice((f"{r.choice(('the', 'new', 'further', 'fresh'))} {r.choice(ADJ)} "
                         f"{r.choice(THINGS)} over {r.choice(self.vocab['topic'])}",
                         f"{r.choice(self.vocab['topic'])}",
                         f"the {r.choice(THINGS)} of {r.choice(NOUNS)} {r.choice(PREPS)} "
                         f"{r.choice(AREA)}",
                         f"{r.choice(('its', 'their', 'his', 'her'))} {r.choice(THINGS)}"))

    def _clause(self) -> str:
        r = self.rng
        parts = [self._np()]
        if r.random() < 0.3:
            parts.append(r.choice(ADVERBS))
        parts.append(r.choice(VERBS))
        parts.append(self._object())
        if r.random() < 0.5:
            parts.append(r.choice(TIMES))
        if r.random() < 0.35:
            parts.append(f"{r.choice(PREPS)} {r.choice(AREA)}")
        return " ".join(parts)

    def sentence(self) -> str:
        r, e = self.rng, self.e
        kind = r.random()
        if kind < 0.15:
            name, role = r.choice(e.people)
            text = (f"\"{self._clause().capitalize()}, {r.choice(LINKS)} {self._clause()},\" "
                    f"{name.split()[-1]} {r.choice(VERBS_SAY)}")
        elif kind < 0.3:
            n = r.choice(e.numbers)
            text = (f"{r.choice(('At least', 'Nearly', 'More than', 'About', 'Some'))} {n} "
                    f"{r.choice(NOUNS)} {r.choice(VERBS)} {self._object()} "
                    f"{r.choice(TIMES)}, {r.choice(SOURCES)} "
                    f"{r.choice(VERBS_SAY)}")
        elif kind < 0.42:
            text = (f"The {r.choice(self.vocab['noun'])} {r.choice(self.vocab['verb'])} "
                    f"{r.choice(AREA)} of {e.city} {r.choice(TIMES)}, "
                    f"{r.choice(LINKS)} {self._clause()}")
        elif kind < 0.55:
            text = f"{r.choice(OPENERS)} {self._clause()}"
        else:
            text = self._clause()
            if r.random() < 0.6:
                text += f", {r.choice(LINKS)} {self._clause()}"
        return text[0].upper() + text[1:] + "."

    def lead(self) -> str:
        r, e = self.rng, self.e
        name, role = e.people[0]
        return (f"{role.capitalize()} {name} {r.choice(self.vocab['verb'])} "
                f"{r.choice(('a', 'the'))} {r.choice(ADJ)} {r.choice(self.vocab['noun'])} in "
                f"{e.city}, {e.country}, {r.choice(TIMES)}, {r.choice(LINKS)} {self._clause()}.")

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(2, 4)))

    def headline(self) -> str:
        r, e = self.rng, self.e
        return (f"{e.people[0][0].split()[-1]} {r.choice(self.vocab['verb'])} "
                f"{r.choice(ADJ)} {r.choice(self.vocab['noun'])} in {e.city}")


def official_statement(event: Event) -> str:
    """The statement every outlet covering ``event`` may quote verbatim (shared wording)."""
    writer = _Writer(event, random.Random(f"{event.city}{event.people}{event.day}"))
    name, role = event.people[-1]
    return (f"\"{writer._clause().capitalize()}, {writer.rng.choice(LINKS)} "
            f"{writer._clause()},\" the {role}, {name}, said in a statement.")


def write_article(event: Event, rng: random.Random, paragraphs: tuple[int, int] = (8, 14)
                  ) -> str:
    """An independent article about ``event``: shared facts, its own wording, and often the
    same quoted official statement as the other outlets."""
    writer = _Writer(event, rng)
    count = rng.randint(*paragraphs)
    body = [writer.lead() + " " + writer.sentence()] + [writer.paragraph()
                                                        for _ in range(count - 1)]
    if rng.random() < 0.7:
        body.insert(rng.randint(1, 3), official_statement(event))
    return "\n\n".join(body)


def write_brief(event: Event, rng: random.Random) -> str:
    """A short item (60-150 words): the kind of text where a site footer weighs most."""
    writer = _Writer(event, rng)
    return "\n\n".join([writer.lead()] + [writer.sentence() for _ in range(rng.randint(2, 5))])


def site_footer(rng: random.Random, outlet: str) -> str:
    """An outlet's own boilerplate paragraph, unknown to any boilerplate rule."""
    writer = _Writer(make_event(rng, datetime(2024, 1, 1, tzinfo=UTC)), rng)
    return (f"{outlet} is an independent newsroom covering {writer._object()} and "
            f"{writer._object()}. {writer.sentence()} {writer.sentence()} Our journalists "
            f"work from {rng.choice(PLACES)[0]} and {rng.choice(PLACES)[0]}.")


# --------------------------------------------------------------------------------------------
# Syndication edits


def _edit_words(text: str, rng: random.Random, rate: float) -> str:
    words = text.split(" ")
    for index, word in enumerate(words):
        bare = word.strip(".,\"'")
        if bare in EDITS and rng.random() < rate * 8:
            words[index] = word.replace(bare, EDITS[bare])
        elif rng.random() < rate * 0.3 and len(bare) > 3:
            words[index] = word.replace(bare, rng.choice(ADJ + THINGS))
    return " ".join(words)


def _curly_quotes(text: str) -> str:
    out, opened = [], False
    for char in text:
        if char == '"':
            out.append("\u201d" if opened else "\u201c")
            opened = not opened
        elif char == "'":
            out.append("\u2019")
        else:
            out.append(char)
    return "".join(out)


def syndicate(text: str, event: Event, rng: random.Random) -> str:
    """A re-syndicated copy: the edits copy desks and aggregators make to a wire story."""
    paragraphs = text.split("\n\n")
    writer = _Writer(event, rng)
    if rng.random() < 0.4 and len(paragraphs) > 4:  # trimmed tail, at most a third
        keep = len(paragraphs) - rng.randint(1, max(1, len(paragraphs) // 3))
        paragraphs = paragraphs[:keep]
    if rng.random() < 0.6:  # light word edits
        paragraphs = [_edit_words(p, rng, rng.uniform(0.005, 0.02)) for p in paragraphs]
    if rng.random() < 0.2:  # one sentence dropped
        index = rng.randrange(len(paragraphs))
        sentences = paragraphs[index].split(". ")
        if len(sentences) > 1:
            sentences.pop(rng.randrange(len(sentences)))
            paragraphs[index] = ". ".join(sentences)
    if rng.random() < 0.2:
        paragraphs.insert(rng.randint(1, len(paragraphs)), rng.choice(FILLER_SENTENCES))
    if rng.random() < 0.3:
        for _ in range(rng.randint(1, 3)):
            paragraphs.insert(rng.randint(1, len(paragraphs)),
                              rng.choice(INLINE_JUNK).format(headline=writer.headline()))
    if rng.random() < 0.5:  # dateline added (or, if one is there, replaced)
        day = event.day
        paragraphs[0] = rng.choice(AGENCY_DATELINES).format(
            CITY=event.city.upper(), City=event.city, Country=event.country,
            mon=day.strftime("%b"), d=day.day) + paragraphs[0]
    if rng.random() < 0.4:
        paragraphs[-1] += rng.choice(WIRE_CREDITS).format(
            name=_person(rng), name2=_person(rng), year=event.day.year)
    if rng.random() < 0.35:  # retitled: a new headline on top, sometimes twice
        headline = writer.headline()
        paragraphs = [headline] * rng.choice((1, 1, 2)) + paragraphs
    if rng.random() < 0.35:
        block = [rng.choice(TAIL_BLOCKS)] + [writer.headline() for _ in range(rng.randint(2, 4))]
        if rng.random() < 0.5:
            block += ["Most Popular"] + [writer.headline() for _ in range(3)]
        paragraphs += block
    text = "\n\n".join(paragraphs)
    if rng.random() < 0.5:
        text = _curly_quotes(text)
    if rng.random() < 0.3:
        text = text.replace("\n\n", "\n")
    if rng.random() < 0.2:
        text = text.replace(" ", "\u00a0", rng.randint(1, 20)).replace(". ", ".  ")
    return text


# --------------------------------------------------------------------------------------------
# The data set


def generate_eval_set(events: int = 40, seed: int = 7) -> list[EvalDoc]:
    """A deterministic labelled set; about 8 documents per event, 24 outlets or one per 5 events.

    Per event: 1-4 independent outlet articles (distinct labels), 0-6 syndicated copies of
    each (copies of copies too), sometimes a follow-up reusing one paragraph, and briefs from
    outlets that append one shared site footer to all their articles.
    """
    rng = random.Random(seed)
    # more documents come from more outlets (about 40 documents per outlet at scale), so
    # per-site boilerplate stays a per-site cost, as it is in real crawls
    outlets = [f"outlet{n:02d}" for n in range(max(24, events // 5))]
    footers = {outlet: site_footer(rng, outlet) for outlet in outlets[: len(outlets) // 3]}
    docs: list[EvalDoc] = []
    start = datetime(2024, 3, 1, tzinfo=UTC)

    def add(label: str | None, kind: str, outlet: str, published_at, text: str) -> EvalDoc:
        if outlet in footers:
            text = f"{text}\n\n{footers[outlet]}"
        doc_id = f"d{len(docs):06d}"
        seen_at = published_at + timedelta(minutes=rng.randint(1, 180))
        doc = EvalDoc(doc_id, label or doc_id, kind, outlet,
                      published_at if rng.random() > 0.08 else None, seen_at, text,
                      f"event{index}")
        docs.append(doc)
        return doc

    for index in range(events):
        day = start + timedelta(hours=index * 7 + rng.randint(0, 6))
        event = make_event(rng, day)
        originals = []
        for outlet in rng.sample(outlets, rng.randint(1, 4)):
            when = day + timedelta(minutes=rng.randint(0, 600))
            text = write_article(event, rng)
            originals.append((add(None, "original", outlet, when, text), text, when))
        for original, text, when in originals:
            copies = [text]
            for _ in range(min(6, int(rng.expovariate(0.45)))):
                source = rng.choice(copies) if rng.random() < 0.25 else text
                copy = syndicate(source, event, rng)
                copies.append(copy)
                add(original.label, "copy", rng.choice(outlets),
                    when + timedelta(minutes=rng.randint(-120, 2880)), copy)
            if rng.random() < 0.25:  # follow-up: new story reusing one paragraph
                follow = write_article(event, rng, (4, 7)).split("\n\n")
                reused = rng.choice(text.split("\n\n")[1:])
                follow.insert(rng.randint(1, len(follow)), reused)
                add(None, "follow_up", original.outlet, when + timedelta(days=1),
                    "\n\n".join(follow))
        if rng.random() < 0.5:
            outlet = rng.choice(sorted(footers))
            add(None, "brief", outlet, day + timedelta(minutes=rng.randint(0, 300)),
                write_brief(event, rng))
    return docs


def make_article(article_id: str, text: str, published_at: datetime | None = None,
                 url: str | None = None, domain: str = "example.org"):
    """A minimal :class:`newsflow.schemas.records.Article` row around a text (for Beam runs)."""
    from newsflow.schemas.records import Article

    return Article(
        article_id=article_id, url=url or f"https://{domain}/{article_id}",
        domain=domain, title=None, text=text, published_at=published_at,
        date_source="archive_record" if published_at else None, fetched_at=None,
        language="en", language_prob=None, wire=None, dateline=None, authors=(), tags=(),
        site_name=None, content_hash=article_id, source_format="jsonl",
        source_ref=f"eval.jsonl:{article_id}", feed_url=None, versions=(),
        ingested_at=datetime(2024, 6, 1, tzinfo=UTC), schema_version=3)


def as_article(doc: EvalDoc):
    return make_article(doc.doc_id, doc.text, doc.published_at, domain=site_of_outlet(doc))


# --------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class PairScores:
    precision: float
    recall: float
    f1: float
    ari: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int


def pairwise_scores(truth: Sequence[str], predicted: Sequence[str]) -> PairScores:
    """Pairwise P/R/F1 over "same cluster" pairs and the adjusted Rand index."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predicted differ in length")
    joint = Counter(zip(truth, predicted, strict=True))
    correct = sum(comb(n, 2) for n in joint.values())
    true_pairs = sum(comb(n, 2) for n in Counter(truth).values())
    predicted_pairs = sum(comb(n, 2) for n in Counter(predicted).values())
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    total = comb(len(truth), 2)
    expected = true_pairs * predicted_pairs / total if total else 0.0
    maximum = (true_pairs + predicted_pairs) / 2
    ari = (correct - expected) / (maximum - expected) if maximum != expected else 1.0
    return PairScores(precision, recall, f1, ari, true_pairs, predicted_pairs, correct)


def site_of_outlet(doc: EvalDoc) -> str:
    """An outlet's site (a domain): real docs carry one, generated outlets get one."""
    return doc.outlet if "." in doc.outlet else f"{doc.outlet}.example"


def predict(docs: Iterable[EvalDoc], mode: str = "batch", config=None) -> dict[str, str]:
    """doc_id -> predicted cluster id, by the in-memory twin of the batch or streaming transform."""
    from newsflow.transforms.dedup import (
        batch_order_key,
        deduplicate_records,
        deduplicate_stream_records,
    )

    docs = list(docs)
    if mode == "batch":
        resolutions, _ = deduplicate_records(
            ((d.doc_id, batch_order_key(d.published_at, d.doc_id), d.text, site_of_outlet(d))
             for d in docs), config)
    elif mode == "stream":
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        resolutions, _ = deduplicate_stream_records(
            ((d.doc_id, (d.seen_at - epoch) // timedelta(microseconds=1), d.text,
              site_of_outlet(d)) for d in docs), config)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    return {doc_id: cluster for doc_id, (cluster, _) in resolutions.items()}


def evaluate(docs: Sequence[EvalDoc], mode: str = "batch", config=None) -> PairScores:
    """Scores of one mode on a generated set (the cluster a row names is its prediction)."""
    predicted = predict(docs, mode, config)
    return pairwise_scores([d.label for d in docs], [predicted[d.doc_id] for d in docs])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=300, help="Events to generate.")
    parser.add_argument("--seed", type=int, default=7, help="Generator seed.")
    parser.add_argument("--mode", choices=("batch", "stream"), default="batch",
                        help="Which transform's semantics to score.")
    parser.add_argument("--dump", help="Write the generated set as JSONL to this path.")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    docs = generate_eval_set(args.events, args.seed)
    generated = time.perf_counter()
    scores = evaluate(docs, args.mode)
    kinds = Counter(d.kind for d in docs)
    print(f"documents: {len(docs)} ({dict(kinds)}), stories: {len({d.label for d in docs})}, "
          f"generated in {generated - started:.1f}s, scored in "
          f"{time.perf_counter() - generated:.1f}s")
    print(json.dumps({"mode": args.mode, "events": args.events, "seed": args.seed,
                      **{k: round(v, 4) if isinstance(v, float) else v
                         for k, v in scores.__dict__.items()}}))
    if args.dump:
        with open(args.dump, "w", encoding="utf-8") as out:
            for d in docs:
                out.write(json.dumps({"id": d.doc_id, "label": d.label, "kind": d.kind,
                                      "outlet": d.outlet, "published_at": d.published_at and
                                      d.published_at.isoformat(), "text": d.text}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
