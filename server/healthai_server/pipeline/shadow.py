"""Stage 7, shadow mode: a candidate arm answers the same note OFF the response path, and its answer
is compared with the one the caller got.

`submit` is synchronous and cheap (a few comparisons and `create_task`): the caller's answer
is already built when it is called and never waits for the candidate. Limits, each counted:
- concurrency: at most `max_concurrent` shadow calls in flight; another is dropped, never
  queued (a queue would hold note text in memory without bound);
- budget: shadow spend per UTC day (one pot for every tenant, separate from the tenants'
  own budgets); once reached, shadow calls are skipped until the next day. The check is made
  before a call whose cost is not known yet, so the overshoot is at most `max_concurrent`
  calls' cost;
- tenant scope: the shadow arm's tenants, like a live arm's.

The candidate's request passes the same PHI guard stage as a live one (BAA tenants send the
note as is, others only through the guard, none without it) with its own egress log, and
its answer the same validation stage. The result goes only to the comparison store: no
review task, no chart-facing output, no usage-ledger row (the tenant is not billed for our
experiment, and its budget is untouched; shadow spend is reported from the comparison rows).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

from healthai_server.backends.base import BackendRequest, BackendResult, Deadline, EgressLog, ExtractionBackend
from healthai_server.backends.errors import BackendError, failure_label
from healthai_server.domain.clinical import as_domain
from healthai_server.domain.errors import DomainError
from healthai_server.experiments.agreement import compare
from healthai_server.experiments.arms import ShadowConfig
from healthai_server.experiments.store import ExperimentStore, ShadowComparison
from healthai_server.pipeline.guard import PhiGuardStage
from healthai_server.pipeline.validation import ValidationStage

log = logging.getLogger("healthai.experiments.shadow")
Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class ShadowRunner:
    def __init__(
        self,
        config: ShadowConfig,
        backend: ExtractionBackend,
        store: ExperimentStore,
        *,
        guard: PhiGuardStage | None = None,
        validation: ValidationStage | None = None,
        timeout_s: float = 30.0,
        start_delay_s: float = 0.01,
        on_outcome: Callable[[str], None] | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        self._config = config
        self._backend = backend
        self._store = store
        self._guard = guard or PhiGuardStage(None)
        self._validation = validation
        self._timeout_s = timeout_s
        self._start_delay_s = start_delay_s
        self._on_outcome = on_outcome or (lambda _outcome: None)
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._day = self._today()
        self._spent = 0
        self._closed = False

    @property
    def arm_name(self) -> str:
        return self._config.arm.name

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def spent_today_micros(self) -> int:
        self._roll_day()
        return self._spent

    async def start(self) -> None:
        """Seed today's spend from the store (a restart does not refill the budget)."""
        self._day = self._today()
        self._spent = await self._store.shadow_spent_micros(self._day)

    def submit(self, request: BackendRequest, live: BackendResult, *, audit_id: str, live_arm: str) -> str:
        """Schedule the candidate for this note, or say why not. Never waits."""
        outcome = self._admit(request.tenant)
        if outcome == "scheduled":
            task = asyncio.get_running_loop().create_task(self._run(request, live, audit_id, live_arm))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self._on_outcome(outcome)
        return outcome

    def _admit(self, tenant: str) -> str:
        if self._closed or not self._config.arm.applies_to(tenant):
            return "out_of_scope"
        if len(self._tasks) >= self._config.max_concurrent:
            return "dropped_concurrency"
        self._roll_day()
        if self._spent >= self._config.daily_budget_micros:
            return "skipped_budget"
        return "scheduled"

    async def _run(self, request: BackendRequest, live: BackendResult, audit_id: str, live_arm: str) -> None:
        # The answer is returned but not yet on the wire (the servicer still maps and sends it):
        # the candidate's first CPU work (prompt, request building) waits until that is done.
        await asyncio.sleep(self._start_delay_s)
        # A fresh egress log: the shadow call's egress is its own, recorded on its comparison row.
        # The live request's gate is bound to the live egress log: the guard stage gates it anew.
        shadow_request = self._guard.apply(
            replace(request, egress=EgressLog(), outbound=None, deadline=Deadline.after(self._timeout_s))
        )
        started = time.perf_counter()
        outcome, cost, agreement, model = "ok", 0, {}, self._config.arm.model or self._config.arm.backend
        try:
            result = await self._backend.extract(shadow_request)
            if self._validation is not None:
                result = await self._validation.run(shadow_request, result)
        except BackendError as error:
            outcome = failure_label(error)
        except DomainError as error:
            outcome = error.reason.lower()[:32]
        except Exception:  # a bug in the candidate must never surface as an unretrieved task error
            log.exception("shadow call failed unexpectedly", extra={"audit_id": audit_id})
            outcome = "error"
        else:
            cost, model = result.provenance.cost_micros, result.provenance.model
            agreement = compare(as_domain(live.data), as_domain(result.data))
        shadow_ms = (time.perf_counter() - started) * 1000
        self._roll_day()
        self._spent += cost
        prompt = live.provenance.prompt
        arm = self._config.arm
        row = ShadowComparison(
            tenant=request.tenant,
            audit_id=audit_id,
            live_arm=live_arm,
            live_backend=live.provenance.backend,
            live_model=live.provenance.model,
            live_prompt_version=prompt.version if prompt else "",
            shadow_arm=arm.name,
            shadow_model=model,
            shadow_prompt_version=arm.prompt_version,
            outcome=outcome,
            phi_egress=shadow_request.egress.summary,
            live_latency_ms=live.provenance.latency_s * 1000,
            shadow_latency_ms=shadow_ms,
            shadow_cost_micros=cost,
            agreement=agreement,
            occurred_at=self._clock(),
        )
        try:
            await self._store.record(row)
        except DomainError:
            log.warning("shadow comparison not stored", extra={"audit_id": audit_id})
            self._on_outcome("store_failed")
            return
        self._on_outcome("ok" if outcome == "ok" else "failed")

    def _today(self) -> datetime:
        now = self._clock()
        return now.replace(hour=0, minute=0, second=0, microsecond=0)

    def _roll_day(self) -> None:
        today = self._today()
        if today != self._day:
            self._day, self._spent = today, 0

    async def settle(self, timeout_s: float = 5.0) -> None:
        """Wait for the shadow calls in flight (at most timeout_s), cancelling those still running."""
        if not self._tasks:
            return
        _done, still = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in still:
            task.cancel()
        for task in still:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Stop taking shadow calls (at shutdown), then settle those in flight."""
        self._closed = True
        await self.settle(timeout_s)

    async def close(self) -> None:
        await self.drain()
        await self._backend.close()
