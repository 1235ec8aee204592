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
