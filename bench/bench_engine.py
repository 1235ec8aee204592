"""Local engine vs the medSpaCy 1.3.1 default pipeline, in one process, on the same notes.

    .venv-bench/bin/python bench/bench_engine.py [--repeat N] [--golden DIR]

Prints ms/note, notes/s and the speed ratio on the golden notes; F1 of both on the golden
conditions (medSpaCy gets the engine's condition lexicon as TargetRules, so the comparison
is of the pipelines, not of the lexicons); then the engine's time against note length
(1 KB, 4 KB, 16 KB, 100 KB) and its peak RSS. PyRuSH's loguru logger is disabled before
medSpaCy loads: it logs every token (note text) at DEBUG.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from healthai_server.domain.clinical import ClinicalData, Condition, ExtractionOptions, Span
from healthai_server.engine import ClinicalEngine
from healthai_server.engine.resources import load_conditions
from healthai_server.evaluation.clinical import default_golden_dir, run


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _load_notes(directory: Path) -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted((directory / "notes").glob("*.txt"))]


def _time_per_note(fn: Callable[[str], object], notes: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for note in notes:
            fn(note)
        best = min(best, (time.perf_counter() - started) / len(notes))
    return best * 1000.0


class MedspacyAdapter:
    """medSpaCy default pipeline (PyRuSH + target matcher + ConText) as an engine for the evaluator."""

    def __init__(self) -> None:
        from loguru import logger  # type: ignore[import-not-found]

        logger.remove()
        logger.disable("PyRuSH")
        import medspacy  # type: ignore[import-not-found]
        from medspacy.target_matcher import TargetRule  # type: ignore[import-not-found]

        self.nlp = medspacy.load()
        matcher = self.nlp.get_pipe("medspacy_target_matcher")
        rules = []
        seen = set()
        for surface, concept in load_conditions():
            literal = surface.lstrip("=")
            if (literal.lower(), concept.code) in seen:
                continue
            seen.add((literal.lower(), concept.code))
            rules.append(
                TargetRule(literal, "CONDITION", attributes={"_code": concept.code})
                if False
                else TargetRule(literal, "CONDITION")
            )
        matcher.add(rules)
        self.codes = {s.lstrip("=").lower(): c for s, c in load_conditions()}

    def extract(self, text: str, options: ExtractionOptions | None = None) -> ClinicalData:
        from healthai_server.domain.clinical import (
            Assertion,
            Association,
            Certainty,
            Coding,
            Conditionality,
            Temporality,
        )

        doc = self.nlp(text)
        conditions = []
        for ent in doc.ents:
            concept = self.codes.get(ent.text.lower())
            certainty = (
                Certainty.NEGATIVE
                if ent._.is_negated
                else (Certainty.NEUTRAL_POSSIBLE if ent._.is_uncertain else Certainty.POSITIVE)
            )
            assertion = Assertion(
                certainty=certainty,
                conditionality=Conditionality.HYPOTHETICAL if ent._.is_hypothetical else Conditionality.NONE,
                association=Association.OTHER if ent._.is_family else Association.SUBJECT,
                temporality=Temporality.PAST if ent._.is_historical else Temporality.CURRENT,
            )
            codings = (Coding("icd", concept.code, concept.name),) if concept else ()
            conditions.append(
                Condition(Span(ent.start_char, ent.end_char, ent.text), ent.text.lower(), codings, assertion)
            )
        return ClinicalData(conditions=tuple(conditions))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--golden", type=Path, default=None)
    parser.add_argument("--no-medspacy", action="store_true")
    args = parser.parse_args(argv)
    directory = args.golden or default_golden_dir()
    notes = _load_notes(directory)
    mean_kb = statistics.mean(len(n.encode("utf-8")) for n in notes) / 1024
    options = ExtractionOptions()

    engine = ClinicalEngine()
    engine_ms = _time_per_note(lambda t: engine.extract(t, options), notes, args.repeat)
    engine_report = run(engine, directory)
    rss_engine = _rss_mb()
    print(f"notes: {len(notes)} (mean {mean_kb:.2f} KB)")
    print(
        f"engine   : {engine_ms:8.3f} ms/note  {1000 / engine_ms:8.1f} notes/s  condition F1 {engine_report.counts['conditions'].f1:.3f}"  # noqa: E501
        f"  assertion acc {engine_report.assertion.value:.3f}  peak RSS {rss_engine:.0f} MB"
    )

    if not args.no_medspacy:
        try:
            baseline = MedspacyAdapter()
        except ImportError:
            print(
                "medspacy not installed: run scripts/engine_bench_venv.sh and use .venv-bench/bin/python",
                file=sys.stderr,
            )
            return 2
        baseline.extract(notes[0])
        medspacy_ms = _time_per_note(baseline.extract, notes, 1)
        medspacy_report = run(baseline, directory)
        print(
            f"medspacy : {medspacy_ms:8.3f} ms/note  {1000 / medspacy_ms:8.1f} notes/s  condition F1 {medspacy_report.counts['conditions'].f1:.3f}"  # noqa: E501
            f"  assertion acc {medspacy_report.assertion.value:.3f}"
        )
        print(f"speed ratio (medspacy / engine): {medspacy_ms / engine_ms:.1f}x")

    print("engine time vs note length:")
    corpus = "\n".join(notes)
    previous = None
    for size_kb in (1, 4, 16, 100):
        size = size_kb * 1024
        text = (corpus * (size // len(corpus) + 1))[:size]
        repeat = max(1, 200 // size_kb)
        started = time.perf_counter()
        for _ in range(repeat):
            engine.extract(text, options)
        ms = (time.perf_counter() - started) / repeat * 1000
        per_kb = ms / size_kb
        note = f"  ({per_kb / previous:.2f}x per-KB vs previous)" if previous else ""
        print(f"  {size_kb:4d} KB: {ms:9.2f} ms  ({per_kb:.3f} ms/KB){note}")
        previous = per_kb
    print(f"peak RSS after all runs: {_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
