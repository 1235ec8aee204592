"""The classes of leak closed after the blind6 and blind7 measurements (issue 11, round 4),
each with sentences written for the test, not taken from the sets: other names, months and
numbers in the same shape must go too, and clinical sentences that look alike stay."""

from __future__ import annotations

import re

import pytest
from healthai_server.domain.phi import DeidentificationPolicy, PhiType
from healthai_server.phi import Deidentifier

RF = DeidentificationPolicy.RECALL_FIRST
PRECISION = DeidentificationPolicy.PRECISION


def removed_tokens(deid: Deidentifier, text: str, policy: DeidentificationPolicy = RF) -> set[str]:
    out: set[str] = set()
    for f in deid.detect(text, policy):
        out.update(re.sub(r"[,.\-'/]", " ", f.span.text).split())
    return out


@pytest.mark.parametrize(
    ("text", "identifier"),
    [
        # A day spoken before its month, with or without a year; a month then "the" and a day.
        ("Seen on the nineteenth of August, 2024 for review.", {"nineteenth", "of", "August", "2024"}),
        ("dob the second of june nineteen eighty one", {"second", "of", "june", "nineteen", "eighty", "one"}),
        ("born the thirty-first of Jan, sixty-two, she says", {"thirty", "first", "Jan", "sixty", "two"}),
        ("my scan was on may the 14th and nobody called", {"may", "14th"}),
        # A spelled ordinal after a word of time, ending its phrase.
        ("the stent came out on the twenty second and she felt fine", {"twenty", "second"}),
        ("no stool since tuesday the fourth um", {"fourth"}),
        # A dictation's date read as month, day and two-digit year; a month "of last year".
        ("signed eleven twenty eight twenty five by the attending", {"eleven", "twenty", "eight", "five"}),
        ("her last mammogram was october of last year", {"october"}),
        # Abbreviated months alone or with an apostrophe year; a range's shared year.
        ("A1c 8.9 in Feb, weight down since Nov.", {"Feb", "Nov"}),
        ("switched to apixaban in Oct '23 after the bleed", {"Oct", "23"}),
        ("inpatient stay Mar 3-9, 2024 for pneumonia", {"Mar", "3", "9", "2024"}),
        # A month/day after LMP or "last <event>", even with a score word nearby.
        ("Back pain 6/10. LMP 9/27; denies discharge.", {"9", "27"}),
        ("last fall 12/18 at home", {"12", "18"}),
        # A found person's initials where they stand for the person.
        ("Wound RN: Odalys Ferreira, RN (OF)\n08:00  dressing changed  OF\n", {"OF"}),
        ("Chaplain Tobias Okoro visited. Consent witnessed by TO.", {"TO"}),
        # Dotted initials before a credential or a record code in parentheses.
        ("Tolerated lunch. - M.W., CNA\n", {"M", "W"}),
        ("Re: transfer - T.B. (QX-5518820) pending bed", {"T", "B"}),
        # A typist's initials after a transcription label, whatever else the letters abbreviate.
        ("Dictating: Ana Ruiz, MD   Transcriptionist: ekg   Job 5521\n", {"ekg"}),
        ("dictated june third transcribed june fourth by rx\n", {"rx"}),
        # "doctor" before a lower-case census name in a dictation.
        ("follow up with cardiology doctor pike in two weeks", {"pike"}),
        ("referring provider doctor faith delgado", {"faith", "delgado"}),
        # A nickname given without quotes.
        ("Her name is Marguerite but everyone calls me Dot, she said.", {"Dot"}),
        ("Father goes by Chip at home.", {"Chip"}),
        # A nurse practitioner's board credential after a name.
        ("Evaluator: Coral Whitfield, PMHNP-BC\n", {"Coral", "Whitfield"}),
        # Letter prefixes and groups of a labelled number.
        ("Pharmacist license B 502277 on file.", {"B", "502277"}),
        ("Claim number: K 31 902 664   Status: open", {"K", "31", "902", "664"}),
        ("member id QHP 7710 3384 09. Thanks", {"QHP", "7710", "3384", "09"}),
    ],
)
def test_round4_leak_class_is_removed(deid_orgs: Deidentifier, text: str, identifier: set[str]) -> None:
    assert identifier <= removed_tokens(deid_orgs, text)


@pytest.mark.parametrize(
    ("text", "kept", "policy"),
    [
        ("He was the first to arrive; on the third attempt the line went in.", {"first", "third"}, PRECISION),
        ("Repeat on the second day of the cycle.", {"second", "day"}, PRECISION),
        ("One third of patients improve.", {"third"}, RF),
        ("Pain 7/10 today, last pain score 6/10.", {"7", "10", "6"}, PRECISION),
        ("c/o HA and nausea (HA) since noon; Helen Brooks, RN aware", {"HA"}, PRECISION),
        ("| 2026-01-02 | Paul Moreno | MD | signed |", {"MD"}, PRECISION),
        ("the doctor will call, my doctor said so, ask your doctor today", {"will", "said", "today"}, RF),
        ("vitamin D 50000 units weekly; hepatitis B vaccine series 2019", {"D", "B", "50000", "2019"}, RF),
        ("Fax T 555-0100, serials L 4410B221 / R 4410B222", {"T", "L", "R"}, RF),
        ("BP 128 76 72 today", {"128", "76", "72"}, RF),
        ("Dictated by Dr. Lambert; typed by me.", {"Dr", "me"}, PRECISION),
    ],
)
def test_round4_clinical_lookalikes_are_kept(
    deid_orgs: Deidentifier, text: str, kept: set[str], policy: DeidentificationPolicy
) -> None:
    assert not (kept & removed_tokens(deid_orgs, text, policy))


def test_ordinal_of_month_is_typed_a_date_under_both_policies(deid_orgs: Deidentifier) -> None:
    text = "We spoke on the twelfth of March about the results."
    for policy in (RF, PRECISION):
        dates = [f.span.text for f in deid_orgs.detect(text, policy) if f.type is PhiType.DATE]
        assert dates == ["twelfth of March"]
