from healthai_server.domain.clinical import (
    AllergyCategory,
    AllergySeverity,
    Certainty,
    EntityType,
    ExtractionOptions,
    MedicationStatus,
    Route,
    VitalInterpretation,
    VitalKind,
)
from healthai_server.engine import ClinicalEngine


def test_conditions_coded_and_uncoded(engine: ClinicalEngine) -> None:
    data = engine.extract("Dx: HTN, DM2, CHF, CKD 3, AFib, UTI, BPH. Also histoplasmosis, sarcoidosis, quorbitis.")
    codes = {c.span.text: (c.codings[0].code if c.codings else None) for c in data.conditions}
    assert codes["HTN"] == "I10"
    assert codes["DM2"] == "E11.9"
    assert codes["CHF"] == "I50.9"
    assert codes["CKD 3"] == "N18.30"
    assert codes["AFib"] == "I48.91"
    assert codes["UTI"] == "N39.0"
    assert codes["BPH"] == "N40.0"
    assert codes["histoplasmosis"] == "B39.9"  # from the ICD-10-CM derived surfaces
    assert codes["quorbitis"] is None  # clinical suffix, in no lexicon: kept uncoded
    assert codes["sarcoidosis"] == "D86.9"


def test_medication_attributes(engine: ClinicalEngine) -> None:
    text = "Lipitor 40 mg PO daily. Albuterol 2 puffs q4-6h p.r.n. wheezing. Tylenol 325 mg 2 tabs q6h prn pain."
    meds = {m.span.text: m for m in engine.extract(text).medications}
    lipitor = meds["Lipitor"]
    assert lipitor.name == "atorvastatin" and lipitor.route is Route.ORAL
    assert lipitor.dose is not None and (lipitor.dose.value, lipitor.dose.unit) == (40.0, "mg")
    assert lipitor.frequency is not None and lipitor.frequency.code == "QD"
    albuterol = meds["Albuterol"]
    assert albuterol.frequency is not None
    assert (albuterol.frequency.code, albuterol.frequency.times_per_day, albuterol.frequency.as_needed) == (
        "Q4H",
        6.0,
        True,
    )
    tylenol = meds["Tylenol"]
    assert tylenol.strength is not None and tylenol.strength.unit == "mg"
    assert tylenol.dose is not None and (tylenol.dose.value, tylenol.dose.unit) == (2.0, "{tbl}")
    assert tylenol.instruction_span is not None
    assert text[tylenol.instruction_span.start : tylenol.instruction_span.end] == tylenol.instruction_span.text


def test_medication_frequency_words_and_status(engine: ClinicalEngine) -> None:
    text = "Stopped lisinopril and started losartan 50 mg twice daily. Metformin held. Given ceftriaxone 1 g IV."
    meds = {m.name: m for m in engine.extract(text).medications}
    assert meds["lisinopril"].status is MedicationStatus.DISCONTINUED
    assert meds["losartan"].status is MedicationStatus.NEW
    assert meds["losartan"].frequency is not None and meds["losartan"].frequency.code == "BID"
    assert meds["metformin"].status is MedicationStatus.HELD
    assert meds["ceftriaxone"].status is MedicationStatus.ADMINISTERED
    assert meds["ceftriaxone"].route is Route.INTRAVENOUS


def test_allergen_drug_is_not_a_medication(engine: ClinicalEngine) -> None:
    data = engine.extract("ALLERGIES: Penicillin (anaphylaxis), latex.\nMEDICATIONS: aspirin 81 mg daily.")
    assert [m.name for m in data.medications] == ["aspirin"]
    allergies = {a.substance: a for a in data.allergies}
    assert allergies["penicillin"].severity is AllergySeverity.SEVERE
    assert allergies["penicillin"].category is AllergyCategory.MEDICATION
    assert allergies["latex"].category is AllergyCategory.ENVIRONMENT
    assert not data.no_known_allergies


