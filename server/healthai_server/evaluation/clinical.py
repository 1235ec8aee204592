"""Evaluate the local clinical engine on the golden set or the real-text set.

    healthai-server eval [--set golden|real] [--part dev|blind|blind2|all] [--corpus DIR]
                         [-v] [--json] [--update-baseline] [--golden DIR]

`golden` (data/golden/clinical) is synthetic notes with gold beside them. `real`
(data/golden/real) holds only gold for public MTSamples transcriptions that stay in
`--corpus` (default ../shared/corpora/mtsamples-dev beside the checkout); its split.json
names a `dev` part to tune on and a `blind` part annotated by people who never ran the
engine, measured once per round. Each set and part has its own baseline.

Items match gold of the same type when spans overlap (vitals: and the same kind), one to
one, greedily in note order. Reported: precision/recall/F1 per type, attribute accuracy
over matched items where gold gives the attribute, assertion accuracy over matched
conditions (all four axes). With -v, per-note errors (they quote note text: synthetic
notes only; never point this at real notes with logs collected).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from healthai_server.domain.clinical import ClinicalData, ExtractionOptions, VitalKind

TYPES = ("conditions", "medications", "vitals", "allergies")
_VITAL_KINDS = {
    "SBP": VitalKind.SYSTOLIC_BLOOD_PRESSURE,
    "DBP": VitalKind.DIASTOLIC_BLOOD_PRESSURE,
    "HR": VitalKind.HEART_RATE,
    "RR": VitalKind.RESPIRATORY_RATE,
    "TEMP": VitalKind.BODY_TEMPERATURE,
    "SPO2": VitalKind.OXYGEN_SATURATION,
    "WT": VitalKind.BODY_WEIGHT,
    "HT": VitalKind.BODY_HEIGHT,
    "BMI": VitalKind.BODY_MASS_INDEX,
    "PAIN": VitalKind.PAIN_SCORE,
}
_ASSERTION_AXES = ("certainty", "conditionality", "association", "temporality")
VITAL_ABBREVIATIONS = {kind: name for name, kind in _VITAL_KINDS.items()}
_DEFAULT_ASSERTION = {
    "certainty": "positive",
    "conditionality": "none",
    "association": "subject",
    "temporality": "current",
}


class Extractor(Protocol):
    def extract(self, text: str, options: ExtractionOptions) -> ClinicalData: ...


def default_golden_dir() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "data" / "golden" / "clinical"
        if candidate.is_dir():
            return candidate
    return Path("data/golden/clinical")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Accuracy:
    correct: int = 0
    total: int = 0

    def add(self, ok: bool) -> None:
        self.total += 1
        self.correct += int(ok)

    @property
    def value(self) -> float:
        return self.correct / self.total if self.total else 1.0


@dataclass
class Report:
    notes: int = 0
    counts: dict[str, Counts] = field(default_factory=lambda: {t: Counts() for t in TYPES})
    attributes: dict[str, Accuracy] = field(default_factory=dict)
    assertion: Accuracy = field(default_factory=Accuracy)
    assertion_axes: dict[str, Accuracy] = field(default_factory=lambda: {a: Accuracy() for a in _ASSERTION_AXES})
    nka: Accuracy = field(default_factory=Accuracy)
    # The two dangerous confusions: a medication the patient takes reported as an allergy,
    # and an allergen reported as a medication (gold of one type found as the other).
    medication_as_allergy: int = 0
    allergen_as_medication: int = 0
    errors: dict[str, list[str]] = field(default_factory=dict)

    def attribute(self, name: str, ok: bool) -> None:
        self.attributes.setdefault(name, Accuracy()).add(ok)

    def f1(self) -> dict[str, float]:
        return {t: round(c.f1, 4) for t, c in self.counts.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "notes": self.notes,
            "types": {
                t: {"precision": round(c.precision, 4), "recall": round(c.recall, 4), "f1": round(c.f1, 4),
                    "tp": c.tp, "fp": c.fp, "fn": c.fn}
                for t, c in self.counts.items()
            },
            "attributes": {k: {"accuracy": round(v.value, 4), "n": v.total} for k, v in sorted(self.attributes.items())},  # noqa: E501
            "assertion_accuracy": round(self.assertion.value, 4),
            "assertion_n": self.assertion.total,
            "assertion_axes": {k: round(v.value, 4) for k, v in self.assertion_axes.items()},
            "no_known_allergies_accuracy": round(self.nka.value, 4),
            "medication_as_allergy": self.medication_as_allergy,
            "allergen_as_medication": self.allergen_as_medication,
        }  # fmt: skip


def _locate(text: str, surface: str | int, occurrence: int) -> tuple[int, int]:
    """A gold item's span: `[surface, occurrence, attrs]` (golden set) or `[start, end, attrs]` (real set)."""
    if isinstance(surface, int):
        if not 0 <= surface < occurrence <= len(text):
            raise ValueError(f"gold offsets out of range: {surface}-{occurrence}")
        return surface, occurrence
    start = -1
    position = 0
    for _ in range(occurrence + 1):
        start = text.find(surface, position)
        if start < 0:
            raise ValueError(f"gold surface not found (occurrence {occurrence})")
        position = start + len(surface)
    return start, start + len(surface)


