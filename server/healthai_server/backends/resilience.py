"""The resilience layer: wraps ANY ExtractionBackend (and the LLM summary call).

Per backend (`Guard`):
- time: one budget per call, the smaller of the request's Deadline and a configured ceiling,
  minus a reserve for the next backend in the chain; every attempt runs under asyncio.timeout
  and gets the budget as its own Deadline, so nothing outlives the caller.
- retries: on RateLimited and retryable UpstreamError (429, 5xx, 529, connection errors), up to
  `max_attempts`, sleeping an exponential backoff with full jitter, but never less than the
  upstream's retry-after. A retry-after above `retry_after_cap_s`, or a wait that would not leave
  time for another attempt, ends the retries (the caller is told retry_after_s instead).
- breaker: one pybreaker CircuitBreaker per backend (fail_max, reset_timeout). When the reset
  timeout has passed, exactly one call is let through as the half-open probe; concurrent calls
  fail fast with CircuitOpen until the probe has decided. Only errors that say the backend is
  unhealthy (`trips_breaker`) are counted; a refused or invalid answer, or a cancelled call,
  leaves the breaker as it was.

Across backends (`ResilientBackend`): a fallback chain (e.g. anthropic -> local). A result from
a later backend carries Provenance.degraded_reason of the first failure. A backend that refuses
by policy (PHI not permitted for the tenant) is skipped without marking the result degraded.
With no backend left: domain BackendUnavailable with retry_after_s (or DeadlineExceeded when
the caller's own deadline ran out, or the refusal itself when policy was the only obstacle).

Budgets: a backend with a BudgetGuard is checked before it is called; over budget either
raises QuotaExhausted (policy reject) or falls through to the next backend (BUDGET_EXHAUSTED).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar, runtime_checkable

import pybreaker

from healthai_server.backends.base import BackendRequest, BackendResult, Deadline, ExtractionBackend
from healthai_server.backends.errors import (
    BackendError,
    BackendRefused,
    BackendTimeout,
    CircuitOpen,
    PhiTransferRefused,
    failure_label,
)
from healthai_server.cost.budget import BudgetGuard, BudgetVerdict
from healthai_server.domain.errors import BackendUnavailable, DeadlineExceeded, FailedPrecondition
from healthai_server.domain.provenance import DegradedReason, Provenance, TokenUsage

_T = TypeVar("_T")
Sleep = Callable[[float], Awaitable[None]]

# -- observer (metrics hooks; no prometheus here) ------------------------------------------------


class BackendObserver(Protocol):
    def on_retry(self, backend: str, reason: str) -> None: ...

    def on_breaker_state(self, backend: str, state: str) -> None: ...

    def on_fallback(self, reason: str) -> None: ...

    def on_grounding_dropped(self, backend: str, n: int) -> None: ...

    def on_tokens(self, model: str, usage: TokenUsage, cost_micros: int, *, tenant: str) -> None: ...

    def on_backend_call(self, backend: str, outcome: str, seconds: float) -> None: ...

    def on_cache(self, hit: bool) -> None: ...


class NullObserver:
    """The default observer: does nothing."""

    def on_retry(self, backend: str, reason: str) -> None:
        return None

    def on_breaker_state(self, backend: str, state: str) -> None:
        return None

    def on_fallback(self, reason: str) -> None:
        return None

    def on_grounding_dropped(self, backend: str, n: int) -> None:
        return None

    def on_tokens(self, model: str, usage: TokenUsage, cost_micros: int, *, tenant: str) -> None:
        return None

    def on_backend_call(self, backend: str, outcome: str, seconds: float) -> None:
        return None

    def on_cache(self, hit: bool) -> None:
        return None


@runtime_checkable
class AdmissionCheck(Protocol):
    """Optional on a backend: False when the PHI egress policy forbids sending it this request
    (no BAA for the tenant and no PHI guard)."""

    def admits(self, request: BackendRequest) -> bool: ...


# -- policies -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 3  # attempts in all, including the first
    base_delay_s: float = 0.25
    max_delay_s: float = 4.0
    retry_after_cap_s: float = 10.0  # a longer retry-after ends the retries

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay_s < 0 or self.max_delay_s < 0 or self.retry_after_cap_s < 0:
            raise ValueError("retry policy: max_attempts >= 1 and non-negative delays")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**(n-1))] for the n-th retry."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (retry_number - 1)))
        return rng.uniform(0.0, ceiling)


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    fail_max: int = 5
    reset_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        if self.fail_max < 1 or self.reset_timeout_s <= 0:
            raise ValueError("breaker policy: fail_max >= 1 and reset_timeout_s > 0")


@dataclass(frozen=True, slots=True)
class BackendPolicy:
    timeout_ceiling_s: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    budget: BudgetGuard | None = None
    min_attempt_s: float = 0.05  # an attempt is not started with less time than this
    fallback_reserve_s: float = 0.25  # time kept back for the next backend in the chain


# -- the breaker gate -------------------------------------------------------------------------------


class _StateListener(pybreaker.CircuitBreakerListener):
    def __init__(self, name: str, observer: BackendObserver) -> None:
        self._name = name
        self._observer = observer

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: object, new_state: object) -> None:
        self._observer.on_breaker_state(self._name, str(getattr(new_state, "name", new_state)))


def _raise(exc: BaseException) -> None:
    raise exc


def _nothing() -> None:
    return None


class CircuitGate:
    """A pybreaker CircuitBreaker with an exactly-one half-open probe.

    pybreaker decides the states and counts; outcomes are recorded after the awaited call (a
    synchronous `breaker.call`), so the event loop is never blocked inside the breaker and
    neutral outcomes (refusals, invalid answers, cancellations) are not recorded at all.
    """

    def __init__(self, name: str, policy: BreakerPolicy, observer: BackendObserver) -> None:
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=policy.fail_max,
            reset_timeout=policy.reset_timeout_s,
            name=name,
            listeners=[_StateListener(name, observer)],
            throw_new_error_on_trip=False,
        )
        self._probe_in_flight = False

    @property
    def state(self) -> str:
        """closed, open or half-open (pybreaker's names)."""
        return str(self._breaker.current_state)

    @property
    def fail_counter(self) -> int:
        return int(self._breaker.fail_counter)

    def retry_after_s(self) -> float:
        """Seconds until the breaker will let a probe through (0 when closed)."""
        if self.state == pybreaker.STATE_CLOSED:
            return 0.0
        opened_at: datetime | None = self._breaker._state_storage.opened_at
        if opened_at is None:
            return 0.0
        reopen = opened_at + timedelta(seconds=self._breaker.reset_timeout)
        return max(0.0, (reopen - datetime.now(UTC)).total_seconds())

    def admit(self) -> bool:
        """Let a call through (True when it is the half-open probe) or raise CircuitOpen."""
        state = self.state
        if state == pybreaker.STATE_CLOSED:
            return False
        wait = self.retry_after_s()
        if self._probe_in_flight or (state == pybreaker.STATE_OPEN and wait > 0):
            raise CircuitOpen("the backend's circuit breaker is open", retry_after=max(wait, 0.1))
        if state == pybreaker.STATE_OPEN:
            self._breaker.half_open()
        self._probe_in_flight = True
        return True

    def record_success(self, probe: bool) -> None:
        self._settle(probe, None)

    def record_failure(self, probe: bool, error: BaseException) -> None:
        self._settle(probe, error)

    def release(self, probe: bool) -> None:
        """A neutral outcome: nothing recorded; a probe slot is freed for the next caller."""
        if probe:
            self._probe_in_flight = False

    def _settle(self, probe: bool, error: BaseException | None) -> None:
        try:
            if error is None:
                self._breaker.call(_nothing)
            else:
                self._breaker.call(_raise, error)
        except pybreaker.CircuitBreakerError:
            pass  # another call opened it meanwhile; this outcome changes nothing
        except BaseException as exc:
            if exc is not error:
                raise
        finally:
            if probe:
                self._probe_in_flight = False


# -- one guarded backend -------------------------------------------------------------------------------


class Guard:
    """Timeout, retries and breaker for one backend."""

    def __init__(
        self,
        name: str,
        policy: BackendPolicy,
        *,
        observer: BackendObserver,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.gate = CircuitGate(name, policy.breaker, observer)
        self._observer = observer
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security

    def budget_deadline(self, deadline: Deadline, *, reserve: bool) -> Deadline:
        at = min(deadline.at, time.monotonic() + self.policy.timeout_ceiling_s)
        return Deadline(at - (self.policy.fallback_reserve_s if reserve else 0.0))

    async def run(self, call: Callable[[Deadline], Awaitable[_T]], budget: Deadline) -> _T:
        """Run `call(budget)` with retries under the breaker; raise the last BackendError."""
        retry = self.policy.retry
        attempt = 0
        last: BackendError | None = None
        while True:
            attempt += 1
            remaining = budget.remaining()
            if remaining < self.policy.min_attempt_s:
                raise last or BackendTimeout("no time left for the backend")
            try:
                probe = self.gate.admit()
            except CircuitOpen as exc:
                self._observer.on_backend_call(self.name, "breaker_open", 0.0)
                raise last or exc from None
            started = time.perf_counter()
            try:
                async with asyncio.timeout(remaining):
                    result = await call(budget)
            except TimeoutError:
                error: BackendError = BackendTimeout("the backend did not answer within the time budget")
            except BackendError as exc:
                error = exc
            except BaseException:
                # Cancellation, domain errors, bugs: not a verdict on the backend's health.
                self.gate.release(probe)
                self._observer.on_backend_call(self.name, "cancelled", time.perf_counter() - started)
                raise
            else:
                self.gate.record_success(probe)
                self._observer.on_backend_call(self.name, "ok", time.perf_counter() - started)
                return result
            if error.trips_breaker:
                self.gate.record_failure(probe, error)
            else:
                self.gate.release(probe)
            label = failure_label(error)
            self._observer.on_backend_call(self.name, _outcome(label), time.perf_counter() - started)
            last = error
            if not error.retryable or attempt >= retry.max_attempts:
                raise error
            delay = retry.backoff(attempt, self._rng)
            if error.retry_after is not None:
                if error.retry_after > retry.retry_after_cap_s:
                    raise error
                delay = max(delay, error.retry_after)
            if delay + self.policy.min_attempt_s > budget.remaining():
                raise error
            self._observer.on_retry(self.name, label)
            await self._sleep(delay)


def _outcome(label: str) -> str:
    if label in {"timeout", "rate_limited", "overloaded", "breaker_open", "invalid_output"}:
        return label
    return "error"


# -- the chain --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChainLink:
    backend: ExtractionBackend
    policy: BackendPolicy = field(default_factory=BackendPolicy)


@dataclass(frozen=True, slots=True)
class _Failure:
    reason: DegradedReason
    label: str
    retry_after: float | None


def _extract_with(
    backend: ExtractionBackend, request: BackendRequest
) -> Callable[[Deadline], Awaitable[BackendResult]]:
    def call(deadline: Deadline) -> Awaitable[BackendResult]:
        return backend.extract(replace(request, deadline=deadline))

    return call


def _failure(error: BackendError) -> _Failure:
    return _Failure(error.degraded_reason, failure_label(error), error.retry_after)


class ResilientBackend:
    """An ExtractionBackend over a fallback chain of guarded backends."""

    def __init__(
        self,
        chain: Sequence[ChainLink],
        *,
        observer: BackendObserver | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        if not chain:
            raise ValueError("a resilient backend needs at least one backend")
        names = [link.backend.name for link in chain]
        if len(set(names)) != len(names):
            raise ValueError(f"backend names in a chain must differ: {names}")
        self._chain = list(chain)
        self._observer: BackendObserver = observer or NullObserver()
        self._guards = {
            link.backend.name: Guard(link.backend.name, link.policy, observer=self._observer, sleep=sleep, rng=rng)
            for link in chain
        }

    @property
    def name(self) -> str:
        return self._chain[0].backend.name

    @property
    def observer(self) -> BackendObserver:
        return self._observer

    def guard(self, backend: str) -> Guard:
        return self._guards[backend]

    def breaker_state(self, backend: str) -> str:
        """closed, open or half-open: for metrics and health details."""
        return self._guards[backend].gate.state

    def breaker_states(self) -> dict[str, str]:
        return {name: guard.gate.state for name, guard in self._guards.items()}

    async def extract(self, request: BackendRequest) -> BackendResult:
        deadline = request.deadline or Deadline.after(self._chain[0].policy.timeout_ceiling_s)
        first: _Failure | None = None
        refusal: BackendRefused | None = None
        for index, link in enumerate(self._chain):
            backend, guard = link.backend, self._guards[link.backend.name]
            has_next = index < len(self._chain) - 1
            if isinstance(backend, AdmissionCheck) and not backend.admits(request):
                refusal = refusal or PhiTransferRefused(
                    f"backend {backend.name} may not receive this tenant's notes: no BAA and no PHI guard"
                )
                continue
            if link.policy.budget is not None:
                status = await link.policy.budget.check(request.tenant)  # raises QuotaExhausted on reject
                if status.verdict is BudgetVerdict.FALLBACK:
                    first = first or _Failure(DegradedReason.BUDGET_EXHAUSTED, "budget_exhausted", None)
                    if has_next:
                        self._observer.on_fallback("budget_exhausted")
                    continue
            budget = guard.budget_deadline(deadline, reserve=has_next)
            try:
                result = await guard.run(_extract_with(backend, request), budget)
            except BackendRefused as exc:
                refusal = refusal or exc
                continue
            except BackendError as exc:
                failure = _failure(exc)
                first = first or failure
                if has_next:
                    self._observer.on_fallback(failure.label)
                continue
            return self._finish(result, first, request.tenant)
        if first is None and refusal is not None:
            if isinstance(refusal, FailedPrecondition):
                raise refusal
            raise FailedPrecondition(refusal.message)
        if deadline.expired():
            raise DeadlineExceeded("the deadline passed before any backend could answer")
        retry_after = max(
            [f for f in (first.retry_after if first else None, self._soonest_breaker_retry()) if f] or [1.0]
        )
        raise BackendUnavailable("no extraction backend could serve the request", retry_after_s=retry_after)

    def _soonest_breaker_retry(self) -> float | None:
        waits = [g.gate.retry_after_s() for g in self._guards.values() if g.gate.state != pybreaker.STATE_CLOSED]
        return min(waits) if waits else None

    def _finish(self, result: BackendResult, first: _Failure | None, tenant: str) -> BackendResult:
        provenance = result.provenance
        if first is not None and provenance.degraded_reason is None:
            provenance = replace(provenance, degraded_reason=first.reason)
            result = replace(result, provenance=provenance)
        if result.ungrounded_dropped:
            self._observer.on_grounding_dropped(provenance.backend, result.ungrounded_dropped)
        if provenance.token_usage is not None:
            self._observer.on_tokens(provenance.model, provenance.token_usage, provenance.cost_micros, tenant=tenant)
        return result

    async def close(self) -> None:
        for link in self._chain:
            await link.backend.close()


# -- the summary call ---------------------------------------------------------------------------------------


class SummaryBackend(Protocol):
    @property
    def name(self) -> str: ...

    def admits(self, request: BackendRequest) -> bool: ...

    async def summarize(self, text: str, deadline: Deadline, *, tenant: str) -> tuple[str, Provenance]: ...


class ResilientSummarizer:
    """AnalyzeNote's optional summary through the same guard (breaker, retries) as extraction.

    Callable as the servicer's Summarizer: (text, tenant, deadline) -> (summary, provenance).
    A summary is optional, so when the LLM cannot serve, the answer is ("", fallback provenance
    marked degraded) rather than an error; an exhausted budget with policy reject still raises.
    """

    def __init__(
        self,
        backend: SummaryBackend,
        guard: Guard,
        fallback_provenance: Provenance,
        *,
        budget: BudgetGuard | None = None,
        observer: BackendObserver | None = None,
    ) -> None:
        self._backend = backend
        self._guard = guard
        self._fallback = fallback_provenance
        self._budget = budget
        self._observer: BackendObserver = observer or NullObserver()

    async def __call__(self, text: str, tenant: str, deadline: Deadline) -> tuple[str, Provenance]:
        if not self._backend.admits(BackendRequest(text="", tenant=tenant)):
            return "", self._fallback
        if self._budget is not None:
            status = await self._budget.check(tenant)
            if status.verdict is BudgetVerdict.FALLBACK:
                self._observer.on_fallback("budget_exhausted")
                return "", replace(self._fallback, degraded_reason=DegradedReason.BUDGET_EXHAUSTED)
        budget = self._guard.budget_deadline(deadline, reserve=False)
        try:
            summary, provenance = await self._guard.run(
                lambda d: self._backend.summarize(text, d, tenant=tenant), budget
            )
        except BackendRefused:
            return "", self._fallback
        except BackendError as exc:
            failure = _failure(exc)
            self._observer.on_fallback(failure.label)
            return "", replace(self._fallback, degraded_reason=failure.reason)
        if provenance.token_usage is not None:
            self._observer.on_tokens(provenance.model, provenance.token_usage, provenance.cost_micros, tenant=tenant)
        return summary, provenance
