"""Tables of batch jobs (SQLAlchemy Core), kept beside schema.py on the same metadata.

A job's notes are work items: claimed with a lease (a crashed consumer's items are claimed
again once the lease expires), retried with backoff, dead-lettered after the configured
attempts. The note text (`payload`) and the result are encrypted at rest; the text is
erased when the note is done. Every row carries its tenant.
"""

from __future__ import annotations

import sqlalchemy as sa

from healthai_server.storage.schema import metadata

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

batch_jobs = sa.Table(
    "batch_jobs",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),  # batch-<uuid>
    sa.Column("tenant", sa.String(128), nullable=False),
    sa.Column("principal", sa.String(256), nullable=False),
    sa.Column("display_name", sa.String(200), nullable=False),
    # STAGING (notes arriving), QUEUED, RUNNING, SUCCEEDED, CANCELLED
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("total_notes", sa.Integer(), nullable=False),
    sa.Column("max_attempts", sa.Integer(), nullable=False),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("started_at", sa.DateTime(), nullable=True),
    sa.Column("ended_at", sa.DateTime(), nullable=True),
    sa.Column("expires_at", sa.DateTime(), nullable=False),
)

batch_items = sa.Table(
    "batch_items",
    metadata,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("job", sa.String(64), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("tenant", sa.String(128), nullable=False),
    sa.Column("note_id", sa.String(128), nullable=False),
    # staged, queued, running, retry, succeeded, dead, cancelled
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("available_at", sa.DateTime(), nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
    sa.Column("payload", sa.Text(), nullable=True),  # FieldEncryptor output; NULL once done
    sa.Column("result", sa.Text(), nullable=True),  # FieldEncryptor output of the encoded result
    sa.Column("error_code", sa.Integer(), nullable=True),
    sa.Column("error_reason", sa.String(64), nullable=True),
    sa.Column("error_message", sa.String(512), nullable=True),
    sa.Column("finished_at", sa.DateTime(), nullable=True),
    sa.UniqueConstraint("job", "seq", name="uq_batch_items_job_seq"),
    sa.UniqueConstraint("job", "note_id", name="uq_batch_items_job_note"),
)
sa.Index("ix_batch_jobs_tenant_created", batch_jobs.c.tenant, batch_jobs.c.created_at)
sa.Index("ix_batch_items_claim", batch_items.c.state, batch_items.c.available_at)
sa.Index("ix_batch_items_job_state", batch_items.c.job, batch_items.c.state)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant", sa.String(128), primary_key=True),
    sa.Column("method", sa.String(128), primary_key=True),
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),  # SHA-256 of the request, never its text
    sa.Column("response", sa.Text(), nullable=False),  # what the first call answered (ids and counts only)
    sa.Column("expires_at", sa.DateTime(), nullable=False),
)
sa.Index("ix_idempotency_keys_expires", idempotency_keys.c.expires_at)
