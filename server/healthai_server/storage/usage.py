"""The usage ledger: one row per LLM request (tokens, cost, prompt), queried for budgets
and usage reports. Every query filters by tenant."""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from healthai_server.domain.provenance import TokenUsage
from healthai_server.storage.db import Database
from healthai_server.storage.schema import usage_ledger


class UsageGrouping(enum.Enum):
    MODEL = "model"
    PROMPT_VERSION = "prompt_version"
    DAY = "day"


@dataclass(frozen=True, slots=True)
class UsageRecord:
    tenant: str
    principal: str
    audit_id: str
    backend: str
    model: str
    usage: TokenUsage
    cost_micros: int
    prompt_id: str = ""
    prompt_version: str = ""
    cache_hit: bool = False
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    experiment_arm: str = ""  # the arm that answered, "" outside experiments
    latency_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class UsageGroup:
    key: str
    requests: int
    usage: TokenUsage
    cost_micros: int
    cache_hits: int


@dataclass(frozen=True, slots=True)
class UsagePage:
    groups: list[UsageGroup]
    total: UsageGroup
    next_page_token: str


def _naive_utc(moment: datetime) -> datetime:
    """Stored as naive UTC so SQLite and PostgreSQL compare the same way."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def usage_row(record: UsageRecord) -> dict[str, Any]:
    """The ledger row of one record: the one shape the unary path and batch results write."""
    u = record.usage
    return {
        "tenant": record.tenant,
        "principal": record.principal,
        "audit_id": record.audit_id,
        "occurred_at": _naive_utc(record.occurred_at),
        "backend": record.backend,
        "model": record.model,
        "prompt_id": record.prompt_id,
        "prompt_version": record.prompt_version,
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cache_read_input_tokens": u.cache_read_input_tokens,
        "cache_creation_input_tokens": u.cache_creation_input_tokens,
        "cost_micros": record.cost_micros,
        "cache_hit": record.cache_hit,
        "experiment_arm": record.experiment_arm,
        "latency_ms": record.latency_ms,
    }


class UsageLedger:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, record: UsageRecord) -> None:
        row = usage_row(record)
        await self._db.run(lambda conn: conn.execute(sa.insert(usage_ledger).values(**row)), "usage_record")

    async def spent_micros(self, tenant: str, since: datetime) -> int:
        """Spend of one tenant since a moment (implements the budget guard's SpendSource)."""
        query = sa.select(sa.func.coalesce(sa.func.sum(usage_ledger.c.cost_micros), 0)).where(
            usage_ledger.c.tenant == tenant, usage_ledger.c.occurred_at >= _naive_utc(since)
        )
        return int(await self._db.run(lambda conn: conn.execute(query).scalar_one()))

    def _group_key(self, grouping: UsageGrouping) -> sa.ColumnElement[str]:
        if grouping is UsageGrouping.MODEL:
            return usage_ledger.c.model
        if grouping is UsageGrouping.PROMPT_VERSION:
            return usage_ledger.c.prompt_id + "@" + usage_ledger.c.prompt_version
        if self._db.dialect == "postgresql":
            return sa.func.to_char(usage_ledger.c.occurred_at, "YYYY-MM-DD")
        return sa.func.strftime("%Y-%m-%d", usage_ledger.c.occurred_at)

    async def summarize(
        self,
        tenant: str,
        start: datetime,
        end: datetime,
        grouping: UsageGrouping,
        *,
        page_size: int = 100,
        page_token: str = "",
    ) -> UsagePage:
        key = self._group_key(grouping).label("key")
        measures = [
            sa.func.count().label("requests"),
            sa.func.sum(usage_ledger.c.input_tokens).label("input_tokens"),
            sa.func.sum(usage_ledger.c.output_tokens).label("output_tokens"),
            sa.func.sum(usage_ledger.c.cache_read_input_tokens).label("cache_read"),
            sa.func.sum(usage_ledger.c.cache_creation_input_tokens).label("cache_write"),
            sa.func.sum(usage_ledger.c.cost_micros).label("cost"),
            sa.func.sum(sa.case((usage_ledger.c.cache_hit, 1), else_=0)).label("hits"),
        ]
        in_range = sa.and_(
            usage_ledger.c.tenant == tenant,
            usage_ledger.c.occurred_at >= _naive_utc(start),
            usage_ledger.c.occurred_at < _naive_utc(end),
        )
        after = _decode_token(page_token)
        grouped = sa.select(key, *measures).where(in_range).group_by(key).order_by(key)
        if after is not None:
            grouped = grouped.having(key > after)
        grouped = grouped.limit(page_size + 1)
        totals = sa.select(sa.literal("total").label("key"), *measures).where(in_range)

        def query(conn: sa.Connection) -> tuple[list[sa.Row[tuple[object, ...]]], sa.Row[tuple[object, ...]]]:
            return list(conn.execute(grouped)), conn.execute(totals).one()

        rows, total_row = await self._db.run(query)
        next_token = _encode_token(str(rows[page_size - 1].key)) if len(rows) > page_size else ""
        return UsagePage([_group(r) for r in rows[:page_size]], _group(total_row), next_token)


def _group(row: sa.Row[tuple[object, ...]]) -> UsageGroup:
    m = row._mapping
    usage = TokenUsage(
        int(m["input_tokens"] or 0), int(m["output_tokens"] or 0), int(m["cache_read"] or 0), int(m["cache_write"] or 0)
    )
    return UsageGroup(str(m["key"]), int(m["requests"] or 0), usage, int(m["cost"] or 0), int(m["hits"] or 0))


def _encode_token(after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode()


def _decode_token(token: str) -> str | None:
    if not token:
        return None
    try:
        after = json.loads(base64.urlsafe_b64decode(token.encode()))["after"]
    except (ValueError, KeyError, TypeError) as exc:
        from healthai_server.domain.errors import FieldViolation, InvalidRequest

        raise InvalidRequest([FieldViolation("page_token", "is not a token this server issued")]) from exc
    return str(after)
