"""Stage 2: grounding. Every item must point at text that is really in the note.

Two entry points, for two kinds of backend:

- `QuoteLocator` turns a model's quoted evidence into a span of the note. Offsets from a
  model are never trusted: the quote is searched for (exactly first, then with flexible
  whitespace and case), and an item whose quote is not found is dropped.
- `ground_spans` checks the spans of any backend's ClinicalData against the note
  (note[start:end] == span.text), re-anchors a span whose text is elsewhere in the note, and
  drops the items that cannot be grounded. Vital values must also appear in their span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from healthai_server.domain.clinical import (
    Allergy,
    ClinicalData,
    Condition,
    Medication,
    ProblemListEntry,
    Span,
    ValidationFinding,
    VitalSign,
    with_finding,
)

MAX_QUOTE_CHARS = 1_000
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_FEET_INCHES = re.compile(r"(\d)\s*(?:'|ft|feet)\s*(\d{1,2})")


@dataclass
class QuoteLocator:
    """Finds quotes in one note; remembers spans already handed out per kind so repeated
    mentions ("metformin ... metformin") map to successive occurrences."""

    note: str
    _used: dict[str, set[tuple[int, int]]] = field(default_factory=dict)

    def locate(self, quote: str, *, kind: str = "") -> Span | None:
        quote = quote.strip()
        if not quote or len(quote) > MAX_QUOTE_CHARS:
            return None
        candidates = self._exact(quote) or self._flexible(quote)
        if not candidates:
            return None
        used = self._used.setdefault(kind, set())
        chosen = next((c for c in candidates if c not in used), candidates[0])
        used.add(chosen)
        start, end = chosen
        return Span(start, end, self.note[start:end])

    def claim(self, span: Span, *, kind: str = "") -> None:
        """Mark a span as handed out (for spans that were already correct)."""
        self._used.setdefault(kind, set()).add((span.start, span.end))

    def _exact(self, quote: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        at = self.note.find(quote)
        while at != -1 and len(found) < 64:
            found.append((at, at + len(quote)))
            at = self.note.find(quote, at + 1)
        return found

    def _flexible(self, quote: str) -> list[tuple[int, int]]:
        words = quote.split()
        pattern = re.compile(r"\s+".join(re.escape(w) for w in words), re.IGNORECASE)
        return [(m.start(), m.end()) for _, m in zip(range(64), pattern.finditer(self.note), strict=False)]


def value_in_text(value: float, text: str) -> bool:
    """True when a number equal to `value` is written in `text` (142 in "142/91", 38.2 in "38.2 C"),
    or a height in feet and inches amounts to it (71 in 5'11")."""
    if any(abs(float(m.group()) - value) < 1e-9 for m in _NUMBER.finditer(text)):
        return True
    return any(abs(int(m.group(1)) * 12 + int(m.group(2)) - value) < 1e-9 for m in _FEET_INCHES.finditer(text))


@dataclass(frozen=True, slots=True)
class GroundingReport:
    dropped: int = 0  # items removed because their text is not in the note
    reanchored: int = 0  # spans whose offsets were wrong but whose text was found elsewhere


def _moved(old: Span, new: Span, findings: tuple[ValidationFinding, ...]) -> tuple[ValidationFinding, ...]:
    return findings if new == old else with_finding(findings, ValidationFinding.SPAN_REANCHORED)


def ground_spans(note: str, data: ClinicalData) -> tuple[ClinicalData, GroundingReport]:
    """Check every span of `data` against `note`; fix or drop. For backends that report offsets."""
    locator = QuoteLocator(note)
    dropped = 0
    reanchored = 0

    def check(span: Span, kind: str) -> Span | None:
        nonlocal reanchored
        if (
            0 <= span.start <= span.end <= len(note)
            and span.end > span.start
            and note[span.start : span.end] == span.text
        ):
            locator.claim(span, kind=kind)
            return span
        found = locator.locate(span.text, kind=kind) if span.text else None
        if found is not None and found.text == span.text:
            reanchored += 1
            return found
        return None

    conditions: list[Condition] = []
    for c in data.conditions:
        span = check(c.span, "condition")
        if span is None:
            dropped += 1
        else:
            conditions.append(c if span is c.span else replace(c, span=span, findings=_moved(c.span, span, c.findings)))
    medications: list[Medication] = []
    for m in data.medications:
        span = check(m.span, "medication")
        if span is None:
            dropped += 1
            continue
        instruction = check(m.instruction_span, "instruction") if m.instruction_span else None
        medications.append(
            replace(m, span=span, instruction_span=instruction, findings=_moved(m.span, span, m.findings))
        )
    vitals: list[VitalSign] = []
    for v in data.vital_signs:
        span = check(v.span, f"vital:{v.kind.value}")
        if span is None or not value_in_text(v.quantity.value, span.text):
            dropped += 1
        else:
            vitals.append(v if span is v.span else replace(v, span=span, findings=_moved(v.span, span, v.findings)))
    allergies: list[Allergy] = []
    for a in data.allergies:
        span = check(a.span, "allergy")
        if span is None:
            dropped += 1
        else:
            allergies.append(a if span is a.span else replace(a, span=span, findings=_moved(a.span, span, a.findings)))
    problems: list[ProblemListEntry] = []
    for p in data.problem_list:
        evidence = tuple(s for s in (check(e, "problem") for e in p.evidence) if s is not None)
        if p.evidence and not evidence:
            dropped += 1
        else:
            problems.append(replace(p, evidence=evidence))
    nka_span = data.no_known_allergies_span
    nka = data.no_known_allergies
    if nka_span is not None:
        nka_span = check(nka_span, "nka")
        if nka_span is None:
            nka = False
            dropped += 1
    grounded = ClinicalData(
        conditions=tuple(conditions),
        medications=tuple(medications),
        vital_signs=tuple(vitals),
        allergies=tuple(allergies),
        problem_list=tuple(problems),
        no_known_allergies=nka,
        no_known_allergies_span=nka_span,
    )
    return grounded, GroundingReport(dropped=dropped, reanchored=reanchored)
