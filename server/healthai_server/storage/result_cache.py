"""The result cache at rest: payloads encrypted with AES-GCM, bound to tenant and key,
expiring after a TTL. Keys are fingerprints (never note text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from healthai_server.storage.crypto import DecryptionError, FieldEncryptor
from healthai_server.storage.db import Database
from healthai_server.storage.schema import result_cache


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class SqlResultCache:
    def __init__(self, db: Database, encryptor: FieldEncryptor) -> None:
        self._db = db
        self._encryptor = encryptor

    @staticmethod
    def _aad(tenant: str, key: str) -> bytes:
        return f"result_cache|{tenant}|{key}".encode()

    async def get(self, tenant: str, key: str) -> bytes | None:
        query = sa.select(result_cache.c.payload).where(
            result_cache.c.tenant == tenant, result_cache.c.cache_key == key, result_cache.c.expires_at > _now()
        )
        stored = await self._db.run(lambda conn: conn.execute(query).scalar_one_or_none())
        if stored is None:
            return None
        try:
            return self._encryptor.decrypt(stored, self._aad(tenant, key))
        except DecryptionError:
            return None  # a rotated-out key or a tampered row is a miss, never an error

    async def put(self, tenant: str, key: str, payload: bytes, ttl_s: float) -> None:
        values = {
            "tenant": tenant,
            "cache_key": key,
            "expires_at": _now() + timedelta(seconds=ttl_s),
            "payload": self._encryptor.encrypt(payload, self._aad(tenant, key)),
        }
        insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        statement = insert(result_cache).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["tenant", "cache_key"],
            set_={"expires_at": statement.excluded.expires_at, "payload": statement.excluded.payload},
        )
        await self._db.run(lambda conn: conn.execute(statement))

    async def purge_expired(self) -> int:
        statement = sa.delete(result_cache).where(result_cache.c.expires_at <= _now())
        return int(await self._db.run(lambda conn: conn.execute(statement).rowcount))
