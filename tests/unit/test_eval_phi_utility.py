"""eval-phi --utility: the engine on de-identified text against the engine on the original."""

from __future__ import annotations

from pathlib import Path

from healthai_server.domain.phi import DeidentificationPolicy
from healthai_server.engine import ClinicalEngine
from healthai_server.evaluation.phi_utility import real_notes_agreement, utility_report


def test_identity_de_identification_agrees_fully(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("BP 150/95, HR 104. Lisinopril 10 mg daily for hypertension.\n")
    agreement = real_notes_agreement(ClinicalEngine(), lambda text: text, sorted(tmp_path.glob("*.txt")))
    assert all(a.f1 == 1.0 and a.reference > 0 for a in agreement.values())


def test_removing_the_drug_name_costs_medication_agreement(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Lisinopril 10 mg daily.\n")
    agreement = real_notes_agreement(
        ClinicalEngine(), lambda text: text.replace("Lisinopril", "**********"), sorted(tmp_path.glob("*.txt"))
    )
    assert agreement["medications"].f1 == 0.0


def test_recall_first_keeps_clinical_utility_on_the_golden_set(tmp_path: Path) -> None:
    report = utility_report(DeidentificationPolicy.RECALL_FIRST, real_notes=None)
    for kind, row in report["clinical_golden"].items():
        assert row["ratio"] >= 0.95, kind