@dataclass
class _Gold:
    start: int
    end: int
    surface: str
    attrs: dict[str, Any]


def _predicted(data: ClinicalData, kind: str) -> list[tuple[int, int, Any]]:
    if kind == "conditions":
        return [(c.span.start, c.span.end, c) for c in data.conditions]
    if kind == "medications":
        return [(m.span.start, m.span.end, m) for m in data.medications]
    if kind == "vitals":
        return [(v.span.start, v.span.end, v) for v in data.vital_signs]
    return [(a.span.start, a.span.end, a) for a in data.allergies]


def _compatible(kind: str, gold: _Gold, item: Any) -> bool:
    if kind == "vitals":
        return bool(_VITAL_KINDS.get(str(gold.attrs.get("kind"))) is item.kind)
    return True


def _score_attributes(kind: str, gold: _Gold, item: Any, report: Report, errors: list[str]) -> None:
    attrs = gold.attrs

    def check(name: str, ok: bool, got: object) -> None:
        report.attribute(f"{kind}.{name}", ok)
        if not ok:
            errors.append(f"  {kind}.{name} {gold.surface!r}: gold {attrs.get(name)!r} got {got!r}")

    if kind == "conditions":
        if "code" in attrs:
            got = item.codings[0].code if item.codings else None
            check("code", got == attrs["code"], got)
        assertion = item.assertion
        values = {
            "certainty": assertion.certainty.value,
            "conditionality": assertion.conditionality.value,
            "association": assertion.association.value,
            "temporality": assertion.temporality.value,
        }
        all_ok = True
        for axis in _ASSERTION_AXES:
            ok = values[axis] == attrs.get(axis, _DEFAULT_ASSERTION[axis])
            report.assertion_axes[axis].add(ok)
            all_ok = all_ok and ok
        report.assertion.add(all_ok)
        if not all_ok:
            expected = {a: attrs.get(a, _DEFAULT_ASSERTION[a]) for a in _ASSERTION_AXES}
            errors.append(f"  assertion {gold.surface!r}: gold {expected} got {values}")
        if "relation" in attrs:
            check("relation", assertion.relation == attrs["relation"], assertion.relation)
    elif kind == "medications":
        if "name" in attrs:
            check("name", drug_name_key(item.name) == drug_name_key(attrs["name"]), item.name)
        if "dose" in attrs:
            got = [item.dose.value, item.dose.unit] if item.dose else None
            expected = attrs["dose"]
            check("dose", got is not None and abs(got[0] - expected[0]) < 1e-6 and got[1] == expected[1], got)
        if "route" in attrs:
            check("route", item.route.name == attrs["route"], item.route.name)
        if "freq" in attrs:
            got = item.frequency.code if item.frequency else ""
            check("frequency", got == attrs["freq"], got)
        if "prn" in attrs:
            got_prn = bool(item.frequency and item.frequency.as_needed)
            check("prn", got_prn == attrs["prn"], got_prn)
        if "status" in attrs:
            check("status", item.status.name == attrs["status"], item.status.name)
    elif kind == "vitals":
        if "value" in attrs:
            check("value", abs(item.quantity.value - float(attrs["value"])) < 1e-6, item.quantity.value)
    elif kind == "allergies" and "substance" in attrs:
        check("substance", drug_name_key(item.substance) == drug_name_key(attrs["substance"]), item.substance)


