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

    python -m newsflow.pipelines.sample_corpus OUTDIR --articles 24 --seed 0

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
# Language data. Each topic: main subjects ("items"), roles, organisations, headlines, ledes,
# body sentences and quotes. Generic sentences work for every topic.

TOPICS = ("politics", "economy", "defence", "science", "sport", "health", "technology")

_EN = {
    "first": ("James", "Maria", "David", "Sarah", "Thomas", "Laura", "Daniel", "Emma", "Michael",
              "Olivia", "Robert", "Grace", "Samuel", "Hannah", "Peter", "Claire", "Andrew",
              "Rachel", "Martin", "Helen", "Jonathan", "Alice", "Benjamin", "Ruth", "Oliver",
              "Naomi", "Patrick", "Fiona", "Edward", "Julia", "Marcus", "Irene", "Victor",
              "Diane", "Simon", "Nadia", "George", "Teresa", "Luke", "Miriam"),
    "last": ("Hartley", "Okafor", "Brennan", "Whitmore", "Castellano", "Lindqvist", "Ashworth",
             "Mbeki", "Fairbanks", "Holloway", "Nakamura", "Pemberton", "Sandoval", "Kowalczyk",
             "Ellison", "Rutherford", "Adeyemi", "Calloway", "Thornbury", "Delacroix", "Keane",
             "Varga", "Sutherland", "Moreau", "Haldane", "Osei", "Prescott", "Lundgren",
             "Marlowe", "Iwasaki", "Gallagher", "Abernathy", "Rasmussen", "Quimby", "Novak",
             "Stratton", "Bellamy", "Tanaka", "Whitfield", "Carrow"),
    "places": (("Washington", "the United States", "WASHINGTON"),
               ("London", "Britain", "LONDON"), ("Brussels", "Belgium", "BRUSSELS"),
               ("Berlin", "Germany", "BERLIN"), ("Paris", "France", "PARIS"),
               ("Madrid", "Spain", "MADRID"), ("Tokyo", "Japan", "TOKYO"),
               ("Seoul", "South Korea", "SEOUL"), ("Nairobi", "Kenya", "NAIROBI"),
               ("Geneva", "Switzerland", "GENEVA"), ("Rome", "Italy", "ROME"),
               ("Sydney", "Australia", "SYDNEY"), ("Ottawa", "Canada", "OTTAWA"),
               ("Mexico City", "Mexico", "MEXICO CITY"), ("Cairo", "Egypt", "CAIRO"),
               ("New Delhi", "India", "NEW DELHI"), ("Warsaw", "Poland", "WARSAW"),
               ("Lisbon", "Portugal", "LISBON"), ("Vienna", "Austria", "VIENNA"),
               ("Buenos Aires", "Argentina", "BUENOS AIRES"), ("Jakarta", "Indonesia",
                                                                "JAKARTA"),
               ("Austin", "the United States", "AUSTIN, Texas"),
               ("Denver", "the United States", "DENVER"),
               ("Chicago", "the United States", "CHICAGO"),
               ("Manchester", "Britain", "MANCHESTER"), ("Oslo", "Norway", "OSLO"),
               ("Dublin", "Ireland", "DUBLIN"), ("Athens", "Greece", "ATHENS"),
               ("Accra", "Ghana", "ACCRA"), ("Manila", "the Philippines", "MANILA")),
    "weekdays": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "months": ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"),
    "wires": ("AP", "Reuters", "AFP"),
    "topics": {
        "politics": {
            "section": ("Politics",),
            "items": ("pension reform", "housing bill", "electoral reform package",
                      "budget for next year", "anti-corruption law", "migration agreement",
                      "regional devolution plan", "public sector pay deal", "climate bill",
                      "judicial reform", "minimum wage law", "rent control measure"),
            "roles": ("Prime Minister", "Interior Minister", "opposition leader",
                      "Deputy Prime Minister", "Justice Minister", "Senator", "party chair",
                      "Foreign Minister", "Speaker"),
            "orgs": ("the ruling coalition", "the Progressive Alliance",
                     "the National Renewal party", "the Civic Union", "the Green Federation",
                     "the Labour and Farmers bloc", "the Liberal Forum",
                     "the Centre Democrats"),
            "titles": ("{p1_last} [wins|survives|loses] [key|crucial] vote on {item}",
                       "{country} lawmakers [delay|back|reject] {item} [after marathon debate|"
                       "amid protests|in late-night session]",
                       "Coalition [rift|row] [deepens|widens] over {item}",
                       "Thousands [march|protest|rally] in {city} against {item}",
                       "What the {item} means for voters in {country}",
                       "{org_cap} threatens to quit government over {item}"),
            "ledes": (
                "{p1_role} {p1} [won|secured|narrowly won] a [crucial|key|closely watched] vote "
                "on the {item} in {city} on {weekday}, [ending|capping] {n} [weeks|months] of "
                "[bitter|tense|protracted] negotiations [with|inside] {org}.",
                "Lawmakers in {country} [voted|moved] on {weekday} to [delay|reject|approve] "
                "the {item}, [dealing a blow to|handing a victory to] {p1_role} {p1} "
                "[ahead of|months before] [regional|national|local] elections.",
                "{org} [said|announced] on {weekday} it would [leave|withdraw from] the governing "
                "coalition [unless|until] the {item} [is rewritten|is put to a referendum|"
                "is withdrawn], [plunging|throwing] {country} into [fresh|renewed] political "
                "uncertainty.",
                "Thousands of [protesters|demonstrators] [marched|rallied] through [central|"
                "downtown] {city} on {weekday} against the {item}, as {p1_role} {p1} "
                "[insisted|vowed] the government would not [back down|change course].",
                "{p1_role} {p1} [unveiled|presented] a [long-awaited|revised|slimmed-down] "
                "{item} on {weekday}, [promising|pledging] that it would [cut costs|raise "
                "living standards|restore public trust] [by {year}|within {n} years]."),
            "body": (
                "The [proposal|bill|plan] [would|is expected to] [affect|cover] [about|roughly|"
                "more than] {big} [households|public employees|voters|families], according to "
                "[figures|estimates] from {org2}.",
                "[Critics|Opponents] [say|argue] the {item} was [rushed through|drafted] "
                "[without|with little] [proper|public] consultation and [favours|benefits] "
                "[large cities|wealthier regions|incumbents].",
                "{p2_role} {p2} [called|described] the [vote|decision|plan] [a betrayal of "
                "voters|a historic mistake|a step in the right direction] and [demanded|called "
                "for] [an independent review|early elections|a parliamentary inquiry].",
                "The coalition holds {seats} of the {seats_total} seats in [parliament|the lower "
                "house|the assembly], a [slim|fragile|comfortable] majority that has been "
                "[tested|shaken] [repeatedly|twice] [this year|since the last election].",
                "[Recent|Several] [polls|surveys] [put|show] [support for|opposition to] the "
                "{item} at {pct}, [down|up] from {pct2} in {month}.",
                "[Committee|Parliamentary] [debate|hearings] on the [measure|text] [lasted|ran "
                "for] [more than|nearly] {n2} hours and [included|featured] [over|about] {n3} "
                "amendments.",
                "[Officials|Aides] close to {p1_last} said [privately|on condition of anonymity] "
                "that a [cabinet reshuffle|compromise|delay] [was being discussed|could come "
                "within weeks|had not been ruled out].",
                "The [dispute|row|standoff] [has exposed|reflects] [deep|long-running] "
                "[divisions|tensions] [between|within] the [governing parties|coalition "
                "partners] over [spending|regional autonomy|immigration|taxes].",
                "[At|In] a [news conference|televised address|rally] in {city2}, {p1_last} "
                "[said|told supporters] the country could not [afford|accept] [further "
                "delays|another year of deadlock].",
                "The [upper house|senate|constitutional court] [is expected to|must still] "
                "[review|rule on] the [law|measure] [before|by] {month}.",
                "Turnout in the [last|previous] [general|national] election was {pct}, the "
                "[lowest|highest] in {n} [years|decades].",
                "[Under|According to] the [draft|latest version], [ministries|local councils] "
                "would have to [publish|report] [their spending|contracts above {money_small}] "
                "[every quarter|twice a year]."),
            "quotes": (
                "We have listened to people [across|all over] the country, and this [plan|bill] "
                "reflects what they told us",
                "This is not the end of the [debate|discussion], it is the beginning",
                "[Voters|People] did not elect us to [play games|argue among ourselves], they "
                "elected us to [govern|deliver]",
                "The [government|coalition] has [run out of ideas|lost its way] and [everyone|"
                "the whole country] can see it",
                "We will [keep fighting|not give up] until [every|each] [vote|household] "
                "counts"),
        },
        "economy": {
            "section": ("Business",),
            "items": ("interest rate decision", "quarterly growth figures", "inflation report",
                      "trade agreement", "tax overhaul", "bank merger", "factory closure",
                      "export forecast", "energy price cap", "jobs report", "bond sale",
                      "steel tariff"),
            "roles": ("Finance Minister", "central bank governor", "chief economist",
                      "Economy Minister", "chief executive", "Trade Minister",
                      "union leader"),
            "orgs": ("Northbridge Capital", "Helvion Group", "Castellan Steel",
                     "Meridian Logistics", "the national statistics office",
                     "the central bank", "Arkwright Energy", "Solvane Retail",
                     "the chamber of commerce", "Brightwater Bank"),
            "titles": ("{country_cap} [economy|output] [grows|shrinks|stalls] as [exports|"
                       "consumer spending|investment] [surprise|disappoint]",
                       "{org_cap} [shares|stock] [jump|slide|tumble] after {item}",
                       "Inflation [eases|accelerates] to {pct} in {country}",
                       "{p1_last} [defends|signals shift in] {item}",
                       "[Investors|Markets] [brace for|shrug off] {item}"),
            "ledes": (
                "The economy of {country} [grew|expanded|contracted] by {pct} in the [first|"
                "second|third|fourth] quarter, official figures showed on {weekday}, [beating|"
                "missing] "
                "[forecasts|expectations] of [economists|analysts] [polled|surveyed] by {org2}.",
                "{p1_role} {p1} [defended|stood by] the {item} on {weekday}, saying [higher|"
                "lower] [borrowing costs|prices] were [needed|unavoidable] to [cool|support] "
                "an economy still [struggling|adjusting] after {n} [years|quarters] of [weak|"
                "uneven] growth.",
                "Shares in {org} [jumped|fell|slid] {pct} in {city} on {weekday} after the "
                "company [announced|confirmed] a [restructuring plan|cost-cutting programme] "
                "that could [put|place] {big} jobs [at risk|under review].",
                "[Consumer prices|Prices] in {country} rose {pct} in {month} from a year "
                "earlier, [official data|the statistics office] [released|published] on "
                "{weekday} showed, [easing|adding to the] pressure on {p1_role} {p1}.",
                "{org} [agreed|announced] on {weekday} a {money} [takeover|investment "
                "programme], [its largest|the biggest] [deal|move] since {year0}, [betting|"
                "wagering] that demand in {country} will [recover|hold up]."),
            "body": (
                "[Economists|Analysts] at {org2} [had expected|had forecast] a [rise|reading] "
                "of {pct2}, [citing|pointing to] [weak|strong] [exports|consumer spending|"
                "investment] [in|during] {month}.",
                "[Unemployment|The jobless rate] [stood at|held at|edged up to] {pct}, "
                "[with|and] [about|some] {big} people [looking for work|out of work].",
                "The [deal|plan|measure] is [worth|valued at] {money} and [would|could] "
                "[take|need] [up to|about] {n} [months|years] to [complete|implement].",
                "[Energy|Food|Housing] costs [remained|were] the [biggest|main] [driver|"
                "source] of [price|cost] [pressure|increases], [rising|climbing] {pct2} "
                "[on the year|year on year].",
                "{p2_role} {p2} [warned|cautioned] that [households|small businesses] [were|"
                "remained] [stretched|under pressure] and [urged|called on] the government to "
                "[extend|widen] [support|relief] [schemes|measures].",
                "The [currency|bond market] [barely moved|reacted calmly|swung sharply] [after|"
                "on] the [news|announcement], [trading|ending] [near|at] [its|a] [two-month|"
                "six-week|one-year] [high|low].",
                "{org} [employs|has] [about|around|more than] {big} people [in|across] {n} "
                "[countries|plants|sites], [most of them|half of them] in {country}.",
                "[Trade unions|Workers' representatives] [said|warned] they would [oppose|"
                "resist|challenge] [any|the] [job cuts|closures] [in court|through strikes|"
                "at the negotiating table].",
                "[Exports|Orders] [to|from] {country2} [fell|rose] {pct2} [in|over] the [same "
                "period|quarter], [reflecting|mirroring] [slower|stronger] demand [abroad|"
                "in Asia|in Europe].",
                "The central bank [kept|raised|cut] its [main|benchmark] rate [at|to] {rate} "
                "[at its|during its] [last|most recent] meeting in {month}.",
                "[The|A] [forecast|projection] [published|issued] by {org2} [sees|expects] "
                "growth of {pct} [next year|in {year}], [slightly|well] [below|above] the "
                "[long-term|historical] average."),
            "quotes": (
                "[The numbers|The figures|These data] [show|confirm] that the [worst|hardest "
                "part] is [behind us|not over yet]",
                "We [cannot|will not] [let|allow] inflation [become|turn into] a [permanent|"
                "lasting] [feature|problem] of [our|this] economy",
                "[Companies|Firms] need [certainty|clarity] before they [invest|hire] "
                "[again|at scale]",
                "[This|The] decision was [difficult|painful] but [necessary|unavoidable] for "
                "the [future|long-term health] of the company"),
        },
        "defence": {
            "section": ("World", "Europe"),
            "items": ("military exercise", "arms deal", "defence budget", "border deployment",
                      "missile test", "naval patrol", "air defence upgrade",
                      "conscription plan", "weapons programme", "peacekeeping mission"),
            "roles": ("Defence Minister", "General", "military spokesperson",
                      "Chief of Staff", "Admiral", "security adviser"),
            "orgs": ("the defence ministry", "NATO", "the joint chiefs", "Valmont Aerospace",
                     "the coast guard", "the army", "the air force",
                     "the national security council", "Stirling Defence Systems"),
            "titles": ("{country_cap} [announces|launches|expands] military drills near "
                       "border",
                       "{p1_last} [signs|defends] {item}",
                       "[Allies|Neighbours] [alarmed|concerned] by {item} in {country}",
                       "{org_cap} [confirms|denies] reports of {item}"),
            "ledes": (
                "{country} [began|launched] a [large-scale|week-long|joint] military exercise "
                "[near|along] its [eastern|northern|southern] border on {weekday}, [involving|"
                "with] "
                "[about|more than] {big} troops and {n2} [aircraft|warships].",
                "{p1_role} {p1} [signed|approved] a {money} arms deal on {weekday}, [the "
                "largest|one of the largest] [such deals|purchases] in the history of "
                "{country}.",
                "{org} [said|confirmed] on {weekday} that it had [tracked|detected] a [missile "
                "test|submarine|surveillance drone] [off|near] the coast, [raising|heightening] "
                "tensions in the region.",
                "[Lawmakers|Parliament] in {city} [approved|debated] an [increase|expansion] "
                "of the defence budget on {weekday}, as {p1_role} {p1} [warned|argued] that the "
                "[security situation|threat] had [worsened|changed] [sharply|fundamentally]."),
            "body": (
                "The [exercise|operation|deployment] [is scheduled|is set] to [last|run] "
                "{n} [days|weeks] and [will|would] [include|involve] [live-fire drills|"
                "amphibious landings|air patrols].",
                "{p2_role} {p2} [told reporters|said] the [move|decision] was [purely|entirely] "
                "[defensive|precautionary] and [not aimed at|not directed against] [any|a "
                "particular] country.",
                "[Defence|Military] spending in {country} [has risen|rose] to {pct} of [economic "
                "output|GDP], [up from|compared with] {pct2} [five years ago|in {year0}].",
                "[Satellite images|Photographs] [published|released] by {org2} [appeared|"
                "seemed] to show [new|additional] [launch sites|barracks|hangars] [near|outside] "
                "{city2}.",
                "[Officials|Diplomats] in {city2} [summoned|called in] the [ambassador|envoy] "
                "[to protest|to demand an explanation] [on {weekday}|later that day].",
                "The [contract|agreement] [covers|includes] {n} [fighter jets|air defence "
                "batteries|patrol vessels|armoured vehicles], with [deliveries|the first units] "
                "[expected|due] [by|in] {year}.",
                "[Independent|Outside] [analysts|experts] [questioned|doubted] whether the "
                "[armed forces|military] [had|could find] [enough|sufficient] [personnel|"
                "trained crews] to [operate|maintain] the [new|additional] [equipment|systems].",
                "[No|None of the] [casualties|injuries] were reported, {org2} said, [adding|"
                "noting] that [the situation|the area] [remained|was] [calm|under control]."),
            "quotes": (
                "Our [forces|troops] are [ready|prepared] to [respond|act] to any [provocation|"
                "threat]",
                "[Deterrence|Security] [only works|is only credible] if [it is|we are] "
                "[credible|ready]",
                "We are [watching|following] the situation [very|extremely] [closely|"
                "carefully] with our [allies|partners]"),
        },
        "science": {
            "section": ("Science",),
            "items": ("study of coral reefs", "telescope survey", "fusion experiment",
                      "gene therapy trial", "climate model", "fossil discovery",
                      "lunar mission", "deep-sea expedition", "glacier survey",
                      "quantum computing experiment", "vaccine study"),
            "roles": ("Professor", "lead researcher", "astrophysicist", "biologist",
                      "project scientist", "geologist", "climate scientist"),
            "orgs": ("the University of {city}", "the Halvorsen Institute",
                     "the national space agency", "the Marine Research Centre",
                     "the Institute for Advanced Physics", "the Royal Botanical Society",
                     "the Polar Research Council"),
            "titles": ("[Scientists|Researchers] [report|find] [surprising|new] results in "
                       "{item}",
                       "{item_cap} [reveals|suggests] [more|less] than expected",
                       "{p1_last}'s team [publishes|unveils] {item}",
                       "[Breakthrough|Setback] for {item} in {country}"),
            "ledes": (
                "[Scientists|Researchers] [at|from] {org} [reported|published] [results|"
                "findings] from a {item} on {weekday}, [suggesting|showing] that [changes|"
                "effects] [previously|long] [thought|assumed] to take decades can [happen|"
                "unfold] within {n} years.",
                "A {item} led by {p1_role} {p1} has [found|identified] {n2} [previously "
                "unknown|new] [species|signals|structures], [according to|in] a [paper|study] "
                "[published|released] on {weekday}.",
                "{org} [completed|wrapped up] a {n}-[month|year] {item} on {weekday}, "
                "[gathering|collecting] [more than|about] {big} [samples|measurements|"
                "observations] [from|across] {country}."),
            "body": (
                "The [team|researchers] [analysed|examined] [data|samples] [collected|gathered] "
                "[between|from] {year0} and {year1} at {n} [sites|stations|locations].",
                "[Their|The] [results|findings] [were|have been] [published|accepted] in a "
                "[peer-reviewed|leading] journal and [will|should] be [tested|replicated] by "
                "[other|independent] groups.",
                "{p2_role} {p2}, who was not involved in the [study|work], said the [methods|"
                "approach] [looked|seemed] [sound|robust] but [cautioned|warned] against "
                "[drawing|reading] [broad|sweeping] conclusions.",
                "[Funding|Support] for the [project|work], [about|roughly] {money_small}, "
                "[came from|was provided by] {org2} and [several|two] [private|charitable] "
                "foundations.",
                "[Measurements|Readings] [showed|indicated] a [change|rise] of {pct} [over|"
                "during] the [period|decade], [far|well] [above|beyond] [earlier|previous] "
                "[estimates|models].",
                "The [next|second] phase of the [project|mission] [is planned|is scheduled] "
                "for {year} and [will|would] [involve|require] [new|larger] [instruments|"
                "vessels|detectors].",
                "[Samples|Specimens] [will be|are being] [stored|archived] at {org2} so that "
                "[other|future] [scientists|teams] can [study|reanalyse] them."),
            "quotes": (
                "[Nature|The data] [surprised|humbled] us, and that is [exactly|precisely] why "
                "we [do|need] this kind of [work|research]",
                "We [now|finally] have [numbers|evidence] where [before|previously] we only had "
                "[guesses|assumptions]",
                "[This|The study] [raises|opens] more questions than it answers, [which|and "
                "that] is [good|healthy] for science"),
        },
        "sport": {
            "section": ("Sport",),
            "items": ("cup final", "semi-final", "derby", "qualifying round",
                      "season opener", "league match", "quarter-final", "play-off final",
                      "away fixture", "top-of-the-table clash"),
            "roles": ("coach", "captain", "striker", "goalkeeper", "manager",
                      "club president", "sprinter"),
            "orgs": ("FC {city}", "Real Norte", "the Harbourside Rovers",
                     "Atlético Costa", "the national team", "the league",
                     "Union Kessel", "the Riverside Mariners"),
            "titles": ("{org_cap} [win|lose|draw] {item} [thriller|clash|showdown]",
                       "{p1_last} [scores twice|inspires comeback|sees red] in {item}",
                       "[Late|Stoppage-time] [goal|winner] [decides|settles] {item}",
                       "{org_cap} [sack|back|extend deal with] {p1_role} {p1_last}"),
            "ledes": (
                "{org} [won|clinched|lost] the {item} {score} in {city} on {weekday}, "
                "[with|as] {p1_role} {p1} [scoring|setting up] [twice|the decisive goal] "
                "[in the second half|before the break].",
                "{p1} [broke|set] a [course|national|championship] record at the {city} "
                "marathon on {weekday}, [finishing|crossing the line] in {race_time}.",
                "{org} [confirmed|announced] on {weekday} that {p1_role} {p1} [would leave|had "
                "signed a new {n}-year contract with] the club [after|ahead of] the {item}."),
            "body": (
                "[A crowd of|About|More than] {big} [fans|spectators|supporters] [watched|"
                "packed the stadium for] the [game|match|race], [many of them|most] [travelling|"
                "having travelled] from {city2}.",
                "The [visitors|hosts] [dominated|controlled] [possession|the first half] but "
                "[struggled|failed] to [convert|take] their [chances|opportunities] until the "
                "{minute}th minute.",
                "{p2_role} {p2} [said|admitted] the [team|squad] had [lacked|shown] [energy|"
                "belief|discipline] and [promised|vowed] [improvement|a response] [next week|"
                "in the return leg].",
                "The [result|win|defeat] [leaves|puts] {org} [on|with] {points} points, {n} "
                "[behind|ahead of] {org2} with {games} games [left|remaining].",
                "[Medical staff|The club] [said|confirmed] {p1_last} [had|suffered] a "
                "[hamstring|knee|ankle] [injury|problem] and would [miss|be out for] [about|up "
                "to] {n} weeks.",
                "[Ticket|Broadcast] [revenue|sales] for the [tournament|season] [reached|"
                "topped] {money_small}, [organisers|the league] said.",
                "[Earlier|Last] [this season|in {month}], the [two sides|teams] had [drawn|"
                "played out a] {score2} in {city2}."),
            "quotes": (
                "[We showed|The team showed] [character|heart] today, [and|but] there is "
                "[still|a lot of] work to do",
                "[Every|Each] [game|match] from now on is a final for us",
                "[I am|I'm] [proud|so proud] of [these players|the boys|the squad], they "
                "[never|did not] [gave up|give up]"),
        },
        "health": {
            "section": ("Health",),
            "items": ("measles outbreak", "backlog of hospital appointments",
                      "drug shortage", "nurses' strike", "flu outbreak",
                      "shortage of family doctors", "rise in childhood obesity",
                      "backlog in cancer screening", "crisis in emergency care"),
            "roles": ("Health Minister", "epidemiologist", "hospital director",
                      "chief medical officer", "nurses' union leader", "GP"),
            "orgs": ("the health ministry", "the Public Health Agency",
                     "St. Aldric's Hospital", "the national medical council",
                     "the nurses' union", "the World Health Organization",
                     "the regional health authority"),
            "titles": ("{item_cap} in {country}: [pressure grows|doctors warn|what we "
                       "know]",
                       "{p1_last} [promises|unveils] plan to tackle {item}",
                       "[Doctors|Nurses] [warn|sound alarm] over {item}",
                       "{item_cap}: [what we know|what to know] so far"),
            "ledes": (
                "[Health officials|Authorities] in {country} [reported|recorded] {big} [cases|"
                "patients] linked to [a measles|a flu|a norovirus] outbreak on {weekday}, [up|"
                "rising] {pct} from the previous week.",
                "{p1_role} {p1} [unveiled|announced] a {money} plan on {weekday} to [tackle|"
                "address] the {item}, [promising|pledging] [more staff|new clinics|faster "
                "treatment] [by|before] {year}.",
                "[Doctors|Nurses] at {org} [warned|said] on {weekday} that the {item} was "
                "[putting|placing] [severe|unprecedented] [strain|pressure] on [emergency "
                "departments|intensive care units] in {city}."),
            "body": (
                "[About|Roughly|More than] {big} [patients|people] [are|were] [waiting|on lists] "
                "for [treatment|surgery|appointments], [the highest|a record] [figure|number] "
                "since {year0}.",
                "{p2_role} {p2} [urged|advised] [people|residents] to [get vaccinated|see a "
                "doctor|stay hydrated] and [to check|check] on [elderly|vulnerable] "
                "[relatives|neighbours].",
                "[Staff shortages|Budget cuts] [have left|left] [hospitals|clinics] in {city2} "
                "[operating|running] at {pct} of [capacity|normal levels], according to {org2}.",
                "[The ministry|Officials] [said|estimated] the [programme|plan] would [reach|"
                "cover] {big} [people|children|adults] [in its first year|by {year}].",
                "[Most|The majority of] [cases|patients] [were|are] [children under five|"
                "people over 65|unvaccinated adults], [data|figures] [from|published by] {org2} "
                "[show|showed].",
                "[Pharmacies|Hospitals] [reported|have reported] [shortages|delays] of {n} "
                "[common|essential] [medicines|drugs] [since|in] {month}."),
            "quotes": (
                "[No one|Nobody] should have to wait [months|this long] for [care|treatment] "
                "they [urgently|badly] need",
                "[Vaccination|Prevention] [remains|is still] [our|the] [best|most effective] "
                "[protection|defence]",
                "Our [staff|nurses] are [exhausted|at breaking point], and [patients|people] "
                "are [paying the price|feeling it]"),
        },
        "technology": {
            "section": ("Technology",),
            "items": ("artificial intelligence model", "chip factory", "smartphone",
                      "satellite internet service", "electric vehicle battery", "data centre",
                      "cloud platform", "translation app", "payments system"),
            "roles": ("chief executive", "analyst", "chief technology officer",
                      "Digital Minister", "security researcher", "founder"),
            "orgs": ("Quillon Systems", "Tessaract Labs", "NovaGrid", "Corvid Semiconductors",
                     "Lumenfield", "Parallax Mobile", "Orrery Networks"),
            "titles": ("{org_cap} [unveils|delays|scraps] {item}",
                       "Data breach at {org} [hits|affects] {big} users",
                       "{p1_last}: {item} [will|could] [change|reshape] the industry",
                       "[Regulators|Lawmakers] [target|probe] {org} over [data practices|"
                       "competition concerns]"),
            "ledes": (
                "{org} [unveiled|announced] a [new|long-delayed] {item} on {weekday}, [saying|"
                "claiming] it [would|could] [cut|reduce] [costs|energy use] by {pct} [compared "
                "with|against] [its previous generation|rival products].",
                "[Regulators|Authorities] in {city} [opened|launched] an [investigation|inquiry] "
                "into {org} on {weekday} over a data breach that [may have|could have] "
                "[exposed|affected] [the data of|about] {big} [customers|users].",
                "{p1_role} {p1} [said|told investors] on {weekday} that the company's {item} "
                "[would|will] [be ready|ship|launch] [by|in] {year}, [despite|amid] [supply "
                "problems|doubts from analysts]."),
            "body": (
                "The [company|group] [said|added] it [had|has] [invested|spent] {money} [in|on] "
                "the [project|technology] [since|over] {year0}.",
                "{p2_role} {p2} [said|noted] that [competitors|rivals] in {country2} [were|"
                "are] [moving|working] [faster|on similar products] and [could|might] [win|"
                "take] [market share|customers].",
                "[Shares|The stock] [rose|fell] {pct} in [early|late] trading [after|following] "
                "the [announcement|news].",
                "The [incident|outage|problem] [lasted|went on for] [about|nearly] {n2} hours "
                "and [affected|disrupted] [payment systems|hospitals|airlines] in {n} "
                "countries.",
                "[Privacy|Consumer] [groups|advocates] [demanded|called for] [stricter|"
                "tougher] [rules|oversight] and [fines|penalties] of up to {pct2} of "
                "[annual|global] [turnover|revenue].",
                "The [plant|factory|facility] [will|would] [employ|create] [about|up to] {big} "
                "[people|jobs] when it [opens|reaches full production] in {year}.",
                "[Engineers|Researchers] [said|explained] the [system|model] had been "
                "[trained|tested] on [data|material] from {n3} [languages|sources|countries]."),
            "quotes": (
                "[This|It] is the [most|biggest] [important|significant] [launch|product] in "
                "our [history|company's history]",
                "[Users|Customers] [deserve|have a right] to know [what happens|what is done] "
                "with their data",
                "[The technology|It] is [ready|mature]; the [question|challenge] now is "
                "[regulation|trust]"),
        },
    },
    "generic": (
        "[It was not immediately clear|It remains unclear] [how|when] the [plans|measures] "
        "[would be financed|would take effect|would be put into practice].",
        "{p2_last} did not [immediately|] respond to [a request|requests] for comment [on "
        "{weekday}|by the time of publication].",
        "The [announcement|decision|move] [comes|came] [after|as] {n} [days|weeks|months] of "
        "[speculation|talks|pressure] in {city}.",
        "[Analysts|Observers] [said|noted] the [outcome|decision] [could|would likely] [shape|"
        "influence] [policy|debate] [well beyond|far beyond] {country}.",
        "A [spokesperson|spokeswoman|spokesman] for {org} said [the group|the organisation] "
        "would [study|review|respond to] the [details|plan|findings] [carefully|in the "
        "coming days].",
        "[Local|Regional] [media|newspapers|broadcasters] in {city2} [reported|said] that "
        "[similar|comparable] [plans|efforts] had [failed|stalled] [in {year0}|twice before|"
        "several years ago].",
        "[Speaking|Writing] [on social media|in a radio interview|in a newspaper column] "
        "[later on {weekday}|on {weekday} evening], {p2_last} [argued|said] that [the public|"
        "ordinary people|taxpayers] [deserved|needed] [clearer answers|more time|a real "
        "choice].",
        "[Further|More] [talks|meetings|hearings] [are scheduled|are planned] for [next "
        "week|later this month|{month}] in {city}.",
        "{org_cap} [has|had] [faced|come under] [growing|mounting|repeated] [criticism|"
        "pressure|scrutiny] over its [handling of|approach to] [the issue|similar cases] "
        "[in recent years|since {year0}].",
        "[Residents|People] [interviewed|contacted] in {city2} [expressed|voiced] [mixed "
        "feelings|frustration|cautious optimism] about the [plans|changes|news].",
        "[By|In] [comparison|contrast], {country2} [introduced|adopted|abandoned] a [similar|"
        "comparable] [approach|policy|scheme] [in {year0}|two years ago|last year].",
        "{p1_last}, {age}, has [served|worked] [in the post|in the role|at {org}] [since "
        "{year0}|for {n} years] and is [widely seen|regarded] as [a pragmatist|a likely "
        "successor|an outsider].",
        "An [independent|official] [watchdog|audit office|review panel] [estimated|"
        "calculated] [the cost|the impact] at {money} over {n} years.",
        "[Officials|Authorities] [said|stressed] that no decision had been [taken|"
        "finalised] [yet|so far] and that [all|several] options [remained|were still] on the "
        "table.",
        "The [issue|matter] [is expected to|will likely] [feature|come up] [at|during] a "
        "[summit|meeting|conference] in {city2} [next month|in {month}].",
        "[Earlier this year|Last month], {p2} had [warned|predicted] that [costs|problems|"
        "delays] [would|could] [mount|grow] [unless action was taken soon|if nothing was "
        "done quickly].",
        "[Some|Several] [experts|economists|lawyers] [questioned|doubted] whether the "
        "[figures|timetable|targets] [were|was] [realistic|achievable] [given|considering] "
        "[recent|past] [experience|delays].",
        "The [story|situation] [has drawn|drew] comparisons with {country2}, where a "
        "[similar|related] [debate|case] [unfolded|played out] [in {year0}|last year].",
        "[In|Across] {city2}, [reaction|the reaction] [was|appeared] [muted|divided|"
        "enthusiastic], with [some|many] [residents|business owners] [saying|arguing] they "
        "[had|would] [little|no] [say|choice] in the matter.",
        "[Figures|Data] [released|published] by {org2} [suggest|indicate] that {pct} of "
        "[respondents|people surveyed] [support|oppose] the [idea|plan], [while|and] {pct2} "
        "[are undecided|have no opinion].",
        "A [full|detailed] [report|assessment] is [due|expected] [by|in] {month}, "
        "[officials|a spokesperson] said.",
        "{p1_last} [first|originally] [proposed|floated] the [idea|plan] [in {year0}|during the "
        "last campaign|{n} years ago], but it [stalled|was shelved] [amid|after] [legal|"
        "budget] [concerns|objections].",
        "The [opposition|critics] [accused|charged] {org} of [moving too slowly|acting "
        "without a mandate|ignoring expert advice], [a charge|an accusation] it [denied|"
        "rejected].",
        "[Neither side|None of the parties] [gave|offered] [a timetable|details] for the "
        "next [steps|round of talks].",
        "[A survey|A poll] of {big} [people|adults] [conducted|carried out] in {month} found "
        "[broad|limited|little] [support|enthusiasm] for [further|new] [measures|changes].",
        "[Meanwhile|At the same time], {org2} [said|warned] it would [monitor|watch] [the "
        "situation|developments] [closely|carefully] and [publish|release] [an update|new "
        "figures] [next week|in {month}].",
    ),
    "quote_frames": (
        "\u201c{quote},\u201d {p1_last} said.",
        "\u201c{quote},\u201d {p1_last} [told reporters|said in a statement|told a news "
        "conference] in {city}.",
        "\u201c{quote},\u201d said {p2}, {p2_desc}.",
        "{p2_last} [put it more bluntly|was more blunt|went further]: \u201c{quote}.\u201d",
        "\u201c{quote},\u201d {p2_last} [added|said], [speaking|talking] [to|with] "
        "[reporters|journalists] in {city2}.",
    ),
    "page": {"home": "Home", "share": "Share this article", "subscribe":
             "Subscribe to our newsletter for the day's top stories",
             "related": "RELATED ARTICLES", "popular": "Most Popular", "by": "By",
             "updated": "Updated", "read_more": "Read more:", "ad": "Advertisement",
             "sections": ("World", "Politics", "Business", "Science", "Health", "Sport",
                          "Technology", "Opinion", "Culture", "Travel"),
             "world_sub": ("Europe", "Asia", "Africa", "Americas", "Middle East"),
             "rights": "All rights reserved.",
             "footer": ("About us", "Contact", "Careers", "Privacy policy", "Terms of use",
                        "Cookie settings", "Advertise", "Corrections", "Newsletters",
                        "Archive")},
}

