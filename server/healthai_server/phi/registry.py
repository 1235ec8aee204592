"""A registry of recognizers, built per Deidentifier (no module-level state).

Extra pattern recognizers can be added from a JSON file without code changes:

    {"recognizers": [
      {"name": "employee_badge", "type": "other_identifier",
       "patterns": [{"name": "badge", "regex": "\\bEMP-\\d{6}\\b", "score": 0.9}],
       "context": ["badge", "employee"], "validator": "has_digit"}
    ]}

`type` is a PhiType value; `validator` is one of VALIDATORS; a pattern may name a
`group` and set `"ignore_case": true`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from healthai_server.domain.phi import PhiType
from healthai_server.phi import checksums
from healthai_server.phi.recognizers.base import (
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerResult,
    Validator,
)

# The same verdicts as the built-in recognizers' (one VIN rule, one SSN rule...).
VALIDATORS: Mapping[str, Validator] = checksums.VERDICTS


class RecognizerConfigError(ValueError):
    """The recognizer configuration is invalid; the message names the entry, never note text."""


class RecognizerRegistry:
    def __init__(self, recognizers: Iterable[EntityRecognizer] = ()) -> None:
        self._recognizers: list[EntityRecognizer] = list(recognizers)

    def add(self, recognizer: EntityRecognizer) -> None:
        self._recognizers.append(recognizer)

    def remove(self, name: str) -> None:
        self._recognizers = [r for r in self._recognizers if r.name != name]

    @property
    def recognizers(self) -> tuple[EntityRecognizer, ...]:
        return tuple(self._recognizers)

    def analyze(self, text: str, types: frozenset[PhiType] | None = None) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for recognizer in self._recognizers:
            if types is not None and not types.intersection(recognizer.supported_types):
                continue
            results.extend(r for r in recognizer.analyze(text) if types is None or r.type in types)
        return results


def pattern_recognizers_from_config(data: Mapping[str, Any]) -> list[PatternRecognizer]:
    out: list[PatternRecognizer] = []
    for index, entry in enumerate(data.get("recognizers", [])):
        where = f"recognizers[{index}]"
        try:
            phi_type = PhiType(entry["type"])
            patterns = [
                Pattern(
                    name=str(p["name"]),
                    regex=str(p["regex"]),
                    score=float(p.get("score", 0.8)),
                    group=p.get("group", 0),
                    flags=re.IGNORECASE if p.get("ignore_case") else 0,
                )
                for p in entry["patterns"]
            ]
            for p in patterns:
                re.compile(p.regex)
            validator_name = entry.get("validator")
            if validator_name is not None and validator_name not in VALIDATORS:
                raise RecognizerConfigError(f"{where}.validator: unknown validator {validator_name!r}")
            out.append(
                PatternRecognizer(
                    name=str(entry["name"]),
                    phi_type=phi_type,
                    patterns=patterns,
                    context=tuple(entry.get("context", ())),
                    min_score=float(entry.get("min_score", 0.5)),
                    validator=VALIDATORS[validator_name] if validator_name else None,
                )
            )
        except RecognizerConfigError:
            raise
        except (KeyError, ValueError, TypeError, re.error) as exc:
            raise RecognizerConfigError(f"{where}: {type(exc).__name__}: {exc}") from exc
    return out


def load_pattern_recognizers(path: Path) -> list[PatternRecognizer]:
    return pattern_recognizers_from_config(json.loads(path.read_text(encoding="utf-8")))
