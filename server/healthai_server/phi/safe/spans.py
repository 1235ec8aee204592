"""Multi-token shapes the recall-first pass removes whole, though each token alone is safe:
a month with a day or year ("Aug 5", "5th of March", "March 2024") and an informal street
("lives at 41 maple st"). Linear regexes; the callers remove the tokens these spans cover."""

from __future__ import annotations

import re

from healthai_server.phi.recognizers.patterns import street_ok

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
_STREET_WORDS = (
    r"(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|boulevard|blvd|court|ct|circle|cir|way|place|pl|"
    r"terrace|parkway|pkwy|highway|hwy|trail|trl)"
)
_INFORMAL_STREET = re.compile(
    rf"(?<![\w.,/-])\d{{1,6}}[ \t]{{1,2}}(?:[A-Za-z][A-Za-z'-]{{1,20}}[ \t]{{1,2}}){{1,3}}{_STREET_WORDS}(?![\w])\.?",
    re.IGNORECASE,
)
SCORE_DATE = 0.7
SCORE_STREET = 0.7


def shaped_spans(text: str) -> list[tuple[int, int, float]]:
    """(start, end, confidence) of every month-day/year and informal street in text."""
    out: list[tuple[int, int, float]] = []
    for m in _MONTH_DATE.finditer(text):
        day = m.group("day") or m.group("day2")
        if day is None or 1 <= int(day) <= 31:
            out.append((m.start(), m.end(), SCORE_DATE))
    for m in _INFORMAL_STREET.finditer(text):
        if street_ok(m.group()) is not False:
            out.append((m.start(), m.end(), SCORE_STREET))
    return out
