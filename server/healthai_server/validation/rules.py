"""Stage 3: clinical rules, loaded from clinical_rules.toml (rules are data).

- Vital signs: the unit must be one the kind is measured in (aliases normalised to UCUM);
  the value, in the canonical unit, must lie within physiological limits, else the item is
  kept but marked IMPLAUSIBLE with low confidence (the contract never drops such values);
  the interpretation is recomputed from the thresholds, never taken from a model.
- Codes: an ICD-10-CM code must exist (simple-icd-10-cm, loaded lazily once) and fit the
  condition (a significant word of its description, its ancestors' or its inclusion terms
  occurs in the condition's name or evidence); otherwise the code is removed and the
  condition kept uncoded.
- Doses: the unit must be a known dose unit; otherwise the dose is removed.
"""

from __future__ import annotations

import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

from healthai_server.domain.clinical import (
    ICD10CM_SYSTEM,
    LOINC_SYSTEM,
    ClinicalData,
    Coding,
    Condition,
    Medication,
    ProblemListEntry,
    Quantity,
    VitalInterpretation,
    VitalKind,
    VitalSign,
)

RULES_FILE = Path(__file__).resolve().parent / "clinical_rules.toml"
IMPLAUSIBLE_CONFIDENCE = 0.3
_WORD = re.compile(r"[a-z]+")
_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")


@dataclass(frozen=True, slots=True)
class UnitConversion:
    scale: float
    shift: float

    def to_canonical(self, value: float) -> float:
        return (value + self.shift) * self.scale


@dataclass(frozen=True, slots=True)
class VitalRule:
    kind: VitalKind
    loinc: str
    display: str
    units: Mapping[str, UnitConversion]  # first entry is the canonical unit
    implausible_low: float
    implausible_high: float
    critical_low: float | None = None
    low: float | None = None
    high: float | None = None
    critical_high: float | None = None
    interpret: bool = True

    @property
    def canonical_unit(self) -> str:
        return next(iter(self.units))

    def interpretation(self, canonical_value: float) -> VitalInterpretation:
        if canonical_value < self.implausible_low or canonical_value > self.implausible_high:
            return VitalInterpretation.IMPLAUSIBLE
        if not self.interpret:
            return VitalInterpretation.UNSPECIFIED
        if self.critical_low is not None and canonical_value < self.critical_low:
            return VitalInterpretation.CRITICAL_LOW
        if self.low is not None and canonical_value < self.low:
            return VitalInterpretation.LOW
        if self.critical_high is not None and canonical_value > self.critical_high:
            return VitalInterpretation.CRITICAL_HIGH
        if self.high is not None and canonical_value > self.high:
            return VitalInterpretation.HIGH
        return VitalInterpretation.NORMAL


class IcdCodeSet:
    """ICD-10-CM lookups through simple-icd-10-cm, imported on first use (it costs about 3 s).

    Call `warm()` at start-up (in a thread) so no request pays the import.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._module: ModuleType | None = None

    def warm(self) -> None:
        self._load()

    @property
    def warmed(self) -> bool:
        return self._module is not None

    def _load(self) -> ModuleType:
        if self._module is None:
            with self._lock:
                if self._module is None:
                    import simple_icd_10_cm

                    self._module = simple_icd_10_cm
        return self._module

    def normalize(self, code: str) -> str | None:
        """The dotted code when it exists as a category or (sub)category, else None."""
        raw = code.strip().upper().replace(" ", "")
        if not _ICD_SHAPE.match(raw):
            return None
        icd = self._load()
        if not icd.is_valid_item(raw) or not icd.is_category_or_subcategory(raw):
            return None
        return str(icd.add_dot(raw))

    def describe(self, code: str) -> str:
        return str(self._load().get_description(code))

    def vocabulary(self, code: str) -> str:
        """Description, ancestors' descriptions and inclusion terms: the words a fitting condition shares."""
        icd = self._load()
        texts = [str(icd.get_description(code))]
        for ancestor in icd.get_ancestors(code):
            if icd.is_category_or_subcategory(ancestor):
                texts.append(str(icd.get_description(ancestor)))
        for item in [code, *icd.get_ancestors(code)]:
            if icd.is_category_or_subcategory(item):
                texts.extend(str(term) for term in icd.get_inclusion_term(item))
        return " ".join(texts)


@dataclass(frozen=True, slots=True)
class RuleReport:
    implausible_vitals: int = 0
    dropped_vitals: int = 0  # unit not valid for the kind
    removed_codes: int = 0  # ICD-10-CM code unknown or not fitting
    removed_doses: int = 0  # unknown dose unit

    @property
    def changes(self) -> int:
        return self.implausible_vitals + self.dropped_vitals + self.removed_codes + self.removed_doses


