from healthai_server.domain.clinical import NoteSection
from healthai_server.engine.sections import SectionDetector, SectionIndex


def _sections(text: str) -> list[tuple[NoteSection, str]]:
    return [(s.section, text[s.header_start : s.header_end]) for s in SectionDetector().detect(text)]


def test_common_headers() -> None:
    text = "CHIEF COMPLAINT: cp\nREVIEW OF SYSTEMS: neg\nASSESSMENT AND PLAN:\n1. HTN\nFamily history: none\n"
    kinds = [k for k, _ in _sections(text)]
    assert kinds == [
        NoteSection.CHIEF_COMPLAINT,
        NoteSection.REVIEW_OF_SYSTEMS,
        NoteSection.ASSESSMENT_AND_PLAN,
        NoteSection.FAMILY_HISTORY,
    ]


def test_dictated_headers_run_together() -> None:
    text = "Takes aspirin daily. MEDICATIONS: , Her only medication is aspirin. ALLERGIES: NKDA."
    kinds = [k for k, _ in _sections(text)]
    assert kinds == [NoteSection.MEDICATIONS, NoteSection.ALLERGIES]


def test_header_alone_on_line_and_index() -> None:
    text = "HOSPITAL COURSE\nadmitted.\nDISCHARGE MEDICATIONS\n1. aspirin\n"
    index = SectionIndex(SectionDetector().detect(text))
    assert index.at(text.index("admitted")) is NoteSection.HOSPITAL_COURSE
    assert index.at(text.index("aspirin")) is NoteSection.DISCHARGE_MEDICATIONS
    assert index.at(0) is NoteSection.HOSPITAL_COURSE


def test_ros_subheader_is_not_a_section() -> None:
    text = "REVIEW OF SYSTEMS:\nConstitutional: No fever.\n"
    assert [k for k, _ in _sections(text)] == [NoteSection.REVIEW_OF_SYSTEMS]


def test_lowercase_single_letter_is_not_soap_header() -> None:
    assert _sections("a: something\n") == []
    assert [k for k, _ in _sections("A: HTN\n")] == [NoteSection.ASSESSMENT_AND_PLAN]


def test_unknown_header_ends_the_section_above() -> None:
    text = "ALLERGIES:\nPenicillin.\nMEDICATIONS AT HOME THAT SHE TAKES:\nLisinopril.\n"
    index = SectionIndex(SectionDetector().detect(text))
    assert index.at(text.index("Penicillin")) is NoteSection.ALLERGIES
    assert index.at(text.index("Lisinopril")) is NoteSection.MEDICATIONS  # by its keyword
    text = "ALLERGIES:\nPenicillin.\nPATIENT'S GOAL:\nTo eat again.\n"
    index = SectionIndex(SectionDetector().detect(text))
    assert index.at(text.index("To eat")) is NoteSection.OTHER


def test_header_variants_by_keyword() -> None:
    cases = {
        "ALLERGIES TO MEDICATIONS:": NoteSection.ALLERGIES,
        "Drug Allergies:": NoteSection.ALLERGIES,
        "HOME MEDICATIONS:": NoteSection.MEDICATIONS,
        "Current Medications:": NoteSection.MEDICATIONS,
        "DISCHARGE MEDICATIONS:": NoteSection.DISCHARGE_MEDICATIONS,
        "MEDICATIONS ON DISCHARGE FROM THE WARD:": NoteSection.DISCHARGE_MEDICATIONS,
        "ADMISSION MEDICATIONS:": NoteSection.MEDICATIONS,
        "REASON FOR VISIT:": NoteSection.CHIEF_COMPLAINT,
        "DIAGNOSTIC IMPRESSION:": NoteSection.ASSESSMENT_AND_PLAN,
        "PREVIOUS MEDICAL HISTORY:": NoteSection.PAST_MEDICAL_HISTORY,
        "HISTORY OF PRESENTING ILLNESS:": NoteSection.HISTORY_OF_PRESENT_ILLNESS,
    }
    for header, section in cases.items():
        assert [k for k, _ in _sections(f"{header}\nsomething.\n")] == [section], header


def test_sub_headings_continue_the_exam_but_end_other_sections() -> None:
    text = "PHYSICAL EXAMINATION:\nNeck: Supple.\nHEENT: Normal.\nALLERGIES: Sulfa.\nGeneral: Well.\n"
    kinds = [k for k, _ in _sections(text)]
    assert kinds == [NoteSection.PHYSICAL_EXAM, NoteSection.ALLERGIES, NoteSection.PHYSICAL_EXAM]


def test_what_is_not_a_header() -> None:
    assert _sections("The patient's medications on admission include: aspirin.\n") == []
    assert _sections("Lisinopril: 10 mg daily.\n") == []  # one Title Case word: a list line
    assert _sections("Seen today. General: well. 1. DIABETES: controlled.\n") == [
        (NoteSection.PHYSICAL_EXAM, "General:")
    ]
    assert _sections("See http://example.org: x\n") == []


def test_header_is_not_a_lexicon_entity_when_the_engine_says_so() -> None:
    detector = SectionDetector(is_entity=lambda header: header.strip() == "HYPERTENSION")
    text = "ASSESSMENT:\nHYPERTENSION: controlled.\nMYSTERY HEADER: x\n"
    kinds = [s.section for s in detector.detect(text)]
    assert kinds == [NoteSection.ASSESSMENT_AND_PLAN, NoteSection.OTHER]
