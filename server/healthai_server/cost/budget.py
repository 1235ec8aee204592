"""Per-tenant LLM budgets: daily and monthly limits in micro-dollars, checked before a paid call.

Spend is read through an injected SpendSource (the SQL usage ledger in production, the
in-memory ledger below in tests). Periods are calendar days and months in UTC.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from healthai_server.domain.errors import QuotaExhausted


class SpendSource(Protocol):
    async def spent_micros(self, tenant: str, since: datetime) -> int: ...


class OnExhausted(enum.Enum):
    REJECT = "reject"  # the call fails with QUOTA_EXHAUSTED
    FALLBACK = "fallback"  # the call is served by the next (free) backend, marked BUDGET_EXHAUSTED


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    """Limits in micro-dollars; 0 means no limit for that period."""

    daily_limit_micros: int = 0
    monthly_limit_micros: int = 0
    on_exhausted: OnExhausted = OnExhausted.FALLBACK

    def __post_init__(self) -> None:
        if self.daily_limit_micros < 0 or self.monthly_limit_micros < 0:
            raise ValueError("budget limits must be 0 (unlimited) or positive micro-dollars")

    @classmethod
    def from_mapping(cls, raw: Mapping[str, object]) -> BudgetPolicy:
        """From config, e.g. {"daily_limit_micros": 5_000_000, "on_exhausted": "reject"}."""
        known = {"daily_limit_micros", "monthly_limit_micros", "on_exhausted"}
        for key in set(raw) - known:
            raise ValueError(f"budget.{key}: unknown key")
        mode = str(raw.get("on_exhausted", "fallback"))
        try:
            on_exhausted = OnExhausted(mode)
        except ValueError as exc:
            raise ValueError("budget.on_exhausted: must be 'reject' or 'fallback'") from exc
        return cls(_int(raw, "daily_limit_micros"), _int(raw, "monthly_limit_micros"), on_exhausted)


def _int(raw: Mapping[str, object], key: str) -> int:
    value = raw.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"budget.{key}: must be an integer number of micro-dollars")
    return int(value)


class BudgetVerdict(enum.Enum):
    ALLOW = "allow"
    FALLBACK = "fallback"


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    verdict: BudgetVerdict
    daily_spent_micros: int = 0
    monthly_spent_micros: int = 0
    used_ratio: float = 0.0  # the larger of day and month spend over their limits (for a gauge)


class BudgetGuard:
    """Decides, before a paid call, whether the tenant may spend more.

    `policies` maps tenant -> policy; `default` applies to tenants not listed (None: unlimited).
    Over budget with REJECT raises domain QuotaExhausted; with FALLBACK returns FALLBACK.
    """

    def __init__(
        self,
        spend: SpendSource,
        policies: Mapping[str, BudgetPolicy] | None = None,
        default: BudgetPolicy | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._spend = spend
        self._policies = dict(policies or {})
        self._default = default
        self._now = now

    def policy_for(self, tenant: str) -> BudgetPolicy | None:
        return self._policies.get(tenant, self._default)

    async def check(self, tenant: str) -> BudgetStatus:
        policy = self.policy_for(tenant)
        if policy is None or (policy.daily_limit_micros == 0 and policy.monthly_limit_micros == 0):
            return BudgetStatus(BudgetVerdict.ALLOW)
        now = self._now().astimezone(UTC)
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        month_start = day_start.replace(day=1)
        daily, monthly = 0, 0
        if policy.daily_limit_micros and policy.monthly_limit_micros:
            daily, monthly = await asyncio.gather(
                self._spend.spent_micros(tenant, day_start), self._spend.spent_micros(tenant, month_start)
            )
        elif policy.daily_limit_micros:
            daily = await self._spend.spent_micros(tenant, day_start)
        else:
            monthly = await self._spend.spent_micros(tenant, month_start)
        ratios = [
            spent / limit
            for spent, limit in ((daily, policy.daily_limit_micros), (monthly, policy.monthly_limit_micros))
            if limit
        ]
        ratio = max(ratios)
        if ratio < 1.0:
            return BudgetStatus(BudgetVerdict.ALLOW, daily, monthly, ratio)
        if policy.on_exhausted is OnExhausted.REJECT:
            period = "daily" if policy.daily_limit_micros and daily >= policy.daily_limit_micros else "monthly"
            raise QuotaExhausted(
                f"the tenant's {period} LLM budget is exhausted",
                subject=f"tenant:{tenant}",
                description=f"{period} LLM budget exhausted",
            )
        return BudgetStatus(BudgetVerdict.FALLBACK, daily, monthly, ratio)


@dataclass
class InMemorySpendLedger:
    """A SpendSource for tests and single-process dev: (tenant, when, micros) entries."""

    entries: list[tuple[str, datetime, int]] = field(default_factory=list)

    def add(self, tenant: str, micros: int, at: datetime | None = None) -> None:
        self.entries.append((tenant, at or datetime.now(UTC), micros))

    async def spent_micros(self, tenant: str, since: datetime) -> int:
        return sum(micros for who, when, micros in self.entries if who == tenant and when >= since)
