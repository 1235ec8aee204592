"""Clinical alerts from extracted data: critical and implausible vitals, drug-allergy conflicts.

Cross-reactivity rules are data (data/allergy_classes.json). Alerts are sorted most severe
first, then by position in the note. Messages are built from extracted facts for the
caller; they are never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from healthai_server.domain.analysis import AlertKind, AlertSeverity, ClinicalAlert
from healthai_server.domain.clinical import (
    Allergy,
    Certainty,
    ClinicalData,
    Medication,
    VitalInterpretation,
    VitalSign,
)
from healthai_server.engine.resources import load_allergens, load_drugs, load_json


@dataclass(frozen=True, slots=True)
class _CrossRule:
    allergy_class: str
    medication_class: str
    severity: AlertSeverity
    note: str


@dataclass(frozen=True, slots=True)
class AllergyRules:
    same_drug: AlertSeverity
    same_class: AlertSeverity
    cross: tuple[_CrossRule, ...]
    class_names: dict[str, str]
    drug_classes: dict[str, frozenset[str]]  # generic -> classes
    substance_classes: dict[str, frozenset[str]]  # allergen substance -> classes


@cache
def allergy_rules() -> AllergyRules:
    data = load_json("allergy_classes.json")
    phrases, by_generic = load_drugs()
    substances: dict[str, frozenset[str]] = {}
    for _, concept in load_allergens(phrases):
        substances[concept.substance] = concept.classes
    return AllergyRules(
        same_drug=AlertSeverity[str(data["same_drug_severity"])],
        same_class=AlertSeverity[str(data["same_class_severity"])],
        cross=tuple(
            _CrossRule(str(r["allergy"]), str(r["medication"]), AlertSeverity[str(r["severity"])], str(r["note"]))
            for r in data["cross_reactivity"]
        ),
        class_names={str(k): str(v) for k, v in data["class_names"].items()},
        drug_classes={generic: concept.classes for generic, concept in by_generic.items()},
        substance_classes=substances,
    )


_CRITICAL = {VitalInterpretation.CRITICAL_LOW: "critically low", VitalInterpretation.CRITICAL_HIGH: "critically high"}


def _vital_alert(vital: VitalSign) -> ClinicalAlert | None:
    label = vital.kind.value.replace("_", " ")
    value = f"{vital.quantity.value:g} {vital.quantity.unit}"
    if vital.interpretation in _CRITICAL:
        return ClinicalAlert(
            kind=AlertKind.CRITICAL_VITAL,
            severity=AlertSeverity.CRITICAL,
            message=f"{label} {value} is {_CRITICAL[vital.interpretation]}",
            evidence=(vital.span,),
        )
    if vital.interpretation is VitalInterpretation.IMPLAUSIBLE:
        return ClinicalAlert(
            kind=AlertKind.IMPLAUSIBLE_VALUE,
            severity=AlertSeverity.WARNING,
            message=f"{label} {value} is outside physiological range (typo or unit error?)",
            evidence=(vital.span,),
        )
    return None


def _conflict(medication: Medication, allergy: Allergy, rules: AllergyRules) -> ClinicalAlert | None:
    med_classes = rules.drug_classes.get(medication.name, frozenset())
    allergy_classes = rules.substance_classes.get(allergy.substance, frozenset())
    if medication.name == allergy.substance:
        severity, reason = rules.same_drug, f"{medication.name} is a documented allergy"
    elif med_classes & allergy_classes:
        shared = sorted(med_classes & allergy_classes)[0]
        severity = rules.same_class
        reason = f"{medication.name} belongs to {rules.class_names.get(shared, shared)}, documented allergy: {allergy.substance}"  # noqa: E501
    else:
        best: _CrossRule | None = None
        for rule in rules.cross:
            if (
                rule.allergy_class in allergy_classes
                and rule.medication_class in med_classes
                and (best is None or rule.severity.value > best.severity.value)
            ):
                best = rule
        if best is None:
            return None
        severity = best.severity
        reason = (
            f"{medication.name} ({rules.class_names.get(best.medication_class, best.medication_class)}) may "
            f"cross-react with documented allergy {allergy.substance}: {best.note}"
        )
    if allergy.reaction:
        reason += f" (reaction: {allergy.reaction})"
    return ClinicalAlert(
        kind=AlertKind.ALLERGY_CONFLICT, severity=severity, message=reason, evidence=(allergy.span, medication.span)
    )


def compute_alerts(data: ClinicalData) -> list[ClinicalAlert]:
    alerts: list[ClinicalAlert] = []
    for vital in data.vital_signs:
        alert = _vital_alert(vital)
        if alert is not None:
            alerts.append(alert)
    allergies = [
        a
        for a in data.allergies
        if a.assertion.certainty in (Certainty.POSITIVE, Certainty.POSSIBLE_POSITIVE, Certainty.NEUTRAL_POSSIBLE)
    ]
    if allergies:
        rules = allergy_rules()
        # The verdict depends only on the drug name and the allergy's substance and reaction, so
        # it is decided once per distinct pair: a note repeating one allergy and one drug
        # thousands of times stays linear instead of checking every mention against every other.
        by_key: dict[tuple[str, str], list[Allergy]] = {}
        for allergy in allergies:
            by_key.setdefault((allergy.substance, allergy.reaction), []).append(allergy)
        verdicts: dict[tuple[str, str, str], bool] = {}
        for medication in data.medications:
            if medication.assertion.certainty is Certainty.NEGATIVE:
                continue
            for key, mentions in by_key.items():
                verdict_key = (medication.name, *key)
                if verdict_key not in verdicts:
                    verdicts[verdict_key] = _conflict(medication, mentions[0], rules) is not None
                if verdicts[verdict_key]:
                    for allergy in mentions:
                        alert = _conflict(medication, allergy, rules)
                        if alert is not None:
                            alerts.append(alert)
    alerts.sort(key=lambda a: (-a.severity.value, a.evidence[0].start if a.evidence else 0))
    return alerts
