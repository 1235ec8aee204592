"""The engine: run the registry, resolve overlaps, replace."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from pathlib import Path

from healthai_server.domain.clinical import Span
from healthai_server.domain.phi import (
    DeidentificationMode,
    DeidentificationPolicy,
    DeidentifiedNote,
    PhiFinding,
    PhiType,
)
from healthai_server.phi.lexicon import Lexicon
from healthai_server.phi.recognizers.base import EntityRecognizer, RecognizerResult
from healthai_server.phi.recognizers.names import NameRecognizer
from healthai_server.phi.recognizers.patterns import UsernameRecognizer, builtin_pattern_recognizers
from healthai_server.phi.recognizers.places import CityRecognizer, OrganizationRecognizer
from healthai_server.phi.recognizers.plain_organizations import PlainOrganizationRecognizer
from healthai_server.phi.recognizers.spoken import KnownWord, spoken_recognizers
from healthai_server.phi.recognizers.street_forms import street_form_recognizers
from healthai_server.phi.registry import RecognizerRegistry, load_pattern_recognizers
from healthai_server.phi.safe import SafeListPass, SafeVocabulary
from healthai_server.phi.surrogates import SurrogateGenerator, SurrogateScope

MIN_KEY_BYTES = 16
SHAPE_RECOGNIZER = "shape"
# Under RECALL_FIRST a weaker typed candidate is still removed as its type: what it would
# otherwise become is an OTHER finding anyway, and the type helps the surrogate.
RECALL_FIRST_MIN_SCORE = 0.3
_CONTAINERS = frozenset({PhiType.ORGANIZATION, PhiType.STREET_ADDRESS})
_CONTAINED = frozenset({PhiType.NAME, PhiType.CITY})
_REPEATED_TYPES = frozenset(
    {
        PhiType.MEDICAL_RECORD_NUMBER,
        PhiType.ACCOUNT_NUMBER,
        PhiType.HEALTH_PLAN_NUMBER,
        PhiType.OTHER_IDENTIFIER,
        PhiType.DEVICE_IDENTIFIER,
        PhiType.LICENSE_NUMBER,
        PhiType.SSN,
        PhiType.VEHICLE_IDENTIFIER,
    }
)


def default_registry(
    lexicon: Lexicon, include_organizations: bool, known_word: KnownWord | None = None
) -> RecognizerRegistry:
    registry = RecognizerRegistry(builtin_pattern_recognizers())
    registry.add(NameRecognizer(lexicon))
    registry.add(UsernameRecognizer(lexicon.english))
    registry.add(CityRecognizer(lexicon))
    if include_organizations:
        registry.add(OrganizationRecognizer(lexicon))
        registry.add(PlainOrganizationRecognizer())
    # Identifiers read out as words in speech-recognised dictations.
    for recognizer in spoken_recognizers(lexicon, include_organizations, known_word):
        registry.add(recognizer)
    for street in street_form_recognizers():
        registry.add(street)
    return registry


class _Containment:
    """Whether a span lies inside a longer one of a set, in O(log n) (a note of a million
    characters holds tens of thousands of spans: a pairwise check is quadratic)."""

    def __init__(self, spans: Sequence[tuple[int, int]]) -> None:
        self._starts = [s for s, _ in spans]  # sorted
        self._max_end: list[int] = []
        self._end_at: dict[int, int] = {}
        best = -1
        for s, e in spans:
            best = max(best, e)
            self._max_end.append(best)
            self._end_at[s] = max(e, self._end_at.get(s, -1))

    def strictly(self, start: int, end: int) -> bool:
        i = bisect.bisect_left(self._starts, start)  # spans that start before `start`
        if i > 0 and self._max_end[i - 1] >= end:
            return True
        return self._end_at.get(start, -1) > end


def resolve_overlaps(candidates: Iterable[RecognizerResult], min_score: float) -> list[RecognizerResult]:
    """Highest score first, then longest; a candidate that overlaps an accepted one loses
    only the overlapping part (the rest is kept when it still holds a letter or digit)."""
    kept = [c for c in candidates if c.score >= min_score and c.end > c.start]
    # A name or town inside a longer organisation or street ("Dr. Ruiz, Ozark Valley Clinic" read
    # as a list of names) gives way to it: the longer span covers the same tokens and more.
    containers = sorted((c.start, c.end) for c in kept if c.type in _CONTAINERS)
    if containers:
        inside = _Containment(containers)
        kept = [c for c in kept if c.type not in _CONTAINED or not inside.strictly(c.start, c.end)]
    ordered = sorted(
        kept,
        key=lambda c: (-c.score, -(c.end - c.start), c.start),
    )
    starts: list[int] = []
    accepted: list[RecognizerResult] = []
    for cand in ordered:
        pieces = [(cand.start, cand.end)]
        i = bisect.bisect_left(starts, cand.start)
        neighbours = accepted[max(0, i - 1) : i + 1]
        # Accepted results are disjoint and sorted: only the ones that start before the
        # candidate's end can overlap it; walk forward from the one before.
        j = max(0, i - 1)
        while j < len(accepted) and accepted[j].start < cand.end:
            if accepted[j] not in neighbours:
                neighbours.append(accepted[j])
            j += 1
        for acc in neighbours:
            next_pieces = []
            for s, e in pieces:
                if acc.end <= s or acc.start >= e:
                    next_pieces.append((s, e))
                    continue
                if s < acc.start:
                    next_pieces.append((s, acc.start))
                if acc.end < e:
                    next_pieces.append((acc.end, e))
            pieces = next_pieces
        whole = pieces == [(cand.start, cand.end)]
        for s, e in pieces:
            if not whole:
                continue
            k = bisect.bisect_left(starts, s)
            starts.insert(k, s)
            accepted.insert(k, RecognizerResult(cand.type, s, e, cand.score, cand.recognizer))
    return accepted


def _repeated_identifiers(
    text: str, candidates: Sequence[RecognizerResult], min_score: float
) -> list[RecognizerResult]:
    """Every other mention of an identifier found once ("Subject 0147-002 ... - 0147-002 was
    referred"): the label is usually given only the first time."""
    values: dict[str, RecognizerResult] = {}
    for c in candidates:
        if c.type in _REPEATED_TYPES and c.score >= min_score and c.end - c.start >= 5:
            value = text[c.start : c.end]
            if any(ch.isdigit() for ch in value) and value not in values:
                values[value] = c
    out: list[RecognizerResult] = []
    for value, c in values.items():
        at = text.find(value)
        while at >= 0:
            end = at + len(value)
            boundary_before = at == 0 or not text[at - 1].isalnum()
            boundary_after = end == len(text) or not text[end].isalnum()
            if at != c.start and boundary_before and boundary_after:
                out.append(RecognizerResult(c.type, at, end, min(c.score, 0.8), "repeated_identifier"))
            at = text.find(value, end)
    return out


class Deidentifier:
    """Detects Safe Harbor identifiers and redacts, masks or replaces them.

    Build one per process (lexicons load once, ~0.8 s, ~40 MB); it holds no per-call state,
    so calls may run concurrently in threads. Never logs note text.
    """

    def __init__(
        self,
        secret_key: bytes,
        include_organizations: bool = False,
        *,
        min_score: float = 0.5,
        extra_recognizers: Sequence[EntityRecognizer] = (),
        recognizers_config: Path | None = None,
        extra_allow_terms: Iterable[str] = (),
    ) -> None:
        if len(secret_key) < MIN_KEY_BYTES:
            raise ValueError(f"secret_key must be at least {MIN_KEY_BYTES} bytes")
        self.lexicon = Lexicon.load(extra_allow_terms)
        vocabulary = SafeVocabulary.load(self.lexicon, extra_allow_terms)
        self.registry = default_registry(self.lexicon, include_organizations, vocabulary.knows)
        for recognizer in extra_recognizers:
            self.registry.add(recognizer)
        if recognizers_config is not None:
            for pattern_recognizer in load_pattern_recognizers(recognizers_config):
                self.registry.add(pattern_recognizer)
        self.min_score = min_score
        self._safe_pass = SafeListPass(vocabulary)
        self._surrogates = SurrogateGenerator(secret_key, self.lexicon)

    def analyze(
        self, text: str, policy: DeidentificationPolicy = DeidentificationPolicy.PRECISION
    ) -> list[RecognizerResult]:
        """Resolved, non-overlapping results in text order. RECALL_FIRST adds an OTHER result
        for every remaining token the safe list cannot vouch for."""
        recall_first = policy is DeidentificationPolicy.RECALL_FIRST
        min_score = min(self.min_score, RECALL_FIRST_MIN_SCORE) if recall_first else self.min_score
        candidates = self.registry.analyze(text)
        candidates.extend(_repeated_identifiers(text, candidates, min_score))
        typed = resolve_overlaps(candidates, min_score)
        # Shapes of several tokens (a month alone, "on the 6th", "Barre, VT", "15 Rt 36 N", the
        # units after a street) are typed findings under both policies.
        shaped = self._safe_pass.shapes(text, typed)
        if shaped:
            # Against the resolved findings, not every candidate again: a few dozen spans, not thousands.
            shapes = [RecognizerResult(t, s, e, score, SHAPE_RECOGNIZER) for s, e, score, t in shaped]
            typed = resolve_overlaps([*typed, *shapes], min_score)
        if not recall_first:
            # Initials, particles, "Jr.", "Surname, Given" and nicknames beside a typed name.
            extra = self._safe_pass.widen_names(text, typed)
            return sorted(typed + extra, key=lambda r: r.start) if extra else typed
        return sorted(typed + self._safe_pass.find(text, typed, shaped), key=lambda r: r.start)

    def detect(self, text: str, policy: DeidentificationPolicy = DeidentificationPolicy.PRECISION) -> list[PhiFinding]:
        return [
            PhiFinding(type=r.type, span=Span(r.start, r.end, text[r.start : r.end]), confidence=r.score)
            for r in self.analyze(text, policy)
        ]

    def replacement(self, phi_type: PhiType, value: str, mode: DeidentificationMode, scope: SurrogateScope) -> str:
        if mode is DeidentificationMode.REDACT:
            return f"[{phi_type.name}]"
        if mode is DeidentificationMode.MASK:
            return "*" * len(value)
        return self._surrogates.replace(phi_type, value, scope)

    def deidentify(
        self,
        text: str,
        mode: DeidentificationMode,
        *,
        tenant: str,
        patient_ref: str = "",
        policy: DeidentificationPolicy = DeidentificationPolicy.PRECISION,
    ) -> DeidentifiedNote:
        scope = SurrogateScope.for_call(tenant, patient_ref)
        findings: list[PhiFinding] = []
        parts: list[str] = []
        cursor = 0
        for result in self.analyze(text, policy):
            value = text[result.start : result.end]
            replacement = self.replacement(result.type, value, mode, scope)
            parts.append(text[cursor : result.start])
            parts.append(replacement)
            cursor = result.end
            findings.append(
                PhiFinding(
                    type=result.type,
                    span=Span(result.start, result.end, value),
                    confidence=result.score,
                    replacement=replacement,
                )
            )
        parts.append(text[cursor:])
        return DeidentifiedNote(text="".join(parts), findings=tuple(findings))

    def date_offset_days(self, *, tenant: str, patient_ref: str) -> int:
        """The per-patient date shift (for callers that must shift structured dates alike)."""
        return self._surrogates.date_offset_days(SurrogateScope(tenant, patient_ref))
