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
from healthai_server.engine.text import FastPattern

_WINDOW = 120
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "half": 0.5, "a": 1,
}  # fmt: skip
_WINDOW_END = re.compile(r"\n|;|\.\s+(?=[A-Z])|\.$|,\s+(?:and\s+)?(?=[A-Z][a-z])|\band\s+(?=[A-Za-z]+\s\d)")


@dataclass(frozen=True, slots=True)
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
    def __init__(self, data: dict[str, Any] | None = None) -> None:
        data = data if data is not None else load_json("medication_attributes.json")
        self.units: dict[str, str] = {str(k).lower(): str(v) for k, v in data["units"].items()}
        self.count_units = frozenset(str(u) for u in data["count_units"])
        unit_alternation = "|".join(re.escape(u) for u in sorted(self.units, key=len, reverse=True))
        self._quantity = re.compile(
            rf"(?<![\w./-])(?P<n>\d{{1,5}}(?:[.,]\d{{1,3}})?|\.\d{{1,3}}|one|two|three|four|half)[ \t]*-?[ \t]*"
            rf"(?P<u>{unit_alternation})(?![A-Za-z])",
            re.IGNORECASE,
        )
        self._frequencies = [
            _FrequencyRule(
                re.compile(rf"(?<![A-Za-z])(?:{rule['re']})", re.IGNORECASE),
                str(rule["code"]),
                float(rule["tpd"]) if "tpd" in rule else None,
            )
            for rule in data["frequencies"]
        ]
        self._prn = re.compile(rf"(?<![A-Za-z])(?:{data['prn']})", re.IGNORECASE)
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
        # group number of each frequency rule's first own group ("q(\d)h": hours)
        self._frequency_group = [
            self._any_frequency.pattern.groupindex[f"r{index}"] + 1 for index in range(len(self._frequencies))
        ]
        self._duration = re.compile(rf"(?<![A-Za-z])(?:{data['duration']})", re.IGNORECASE)
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

    def parse(self, text: str, name_end: int, window_end: int) -> MedAttributes:
        window = text[name_end:window_end]
        last = 0
        quantities: list[tuple[Quantity, int]] = []
        for match in self._quantity.finditer(window):
            raw_number = match.group("n").lower().replace(",", ".")
            value = float(_WORD_NUMBERS[raw_number]) if raw_number in _WORD_NUMBERS else float(raw_number)
            unit = self.units.get(match.group("u").lower(), match.group("u"))
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
        form = ""
        if self._any_form.search(window) is not None:  # the first rule in data order wins, not the leftmost
            for regex, name in self._forms:
                form_match = regex.search(window)
                if form_match:
                    form = name
                    last = max(last, form_match.end())
                    break
        if dose is not None and dose.unit in ("{tbl}", "{capsule}") and not form:
            form = "tablet" if dose.unit == "{tbl}" else "capsule"
        route = Route.UNSPECIFIED
        any_route = self._any_route.search(window)
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
        prn = self._prn.search(window)
        best: tuple[int, re.Match[str], _FrequencyRule] | None = None
        frequency_match = self._any_frequency.search(window)
        if frequency_match is not None and frequency_match.lastgroup is not None:
            index = int(frequency_match.lastgroup[1:])
            best = (index, frequency_match, self._frequencies[index])
        if best is not None or prn is not None:
            code = ""
            per_day = 0.0
            spans: list[tuple[int, int]] = []
            if best is not None:
                index, chosen, rule = best
                code = rule.code
                if "{n}" in code:
                    hours = int(chosen.group(self._frequency_group[index]))
                    code = code.replace("{n}", str(hours))
                    per_day = 24.0 / hours if hours else 0.0
                else:
                    per_day = rule.times_per_day or 0.0
                spans.append(chosen.span(f"r{index}"))
            if prn is not None:
                spans.append(prn.span())
            f_start = min(s for s, _ in spans)
            f_end = max(e for _, e in spans)
            last = max(last, f_end)
            frequency = Frequency(
                text=window[f_start:f_end].strip(), code=code, times_per_day=per_day, as_needed=prn is not None
            )
        duration = ""
        duration_match = self._duration.search(window)
        if duration_match:
            duration = duration_match.group().strip()
            last = max(last, duration_match.end())
        return MedAttributes(dose, strength, form, route, frequency, duration, name_end + last)


def _alternation(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?P<r{index}>{pattern})" for index, pattern in enumerate(patterns)), re.IGNORECASE)
