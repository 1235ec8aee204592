"""Multi-token shapes the recall-first pass removes whole, though each token alone is safe:
a month with a day or year ("Aug 5", "5th of March", "March 2024") and an informal street
("lives at 41 maple st"). Linear regexes; the callers remove the tokens these spans cover."""

from __future__ import annotations

import re
from collections.abc import Iterator

from healthai_server.domain.phi import PhiType
from healthai_server.phi.recognizers.patterns import street_ok
from healthai_server.phi.wordlists import street_suffix_re, unit_designator_re

_MONTH = (
    r"(?:(?i:jan(?:uary)?|feb(?:ruary)?|apr(?:il)?|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|"
    r"nov(?:ember)?|dec(?:ember)?)|May|MAY|Mar|MAR|March|MARCH)"
)
_MONTH_DATE = re.compile(
    rf"(?<![\w]){_MONTH}\.?[ \t]{{1,2}}(?:(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?![\d:/.])(?:,?[ \t]{{1,2}}\d{{4}})?"
    r"|\d{4})(?!\w)"
    r"|(?<![\w/.])(?P<day2>\d{1,2})(?:st|nd|rd|th)?[ \t]{1,2}(?:of[ \t]{1,2})?"
    rf"{_MONTH}(?![a-z])\.?(?:,?[ \t]{{1,2}}\d{{4}})?",
)
# The second day of a range after a month ("June 9-10", "Feb 24 or 25th").
_MONTH_RANGE = re.compile(
    rf"(?<![\w]){_MONTH}\.?[ \t]{{1,2}}(?:[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?"
    r"(?:[ \t]?[-\u2013][ \t]?|[ \t](?:to|or|and|through|thru)[ \t])"
    r"(?P<end>(?:[1-9]|[12]\d|3[01])(?:st|nd|rd|th)?)(?![\w:/]|\.\d)"
    r"(?:[ \t]*(?P<unit>[^\W\d_]+|%))?"
)
_STREET_WORDS = (
    r"(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|circle|cir|way|place|pl|"
    r"terrace|parkway|pkwy|highway|hwy|trail|trl)"
)
_INFORMAL_STREET = re.compile(
    rf"(?<![\w.,/-])\d{{1,6}}[ \t]{{1,2}}(?:[A-Za-z][A-Za-z'-]{{1,20}}[ \t]{{1,2}}){{1,3}}{_STREET_WORDS}(?![\w])\.?",
    re.IGNORECASE,
)
# A month named alone is a date element ("last albuterol use March", "labs due October"):
# Title case or ALL CAPS anywhere but "May" (a verb at the start of a sentence); lower case
# and "May" after a word that introduces a time.
_TIME_WORD = (
    r"(?:since|in|until|till|during|early|late|mid|by|last|next|this|from|through|before|after|around|due|of|use)"
)
_MONTH_ALONE = re.compile(
    r"(?<![\w'-])(?P<m>January|February|March|April|June|July|August|September|October|November|December|"
    r"JANUARY|FEBRUARY|MARCH|APRIL|JUNE|JULY|AUGUST|SEPTEMBER|OCTOBER|NOVEMBER|DECEMBER)(?![\w'-])"
    rf"|\b(?i:{_TIME_WORD})[ \t](?P<m2>(?i:january|february|march|april|june|july|august|september|october|"
    r"november|december)|May|MAY|may(?=[.,;]))(?![\w'-])"
)
# A day of the month written as an ordinal: "on the 6th", "around the 18th.", "Feb 24 or 25th?".
# An ordinal before a noun is clinical ("3rd trimester", "2nd dose"), so only after a word that
# introduces a time, or before punctuation, "of" or the end of a line.
_ORDINAL_DAY = re.compile(
    r"(?i:\b(?:on|by|until|till|since|from|to|before|after|around|through|thru|or|and|than|is|was)[ \t]"
    r"(?:the[ \t]{1,2})?(?P<d>(?:[1-9]|[12]\d|3[01])(?:st|nd|rd|th))(?![\w])"
    r"|\bthe[ \t](?P<d2>(?:[1-9]|[12]\d|3[01])(?:st|nd|rd|th))(?=[ \t]*(?:[.,;:?!)]|of\b|$)))",
    re.MULTILINE,
)
# What follows a street: a direction, a route number, units ("Unit 3", "Building C, Suite 310",
# "Lot 19", "piso 8", "Lote 14", "18th Floor"). Removed with the street found before it.
_UNIT_WORD = rf"(?:{unit_designator_re()}|(?i:unit|apt|suite|lot|lote|piso|floor|building|bldg|space|trailer|room|rm))"
_STREET_TAIL = re.compile(
    r"(?:[ \t]{1,2}(?:[NSEW]|NE|NW|SE|SW|North|South|East|West|NORTH|SOUTH|EAST|WEST)\b\.?"
    r"|[ \t]{1,2}\d{1,4}(?![\w.,:/-]\w)"
    rf"|,?[ \t]{{0,2}}{_UNIT_WORD}\.?[ \t]{{0,2}}#?[ \t]{{0,2}}[A-Za-z0-9-]{{1,6}}(?![\w-])"
    r"|,?[ \t]{0,2}\d{1,3}(?:st|nd|rd|th)[ \t](?:[Ff]loor|FLOOR)\b)+"
)
# A street of any USPS suffix after a house number ("N14W23755 Stone Ridge Dr", "41 birchwood
# run", "15 Rt 36"); the words between are checked against the safe list by the caller.
_ANY_STREET = re.compile(
    r"(?<![\w.,/-])(?:[NSEW]?\d{1,6}(?:[NSEW]\d{1,6})?|One|Two|Three|Four|Five)[ \t]{1,2}"
    rf"(?P<words>(?:[^\W\d_][A-Za-z'-]{{1,20}}[ \t]{{1,2}}){{1,3}})"
    rf"(?P<suffix>{street_suffix_re()}|(?i:rt|rte|run|way|loop|path|pass|walk|row|trail|ridge|hollow|plaza))\b\.?"
    r"(?:[ \t]{1,2}\d{1,4}\b)?",
)
# A town before ", ST" and a ZIP code, a line end or punctuation ("58 Old Quarry Rd, Barre, VT").
# "MD" and "PA" are also credentials ("Lena Holt, MD"): with them a ZIP code must follow.
_STATE_CODES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|"
    "OH|OK|OR|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|PR"
)
_CITY_STATE = re.compile(
    r"(?<![\w'-])(?P<city>(?:[A-Z][\w'.-]{1,20}[ \t]){0,2}[A-Z][\w'.-]{1,20}),[ \t]{1,2}"
    rf"(?:(?:{_STATE_CODES})(?=[ \t]{{0,2}}(?:\d{{5}}|$|[.,;)|])|[ \t]{{1,2}}\d{{5}})"
    r"|(?:MD|PA)(?=[ \t]{1,2}\d{5}))",
    re.MULTILINE,
)
# Routes numbered after a house number ("15 Rt 36 N") and streets named before their number
# ("Av. Providencia 1550, piso 8", "Rua Augusta 1200").
_ROUTE = re.compile(
    r"(?<![\w.,/-])\d{1,6}[ \t]{1,2}(?:Rt|Rte|Route|Hwy|Highway|SR|CR|US|State[ \t]Road|County[ \t]Road)\.?"
    r"[ \t]{1,2}[A-Z0-9]{1,4}(?![\w-])"
    r"|(?<![\w])(?:Av\.|Avda\.|Avenida|Calle|Carrera|Rua|Rue|Via|Paseo|Jr\.|Jir[oó]n)"
    r"(?:[ \t]{1,2}(?:de|del|la|los|das|do|da))?"
    r"(?:[ \t]{1,2}[A-Z][\w'.-]{1,20}){1,3},?[ \t]{1,2}(?:N[º°o]\.?[ \t]?)?\d{1,5}(?![\w-])"
)
# Ages over 89 in words: "ninety-five good years", "she is ninety", "turned one hundred".
_AGE_WORDS = re.compile(
    r"(?i:\b(?:ninety|one[ \t]hundred(?:[ \t]and)?)(?:[- \t](?:one|two|three|four|five|six|seven|eight|nine))?\b)"
    r"(?![\w-])",
)
_YEARS_OR_END = re.compile(r"(?:[ \t]+[a-z]+){0,2}[ \t]+years?\b|[ \t]*(?:[.,;!?\n]|$)")
# After "is"/"turned", a number word is an age unless a measurement follows ("is ninety over
# sixty", "was ninety percent", "ninety milligrams").
_MEASURE_AFTER = re.compile(
    r"[ \t]+(?i:over|percent|per|degrees?|point|milligrams?|mg|beats|bpm|kilos?|kg|pounds?|lbs?|minutes?|"
    r"seconds?|days?|hours?|weeks?|months?|times|mmhg|millimeters?|mm|cc|ml|units?|%)\b|[ \t]*(?:%|/)"
)
_AGE_WORD_CUE = re.compile(
    r"(?i:(?:\b(?:is|was|turned|turns|aged?|had)|['\u2019]s)[ \t]+)$",
)
# Two-letter street suffixes common enough to trust in an informal address.
_SHORT_SUFFIXES = frozenset({"st", "rd", "dr", "ct", "ln", "pl", "av", "rt", "wy", "cv"})
SCORE_DATE = 0.7
# (start, end, confidence, what it is)
Shape = tuple[int, int, float, PhiType]
SCORE_STREET = 0.7