_DE = {
    "first": ("Anna", "Lukas", "Sabine", "Jonas", "Katrin", "Felix", "Monika", "Tobias",
              "Petra", "Stefan", "Julia", "Matthias", "Claudia", "Florian", "Birgit", "Jan",
              "Heike", "Moritz", "Ursula", "Niklas", "Andrea", "Dirk", "Lena", "Ralf"),
    "last": ("Weber", "Keller", "Hoffmann", "Brandt", "Vogel", "Lindner", "Schäfer", "Krüger",
             "Wagner", "Zimmermann", "Hartmann", "Lorenz", "Seidel", "Engel", "Bauer",
             "Fuchs", "Winkler", "Kühn", "Roth", "Albrecht", "Sommer", "Pohl", "Graf",
             "Ziegler"),
    # (city, "in ..." form of the region or country, ASCII dateline)
    "places": (("Berlin", "Deutschland", "BERLIN"), ("Hamburg", "Deutschland", "HAMBURG"),
               ("München", "Bayern", "MUNICH"), ("Köln", "Nordrhein-Westfalen", "COLOGNE"),
               ("Frankfurt", "Hessen", "FRANKFURT"), ("Wien", "Österreich", "VIENNA"),
               ("Zürich", "der Schweiz", "ZURICH"), ("Leipzig", "Sachsen", "LEIPZIG"),
               ("Stuttgart", "Baden-Württemberg", "STUTTGART"),
               ("Dresden", "Sachsen", "DRESDEN"), ("Brüssel", "Belgien", "BRUSSELS"),
               ("Hannover", "Niedersachsen", "HANOVER"), ("Bremen", "Bremen", "BREMEN"),
               ("Graz", "Österreich", "GRAZ"), ("Bern", "der Schweiz", "BERN")),
    "weekdays": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag",
                 "Sonntag"),
    "months": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
               "September", "Oktober", "November", "Dezember"),
    "wires": ("dpa", "Reuters", "AFP"),
    "topics": {
        "politics": {
            "section": ("Politik",),
            "items": ("Rentenreform", "Wahlrechtsreform", "Haushaltsreform", "Heizungsreform",
                      "Mietpreisbremse", "Bürgergeldreform", "Einwanderungsreform",
                      "Pflegereform"),
            "roles": ("Bundeskanzlerin", "Innenminister", "Oppositionsführerin",
                      "Fraktionschef", "Ministerpräsident", "Justizministerin"),
            "orgs": ("die Regierungskoalition", "die Bürgerpartei", "der Bundesrat",
                     "die Fortschrittsunion", "die Landesregierung", "die Freie Mitte"),
            "titles": ("Streit um die {item} [spitzt sich zu|eskaliert|geht weiter]",
                       "{p1_last} [setzt|bringt] {item} [durch|auf den Weg]",
                       "Tausende [demonstrieren|protestieren] in {city} gegen {item}",
                       "Was die {item} für [Familien|Mieter|Rentner] bedeutet"),
            "ledes": (
                "Nach [wochenlangen|monatelangen|zähen] Verhandlungen hat {org} am {weekday} "
                "in {city} [eine Einigung|einen Kompromiss] über die {item} [erzielt|"
                "verkündet].",
                "{p1_role} {p1} hat am {weekday} die [umstrittene|lange erwartete] {item} "
                "[vorgestellt|verteidigt] und [versprochen|angekündigt], dass sie [bis|"
                "spätestens] {year} in Kraft treten soll.",
                "[Tausende|Mehrere tausend] Menschen haben am {weekday} in {city} gegen die "
                "{item} [demonstriert|protestiert], während im Parlament [noch|erneut] über "
                "[Änderungen|den Entwurf] gestritten wurde.",
                "Im Streit um die {item} [droht|steht] {org} [vor dem Bruch|vor einer "
                "Zerreißprobe], nachdem {p1_role} {p1} am {weekday} [Nachbesserungen|ein "
                "Ultimatum] [gefordert|gestellt] hat."),
            "body": (
                "Nach [Berechnungen|Schätzungen] [des Finanzministeriums|unabhängiger "
                "Institute|der Opposition] [wären|sind] [etwa|rund|mehr als] {big} "
                "[Haushalte|Beschäftigte|Familien] von der [Neuregelung|Reform] betroffen.",
                "[Kritiker|Gegner] [werfen|warfen] der Regierung vor, das Gesetz [ohne|mit zu "
                "wenig] [Beteiligung|Anhörung] der [Länder|Verbände] [durchgedrückt|"
                "beschlossen] zu haben.",
                "{p2_role} {p2} [nannte|bezeichnete] den [Beschluss|Entwurf] [einen "
                "Fehler|einen Wortbruch|einen ersten Schritt] und [forderte|verlangte] [eine "
                "unabhängige Prüfung|Neuwahlen|einen Untersuchungsausschuss].",
                "In [aktuellen|jüngsten] Umfragen [lehnen|befürworten] {pct} der [Befragten|"
                "Wahlberechtigten] die {item} ab, im {month} waren es noch {pct2}.",
                "Die Koalition verfügt über {seats} der {seats_total} Sitze und damit nur über "
                "eine [knappe|hauchdünne|stabile] Mehrheit.",
                "Die Beratungen im Ausschuss [dauerten|zogen sich über] [mehr als|fast] {n2} "
                "Stunden, [am Ende|zuletzt] lagen {n3} Änderungsanträge vor.",
                "[Aus dem Umfeld|Aus Kreisen] von {p1_last} hieß es, eine [Kabinettsumbildung|"
                "Verschiebung] werde [nicht ausgeschlossen|intern diskutiert]."),
            "quotes": (
                "Wir haben den Menschen [zugehört|genau zugehört], und dieser [Entwurf|"
                "Kompromiss] [zeigt das|ist das Ergebnis]",
                "Das ist nicht das Ende der [Debatte|Diskussion], sondern [erst|gerade] der "
                "Anfang",
                "Die Regierung hat [jedes Vertrauen|den Kontakt zu den Bürgern] verloren",
                "Wir werden [weiterkämpfen|nicht lockerlassen], bis [jede Stimme|jeder "
                "Haushalt] zählt"),
        },
        "economy": {
            "section": ("Wirtschaft",),
            "items": ("Zinsentscheidung", "Inflationsrate", "Werksschließung",
                      "Handelsvereinbarung", "Konjunkturprognose", "Steuerreform",
                      "Bankenfusion", "Strompreisbremse"),
            "roles": ("Finanzminister", "Notenbankchefin", "Chefvolkswirt",
                      "Vorstandsvorsitzende", "Gewerkschaftschef", "Wirtschaftsministerin"),
            "orgs": ("die Nordstahl AG", "die Helvion-Gruppe", "das Statistische Bundesamt",
                     "die Rheinbank", "der Maschinenbauer Kessler",
                     "die Industrie- und Handelskammer", "der Logistiker Meridian"),
            "titles": ("{item} [überrascht|enttäuscht] [Ökonomen|die Märkte]",
                       "{org_cap} [kündigt Stellenabbau an|plant Milliardeninvestition]",
                       "Inflation in {country} [sinkt|steigt] auf {pct}",
                       "{p1_last} [verteidigt|erklärt] {item}"),
            "ledes": (
                "Die Wirtschaft in {country} ist im [ersten|zweiten|dritten|vierten] Quartal "
                "um {pct} [gewachsen|geschrumpft], wie [das Statistikamt|die Statistikbehörde] "
                "am {weekday} mitteilte.",
                "{org} hat am {weekday} [angekündigt|bestätigt], [rund|bis zu] {big} Stellen "
                "[abzubauen|zu streichen], und begründet den Schritt mit [hohen|gestiegenen] "
                "[Energiepreisen|Kosten] und [schwacher|sinkender] Nachfrage.",
                "{p1_role} {p1} hat die {item} am {weekday} [verteidigt|begründet] und "
                "betont, die [Preise|Kosten] [dürften|würden] [weiter sinken|stabil bleiben].",
                "Die [Verbraucherpreise|Preise] in {country} sind im {month} um {pct} "
                "gestiegen, wie am {weekday} veröffentlichte Daten zeigen."),
            "body": (
                "[Ökonomen|Analysten] hatten [im Schnitt|zuvor] mit einem [Anstieg|Wert] von "
                "{pct2} gerechnet.",
                "Die [Arbeitslosenquote|Erwerbslosenquote] [lag|blieb] bei {pct}, [rund|etwa] "
                "{big} Menschen waren ohne Arbeit.",
                "Das [Geschäft|Vorhaben] hat einen Wert von {money} und soll [innerhalb von|in] "
                "{n} [Monaten|Jahren] [abgeschlossen|umgesetzt] werden.",
                "{p2_role} {p2} [warnte|mahnte], viele [Haushalte|Betriebe] seien [am Limit|"
                "stark belastet], und [forderte|verlangte] [weitere Hilfen|eine Entlastung].",
                "Die [Gewerkschaft|Belegschaft] [kündigte|drohte mit] [Widerstand|Streiks] "
                "[an|gegen die Pläne] und will [notfalls vor Gericht ziehen|weiter verhandeln].",
                "Die Notenbank hatte den Leitzins zuletzt im {month} [bei|auf] {rate} "
                "[belassen|angehoben|gesenkt].",
                "[Die Exporte|Die Aufträge aus dem Ausland] [gingen|stiegen] im selben "
                "Zeitraum um {pct2} [zurück|an]."),
            "quotes": (
                "Die Zahlen zeigen, dass das [Schlimmste|Gröbste] [hinter uns liegt|noch nicht "
                "überstanden ist]",
                "Unternehmen brauchen [Planungssicherheit|Klarheit], bevor sie wieder "
                "[investieren|einstellen]",
                "Die Entscheidung war [schwer|schmerzhaft], aber [notwendig|unvermeidlich]"),
        },
        "defence": {
            "section": ("Politik", "Ausland"),
            "items": ("Militärübung", "Rüstungsvertrag", "Wehrdienstreform",
                      "Luftverteidigung", "Verteidigungsetat", "Marinemission"),
            "roles": ("Verteidigungsminister", "Generalinspekteur", "Sicherheitsberaterin",
                      "Admiral", "Wehrbeauftragte"),
            "orgs": ("die Bundeswehr", "die NATO", "das Verteidigungsministerium",
                     "der Rüstungskonzern Valmont", "die Luftwaffe", "die Marine"),
            "titles": ("Militärübung [beginnt|startet] an der [Ostgrenze|Nordsee|Ostsee]",
                       "{p1_last} [unterzeichnet|verteidigt] {item}",
                       "[Streit|Debatte] über {item} [wächst|hält an]"),
            "ledes": (
                "{org} hat am {weekday} eine [große|mehrwöchige] Militärübung [begonnen|"
                "gestartet], an der [rund|mehr als] {big} Soldatinnen und Soldaten "
                "[teilnehmen|beteiligt sind].",
                "{p1_role} {p1} hat am {weekday} in {city} einen Rüstungsvertrag über {money} "
                "[unterzeichnet|vorgestellt], [einen der größten|den größten] in der "
                "Geschichte des Landes.",
                "Der Bundestag hat am {weekday} über eine [Aufstockung|Erhöhung] des "
                "Verteidigungsetats [beraten|abgestimmt], während {p1_role} {p1} vor einer "
                "[veränderten|verschärften] Sicherheitslage warnte."),
            "body": (
                "Die [Übung|Mission] soll {n} [Tage|Wochen] dauern und [umfasst|beinhaltet] "
                "[Manöver zu Land, zu Wasser und in der Luft|gemeinsame Einsätze mit "
                "Verbündeten].",
                "{p2_role} {p2} [betonte|erklärte], der Schritt sei [rein defensiv|eine "
                "Vorsichtsmaßnahme] und richte sich [gegen kein Land|nicht gegen Nachbarn].",
                "Die [Verteidigungsausgaben|Militärausgaben] sind auf {pct} der "
                "Wirtschaftsleistung gestiegen, nach {pct2} im Jahr {year0}.",
                "[Fachleute|Experten] [bezweifeln|fragen], ob [genug|ausreichend] Personal "
                "für die neuen [Systeme|Geräte] zur Verfügung steht.",
                "Der Vertrag umfasst {n} [Kampfjets|Flugabwehrsysteme|Patrouillenboote], die "
                "ersten [Einheiten|Lieferungen] sollen {year} eintreffen."),
            "quotes": (
                "Unsere [Streitkräfte|Truppen] sind [bereit|vorbereitet], auf jede "
                "[Bedrohung|Provokation] zu reagieren",
                "Wir beobachten die Lage [sehr|äußerst] [genau|aufmerksam] mit unseren "
                "[Partnern|Verbündeten]"),
        },
        "science": {
            "section": ("Wissen",),
            "items": ("Korallenstudie", "Teleskopdurchmusterung", "Fusionsstudie",
                      "Gletschermessung", "Klimastudie", "Fossiliengrabung",
                      "Tiefseeexpedition"),
            "roles": ("Professorin", "Studienleiter", "Astrophysikerin", "Biologe",
                      "Klimaforscherin"),
            "orgs": ("die Universität {city}", "das Halvorsen-Institut",
                     "das Zentrum für Meeresforschung", "die Max-Weber-Gesellschaft"),
            "titles": ("[Forscher|Wissenschaftler] [melden|finden] [überraschende|neue] "
                       "Ergebnisse",
                       "{item} [zeigt|belegt] mehr als erwartet",
                       "Team um {p1_last} [veröffentlicht|präsentiert] {item}"),
            "ledes": (
                "[Forscherinnen und Forscher|Wissenschaftler] {org_von} haben am "
                "{weekday} [Ergebnisse|Daten] einer {item} [veröffentlicht|vorgestellt], die "
                "[überraschen|aufhorchen lassen].",
                "Eine {item} unter der Leitung von {p1_role} {p1} hat {n2} [bisher "
                "unbekannte|neue] [Arten|Strukturen] [entdeckt|nachgewiesen]."),
            "body": (
                "Das Team [wertete|untersuchte] [Proben|Daten] aus, die zwischen {year0} und "
                "{year1} an {n} [Standorten|Stationen] gesammelt worden waren.",
                "{p2_role} {p2}, [die|der] nicht an der Studie beteiligt war, [nannte|"
                "bezeichnete] die Methode [solide|überzeugend], [warnte aber|mahnte aber] vor "
                "voreiligen Schlüssen.",
                "Die [Messungen|Daten] [zeigen|ergaben] eine Veränderung von {pct} [im "
                "Zeitraum|innerhalb eines Jahrzehnts], deutlich mehr als [bisher|zuvor] "
                "angenommen.",
                "Die [nächste|zweite] Phase des Projekts ist für {year} geplant.",
                "Die Ergebnisse [erschienen|wurden veröffentlicht] in einer [renommierten|"
                "begutachteten] Fachzeitschrift und sollen nun von anderen Gruppen [überprüft|"
                "wiederholt] werden."),
            "quotes": (
                "Die Daten haben uns [überrascht|demütig gemacht], und genau deshalb "
                "[brauchen|machen] wir diese Forschung",
                "Wir haben [jetzt|endlich] Zahlen, wo wir [vorher|bisher] nur Vermutungen "
                "hatten"),
        },
        "sport": {
            "section": ("Sport",),
            "items": ("Pokalfinale", "Derby", "Halbfinale", "Viertelfinale", "Spitzenspiel",
                      "Heimspiel", "Auswärtsspiel", "Relegationsspiel"),
            "roles": ("Trainer", "Kapitän", "Stürmer", "Torhüterin", "Sportdirektor"),
            "orgs": ("der FC {city}", "Union Kessel", "die Nationalmannschaft",
                     "Eintracht Nordheim", "der SV Rheinau"),
            "titles": ("{org_cap} [gewinnt|verliert] {item}",
                       "{p1_last} [trifft doppelt|dreht das Spiel] im {item}",
                       "[Später|Spätes] [Treffer|Tor] entscheidet {item}"),
            "ledes": (
                "{org} hat das {item} am {weekday} in {city} mit {score} [gewonnen|verloren], "
                "{p1_role} {p1} [traf|erzielte] [zweimal|das entscheidende Tor] [nach der "
                "Pause|kurz vor Schluss].",
                "{p1_role} {p1} [verlässt {org_acc}|verlängert {org_bei}] [nach|vor] dem "
                "{item}, wie der Verein am {weekday} mitteilte."),
            "body": (
                "[Rund|Mehr als] {big} Zuschauer [verfolgten|sahen] das Spiel im [ausverkauften|"
                "vollen] Stadion.",
                "Die [Gäste|Gastgeber] [hatten mehr Ballbesitz|dominierten die erste Hälfte], "
                "[trafen aber erst|kamen aber erst] in der {minute}. Minute [zum Erfolg|ins "
                "Tor].",
                "{p2_role} {p2} [räumte ein|sagte], der Mannschaft habe es an [Energie|Mut|"
                "Disziplin] gefehlt.",
                "Mit dem [Sieg|Ergebnis] hat {org} nun {points} Punkte und liegt {n} Zähler "
                "[vor|hinter] {org2_dat}.",
                "Im Hinspiel in {city2} hatten sich beide Mannschaften {score2} getrennt."),
            "quotes": (
                "Die Mannschaft hat heute [Charakter|Moral] gezeigt, aber es gibt noch viel "
                "zu tun",
                "Jedes Spiel ist ab jetzt ein Endspiel für uns"),
        },
        "health": {
            "section": ("Gesundheit",),
            "items": ("Masernausbruch", "Medikamentenmangel", "Ärztemangel",
                      "Pflegenotstand", "Personalmangel in Kliniken", "Grippeausbruch"),
            "roles": ("Gesundheitsminister", "Epidemiologin", "Klinikdirektor",
                      "Amtsärztin", "Pflegegewerkschafterin"),
            "orgs": ("das Gesundheitsministerium", "das Robert-Kessel-Institut",
                     "das Klinikum {city}", "die Ärztekammer"),
            "titles": ("{item} in {country}: [Zahl der Fälle steigt|Lage spitzt sich zu]",
                       "{p1_last} [kündigt|plant] Maßnahmen gegen {item} an",
                       "[Ärzte|Pflegekräfte] [warnen|schlagen Alarm] wegen {item}"),
            "ledes": (
                "Die [Gesundheitsbehörden|Behörden] in {country} haben am {weekday} {big} "
                "Fälle im Zusammenhang mit einem [Masernausbruch|Grippeausbruch] gemeldet, "
                "{pct} mehr als in der Vorwoche.",
                "{p1_role} {p1} hat am {weekday} ein Programm über {money} [vorgestellt|"
                "angekündigt], um den {item} [zu bekämpfen|in den Griff zu bekommen]."),
            "body": (
                "[Rund|Mehr als] {big} Menschen [warten|warteten] derzeit auf einen "
                "[Behandlungstermin|Operationstermin], so viele wie nie seit {year0}.",
                "{p2_role} {p2} [rief|forderte] die Bevölkerung [auf|dazu auf], [sich impfen zu "
                "lassen|ausreichend zu trinken|ältere Nachbarn zu unterstützen].",
                "[Der Personalmangel zwingt|Sparmaßnahmen zwingen] die Kliniken in {city2}, "
                "mit {pct} ihrer [Kapazität|Betten] zu arbeiten.",
                "Apotheken melden seit {month} Lieferengpässe bei {n} [gängigen|wichtigen] "
                "Medikamenten."),
            "quotes": (
                "Niemand sollte [monatelang|so lange] auf eine [dringende|notwendige] "
                "Behandlung warten müssen",
                "Unsere Pflegekräfte sind [erschöpft|am Ende ihrer Kräfte]"),
        },
        "technology": {
            "section": ("Digital",),
            "items": ("KI-Modell", "Smartphone", "Batteriewerk", "Rechenzentrum",
                      "Betriebssystem", "Übersetzungsprogramm", "Bezahlsystem"),
            "roles": ("Vorstandschefin", "Analyst", "Digitalminister", "Sicherheitsforscherin",
                      "Gründer"),
            "orgs": ("Quillon Systems", "NovaGrid", "Corvid Semiconductors", "Lumenfield",
                     "Parallax Mobile"),
            "titles": ("{org_cap} [stellt|präsentiert] neues {item} vor",
                       "Datenleck bei {org}: {big} Kunden betroffen",
                       "[Behörden|Aufseher] [prüfen|ermitteln gegen] {org_acc}"),
            "ledes": (
                "{org} hat am {weekday} [ein neues|ein lange erwartetes] {item} "
                "[vorgestellt|angekündigt] und [verspricht|erwartet] [niedrigere Kosten|einen "
                "geringeren Energieverbrauch].",
                "Die [Behörden|Aufsichtsbehörden] in {city} haben am {weekday} [Ermittlungen|"
                "ein Verfahren] gegen {org_acc} [eingeleitet|aufgenommen], nachdem ein "
                "Datenleck die Daten von rund {big} Kunden offengelegt hatte."),
            "body": (
                "Das Unternehmen hat nach eigenen Angaben seit {year0} {money} in die "
                "[Technologie|Entwicklung] investiert.",
                "{p2_role} {p2} [sagte|betonte], die Konkurrenz in {country2} sei "
                "[schneller|weiter] und könne Marktanteile [gewinnen|erobern].",
                "Die [Aktie|Papiere] des Konzerns [stiegen|fielen] nach der [Ankündigung|"
                "Mitteilung] um {pct}.",
                "Das Werk soll [bis zu|rund] {big} Arbeitsplätze schaffen, wenn es {year} "
                "[in Betrieb geht|die volle Produktion erreicht].",
                "Die Störung dauerte [rund|fast] {n2} Stunden und [legte|beeinträchtigte] "
                "Zahlungssysteme in {n} Ländern [lahm|]."),
            "quotes": (
                "Die Kundinnen und Kunden haben ein Recht darauf zu wissen, was mit ihren "
                "Daten geschieht",
                "Die Technik ist [ausgereift|bereit], die Frage ist jetzt das Vertrauen"),
        },
    },
    "generic": (
        "Wie das [Vorhaben|Projekt] finanziert werden soll, [blieb|ist] [zunächst|"
        "vorerst] unklar.",
        "{p2_last} war am {weekday} [zunächst|] nicht für eine Stellungnahme erreichbar.",
        "Die [Entscheidung|Ankündigung] [fällt|kommt] nach {n} [Tagen|Wochen|Monaten] "
        "[voller Spekulationen|intensiver Gespräche] in {city}.",
        "[Beobachter|Fachleute] [gehen davon aus|erwarten], dass die Entscheidung "
        "[auch|weit] über die Landesgrenzen hinaus [Folgen haben|Beachtung finden] wird.",
        "[Eine Sprecherin|Ein Sprecher] {org_von} [sagte|erklärte], man werde die "
        "[Einzelheiten|Pläne] [sorgfältig prüfen|in den kommenden Tagen bewerten].",
        "[Regionale|Lokale] Medien in {city2} [berichteten|meldeten], [ähnliche|"
        "vergleichbare] [Pläne|Versuche] seien [bereits|schon] {year0} [gescheitert|ins "
        "Stocken geraten].",
        "Weitere [Gespräche|Beratungen|Anhörungen] sind für [die kommende Woche|Ende des "
        "Monats|{month}] in {city} [geplant|angesetzt].",
        "{org_cap} steht seit [Jahren|längerem] wegen {org_poss} Umgangs mit [dem "
        "Thema|ähnlichen Fällen] in der Kritik.",
        "[Anwohner|Bürgerinnen und Bürger] in {city2} [reagierten|äußerten sich] "
        "[gemischt|verärgert|vorsichtig optimistisch] auf die [Pläne|Nachricht].",
        "In {country2} war bereits {year0} ein [ähnliches|vergleichbares] [Modell|Programm] "
        "[eingeführt|wieder abgeschafft] worden.",
        "{p1_last} ist {age} Jahre alt und [gilt|galt] [als pragmatisch|als erfahren|als "
        "Kandidat für höhere Ämter].",
        "Ein [unabhängiges|amtliches] [Gutachten|Prüfgremium] [beziffert|schätzt] die "
        "[Kosten|Auswirkungen] auf {money} über {n} Jahre.",
        "[Eine Entscheidung|Ein Beschluss] sei [noch nicht|bislang nicht] [gefallen|"
        "getroffen], alle Optionen lägen [weiterhin|noch] auf dem Tisch, hieß es.",
        "Bereits [im Frühjahr|Anfang des Jahres|im {month}] hatte {p2} [gewarnt|davor "
        "gewarnt], dass die [Kosten|Probleme] [weiter steigen|wachsen] könnten.",
        "Wie aus einer Umfrage hervorgeht, die {org2} [veröffentlicht|vorgelegt] hat, "
        "[unterstützen|befürworten] {pct} der [Befragten|Menschen] die [Pläne|Idee], {pct2} "
        "sind [unentschieden|dagegen].",
        "Ein [ausführlicher|vollständiger] Bericht soll [bis|im] {month} vorliegen.",
        "Die Opposition [warf|wirft] {org_dat} vor, [zu langsam zu handeln|ohne Mandat zu "
        "handeln|Expertenrat zu ignorieren], was die Verantwortlichen [zurückwiesen|"
        "bestritten].",
        "Einen [Zeitplan|konkreten Fahrplan] für die nächsten Schritte [nannte|gab] "
        "[keine der beiden Seiten|niemand].",
        "[Zuvor|Vor wenigen Tagen] hatten [Verbände|Kommunen|Gewerkschaften] in {city2} "
        "[Nachbesserungen|mehr Geld|eine Fristverlängerung] [gefordert|verlangt].",
        "[Nach Einschätzung|Nach Ansicht] von [Fachleuten|Beobachtern] [dürfte|wird] "
        "das Thema [die kommenden Wochen|den Wahlkampf] [prägen|bestimmen].",
        "[Unterdessen|Gleichzeitig] kündigte {org2} an, die Entwicklung [genau|aufmerksam] "
        "zu [beobachten|verfolgen] und [im {month}|in der kommenden Woche] neue Zahlen "
        "vorzulegen.",
        "[Einige|Mehrere] [Juristen|Ökonomen|Fachleute] [bezweifeln|bezweifelten], dass "
        "der [Zeitplan|Plan] [realistisch|einzuhalten] ist.",
        "[Auf Nachfrage|Am Rande eines Termins] in {city} [wollte|mochte] sich {p1_last} "
        "[nicht zu|nicht näher zu] [den Berichten|dem Zeitplan|den Gerüchten] äußern.",
        "[Aus einem internen Papier|Aus einer Vorlage|Aus einem Bericht], [das|die|der] "
        "der Redaktion vorliegt, geht hervor, dass die Kosten auf [bis zu|mehr als] "
        "{money} steigen könnten.",
        "[In sozialen Netzwerken|In den Cafés|Auf den Wochenmärkten] in {city2} "
        "[sorgt|sorgte] [das Thema|die Nachricht] für [hitzige Debatten|gemischte "
        "Reaktionen|viel Gesprächsstoff].",
        "[Vertreter|Verantwortliche] der [Kommunen|Region] in {city2} [beklagen|kritisieren], "
        "sie seien [nicht gefragt|zu spät informiert] worden.",
        "[Hinter vorgehaltener Hand|Intern] räumen [mehrere|einige] [Beteiligte|Berater] "
        "[Versäumnisse|Fehler in der Kommunikation|Meinungsverschiedenheiten] ein.",
    ),
    "quote_frames": (
        "\u201e{quote}\u201c, sagte {p1_last}.",
        "\u201e{quote}\u201c, [sagte|erklärte] {p1_last} am {weekday} in {city}.",
        "\u201e{quote}\u201c, sagte {p2}, [die|der] als {p2_role} [arbeitet|tätig ist].",
        "{p2_last} [formulierte es|sagte es] [deutlicher|schärfer]: \u201e{quote}.\u201c",
    ),
    "page": {"home": "Startseite", "share": "Artikel teilen", "subscribe":
             "Abonnieren Sie unseren Newsletter",
             "related": "Mehr zum Thema", "popular": "Meistgelesen", "by": "Von",
             "updated": "Aktualisiert", "read_more": "Lesen Sie auch:", "ad": "Anzeige",
             "sections": ("Politik", "Wirtschaft", "Wissen", "Gesundheit", "Sport",
                          "Digital", "Kultur", "Meinung", "Reise"),
             "world_sub": ("Ausland", "Europa", "Asien"),
             "rights": "Alle Rechte vorbehalten.",
             "footer": ("Impressum", "Kontakt", "Datenschutz", "AGB", "Cookie-Einstellungen",
                        "Karriere", "Mediadaten", "Archiv")},
}

