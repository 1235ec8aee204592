"""Assemble the backend the pipeline calls, from settings.

Without ANTHROPIC_API_KEY: the local engine alone (the embedded default; `make run`
needs nothing else). With it: result cache -> resilient chain [anthropic -> local], each
link with its own timeout, retries and breaker, the LLM link behind the tenant budget,
plus a summariser for AnalyzeNote that shares the LLM's breaker.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from healthai_server.backends.anthropic.backend import AnthropicBackend
from healthai_server.backends.base import ExtractionBackend
from healthai_server.backends.egress import EgressGuard, PhiGuard
from healthai_server.backends.pooled_guard import PooledPhiGuard
from healthai_server.backends.resilience import (
    BackendPolicy,
    BreakerPolicy,
    ChainLink,
    ResilientBackend,
    ResilientSummarizer,
    RetryPolicy,
)
from healthai_server.cache.caching import CachingBackend
from healthai_server.config import Settings
from healthai_server.cost.budget import BudgetGuard, BudgetPolicy
from healthai_server.cost.pricing import PriceTable
from healthai_server.domain.provenance import Provenance
from healthai_server.experiments.arms import Arm, ExperimentConfig
from healthai_server.housekeeping import PurgeJob
from healthai_server.observability.backend_metrics import MetricsObserver
from healthai_server.observability.metrics import Metrics
from healthai_server.pipeline.hashing import NoteHasher
from healthai_server.services.analysis import Summarizer
from healthai_server.storage.crypto import FieldEncryptor, key_id
from healthai_server.storage.db import Database
from healthai_server.storage.result_cache import SqlResultCache
from healthai_server.storage.usage import UsageLedger
from healthai_server.validation.rules import ClinicalRules
from healthai_server.workers import CpuWorkers


@dataclass
class Backends:
    extraction: ExtractionBackend
    summarizer: Summarizer | None = None
    resilient: ResilientBackend | None = None
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    purge_jobs: list[PurgeJob] = field(default_factory=list)
    # For the pipeline's PHI guard stage (None: nothing can leave the process).
    egress_guard: EgressGuard | None = None
    # The clinical rules, warmed, for the pipeline's validation stage (None: load on first use).
    rules: ClinicalRules | None = None
    # Experiment arms by name (each its own chain, breaker and cache key), and the shadow candidate.
    arms: dict[str, ExtractionBackend] = field(default_factory=dict)
    shadow: ExtractionBackend | None = None


def budget_guard(ledger: UsageLedger, budgets: Mapping[str, Any]) -> BudgetGuard:
    policies = {tenant: BudgetPolicy.from_mapping(raw) for tenant, raw in budgets.items() if tenant != "default"}
    default = BudgetPolicy.from_mapping(budgets["default"]) if "default" in budgets else None
    return BudgetGuard(ledger, policies, default)


def cache_encryptor(key_file: Path) -> FieldEncryptor:
    key = key_file.read_bytes()
    return FieldEncryptor({key_id(key): key}, key_id(key))


async def assemble_backends(
    settings: Settings,
    *,
    local: ExtractionBackend,
    engine_version: str,
    db: Database,
    hasher: NoteHasher,
    metrics: Metrics,
    env: Mapping[str, str],
    workers: CpuWorkers,
) -> Backends:
    experiments = ExperimentConfig.from_mapping(settings.experiments)
    if not env.get("ANTHROPIC_API_KEY"):
        if experiments.needs_llm:
            raise RuntimeError(
                "HEALTHAI_EXPERIMENTS: an arm uses the anthropic backend but ANTHROPIC_API_KEY is not set"
            )
        return Backends(
            extraction=local,
            arms={arm.name: local for arm in experiments.arms},
            shadow=local if experiments.shadow is not None else None,
        )
    # PHI guard: notes of tenants without a BAA leave the process with surrogates in place
    # of identifiers; spans in the model's answer are mapped back to the original note.
    phi_guard: PhiGuard = PooledPhiGuard(workers)
    rules = ClinicalRules.load()
    await asyncio.to_thread(rules.warm)
    egress_guard = EgressGuard(settings.baa_tenants, phi_guard)
    prices = PriceTable().with_overrides(settings.llm_prices)

    def claude_for(model: str, prompt_version: str, timeout_s: float) -> AnthropicBackend:
        return AnthropicBackend(
            model=model or settings.anthropic_model,
            prices=prices,
            rules=rules,
            egress_guard=egress_guard,
            extraction_prompt=("clinical_extraction", prompt_version or settings.anthropic_prompt_version or None),
            timeout_s=timeout_s,
        )

    claude = claude_for("", "", settings.backend_timeout_s)
    budget = budget_guard(UsageLedger(db), settings.budgets)
    observer = MetricsObserver(metrics)
    llm_policy = BackendPolicy(
        timeout_ceiling_s=settings.backend_timeout_s,
        retry=RetryPolicy(
            settings.llm_retry_max_attempts,
            settings.llm_retry_base_delay_s,
            settings.llm_retry_max_delay_s,
            settings.llm_retry_after_cap_s,
        ),
        breaker=BreakerPolicy(settings.llm_breaker_fail_max, settings.llm_breaker_reset_timeout_s),
        budget=budget,
        fallback_reserve_s=settings.llm_fallback_reserve_s,
    )
    local_policy = BackendPolicy(timeout_ceiling_s=settings.backend_timeout_s, retry=RetryPolicy(max_attempts=1))
    cache = (
        SqlResultCache(db, cache_encryptor(settings.effective_cache_key_file))
        if settings.result_cache_ttl_s > 0
        else None
    )

    def chain(llm: AnthropicBackend) -> tuple[ResilientBackend, ExtractionBackend]:
        """anthropic -> local with the LLM policy, behind the result cache keyed by model and prompt."""
        resilient = ResilientBackend([ChainLink(llm, llm_policy), ChainLink(local, local_policy)], observer=observer)
        if cache is None:
            return resilient, resilient
        cached = CachingBackend(
            resilient,
            cache,
            fingerprint=hasher.fingerprint,
            model=llm.model,
            prompt_version=llm.prompt.version,
            ttl_s=settings.result_cache_ttl_s,
            observer=observer,
        )
        return resilient, cached

    resilient, extraction = chain(claude)
    for name, state in resilient.breaker_states().items():
        metrics.set_breaker_state(name, state)
    purge_jobs: list[PurgeJob] = []
    if cache is not None:
        purge_jobs.append(PurgeJob("result_cache", cache.purge_expired))
    summarizer = ResilientSummarizer(
        claude, resilient.guard(claude.name), Provenance("local", engine_version), budget=budget, observer=observer
    )
    closers: list[Callable[[], Awaitable[None]]] = [claude.close]
    arms: dict[str, ExtractionBackend] = {}
    for arm in experiments.arms:
        if arm.backend == "local":
            arms[arm.name] = local
            continue
        arm_claude = claude_for(arm.model, arm.prompt_version, settings.backend_timeout_s)
        closers.append(arm_claude.close)
        arms[arm.name] = chain(arm_claude)[1]
    shadow: ExtractionBackend | None = None
    if experiments.shadow is not None:
        shadow = _shadow_backend(experiments.shadow.arm, local, claude_for, settings, observer)
        if shadow is not local:
            closers.append(shadow.close)
    return Backends(
        extraction=extraction,
        summarizer=summarizer,
        resilient=resilient,
        closers=closers,
        purge_jobs=purge_jobs,
        egress_guard=egress_guard,
        rules=rules,
        arms=arms,
        shadow=shadow,
    )


def _shadow_backend(
    arm: Arm,
    local: ExtractionBackend,
    claude_for: Callable[[str, str, float], AnthropicBackend],
    settings: Settings,
    observer: MetricsObserver,
) -> ExtractionBackend:
    """The candidate alone: no fallback (a fallback answer would compare the wrong thing), no
    retries, no cache, no tenant budget (the shadow runner holds its own); a breaker of its own
    so an unhealthy candidate stops being called."""
    if arm.backend == "local":
        return local
    candidate = claude_for(arm.model, arm.prompt_version, settings.shadow_timeout_s)
    policy = BackendPolicy(
        timeout_ceiling_s=settings.shadow_timeout_s,
        retry=RetryPolicy(max_attempts=1),
        breaker=BreakerPolicy(settings.llm_breaker_fail_max, settings.llm_breaker_reset_timeout_s),
    )
    return ResilientBackend([ChainLink(candidate, policy)], observer=observer)
