"""The report's one door into the audit storage: the repository's public verify API.

Kept to this single function so a change of the audit storage (keyed hashes, signed
checkpoints) only has to keep `AuditRepository.verify_sync` and `VerifyReport` working here.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from healthai_server.compliance.evidence import AuditChainFact
from healthai_server.domain.errors import StorageUnavailable
from healthai_server.storage.audit import AuditRepository
from healthai_server.storage.db import Database


def verify_audit_chain(database_url: str) -> AuditChainFact:
    """Verify every tenant's chain now. Never migrates: a report must not change the database."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return AuditChainFact(ok=False, error=f"no database at {url.database}: the server has never run here")
    db = Database(database_url)
    try:
        report = db.run_sync(lambda conn: AuditRepository(db).verify_sync(conn, None))
    except (StorageUnavailable, sa_exc.SQLAlchemyError) as exc:
        cause = exc.__cause__ or exc
        return AuditChainFact(ok=False, error=f"cannot read the audit trail ({type(cause).__name__})")
    finally:
        db.close()
    broken = report.first_break
    return AuditChainFact(
        ok=report.ok,
        events_checked=report.events_checked,
        tenants_checked=report.tenants_checked,
        first_break=None
        if broken is None
        else f"tenant {broken.tenant} event #{broken.seq} (audit id {broken.audit_id or '-'}): {broken.problem}",
    )