_FR = {
    "first": ("Camille", "Julien", "Sophie", "Antoine", "Élise", "Mathieu", "Claire",
              "Nicolas", "Manon", "Hugo", "Isabelle", "Thomas", "Léa", "Olivier", "Chloé",
              "Pierre", "Amélie", "François", "Inès", "Baptiste", "Céline", "Romain"),
    "last": ("Martin", "Lefèvre", "Dubois", "Moreau", "Laurent", "Girard", "Bonnet",
             "Mercier", "Chevalier", "Fontaine", "Rousseau", "Blanchard", "Garnier", "Perrin",
             "Lemoine", "Marchand", "Faure", "Renaud", "Caron", "Vidal", "Aubert", "Roche"),
    # (city, country with its article, ASCII dateline); templates avoid "de {country}"
    "places": (("Paris", "la France", "PARIS"), ("Lyon", "la France", "LYON"),
               ("Marseille", "la France", "MARSEILLE"), ("Bordeaux", "la France", "BORDEAUX"),
               ("Lille", "la France", "LILLE"), ("Toulouse", "la France", "TOULOUSE"),
               ("Genève", "la Suisse", "GENEVA"), ("Bruxelles", "la Belgique", "BRUSSELS"),
               ("Montréal", "le Canada", "MONTREAL"), ("Dakar", "le Sénégal", "DAKAR"),
               ("Nantes", "la France", "NANTES"), ("Strasbourg", "la France", "STRASBOURG"),
               ("Abidjan", "la Côte d'Ivoire", "ABIDJAN"),
               ("Luxembourg", "le Luxembourg", "LUXEMBOURG")),
    "weekdays": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "months": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
               "septembre", "octobre", "novembre", "décembre"),
    "wires": ("AFP", "Reuters"),
    "topics": {
        "politics": {
            "section": ("Politique",),
            "items": ("réforme des retraites", "loi sur le logement", "réforme électorale",
                      "loi de finances", "loi immigration", "réforme de la justice",
                      "réforme de l'assurance chômage"),
            "roles": ("la Première ministre", "le ministre de l'Intérieur",
                      "la cheffe de l'opposition", "le président du groupe",
                      "la ministre de la Justice", "le sénateur"),
            "orgs": ("la coalition au pouvoir", "le Parti du renouveau", "l'Union civique",
                     "le Sénat", "l'Alliance progressiste", "le Mouvement citoyen"),
            "titles": ("{item_cap} : [le gouvernement|la majorité] [tient bon|recule]",
                       "{p1_last} [défend|présente] la {item}",
                       "Des milliers de manifestants à {city} contre la {item}",
                       "Ce que la {item} va changer pour les [ménages|retraités|locataires]"),
            "ledes": (
                "Après [des semaines|plusieurs mois] de [négociations|tractations] "
                "[difficiles|tendues], {org} a [trouvé|annoncé] {weekday} à {city} un "
                "[accord|compromis] sur la {item}.",
                "{p1_role_cap} {p1} a [présenté|défendu] {weekday} la {item}, [promettant|"
                "assurant] qu'elle entrerait en vigueur [d'ici|avant] {year}.",
                "Des milliers de [manifestants|personnes] ont [défilé|manifesté] {weekday} "
                "dans les rues de {city} contre la {item}, alors que les députés "
                "[poursuivaient|reprenaient] l'examen du texte.",
                "La {item} menace de faire [éclater|vaciller] {org}, après que {p1_role} {p1} "
                "a [posé un ultimatum|exigé des changements] {weekday}."),
            "body": (
                "Selon les [chiffres|estimations] {org2_de}, [environ|plus de] {big} "
                "[ménages|salariés|familles] seraient concernés par la réforme.",
                "Les [opposants|critiques] [reprochent|reprochaient] au gouvernement d'avoir "
                "[rédigé|fait adopter] le texte sans [réelle|véritable] concertation avec les "
                "[syndicats|élus locaux].",
                "{p2_role_cap} {p2} a [qualifié|jugé] la décision de [« trahison »|« erreur "
                "historique »|« premier pas »] et a [réclamé|exigé] [une commission "
                "d'enquête|des élections anticipées].",
                "Selon les [derniers|plus récents] sondages, {pct} des [électeurs|personnes "
                "interrogées] [s'opposent à|soutiennent] la réforme, contre {pct2} en {month}.",
                "La coalition dispose de {seats} sièges sur {seats_total}, une majorité "
                "[fragile|étroite|confortable].",
                "L'examen en commission a duré [plus de|près de] {n2} heures et {n3} "
                "amendements ont été déposés.",
                "Dans l'entourage {p1_last_de}, on n'exclut pas [un remaniement|un report|"
                "un compromis] dans les prochaines semaines."),
            "quotes": (
                "Nous avons écouté les [citoyens|Français], et ce [texte|compromis] en est "
                "le [résultat|reflet]",
                "Ce n'est pas la fin du débat, c'est [seulement|tout juste] le début",
                "Le gouvernement a perdu [toute crédibilité|le contact avec le pays]",
                "Nous ne lâcherons rien tant que [chaque voix|chaque ménage] ne sera pas "
                "entendu"),
        },
        "economy": {
            "section": ("Économie",),
            "items": ("décision sur les taux", "hausse des prix", "fermeture d'usine",
                      "négociation commerciale", "prévision de croissance", "fusion bancaire",
                      "réforme fiscale"),
            "roles": ("le ministre de l'Économie", "la gouverneure de la banque centrale",
                      "l'économiste en chef", "la directrice générale",
                      "le secrétaire général du syndicat"),
            "orgs": ("le groupe Castellan", "la Banque du Littoral", "l'Insee",
                     "le constructeur Meridian", "la chambre de commerce", "le groupe Helvion"),
            "titles": ("Inflation : les prix [ralentissent|accélèrent] à {pct}",
                       "{org_cap} [annonce|envisage] la suppression de {big} postes",
                       "{p1_last} [défend|justifie] la {item}"),
            "ledes": (
                "La croissance a [atteint|été de] {pct} au [premier|deuxième|troisième|"
                "quatrième] trimestre, selon les chiffres publiés {weekday} par {org2}.",
                "{org_cap} a annoncé {weekday} la suppression de [près de|quelque] {big} "
                "postes, invoquant la [hausse|flambée] des coûts de l'énergie et une demande "
                "[en berne|en recul].",
                "{p1_role_cap} {p1} a [défendu|justifié] {weekday} la {item}, estimant que "
                "la [hausse|baisse] des prix [devait|allait] se poursuivre.",
                "Les prix à la consommation ont augmenté de {pct} sur un an en {month}, selon "
                "les données publiées {weekday}."),
            "body": (
                "Les économistes [tablaient|s'attendaient] en moyenne sur une hausse de "
                "{pct2}.",
                "Le taux de chômage [s'est établi|est resté stable] à {pct}, soit [environ|"
                "près de] {big} demandeurs d'emploi.",
                "L'opération, d'un montant de {money}, devrait être [finalisée|bouclée] "
                "d'ici {n} [mois|ans].",
                "{p2_role_cap} {p2} a [averti|prévenu] que de nombreux [ménages|commerçants] "
                "étaient [à bout|sous pression] et a réclamé [de nouvelles aides|un geste du "
                "gouvernement].",
                "Les syndicats ont [annoncé|promis] [une grève|une mobilisation] pour "
                "[s'opposer|protester] contre les suppressions de postes.",
                "La banque centrale avait [maintenu|relevé|abaissé] son taux directeur à "
                "{rate} lors de sa [dernière|précédente] réunion, en {month}.",
                "Les exportations ont [reculé|progressé] de {pct2} sur la même période."),
            "quotes": (
                "Les chiffres montrent que le [plus dur|pire] est [derrière nous|encore à "
                "venir]",
                "Les entreprises ont besoin de [visibilité|clarté] avant d'investir",
                "Cette décision était [difficile|douloureuse] mais [nécessaire|inévitable]"),
        },
        "defence": {
            "section": ("International",),
            "items": ("exercice militaire", "contrat d'armement", "budget de la défense",
                      "déploiement naval", "programme de missiles"),
            "roles": ("le ministre des Armées", "le chef d'état-major",
                      "la porte-parole de l'armée", "l'amiral"),
            "orgs": ("l'armée", "l'OTAN", "le ministère des Armées", "le groupe Valmont",
                     "la marine"),
            "titles": ("{item_cap} : [inquiétude|tensions] à la frontière",
                       "{p1_last} [signe|défend] un contrat d'armement de {money}"),
            "ledes": (
                "{org_cap} a lancé {weekday} un [vaste|important] exercice militaire [près "
                "de|le long de] la frontière, mobilisant [environ|plus de] {big} soldats.",
                "{p1_role_cap} {p1} a signé {weekday} à {city} un contrat d'armement de "
                "{money}, [l'un des plus importants|le plus important] de l'histoire du pays."),
            "body": (
                "L'exercice doit durer {n} [jours|semaines] et comprendra des manœuvres "
                "[terrestres, navales et aériennes|conjointes avec les alliés].",
                "{p2_role_cap} {p2} a assuré que la démarche était [purement défensive|une "
                "mesure de précaution] et ne visait [aucun pays|aucun voisin].",
                "Les dépenses militaires [représentent|atteignent] désormais {pct} du PIB, "
                "contre {pct2} en {year0}.",
                "Des experts doutent que l'armée dispose de suffisamment de personnel pour "
                "[faire fonctionner|entretenir] ces nouveaux équipements.",
                "Le contrat porte sur {n} [avions de combat|systèmes de défense aérienne|"
                "patrouilleurs], dont les premiers doivent être livrés en {year}."),
            "quotes": (
                "Nos forces sont prêtes à répondre à toute [menace|provocation]",
                "Nous suivons la situation [de très près|attentivement] avec nos alliés"),
        },
        "science": {
            "section": ("Sciences",),
            "items": ("étude sur les coraux", "campagne d'observation", "expérience de "
                      "fusion", "mesure des glaciers", "découverte de fossiles",
                      "expédition en haute mer"),
            "roles": ("la chercheuse", "le professeur", "l'astrophysicienne", "le biologiste",
                      "la climatologue"),
            "orgs": ("l'université de {city}", "l'Institut Halvorsen",
                     "le Centre de recherche marine", "le laboratoire national"),
            "titles": ("Des chercheurs [publient des résultats inattendus|font une découverte "
                       "surprenante]",
                       "{item_cap} : les résultats [surprennent|inquiètent]"),
            "ledes": (
                "Des chercheurs {org_de} ont publié {weekday} les résultats d'une {item} qui "
                "[remettent en cause|bousculent] [plusieurs|de nombreuses] idées reçues.",
                "Une {item} menée par {p1_role} {p1} a permis d'identifier {n2} [espèces|"
                "structures] [jusqu'ici inconnues|nouvelles]."),
            "body": (
                "L'équipe a analysé des [échantillons|données] recueillis entre {year0} et "
                "{year1} sur {n} sites.",
                "{p2_role_cap} {p2}, qui n'a pas participé à l'étude, juge la méthode "
                "[solide|rigoureuse] mais [met en garde|appelle à la prudence] contre des "
                "conclusions hâtives.",
                "Les mesures montrent une évolution de {pct} sur la période, bien au-delà "
                "des estimations précédentes.",
                "La [prochaine|deuxième] phase du projet est prévue pour {year}.",
                "Les résultats ont été publiés dans une revue [à comité de lecture|de "
                "référence] et devront être confirmés par d'autres équipes."),
            "quotes": (
                "Les données nous ont [surpris|étonnés], et c'est précisément pour cela "
                "que ce travail est nécessaire",
                "Nous avons enfin des chiffres là où nous n'avions que des hypothèses"),
        },
        "sport": {
            "section": ("Sport",),
            "items": ("finale de la coupe", "demi-finale", "rencontre au sommet",
                      "journée d'ouverture", "finale du championnat", "qualification"),
            "roles": ("l'entraîneur", "le capitaine", "l'attaquant", "la gardienne",
                      "le président du club"),
            "orgs": ("l'Olympique de {city}", "le Racing Côte", "l'équipe de France",
                     "le Stade Riviera", "l'AS Montclair"),
            "titles": ("{org_cap} [remporte|perd] la {item}",
                       "{p1_last} [offre la victoire|sauve les siens] lors de la {item}"),
            "ledes": (
                "{org_cap} a [remporté|perdu] la {item} {score} {weekday} à {city}, grâce à "
                "un [doublé|but décisif] {p1_role_de} {p1} [en seconde période|juste avant "
                "la pause].",
                "{p1_role_cap} {p1} [quittera|a prolongé avec] {org} [après|avant] la {item}, "
                "a annoncé le club {weekday}."),
            "body": (
                "[Près de|Plus de] {big} spectateurs ont assisté à la rencontre dans un stade "
                "[comble|plein].",
                "Les [visiteurs|locaux] ont dominé la première période mais n'ont trouvé la "
                "faille qu'à la {minute}e minute.",
                "{p2_role_cap} {p2} a reconnu que l'équipe avait manqué [d'énergie|de "
                "rigueur|de réalisme].",
                "Avec ce résultat, {org} compte {points} points, {n} de [plus|moins] que "
                "{org2}.",
                "Au match aller, à {city2}, les deux équipes s'étaient quittées sur le score "
                "de {score2}."),
            "quotes": (
                "L'équipe a montré du caractère, mais il reste beaucoup de travail",
                "Chaque match est désormais une finale pour nous"),
        },
        "health": {
            "section": ("Santé",),
            "items": ("pénurie de médicaments", "crise de l'hôpital", "flambée de rougeole",
                      "vague de grippe", "pénurie de soignants", "saturation des urgences"),
            "roles": ("le ministre de la Santé", "l'épidémiologiste",
                      "la directrice de l'hôpital", "le médecin généraliste"),
            "orgs": ("le ministère de la Santé", "l'agence de santé publique",
                     "le CHU de {city}", "l'ordre des médecins"),
            "titles": ("{item_cap} : [le nombre de cas augmente|la situation s'aggrave]",
                       "{p1_last} [présente|annonce] un plan contre la {item}"),
            "ledes": (
                "Les autorités sanitaires ont recensé {weekday} {big} cas liés à l'épidémie "
                "de [rougeole|grippe], soit {pct} de plus que la semaine précédente.",
                "{p1_role_cap} {p1} a présenté {weekday} un plan de {money} pour [lutter "
                "contre|faire face à] la {item}."),
            "body": (
                "[Environ|Plus de] {big} patients attendent actuellement une opération, un "
                "niveau [inédit|record] depuis {year0}.",
                "{p2_role_cap} {p2} a appelé la population à [se faire vacciner|boire "
                "suffisamment|veiller sur les personnes âgées].",
                "Faute de personnel, les hôpitaux de {city2} fonctionnent à {pct} de leurs "
                "capacités.",
                "Les pharmacies signalent depuis {month} des ruptures de stock sur {n} "
                "médicaments courants."),
            "quotes": (
                "Personne ne devrait attendre des mois pour un soin urgent",
                "Nos soignants sont [épuisés|à bout]"),
        },
        "technology": {
            "section": ("Tech",),
            "items": ("modèle d'intelligence artificielle", "smartphone", "processeur",
                      "service d'internet par satellite", "centre de données",
                      "système de paiement"),
            "roles": ("la directrice générale", "l'analyste", "le ministre du Numérique",
                      "la chercheuse en sécurité"),
            "orgs": ("Quillon Systems", "NovaGrid", "Corvid Semiconductors", "Lumenfield",
                     "Parallax Mobile"),
            "titles": ("{org_cap} [dévoile|reporte] son {item}",
                       "Fuite de données chez {org} : {big} clients concernés"),
            "ledes": (
                "{org_cap} a [dévoilé|présenté] {weekday} un [nouveau|très attendu] {item}, "
                "promettant [des coûts réduits|une consommation d'énergie moindre].",
                "Les autorités de {city} ont ouvert {weekday} une enquête visant {org} après "
                "une fuite de données ayant exposé les informations de {big} clients."),
            "body": (
                "L'entreprise affirme avoir investi {money} dans la technologie depuis "
                "{year0}.",
                "{p2_role_cap} {p2} estime que les concurrents [asiatiques|américains|"
                "étrangers] avancent [plus vite|plus rapidement] et pourraient gagner des "
                "parts de marché.",
                "L'action a [gagné|perdu] {pct} après l'annonce.",
                "Le site devrait créer [jusqu'à|environ] {big} emplois à son ouverture en "
                "{year}.",
                "La panne a duré [près de|environ] {n2} heures et a perturbé des systèmes de "
                "paiement dans {n} pays."),
            "quotes": (
                "Les utilisateurs ont le droit de savoir ce que deviennent leurs données",
                "La technologie est prête, la question est désormais celle de la confiance"),
        },
    },
    "generic": (
        "Le financement du projet [reste|restait] [flou|incertain] [pour l'instant|à ce "
        "stade].",
        "{p2_last} n'a pas [répondu|donné suite] aux sollicitations {weekday}.",
        "Cette [annonce|décision] intervient après {n} [jours|semaines|mois] de "
        "[spéculations|discussions] à {city}.",
        "Selon [plusieurs|des] observateurs, la décision pourrait avoir des conséquences "
        "bien au-delà des frontières du pays.",
        "Un porte-parole {org_de} a indiqué que [l'organisation|le groupe] allait "
        "[étudier|examiner] [attentivement|en détail] les propositions.",
        "La presse [locale|régionale] de {city2} rappelle que des projets [similaires|"
        "comparables] avaient [échoué|été abandonnés] en {year0}.",
        "De nouvelles [discussions|réunions] sont [prévues|programmées] [la semaine "
        "prochaine|à la fin du mois|en {month}] à {city}.",
        "{org_cap} fait [régulièrement|depuis longtemps] l'objet de critiques pour sa "
        "gestion du [dossier|sujet].",
        "À {city2}, les habitants interrogés se montrent [partagés|inquiets|prudemment "
        "optimistes].",
        "À titre de comparaison, la ville de {city2} avait [adopté|abandonné] un dispositif "
        "[similaire|comparable] en {year0}.",
        "À {age} ans, {p1_last} fait figure de [pragmatique|successeur possible|"
        "personnalité à part] [au sein de|dans] son camp.",
        "Un rapport [indépendant|officiel] évalue le coût à {money} sur {n} ans.",
        "Aucune décision n'a encore été prise et toutes les options restent sur la table, "
        "[a-t-on indiqué|selon une source proche du dossier].",
        "Dès {month}, {p2} avait [averti|prévenu] que les [coûts|difficultés] risquaient "
        "de [s'envoler|s'aggraver].",
        "Selon une enquête {org2_de}, {pct} des personnes interrogées [soutiennent|"
        "approuvent] le projet, tandis que {pct2} [s'y opposent|restent indécises].",
        "Un rapport détaillé est attendu [d'ici|en] {month}.",
        "L'opposition accuse {org} [de tarder à agir|de passer en force|d'ignorer les "
        "experts], ce que [les intéressés|ses responsables] [contestent|démentent].",
        "Aucun calendrier n'a été [communiqué|avancé] pour la suite des [discussions|"
        "travaux].",
        "[Quelques jours plus tôt|La semaine dernière], [des associations|des élus "
        "locaux|les syndicats] de {city2} avaient [réclamé|demandé] [des garanties|"
        "davantage de moyens|un report].",
        "Pour [de nombreux|plusieurs] observateurs, le sujet devrait [dominer|"
        "occuper] [les prochaines semaines|la campagne].",
        "[Dans le même temps|Parallèlement], {org2} a fait savoir vouloir suivre la "
        "situation [de près|attentivement] et publier de nouveaux chiffres en {month}.",
        "[Plusieurs|Certains] [juristes|économistes|spécialistes] doutent que le "
        "calendrier soit [réaliste|tenable].",
        "[Interrogé|Sollicité] [par la presse|par des journalistes] [à {city}|en marge d'un "
        "déplacement], {p1_last} [a refusé de|n'a pas voulu] [commenter|s'exprimer sur] "
        "[les rumeurs|ces informations|le calendrier].",
        "[D'après|Selon] [un document|une note interne|un rapport] [consulté par|transmis "
        "à] la rédaction, [le coût|la facture|l'enveloppe] pourrait [dépasser|atteindre] "
        "{money}.",
        "[Sur les réseaux sociaux|Dans les cafés|Sur les marchés] de {city2}, [le sujet|"
        "l'affaire|la nouvelle] [alimente|suscite] [de vifs débats|des réactions contrastées|"
        "beaucoup de commentaires].",
        "[Il s'agit|C'est] [du troisième|du deuxième|d'un nouveau] [revers|épisode|"
        "rebondissement] [en {n} mois|depuis {month}|cette année] pour {org}.",
        "[Les élus|Les responsables|Les représentants] [locaux|régionaux] de {city2} "
        "[disent|affirment] [ne pas avoir été consultés|avoir été informés tardivement|"
        "attendre des précisions].",
        "[En coulisses|En privé|À huis clos], [plusieurs|certains] [responsables|"
        "conseillers|cadres] [reconnaissent|admettent] [un manque de préparation|des "
        "erreurs de communication|des divisions internes].",
        "[Le texte|Le projet|Le dispositif] [prévoit|comporte] [aussi|également] {n} "
        "[mesures|volets|articles] [destinés|consacrés] [aux plus modestes|aux jeunes|aux "
        "territoires ruraux].",
        "[La dernière|La précédente] [tentative|initiative] de ce type remonte à {year0}, "
        "[rappellent|soulignent] [les historiens|les spécialistes|les archives].",
    ),
    "quote_frames": (
        "« {quote} », a déclaré {p1_last}.",
        "« {quote} », a [affirmé|assuré] {p1_last} {weekday} à {city}.",
        "« {quote} », estime {p2}, {p2_role}.",
        "{p2_last} se montre plus [direct|tranchant] : « {quote}. »",
    ),
    "page": {"home": "Accueil", "share": "Partager cet article", "subscribe":
             "Abonnez-vous à notre newsletter",
             "related": "À lire aussi", "popular": "Les plus lus", "by": "Par",
             "updated": "Mis à jour", "read_more": "Lire aussi :", "ad": "Publicité",
             "sections": ("International", "Politique", "Économie", "Sciences", "Santé",
                          "Sport", "Tech", "Culture", "Opinions"),
             "world_sub": ("Europe", "Afrique", "Asie"),
             "rights": "Tous droits réservés.",
             "footer": ("Qui sommes-nous", "Contact", "Mentions légales", "Confidentialité",
                        "Gestion des cookies", "Recrutement", "Archives")},
}

