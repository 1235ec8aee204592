"""Keyed audit hashes: each event records its hash version and the id of the HMAC key.

Rows already written keep version 1 (plain SHA-256) and an empty key id, so verify still
checks them as they were written; the server's first signed checkpoint after this upgrade
pins them, since anyone could recompute an unkeyed hash.

Revision ID: 0003_keyed_audit_hashes
Revises: 0002_usage_and_cache
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_keyed_audit_hashes"
down_revision = "0002_usage_and_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("hash_version", sa.SmallInteger(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("key_id", sa.String(32), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("key_id")
        batch.drop_column("hash_version")
