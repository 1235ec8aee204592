"""Agreement counts between two answers, and the confidence intervals of the report."""

from __future__ import annotations

import pytest
from healthai_server.domain.clinical import (
    Allergy,
    ClinicalData,
    Coding,
    Condition,
    Medication,
    Quantity,
    Span,
    VitalKind,
    VitalSign,
)
from healthai_server.experiments.agreement import Counts, compare, overall, pooled
from healthai_server.experiments.stats import bootstrap, t_mean, wilson


def _vital(value: float) -> VitalSign:
    loinc = Coding("http://loinc.org", "8867-4")
    return VitalSign(VitalKind.HEART_RATE, Quantity(value, "/min"), loinc, Span(0, 2, "HR"))


def test_items_match_by_finding_not_by_offsets() -> None:
    live = ClinicalData(
        conditions=(Condition(Span(0, 3, "HTN"), "hypertension"), Condition(Span(10, 14, "COPD"), "copd")),
        medications=(Medication(Span(20, 29, "metformin"), "Metformin"),),
        vital_signs=(_vital(88),),
        allergies=(Allergy(Span(40, 50, "penicillin"), "penicillin"),),
    )
    shadow = ClinicalData(
        conditions=(Condition(Span(100, 103, "htn"), "Hypertension"), Condition(Span(5, 9, "gout"), "gout")),
        medications=(Medication(Span(21, 30, "metformin"), "metformin"),),
        vital_signs=(_vital(88.0), _vital(90)),
    )
    counts = compare(live, shadow)
    assert counts["conditions"] == Counts(1, 1, 1)
    assert counts["medications"] == Counts(1, 0, 0)
    assert counts["vital_signs"] == Counts(1, 1, 0)
    assert counts["allergies"] == Counts(0, 0, 1)
    assert counts["medications"].f1 == 1.0 and counts["conditions"].f1 == pytest.approx(0.5)
    assert Counts().f1 == 1.0  # both found nothing: they agree
    total = overall(pooled([counts, counts]))
    assert total == Counts(6, 4, 4)


def test_wilson_interval() -> None:
    estimate = wilson(8, 10)
    assert estimate.value == 0.8
    assert estimate.low == pytest.approx(0.4902, abs=1e-3) and estimate.high == pytest.approx(0.9433, abs=1e-3)
    assert wilson(0, 0).n == 0 and wilson(0, 0).render() == "-"
    assert wilson(0, 5).low == 0.0 and wilson(5, 5).high == 1.0


def test_t_interval_and_bootstrap() -> None:
    estimate = t_mean([10.0, 12.0, 14.0])
    assert estimate.value == 12.0
    assert estimate.low == pytest.approx(12 - 4.303 * 2 / 3**0.5, abs=1e-3)
    assert t_mean([5.0]).low == 5.0 and t_mean([]).n == 0
    assert t_mean([1.0] * 100).high == 1.0
    items = [1.0] * 50 + [0.0] * 50
    boot = bootstrap(items, lambda xs: sum(xs) / len(xs))
    assert boot.value == 0.5 and boot.low < 0.5 < boot.high and boot.high - boot.low < 0.3
    assert boot == bootstrap(items, lambda xs: sum(xs) / len(xs))  # seeded: reproducible
    assert bootstrap([], lambda xs: 0.0).n == 0
    assert "[" in boot.render()


def test_mean_interval_stays_within_the_data_for_small_skewed_samples() -> None:
    from healthai_server.experiments.stats import BOOTSTRAP_MAX_N, mean_ci

    skewed = [10.0] * 13 + [400.0]
    estimate = mean_ci(skewed)
    assert estimate.low >= 10.0 and estimate.high <= 400.0 and estimate.low < estimate.value < estimate.high
    large = [float(i % 7) for i in range(BOOTSTRAP_MAX_N + 1)]
    assert mean_ci(large) == t_mean(large)