def test_allergic_to_in_prose(engine: ClinicalEngine) -> None:
    data = engine.extract("She is allergic to sulfa, so was started on nitrofurantoin.")
    assert [a.substance for a in data.allergies] == ["sulfonamide"]
    assert [m.name for m in data.medications] == ["nitrofurantoin"]


def test_no_known_allergies(engine: ClinicalEngine) -> None:
    text = "Allergies: NKDA.\n"
    data = engine.extract(text)
    assert data.no_known_allergies and data.no_known_allergies_span is not None
    assert data.no_known_allergies_span.text == "NKDA"
    assert engine.extract("Allergies: None\n").no_known_allergies


def test_vitals(engine: ClinicalEngine) -> None:
    text = "VS: BP 142/91, HR 112, RR 22, T 38.4 C, SpO2 91% on 2L NC, Wt 80 kg, Ht 5'10\", BMI 26, pain 6/10"
    vitals = engine.extract(text).vital_signs
    by_kind = {v.kind: v for v in vitals}
    assert by_kind[VitalKind.SYSTOLIC_BLOOD_PRESSURE].span.text == "142/91"
    assert by_kind[VitalKind.DIASTOLIC_BLOOD_PRESSURE].quantity.value == 91
    assert by_kind[VitalKind.BODY_TEMPERATURE].quantity.unit == "Cel"
    assert by_kind[VitalKind.OXYGEN_SATURATION].context == "on 2L NC"
    assert by_kind[VitalKind.BODY_HEIGHT].quantity.value == 70
    assert by_kind[VitalKind.BODY_HEIGHT].quantity.unit == "[in_i]"
    assert by_kind[VitalKind.HEART_RATE].loinc.code == "8867-4"
    assert by_kind[VitalKind.PAIN_SCORE].quantity.value == 6
    for v in vitals:
        assert text[v.span.start : v.span.end] == v.span.text


def test_vital_interpretation_flags_not_drops(engine: ClinicalEngine) -> None:
    vitals = engine.extract("HR 1100. Temp 93.0 F. BP 210/130. SpO2 82%.").vital_signs
    by_kind = {v.kind: v.interpretation for v in vitals}
    assert by_kind[VitalKind.HEART_RATE] is VitalInterpretation.IMPLAUSIBLE
    assert by_kind[VitalKind.BODY_TEMPERATURE] is VitalInterpretation.CRITICAL_LOW
    assert by_kind[VitalKind.SYSTOLIC_BLOOD_PRESSURE] is VitalInterpretation.CRITICAL_HIGH
    assert by_kind[VitalKind.OXYGEN_SATURATION] is VitalInterpretation.CRITICAL_LOW


def test_problem_list(engine: ClinicalEngine) -> None:
    text = (
        "PMH: HTN, appendicitis.\nFH: mother with DM.\nHPI: denies chest pain.\n"
        "ASSESSMENT AND PLAN:\n1. Pneumonia.\n2. HTN - continue meds.\n3. Return if fever.\n"
    )
    problems = engine.extract(text).problem_list
    names = [p.name for p in problems]
    assert names[:2] == ["pneumonia", "hypertension"]
    assert "acute appendicitis" not in names  # resolved past, not chronic
    assert "type 2 diabetes mellitus" not in names  # family
    assert "chest pain" not in names and "fever" not in names
    hypertension = problems[1]
    assert len(hypertension.evidence) == 2 and hypertension.rank == 2


def test_options_filter(engine: ClinicalEngine) -> None:
    text = "HTN. Lisinopril 10 mg daily. BP 120/80."
    data = engine.extract(text, ExtractionOptions(entity_types=frozenset({EntityType.VITAL_SIGN})))
    assert data.vital_signs and not data.conditions and not data.medications and not data.problem_list


def test_negated_medication(engine: ClinicalEngine) -> None:
    meds = engine.extract("Not on aspirin.").medications
    assert meds[0].assertion.certainty is Certainty.NEGATIVE
