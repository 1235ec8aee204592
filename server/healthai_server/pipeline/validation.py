"""Stage 3, validation: grounding (spans against the note) and clinical rules, for every backend.

Findings are written on the items they concern (domain `findings`; `validation_findings`
in the contract); items whose text is not in the note are dropped and counted.

The local engine's answers are validated by the same OutputValidator in the engine worker
that computed them (they arrive serialized, `EncodedClinicalData.validated`), so the serving
process neither ships nor unpickles the object graph for them.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from healthai_server.backends.base import BackendRequest, BackendResult
from healthai_server.domain.clinical import EncodedClinicalData, as_domain
from healthai_server.validation import OutputValidator


class ValidationStage:
    def __init__(self, validator: OutputValidator) -> None:
        self._validator = validator

    async def warm(self) -> None:
        await self._validator.warm()

    async def run(self, request: BackendRequest, result: BackendResult) -> BackendResult:
        if isinstance(result.data, EncodedClinicalData) and result.data.validated:
            return result
        await self._validator.warm()
        # Rule checks look codes up in a large table: CPU work, off the event loop.
        outcome = await asyncio.to_thread(self._validator.check, request.text, as_domain(result.data))
        return replace(
            result, data=outcome.data, ungrounded_dropped=result.ungrounded_dropped + outcome.grounding.dropped
        )
