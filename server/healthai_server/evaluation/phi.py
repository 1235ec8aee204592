"""Evaluate PHI detection on the synthetic golden set (data/golden/phi/notes.json).

    healthai-server eval-phi [-v] [--json] [--golden FILE] [--policy P] [--update-baseline]
    healthai-server eval-phi --all-sets [--update-baseline]   (every set beside the golden file, both policies)
    healthai-server eval-phi --utility [--policy P] [--real-notes DIR]   (see phi_utility.py)

Token level: a token is a maximal run of letters/digits. A gold token is caught when any
detection covers it (whatever the type: a leak is a leak); a detected token is correct
when it lies in any gold span. Per type: recall over gold tokens of that type, precision
over tokens detected as that type. A note "leaks" when one gold token is not caught.
Also per template family (A, B, C: see scripts/phi_make_golden.py, which records the
untuned first numbers of B and C). The set is synthetic and the detector was tuned on
it: treat the numbers as a regression gate, not as recall on real notes.
-v lists missed and spurious tokens per note: synthetic notes only, never real ones.
The evaluation runs with organisation names enabled (they are annotated in the set).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_TOKEN = re.compile(r"[^\W_]+")
# Annotated and scored, but not one of the 18 Safe Harbor identifiers: hospital and clinic
# names are a configurable extra. The Safe Harbor line of the report leaves them out.
EXTRA_TYPES = frozenset({"organization"})
EVAL_KEY = b"evaluation-only-key-not-a-secret!"


def default_golden_file() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "data" / "golden" / "phi" / "notes.json"
        if candidate.is_file():
            return candidate
    return Path("data/golden/phi/notes.json")


@dataclass
class Tally:
    gold: int = 0
    caught: int = 0
    predicted: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.caught / self.gold if self.gold else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0


@dataclass
class Report:
    notes: int = 0
    leaked_notes: int = 0
    overall: Tally = field(default_factory=Tally)
    by_type: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    details: list[dict[str, Any]] = field(default_factory=list)
    by_family: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    leaked_by_family: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    safe_harbor: Tally = field(default_factory=Tally)
    safe_harbor_leaked_notes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "notes": self.notes,
            "leaked_notes": self.leaked_notes,
            "recall": round(self.overall.recall, 4),
            "precision": round(self.overall.precision, 4),
            "gold_tokens": self.overall.gold,
            "predicted_tokens": self.overall.predicted,
            "safe_harbor": {
                "recall": round(self.safe_harbor.recall, 4),
                "leaked_notes": self.safe_harbor_leaked_notes,
                "gold_tokens": self.safe_harbor.gold,
            },
            "by_type": {
                name: {
                    "recall": round(t.recall, 4),
                    "precision": round(t.precision, 4),
                    "gold_tokens": t.gold,
                    "predicted_tokens": t.predicted,
                }
                for name, t in sorted(self.by_type.items())
            },
            "by_family": {
                name: {
                    "recall": round(t.recall, 4),
                    "precision": round(t.precision, 4),
                    "leaked_notes": self.leaked_by_family[name],
                }
                for name, t in sorted(self.by_family.items())
            },
        }


def _token_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in _TOKEN.finditer(text)]


def _label(spans: list[tuple[int, int, str]], start: int, end: int) -> str | None:
    for s, e, t in spans:
        if s <= start and end <= e:
            return t
        if s < end and start < e:
            return t
    return None


def evaluate(notes: list[dict[str, Any]], detect: Any, verbose: bool = False) -> Report:
    report = Report()
    for note in notes:
        text: str = note["text"]
        gold = [(int(s["start"]), int(s["end"]), str(s["type"])) for s in note["spans"]]
        found = [(f.span.start, f.span.end, f.type.value) for f in detect(text)]
        family = report.by_family[str(note.get("family", "-"))]
        missed: list[str] = []
        spurious: list[str] = []
        for start, end in _token_spans(text):
            g = _label(gold, start, end)
            p = _label(found, start, end)
            if g is not None:
                report.overall.gold += 1
                report.by_type[g].gold += 1
                family.gold += 1
                if g not in EXTRA_TYPES:
                    report.safe_harbor.gold += 1
                    report.safe_harbor.caught += p is not None
                if p is not None:
                    report.overall.caught += 1
                    report.by_type[g].caught += 1
                    family.caught += 1
                else:
                    missed.append(f"{g}:{text[start:end]}")
            if p is not None:
                report.overall.predicted += 1
                report.by_type[p].predicted += 1
                family.predicted += 1
                if g is not None:
                    report.overall.correct += 1
                    report.by_type[p].correct += 1
                    family.correct += 1
                else:
                    spurious.append(f"{p}:{text[start:end]}")
        report.notes += 1
        if any(m.split(":", 1)[0] not in EXTRA_TYPES for m in missed):
            report.safe_harbor_leaked_notes += 1
        if missed:
            report.leaked_notes += 1
            report.leaked_by_family[str(note.get("family", "-"))] += 1
        if verbose and (missed or spurious):
            report.details.append({"id": note["id"], "missed": missed, "spurious": spurious})
    return report


# The sets the regression gate measures (data/golden/phi/), in the order they were written.
GATE_SETS = ("notes", "heldout", "blind", "blind2", "blind3", "blind4", "blind5", "blind6", "blind7", "blind8")
POLICIES = ("recall_first", "precision")


def gate_summary(result: dict[str, Any]) -> dict[str, float]:
    """What the regression gate holds a set to: Safe Harbor recall, name recall, precision and
    notes leaking a Safe Harbor identifier."""
    return {
        "safe_harbor_recall": result["safe_harbor"]["recall"],
        "name_recall": result["by_type"].get("name", {}).get("recall", 1.0),
        "precision": result["precision"],
        "safe_harbor_leaked_notes": result["safe_harbor"]["leaked_notes"],
        "notes": result["notes"],
    }


def evaluate_all_sets(directory: Path) -> dict[str, dict[str, dict[str, float]]]:
    """{set: {policy: gate_summary}} for every gate set found in `directory`."""
    from healthai_server.domain.phi import DeidentificationPolicy
    from healthai_server.phi import Deidentifier

    deid = Deidentifier(secret_key=EVAL_KEY, include_organizations=True)
    out: dict[str, dict[str, dict[str, float]]] = {}
    for name in GATE_SETS:
        path = directory / f"{name}.json"
        if not path.is_file():
            continue
        notes = json.loads(path.read_text(encoding="utf-8"))["notes"]
        for policy_name in POLICIES:
            policy = DeidentificationPolicy(policy_name)
            report = evaluate(notes, lambda text, p=policy: deid.detect(text, p))
            out.setdefault(name, {})[policy_name] = gate_summary(report.as_dict())
    return out


def _main_all_sets(golden_dir: Path, update: bool) -> int:
    results = evaluate_all_sets(golden_dir)
    print(f"{'set':<10}{'policy':<14}{'SH recall':>10}{'names':>8}{'precision':>11}{'leaking notes':>15}")
    for name, by_policy in results.items():
        for policy_name, r in by_policy.items():
            print(
                f"{name:<10}{policy_name:<14}{r['safe_harbor_recall']:>10.4f}{r['name_recall']:>8.4f}"
                f"{r['precision']:>11.4f}{int(r['safe_harbor_leaked_notes']):>9} of {int(r['notes'])}"
            )
    if update:
        (golden_dir / "baselines.json").write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return 0


def main(argv: list[str]) -> int:
    if "--utility" in argv:
        from healthai_server.evaluation import phi_utility

        return phi_utility.main(argv)
    parser = argparse.ArgumentParser(prog="healthai-server eval-phi", description="PHI detection on the golden set")
    parser.add_argument("-v", "--verbose", action="store_true", help="list missed and spurious tokens per note")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--golden", type=Path, default=None, help="golden file (default data/golden/phi/notes.json)")
    parser.add_argument(
        "--policy", choices=("precision", "recall-first"), default="precision", help="de-identification policy"
    )
    parser.add_argument("--update-baseline", action="store_true", help="write baseline.json beside the golden file")
    parser.add_argument(
        "--all-sets", action="store_true", help="every gate set beside the golden file, both policies (baselines.json)"
    )
    args = parser.parse_args(argv)
    if args.all_sets:
        return _main_all_sets((args.golden or default_golden_file()).parent, args.update_baseline)
    from healthai_server.domain.phi import DeidentificationPolicy
    from healthai_server.phi import Deidentifier

    golden = args.golden or default_golden_file()
    notes = json.loads(golden.read_text(encoding="utf-8"))["notes"]
    deid = Deidentifier(secret_key=EVAL_KEY, include_organizations=True)
    policy = DeidentificationPolicy(args.policy.replace("-", "_"))
    report = evaluate(notes, lambda text: deid.detect(text, policy), verbose=args.verbose)
    result = report.as_dict()
    if args.update_baseline:
        baseline = {k: result[k] for k in ("recall", "precision", "leaked_notes", "notes")}
        baseline["by_type_recall"] = {k: v["recall"] for k, v in result["by_type"].items()}
        (golden.parent / "baseline.json").write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")
    if args.json:
        if args.verbose:
            result["details"] = report.details
        print(json.dumps(result, indent=1, ensure_ascii=False))
        return 0
    print(f"notes: {report.notes}   notes with a leaked PHI token: {report.leaked_notes}")
    print(
        f"overall: recall {report.overall.recall:.4f}   precision {report.overall.precision:.4f}   "
        f"({report.overall.gold} gold tokens, {report.overall.predicted} detected)"
    )
    print(
        f"Safe Harbor identifiers only (without {', '.join(sorted(EXTRA_TYPES))}): recall "
        f"{report.safe_harbor.recall:.4f}   notes with a leaked token: {report.safe_harbor_leaked_notes}"
    )
    print(f"{'type':<24}{'recall':>8}{'precision':>11}{'gold':>7}{'detected':>10}")
    for name, tally in sorted(report.by_type.items()):
        print(f"{name:<24}{tally.recall:>8.4f}{tally.precision:>11.4f}{tally.gold:>7}{tally.predicted:>10}")
    for name, tally in sorted(report.by_family.items()):
        print(
            f"template family {name}: recall {tally.recall:.4f}   precision {tally.precision:.4f}   "
            f"leaked notes {report.leaked_by_family[name]}"
        )
    for item in report.details:
        print(f"- {item['id']}: missed {item['missed']} spurious {item['spurious']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