_ES = {
    "first": ("Lucía", "Javier", "Carmen", "Alejandro", "Elena", "Pablo", "Marta", "Diego",
              "Isabel", "Sergio", "Paula", "Andrés", "Raquel", "Miguel", "Beatriz", "Tomás",
              "Silvia", "Rodrigo", "Natalia", "Gonzalo", "Ana", "Fernando"),
    "last": ("García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro",
             "Torres", "Domínguez", "Vázquez", "Ramos", "Gil", "Serrano", "Molina", "Ortega",
             "Delgado", "Castro", "Rubio", "Herrera", "Medina", "Iglesias", "Cortés"),
    "places": (("Madrid", "España", "MADRID"), ("Barcelona", "España", "BARCELONA"),
               ("Sevilla", "España", "SEVILLE"), ("Valencia", "España", "VALENCIA"),
               ("Bilbao", "España", "BILBAO"), ("Buenos Aires", "Argentina", "BUENOS AIRES"),
               ("Lima", "Perú", "LIMA"), ("Santiago", "Chile", "SANTIAGO"),
               ("Bogotá", "Colombia", "BOGOTA"), ("Montevideo", "Uruguay", "MONTEVIDEO"),
               ("Quito", "Ecuador", "QUITO"), ("Zaragoza", "España", "ZARAGOZA"),
               ("Málaga", "España", "MALAGA"), ("Ciudad de México", "México", "MEXICO CITY")),
    "weekdays": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "months": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
               "septiembre", "octubre", "noviembre", "diciembre"),
    "wires": ("EFE", "AFP", "Reuters"),
    "topics": {
        "politics": {
            "section": ("Política",),
            "items": ("reforma de las pensiones", "ley de vivienda", "reforma electoral",
                      "ley de presupuestos", "ley de educación", "reforma judicial",
                      "reforma laboral"),
            "roles": ("la presidenta del Gobierno", "el ministro del Interior",
                      "la líder de la oposición", "el portavoz parlamentario",
                      "la ministra de Justicia", "el senador"),
            "orgs": ("la coalición de gobierno", "el Partido Renovador", "la Unión Cívica",
                     "el Senado", "la Alianza Progresista", "el Movimiento Ciudadano"),
            "titles": ("La {item} [divide|enfrenta] al Gobierno",
                       "{p1_last} [defiende|presenta] la {item}",
                       "Miles de personas protestan en {city} contra la {item}",
                       "Qué cambia la {item} para [las familias|los jubilados|los inquilinos]"),
            "ledes": (
                "Tras [semanas|meses] de [negociaciones|conversaciones] [difíciles|tensas], "
                "{org} [alcanzó|anunció] el {weekday} en {city} un [acuerdo|pacto] sobre la "
                "{item}.",
                "{p1_role_cap} {p1} [presentó|defendió] el {weekday} la {item} y [prometió|"
                "aseguró] que entrará en vigor [antes de|en] {year}.",
                "Miles de personas [se manifestaron|salieron a la calle] el {weekday} en "
                "{city} contra la {item}, mientras el Congreso [seguía debatiendo|retomaba el "
                "debate de] el texto.",
                "La {item} amenaza con [romper|fracturar] {org} después de que {p1_role} {p1} "
                "[lanzara un ultimátum|exigiera cambios] el {weekday}."),
            "body": (
                "Según [los datos|las estimaciones] {org2_de}, [unos|más de] {big} "
                "[hogares|trabajadores|familias] se verían afectados por la reforma.",
                "Los [críticos|detractores] [reprochan|acusan] al Gobierno de haber "
                "[redactado|aprobado] el texto sin [consultar|negociar] con las comunidades "
                "autónomas.",
                "{p2_role_cap} {p2} [calificó|definió] la decisión como [«una traición»|«un "
                "error histórico»|«un primer paso»] y [exigió|pidió] [una comisión de "
                "investigación|elecciones anticipadas].",
                "Según las [últimas|más recientes] encuestas, el {pct} de los [votantes|"
                "encuestados] [rechaza|apoya] la reforma, frente al {pct2} de {month}.",
                "La coalición cuenta con {seats} de los {seats_total} escaños, una mayoría "
                "[frágil|estrecha|holgada].",
                "El debate en comisión se prolongó [más de|casi] {n2} horas y se presentaron "
                "{n3} enmiendas.",
                "En el entorno de {p1_last} no se descarta [una remodelación del Gobierno|un "
                "aplazamiento|un acuerdo] en las próximas semanas."),
            "quotes": (
                "Hemos escuchado a la ciudadanía y este [texto|acuerdo] es el [resultado|"
                "reflejo] de ello",
                "Esto no es el final del debate, es [solo|apenas] el principio",
                "El Gobierno ha perdido [toda credibilidad|el contacto con la calle]",
                "Seguiremos luchando hasta que [cada voto|cada hogar] cuente"),
        },
        "economy": {
            "section": ("Economía",),
            "items": ("decisión sobre los tipos", "subida de precios", "reestructuración",
                      "negociación comercial", "previsión de crecimiento", "fusión bancaria",
                      "reforma fiscal"),
            "roles": ("el ministro de Economía", "la gobernadora del banco central",
                      "el economista jefe", "la consejera delegada", "el líder sindical"),
            "orgs": ("el grupo Castellan", "el Banco del Litoral",
                     "el Instituto Nacional de Estadística", "la constructora Meridian",
                     "la Cámara de Comercio", "el grupo Helvion"),
            "titles": ("La inflación [baja|sube] al {pct} en {month}",
                       "{org_cap} [anuncia|plantea] recortar {big} empleos",
                       "{p1_last} [defiende|justifica] la {item}"),
            "ledes": (
                "La economía de {country} [creció|se contrajo] un {pct} en el [primer|segundo|"
                "tercer|cuarto] trimestre, según los datos publicados el {weekday} por {org2}.",
                "{org_cap} anunció el {weekday} el despido de [cerca de|unos] {big} "
                "trabajadores y lo atribuyó al [aumento|encarecimiento] de la energía y a la "
                "[débil|menor] demanda.",
                "{p1_role_cap} {p1} [defendió|justificó] el {weekday} la {item} y "
                "[aseguró|afirmó] que los precios [seguirán bajando|se mantendrán estables].",
                "Los precios de consumo subieron un {pct} interanual en {month}, según los "
                "datos difundidos el {weekday}."),
            "body": (
                "Los analistas [esperaban|preveían] de media un aumento del {pct2}.",
                "La tasa de paro se situó en el {pct}, con [unos|cerca de] {big} "
                "desempleados.",
                "La operación, valorada en {money}, debería completarse en un plazo de {n} "
                "[meses|años].",
                "{p2_role_cap} {p2} [advirtió|alertó] de que muchas [familias|pymes] están "
                "[al límite|asfixiadas] y [reclamó|pidió] [más ayudas|medidas urgentes].",
                "Los sindicatos [anunciaron|convocaron] [huelgas|movilizaciones] contra los "
                "despidos.",
                "El banco central [mantuvo|subió|bajó] el tipo de interés [al|en el] {rate} "
                "en su [última|anterior] reunión, en {month}.",
                "Las exportaciones [cayeron|crecieron] un {pct2} en el mismo periodo."),
            "quotes": (
                "Los datos demuestran que lo peor [ya ha pasado|aún no ha terminado]",
                "Las empresas necesitan [certidumbre|estabilidad] para volver a invertir",
                "Ha sido una decisión [difícil|dolorosa], pero [necesaria|inevitable]"),
        },
        "defence": {
            "section": ("Internacional",),
            "items": ("ejercicio militar", "contrato de armamento", "presupuesto de defensa",
                      "despliegue naval", "programa de misiles"),
            "roles": ("la ministra de Defensa", "el jefe del Estado Mayor",
                      "el portavoz del Ejército", "el almirante"),
            "orgs": ("el Ejército", "la OTAN", "el Ministerio de Defensa", "el grupo Valmont",
                     "la Armada"),
            "titles": ("El {item} [eleva|dispara] la tensión en la frontera",
                       "{p1_last} [firma|defiende] un contrato de armamento de {money}"),
            "ledes": (
                "{org_cap} inició el {weekday} un [amplio|gran] ejercicio militar cerca de la "
                "frontera, con la participación de [unos|más de] {big} soldados.",
                "{p1_role_cap} {p1} firmó el {weekday} en {city} un contrato de armamento de "
                "{money}, [uno de los mayores|el mayor] de la historia del país."),
            "body": (
                "El ejercicio durará {n} [días|semanas] e incluirá maniobras [terrestres, "
                "navales y aéreas|conjuntas con los aliados].",
                "{p2_role_cap} {p2} aseguró que se trata de una medida [puramente "
                "defensiva|de precaución] que no va dirigida contra ningún país.",
                "El gasto militar [representa|alcanza] ya el {pct} del PIB, frente al {pct2} "
                "de {year0}.",
                "Varios expertos dudan de que las Fuerzas Armadas tengan personal suficiente "
                "para manejar los nuevos equipos.",
                "El contrato incluye {n} [cazas|sistemas de defensa aérea|patrulleros], y "
                "las primeras unidades llegarán en {year}."),
            "quotes": (
                "Nuestras fuerzas están preparadas para responder a cualquier [amenaza|"
                "provocación]",
                "Seguimos la situación muy de cerca junto a nuestros aliados"),
        },
        "science": {
            "section": ("Ciencia",),
            "items": ("estudio sobre los corales", "censo de aves", "experimento de fusión",
                      "seguimiento de glaciares", "hallazgo de fósiles",
                      "proyecto de exploración submarina"),
            "roles": ("la investigadora", "el catedrático", "la astrofísica", "el biólogo",
                      "la climatóloga"),
            "orgs": ("la Universidad de {city}", "el Instituto Halvorsen",
                     "el Centro de Investigación Marina", "el laboratorio nacional"),
            "titles": ("Científicos [publican resultados inesperados|logran un hallazgo "
                       "sorprendente]",
                       "El {item} [sorprende|preocupa] a los expertos"),
            "ledes": (
                "Investigadores {org_de} publicaron el {weekday} los resultados de un {item} "
                "que [cuestionan|desmontan] [varias|muchas] ideas establecidas.",
                "Un {item} dirigido por {p1_role} {p1} ha permitido identificar {n2} "
                "[especies|estructuras] [hasta ahora desconocidas|nuevas]."),
            "body": (
                "El equipo analizó [muestras|datos] recogidos entre {year0} y {year1} en {n} "
                "lugares.",
                "{p2_role_cap} {p2}, que no participó en el estudio, considera el método "
                "[sólido|riguroso], pero advierte contra las conclusiones precipitadas.",
                "Las mediciones muestran un cambio del {pct} en el periodo, muy por encima de "
                "las estimaciones anteriores.",
                "La [próxima|segunda] fase del proyecto está prevista para {year}.",
                "Los resultados se publicaron en una revista [científica|de referencia] y "
                "deberán ser confirmados por otros equipos."),
            "quotes": (
                "Los datos nos [sorprendieron|asombraron], y precisamente por eso este "
                "trabajo es necesario",
                "Por fin tenemos cifras donde antes solo teníamos suposiciones"),
        },
        "sport": {
            "section": ("Deportes",),
            "items": ("final de copa", "semifinal", "eliminatoria", "final del torneo",
                      "Supercopa", "jornada inaugural"),
            "roles": ("el entrenador", "el capitán", "el delantero", "la portera",
                      "el presidente del club"),
            "orgs": ("el Deportivo {city}", "el Real Norte", "la selección",
                     "el Atlético Costa", "el Unión Sierra"),
            "titles": ("{org_cap} [gana|pierde] la {item}",
                       "{p1_last} [da la victoria|rescata un punto] en la {item}"),
            "ledes": (
                "{org_cap} [ganó|perdió] la {item} por {score} el {weekday} en {city}, con "
                "[un doblete|el gol decisivo] {p1_role_de} {p1} [en la segunda parte|justo "
                "antes del descanso].",
                "{p1_role_cap} {p1} [dejará|ha renovado con] {org} [tras|antes de] la {item}, "
                "anunció el club el {weekday}."),
            "body": (
                "[Cerca de|Más de] {big} espectadores siguieron el partido en un estadio "
                "[lleno|abarrotado].",
                "Los [visitantes|locales] dominaron la primera parte, pero no marcaron hasta "
                "el minuto {minute}.",
                "{p2_role_cap} {p2} reconoció que al equipo le faltó [energía|intensidad|"
                "acierto].",
                "Con este [triunfo|resultado], {org} suma {points} puntos, {n} [más|menos] "
                "que {org2}.",
                "En el partido de ida, en {city2}, ambos equipos empataron a {n} goles."),
            "quotes": (
                "El equipo ha demostrado carácter, pero queda mucho trabajo por hacer",
                "A partir de ahora cada partido es una final para nosotros"),
        },
        "health": {
            "section": ("Salud",),
            "items": ("escasez de medicamentos", "crisis de la sanidad",
                      "saturación de las urgencias", "falta de médicos",
                      "lista de espera quirúrgica", "epidemia de gripe"),
            "roles": ("la ministra de Sanidad", "el epidemiólogo",
                      "la directora del hospital", "el médico de familia"),
            "orgs": ("el Ministerio de Sanidad", "la agencia de salud pública",
                     "el Hospital de {city}", "el colegio de médicos"),
            "titles": ("{item_cap}: [aumentan los casos|empeora la situación]",
                       "{p1_last} [presenta|anuncia] un plan contra la {item}"),
            "ledes": (
                "Las autoridades sanitarias registraron el {weekday} {big} casos relacionados "
                "con el brote de [sarampión|gripe], un {pct} más que la semana anterior.",
                "{p1_role_cap} {p1} presentó el {weekday} un plan de {money} para [hacer "
                "frente a|combatir] la {item}."),
            "body": (
                "[Unos|Más de] {big} pacientes esperan actualmente una operación, una cifra "
                "[récord|sin precedentes] desde {year0}.",
                "{p2_role_cap} {p2} pidió a la población [vacunarse|beber agua con "
                "frecuencia|cuidar de las personas mayores].",
                "Por la falta de personal, los hospitales de {city2} funcionan al {pct} de "
                "su capacidad.",
                "Las farmacias registran desde {month} problemas de suministro de {n} "
                "medicamentos de uso habitual."),
            "quotes": (
                "Nadie debería esperar meses para recibir un tratamiento urgente",
                "Nuestros sanitarios están [agotados|al límite]"),
        },
        "technology": {
            "section": ("Tecnología",),
            "items": ("modelo de inteligencia artificial", "teléfono inteligente",
                      "procesador", "servicio de internet por satélite", "centro de datos",
                      "sistema de pagos"),
            "roles": ("la consejera delegada", "el analista",
                      "el ministro de Transformación Digital", "la investigadora de seguridad"),
            "orgs": ("Quillon Systems", "NovaGrid", "Corvid Semiconductors", "Lumenfield",
                     "Parallax Mobile"),
            "titles": ("{org_cap} [presenta|retrasa] su {item}",
                       "Filtración de datos en {org}: {big} clientes afectados"),
            "ledes": (
                "{org_cap} [presentó|anunció] el {weekday} un [nuevo|esperado] {item} y "
                "prometió [costes más bajos|un menor consumo de energía].",
                "Las autoridades de {city} abrieron el {weekday} una investigación contra "
                "{org} tras una filtración de datos que expuso la información de {big} "
                "clientes."),
            "body": (
                "La empresa asegura haber invertido {money} en la tecnología desde {year0}.",
                "{p2_role_cap} {p2} considera que los competidores de {country2} avanzan "
                "[más rápido|con más decisión] y podrían ganar cuota de mercado.",
                "Las acciones [subieron|cayeron] un {pct} tras el anuncio.",
                "La planta creará [hasta|unos] {big} empleos cuando abra en {year}.",
                "La caída del servicio duró [casi|unas] {n2} horas y afectó a sistemas de "
                "pago en {n} países."),
            "quotes": (
                "Los usuarios tienen derecho a saber qué se hace con sus datos",
                "La tecnología está lista; la cuestión ahora es la confianza"),
        },
    },
    "generic": (
        "La financiación del proyecto [sigue sin estar clara|no está clara] [por ahora|de "
        "momento].",
        "{p2_last} no respondió a las solicitudes de comentarios el {weekday}.",
        "El anuncio llega tras {n} [días|semanas|meses] de [especulaciones|"
        "conversaciones] en {city}.",
        "Según [varios|algunos] analistas, la decisión podría tener consecuencias más allá "
        "de {country}.",
        "Un portavoz {org_de} indicó que [la organización|el grupo] [estudiará|analizará] "
        "[con detenimiento|en detalle] las propuestas.",
        "La prensa [local|regional] de {city2} recuerda que proyectos [similares|parecidos] "
        "[fracasaron|se abandonaron] en {year0}.",
        "Se han [previsto|programado] nuevas [reuniones|conversaciones] [la próxima semana|"
        "a finales de mes|en {month}] en {city}.",
        "{org_cap} acumula [críticas|años de críticas] por su gestión del [asunto|"
        "problema].",
        "En {city2}, los vecinos consultados se muestran [divididos|preocupados|"
        "moderadamente optimistas].",
        "A modo de comparación, {country2} [adoptó|abandonó] un modelo [similar|parecido] en "
        "{year0}.",
        "{p1_last}, de {age} años, [tiene fama de negociar con dureza|suena como posible "
        "relevo|es una figura poco conocida fuera de {city}].",
        "Un informe [independiente|oficial] calcula el coste en {money} a lo largo de {n} "
        "años.",
        "No se ha tomado ninguna decisión y todas las opciones siguen sobre la mesa, "
        "[según fuentes oficiales|indicaron desde el ministerio].",
        "Ya en {month}, {p2} había [advertido|alertado] de que los [costes|problemas] "
        "podrían [dispararse|agravarse].",
        "Según una encuesta {org2_de}, el {pct} de los encuestados [apoya|respalda] el "
        "proyecto, mientras que el {pct2} [se opone|no tiene opinión].",
        "Se espera un informe detallado [para|en] {month}.",
        "La oposición acusa {org_a} de [actuar tarde|imponer su criterio|ignorar a los "
        "expertos], algo que [sus responsables|el Gobierno] [niegan|rechazan].",
        "No se ha fijado un calendario para las próximas [negociaciones|fases].",
        "[Días antes|La semana pasada], [asociaciones|ayuntamientos|sindicatos] de {city2} "
        "habían [reclamado|pedido] [garantías|más recursos|un aplazamiento].",
        "Para [muchos|varios] observadores, el asunto [marcará|dominará] [las próximas "
        "semanas|la campaña].",
        "[Al mismo tiempo|Mientras tanto], {org2} anunció que seguirá la situación [de "
        "cerca|con atención] y publicará nuevas cifras en {month}.",
        "[Varios|Algunos] [juristas|economistas|expertos] dudan de que el calendario sea "
        "[realista|viable].",
        "[Preguntado|Consultado] [por la prensa|por los periodistas] [en {city}|durante un "
        "acto público], {p1_last} [evitó|rehusó] [comentar|pronunciarse sobre] [los "
        "rumores|esas informaciones|el calendario].",
        "[Según|De acuerdo con] [un documento|un informe interno|una nota] [al que ha tenido "
        "acceso|consultado por] este diario, [el coste|la factura|la partida] podría "
        "[superar|alcanzar] {money}.",
        "[En las redes sociales|En los bares|En los mercados] de {city2}, [el asunto|la "
        "noticia|el caso] [genera|provoca] [un intenso debate|reacciones dispares|muchos "
        "comentarios].",
        "Se trata del [tercer|segundo|enésimo] [revés|episodio|sobresalto] [en {n} meses|"
        "desde {month}|este año] para {org}.",
        "[Los responsables|Los cargos|Los representantes] [locales|regionales] de {city2} "
        "[aseguran|dicen] [no haber sido consultados|haberse enterado por la prensa|"
        "esperar más detalles].",
        "[En privado|Entre bastidores|A puerta cerrada], [varios|algunos] [dirigentes|"
        "asesores|cargos] [reconocen|admiten] [falta de preparación|errores de "
        "comunicación|divisiones internas].",
        "[El texto|El proyecto|La propuesta] [incluye|contempla] [además|también] {n} "
        "[medidas|apartados|artículos] [dirigidos|destinados] [a los más vulnerables|a los "
        "jóvenes|a las zonas rurales].",
        "[El último|El anterior] intento de este tipo se remonta a {year0}, [recuerdan|"
        "señalan] [los historiadores|los especialistas|las hemerotecas].",
    ),
    "quote_frames": (
        "«{quote}», declaró {p1_last}.",
        "«{quote}», [afirmó|aseguró] {p1_last} el {weekday} en {city}.",
        "«{quote}», señaló {p2}, {p2_role}.",
        "{p2_last} fue más [directo|tajante]: «{quote}».",
    ),
    "page": {"home": "Inicio", "share": "Compartir este artículo", "subscribe":
             "Suscríbase a nuestro boletín",
             "related": "Noticias relacionadas", "popular": "Lo más leído", "by": "Por",
             "updated": "Actualizado", "read_more": "Lea también:", "ad": "Publicidad",
             "sections": ("Internacional", "Política", "Economía", "Ciencia", "Salud",
                          "Deportes", "Tecnología", "Cultura", "Opinión"),
             "world_sub": ("Europa", "América", "Asia"),
             "rights": "Todos los derechos reservados.",
             "footer": ("Quiénes somos", "Contacto", "Aviso legal", "Privacidad",
                        "Configuración de cookies", "Trabaja con nosotros", "Hemeroteca")},
}