def drug_name_key(name: str) -> str:
    """A drug name for comparison: combination separators ("a/b", "a / b", "a-b") are one.
    ANNOTATION.md writes combinations as "a/b"; gold written before that convention has "a-b"."""
    return _COMBINATION_SEPARATOR.sub("/", name.strip().lower())


_COMBINATION_SEPARATOR = re.compile(r"\s*[/-]\s*")


def _spans(text: str, items: list[Any]) -> list[tuple[int, int]]:
    return [_locate(text, first, int(second)) for first, second, _attrs in items]


def _overlapping(gold_spans: list[tuple[int, int]], predicted: list[tuple[int, int, Any]]) -> int:
    return sum(1 for g_start, g_end in gold_spans if any(p < g_end and q > g_start for p, q, _ in predicted))


def evaluate_note(text: str, gold: dict[str, Any], data: ClinicalData, report: Report, note_id: str) -> None:
    errors: list[str] = []
    report.medication_as_allergy += _overlapping(
        _spans(text, gold.get("medications", [])), _predicted(data, "allergies")
    )
    report.allergen_as_medication += _overlapping(
        _spans(text, gold.get("allergies", [])), _predicted(data, "medications")
    )
    for kind in TYPES:
        golds = []
        for first, second, attrs in gold.get(kind, []):
            start, end = _locate(text, first, int(second))
            golds.append(_Gold(start, end, text[start:end], dict(attrs)))
        predicted = _predicted(data, kind)
        used: set[int] = set()
        counts = report.counts[kind]
        for g in golds:
            match_index = None
            for index, (start, end, item) in enumerate(predicted):
                if index in used or not (start < g.end and end > g.start):
                    continue
                if _compatible(kind, g, item):
                    match_index = index
                    break
            if match_index is None:
                counts.fn += 1
                errors.append(f"  FN {kind} {g.surface!r}")
                continue
            used.add(match_index)
            counts.tp += 1
            _score_attributes(kind, g, predicted[match_index][2], report, errors)
        for index, (start, end, _item) in enumerate(predicted):
            if index not in used:
                counts.fp += 1
                errors.append(f"  FP {kind} {text[start:end]!r}")
    report.nka.add(bool(gold.get("nka", False)) == data.no_known_allergies)
    if bool(gold.get("nka", False)) != data.no_known_allergies:
        errors.append(f"  no_known_allergies: gold {gold.get('nka', False)} got {data.no_known_allergies}")
    if errors:
        report.errors[note_id] = errors


def run(engine: Extractor, golden_dir: Path | str | None = None) -> Report:
    directory = Path(golden_dir) if golden_dir is not None else default_golden_dir()
    report = Report()
    options = ExtractionOptions()
    for note_path in sorted((directory / "notes").glob("*.txt")):
        gold_path = directory / "gold" / f"{note_path.stem}.json"
        if not gold_path.exists():
            continue
        text = note_path.read_text(encoding="utf-8")
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        data = engine.extract(text, options)
        evaluate_note(text, gold, data, report, note_path.stem)
        report.notes += 1
    return report


def run_real(engine: Extractor, real_dir: Path, corpus_dir: Path, part: str) -> Report:
    """Score one part of the real-text set (notes read from the corpus, gold from real_dir)."""
    from healthai_server.evaluation.real_set import load_notes

    report = Report()
    options = ExtractionOptions()
    for note in load_notes(real_dir, corpus_dir, part):
        data = engine.extract(note.text, options)
        evaluate_note(note.text, note.gold, data, report, note.note_id)
        report.notes += 1
    return report


