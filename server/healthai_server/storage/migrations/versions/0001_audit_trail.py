"""Audit trail: hash-chained events per tenant and the chain heads.

Revision ID: 0001_audit_trail
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_audit_trail"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", sa.String(32), nullable=False),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.Column("method", sa.String(256), nullable=False),
        sa.Column("status_code", sa.String(32), nullable=False),
        sa.Column("note_hmac", sa.String(64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("tenant", "seq", name="uq_audit_events_tenant_seq"),
    )
    op.create_index("ix_audit_events_audit_id", "audit_events", ["audit_id"])
    op.create_table(
        "audit_chain_heads",
        sa.Column("tenant", sa.String(128), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("audit_chain_heads")
    op.drop_index("ix_audit_events_audit_id", table_name="audit_events")
    op.drop_table("audit_events")