LANGUAGE_DATA = {"en": _EN, "de": _DE, "fr": _FR, "es": _ES}
#: Relative weight of each language in a mixed sample: English dominates.
LANGUAGE_WEIGHTS = {"en": 7.0, "de": 1.0, "fr": 1.0, "es": 1.0}


@dataclass(frozen=True)
class Outlet:
    domain: str
    site_name: str
    language: str
    url_style: str  # dated: /section/YYYY/MM/DD/slug ; id: /section/slug-123456 ; html


OUTLETS = (
    Outlet("example-news.test", "Example News", "en", "dated"),
    Outlet("dailyherald.example", "The Daily Herald", "en", "dated"),
    Outlet("metro-tribune.test", "Metro Tribune", "en", "id"),
    Outlet("coastal-courier.example", "Coastal Courier", "en", "html"),
    Outlet("globe-ledger.test", "The Globe Ledger", "en", "dated"),
    Outlet("northern-star.example", "Northern Star", "en", "id"),
    Outlet("tagesbote.example", "Der Tagesbote", "de", "html"),
    Outlet("rundschau-online.test", "Rundschau Online", "de", "id"),
    Outlet("le-quotidien.example", "Le Quotidien", "fr", "dated"),
    Outlet("courrier-du-matin.test", "Courrier du Matin", "fr", "id"),
    Outlet("diario-central.example", "Diario Central", "es", "dated"),
    Outlet("la-voz-del-sur.test", "La Voz del Sur", "es", "html"),
)
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

_EDITS = {
    "en": ((" said ", " says "), (" percent", " per cent"), (" about ", " around "),
           (" more than ", " over "), (" However, ", " But "),
           (" on Monday", " Monday"), (" on Tuesday", " Tuesday"), (" on Friday", " Friday"),
           (" would ", " will "), (" roughly ", " about "), (" nearly ", " almost ")),
    "de": ((" sagte ", " erklärte "), (" rund ", " etwa "), (" mehr als ", " über "),
           (" am Montag", " am Montagabend"), (" nun ", " jetzt ")),
    "fr": ((" a déclaré ", " a affirmé "), (" environ ", " près de "),
           (" plus de ", " au-delà de "), (" selon ", " d'après ")),
    "es": ((" declaró ", " afirmó "), (" unos ", " alrededor de "),
           (" más de ", " por encima de "), (" según ", " de acuerdo con ")),
}


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
    edits = list(_EDITS.get(article.language, ()))
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
        prog="python -m newsflow.pipelines.sample_corpus",
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
