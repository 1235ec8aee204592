"""Agreement between the answer given and a shadow answer, per item type.

Items are matched on what a reviewer would call "the same finding", not on exact offsets
(two backends rarely cut a span identically): conditions, medications and allergies by their
normalised text in the note, vital signs by kind and value. Counts are kept (tp, fp, fn with
the live answer as reference), so agreement over many notes is pooled, not averaged.
Nothing here holds note text beyond the call: only the counts are stored.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from healthai_server.domain.clinical import ClinicalData

ITEM_TYPES = ("conditions", "medications", "vital_signs", "allergies")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Counts:
    tp: int = 0
    fp: int = 0  # in the shadow answer only
    fn: int = 0  # in the live answer only

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def f1(self) -> float:
        """F1 of the shadow against the live answer; 1.0 when both found nothing."""
        denominator = 2 * self.tp + self.fp + self.fn
        return 1.0 if denominator == 0 else 2 * self.tp / denominator


def _norm(text: str) -> str:
    return _SPACE.sub(" ", text).strip().lower()


def _keys(data: ClinicalData, item_type: str) -> Counter[str]:
    if item_type == "conditions":
        return Counter(_norm(c.span.text or c.name) for c in data.conditions)
    if item_type == "medications":
        return Counter(_norm(m.name or m.span.text) for m in data.medications)
    if item_type == "allergies":
        return Counter(_norm(a.substance or a.span.text) for a in data.allergies)
    return Counter(f"{v.kind.value}:{float(v.quantity.value):.1f}" for v in data.vital_signs)


def compare(live: ClinicalData, shadow: ClinicalData) -> dict[str, Counts]:
    result: dict[str, Counts] = {}
    for item_type in ITEM_TYPES:
        a, b = _keys(live, item_type), _keys(shadow, item_type)
        tp = sum((a & b).values())
        result[item_type] = Counts(tp, sum(b.values()) - tp, sum(a.values()) - tp)
    return result


def pooled(per_note: Iterable[Mapping[str, Counts]]) -> dict[str, Counts]:
    total = {item_type: Counts() for item_type in ITEM_TYPES}
    for counts in per_note:
        for item_type, c in counts.items():
            total[item_type] = total.get(item_type, Counts()) + c
    return total


def overall(counts: Mapping[str, Counts]) -> Counts:
    total = Counts()
    for c in counts.values():
        total = total + c
    return total
