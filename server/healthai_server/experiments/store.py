"""Experiment data at rest: shadow comparisons written by the shadow runner, and what the
report reads back (usage-ledger rows per arm, shadow rows per candidate). Counts, timings
and costs only: no note text, no answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa

from healthai_server.experiments.agreement import Counts
from healthai_server.storage.db import Database
from healthai_server.storage.schema import review_tasks, shadow_comparisons, usage_ledger

# A reviewer's decision overrides the answer when it corrects or rejects an item; the rate is
# over every decision (accept, correct, reject, add), as the healthai_review_decisions metric.
OVERRIDING = ("correct", "reject")


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True, slots=True)
class ShadowComparison:
    tenant: str
    audit_id: str
    live_arm: str
    live_backend: str
    live_model: str
    live_prompt_version: str
    shadow_arm: str
    shadow_model: str
    shadow_prompt_version: str
    outcome: str  # "ok" or a failure label (timeout, upstream_error, ...)
    phi_egress: str  # "none", "surrogates" or "clear": how the note left for the shadow call
    live_latency_ms: float
    shadow_latency_ms: float
    shadow_cost_micros: int
    agreement: Mapping[str, Counts] = field(default_factory=dict)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class ArmCall:
    """One live call answered by an arm (a usage-ledger row)."""

    arm: str
    backend: str
    model: str
    prompt_version: str
    latency_ms: float
    cost_micros: int
    audit_id: str
    tenant: str


class ExperimentStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, row: ShadowComparison) -> None:
        values = {
            "tenant": row.tenant,
            "audit_id": row.audit_id,
            "occurred_at": _naive_utc(row.occurred_at),
            "live_arm": row.live_arm,
            "live_backend": row.live_backend,
            "live_model": row.live_model,
            "live_prompt_version": row.live_prompt_version,
            "shadow_arm": row.shadow_arm,
            "shadow_model": row.shadow_model,
            "shadow_prompt_version": row.shadow_prompt_version,
            "outcome": row.outcome,
            "phi_egress": row.phi_egress,
            "live_latency_ms": row.live_latency_ms,
            "shadow_latency_ms": row.shadow_latency_ms,
            "shadow_cost_micros": row.shadow_cost_micros,
            "agreement": json.dumps({k: [c.tp, c.fp, c.fn] for k, c in sorted(row.agreement.items())}),
        }
        await self._db.run(lambda conn: conn.execute(sa.insert(shadow_comparisons).values(**values)), "shadow_record")

    async def shadow_spent_micros(self, since: datetime) -> int:
        """Shadow spend of every tenant since a moment (the shadow budget is one pot)."""
        query = sa.select(sa.func.coalesce(sa.func.sum(shadow_comparisons.c.shadow_cost_micros), 0)).where(
            shadow_comparisons.c.occurred_at >= _naive_utc(since)
        )
        return int(await self._db.run(lambda conn: conn.execute(query).scalar_one()))

    async def comparisons(self, since: datetime, tenant: str | None = None) -> list[ShadowComparison]:
        c = shadow_comparisons.c
        query = sa.select(shadow_comparisons).where(c.occurred_at >= _naive_utc(since)).order_by(c.id)
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        rows = await self._db.run(lambda conn: list(conn.execute(query)), "shadow_read")
        return [_comparison(r._mapping) for r in rows]

    async def arm_calls(self, since: datetime, tenant: str | None = None) -> list[ArmCall]:
        c = usage_ledger.c
        query = (
            sa.select(c.experiment_arm, c.backend, c.model, c.prompt_version, c.latency_ms, c.cost_micros)
            .add_columns(c.audit_id, c.tenant)
            .where(c.experiment_arm != "", c.occurred_at >= _naive_utc(since))
            .order_by(c.id)
        )
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        rows = await self._db.run(lambda conn: list(conn.execute(query)), "arm_calls_read")
        return [
            ArmCall(
                str(r.experiment_arm),
                str(r.backend),
                str(r.model),
                str(r.prompt_version),
                float(r.latency_ms),
                int(r.cost_micros),
                str(r.audit_id),
                str(r.tenant),
            )
            for r in rows
        ]


def _comparison(m: sa.RowMapping) -> ShadowComparison:
    raw = json.loads(str(m["agreement"]))
    occurred = m["occurred_at"]
    assert isinstance(occurred, datetime)
    return ShadowComparison(
        tenant=str(m["tenant"]),
        audit_id=str(m["audit_id"]),
        live_arm=str(m["live_arm"]),
        live_backend=str(m["live_backend"]),
        live_model=str(m["live_model"]),
        live_prompt_version=str(m["live_prompt_version"]),
        shadow_arm=str(m["shadow_arm"]),
        shadow_model=str(m["shadow_model"]),
        shadow_prompt_version=str(m["shadow_prompt_version"]),
        outcome=str(m["outcome"]),
        phi_egress=str(m["phi_egress"]),
        live_latency_ms=float(str(m["live_latency_ms"])),
        shadow_latency_ms=float(str(m["shadow_latency_ms"])),
        shadow_cost_micros=int(str(m["shadow_cost_micros"])),
        agreement={k: Counts(*v) for k, v in raw.items()},
        occurred_at=occurred.replace(tzinfo=UTC),
    )


@dataclass(frozen=True, slots=True)
class ReviewedTask:
    """Decision counts of one completed review task (no note text, no items)."""

    audit_id: str  # the extraction call the task was created from
    backend: str
    model: str
    prompt_version: str
    reviewed: int
    overridden: int


class ReviewOutcomeStore:
    """Completed review tasks' decision counts, read without decrypting anything."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def reviewed_tasks(self, since: datetime, tenant: str | None = None) -> list[ReviewedTask]:
        c = review_tasks.c
        query = (
            sa.select(c.source_audit_id, c.backend, c.model, c.prompt_version, c.decision_counts)
            .where(c.state == "completed", c.created_at >= _naive_utc(since))
            .order_by(c.created_at)
        )
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        rows = await self._db.run(lambda conn: list(conn.execute(query)), "review_outcomes_read")
        tasks = []
        for r in rows:
            counts: dict[str, dict[str, int]] = json.loads(str(r.decision_counts) or "{}")
            reviewed = sum(n for per_type in counts.values() for n in per_type.values())
            overridden = sum(per_type.get(kind, 0) for per_type in counts.values() for kind in OVERRIDING)
            tasks.append(
                ReviewedTask(
                    str(r.source_audit_id), str(r.backend), str(r.model), str(r.prompt_version), reviewed, overridden
                )
            )
        return tasks

    async def outcomes(self, since: datetime, tenant: str | None) -> Mapping[str, tuple[int, int]]:
        """(reviewed, overridden) per extraction audit id: what the report joins to arms."""
        result: dict[str, tuple[int, int]] = {}
        for task in await self.reviewed_tasks(since, tenant):
            reviewed, overridden = result.get(task.audit_id, (0, 0))
            result[task.audit_id] = (reviewed + task.reviewed, overridden + task.overridden)
        return result
