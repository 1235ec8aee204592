"""Numbers in clinical patterns: doses, vitals, lab values, scores, durations, counts, ages
up to 89. Anything else with digits is an unexplained number, which the recall-first pass
removes. Every function reads only a short window around the number (linear time)."""

from __future__ import annotations

import re

from healthai_server.phi.safe.vocabulary import SafeVocabulary

# A number as written: digits with decimal points, thousands commas, ratios, times and ranges.
NUMBER = re.compile(r"\d+(?:(?:[.,:/]|[ \t]?-[ \t]?)\d+)*")
_UNIT_AFTER = re.compile(r"[ \t]?-?[ \t]?(%|°[CFcf]?|[^\W\d_]+(?:[./][^\W\d_]+)*\.?(?:/[^\W\d_]+\d?)?)")
_WORD_BEFORE = re.compile(r"([^\W\d_][^\W_]*)[ \t]*(?:[:=#-][ \t]*|\([^)]{0,12}\)[ \t]*)?$")
_FILLERS = frozenset({"of", "was", "is", "at", "to", "from", "now", "up", "down", "then", "and", "or", "by"})
_ORDINAL = re.compile(r"\d{1,3}(?:st|nd|rd|th)", re.IGNORECASE)
_RUNS = re.compile(r"\d+|[^\W\d_]+")
MAX_PLAIN_INT = 89
# A year alone is not a Safe Harbor identifier; dates with a year are the DATE recognizer's.
_YEAR = re.compile(r"(?:19|20)\d\d")
# Crisis and service lines, printed in every discharge packet.
_SERVICE_NUMBERS = frozenset({"911", "988", "211", "311", "411", "511", "711", "811"})
# Denominators of clinical scales: halves to tenths (fractions, murmur and strength grades, pain).
_SCALES = frozenset({2, 3, 4, 5, 6, 10})
_AGE_UNITS = frozenset({"yo", "y/o", "yom", "yof", "year", "years", "yr", "yrs", "y"})
_RANGE = re.compile(r"(\d{1,3})[ \t]?-[ \t]?(\d{1,3})")
# "pt is 91", "She's 90", "aged 93", "turned 100": a number after these is an age, whatever
# label ("PT", "s") the words around it also spell. An age over 89 is an identifier.
_AGE_CUE = re.compile(
    r"(?:\b(?:pt|patient|she|he|who|participant|resident|member|mother|father|mom|dad|wife|husband)"
    r"[ \t]+(?:is|was|now)|['\u2019]s|\bage[ds]?:?|\bturn(?:ed|s|ing)|\bat[ \t]+age)[ \t]*$",
    re.IGNORECASE,
)
MAX_AGE = 125


def unit_after(text: str, end: int, vocab: SafeVocabulary) -> str | None:
    """The unit right after a number ("40 mg", "3 months", "72-year-old", "94%"), lower-case."""
    m = _UNIT_AFTER.match(text, end, min(len(text), end + 24))
    if m is None:
        return None
    unit = m.group(1).lower().rstrip(".")
    if unit in vocab.units or unit in ("%", "°"):
        return unit
    head = unit.split("/", 1)[0]
    return head if head in vocab.units else None


def label_before(text: str, start: int, vocab: SafeVocabulary) -> bool:
    """ "HR 88", "Na: 134", "BNP was 1,240", "GCS of 15"."""
    window_start = max(0, start - 40)
    window = text[window_start:start]
    glued = window[-1:] in ("-", ".") and window[-2:-1].isalpha()
    if glued and _digits_at(text, start) >= 3:
        return False  # "PT-5521", "DR.0061874", "K-88410": a code, not "label: value"
    for _ in range(3):
        m = _WORD_BEFORE.search(window)
        if m is None:
            return False
        word = m.group(1).lower()
        if word in _FILLERS:  # "out of 10" is the unit "out"; "evening of 1/18" is no label
            window = window[: m.start()].rstrip(" \t")
            continue
        if window[m.start() - 1 : m.start()] in ("'", "\u2019"):
            return False  # "She's 90": the "s" of a contraction is not seconds
        return word in vocab.labels or word in vocab.units
    return False


def _digits_at(text: str, start: int) -> int:
    end = start
    while end < len(text) and text[end].isdecimal():
        end += 1
    return end - start


def is_clinical_number(text: str, start: int, end: int, vocab: SafeVocabulary) -> bool:
    """Whether the number text[start:end] (a NUMBER match) is clinical, not an identifier."""
    value = text[start:end]
    unit = unit_after(text, end, vocab)
    if unit in _AGE_UNITS and value.isdecimal() and int(value) > MAX_PLAIN_INT:
        return False  # "92 yo", "94-year-old": an age over 89 is an identifier
    if (
        unit is None
        and value.isdecimal()
        and MAX_PLAIN_INT < int(value) <= MAX_AGE
        and _AGE_CUE.search(text, max(0, start - 24), start)
    ):
        return False
    if unit is not None or label_before(text, start, vocab):
        return True
    if "/" in value:  # blood pressure, fractions, murmur grades: small parts only
        parts = value.split("/")
        if len(parts) != 2 or not all(p.isdecimal() and int(p) <= 300 for p in parts):
            return False
        top, bottom = int(parts[0]), int(parts[1])
        # "2/20" with no label or unit reads as a month and day; grades and fractions have a
        # small scale ("2/6", "3/10", "1/2", "5/5").
        # A grade never exceeds its scale: "11/10" is November 10th.
        return not (1 <= top <= 12 and 1 <= bottom <= 31) or (bottom in _SCALES and top <= bottom) or top == bottom
    if ":" in value:  # a time of day
        parts = value.split(":")
        return len(parts) == 2 and all(len(p) <= 2 for p in parts) and int(parts[0]) <= 24 and int(parts[1]) < 60
    if "." in value and "," not in value and value.count(".") == 1:
        whole, fraction = value.split(".")
        return len(whole) <= 3 and len(fraction) <= 3
    if value.isdecimal():
        if _YEAR.fullmatch(value) or value in _SERVICE_NUMBERS:
            return True
        return len(value) <= 2 and int(value) <= MAX_PLAIN_INT
    m = _RANGE.fullmatch(value)  # "2-3 times", "10-12": both ends plain small numbers
    return m is not None and all(int(g) <= MAX_PLAIN_INT and len(g) <= 2 for g in m.groups())


def is_clinical_code(token: str, vocab: SafeVocabulary) -> bool:
    """A token of letters and digits that is clinical: "SpO2", "T2DM", "2nd", "40mg", "q4h", "G2P1"."""
    if vocab.knows(token) or _ORDINAL.fullmatch(token):
        return True
    runs = _RUNS.findall(token.lower())
    digits = sum(len(r) for r in runs if r.isdecimal())
    if digits > 3:
        return False
    letters = [r for r in runs if not r.isdecimal()]
    return bool(letters) and all(r in vocab.units or r in vocab.labels for r in letters)
