"""The audit trail: one event per RPC (and per streamed note), hash-chained per tenant.

Each event stores the hash of its tenant's previous event, and a chain-head row per
tenant records the last sequence number and hash. The hash is an HMAC-SHA256 under a
chain key kept outside the database (its id on every row, so the key can rotate): without
the key, an edited row cannot be re-hashed. What the chain alone cannot show is a rewrite
of its end (drop the tail and rewind the head, renumber, delete a whole tenant): for that
`verify` also checks the signed checkpoints written outside the database (audit_checkpoints).

Rows written before keyed hashes (hash_version 1: plain SHA-256) keep their marker and are
still checked; a legacy row after a keyed one is itself a break (a downgrade).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from healthai_server.storage.audit_keys import ChainKey, ChainKeyring
from healthai_server.storage.db import Database
from healthai_server.storage.schema import audit_chain_heads, audit_events

GENESIS_HASH = "0" * 64
HASH_V1_SHA256 = 1  # before keyed hashes; verify still checks these rows
HASH_V2_HMAC = 2
DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED"


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
    # time.monotonic() by which the caller must have its answer (None: no deadline). If the
    # event is written after it, the caller got DEADLINE_EXCEEDED, and that is what is recorded.
    deadline: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """What was committed for one event: its sequence number and the status it records."""

    seq: int
    status_code: str


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


@dataclass(frozen=True, slots=True)
class Pin:
    """A tenant's head as a signed checkpoint recorded it: the chain must still pass through it."""

    event_hash: str
    checkpoint: int


# tenant -> seq -> pin, gathered from every verified checkpoint.
Pins = Mapping[str, Mapping[int, Pin]]
_Waiter = tuple[AuditEvent, "asyncio.Future[RecordedEvent]"]


def canonical_details(details: Mapping[str, Any]) -> str:
    return json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _payload(seq: int, row: Mapping[str, Any]) -> list[Any]:
    return [
        row["tenant"],
        seq,
        row["audit_id"],
        row["occurred_at"],
        row["principal"],
        row["method"],
        row["status_code"],
        row["note_hmac"],
        row["details"],
    ]


