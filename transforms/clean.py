"""Text-level cleaning: the boilerplate that extraction misses or that text dumps already carry.

Removes page-date header lines, breadcrumbs (also glued ones: "HomeWorldAsia..."), the title
repeated at the top, byline lines, share/subscribe/newsletter lines, "Read more: <headline>"
lines, paragraphs repeated verbatim, and related-links furniture:

* a "RELATED ARTICLES" / "Lesen Sie auch" / "À lire aussi" marker followed by link-shaped
  lines is a *box* when prose follows it: the box goes, the article after it stays;
* it starts the *tail* when nothing but link-shaped lines follows: the tail goes;
* trailing link-shaped lines (at least ``_LINK_LIST_MIN_LINES``) go too.

A line is link-shaped when it is short and does not end a sentence. Sentence ends are known in
Latin, CJK (。！？), Arabic (؟ ۔), Devanagari (। ॥) and Burmese (။) scripts; text in scripts
written without sentence punctuation (Thai, Lao, Khmer) is never taken for links, and short
CJK paragraphs are measured by display width, so a Japanese article's closing paragraphs stay.

Wire credits ("(AP)", "— AFP") and datelines ("SEOUL :", "WASHINGTON (AP) —") are moved into
their own fields, not lost; a mention such as "according to TASS" is body text and stays.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from newsflow.schemas import Draft
from newsflow.transforms.classify import display_length
from newsflow.transforms.stage import ApplyStep, Step
from newsflow.transforms.timestamps import is_date_line

#: Agency credit spellings -> the name recorded in ``wire``.
WIRE_AGENCIES = {
    "ap": "AP", "associated press": "AP", "the associated press": "AP", "reuters": "Reuters",
    "afp": "AFP", "agence france-presse": "AFP", "dpa": "dpa", "xinhua": "Xinhua",
    "yonhap": "Yonhap", "kyodo": "Kyodo", "pti": "PTI", "ians": "IANS", "ani": "ANI",
    "upi": "UPI", "efe": "EFE", "ansa": "ANSA", "bloomberg": "Bloomberg", "tass": "TASS",
    "aap": "AAP", "cp": "CP", "the canadian press": "CP", "bernama": "Bernama",
}
_AGENCY = "|".join(sorted((re.escape(k) for k in WIRE_AGENCIES), key=len, reverse=True))
_TRAILING_CREDIT = re.compile(
    rf"\s*(?:\((?P<paren>{_AGENCY})\)|[—–-]{{1,2}}\s*(?P<dash>{_AGENCY}))\s*$", re.IGNORECASE)
_DATELINE = re.compile(
    r"^(?P<dateline>"
    r"(?:[A-Z][A-Z.'\-]+(?: [A-Z][A-Z.'\-]+){0,3}"  # WASHINGTON, NEW YORK
    rf"(?:,\s*[A-Z][A-Za-z.]+(?:\s+\d{{1,2}})?)?(?:\s*\((?P<agency>(?i:{_AGENCY}))\))?"
    r"(?=\s*[—–:-]))"
    r"|(?:[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}(?=\s+[—–:]\s))"  # Seoul :  /  New Delhi —
    rf"|(?:[A-ZÀ-Þ][a-zß-ÿ]+(?:[ -][A-ZÀ-Þ][a-zß-ÿ]+){{0,2}}\s*\((?P<agency2>(?i:{_AGENCY}))\)"
    r"(?=\s*[—–:-]))"  # Berlin (dpa) -  /  París (EFE) —
    r")\s*[—–:-]{1,2}\s+")
_DATELINE_STOPWORDS = {"update", "updated", "editor", "note", "warning", "breaking", "watch",
                       "photo", "video", "listen", "opinion", "analysis", "exclusive", "live"}

# Page furniture in English, German, French and Spanish (the languages the topic taxonomy and
# the sample corpus cover); other languages keep their furniture until someone adds theirs.
_WEEKDAY = (r"(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day|montag|dienstag|mittwoch|"
            r"donnerstag|freitag|samstag|sonntag|lundi|mardi|mercredi|jeudi|vendredi|samedi|"
            r"dimanche|lunes|martes|miércoles|miercoles|jueves|viernes|sábado|sabado|domingo)")
_MONTH = (r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|januar|februar|märz|"
          r"mai|juni|juli|oktober|dezember|janvier|février|fevrier|mars|avril|juin|juillet|"
          r"août|aout|septembre|octobre|novembre|décembre|decembre|enero|febrero|marzo|abril|"
          r"mayo|junio|julio|agosto|septiembre|setiembre|octubre|noviembre|diciembre)[a-z]*\.?")
_PAGE_DATE_LINE = re.compile(
    r"^(?:(?:updated|published|posted|last updated|aktualisiert|veröffentlicht|mis à jour|"
    r"publié le|actualizado|publicado)\s*:?\s*)?(?:(?:le|am|el)\s+)?"
    rf"(?:{_WEEKDAY},?\s+)?(?:"
    rf"{_MONTH}\s+\d{{1,2}},?\s+\d{{4}}|\d{{1,2}}\.?\s+(?:de\s+)?{_MONTH},?\s+(?:de\s+)?\d{{4}}|"
    r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4})"
    r"(?:,?\s*(?:at|um|à|a las)?\s*\d{1,2}[:.h]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*uhr)?"
    r"(?:\s*[A-Z]{2,4})?)?\s*$",
    re.IGNORECASE)
_HOME = r"(?:home|start|news|startseite|accueil|inicio|portada)"
_BREADCRUMB_SEPARATED = re.compile(rf"^{_HOME}\s*[>»/|›]", re.IGNORECASE)
_GLUED_BREADCRUMB = re.compile(
    r"^(?:Home|News|Start|Startseite|Accueil|Inicio|Portada)(?:[A-ZÀ-Þ][a-zß-ÿ&-]+){1,5}$")
_TAIL_MARKERS = re.compile(
    r"^(?:related articles?|related stories|related content|related|most popular|most read|"
    r"more stories|more from [\w .'-]+|recommended(?: for you| stories)?|you may also like|"
    r"you might also like|trending(?: now| stories)?|popular now|latest news|read next|"
    r"more on this story|top stories|also read|see also|"
    r"mehr zum thema|meistgelesen|weitere artikel|das könnte sie auch interessieren|"
    r"lesen sie auch|à lire aussi|les plus lus|sur le même sujet|lire aussi|"
    r"noticias relacionadas|lo más leído|te puede interesar|más noticias|"
    r"читайте также|смотрите также|по теме|اقرأ أيضا|اقرأ أيضاً|مواضيع ذات صلة|"
    r"相关新闻|相关阅读|延伸阅读|相關新聞|延伸閱讀|関連記事|関連ニュース|관련기사|관련 기사|"
    r"เรื่องที่เกี่ยวข้อง|ข่าวที่เกี่ยวข้อง)\s*:?$",
    re.IGNORECASE)
_JUNK_LINE = re.compile(
    r"^(?:read more|continue reading|click here|share (?:this|on)\b|share$|tweet$|"
    r"subscribe\b|sign up\b|follow us\b|join our\b|get our\b|advertisement$|"
    r"(?:our |the )?newsletter\b|email this\b|print this\b|copy link$|"
    r"download our app\b|listen to this article\b|"
    r"artikel teilen|newsletter abonnieren|anzeige$|weiterlesen$|"
    r"partager cet article|abonnez-vous\b|publicité$|lire la suite$|"
    r"compartir (?:este|en)\b|suscríbete\b|publicidad$|leer más$)", re.IGNORECASE)
_INLINE_RELATED = re.compile(
    r"^(?:read more|read also|also read|see also|related|more|watch|listen|recommended|"
    r"mehr zum thema|lesen sie auch|lesen sie mehr|auch interessant|siehe auch|"
    r"à lire aussi|lire aussi|voir aussi|lea también|lee también|te puede interesar|"
    r"leggi anche|leia também|leia mais)\s*[:|»›–—-]\s*\S", re.IGNORECASE)
_INLINE_RELATED_MAX_CHARS = 200
_END_MARKER = re.compile(r"^(?:\(end\)|\(끝\)|【end】|-30-|###)$", re.IGNORECASE)
_COPYRIGHT = re.compile(r"^(?:©|™|\(c\)\s*(?:19|20)\d\d|copyright\b|all rights reserved)",
                        re.IGNORECASE)
_EMAIL_ONLY = re.compile(r"^[\w.+-]+@[\w-]+(?:\.[\w-]+)+$")
_BYLINE_LINE = re.compile(
    r"^(?:[-–—]{1,2}\s*)?(?i:by|von|par|por|di|door)\s*:?\s+"
    r"(?P<names>[A-ZÀ-ÞĀ-ſ][\w.'’-]+(?:[ ,&]+(?:and |und |et |y )?[A-ZÀ-ÞĀ-ſ][\w.'’-]+){1,8})"
    r"(?:\s*(?:,\s*[\w ]{2,40}|(?i:follow) @\w+|\|.*))?$")
_JUNK_MAX_CHARS = 140
_LINK_LIST_MAX_CHARS = 80
_LINK_LIST_MIN_LINES = 3
_TITLE_MAX_CHARS = 200
_BOX_MAX_LINES = 8
_PROSE_CHARS = 200
_SENTENCE_CHARS = 40
_DATA_SHARE = 0.25
_DUPLICATE_MIN_CHARS = 40
_HEAD_LINES = 3
#: Sentence-final punctuation in the scripts we know; closing quotes/brackets may follow.
_SENTENCE_END = (".", "!", "?", ":", ";", "…", "。", "！", "？", "｡", "．", "؟", "۔", "।",
                 "॥", "။", "።")
_CLOSERS = "\"'”’)»」』）】〕》〉"
#: Scripts written without sentence punctuation: a line's end says nothing about links.
_BULLET = re.compile(r"^[-–•·*▪►]\s+")
_UNPUNCTUATED_SCRIPT = re.compile(r"[\u0e00-\u0eff\u1780-\u17ff\u0f00-\u0fff]")


@dataclass(frozen=True)
class CleanResult:
    text: str
    title: str | None
    wire: str | None
    dateline: str | None
    removed: tuple[str, ...]  # what was removed, by kind: page_date, breadcrumb, title, ...
    authors: tuple[str, ...] = ()  # names from a "By ..." line the cleaner removed


def normalize_whitespace(line: str) -> str:
    line = unicodedata.normalize("NFC", line).replace("\u00a0", " ").replace("\u200b", "")
    return re.sub(r"[ \t\f\v]+", " ", line).strip()


def _comparable(text: str) -> str:
    """What two lines must share to say the same thing: words, case-folded."""
    return re.sub(r"\W+", " ", text).strip().casefold()


def _same_text(a: str, b: str) -> bool:
    return bool(a) and _comparable(a) == _comparable(b)


def _ends_sentence(line: str) -> bool:
    return line.rstrip(_CLOSERS).endswith(_SENTENCE_END)


def is_link_shaped(line: str, in_box: bool = False) -> bool:
    """Short and not a sentence: a headline or a link. A bulleted line, or a line in a
    related-links box, counts unless it ends with a full stop. Outside a box, lines in scripts
    without sentence punctuation are never taken for links (their ends say nothing)."""
    if display_length(line) > _LINK_LIST_MAX_CHARS or _is_data(line):
        return False
    if _BULLET.match(line) or in_box:  # headlines may ask or exclaim, they don't stop
        return not line.rstrip(_CLOSERS).endswith((".", "。", "．"))
    if not in_box and _UNPUNCTUATED_SCRIPT.search(line):
        return False
    return not _ends_sentence(line)


def _is_data(line: str) -> bool:
    """A table row or cell (prices, scores, sizes), not a headline."""
    chars = [ch for ch in line if not ch.isspace()]
    return bool(chars) and sum(ch.isdigit() or ch in "€$£¥%" for ch in chars) / len(chars) \
        >= _DATA_SHARE


def _has_prose(lines: list[str]) -> bool:
    """A paragraph: a sentence of some length, or a long line (scripts without full stops)."""
    return any((_ends_sentence(line) and display_length(line) >= _SENTENCE_CHARS and
                not is_link_shaped(line)) or display_length(line) >= _PROSE_CHARS
               for line in lines)


def _strip_head(lines: list[str], title: str | None,
                removed: list[str]) -> tuple[list[str], str | None]:
    """Drop page-date lines, breadcrumbs and the repeated title from the top of the text."""
    for _ in range(6):  # the head is a handful of lines; never eat into the body
        if not lines:
            break
        first = lines[0]
        following = lines[1] if len(lines) > 1 else ""
        if _PAGE_DATE_LINE.match(first) or is_date_line(first):
            removed.append("page_date")
        elif _BREADCRUMB_SEPARATED.match(first) and len(first) <= _TITLE_MAX_CHARS:
            removed.append("breadcrumb")
        elif _GLUED_BREADCRUMB.match(first):
            removed.append("breadcrumb")
        elif following and first.endswith(following) and first != following and \
                _GLUED_BREADCRUMB.match(first[: -len(following)]):
            removed.append("breadcrumb")  # "HomeWorldAsia" glued onto the headline
            title = title or following
        elif title and _same_text(first, title):
            removed.append("title")
        elif title is None and len(first) <= _TITLE_MAX_CHARS and not _ends_sentence(first) \
                and following and _same_text(first, following):
            title = first  # a text dump's headline, printed twice
            removed.append("title")
        else:
            break
        lines = lines[1:]
    return lines, title


def _strip_tail(lines: list[str], removed: list[str]) -> list[str]:
    """Remove related-links boxes, cut a related-links tail, drop trailing link lists."""
    index = 1
    while index < len(lines):
        if not _TAIL_MARKERS.match(lines[index]):
            index += 1
            continue
        end = index + 1
        while end < len(lines) and end - index <= _BOX_MAX_LINES and \
                (is_link_shaped(lines[end], in_box=True) or _TAIL_MARKERS.match(lines[end])):
            end += 1
        if _has_prose(lines[end:]):
            removed.append("related_box")
            lines = lines[:index] + lines[end:]
            continue
        removed.append("related_tail")
        lines = lines[:index]
        break
    run = 0
    for line in reversed(lines):
        if is_link_shaped(line):
            run += 1
        else:
            break
    if run >= _LINK_LIST_MIN_LINES and run < len(lines):
        removed.append("link_list")
        lines = lines[: len(lines) - run]
    return lines


def byline_names(line: str) -> tuple[str, ...]:
    """The names of a "By A and B" / "-- By A, Role" line, or () when it is not one."""
    if len(line) > _TITLE_MAX_CHARS:
        return ()
    match = _BYLINE_LINE.match(line)
    if not match:
        return ()
    names = re.split(r"\s*(?:,|&|\band\b|\bund\b|\bet\b|\by\b)\s*", match.group("names"))
    return tuple(name for name in names if len(name.split()) >= 2)


def _strip_bylines(lines: list[str], authors: tuple[str, ...],
                   removed: list[str]) -> tuple[list[str], tuple[str, ...]]:
    """Byline lines among the first and last lines: "By A and B", or a short line naming the
    authors already known ("Autori: Anna Ūdre (...)", "Patricio Candia | Palma | 08/01/2014")."""
    found: list[str] = []
    known = [a.casefold() for a in authors if len(a) >= 4]
    kept = []
    last = len(lines) - 1
    for index, line in enumerate(lines):
        edge = index < _HEAD_LINES or index >= last - 1
        if edge and len(line) <= _TITLE_MAX_CHARS and not _ends_sentence(line):
            names = byline_names(line)
            folded = line.casefold()
            if names or any(name in folded[:len(name) + 12] for name in known):
                removed.append("byline")
                found.extend(names)
                continue
        kept.append(line)
    return kept, tuple(dict.fromkeys(found))


def _drop_repeats(lines: list[str], removed: list[str]) -> list[str]:
    """A paragraph printed twice (mobile and desktop copies) is kept once."""
    seen, kept = set(), []
    for line in lines:
        key = re.sub(r"\W+", "", line.casefold())
        if len(line) >= _DUPLICATE_MIN_CHARS and key in seen:
            removed.append("repeated_paragraph")
            continue
        seen.add(key)
        kept.append(line)
    return kept


def extract_wire_credit(lines: list[str]) -> tuple[list[str], str | None]:
    """A credit closing the last paragraph ("... (AP)", "... — AFP") becomes ``wire``."""
    if not lines:
        return lines, None
    match = _TRAILING_CREDIT.search(lines[-1])
    if not match:
        return lines, None
    agency = WIRE_AGENCIES[(match.group("paren") or match.group("dash")).lower()]
    rest = lines[-1][: match.start()].rstrip()
    return (lines[:-1] + [rest] if rest else lines[:-1]), agency


def extract_dateline(lines: list[str]) -> tuple[list[str], str | None, str | None]:
    """A dateline opening the first paragraph becomes ``dateline`` (and its agency ``wire``)."""
    if not lines:
        return lines, None, None
    match = _DATELINE.match(lines[0])
    if not match:
        return lines, None, None
    dateline = match.group("dateline").strip()
    if dateline.split()[0].lower().strip(".,") in _DATELINE_STOPWORDS:
        return lines, None, None
    rest = lines[0][match.end():]
    if len(rest) < 20:  # a short label line, not a dateline opening a paragraph
        return lines, None, None
    agency = match.group("agency") or match.group("agency2")
    return [rest] + lines[1:], dateline, WIRE_AGENCIES[agency.lower()] if agency else None


def clean_text(text: str, title: str | None = None,
               authors: tuple[str, ...] = ()) -> CleanResult:
    """Clean extracted or dumped article text; paragraphs come back separated by blank lines.

    ``authors`` (known from the page) lets byline lines naming them be recognized.
    """
    lines = [normalize_whitespace(line) for line in text.splitlines()]
    lines = [line for line in lines if line]
    title = normalize_whitespace(title) if title else None
    removed: list[str] = []
    lines, title = _strip_head(lines, title, removed)
    kept = []
    title_words = _comparable(title) if title else None
    for line in lines:
        if len(line) <= _INLINE_RELATED_MAX_CHARS and _INLINE_RELATED.match(line):
            removed.append("related_link")
        elif len(line) <= _JUNK_MAX_CHARS and _JUNK_LINE.match(line):
            removed.append("share_or_subscribe")
        elif _END_MARKER.match(line) or _EMAIL_ONLY.match(line):
            removed.append("end_marker")
        elif len(line) <= _JUNK_MAX_CHARS and _COPYRIGHT.match(line):
            removed.append("copyright")
        elif title and kept and _comparable(line) == title_words:
            removed.append("title")
        else:
            kept.append(line)
    kept = _strip_tail(kept, removed)
    kept, byline_authors = _strip_bylines(kept, authors, removed)
    kept = _drop_repeats(kept, removed)
    kept, wire = extract_wire_credit(kept)
    kept, dateline, dateline_wire = extract_dateline(kept)
    return CleanResult(text="\n\n".join(kept), title=title, wire=wire or dateline_wire,
                       dateline=dateline, removed=tuple(removed), authors=byline_authors)


class CleanStep(Step):
    """Draft -> Draft with boilerplate removed and ``wire``/``dateline`` set."""

    name = "clean"

    def apply(self, draft: Draft) -> Draft:
        result = clean_text(draft.text, draft.title, draft.authors)
        return draft.replace(text=result.text, title=result.title,
                             authors=draft.authors or result.authors,
                             wire=result.wire or draft.wire, dateline=result.dateline,
                             removed=result.removed)


class CleanText(ApplyStep):
    """Draft -> Draft with boilerplate removed and ``wire``/``dateline`` set."""

    def __init__(self):
        super().__init__(CleanStep())
