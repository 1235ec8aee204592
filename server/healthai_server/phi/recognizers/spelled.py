"""Numbers written as words, for dictated notes: "june eleventh nineteen fifty two", "march
twelfth twenty twenty five", "her mother is ninety three". Regex sources only (no state);
the date and age recognizers use them.

A dictation's transcript spells out what a typist would write in digits, so a date is a
month name followed by a day (an ordinal word, or a cardinal word with a year after it) and
optionally a year read in pairs ("nineteen fifty two", "twenty oh five") or in thousands
("two thousand and five").
"""

from __future__ import annotations

import re

from healthai_server.textmatch import word_alternation

_UNITS = "one|two|three|four|five|six|seven|eight|nine"
_TEENS = "ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_ORD_UNITS = "first|second|third|fourth|fifth|sixth|seventh|eighth|ninth"
_ORD_TEENS = (
    "tenth|eleventh|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|"
    "twentieth|thirtieth"
)
_SEP = r"(?:[ \t]{1,2}|-)"

# 1..99 as words: "seven", "fifteen", "fifty two", "fifty-two".
TWO_DIGITS = rf"(?:(?:{_TENS})(?:{_SEP}(?:{_UNITS}))?|(?:{_TEENS})|(?:{_UNITS}))"
# A day of the month as an ordinal: "first", "eleventh", "twenty first", "thirtieth".
ORDINAL_DAY = rf"(?:(?:twenty|thirty){_SEP}(?:{_ORD_UNITS})|(?:{_ORD_TEENS})|(?:{_ORD_UNITS}))"
# A day as a cardinal ("june eleven nineteen fifty two"): only taken with a year after it.
CARDINAL_DAY = rf"(?:twenty(?:{_SEP}(?:{_UNITS}))?|thirty(?:{_SEP}one)?|(?:{_TEENS})|(?:{_UNITS}))"
# A year read in pairs or in thousands: "nineteen fifty two", "nineteen oh five", "twenty
# twenty five", "two thousand and three", "two thousand".
SPELLED_YEAR = (
    rf"(?:(?:nineteen|twenty){_SEP}(?:(?:{_TENS})(?:{_SEP}(?:{_UNITS}))?|(?:{_TEENS})|(?:oh|o){_SEP}(?:{_UNITS})|hundred)"
    rf"|two{_SEP}thousand(?:{_SEP}(?:and{_SEP})?{TWO_DIGITS})?)"
)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_YEAR_AT_END = re.compile(rf"(?i:{SPELLED_YEAR})$")


def spelled_date_regex() -> str:
    """Regex source of a spelled-out date: the month, then an ordinal day (a year may follow),
    a cardinal day and a year, or a year alone ("june nineteen fifty two"). Case-insensitive:
    dictations are often all lower case. Starts with a character class, so `re` skips ahead."""
    year = rf"(?:,?{_SEP}(?:of{_SEP})?{SPELLED_YEAR})"
    return (
        word_alternation(_MONTHS)
        + rf"(?i:{_SEP}(?:(?:the{_SEP})?{ORDINAL_DAY}{year}?|{CARDINAL_DAY}{year}|{SPELLED_YEAR}))(?![A-Za-z-])"
    )


def spelled_date_ok(value: str) -> bool | None:
    """ "may" is also a verb ("you may first try"): with it, a date needs its year."""
    if value[:3].lower() == "may" and _YEAR_AT_END.search(value) is None:
        return False
    return None


def ordinal_of_month_regex() -> str:
    """Regex source of a day spoken before its month: "the twenty-eighth of October, 2026", "the
    fifth of march twenty twenty seven", "the 9th of Nov", "the twenty-third of April, fifty-four"
    (a year read as two digits after a comma). Case-insensitive; an ordinal then "of" then a
    month's name is a date in any register, so no context is needed."""
    numeric_ord = r"(?:[1-9]|[12][0-9]|3[01])(?:st|nd|rd|th)"
    month = rf"(?:{_MONTHS}|jan|feb|mar|apr|jun|jul|aug|sept?|oct|nov|dec)"
    year = (
        rf"(?:\.?,?[ \t]{{1,2}}(?:(?:19|20)[0-9]{{2}}(?![0-9])|{SPELLED_YEAR})"
        rf"|,[ \t]{{1,2}}(?:{_TENS})(?:{_SEP}(?:{_UNITS}))?)"
    )
    return (
        rf"(?i:(?<![\w-])(?:{ORDINAL_DAY}|{numeric_ord}){_SEP}of{_SEP}{month}(?![a-z])(?:{year}(?![\w-]))?"
        rf"|(?<![\w-]){month}\.?{_SEP}the{_SEP}{numeric_ord}(?![\w-]))"
    )


def may_hold_ordinal_of_month(text: str) -> bool:
    """Substring checks before ordinal_of_month_regex scans the note."""
    low = text.lower()
    return (" of " in low or " the " in low) and any(month[:3] in low for month in _MONTH_NAMES)


def may_hold_spelled_ordinal(text: str) -> bool:
    """Substring checks before a spelled ordinal day is looked for ("on the fourteenth was")."""
    low = text.lower()
    return " the " in low and any(part in low for part in _ORDINAL_PARTS)


_ORDINAL_PARTS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
                  "eleventh", "twelfth", "teenth", "tieth")  # fmt: skip


# Parts of the words a spelled day or year must contain: a day is an ordinal word or a cardinal
# followed by a year, and a year holds "teen", "twent" or "thousand".
_DAY_OR_YEAR_PARTS = (
    "teen", "twent", "thirt", "thousand", "first", "second", "third", "fourth", "fifth", "sixth", "seventh",
    "eighth", "ninth", "tenth", "eleventh", "twelfth",
)  # fmt: skip
_MONTH_NAMES = tuple(_MONTHS.split("|"))


def may_hold_spelled_date(text: str) -> bool:
    """Substring checks (fast, in C) before the spelled-date regex scans the note: a month name
    and a part of a spelled day or year. Most notes have neither in words."""
    low = text.lower()
    return any(part in low for part in _DAY_OR_YEAR_PARTS) and any(month in low for month in _MONTH_NAMES)
