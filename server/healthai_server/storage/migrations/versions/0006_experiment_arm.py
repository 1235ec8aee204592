"""Experiments: the arm that answered (and the call's latency) on each usage-ledger row, and
one row per shadow call comparing the candidate's answer with the answer given.

Revision ID: 0006_experiment_arm
Revises: 0005_batch_jobs
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_experiment_arm"
down_revision = "0005_batch_jobs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("usage_ledger") as batch:
        batch.add_column(sa.Column("experiment_arm", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("latency_ms", sa.Float(), nullable=False, server_default="0"))
    op.create_index("ix_usage_ledger_arm_time", "usage_ledger", ["experiment_arm", "occurred_at"])
    op.create_table(
        "shadow_comparisons",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("audit_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("live_arm", sa.String(64), nullable=False),
        sa.Column("live_backend", sa.String(64), nullable=False),
        sa.Column("live_model", sa.String(128), nullable=False),
        sa.Column("live_prompt_version", sa.String(64), nullable=False),
        sa.Column("shadow_arm", sa.String(64), nullable=False),
        sa.Column("shadow_model", sa.String(128), nullable=False),
        sa.Column("shadow_prompt_version", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("phi_egress", sa.String(16), nullable=False),
        sa.Column("live_latency_ms", sa.Float(), nullable=False),
        sa.Column("shadow_latency_ms", sa.Float(), nullable=False),
        sa.Column("shadow_cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("agreement", sa.Text(), nullable=False),
    )
    op.create_index("ix_shadow_comparisons_time", "shadow_comparisons", ["occurred_at"])
    op.create_index("ix_shadow_comparisons_tenant_time", "shadow_comparisons", ["tenant", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_shadow_comparisons_tenant_time", table_name="shadow_comparisons")
    op.drop_index("ix_shadow_comparisons_time", table_name="shadow_comparisons")
    op.drop_table("shadow_comparisons")
    op.drop_index("ix_usage_ledger_arm_time", table_name="usage_ledger")
    with op.batch_alter_table("usage_ledger") as batch:
        batch.drop_column("latency_ms")
        batch.drop_column("experiment_arm")
