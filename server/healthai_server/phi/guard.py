"""PHI guard for text sent to an external model.

    guard = PhiGuard(deidentifier)
    guarded = guard.protect(note, tenant="t1", patient_ref="p-42")
    answer = call_llm(guarded.text)            # the model sees surrogates, never the PHI
    start, end = guarded.to_original(s, e)     # a span the model quoted, in the original note

Whether a tenant needs it (no BAA with the model vendor) is the caller's decision; this is
only the mechanism. Surrogates are the default because a model reads "Mr. Valdez seen on
October 8" better than "[NAME] seen on [DATE]"; REDACT and MASK are available.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from healthai_server.domain.phi import DeidentificationMode, DeidentificationPolicy, DeidentifiedNote
from healthai_server.phi.deidentifier import Deidentifier


@dataclass(frozen=True, slots=True)
class _Segment:
    protected_start: int
    protected_end: int
    original_start: int
    original_end: int


@dataclass(frozen=True)
class GuardedText:
    """The protected text and the way back to the original offsets.

    `original_text` holds PHI: keep it in memory next to the request, never log it.
    """

    text: str
    original_text: str
    findings_count: int
    _segments: tuple[_Segment, ...]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map [start, end) in `text` to the original note. A bound inside a replaced
        identifier widens to the whole original identifier."""
        if not 0 <= start <= end <= len(self.text):
            raise ValueError("span out of range for the protected text")
        return self._map(start, is_end=False), self._map(end, is_end=True)

    def _map(self, offset: int, *, is_end: bool) -> int:
        starts = [s.protected_start for s in self._segments]
        i = bisect.bisect_right(starts, offset) - 1
        if i < 0:
            return offset
        seg = self._segments[i]
        if offset == seg.protected_start:
            return seg.original_start
        if offset < seg.protected_end:
            return seg.original_end if is_end else seg.original_start
        return seg.original_end + (offset - seg.protected_end)

    def restore(self, text: str) -> str:
        """Best effort: put the original values back where the model repeated a surrogate
        verbatim (longest surrogate first). Offsets are not preserved; use `to_original`
        for spans."""
        pairs: dict[str, str] = {}
        for seg in self._segments:
            surrogate = self.text[seg.protected_start : seg.protected_end]
            if surrogate.strip() and not set(surrogate) <= {"*"}:
                pairs.setdefault(surrogate, self.original_text[seg.original_start : seg.original_end])
        for surrogate in sorted(pairs, key=len, reverse=True):
            text = text.replace(surrogate, pairs[surrogate])
        return text


class PhiGuard:
    def __init__(
        self,
        deidentifier: Deidentifier,
        mode: DeidentificationMode = DeidentificationMode.SURROGATE,
        policy: DeidentificationPolicy = DeidentificationPolicy.RECALL_FIRST,
    ) -> None:
        self._deid = deidentifier
        self._mode = mode
        self._policy = policy

    def protect(self, text: str, *, tenant: str, patient_ref: str = "") -> GuardedText:
        note = self._deid.deidentify(text, self._mode, tenant=tenant, patient_ref=patient_ref, policy=self._policy)
        return guard_from(text, note)


def guard_from(text: str, result: DeidentifiedNote) -> GuardedText:
    """The guarded text for a de-identification of `text` done elsewhere (a worker process)."""
    segments: list[_Segment] = []
    shift = 0
    for finding in result.findings:
        start = finding.span.start + shift
        end = start + len(finding.replacement)
        segments.append(_Segment(start, end, finding.span.start, finding.span.end))
        shift += len(finding.replacement) - (finding.span.end - finding.span.start)
    return GuardedText(
        text=result.text, original_text=text, findings_count=len(result.findings), _segments=tuple(segments)
    )
