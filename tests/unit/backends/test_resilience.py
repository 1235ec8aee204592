"""The resilience layer around the real AnthropicBackend (real SDK, fake API) and a fake local backend."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from healthai_server.backends.base import BackendRequest, Deadline, ExtractionBackend
from healthai_server.backends.resilience import (
    BackendPolicy,
    BreakerPolicy,
    ChainLink,
    ResilientBackend,
    ResilientSummarizer,
    RetryPolicy,
)
from healthai_server.cache import CachingBackend, MemoryResultCache
from healthai_server.cost.budget import BudgetGuard, BudgetPolicy, InMemorySpendLedger, OnExhausted
from healthai_server.domain.errors import BackendUnavailable, FailedPrecondition, QuotaExhausted
from healthai_server.domain.provenance import DegradedReason, Provenance
from healthai_server.pipeline.hashing import NoteHasher

from tests.fakes.anthropic_api import (
    FakeAnthropicAPI,
    Usage,
    dropped_connection,
    overloaded,
    rate_limited,
    server_error,
    slow,
    text_answer,
    tool_answer,
)
from tests.unit.backends.conftest import (
    COVERED,
    NOT_COVERED,
    NOTE,
    BackendFactory,
    FakeLocalBackend,
    RecordingObserver,
    RecordingSleep,
    good_answer,
)

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.05, max_delay_s=0.2, retry_after_cap_s=1.0)


def req(tenant: str = COVERED, budget_s: float = 5.0) -> BackendRequest:
    return BackendRequest(text=NOTE, tenant=tenant, deadline=Deadline.after(budget_s))


DEFAULT_BREAKER = BreakerPolicy(fail_max=3, reset_timeout_s=30)


def chain(
    anthropic_backend: ExtractionBackend,
    local: ExtractionBackend | None = None,
    *,
    retry: RetryPolicy = FAST_RETRY,
    breaker: BreakerPolicy = DEFAULT_BREAKER,
    budget: BudgetGuard | None = None,
    observer: RecordingObserver | None = None,
    sleep: RecordingSleep | None = None,
    ceiling_s: float = 5.0,
) -> ResilientBackend:
    links = [ChainLink(anthropic_backend, BackendPolicy(ceiling_s, retry, breaker, budget, fallback_reserve_s=0.1))]
    if local is not None:
        links.append(ChainLink(local, BackendPolicy(retry=RetryPolicy(max_attempts=1))))
    if sleep is not None:
        return ResilientBackend(links, observer=observer, rng=random.Random(7), sleep=sleep)
    return ResilientBackend(links, observer=observer, rng=random.Random(7))


async def test_retries_429_500_529_and_connection_errors_then_succeeds(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    sleep, observer = RecordingSleep(), RecordingObserver()
    fake_api.script(rate_limited(), server_error(), tool_answer(good_answer()))
    resilient = chain(make_backend(), sleep=sleep, observer=observer)
    result = await resilient.extract(req())
    assert result.provenance.backend == "anthropic" and not result.provenance.degraded
    assert len(fake_api.requests) == 3
    # Full jitter: the n-th retry waits uniformly in [0, min(max, base * 2**(n-1))].
    assert len(sleep.delays) == 2
    assert 0 <= sleep.delays[0] <= 0.05 and 0 <= sleep.delays[1] <= 0.1
    assert [e[2] for e in observer.of("retry")] == ["rate_limited", "server_error"]

    fake_api.clear()
    fake_api.script(overloaded(), dropped_connection(), tool_answer(good_answer()))
    result = await resilient.extract(req())
    assert not result.provenance.degraded and len(fake_api.requests) == 3
    assert [e[2] for e in observer.of("retry")][2:] == ["overloaded", "connection_error"]


async def test_retry_after_is_honoured_and_measured_between_requests(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.script(rate_limited(retry_after=0.3), tool_answer(good_answer()))
    resilient = chain(make_backend())  # real asyncio.sleep
    result = await resilient.extract(req())
    assert not result.provenance.degraded
    first, second = fake_api.requests
    gap = second.received_at - first.received_at
    assert 0.3 <= gap < 0.3 + 0.5


async def test_retry_after_above_the_cap_is_not_waited_for(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    sleep, local = RecordingSleep(), FakeLocalBackend()
    fake_api.script(rate_limited(retry_after=3600))
    resilient = chain(make_backend(), local, sleep=sleep)
    started = time.monotonic()
    result = await resilient.extract(req())
    assert time.monotonic() - started < 1.0
    assert sleep.delays == [] and len(fake_api.requests) == 1
    assert result.provenance.backend == "local"
    assert result.provenance.degraded_reason is DegradedReason.RATE_LIMITED


async def test_retry_after_beyond_the_time_budget_gives_up_and_tells_the_caller(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.script(rate_limited(retry_after=0.9))
    resilient = chain(make_backend(), sleep=RecordingSleep())
    with pytest.raises(BackendUnavailable) as caught:
        await resilient.extract(req(budget_s=0.5))
    assert len(fake_api.requests) == 1
    assert caught.value.retry_after_s == pytest.approx(0.9)


async def test_a_slow_answer_times_out_within_the_deadline_and_falls_back(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    local = FakeLocalBackend()
    fake_api.script(slow(tool_answer(good_answer()), 5.0))
    resilient = chain(make_backend(), local)
    started = time.monotonic()
    result = await resilient.extract(req(budget_s=0.6))
    took = time.monotonic() - started
    assert took < 0.6  # never outlives the caller's deadline
    assert result.provenance.backend == "local"
    assert result.provenance.degraded_reason is DegradedReason.TIMEOUT
    assert local.calls == 1


async def test_the_configured_ceiling_caps_a_generous_deadline(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.script(slow(tool_answer(good_answer()), 5.0))
    resilient = chain(make_backend(), FakeLocalBackend(), ceiling_s=0.4)
    started = time.monotonic()
    result = await resilient.extract(req(budget_s=30))
    assert time.monotonic() - started < 0.8
    assert result.provenance.degraded_reason is DegradedReason.TIMEOUT


async def test_invalid_output_falls_back_without_opening_the_breaker(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.script(tool_answer("garbage"), tool_answer("garbage"))
    resilient = chain(make_backend(), FakeLocalBackend(), breaker=BreakerPolicy(fail_max=1, reset_timeout_s=30))
    result = await resilient.extract(req())
    assert result.provenance.degraded_reason is DegradedReason.INVALID_OUTPUT
    assert resilient.breaker_state("anthropic") == "closed"


async def test_breaker_opens_after_fail_max_and_the_fallback_answers_degraded(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    observer, local = RecordingObserver(), FakeLocalBackend()
    fake_api.set_default(server_error())
    resilient = chain(
        make_backend(),
        local,
        retry=RetryPolicy(max_attempts=1),
        breaker=BreakerPolicy(fail_max=3, reset_timeout_s=30),
        observer=observer,
    )
    for _ in range(3):
        result = await resilient.extract(req())
        assert result.provenance.degraded_reason is DegradedReason.UPSTREAM_ERROR
    assert resilient.breaker_state("anthropic") == "open"
    assert ("breaker", "anthropic", "open") in observer.events
    before = len(fake_api.requests)
    result = await resilient.extract(req())
    assert len(fake_api.requests) == before  # not called while open
    assert result.provenance.backend == "local"
    assert result.provenance.degraded_reason is DegradedReason.BREAKER_OPEN
    assert resilient.breaker_states() == {"anthropic": "open", "local": "closed"}


async def test_breaker_recovers_after_reset_timeout(fake_api: FakeAnthropicAPI, make_backend: BackendFactory) -> None:
    observer = RecordingObserver()
    fake_api.script(server_error(), server_error())
    resilient = chain(
        make_backend(),
        FakeLocalBackend(),
        retry=RetryPolicy(max_attempts=1),
        breaker=BreakerPolicy(fail_max=2, reset_timeout_s=0.3),
        observer=observer,
    )
    await resilient.extract(req())
    await resilient.extract(req())
    assert resilient.breaker_state("anthropic") == "open"
    await asyncio.sleep(0.35)
    fake_api.script(tool_answer(good_answer()))
    result = await resilient.extract(req())
    assert result.provenance.backend == "anthropic" and not result.provenance.degraded
    assert resilient.breaker_state("anthropic") == "closed"
    states = [e[2] for e in observer.of("breaker")]
    assert states == ["open", "half-open", "closed"]


async def test_half_open_lets_exactly_one_probe_through(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.script(server_error())
    resilient = chain(
        make_backend(),
        FakeLocalBackend(),
        retry=RetryPolicy(max_attempts=1),
        breaker=BreakerPolicy(fail_max=1, reset_timeout_s=0.2),
    )
    await resilient.extract(req())
    assert resilient.breaker_state("anthropic") == "open"
    await asyncio.sleep(0.25)
    fake_api.clear()
    fake_api.set_default(slow(tool_answer(good_answer()), 0.3))
    results = await asyncio.gather(*(resilient.extract(req()) for _ in range(10)))
    assert len(fake_api.requests) == 1  # the probe
    by_backend = sorted(r.provenance.backend for r in results)
    assert by_backend.count("anthropic") == 1 and by_backend.count("local") == 9
    assert {r.provenance.degraded_reason for r in results if r.provenance.backend == "local"} == {
        DegradedReason.BREAKER_OPEN
    }
    assert resilient.breaker_state("anthropic") == "closed"


async def test_a_failed_probe_reopens_the_breaker(fake_api: FakeAnthropicAPI, make_backend: BackendFactory) -> None:
    fake_api.set_default(server_error())
    resilient = chain(
        make_backend(),
        FakeLocalBackend(),
        retry=RetryPolicy(max_attempts=1),
        breaker=BreakerPolicy(fail_max=1, reset_timeout_s=0.2),
    )
    await resilient.extract(req())
    await asyncio.sleep(0.25)
    result = await resilient.extract(req())
    assert result.provenance.degraded_reason is DegradedReason.UPSTREAM_ERROR
    assert resilient.breaker_state("anthropic") == "open"


async def test_no_fallback_left_raises_backend_unavailable_with_retry_after(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.set_default(server_error())
    resilient = chain(make_backend(), retry=RetryPolicy(max_attempts=1), breaker=BreakerPolicy(1, 12.0))
    with pytest.raises(BackendUnavailable):
        await resilient.extract(req())
    with pytest.raises(BackendUnavailable) as caught:
        await resilient.extract(req())
    assert 11.0 < caught.value.retry_after_s <= 12.0  # the breaker's remaining open time


async def test_uncovered_tenant_is_served_locally_without_sending_anything(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    local = FakeLocalBackend()
    resilient = chain(make_backend(), local)
    result = await resilient.extract(req(NOT_COVERED))
    assert result.provenance.backend == "local" and not result.provenance.degraded
    assert fake_api.requests == [] and local.calls == 1
    with pytest.raises(FailedPrecondition) as refused:
        await chain(make_backend()).extract(req(NOT_COVERED))
    assert refused.value.reason == "PHI_TRANSFER_REFUSED"
    assert fake_api.requests == []


async def test_budget_exhausted_falls_back_or_rejects(fake_api: FakeAnthropicAPI, make_backend: BackendFactory) -> None:
    ledger = InMemorySpendLedger()
    ledger.add(COVERED, 1_000_000)
    fallback_guard = BudgetGuard(ledger, {COVERED: BudgetPolicy(daily_limit_micros=1_000_000)})
    observer = RecordingObserver()
    resilient = chain(make_backend(), FakeLocalBackend(), budget=fallback_guard, observer=observer)
    result = await resilient.extract(req())
    assert result.provenance.degraded_reason is DegradedReason.BUDGET_EXHAUSTED
    assert fake_api.requests == []
    assert ("fallback", "budget_exhausted") in observer.events

    reject_guard = BudgetGuard(ledger, default=BudgetPolicy(monthly_limit_micros=500, on_exhausted=OnExhausted.REJECT))
    with pytest.raises(QuotaExhausted) as caught:
        await chain(make_backend(), FakeLocalBackend(), budget=reject_guard).extract(req())
    assert caught.value.subject == f"tenant:{COVERED}"
    assert fake_api.requests == []


async def test_budget_under_the_limit_allows_the_paid_call_and_tokens_are_observed(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    ledger = InMemorySpendLedger()
    ledger.add(COVERED, 10)
    observer = RecordingObserver()
    guard = BudgetGuard(ledger, default=BudgetPolicy(daily_limit_micros=1_000_000))
    fake_api.script(tool_answer(good_answer(), usage=Usage(100, 10)))
    result = await chain(make_backend(), FakeLocalBackend(), budget=guard, observer=observer).extract(req())
    assert result.provenance.backend == "anthropic"
    assert observer.of("tokens") == [("tokens", "claude-sonnet-4-6", 100 * 3 + 10 * 15, COVERED)]


async def test_cache_hit_costs_nothing_and_skips_the_api(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    backend = make_backend()
    resilient = chain(backend, FakeLocalBackend())
    hasher = NoteHasher(b"k" * 32)
    cached = CachingBackend(
        resilient,
        MemoryResultCache(),
        fingerprint=hasher.fingerprint,
        model=backend.model,
        prompt_version=backend.prompt.version,
    )
    fake_api.script(tool_answer(good_answer(), usage=Usage(1000, 100)))
    first = await cached.extract(req())
    second = await cached.extract(req())
    assert len(fake_api.requests) == 1
    assert not first.provenance.cache_hit and first.provenance.cost_micros > 0
    assert second.provenance.cache_hit and second.provenance.cost_micros == 0
    assert second.provenance.token_usage is None
    assert second.data == first.data
    # Another tenant never sees the first tenant's entry.
    fake_api.script(tool_answer(good_answer()))
    other = await cached.extract(BackendRequest(text=NOTE, tenant="covered-2", deadline=Deadline.after(5)))
    assert other.provenance.backend == "local"  # covered-2 is not BAA-covered: served locally, not cached
    assert len(fake_api.requests) == 1


async def test_degraded_results_are_not_cached(fake_api: FakeAnthropicAPI, make_backend: BackendFactory) -> None:
    backend = make_backend()
    fake_api.script(server_error(), server_error(), server_error(), tool_answer(good_answer()))
    cached = CachingBackend(
        chain(backend, FakeLocalBackend(), sleep=RecordingSleep(), breaker=BreakerPolicy(fail_max=10)),
        MemoryResultCache(),
        fingerprint=NoteHasher(b"k" * 32).fingerprint,
        model=backend.model,
        prompt_version=backend.prompt.version,
    )
    assert (await cached.extract(req())).provenance.degraded
    fresh = await cached.extract(req())
    assert not fresh.provenance.degraded and not fresh.provenance.cache_hit


async def test_summarizer_uses_the_guard_and_degrades_to_an_empty_summary(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    backend = make_backend()
    resilient = chain(backend, FakeLocalBackend(), retry=RetryPolicy(max_attempts=1))
    fallback = Provenance(backend="local", model="local-test-1")
    summarize = ResilientSummarizer(backend, resilient.guard("anthropic"), fallback)
    fake_api.script(text_answer("A short summary."))
    summary, provenance = await summarize(NOTE, COVERED, Deadline.after(5))
    assert summary == "A short summary." and provenance.backend == "anthropic"
    fake_api.script(overloaded())
    summary, provenance = await summarize(NOTE, COVERED, Deadline.after(5))
    assert summary == "" and provenance.degraded_reason is DegradedReason.UPSTREAM_ERROR
    summary, provenance = await summarize(NOTE, NOT_COVERED, Deadline.after(5))
    assert summary == "" and provenance == fallback
    assert len(fake_api.requests) == 2


async def test_cancellation_does_not_count_against_the_breaker(
    fake_api: FakeAnthropicAPI, make_backend: BackendFactory
) -> None:
    fake_api.set_default(slow(tool_answer(good_answer()), 2.0))
    resilient = chain(make_backend(), breaker=BreakerPolicy(fail_max=1, reset_timeout_s=30))
    task = asyncio.create_task(resilient.extract(req()))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert resilient.breaker_state("anthropic") == "closed"
