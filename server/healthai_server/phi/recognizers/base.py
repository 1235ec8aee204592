"""The recognizer model, after presidio-analyzer: small recognizers, plain results.

An `EntityRecognizer` looks at the whole text and returns `RecognizerResult`s. A
`PatternRecognizer` is data: named regular expressions, the words whose presence just
before a match raises its score, and an optional `validate_result` hook (check digits,
issuing rules) that can confirm or reject a candidate. Regular expressions here must
stay linear on hostile input: every pattern that starts with a repeated character class
is anchored by a negative look-behind for that class, so the engine never retries a
match from the middle of a long run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from healthai_server.domain.phi import PhiType

# A validator returns True to confirm (score 1.0), False to reject, None to leave the score.
Validator = Callable[[str], bool | None]


# The separator and the next item of a list of identifiers.
_LIST_NEXT = re.compile(
    r"(?:,[ \t]{0,2}(?:and[ \t]{1,2}|&[ \t]{1,2})?|[ \t]{1,2}(?:and|&|or)[ \t]{1,2}|[ \t]{0,2}/[ \t]{0,2})"
    r"(?P<id>[A-Za-z0-9][A-Za-z0-9-]{3,24})(?![A-Za-z0-9-])"
)
_ID_SHAPE = re.compile(r"[A-Za-z]|\d")


def _shape_char(m: re.Match[str]) -> str:
    return "9" if m.group().isdigit() else "A"


@dataclass(frozen=True, slots=True)
class RecognizerResult:
    """One candidate identifier: half-open [start, end) in code points."""

    type: PhiType
    start: int
    end: int
    score: float
    recognizer: str


class EntityRecognizer:
    """Base class: a name, the types it can produce, and `analyze`."""

    name: str = "recognizer"
    supported_types: tuple[PhiType, ...] = ()

    def analyze(self, text: str) -> list[RecognizerResult]:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named regular expression. `group` selects the part of the match that is the identifier."""

    name: str
    regex: str
    score: float
    group: int | str = 0
    flags: int = 0
    validator: Validator | None = None
    # A cheap test of the whole text (substring checks) that must pass before the regex runs:
    # for patterns that rarely match and cost a full scan ("june eleventh nineteen fifty two").
    precheck: Callable[[str], bool] | None = None


class PatternRecognizer(EntityRecognizer):
    """Regular expressions + context words + a validation hook, for one PHI type."""

    def __init__(
        self,
        name: str,
        phi_type: PhiType,
        patterns: Sequence[Pattern],
        context: Sequence[str] = (),
        *,
        context_boost: float = 0.35,
        context_window: int = 40,
        min_score: float = 0.5,
        validator: Validator | None = None,
        list_items: bool = False,
    ) -> None:
        self.name = name
        self.phi_type = phi_type
        self.supported_types = (phi_type,)
        self.patterns = tuple(patterns)
        self.context = tuple(context)
        self.context_boost = context_boost
        self.context_window = context_window
        self.min_score = min_score
        self.validator = validator
        self.list_items = list_items
        self._compiled = [(p, re.compile(p.regex, p.flags)) for p in self.patterns]
        words = sorted({w.lower() for w in self.context}, key=len, reverse=True)
        self._context_re = (
            re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(w) for w in words) + r")(?![a-z])") if words else None
        )

    def validate_result(self, value: str) -> bool | None:
        return self.validator(value) if self.validator is not None else None

    def has_context(self, text: str, start: int) -> bool:
        if self._context_re is None:
            return False
        window = text[max(0, start - self.context_window) : start].lower()
        return self._context_re.search(window) is not None

    def type_for(self, text: str, start: int, end: int) -> PhiType:
        """Hook for recognizers whose type depends on the surroundings (phone vs fax)."""
        return self.phi_type

    def analyze(self, text: str) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        for pattern, compiled in self._compiled:
            if pattern.precheck is not None and not pattern.precheck(text):
                continue
            for match in compiled.finditer(text):
                start, end = match.span(pattern.group)
                if start < 0 or end <= start:
                    continue
                score = pattern.score
                value = text[start:end]
                verdict = pattern.validator(value) if pattern.validator is not None else self.validate_result(value)
                if verdict is False:
                    continue
                if verdict is True:
                    score = 1.0
                elif self.has_context(text, match.start()):
                    score = min(1.0, score + self.context_boost)
                if score >= self.min_score:
                    results.append(
                        RecognizerResult(self.type_for(text, start, end), start, end, round(score, 3), self.name)
                    )
                    if self.list_items and pattern.group != 0:
                        results.extend(self._list_items(text, value, end, score))
        return results

    def _list_items(self, text: str, value: str, end: int, score: float) -> list[RecognizerResult]:
        """ "Rx numbers 6604418 and 6604419", "MRN 123456 / 123457": more identifiers of the same
        shape (digits for digits, letters for letters) listed right after a labelled one."""
        shape = _ID_SHAPE.sub(_shape_char, value)
        out: list[RecognizerResult] = []
        for _ in range(10):
            m = _LIST_NEXT.match(text, end)
            if m is None or _ID_SHAPE.sub(_shape_char, m.group("id")) != shape:
                break
            out.append(RecognizerResult(self.phi_type, m.start("id"), m.end("id"), round(score, 3), self.name))
            end = m.end("id")
        return out