def street_tail(text: str, end: int) -> int:
    """The end of the directions and units that follow a street ending at `end`."""
    m = _STREET_TAIL.match(text, end)
    return m.end() if m else end


# Cheap anchors: Python's `re` skips ahead fast only when a pattern starts with literal text,
# and the full patterns start with look-behinds. Each full pattern runs only in a window
# around a hit of its anchor (a few dozen characters), so the cost is one fast scan per note.
# (A character class first, then the rest: case-insensitive flags would disable the skip.)
_MONTH_ANCHOR = re.compile(
    r"[JjFfMmAaSsOoNnDd](?:an|eb|ar|pr|ay|u[nl]|ug|ep|ct|ov|ec|AN|EB|AR|PR|AY|U[NL]|UG|EP|CT|OV|EC)"
)
_ORDINAL_ANCHOR = re.compile(r"\d(?:st|nd|rd|th|ST|ND|RD|TH)\b")
_STATE_ANCHOR = re.compile(rf",[ \t]{{1,2}}(?:{_STATE_CODES}|MD|PA)\b")
_ROUTE_ANCHOR = re.compile(
    r"(?:Rt|Rte|Route|Hwy|Highway|SR|CR|US|Road|Av|Avda|Avenida|Calle|Carrera|Rua|Rue|Via|Paseo|Jr|Jir)\b"
)
_AGE_ANCHOR = re.compile(r"[NnHh](?:inety|INETY|undred|UNDRED)")


