from healthai_server.domain.analysis import AlertKind, AlertSeverity
from healthai_server.engine import ClinicalEngine
from healthai_server.engine.alerts import compute_alerts


def test_allergy_conflicts_and_vitals(engine: ClinicalEngine) -> None:
    text = (
        "ALLERGIES: penicillin (hives), sulfa.\n"
        "PLAN: Start amoxicillin 500 mg TID. Bactrim DS 1 tab BID. Cefazolin 2 g IV. Acetaminophen prn.\n"
        "VITALS: HR 35, BP 120/80, T 98.6 F, RR 400\n"
    )
    alerts = compute_alerts(engine.extract(text))
    kinds = [(a.kind, a.severity) for a in alerts]
    assert kinds[0][1] is AlertSeverity.CRITICAL
    assert (AlertKind.ALLERGY_CONFLICT, AlertSeverity.CRITICAL) in kinds
    assert (AlertKind.CRITICAL_VITAL, AlertSeverity.CRITICAL) in kinds
    assert (AlertKind.IMPLAUSIBLE_VALUE, AlertSeverity.WARNING) in kinds
    assert (AlertKind.ALLERGY_CONFLICT, AlertSeverity.WARNING) in kinds  # cephalosporin cross-reactivity
    severities = [a.severity.value for a in alerts]
    assert severities == sorted(severities, reverse=True)
    conflict_texts = {tuple(e.text for e in a.evidence) for a in alerts if a.kind is AlertKind.ALLERGY_CONFLICT}
    assert ("penicillin", "amoxicillin") in conflict_texts
    assert ("sulfa", "Bactrim DS") in conflict_texts
    assert not any("Acetaminophen" in t for pair in conflict_texts for t in pair)
    for alert in alerts:
        for span in alert.evidence:
            assert text[span.start : span.end] == span.text


def test_no_alerts_for_clean_note(engine: ClinicalEngine) -> None:
    assert compute_alerts(engine.extract("NKDA. Lisinopril 10 mg daily. BP 118/76, HR 70.")) == []
