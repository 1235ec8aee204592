"""Review tasks: the human review queue (note text and content encrypted at rest).

Revision ID: 0004_review_tasks
Revises: 0003_keyed_audit_hashes
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_review_tasks"
down_revision = "0003_keyed_audit_hashes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("tenant", sa.String(128), nullable=False),
        sa.Column("note_id", sa.String(128), nullable=False),
        sa.Column("source_audit_id", sa.String(36), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reasons", sa.String(256), nullable=False),
        sa.Column("item_types", sa.String(128), nullable=False),
        sa.Column("items", sa.Text(), nullable=False),
        sa.Column("item_counts", sa.Text(), nullable=False),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("etag", sa.String(32), nullable=False),
        sa.Column("claimed_by", sa.String(256), nullable=False),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note_text", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("decision_counts", sa.Text(), nullable=False),
    )
    # The queue is read per tenant and state, oldest first; the purge by age.
    op.create_index("ix_review_tasks_queue", "review_tasks", ["tenant", "state", "created_at"])
    op.create_index("ix_review_tasks_created", "review_tasks", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_review_tasks_created", table_name="review_tasks")
    op.drop_index("ix_review_tasks_queue", table_name="review_tasks")
    op.drop_table("review_tasks")
