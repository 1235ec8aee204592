"""One verification of the audit trail, used by `audit verify` and the compliance report:
signed checkpoints first (signatures, numbering, previous digests, heads never going back),
then every tenant's keyed hash chain, pinned to the heads the checkpoints recorded."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from healthai_server.storage import migrate
from healthai_server.storage.audit import AuditRepository, ChainBreak, VerifyReport
from healthai_server.storage.audit_checkpoints import CheckpointReport, CheckpointStore, verify_checkpoints
from healthai_server.storage.audit_keys import ChainKeyring, load_public_key, signing_key_id
from healthai_server.storage.db import Database


@dataclass(frozen=True)
class TrailKeys:
    chain_key_file: Path
    retired_chain_key_files: tuple[Path, ...]
    checkpoint_public_key_files: tuple[Path, ...]


@dataclass(frozen=True)
class TrailReport:
    chain: VerifyReport
    checkpoints: CheckpointReport


def verify_trail(
    database_url: str,
    keys: TrailKeys,
    checkpoint_dir: Path,
    *,
    tenant: str | None = None,
    chain_only: bool = False,
    apply_migrations: bool = True,
) -> TrailReport:
    """Raises OSError/ValueError when a key cannot be loaded; database errors propagate."""
    keyring = ChainKeyring.from_files(keys.chain_key_file, list(keys.retired_chain_key_files))
    public_keys = {signing_key_id(key): key for key in (load_public_key(p) for p in keys.checkpoint_public_key_files)}
    checkpoints = CheckpointReport() if chain_only else verify_checkpoints(CheckpointStore(checkpoint_dir), public_keys)
    db = Database(database_url)
    try:
        if apply_migrations:
            migrate.upgrade(db.engine)
        pins = None if chain_only else checkpoints.pins
        report = db.run_sync(lambda conn: AuditRepository(db, keyring).verify_sync(conn, tenant, pins))
    finally:
        db.close()
    if checkpoints.problem is not None:
        report = VerifyReport(
            report.events_checked, report.tenants_checked, ChainBreak("-", 0, "", checkpoints.problem)
        )
    elif not chain_only and checkpoints.latest is None and report.events_checked:
        # Without a signed head nothing shows a dropped tail or a deleted tenant.
        why = f"no signed checkpoint in {checkpoint_dir} to verify the chain ends against"
        report = VerifyReport(report.events_checked, report.tenants_checked, ChainBreak("-", 0, "", why))
    return TrailReport(report, checkpoints)