def regressions(report: Report, baseline: dict[str, Any], tolerance: float = 0.02) -> list[str]:
    """Types (and assertion accuracy) more than `tolerance` below the baseline."""
    failures: list[str] = []
    current = report.f1()
    for kind, entry in baseline.get("types", {}).items():
        if kind in current and current[kind] < float(entry["f1"]) - tolerance:
            failures.append(f"{kind} F1 {current[kind]:.4f} < baseline {float(entry['f1']):.4f} - {tolerance}")
    for confusion in ("medication_as_allergy", "allergen_as_medication"):
        allowed = baseline.get(confusion)
        found = getattr(report, confusion)
        if allowed is not None and found > int(allowed):
            failures.append(f"{confusion.replace('_', ' ')}: {found} > baseline {allowed}")
    base_assertion = baseline.get("assertion_accuracy")
    if base_assertion is not None and report.assertion.value < float(base_assertion) - tolerance:
        failures.append(f"assertion accuracy {report.assertion.value:.4f} < baseline {float(base_assertion):.4f}")
    return failures


def _print_text(report: Report, verbose: bool) -> None:
    print(f"notes: {report.notes}")
    print(f"{'type':<12} {'P':>7} {'R':>7} {'F1':>7} {'tp':>5} {'fp':>5} {'fn':>5}")
    for kind, c in report.counts.items():
        print(f"{kind:<12} {c.precision:7.3f} {c.recall:7.3f} {c.f1:7.3f} {c.tp:5d} {c.fp:5d} {c.fn:5d}")
    print(f"assertion accuracy: {report.assertion.value:.3f} (n={report.assertion.total})")
    for axis, acc in report.assertion_axes.items():
        print(f"  {axis:<15} {acc.value:.3f}")
    print("attribute accuracy:")
    for name, acc in sorted(report.attributes.items()):
        print(f"  {name:<28} {acc.value:.3f} (n={acc.total})")
    print(f"no-known-allergies accuracy: {report.nka.value:.3f}")
    print(
        f"medications reported as allergies: {report.medication_as_allergy}; "
        f"allergens reported as medications: {report.allergen_as_medication}"
    )
    if verbose:
        for note_id, errors in sorted(report.errors.items()):
            print(f"note {note_id}:")
            for line in errors:
                print(line)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["export-reviews"]:
        from healthai_server.evaluation import reviews

        return reviews.main(argv[1:])
    parser = argparse.ArgumentParser(prog="healthai-server eval", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--set",
        dest="eval_set",
        choices=("golden", "real"),
        default="golden",
        help="synthetic golden set, or real transcriptions read from --corpus",
    )
    parser.add_argument(
        "--part",
        default="dev",
        help="real set only: a part named in split.json (dev, blind, blind2, ...) or all",
    )
    parser.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="real set only: the corpus folder (default ../shared/corpora/mtsamples-dev)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print per-note errors")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--update-baseline", action="store_true", help="write the report as the new baseline")
    parser.add_argument("--golden", type=Path, default=None, help="set directory (gold and baselines)")
    args = parser.parse_args(argv)

    from healthai_server.engine import ClinicalEngine

    if args.eval_set == "real":
        from healthai_server.evaluation.real_set import RealSetError, default_corpus_dir, default_real_dir

        directory = args.golden or default_real_dir()
        try:
            report = run_real(ClinicalEngine(), directory, args.corpus or default_corpus_dir(), args.part)
        except RealSetError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        baseline_path = directory / f"baseline-{args.part}.json"
    else:
        directory = args.golden or default_golden_dir()
        report = run(ClinicalEngine(), directory)
        baseline_path = directory / "baseline.json"
    if args.json:
        payload = report.to_dict()
        if args.verbose:
            payload["errors"] = report.errors
        print(json.dumps(payload, indent=2))
    else:
        _print_text(report, args.verbose)
    if args.update_baseline:
        baseline_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        print(f"baseline written: {baseline_path}", file=sys.stderr)
        return 0
    if baseline_path.exists():
        failures = regressions(report, json.loads(baseline_path.read_text(encoding="utf-8")))
        for failure in failures:
            print(f"REGRESSION: {failure}", file=sys.stderr)
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
