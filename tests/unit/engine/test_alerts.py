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


def test_every_mention_pair_still_alerts_when_the_verdict_is_decided_once(engine: ClinicalEngine) -> None:
    text = (
        "ALLERGIES: penicillin (hives).\nHPI: reports a penicillin allergy.\n"
        "PLAN: amoxicillin 500 mg TID. Later amoxicillin 250 mg. Lisinopril 10 mg daily.\n"
    )
    data = engine.extract(text)
    conflicts = [a for a in compute_alerts(data) if a.kind is AlertKind.ALLERGY_CONFLICT]
    pairs = {(a.evidence[0].start, a.evidence[1].start) for a in conflicts}
    allergy_starts = {a.span.start for a in data.allergies}
    amoxicillin_starts = {m.span.start for m in data.medications if m.name == "amoxicillin"}
    assert len(allergy_starts) == 2 and len(amoxicillin_starts) == 2
    assert pairs == {(a, m) for a in allergy_starts for m in amoxicillin_starts}
