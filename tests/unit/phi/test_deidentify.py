"""Modes, surrogate consistency, date shifting, the ZIP3 rule."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from healthai_server.domain.phi import DeidentificationMode, PhiType
from healthai_server.phi import Deidentifier
from healthai_server.phi.surrogates import RESTRICTED_ZIP3, safe_zip, shift_date

NOTE = (
    "Patient: John Smith   DOB: 03/14/1952   MRN: 00123456\n"
    "Seen by Dr. Graves on March 14, 2019. His wife Mary called from (617) 555-0199.\n"
    "Address: 123 Main Street, Springfield, IL 62704. Email john.smith@gmail.com.\n"
    "Mr. Smith has Parkinson disease. Follow up 2019-04-11.\n"
)


def test_redact_uses_type_tags(deid: Deidentifier) -> None:
    result = deid.deidentify(NOTE, DeidentificationMode.REDACT, tenant="t1")
    assert "Patient: [NAME]" in result.text
    assert "[DATE]" in result.text and "[PHONE]" in result.text and "[ZIP_CODE]" in result.text
    assert "Parkinson disease" in result.text
    for finding in result.findings:
        assert finding.replacement == f"[{finding.type.name}]"
        assert finding.span.text not in result.text or finding.span.text in ("Smith",)


def test_mask_keeps_length(deid: Deidentifier) -> None:
    result = deid.deidentify(NOTE, DeidentificationMode.MASK, tenant="t1")
    assert len(result.text) == len(NOTE)
    for finding in result.findings:
        assert finding.replacement == "*" * (finding.span.end - finding.span.start)
        assert result.text[finding.span.start : finding.span.end] == finding.replacement


def test_findings_are_in_note_order_and_exact(deid: Deidentifier) -> None:
    findings = deid.deidentify(NOTE, DeidentificationMode.SURROGATE, tenant="t1").findings
    assert [f.span.start for f in findings] == sorted(f.span.start for f in findings)
    for f in findings:
        assert NOTE[f.span.start : f.span.end] == f.span.text
        assert 0.0 < f.confidence <= 1.0


def _names(result_text: str, deid: Deidentifier) -> list[str]:
    return [f.span.text for f in deid.detect(result_text) if f.type is PhiType.NAME]


def test_surrogates_are_consistent_within_a_note(deid: Deidentifier) -> None:
    result = deid.deidentify(NOTE, DeidentificationMode.SURROGATE, tenant="t1")
    by_value: dict[str, set[str]] = {}
    for f in result.findings:
        by_value.setdefault(f.span.text, set()).add(f.replacement)
        assert f.replacement != f.span.text
    assert all(len(v) == 1 for v in by_value.values())
    smith = {f.replacement for f in result.findings if f.span.text == "John Smith"}.pop().split()[-1]
    assert {f.replacement for f in result.findings if f.span.text == "Smith"} == {smith}


def test_surrogates_are_consistent_across_notes_of_a_patient(deid: Deidentifier) -> None:
    a = deid.deidentify(
        "Patient: John Smith seen 03/14/2019.", DeidentificationMode.SURROGATE, tenant="t1", patient_ref="p-1"
    )
    b = deid.deidentify(
        "Mr. John Smith called on 04/01/2019.", DeidentificationMode.SURROGATE, tenant="t1", patient_ref="p-1"
    )
    name_a = next(f.replacement for f in a.findings if f.type is PhiType.NAME)
    name_b = next(f.replacement for f in b.findings if f.type is PhiType.NAME)
    assert name_a == name_b
    other_patient = deid.deidentify(
        "Patient: John Smith seen 03/14/2019.", DeidentificationMode.SURROGATE, tenant="t1", patient_ref="p-2"
    )
    other_tenant = deid.deidentify(
        "Patient: John Smith seen 03/14/2019.", DeidentificationMode.SURROGATE, tenant="t2", patient_ref="p-1"
    )
    assert other_patient.text != a.text or other_tenant.text != a.text


def test_without_patient_ref_notes_are_not_linkable(deid: Deidentifier) -> None:
    texts = {
        deid.deidentify("Patient: John Smith seen 03/14/2019.", DeidentificationMode.SURROGATE, tenant="t1").text
        for _ in range(4)
    }
    assert len(texts) > 1


def test_date_shift_preserves_intervals(deid: Deidentifier) -> None:
    text = "Admitted 03/14/2019, discharged 03/20/2019, seen again 2019-04-11."
    result = deid.deidentify(text, DeidentificationMode.SURROGATE, tenant="t1", patient_ref="p-9")
    dates = [f.replacement for f in result.findings if f.type is PhiType.DATE]
    parsed = [dt.datetime.strptime(d, "%m/%d/%Y").date() for d in dates[:2]]
    parsed.append(dt.date.fromisoformat(dates[2]))
    assert (parsed[1] - parsed[0]).days == 6
    assert (parsed[2] - parsed[0]).days == 28
    offset = deid.date_offset_days(tenant="t1", patient_ref="p-9")
    assert parsed[0] - dt.date(2019, 3, 14) == dt.timedelta(days=offset)
    assert 30 <= abs(offset) <= 365


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("03/14/2019", 10, "03/24/2019"),
        ("3/14/19", 30, "4/13/19"),
        ("March 14, 2019", -14, "February 28, 2019"),
        ("Mar. 14, 2019", 1, "Mar. 15, 2019"),
        ("14-Mar-2019", 20, "03-Apr-2019"),
        ("2019-03-14", 365, "2020-03-13"),
        ("14 March 2019", 1, "15 March 2019"),
        ("March 2019", 31, "April 2019"),
        ("MARCH 14", 1, "MARCH 15"),
        ("14th", 1, "15th"),
        ("21st", 1, "22nd"),
    ],
)
def test_shift_date_keeps_format(value: str, days: int, expected: str) -> None:
    assert shift_date(value, days) == expected


def test_zip3_rule() -> None:
    assert safe_zip("62704") == "62700"
    assert safe_zip("62704-1234") == "62700-0000"
    for prefix in RESTRICTED_ZIP3:
        assert safe_zip(prefix + "01") == "00000"
    assert len(RESTRICTED_ZIP3) == 17


def test_surrogate_formats(deid: Deidentifier) -> None:
    text = "SSN: 123-45-6789. Call (617) 555-0199. MRN: E1234567. Age: 97. Lives in Worcester, MA 01608."
    result = deid.deidentify(text, DeidentificationMode.SURROGATE, tenant="t1", patient_ref="p")
    by_type = {f.type: f.replacement for f in result.findings}
    assert re.fullmatch(r"9\d\d-\d\d-\d{4}", by_type[PhiType.SSN])
    assert re.fullmatch(r"\(\d{3}\) \d{3}-\d{4}", by_type[PhiType.PHONE])
    assert re.fullmatch(r"[A-Z]\d{7}", by_type[PhiType.MEDICAL_RECORD_NUMBER])
    assert by_type[PhiType.AGE] == "90"
    assert by_type[PhiType.ZIP_CODE] == "01600"
    assert by_type[PhiType.CITY] != "Worcester"


def test_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least"):
        Deidentifier(secret_key=b"short")


def test_street_surrogate_keeps_suffix_and_unit_label(deid: Deidentifier) -> None:
    result = deid.deidentify("Lives at 123 Main Street, Apt 4B.", DeidentificationMode.SURROGATE, tenant="t")
    street = next(f.replacement for f in result.findings if f.type is PhiType.STREET_ADDRESS)
    assert re.fullmatch(r"\d+ [A-Z][a-z]+ Street, Apt \d[A-Z]", street), street


def test_nothing_is_logged_or_printed(
    deid: Deidentifier, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG")
    for mode in DeidentificationMode:
        deid.deidentify(NOTE, mode, tenant="t1", patient_ref="p")
    assert caplog.records == []
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