def sha256_event_hash(prev_hash: str, seq: int, row: Mapping[str, Any]) -> str:
    """hash_version 1, kept to verify rows written before keyed hashes."""
    payload = json.dumps(_payload(seq, row), separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(f"{prev_hash}\n{payload}".encode()).hexdigest()


def keyed_event_hash(key: ChainKey, prev_hash: str, seq: int, row: Mapping[str, Any]) -> str:
    """hash_version 2: HMAC-SHA256 under the chain key; the version and key id are hashed too."""
    payload = json.dumps([HASH_V2_HMAC, key.key_id, *_payload(seq, row)], separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key.secret, f"{prev_hash}\n{payload}".encode(), hashlib.sha256).hexdigest()


def read_chain_heads(conn: sa.Connection) -> dict[str, tuple[int, str]]:
    """Every tenant's committed head. A plain read: it never waits on a head row's lock."""
    query = sa.select(audit_chain_heads.c.tenant, audit_chain_heads.c.seq, audit_chain_heads.c.event_hash)
    return {row.tenant: (int(row.seq), str(row.event_hash)) for row in conn.execute(query)}


class AuditRepository:
    """Appends use group commit: events that arrive while a transaction is being written wait
    for the next one and share it (one chain-head read and write per tenant per batch instead
    of per event). A caller still returns only once its own event is committed, and a failed
    transaction fails every caller in it, so nothing is acknowledged that was not stored.

    One head row locked elsewhere (another replica mid-commit, an operator's open session)
    must not hold up the other tenants. On PostgreSQL the shared batch locks heads with SKIP
    LOCKED: a tenant whose head is taken is left out of it and handed to a lane of its own,
    which waits for the lock, at most `lock_timeout_ms` (then that lane's callers get
    UNAVAILABLE), while the shared batch goes on committing everyone else."""

    def __init__(
        self,
        db: Database,
        keyring: ChainKeyring,
        *,
        lock_timeout_ms: int = 2000,
        deadline_margin_s: float = 0.05,
        on_committed: Callable[[int], None] = lambda _count: None,
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._lock_timeout_ms = lock_timeout_ms
        # An event committed this close to its deadline may reach the caller after it: the
        # response still has to be sent. Recording DEADLINE_EXCEEDED then is the safe side.
        self._deadline_margin_s = deadline_margin_s
        self._on_committed = on_committed
        self._waiting: list[_Waiter] = []
        self._writer: asyncio.Task[None] | None = None
        self._contended: dict[str, list[_Waiter]] = {}
        self._contended_writers: dict[str, asyncio.Task[None]] = {}

    @property
    def keyring(self) -> ChainKeyring:
        return self._keyring

    async def append(self, event: AuditEvent) -> int:
        """Append and chain one event; returns its sequence number within the tenant."""
        return (await self.record(event)).seq

    async def record(self, event: AuditEvent) -> RecordedEvent:
        """Append and chain one event; returns its sequence number and the status recorded,
        which is DEADLINE_EXCEEDED when the event could not be committed before its deadline."""
        future: asyncio.Future[RecordedEvent] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, future))
        if self._writer is None:
            # The writer inherits this caller's trace context: its transaction span is a
            # child of the call that started the batch.
            self._writer = asyncio.create_task(self._write_shared())
        return await future

    async def _write_shared(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                outcomes = await self._commit(batch, skip_locked=True)
                for (event, future), outcome in zip(batch, outcomes or (), strict=False):
                    if outcome is None:
                        self._defer(event, future)
                    elif not future.done():
                        future.set_result(outcome)
        finally:
            self._writer = None

    def _defer(self, event: AuditEvent, future: asyncio.Future[RecordedEvent]) -> None:
        self._contended.setdefault(event.tenant, []).append((event, future))
        if event.tenant not in self._contended_writers:
            self._contended_writers[event.tenant] = asyncio.create_task(self._write_contended(event.tenant))

    async def _write_contended(self, tenant: str) -> None:
        try:
            while self._contended.get(tenant):
                batch = self._contended.pop(tenant)
                outcomes = await self._commit(batch, skip_locked=False)
                for (_, future), outcome in zip(batch, outcomes or (), strict=False):
                    if outcome is not None and not future.done():
                        future.set_result(outcome)
        finally:
            del self._contended_writers[tenant]

    async def _commit(self, batch: list[_Waiter], *, skip_locked: bool) -> list[RecordedEvent | None] | None:
        """One transaction for the batch; None (every caller failed with the error) if it failed."""
        events = [event for event, _ in batch]
        try:
            outcomes = await self._db.run(
                functools.partial(self.append_sync, events=events, skip_locked=skip_locked), "audit_append"
            )
        except Exception as exc:  # handed to every caller in the batch
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return None
        self._on_committed(sum(outcome is not None for outcome in outcomes))
        return outcomes

    def append_sync(
        self, conn: sa.Connection, events: list[AuditEvent], *, skip_locked: bool = False
    ) -> list[RecordedEvent | None]:
        """Chain and insert events in order inside the caller's transaction. With skip_locked,
        events of a tenant whose head is locked elsewhere are left out (None in their place)."""
        if self._db.dialect == "postgresql":
            # Bound the wait for a head row locked by another session (and for a new tenant's
            # head inserted concurrently); past it the transaction fails (StorageUnavailable)
            # instead of holding its callers and a DB thread indefinitely.
            conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{int(self._lock_timeout_ms)}ms'")
        heads = self._lock_heads(conn, sorted({event.tenant for event in events}), skip_locked=skip_locked)
        # Decided once the head locks are held: from here the transaction only inserts and
        # commits, so the status written is the one the caller will get.
        now = time.monotonic()
        key = self._keyring.current
        recorded: list[RecordedEvent | None] = []
        rows: list[dict[str, Any]] = []
        for event in events:
            if event.tenant not in heads:
                recorded.append(None)
                continue
            head_seq, prev_hash = heads[event.tenant]
            seq = head_seq + 1
            status, details = event.status_code, event.details
            if event.deadline is not None and now + self._deadline_margin_s >= event.deadline:
                status, details = DEADLINE_EXCEEDED, {**details, "status_before_deadline": event.status_code}
            row = {
                "tenant": event.tenant,
                "audit_id": event.audit_id,
                "occurred_at": event.occurred_at,
                "principal": event.principal,
                "method": event.method,
                "status_code": status,
                "note_hmac": event.note_hmac,
                "details": canonical_details(details),
            }
            digest = keyed_event_hash(key, prev_hash, seq, row)
            rows.append(
                {
                    **row,
                    "seq": seq,
                    "prev_hash": prev_hash,
                    "event_hash": digest,
                    "hash_version": HASH_V2_HMAC,
                    "key_id": key.key_id,
                }
            )
            heads[event.tenant] = (seq, digest)
            recorded.append(RecordedEvent(seq, status))
        if rows:
            conn.execute(sa.insert(audit_events), rows)
            written = {row["tenant"] for row in rows}
            conn.execute(
                sa.update(audit_chain_heads)
                .where(audit_chain_heads.c.tenant == sa.bindparam("head_tenant"))
                .values(seq=sa.bindparam("head_seq"), event_hash=sa.bindparam("head_hash")),
                [
                    {"head_tenant": tenant, "head_seq": seq, "head_hash": digest}
                    for tenant, (seq, digest) in heads.items()
                    if tenant in written
                ],
            )
        return recorded

    def _lock_heads(self, conn: sa.Connection, tenants: list[str], *, skip_locked: bool) -> dict[str, tuple[int, str]]:
        """The tenants' chain heads, created at genesis if new; on PostgreSQL locked FOR UPDATE
        (in tenant order) so replicas writing the same tenant serialise; SQLite's BEGIN
        IMMEDIATE already does. With skip_locked, heads locked elsewhere are left out."""
        postgres = self._db.dialect == "postgresql"
        insert = postgresql.insert if postgres else sqlite.insert
        conn.execute(
            insert(audit_chain_heads)
            .values([{"tenant": tenant, "seq": 0, "event_hash": GENESIS_HASH} for tenant in tenants])
            .on_conflict_do_nothing(index_elements=["tenant"])
        )
        query = (
            sa.select(audit_chain_heads.c.tenant, audit_chain_heads.c.seq, audit_chain_heads.c.event_hash)
            .where(audit_chain_heads.c.tenant.in_(tenants))
            .order_by(audit_chain_heads.c.tenant)
        )
        if postgres:
            query = query.with_for_update(skip_locked=skip_locked)
        return {row.tenant: (int(row.seq), str(row.event_hash)) for row in conn.execute(query)}

    async def read_heads(self) -> dict[str, tuple[int, str]]:
        return await self._db.run(read_chain_heads, "audit_read_heads")

    async def find(self, tenant: str, audit_id: str) -> list[dict[str, Any]]:
        """Events of one tenant with this audit id (a stream has one per note plus its own)."""
        query = (
            sa.select(audit_events)
            .where(audit_events.c.tenant == tenant, audit_events.c.audit_id == audit_id)
            .order_by(audit_events.c.seq)
        )
        rows = await self._db.run(lambda conn: conn.execute(query).mappings().all())
        return [{**row, "details": json.loads(row["details"])} for row in rows]

    async def verify(self, tenant: str | None = None, pins: Pins | None = None) -> VerifyReport:
        return await self._db.run(lambda conn: self.verify_sync(conn, tenant, pins))

    def verify_sync(self, conn: sa.Connection, tenant: str | None = None, pins: Pins | None = None) -> VerifyReport:
        """Check every chain link and hash, each head row, and, given the pins of signed
        checkpoints, that each tenant's chain still passes through every pinned head: a tenant
        a checkpoint knows must exist, reach at least its pinned seq, and hash to the same value.
        With pins (even none), unkeyed legacy rows must also lie at or below a pinned seq: the
        first checkpoint after the upgrade covers them, and anyone can compute an unkeyed hash."""
        checkpointed = pins is not None
        pins = pins or {}
        heads_query = sa.select(audit_chain_heads)
        if tenant is not None:
            heads_query = heads_query.where(audit_chain_heads.c.tenant == tenant)
        heads = {row.tenant: row for row in conn.execute(heads_query)}
        tenants_query = sa.select(audit_events.c.tenant).distinct()
        if tenant is not None:
            tenants_query = tenants_query.where(audit_events.c.tenant == tenant)
        pinned = set(pins) if tenant is None else set(pins) & {tenant}
        tenants = sorted(set(heads) | {row[0] for row in conn.execute(tenants_query)} | pinned)
        checked = 0
        for name in tenants:
            problem, count = self._verify_tenant(conn, name, heads.get(name), pins.get(name, {}), checkpointed)
            checked += count
            if problem is not None:
                return VerifyReport(checked, len(tenants), problem)
        return VerifyReport(checked, len(tenants), None)

    @staticmethod
    def _rows(conn: sa.Connection, tenant: str) -> Iterator[sa.RowMapping]:
        query = sa.select(audit_events).where(audit_events.c.tenant == tenant).order_by(audit_events.c.seq)
        yield from conn.execution_options(yield_per=1000).execute(query).mappings()

    def _row_hash(self, row: Mapping[str, Any], prev_hash: str) -> str | None:
        if row["hash_version"] == HASH_V1_SHA256:
            return sha256_event_hash(prev_hash, row["seq"], row)
        key = self._keyring.get(row["key_id"]) if row["hash_version"] == HASH_V2_HMAC else None
        return None if key is None else keyed_event_hash(key, prev_hash, row["seq"], row)

    def _verify_tenant(
        self, conn: sa.Connection, tenant: str, head: Any, pins: Mapping[int, Pin], checkpointed: bool
    ) -> tuple[ChainBreak | None, int]:
        prev_hash, expected_seq, count, last_id, keyed = GENESIS_HASH, 1, 0, "", False
        top_pin = max(pins, default=0)
        for row in self._rows(conn, tenant):
            count += 1
            seq, audit_id = row["seq"], row["audit_id"]
            if seq != expected_seq:
                return ChainBreak(tenant, expected_seq, audit_id, "missing or reordered event"), count
            if row["prev_hash"] != prev_hash:
                return ChainBreak(tenant, seq, audit_id, "previous-hash link broken"), count
            if keyed and row["hash_version"] != HASH_V2_HMAC:
                return ChainBreak(tenant, seq, audit_id, "unkeyed hash after keyed ones (downgrade)"), count
            if checkpointed and row["hash_version"] == HASH_V1_SHA256 and seq > top_pin:
                return ChainBreak(tenant, seq, audit_id, "unkeyed hash not covered by a signed checkpoint"), count
            digest = self._row_hash(dict(row), prev_hash)
            if digest is None:
                why = f"hashed with an unknown key id {row['key_id']!r} (version {row['hash_version']})"
                return ChainBreak(tenant, seq, audit_id, why), count
            if not hmac.compare_digest(digest, row["event_hash"]):
                return ChainBreak(tenant, seq, audit_id, "event content altered"), count
            pin = pins.get(seq)
            if pin is not None and pin.event_hash != digest:
                why = f"differs from signed checkpoint {pin.checkpoint} (chain rewritten)"
                return ChainBreak(tenant, seq, audit_id, why), count
            keyed = keyed or row["hash_version"] == HASH_V2_HMAC
            prev_hash, expected_seq, last_id = digest, expected_seq + 1, audit_id
        last_seq = expected_seq - 1
        if pins:
            top = top_pin
            if top > last_seq:
                pin = pins[top]
                why = f"signed checkpoint {pin.checkpoint} recorded seq {top}, the chain ends at {last_seq}" + (
                    " (tenant deleted)" if last_seq == 0 and head is None else " (events removed)"
                )
                return ChainBreak(tenant, last_seq, last_id, why), count
        if head is None:
            return ChainBreak(tenant, last_seq, last_id, "chain head missing"), count
        if head.seq != last_seq or head.event_hash != prev_hash:
            return ChainBreak(tenant, expected_seq, last_id, "events missing at the end of the chain"), count
        return None, count
