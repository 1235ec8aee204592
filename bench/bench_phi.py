"""PHI detection: our Deidentifier vs Presidio's pattern-only analyzer, same notes, one run.

    .venv-bench/bin/python bench/bench_phi.py [--repeat N] [--golden FILE]

Presidio 2.2.366 runs with a blank spaCy English pipeline (no NER model can be installed
here, so it finds no names, places or ZIPs: it is timed as a pattern engine, which is
what it is here). tldextract is pointed at its bundled suffix snapshot so that no
download is attempted. Prints ms/note and notes/s of both, the throughput ratio, token
recall of both on the golden set (all types, and the types Presidio covers), our time
against note length, and peak RSS of the process with and without Presidio loaded.
No note text is printed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from healthai_server.evaluation.phi import EVAL_KEY, default_golden_file, evaluate
from healthai_server.phi import Deidentifier

# Types Presidio's pattern recognizers can produce, mapped to ours.
_PRESIDIO_TYPES = {
    "PHONE_NUMBER": "phone",
    "EMAIL_ADDRESS": "email",
    "US_SSN": "ssn",
    "DATE_TIME": "date",
    "IP_ADDRESS": "ip_address",
    "URL": "url",
    "CREDIT_CARD": "account_number",
    "US_BANK_NUMBER": "account_number",
    "US_DRIVER_LICENSE": "license_number",
    "MEDICAL_LICENSE": "license_number",
    "US_PASSPORT": "other_identifier",
    "US_ITIN": "other_identifier",
    "IBAN_CODE": "account_number",
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _best_ms_per_note(fn: Callable[[str], Any], notes: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for note in notes:
            fn(note)
        best = min(best, (time.perf_counter() - started) / len(notes))
    return best * 1000.0


def build_presidio() -> Any:
    os.environ.setdefault("TLDEXTRACT_CACHE", str(Path(".venv-bench/tldextract-cache").resolve()))
    # Imported by name: these live only in .venv-bench, which mypy does not see.
    spacy: Any = importlib.import_module("spacy")
    tldextract: Any = importlib.import_module("tldextract")
    presidio: Any = importlib.import_module("presidio_analyzer")
    SpacyNlpEngine: Any = importlib.import_module("presidio_analyzer.nlp_engine").SpacyNlpEngine
    AnalyzerEngine, RecognizerRegistry = presidio.AnalyzerEngine, presidio.RecognizerRegistry

    # The bundled public-suffix snapshot, never a download.
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class BlankSpacyEngine(SpacyNlpEngine):  # type: ignore[misc]
        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacyEngine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.load()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])


class _Finding:
    """Presidio result in the shape the evaluator reads (span.start/end, type.value)."""

    def __init__(self, start: int, end: int, phi_type: str) -> None:
        self.span = type("S", (), {"start": start, "end": end})()
        self.type = type("T", (), {"value": phi_type})()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="PHI detection benchmark")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--golden", type=Path, default=None)
    args = parser.parse_args(argv)
    golden = args.golden or default_golden_file()
    notes_json = json.loads(golden.read_text(encoding="utf-8"))["notes"]
    notes = [n["text"] for n in notes_json]
    mean_chars = sum(map(len, notes)) / len(notes)

    rss_start = _rss_mb()
    started = time.perf_counter()
    deid = Deidentifier(secret_key=EVAL_KEY, include_organizations=True)
    load_s = time.perf_counter() - started
    for note in notes:
        deid.detect(note)
    rss_ours = _rss_mb()

    started = time.perf_counter()
    presidio = build_presidio()
    presidio_load_s = time.perf_counter() - started

    def run_presidio(text: str) -> list[Any]:
        return presidio.analyze(text=text, language="en")  # type: ignore[no-any-return]

    for note in notes[:5]:
        run_presidio(note)
    rss_both = _rss_mb()

    ours_ms = _best_ms_per_note(deid.detect, notes, args.repeat)
    presidio_ms = _best_ms_per_note(run_presidio, notes, max(1, args.repeat // 2))

    def presidio_detect(text: str) -> list[_Finding]:
        return [
            _Finding(r.start, r.end, _PRESIDIO_TYPES.get(r.entity_type, "other_identifier"))
            for r in run_presidio(text)
            if r.score >= 0.4
        ]

    ours_eval = evaluate(notes_json, deid.detect).as_dict()
    presidio_eval = evaluate(notes_json, presidio_detect).as_dict()
    covered = sorted(set(_PRESIDIO_TYPES.values()))

    print(f"notes: {len(notes)} (mean {mean_chars:.0f} chars), best of {args.repeat} passes")
    print(f"{'engine':<34}{'ms/note':>10}{'notes/s':>10}{'recall':>9}{'precision':>11}")
    print(
        f"{'healthai Deidentifier':<34}{ours_ms:>10.3f}{1000 / ours_ms:>10.1f}"
        f"{ours_eval['recall']:>9.4f}{ours_eval['precision']:>11.4f}"
    )
    print(
        f"{'presidio 2.2.366 (pattern-only)':<34}{presidio_ms:>10.3f}{1000 / presidio_ms:>10.1f}"
        f"{presidio_eval['recall']:>9.4f}{presidio_eval['precision']:>11.4f}"
    )
    print(f"throughput ratio (ours / presidio): {presidio_ms / ours_ms:.1f}x")
    print(
        "recall on the types presidio covers: "
        + ", ".join(
            f"{t} {ours_eval['by_type'].get(t, {}).get('recall', 0):.3f}/"
            f"{presidio_eval['by_type'].get(t, {}).get('recall', 0):.3f}"
            for t in covered
            if t in ours_eval["by_type"]
        )
    )
    print(f"load: ours {load_s:.2f} s, presidio {presidio_load_s:.2f} s")
    base = " ".join(notes)
    for size in (1_000, 4_000, 16_000, 100_000):
        text = (base * (size // len(base) + 1))[:size]
        ms = _best_ms_per_note(deid.detect, [text], 3)
        line = f"{size // 1000:>3} KB note: ours {ms:8.2f} ms"
        if size <= 16_000:
            other = _best_ms_per_note(run_presidio, [text], 2)
            line += f"   presidio {other:8.2f} ms   ratio {other / ms:.1f}x"
        print(line)
    print(f"peak RSS: start {rss_start:.0f} MB, after ours {rss_ours:.0f} MB, with presidio {rss_both:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
