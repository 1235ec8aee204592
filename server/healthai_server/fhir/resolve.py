"""From mentions to the facts an EHR files: one Condition per concept, medication changes
applied, the note's clinical date.

The engine reports every mention where it occurs ("hypertension" in the history, the HPI
and the plan are three mentions). A receiving system wants one problem with three pieces of
evidence, and one current regimen per drug: after "increase lisinopril to 40 mg" the 20 mg
regimen is stopped, not a second active one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from healthai_server.domain.clinical import (
    Certainty,
    Condition,
    Medication,
    MedicationStatus,
    Temporality,
)

# A changed dose is a new regimen only when the note says it changes: two doses of the same
# drug without such a word may both be right (split doses, sliding scales).
_CHANGE_WORDS = re.compile(
    r"\b(?:increas\w*|decreas\w*|reduc\w*|titrat\w*|up-?titrat\w*|down-?titrat\w*|chang\w*|switch\w*|"
    r"adjust\w*|rais\w*|lower\w*|wean\w*|bump\w*|uptitrat\w*|escalat\w*|double\w*|halve\w*)\b",
    re.IGNORECASE,
)
_LINE_START = re.compile(r"[\n.;]")


@dataclass
class ConditionGroup:
    """Every mention of one concept with one verification status."""

    key: tuple[str, Certainty]
    mentions: list[Condition] = field(default_factory=list)

    @property
    def first(self) -> Condition:
        return self.mentions[0]


def concept_key(item: Condition) -> str:
    """The first code when there is one (synonyms share it), else the normalised name."""
    if item.codings:
        return f"{item.codings[0].system}|{item.codings[0].code}"
    return " ".join(item.name.lower().split())


def group_conditions(items: list[Condition]) -> list[ConditionGroup]:
    """Mentions grouped by concept and certainty, in order of first mention."""
    groups: dict[tuple[str, Certainty], ConditionGroup] = {}
    for item in items:
        key = (concept_key(item), item.assertion.certainty)
        groups.setdefault(key, ConditionGroup(key)).mentions.append(item)
    return list(groups.values())


@dataclass
class Regimen:
    """One MedicationStatement: the mention that set it up and the ones that repeat it."""

    mentions: list[Medication]
    status: str
    superseded_by: Medication | None = None
    stopped_by: Medication | None = None

    @property
    def first(self) -> Medication:
        return self.mentions[0]

    @property
    def defining(self) -> Medication:
        """The mention with the most detail (a dose), for the dosage."""
        return next((m for m in self.mentions if m.dose is not None), self.first)


def _drug_key(item: Medication) -> str:
    if item.codings:
        return f"{item.codings[0].system}|{item.codings[0].code}"
    return " ".join(item.name.lower().split())


def _says_change(note: str, item: Medication) -> bool:
    """A change word between the start of the mention's clause and the end of its instruction."""
    start = item.span.start
    clause_start = max((m.end() for m in _LINE_START.finditer(note, 0, start)), default=0)
    end = item.instruction_span.end if item.instruction_span else item.span.end
    return bool(_CHANGE_WORDS.search(note, clause_start, end))


def resolve_medications(items: list[Medication], note: str, status_of: dict[MedicationStatus, str]) -> list[Regimen]:
    """Regimens in order of first mention.

    A mention that only names a drug already on a regimen ("continue metformin") joins it;
    one with a new dose under a change word supersedes the current regimen, which becomes
    `stopped`; a discontinuation stops it. Negated and future mentions stand alone.
    """
    regimens: list[Regimen] = []
    current: dict[str, Regimen] = {}
    for item in items:
        a = item.assertion
        if a.certainty is Certainty.NEGATIVE:
            regimens.append(Regimen([item], "not-taken"))
            continue
        if a.temporality is Temporality.FUTURE:
            regimens.append(Regimen([item], "intended"))
            continue
        key = _drug_key(item)
        now = current.get(key)
        status = status_of[item.status]
        if now is None:
            regimen = Regimen([item], status)
            regimens.append(regimen)
            if status in ("active", "unknown", "on-hold"):
                current[key] = regimen
            continue
        if item.status is MedicationStatus.DISCONTINUED and (item.dose is None or item.dose == now.defining.dose):
            now.mentions.append(item)
            now.status, now.stopped_by = "stopped", item
            del current[key]
            continue
        if item.dose is None or item.dose == now.defining.dose or now.defining.dose is None:
            now.mentions.append(item)
            if item.status is MedicationStatus.HELD:
                now.status = "on-hold"
            continue
        regimen = Regimen([item], status)
        regimens.append(regimen)
        if _says_change(note, item):
            now.status, now.superseded_by = "stopped", item
            current[key] = regimen
    return regimens


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_LABEL = (
    r"(?:date\s+of\s+(?:service|visit|encounter|admission|exam(?:ination)?|note)|"
    r"(?:visit|service|encounter|admission|note|exam|clinic)\s+date|DOS|date)\s*[:#-]?\s*"
)
_NOTE_DATE = re.compile(
    _LABEL
    + r"(?:(?P<iso>(?P<y1>\d{4})-(?P<m1>\d{1,2})-(?P<d1>\d{1,2}))"
    + r"|(?P<us>(?P<m2>\d{1,2})/(?P<d2>\d{1,2})/(?P<y2>\d{4}))"
    + r"|(?P<long>(?P<mn>[A-Za-z]{3,9})\.?\s+(?P<d3>\d{1,2}),?\s+(?P<y3>\d{4})))\b",
    re.IGNORECASE,
)


def stated_note_date(note: str) -> date | None:
    """The first labelled full date in the note ("Date of service: 03/14/2024"), if any.

    Only labelled dates with a year count: a bare date in the text is as likely a history
    date ("CABG 2015", "DVT 1/2024") as the visit's.
    """
    for match in _NOTE_DATE.finditer(note):
        try:
            if match["iso"]:
                return date(int(match["y1"]), int(match["m1"]), int(match["d1"]))
            if match["us"]:
                return date(int(match["y2"]), int(match["m2"]), int(match["d2"]))
            month = _MONTHS.get(match["mn"].lower())
            if month is not None:
                return date(int(match["y3"]), month, int(match["d3"]))
        except ValueError:
            continue  # 02/30/2024: not a date, look further
    return None
