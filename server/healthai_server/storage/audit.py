"""The audit trail: one event per RPC (and per streamed note), hash-chained per tenant.

Each event stores the hash of its tenant's previous event, and a chain-head row per
tenant records the last sequence number and hash, so edits, deletions, reordering and
truncation of the tail are all detected by `verify`.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from healthai_server.storage.db import Database
from healthai_server.storage.schema import audit_chain_heads, audit_events

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEvent:
    audit_id: str
    tenant: str
    principal: str
    method: str
    status_code: str
    note_hmac: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="microseconds"))


@dataclass(frozen=True, slots=True)
class ChainBreak:
    tenant: str
    seq: int
    audit_id: str
    problem: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    events_checked: int
    tenants_checked: int
    first_break: ChainBreak | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def canonical_details(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def event_hash(prev_hash: str, seq: int, row: Mapping[str, Any]) -> str:
    payload = json.dumps(
        [
            row["tenant"],
            seq,
            row["audit_id"],
            row["occurred_at"],
            row["principal"],
            row["method"],
            row["status_code"],
            row["note_hmac"],
            row["details"],
        ],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


class AuditRepository:
    """Appends use group commit: events that arrive while a transaction is being written wait
    for the next one and share it (one chain-head read and write per tenant per batch instead
    of per event). A caller still returns only once its own event is committed, and a failed
    transaction fails every caller in it, so nothing is acknowledged that was not stored."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: list[tuple[AuditEvent, asyncio.Future[int]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def append(self, event: AuditEvent) -> int:
        """Append and chain one event; returns its sequence number within the tenant."""
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, future))
        if self._writer is None:
            # The writer inherits this caller's trace context: its transaction span is a
            # child of the call that started the batch.
            self._writer = asyncio.create_task(self._write_batches())
        return await future

    async def _write_batches(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                events = [event for event, _ in batch]
                try:
                    seqs = await self._db.run(functools.partial(self.append_sync, events=events), "audit_append")
                except Exception as exc:  # handed to every caller in the batch
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for (_, future), seq in zip(batch, seqs, strict=True):
                    if not future.done():
                        future.set_result(seq)
        finally:
            self._writer = None

    def append_sync(self, conn: sa.Connection, events: list[AuditEvent]) -> list[int]:
        """Chain and insert events in order inside the caller's transaction; their sequence numbers."""
        seqs: list[int] = []
        heads: dict[str, tuple[int, str]] = {}
        rows: list[dict[str, Any]] = []
        for event in events:
            if event.tenant not in heads:
                heads[event.tenant] = self._lock_head(conn, event.tenant)
            head_seq, prev_hash = heads[event.tenant]
            seq = head_seq + 1
            row = {
                "tenant": event.tenant,
                "audit_id": event.audit_id,
                "occurred_at": event.occurred_at,
                "principal": event.principal,
                "method": event.method,
                "status_code": event.status_code,
                "note_hmac": event.note_hmac,
                "details": canonical_details(event.details),
            }
            digest = event_hash(prev_hash, seq, row)
            rows.append({**row, "seq": seq, "prev_hash": prev_hash, "event_hash": digest})
            heads[event.tenant] = (seq, digest)
            seqs.append(seq)
        conn.execute(sa.insert(audit_events), rows)
        for tenant, (seq, digest) in heads.items():
            conn.execute(
                sa.update(audit_chain_heads)
                .where(audit_chain_heads.c.tenant == tenant)
                .values(seq=seq, event_hash=digest)
            )
        return seqs

    def _lock_head(self, conn: sa.Connection, tenant: str) -> tuple[int, str]:
        """The tenant's chain head, created at genesis if new; locked on PostgreSQL so replicas
        writing the same tenant serialise (SQLite's BEGIN IMMEDIATE already does)."""
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        conn.execute(
            insert(audit_chain_heads)
            .values(tenant=tenant, seq=0, event_hash=GENESIS_HASH)
            .on_conflict_do_nothing(index_elements=["tenant"])
        )
        head_query = sa.select(audit_chain_heads.c.seq, audit_chain_heads.c.event_hash).where(
            audit_chain_heads.c.tenant == tenant
        )
        if self._db.dialect == "postgresql":
            head_query = head_query.with_for_update()
        head_seq, prev_hash = conn.execute(head_query).one()
        return int(head_seq), str(prev_hash)

    async def find(self, tenant: str, audit_id: str) -> list[dict[str, Any]]:
        """Events of one tenant with this audit id (a stream has one per note plus its own)."""
        query = (
            sa.select(audit_events)
            .where(audit_events.c.tenant == tenant, audit_events.c.audit_id == audit_id)
            .order_by(audit_events.c.seq)
        )
        rows = await self._db.run(lambda conn: conn.execute(query).mappings().all())
        return [{**row, "details": json.loads(row["details"])} for row in rows]

    async def verify(self, tenant: str | None = None) -> VerifyReport:
        return await self._db.run(lambda conn: self.verify_sync(conn, tenant))

    def verify_sync(self, conn: sa.Connection, tenant: str | None = None) -> VerifyReport:
        heads_query = sa.select(audit_chain_heads)
        if tenant is not None:
            heads_query = heads_query.where(audit_chain_heads.c.tenant == tenant)
        heads = {row.tenant: row for row in conn.execute(heads_query)}
        tenants_query = sa.select(audit_events.c.tenant).distinct()
        if tenant is not None:
            tenants_query = tenants_query.where(audit_events.c.tenant == tenant)
        tenants = sorted(set(heads) | {row[0] for row in conn.execute(tenants_query)})
        checked = 0
        for name in tenants:
            problem, count = self._verify_tenant(conn, name, heads.get(name))
            checked += count
            if problem is not None:
                return VerifyReport(checked, len(tenants), problem)
        return VerifyReport(checked, len(tenants), None)

    @staticmethod
    def _rows(conn: sa.Connection, tenant: str) -> Iterator[sa.RowMapping]:
        query = sa.select(audit_events).where(audit_events.c.tenant == tenant).order_by(audit_events.c.seq)
        yield from conn.execution_options(yield_per=1000).execute(query).mappings()

    def _verify_tenant(self, conn: sa.Connection, tenant: str, head: Any) -> tuple[ChainBreak | None, int]:
        prev_hash, expected_seq, count, last_id = GENESIS_HASH, 1, 0, ""
        for row in self._rows(conn, tenant):
            count += 1
            if row["seq"] != expected_seq:
                return ChainBreak(tenant, expected_seq, row["audit_id"], "missing or reordered event"), count
            if row["prev_hash"] != prev_hash:
                return ChainBreak(tenant, row["seq"], row["audit_id"], "previous-hash link broken"), count
            if event_hash(prev_hash, row["seq"], dict(row)) != row["event_hash"]:
                return ChainBreak(tenant, row["seq"], row["audit_id"], "event content altered"), count
            prev_hash, expected_seq, last_id = row["event_hash"], expected_seq + 1, row["audit_id"]
        if head is None:
            return ChainBreak(tenant, expected_seq - 1, last_id, "chain head missing"), count
        if head.seq != expected_seq - 1 or head.event_hash != prev_hash:
            return ChainBreak(tenant, expected_seq, last_id, "events missing at the end of the chain"), count
        return None, count
