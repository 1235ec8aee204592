"""Database handle: a synchronous SQLAlchemy engine driven from asyncio through a
small dedicated thread pool, so the event loop never blocks on I/O.

SQLite gets one writer thread, WAL and BEGIN IMMEDIATE (writers serialise up front
instead of failing on lock upgrade); PostgreSQL a few threads and a pool.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from opentelemetry import trace
from sqlalchemy import event, exc

from healthai_server.domain.errors import StorageUnavailable

T = TypeVar("T")
log = logging.getLogger(__name__)
_tracer = trace.get_tracer("healthai.storage")


def create_db_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 10, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # let the begin hook own transactions
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(
        url,
        pool_size=5,
        max_overflow=5,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={"connect_timeout": 5},
    )


class Database:
    """Owns the engine and the I/O threads. `run` is the only way repositories touch it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        self.dialect = self.engine.dialect.name
        workers = 1 if self.dialect == "sqlite" else 4
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="db")

    async def run(self, fn: Callable[[sa.Connection], T], operation: str = "transaction") -> T:
        """Run fn(connection) inside one transaction on a DB thread; commit or roll back whole."""
        loop = asyncio.get_running_loop()
        with _tracer.start_as_current_span(f"db.{operation}", attributes={"db.system": self.dialect}):
            return await loop.run_in_executor(self._executor, functools.partial(self.run_sync, fn))

    def run_sync(self, fn: Callable[[sa.Connection], T]) -> T:
        try:
            with self.engine.begin() as conn:
                return fn(conn)
        except (exc.OperationalError, exc.InterfaceError, exc.TimeoutError) as err:
            # The driver's message can name hosts and users but never request content.
            log.warning("database unavailable", extra={"error_type": type(getattr(err, "orig", None) or err).__name__})
            raise StorageUnavailable("the database is unavailable; nothing was written") from err

    async def ping(self) -> bool:
        try:
            await self.run(lambda conn: conn.execute(sa.text("SELECT 1")).scalar())
        except StorageUnavailable:
            return False
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.engine.dispose()
