"""The PHI guard for external models, with de-identification on the engine workers.

De-identifying a note is a few milliseconds of CPU; on the event loop it would stall every
other call each time a note goes to an LLM, so it runs where the engine runs.
"""

from __future__ import annotations

from healthai_server.domain.phi import DeidentificationMode, DeidentificationPolicy
from healthai_server.phi.guard import GuardedText, guard_from
from healthai_server.workers import CpuWorkers


class PooledPhiGuard:
    def __init__(
        self,
        workers: CpuWorkers,
        mode: DeidentificationMode = DeidentificationMode.SURROGATE,
        policy: DeidentificationPolicy = DeidentificationPolicy.RECALL_FIRST,
    ) -> None:
        self._workers = workers
        self._mode = mode
        # Recall first: what goes to a vendor without a BAA must not carry an identifier the
        # typed recognizers did not know ("Harrowgate Clinic").
        self._policy = policy

    async def protect(self, text: str, *, tenant: str, patient_ref: str = "") -> GuardedText:
        # No deadline of its own: the LLM call's deadline bounds the whole request.
        result = await self._workers.deidentify(
            text, self._mode, tenant=tenant, patient_ref=patient_ref, deadline=None, policy=self._policy
        )
        return guard_from(text, result)
