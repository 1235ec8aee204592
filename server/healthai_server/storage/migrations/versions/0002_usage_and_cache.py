"""Usage ledger (LLM tokens and cost per request) and the encrypted result cache.

Revision ID: 0002_usage_and_cache
Revises: 0001_audit_trail
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_usage_and_cache"
down_revision = "0001_audit_trail"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_ledger",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("principal", sa.String(256), nullable=False),
        sa.Column("audit_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("prompt_id", sa.String(128), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_read_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cache_creation_input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_usage_ledger_tenant_time", "usage_ledger", ["tenant", "occurred_at"])
    op.create_table(
        "result_cache",
        sa.Column("tenant", sa.String(128), primary_key=True),
        sa.Column("cache_key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
    )
    op.create_index("ix_result_cache_expires", "result_cache", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_result_cache_expires", table_name="result_cache")
    op.drop_table("result_cache")
    op.drop_index("ix_usage_ledger_tenant_time", table_name="usage_ledger")
    op.drop_table("usage_ledger")
