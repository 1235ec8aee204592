"""Shared fixtures: real databases (SQLite file and a fresh PostgreSQL database per session)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

POSTGRES_ADMIN_URL = os.environ.get(
    "HEALTHAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_unavailable_reason() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except sa.exc.OperationalError as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {type(exc.orig).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session, dropped afterwards.

    Under CI the PostgreSQL tests must fail, not skip, when the server is down; locally
    HEALTHAI_TEST_POSTGRES=skip allows skipping them explicitly.
    """
    reason = _postgres_unavailable_reason()
    if reason is not None:
        if os.environ.get("HEALTHAI_TEST_POSTGRES") == "skip" and not os.environ.get("CI"):
            pytest.skip(reason)
        pytest.fail(reason)
    name = f"healthai_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Each storage test runs on both engines; PostgreSQL gets a clean schema per test."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db')}/healthai.db"
    url: str = request.getfixturevalue("postgres_url")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url
