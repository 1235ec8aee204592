"""Clinical utility of de-identified text: does the clinical content survive?

    healthai-server eval-phi --utility [--policy recall-first|precision] [--real-notes DIR] [--json]

The local engine runs on each note and on its de-identification (MASK mode: every removed
character becomes "*", so offsets are those of the original and gold spans still apply).
- The clinical golden set (data/golden/clinical): extraction F1 against the gold on the
  de-identified text divided by F1 on the original, per type.
- Real notes without gold (by default ../shared/corpora/mtsamples-dev/notes beside the
  repository; read in place, never copied): the engine's output on the original is the
  reference, and the ratio is the F1 of the output on the de-identified text against it
  (conditions: same span, concept and codes; medications: same span and drug; vitals: same
  span, kind and value).
Only counts are printed, never note text.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from healthai_server.domain.clinical import ClinicalData, ExtractionOptions
from healthai_server.domain.phi import DeidentificationMode, DeidentificationPolicy
from healthai_server.evaluation import clinical
from healthai_server.evaluation.clinical import Extractor

UTILITY_TYPES = ("medications", "vitals", "conditions")
# A masked token is a run of "*" (MASK keeps lengths); word characters and asterisks.
_TOKEN = re.compile(r"[\w*]+")
EVAL_KEY = b"evaluation-only-key-not-a-secret!"


def default_real_notes_dir() -> Path:
    """../shared/corpora/mtsamples-dev/notes relative to the repository root."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "data" / "golden").is_dir():
            return parent.parent / "shared" / "corpora" / "mtsamples-dev" / "notes"
    return Path("../shared/corpora/mtsamples-dev/notes")


@dataclass
class DeidentifiedExtractor:
    """The engine run on the MASK de-identification of each note (offsets unchanged)."""

    engine: Extractor
    deidentify: Callable[[str], str]

    def extract(self, text: str, options: ExtractionOptions) -> ClinicalData:
        return self.engine.extract(self.deidentify(text), options)


def _keys(data: ClinicalData, kind: str) -> set[tuple[Any, ...]]:
    if kind == "conditions":
        return {(c.span.start, c.span.end, c.name, c.codings) for c in data.conditions}
    if kind == "medications":
        return {(m.span.start, m.span.end, m.name) for m in data.medications}
    return {(v.span.start, v.span.end, v.kind, v.quantity.value) for v in data.vital_signs}


@dataclass
class Agreement:
    reference: int = 0
    predicted: int = 0
    matched: int = 0

    @property
    def f1(self) -> float:
        if self.reference == 0 and self.predicted == 0:
            return 1.0
        return 2 * self.matched / (self.reference + self.predicted)


def real_notes_agreement(
    engine: Extractor, deidentify: Callable[[str], str], paths: Sequence[Path]
) -> dict[str, Agreement]:
    options = ExtractionOptions()
    out = {kind: Agreement() for kind in UTILITY_TYPES}
    for path in paths:
        text = path.read_text(encoding="utf-8")
        original = engine.extract(text, options)
        masked = engine.extract(deidentify(text), options)
        for kind in UTILITY_TYPES:
            ref, got = _keys(original, kind), _keys(masked, kind)
            out[kind].reference += len(ref)
            out[kind].predicted += len(got)
            out[kind].matched += len(ref & got)
    return out


def utility_report(policy: DeidentificationPolicy, real_notes: Path | None) -> dict[str, Any]:
    from healthai_server.engine import ClinicalEngine
    from healthai_server.phi import Deidentifier

    engine = ClinicalEngine()
    deid = Deidentifier(secret_key=EVAL_KEY)

    removed = [0, 0]  # tokens masked, tokens seen

    def deidentify(text: str) -> str:
        masked = deid.deidentify(text, DeidentificationMode.MASK, tenant="eval", policy=policy).text
        removed[0] += sum(1 for t in _TOKEN.findall(masked) if set(t) == {"*"})
        removed[1] += len(_TOKEN.findall(text))
        return masked

    original = clinical.run(engine).f1()
    masked = clinical.run(DeidentifiedExtractor(engine, deidentify)).f1()
    report: dict[str, Any] = {
        "policy": policy.value,
        "clinical_golden": {
            kind: {
                "f1_original": original[kind],
                "f1_deidentified": masked[kind],
                "ratio": round(masked[kind] / original[kind], 4) if original[kind] else 1.0,
            }
            for kind in UTILITY_TYPES
        },
    }
    if real_notes is not None and real_notes.is_dir():
        paths = sorted(real_notes.glob("*.txt"))
        removed[:] = [0, 0]
        agreement = real_notes_agreement(engine, deidentify, paths)
        report["real_notes"] = {
            "notes": len(paths),
            "removed_token_share": round(removed[0] / max(1, removed[1]), 4),
            "types": {
                kind: {"reference_items": a.reference, "deidentified_items": a.predicted, "ratio": round(a.f1, 4)}
                for kind, a in agreement.items()
            },
        }
    return report


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="healthai-server eval-phi --utility", description=__doc__.splitlines()[0])
    parser.add_argument("--utility", action="store_true", help="(selects this report)")
    parser.add_argument("--policy", choices=("precision", "recall-first"), default="recall-first")
    parser.add_argument("--real-notes", type=Path, default=None, help="folder of real notes (*.txt), no gold")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(list(argv))
    policy = DeidentificationPolicy(args.policy.replace("-", "_"))
    real = args.real_notes if args.real_notes is not None else default_real_notes_dir()
    report = utility_report(policy, real)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"clinical utility of {policy.value} de-identification (engine F1 on de-identified / on original)")
    print(f"{'set':<22}{'type':<13}{'original':>9}{'deid':>9}{'ratio':>8}")
    for kind, row in report["clinical_golden"].items():
        scores = f"{row['f1_original']:>9.4f}{row['f1_deidentified']:>9.4f}{row['ratio']:>8.4f}"
        print(f"{'clinical golden':<22}{kind:<13}{scores}")
    real_report = report.get("real_notes")
    if real_report is None:
        print(f"real notes: {real} not found, skipped")
        return 0
    label = f"real notes ({real_report['notes']})"
    for kind, row in real_report["types"].items():
        print(f"{label:<22}{kind:<13}{row['reference_items']:>9}{row['deidentified_items']:>9}{row['ratio']:>8.4f}")
    print("real notes: reference = engine output on the original text (items); ratio = agreement F1")
    print(f"real notes: share of tokens removed {real_report['removed_token_share']:.4f}")
    return 0
