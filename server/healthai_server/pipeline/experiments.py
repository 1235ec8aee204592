"""Stage 2a, experiment arms: which backend answers this note.

With arms configured, the note's keyed fingerprint and the tenant pick an arm (see
experiments/assignment.py); the arm's backend answers and the arm's name goes into the
result's provenance (and from there into the audit details and the usage ledger). A tenant
no arm applies to is answered by the default backend, outside any experiment.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from healthai_server.backends.base import BackendRequest, ExtractionBackend
from healthai_server.experiments.assignment import ArmAssigner


@dataclass(frozen=True, slots=True)
class ArmChoice:
    arm: str  # "" outside any experiment
    backend: ExtractionBackend


class ArmSelection:
    def __init__(
        self,
        assigner: ArmAssigner,
        backends: Mapping[str, ExtractionBackend],
        fingerprint: Callable[[str], str],
    ) -> None:
        missing = {arm.name for arm in assigner.arms} - set(backends)
        if missing:
            raise ValueError(f"experiment arms without a backend: {sorted(missing)}")
        self._assigner = assigner
        self._backends = dict(backends)
        self._fingerprint = fingerprint

    def choose(self, request: BackendRequest, default: ExtractionBackend) -> ArmChoice:
        arm = self._assigner.assign(request.tenant, self._fingerprint(request.text))
        if arm is None:
            return ArmChoice("", default)
        return ArmChoice(arm.name, self._backends[arm.name])
