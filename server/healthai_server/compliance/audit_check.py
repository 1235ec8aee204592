"""The report's one door into the audit storage: the repository's public verify API.

The same verification as `healthai-server audit verify` (storage/audit_verify.py): keyed
hash chains pinned to the signed checkpoints kept outside the database.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from healthai_server.compliance.evidence import AuditChainFact
from healthai_server.config import Settings
from healthai_server.domain.errors import StorageUnavailable
from healthai_server.storage.audit_verify import TrailKeys, verify_trail


def verify_audit_chain(settings: Settings) -> AuditChainFact:
    """Verify every tenant's chain and the signed checkpoints now. Never migrates: a report
    must not change the database."""
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        return AuditChainFact(ok=False, error=f"no database at {url.database}: the server has never run here")
    keys = TrailKeys(
        settings.effective_audit_chain_key_file,
        tuple(Path(p) for p in sorted(settings.audit_chain_retired_key_files)),
        (settings.effective_audit_checkpoint_public_key_file,),
    )
    try:
        trail = verify_trail(
            settings.effective_database_url, keys, settings.effective_audit_checkpoint_dir, apply_migrations=False
        )
    except (OSError, ValueError) as exc:
        return AuditChainFact(ok=False, error=f"cannot load the audit keys ({type(exc).__name__})")
    except (StorageUnavailable, sa_exc.SQLAlchemyError) as exc:
        cause = exc.__cause__ or exc
        return AuditChainFact(ok=False, error=f"cannot read the audit trail ({type(cause).__name__})")
    report, latest = trail.chain, trail.checkpoints.latest
    broken = report.first_break
    return AuditChainFact(
        ok=report.ok,
        events_checked=report.events_checked,
        tenants_checked=report.tenants_checked,
        first_break=None
        if broken is None
        else f"tenant {broken.tenant} event #{broken.seq} (audit id {broken.audit_id or '-'}): {broken.problem}",
        checkpoints_checked=len(trail.checkpoints.checkpoints),
        latest_checkpoint=None if latest is None else f"#{latest.number} at {latest.created_at}",
    )
