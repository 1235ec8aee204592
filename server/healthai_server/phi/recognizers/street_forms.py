"""Street addresses in forms the house-number pattern (patterns.STREET_RE) does not take:
"1400 block of J Street" (police and EMS reports give the block, not the house), the cross
street of an intersection ("S. College Ave at Harmony Rd"), and numbered routes named with a
place ("Navajo Route 7", "Rural Route 2"). Each is a street under both policies."""

from __future__ import annotations

from healthai_server.domain.phi import PhiType
from healthai_server.phi.recognizers.base import Pattern, PatternRecognizer
from healthai_server.phi.wordlists import street_suffix_re

_DIRECTION = r"(?:[NSEW]\.?|North|South|East|West)"
_STREET_NAME = r"(?:[A-Z]|\d{1,3}(?:st|nd|rd|th)|[A-Z][a-z'’-]+(?:[ \t][A-Z][a-z'’-]+){0,2})"
# Suffixes that name a street and nothing else here ("Dr" is a doctor, "Center" a building).
_PLAIN_SUFFIX = (
    r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Drive|Ln|Lane|Way|Hwy|Highway|Pkwy|Parkway|Ct|Court|Pl|"
    r"Place|Ter|Terrace|Cir|Circle|Trl|Trail)"
)
SCORE = 0.85

_BLOCK = (
    rf"\d(?<![\w-]\d)\d{{0,4}}[ \t](?:block|Block|BLOCK)[ \t]of[ \t](?:{_DIRECTION}[ \t])?{_STREET_NAME}[ \t]"
    rf"{street_suffix_re()}(?![\w])\.?"
)
# The cross street after a named street, with its "at"/"and" (an intersection is one location);
# the first street is the house-number pattern's or ours.
_CROSS = (
    rf"[A-Z][a-z'’-]+[ \t]{_PLAIN_SUFFIX}\.?[ \t]"
    rf"(?P<cross>(?:at|and|&)[ \t](?:{_DIRECTION}[ \t])?[A-Z][a-z'’-]+(?:[ \t][A-Z][a-z'’-]+)?[ \t]"
    rf"{_PLAIN_SUFFIX}(?![\w])\.?)"
)
# A highway alone is where a crash happened ("on Hwy 29"), not where someone lives: only with a
# name before it ("Navajo Route 7", "Rural Route 2") or as a county road; "Route 2 of 3" is a step.
_ROUTE = (
    r"(?:[A-Z][a-z'’-]+[ \t](?:Route|Rte\.?|Highway|Hwy\.?)|County Road|Farm Road|Ranch Road)"
    r"[ \t]\d{1,4}[A-Z]?(?![\w/.-])"
)


def street_form_recognizers() -> list[PatternRecognizer]:
    return [
        PatternRecognizer(
            "street_forms",
            PhiType.STREET_ADDRESS,
            [
                Pattern("block_of", _BLOCK, SCORE),
                Pattern("cross_street", _CROSS, SCORE, group="cross"),
                Pattern("numbered_route", _ROUTE, SCORE),
            ],
        )
    ]