def _around(
    text: str, anchor: re.Pattern[str] | list[tuple[int, int]], full: re.Pattern[str], back: int, ahead: int
) -> Iterator[re.Match[str]]:
    """The matches of `full` in windows around each hit of `anchor` (a pattern, or its hits),
    each once. A match that ends near a window's cut is dropped: "$" and look-aheads would see
    the cut as an end."""
    seen: set[tuple[int, int]] = set()
    size = len(text)
    hits = [a.span() for a in anchor.finditer(text)] if isinstance(anchor, re.Pattern) else anchor
    for a_start, a_end in hits:
        endpos = min(size, a_end + ahead)
        for m in full.finditer(text, max(0, a_start - back), endpos):
            if m.span() in seen or (endpos < size and m.end() > endpos - _CUT_MARGIN):
                continue
            seen.add(m.span())
            yield m


_CUT_MARGIN = 8


def shaped_spans(
    text: str, units: frozenset[str] = frozenset(), function_words: frozenset[str] = frozenset()
) -> list[Shape]:
    """(start, end, confidence, type) of every month-day/year, month, day ordinal and informal street
    in text. "2 weeks of rest" is no street: after plain digits the first word is not a unit,
    and no word is a function word."""
    out: list[Shape] = []
    months = [a.span() for a in _MONTH_ANCHOR.finditer(text)]
    for m in _around(text, _STATE_ANCHOR, _CITY_STATE, 70, 16):
        out.append((m.start("city"), m.end("city"), SCORE_STREET, PhiType.CITY))
    for m in _around(text, _ROUTE_ANCHOR, _ROUTE, 14, 90):
        out.append((m.start(), street_tail(text, m.end()), SCORE_STREET, PhiType.STREET_ADDRESS))
    for m in _around(text, _AGE_ANCHOR, _AGE_WORDS, 6, 40):
        after = _YEARS_OR_END.match(text, m.end(), min(len(text), m.end() + 40))
        followed_by_years = after is not None and "year" in after.group()
        cue = _AGE_WORD_CUE.search(text, max(0, m.start() - 12), m.start()) is not None
        # "her mother is ninety three and lives ...": a dictation runs on without punctuation.
        if followed_by_years or (cue and (after is not None or _MEASURE_AFTER.match(text, m.end()) is None)):
            out.append((m.start(), m.end(), SCORE_DATE, PhiType.AGE))
    for m in _around(text, months, _MONTH_RANGE, 4, 50):
        unit = m.group("unit")
        if unit is None or unit.lower() not in units:  # "March 3 to 5 mg" is a dose
            out.append((m.start("end"), m.end("end"), SCORE_DATE, PhiType.DATE))
    for m in _around(text, months, _MONTH_ALONE, 12, 24):
        group = "m" if m.group("m") else "m2"
        out.append((m.start(group), m.end(group), SCORE_DATE, PhiType.DATE))
    for m in _around(text, _ORDINAL_ANCHOR, _ORDINAL_DAY, 18, 20):
        group = "d" if m.group("d") else "d2"
        out.append((m.start(group), m.end(group), SCORE_DATE, PhiType.DATE))
    for m in _ANY_STREET.finditer(text):
        words = m.group("words").split()
        if m.group()[0].isdecimal() and words[0].lower() in units:
            continue
        if any(not (w.islower() or w.isupper() or w.istitle()) for w in words):
            continue  # "58 dB HL": a mixed-case word is a unit or an acronym, not a street
        suffix = m.group("suffix")
        if len(suffix) <= 2 and suffix.lower() not in _SHORT_SUFFIXES:
            continue
        words = [w.lower() for w in words]
        if not any(w in function_words for w in words) and street_ok(m.group()) is not False:
            out.append((m.start(), street_tail(text, m.end()), SCORE_STREET, PhiType.STREET_ADDRESS))
    for m in _around(text, months, _MONTH_DATE, 16, 40):
        day = m.group("day") or m.group("day2")
        if day is None or 1 <= int(day) <= 31:
            out.append((m.start(), m.end(), SCORE_DATE, PhiType.DATE))
    for m in _INFORMAL_STREET.finditer(text):
        if street_ok(m.group()) is not False:
            out.append((m.start(), street_tail(text, m.end()), SCORE_STREET, PhiType.STREET_ADDRESS))
    return out
