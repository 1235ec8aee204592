"""The one interpretation of a vital-sign reading, for the engine and the output validator.

Ranges, units and paediatric bands come from data/vitals.json (loaded once); the stated age of
the patient, when the note gives one, picks the paediatric band (a normal infant heart rate of
150 is NORMAL, not HIGH).
"""

from __future__ import annotations

import re

from healthai_server.domain.clinical import VitalInterpretation, VitalKind
from healthai_server.engine.resources import AgeBand, VitalDefinition, load_vitals

_IMPLAUSIBLE = VitalInterpretation.IMPLAUSIBLE
_UNSPECIFIED = VitalInterpretation.UNSPECIFIED
_CRITICAL_LOW, _LOW = VitalInterpretation.CRITICAL_LOW, VitalInterpretation.LOW
_CRITICAL_HIGH, _HIGH = VitalInterpretation.CRITICAL_HIGH, VitalInterpretation.HIGH
_NORMAL = VitalInterpretation.NORMAL

ADULT_AGE_YEARS = 18.0

# "62-year-old", "3 month old", "10 y/o", "17 yo", "age: 5", "aged 4"; "infant", "newborn", "neonate".
_AGE = re.compile(
    r"\b(?P<n>\d{1,3})(?:\.\d)?[ \t-]*(?P<u>years?|yrs?|months?|mos?|weeks?|wks?|days?)[ \t-]*old\b"
    r"|\b(?P<n2>\d{1,3})[ \t]*(?:y/o|yo|y\.o\.)(?![a-z])"
    r"|\bage[sd]?[ \t]*:?[ \t]*(?P<n3>\d{1,3})\b"
    r"|\b(?P<baby>infant|newborn|neonate|neonatal)\b",
    re.IGNORECASE,
)
_PER_YEAR = {"y": 1.0, "m": 12.0, "w": 52.0, "d": 365.0}


def stated_age_years(text: str, limit: int = 4000) -> float | None:
    """The patient's age as the note states it first (searched in its first `limit` characters,
    where demographics are written), or None."""
    match = _AGE.search(text, 0, min(len(text), limit))
    if match is None:
        return None
    if match.group("baby"):
        return 0.0
    if match.group("n") is not None:
        return int(match.group("n")) / _PER_YEAR[match.group("u")[0].lower()]
    return float(match.group("n2") or match.group("n3"))


class VitalRanges:
    def __init__(self, definitions: dict[VitalKind, VitalDefinition] | None = None) -> None:
        self.definitions = definitions if definitions is not None else load_vitals()

    def to_canonical(self, kind: VitalKind, value: float, unit: str) -> float | None:
        """The value in the kind's canonical unit, rounded to 2 decimals; None when `unit` is not
        one the kind is measured in."""
        conversion = self.definitions[kind].units.get(unit)
        if conversion is None:
            return None
        scale, shift = conversion
        return round((value + shift) * scale, 2)

    def interpret(
        self, kind: VitalKind, value: float, unit: str, age_years: float | None = None
    ) -> VitalInterpretation:
        """The reading against the kind's ranges (paediatric ones when `age_years` < 18).
        A unit the kind is not measured in gives UNSPECIFIED."""
        definition = self.definitions[kind]
        canonical = self.to_canonical(kind, value, unit)
        if canonical is None:
            return _UNSPECIFIED
        if canonical < definition.implausible_low or canonical > definition.implausible_high:
            return _IMPLAUSIBLE
        if not definition.interpret:
            return _UNSPECIFIED
        bounds: VitalDefinition | AgeBand = definition
        if age_years is not None and age_years < ADULT_AGE_YEARS:
            for band in definition.paediatric:
                if age_years < band.below_age_years:
                    bounds = band
                    break
        if bounds.critical_low is not None and canonical < bounds.critical_low:
            return _CRITICAL_LOW
        if bounds.low is not None and canonical < bounds.low:
            return _LOW
        if bounds.critical_high is not None and canonical > bounds.critical_high:
            return _CRITICAL_HIGH
        if bounds.high is not None and canonical > bounds.high:
            return _HIGH
        return _NORMAL