@dataclass
class ClinicalRules:
    vitals: Mapping[VitalKind, VitalRule]
    unit_aliases: Mapping[str, str]
    dose_units: frozenset[str]
    abbreviations: Mapping[str, str]
    stopwords: frozenset[str]
    codes: IcdCodeSet = field(default_factory=IcdCodeSet)

    @classmethod
    def load(cls, path: Path = RULES_FILE, codes: IcdCodeSet | None = None) -> ClinicalRules:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        vitals: dict[VitalKind, VitalRule] = {}
        for name, spec in raw["vitals"].items():
            kind = VitalKind[name]
            units = {unit: UnitConversion(float(c["scale"]), float(c["shift"])) for unit, c in spec["units"].items()}
            vitals[kind] = VitalRule(
                kind=kind,
                loinc=spec["loinc"],
                display=spec["display"],
                units=units,
                implausible_low=float(spec["implausible_low"]),
                implausible_high=float(spec["implausible_high"]),
                critical_low=_opt(spec, "critical_low"),
                low=_opt(spec, "low"),
                high=_opt(spec, "high"),
                critical_high=_opt(spec, "critical_high"),
                interpret=bool(spec.get("interpret", True)),
            )
        missing = set(VitalKind) - set(vitals)
        if missing:
            raise ValueError(f"{path}: no rule for vital kinds {sorted(k.name for k in missing)}")
        return cls(
            vitals=vitals,
            unit_aliases={k.lower(): v for k, v in raw["unit_aliases"].items()},
            dose_units=frozenset(raw["doses"]["units"]),
            abbreviations=dict(raw["icd10cm"]["abbreviations"]),
            stopwords=frozenset(raw["icd10cm"]["stopwords"]),
            codes=codes or IcdCodeSet(),
        )

    def warm(self) -> None:
        self.codes.warm()

    def normalize_unit(self, unit: str) -> str:
        stripped = unit.strip()
        return self.unit_aliases.get(stripped.lower(), stripped)

    def loinc(self, kind: VitalKind) -> Coding:
        rule = self.vitals[kind]
        return Coding(LOINC_SYSTEM, rule.loinc, rule.display)

    # -- the stage ---------------------------------------------------------------------------

    def apply(self, data: ClinicalData) -> tuple[ClinicalData, RuleReport]:
        report: dict[str, int] = {"implausible": 0, "dropped_vitals": 0, "codes": 0, "doses": 0}
        vitals = [v for v in (self._vital(v, report) for v in data.vital_signs) if v is not None]
        conditions = [self._condition(c, report) for c in data.conditions]
        medications = [self._medication(m, report) for m in data.medications]
        problems = [self._problem(p, report) for p in data.problem_list]
        checked = replace(
            data,
            vital_signs=tuple(vitals),
            conditions=tuple(conditions),
            medications=tuple(medications),
            problem_list=tuple(problems),
        )
        return checked, RuleReport(report["implausible"], report["dropped_vitals"], report["codes"], report["doses"])

    def _vital(self, vital: VitalSign, report: dict[str, int]) -> VitalSign | None:
        rule = self.vitals[vital.kind]
        unit = self.normalize_unit(vital.quantity.unit) or rule.canonical_unit
        conversion = rule.units.get(unit)
        if conversion is None:
            report["dropped_vitals"] += 1
            return None
        interpretation = rule.interpretation(conversion.to_canonical(vital.quantity.value))
        confidence = vital.confidence
        if interpretation is VitalInterpretation.IMPLAUSIBLE:
            report["implausible"] += 1
            confidence = min(confidence, IMPLAUSIBLE_CONFIDENCE)
        return replace(
            vital,
            quantity=Quantity(vital.quantity.value, unit),
            loinc=self.loinc(vital.kind),
            interpretation=interpretation,
            confidence=confidence,
        )

    def _checked_codings(self, codings: tuple[Coding, ...], context: str, report: dict[str, int]) -> tuple[Coding, ...]:
        kept: list[Coding] = []
        for coding in codings:
            if coding.system != ICD10CM_SYSTEM:
                kept.append(coding)
                continue
            code = self.codes.normalize(coding.code)
            if code is None or not self.code_fits(code, context):
                report["codes"] += 1
                continue
            kept.append(Coding(ICD10CM_SYSTEM, code, self.codes.describe(code)))
        return tuple(kept)

    def _condition(self, condition: Condition, report: dict[str, int]) -> Condition:
        if not condition.codings:
            return condition
        context = f"{condition.name} {condition.span.text}"
        return replace(condition, codings=self._checked_codings(condition.codings, context, report))

    def _problem(self, problem: ProblemListEntry, report: dict[str, int]) -> ProblemListEntry:
        if not problem.codings:
            return problem
        context = " ".join([problem.name, *(e.text for e in problem.evidence)])
        return replace(problem, codings=self._checked_codings(problem.codings, context, report))

    def _medication(self, medication: Medication, report: dict[str, int]) -> Medication:
        dose, strength = medication.dose, medication.strength
        if dose is not None:
            dose = self._dose(dose, report)
        if strength is not None:
            strength = self._dose(strength, report)
        if dose is medication.dose and strength is medication.strength:
            return medication
        return replace(medication, dose=dose, strength=strength)

    def _dose(self, quantity: Quantity, report: dict[str, int]) -> Quantity | None:
        unit = self.normalize_unit(quantity.unit)
        if quantity.value <= 0 or (unit and unit not in self.dose_units):
            report["doses"] += 1
            return None
        return quantity if unit == quantity.unit else Quantity(quantity.value, unit)

    def code_fits(self, code: str, context: str) -> bool:
        wanted = self._stems(self._expand(context))
        offered = self._stems(self.codes.vocabulary(code))
        return bool(wanted & offered)

    def _expand(self, text: str) -> str:
        words = _WORD.findall(text.lower())
        return " ".join(self.abbreviations.get(w, w) for w in words)

    def _stems(self, text: str) -> set[str]:
        return {w[:5] for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in self.stopwords}


def _opt(spec: Mapping[str, Any], key: str) -> float | None:
    value = spec.get(key)
    return None if value is None else float(value)
