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

import functools
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType

from healthai_server.domain.clinical import (
    ICD10CM_SYSTEM,
    LOINC_SYSTEM,
    ClinicalData,
    Coding,
    Condition,
    Medication,
    ProblemListEntry,
    Quantity,
    ValidationFinding,
    VitalInterpretation,
    VitalKind,
    VitalSign,
    with_finding,
)
from healthai_server.engine.resources import load_conditions
from healthai_server.engine.units import UnitTable, load_units
from healthai_server.engine.vital_ranges import VitalRanges, stated_age_years

RULES_FILE = Path(__file__).resolve().parent / "clinical_rules.toml"
IMPLAUSIBLE_CONFIDENCE = 0.3
_WORD = re.compile(r"[a-z]+")
_NONE: tuple[frozenset[str], str] = (frozenset(), "")
_ICD_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")


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
        # Cached: the library finds a code's dotted form by a scan of every code (about 1 ms).
        return self._normalize(code.strip().upper().replace(" ", ""))

    @functools.lru_cache(maxsize=20_000)  # noqa: B019 - one code set per process, never freed anyway
    def _normalize(self, raw: str) -> str | None:
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
    """Vital ranges and units come from the engine's one reference (engine/data/vitals.json and
    units.json, through VitalRanges and UnitTable), so the engine and this stage never disagree;
    clinical_rules.toml keeps only what is the validator's own (ICD-10-CM fit)."""

    vitals: VitalRanges
    units: UnitTable
    abbreviations: Mapping[str, str]
    stopwords: frozenset[str]
    codes: IcdCodeSet = field(default_factory=IcdCodeSet)
    _offered_cache: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _curated_stems: dict[str, tuple[frozenset[str], str]] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: Path = RULES_FILE, codes: IcdCodeSet | None = None) -> ClinicalRules:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        return cls(
            vitals=VitalRanges(),
            units=load_units(),
            abbreviations=dict(raw["icd10cm"]["abbreviations"]),
            stopwords=frozenset(raw["icd10cm"]["stopwords"]),
            codes=codes or IcdCodeSet(),
        )

    def warm(self) -> None:
        self.codes.warm()
        self._curated()

    def warm_lexicon(self) -> None:
        self._curated()

    @property
    def dose_units(self) -> frozenset[str]:
        return self.units.dose_codes

    def normalize_unit(self, unit: str) -> str:
        return self.units.normalize(unit)

    def loinc(self, kind: VitalKind) -> Coding:
        definition = self.vitals.definitions[kind]
        return Coding(LOINC_SYSTEM, definition.loinc, definition.display)

    # -- the stage ---------------------------------------------------------------------------

    def apply(self, data: ClinicalData, note: str = "") -> tuple[ClinicalData, RuleReport]:
        """`note`: the note the data came from; its stated age picks paediatric vital ranges."""
        report: dict[str, int] = {"implausible": 0, "dropped_vitals": 0, "codes": 0, "doses": 0}
        age = stated_age_years(note) if note and data.vital_signs else None
        vitals = [v for v in (self._vital(v, report, age) for v in data.vital_signs) if v is not None]
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

    def _vital(self, vital: VitalSign, report: dict[str, int], age_years: float | None) -> VitalSign | None:
        definition = self.vitals.definitions[vital.kind]
        unit = self.normalize_unit(vital.quantity.unit) or definition.unit
        if unit not in definition.units:
            report["dropped_vitals"] += 1
            return None
        interpretation = self.vitals.interpret(vital.kind, vital.quantity.value, unit, age_years)
        confidence = vital.confidence
        findings = vital.findings
        if interpretation is VitalInterpretation.IMPLAUSIBLE:
            report["implausible"] += 1
            confidence = min(confidence, IMPLAUSIBLE_CONFIDENCE)
            findings = with_finding(findings, ValidationFinding.IMPLAUSIBLE_VALUE)
        return replace(
            vital,
            quantity=Quantity(vital.quantity.value, unit),
            loinc=self.loinc(vital.kind),
            interpretation=interpretation,
            confidence=confidence,
            findings=findings,
        )

    def _checked_codings(self, codings: tuple[Coding, ...], context: str, report: dict[str, int]) -> tuple[Coding, ...]:
        kept: list[Coding] = []
        wanted: set[str] | None = None
        for coding in codings:
            if coding.system != ICD10CM_SYSTEM:
                kept.append(coding)
                continue
            wanted = self._stems(self._expand(context)) if wanted is None else wanted
            curated = self._curated().get(coding.code)
            if curated is not None and wanted & curated[0]:
                # A code of the engine's lexicon (all of them exist in ICD-10-CM; a test checks)
                # with one of its names: no need to load the code set for it.
                kept.append(coding if coding.display else Coding(ICD10CM_SYSTEM, coding.code, curated[1]))
                continue
            code = self.codes.normalize(coding.code)
            if code is None or not (wanted & self._offered(code) or wanted & self._curated().get(code, _NONE)[0]):
                report["codes"] += 1
                continue
            # A display the backend gave is kept (the engine's curated names); an LLM gives none.
            kept.append(Coding(ICD10CM_SYSTEM, code, coding.display or self.codes.describe(code)))
        return tuple(kept)

    def _condition(self, condition: Condition, report: dict[str, int]) -> Condition:
        if not condition.codings:
            return condition
        context = f"{condition.name} {condition.span.text}"
        before = report["codes"]
        codings = self._checked_codings(condition.codings, context, report)
        findings = condition.findings
        if report["codes"] > before:
            findings = with_finding(findings, ValidationFinding.CODE_REMOVED)
        return replace(condition, codings=codings, findings=findings)

    def _problem(self, problem: ProblemListEntry, report: dict[str, int]) -> ProblemListEntry:
        if not problem.codings:
            return problem
        context = " ".join([problem.name, *(e.text for e in problem.evidence)])
        before = report["codes"]
        codings = self._checked_codings(problem.codings, context, report)
        findings = problem.findings
        if report["codes"] > before:
            findings = with_finding(findings, ValidationFinding.CODE_REMOVED)
        return replace(problem, codings=codings, findings=findings)

    def _medication(self, medication: Medication, report: dict[str, int]) -> Medication:
        dose, strength = medication.dose, medication.strength
        before = report["doses"]
        if dose is not None:
            dose = self._dose(dose, report)
        if strength is not None:
            strength = self._dose(strength, report)
        if dose is medication.dose and strength is medication.strength:
            return medication
        findings = medication.findings
        if report["doses"] > before:
            findings = with_finding(findings, ValidationFinding.DOSE_REMOVED)
        return replace(medication, dose=dose, strength=strength, findings=findings)

    def _dose(self, quantity: Quantity, report: dict[str, int]) -> Quantity | None:
        unit = self.normalize_unit(quantity.unit)
        if quantity.value <= 0 or (unit and unit not in self.dose_units):
            report["doses"] += 1
            return None
        return quantity if unit == quantity.unit else Quantity(quantity.value, unit)

    def code_fits(self, code: str, context: str) -> bool:
        wanted = self._stems(self._expand(context))
        return bool(wanted & self._offered(code)) or bool(wanted & self._curated().get(code, _NONE)[0])

    def _curated(self) -> Mapping[str, tuple[frozenset[str], str]]:
        """Per code, the words of the engine's condition lexicon and its name ("neck pain" for
        M54.2, whose ICD-10-CM description says "cervicalgia"): one reference for a code's names."""
        if self._curated_stems is None:
            words: dict[str, set[str]] = {}
            names: dict[str, str] = {}
            for surface, concept in load_conditions():
                if not _ICD_SHAPE.match(concept.code.replace(".", "")):
                    continue  # a grouping ("M40-M54") or local concept: never trusted without a lookup
                words.setdefault(concept.code, set()).update(self._stems(f"{surface.lstrip('=')} {concept.name}"))
                names.setdefault(concept.code, concept.name)
            self._curated_stems = {code: (frozenset(stems), names[code]) for code, stems in words.items()}
        return self._curated_stems

    def _offered(self, code: str) -> frozenset[str]:
        # A code's vocabulary walks its ancestors and inclusion terms: tens of lookups, the
        # same for every note that carries the code, so computed once per code.
        offered = self._offered_cache.get(code)
        if offered is None:
            offered = frozenset(self._stems(self.codes.vocabulary(code)))
            if len(self._offered_cache) < 20_000:
                self._offered_cache[code] = offered
        return offered

    def _expand(self, text: str) -> str:
        words = _WORD.findall(text.lower())
        return " ".join(self.abbreviations.get(w, w) for w in words)

    def _stems(self, text: str) -> set[str]:
        return {w[:5] for w in _WORD.findall(text.lower()) if len(w) >= 3 and w not in self.stopwords}
