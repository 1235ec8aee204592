"""Medication attributes after a drug name: dose, strength, form, route, frequency, duration, status.

The attribute window runs from the drug name to the next drug name, line break, ';' or
sentence end, capped at 120 characters; every pattern is bounded (no unbounded nesting).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from healthai_server.domain.clinical import Frequency, MedicationStatus, Quantity, Route
from healthai_server.engine.resources import load_json
from healthai_server.engine.text import FastPattern, matches_ascii_ignoring_case
from healthai_server.engine.units import UnitTable, load_units
from healthai_server.textmatch import first_char_alternation

_WINDOW = 120
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "half": 0.5, "a": 1,
}  # fmt: skip
_NO_ROUTE = Route.UNSPECIFIED  # read once: an Enum member off its class is slow (CPython 3.11)
_WINDOW_END = FastPattern(
    re.compile(r"\n|;|\.\s+(?=[A-Z])|\.$|,\s+(?:and\s+)?(?=[A-Z][a-z])|\band\s+(?=[A-Za-z]+\s\d)")
)


@dataclass(slots=True)  # not frozen: built once per medication, and a frozen __init__ costs 2x
class MedAttributes:
    dose: Quantity | None
    strength: Quantity | None
    form: str
    route: Route
    frequency: Frequency | None
    duration: str
    end: int  # character offset where the instruction ends (drug name end when nothing follows)


@dataclass(frozen=True, slots=True)
class _FrequencyRule:
    regex: re.Pattern[str]
    code: str
    times_per_day: float | None


class MedicationAttributeParser:
    def __init__(self, data: dict[str, Any] | None = None, unit_table: UnitTable | None = None) -> None:
        data = data if data is not None else load_json("medication_attributes.json")
        units_table = unit_table if unit_table is not None else load_units()
        self.units: dict[str, str] = units_table.dose
        self.count_units = units_table.count_units
        units = sorted(self.units, key=len, reverse=True)
        quantity = (
            r"(?<![\w./-])(?P<n>\d{1,5}(?:[.,]\d{1,3})?|\.\d{1,3}|one|two|three|four|half)[ \t]*-?[ \t]*"
            r"(?P<u>UNITS)(?![A-Za-z])"
        )
        self._quantity = re.compile(quantity.replace("UNITS", "|".join(re.escape(u) for u in units)), re.IGNORECASE)
        # The same matches on the lower-cased text of an ASCII window, case-sensitive, the units
        # grouped by first character (3x faster): the units are lower case, and none can match
        # an ASCII character other than itself ignoring case (checked).
        self._quantity_lower: re.Pattern[str] | None = None
        if all(u and not any(matches_ascii_ignoring_case(c) for c in u if not c.isascii()) for u in units):
            grouped = first_char_alternation((u[0], re.escape(u[1:])) for u in units)
            self._quantity_lower = re.compile(quantity.replace("UNITS", grouped))
        self._frequencies = [
            _FrequencyRule(
                re.compile(rf"(?<![A-Za-z])(?:{rule['re']})", re.IGNORECASE),
                str(rule["code"]),
                float(rule["tpd"]) if "tpd" in rule else None,
            )
            for rule in data["frequencies"]
        ]
        self._prn = FastPattern(re.compile(rf"(?<![A-Za-z])(?:{data['prn']})", re.IGNORECASE))
        self._routes = [
            (re.compile(str(rule["re"]), re.IGNORECASE), Route[str(rule["route"])]) for rule in data["routes"]
        ]
        self._forms = [(re.compile(str(rule["re"]), re.IGNORECASE), str(rule["form"])) for rule in data["forms"]]
        # One pass per attribute kind: the rules of a kind as one alternation of named groups
        # (r0, r1, ...). At the leftmost position the first rule in data order wins, which is
        # the rule with the earliest match (ties to the earlier rule), as a loop over the rules.
        self._any_route = FastPattern(_alternation(str(rule["re"]) for rule in data["routes"]))
        self._any_form = FastPattern(_alternation(str(rule["re"]) for rule in data["forms"]))
        self._any_frequency = FastPattern(
            _alternation(rf"(?<![A-Za-z])(?:{rule['re']})" for rule in data["frequencies"])
        )
        # group number of each frequency rule in the alternation; the rule's own first group
        # ("q(\d)h": hours) is the next one
        self._frequency_group = [
            self._any_frequency.pattern.groupindex[f"r{index}"] for index in range(len(self._frequencies))
        ]
        self._duration = FastPattern(re.compile(rf"(?<![A-Za-z])(?:{data['duration']})", re.IGNORECASE))
        self._rare = FastPattern.union_prefilter([self._any_form, self._prn, self._duration])
        status = data["status"]
        self.before_cues: list[tuple[str, MedicationStatus]] = [
            (cue, MedicationStatus[name]) for name, cues in status["before"].items() for cue in cues
        ]
        self.after_cues: list[tuple[str, MedicationStatus]] = [
            (cue, MedicationStatus[name]) for name, cues in status["after"].items() for cue in cues
        ]
        self.section_default: dict[str, MedicationStatus] = {
            str(k): MedicationStatus[str(v)] for k, v in status["section_default"].items()
        }
        self.default_status = MedicationStatus[str(status["default"])]
        self.reactions: list[str] = [str(r) for r in data["reactions"]]
        self.severe_reactions = frozenset(str(r) for r in data["severe_reactions"])

    def window_end(self, text: str, start: int, limit: int) -> int:
        end = min(limit, start + _WINDOW, len(text))
        match = _WINDOW_END.search(text, start, end)
        return match.start() if match else end

    def parse(self, text: str, name_end: int, window_end: int, lowered_text: str | None = None) -> MedAttributes:
        """The attributes written in text[name_end:window_end]. `lowered_text`: text.lower() when
        text is ASCII (the same offsets), if the caller has it."""
        window = text[name_end:window_end]
        # Shared by the patterns below, whose matches may be on it: only their spans are read.
        if lowered_text is not None:
            lowered: str | None = lowered_text[name_end:window_end]
        else:
            lowered = window.lower() if window.isascii() else None
        last = 0
        quantities: list[tuple[Quantity, int]] = []
        if lowered is not None and self._quantity_lower is not None:
            quantity_matches = self._quantity_lower.finditer(lowered)
        else:
            quantity_matches = self._quantity.finditer(window)
        for match in quantity_matches:
            written_number = window[match.start("n") : match.end("n")]  # as written, not lowered
            written_unit = window[match.start("u") : match.end("u")]
            raw_number = written_number.lower().replace(",", ".")
            value = float(_WORD_NUMBERS[raw_number]) if raw_number in _WORD_NUMBERS else float(raw_number)
            unit = self.units.get(written_unit.lower(), written_unit)
            quantities.append((Quantity(value, unit), match.end()))
            if len(quantities) >= 2:
                break
        dose: Quantity | None = None
        strength: Quantity | None = None
        if quantities:
            first, first_end = quantities[0]
            last = max(last, first_end)
            if len(quantities) > 1 and quantities[1][0].unit in self.count_units and first.unit not in self.count_units:
                strength, dose = first, quantities[1][0]
                last = max(last, quantities[1][1])
            else:
                dose = first
        # Form, "as needed" and duration are in few windows: one search for any of them first.
        rare = lowered is None or self._rare is None or self._rare.search(lowered) is not None
        form = ""
        if rare and self._any_form.search_spans(window, lowered) is not None:  # then the first rule in data order wins
            for regex, name in self._forms:
                form_match = regex.search(window)
                if form_match:
                    form = name
                    last = max(last, form_match.end())
                    break
        if dose is not None and dose.unit in ("{tbl}", "{capsule}") and not form:
            form = "tablet" if dose.unit == "{tbl}" else "capsule"
        route = _NO_ROUTE
        any_route = self._any_route.search_spans(window, lowered)
        if any_route is not None and any_route.lastgroup is not None:
            winner = int(any_route.lastgroup[1:])
            route = self._routes[winner][1]
            route_at = any_route.start()
            # Earlier rules matching later in the window also extend the instruction (as the
            # rule-by-rule scan did): their first matches, in rule order, while each is earlier.
            running = len(window) + 1
            for regex, _ in self._routes[:winner]:
                later = regex.search(window, route_at + 1)
                if later is not None and later.start() < running:
                    running = later.start()
                    last = max(last, later.end())
            last = max(last, any_route.end())
        frequency: Frequency | None = None
        prn = self._prn.search_spans(window, lowered) if rare else None
        best: tuple[int, re.Match[str], _FrequencyRule] | None = None
        frequency_match = self._any_frequency.search_spans(window, lowered)
        if frequency_match is not None and frequency_match.lastgroup is not None:
            index = int(frequency_match.lastgroup[1:])
            best = (index, frequency_match, self._frequencies[index])
        if best is not None or prn is not None:
            code = ""
            per_day = 0.0
            f_start, f_end = len(window) + 1, -1  # the union of the frequency and "as needed" spans
            if best is not None:
                index, chosen, rule = best
                code = rule.code
                if "{n}" in code:
                    hours = int(chosen.group(self._frequency_group[index] + 1))
                    code = code.replace("{n}", str(hours))
                    per_day = 24.0 / hours if hours else 0.0
                else:
                    per_day = rule.times_per_day or 0.0
                f_start, f_end = chosen.span(self._frequency_group[index])
            if prn is not None:
                f_start, f_end = min(f_start, prn.start()), max(f_end, prn.end())
            last = max(last, f_end)
            frequency = Frequency(
                text=window[f_start:f_end].strip(), code=code, times_per_day=per_day, as_needed=prn is not None
            )
        duration = ""
        duration_match = self._duration.search_spans(window, lowered) if rare else None
        if duration_match:
            duration = window[duration_match.start() : duration_match.end()].strip()
            last = max(last, duration_match.end())
        return MedAttributes(dose, strength, form, route, frequency, duration, name_end + last)


def _alternation(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<r{index}>{pattern})" for index, pattern in enumerate(patterns)), re.IGNORECASE)
