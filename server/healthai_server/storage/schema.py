"""Table definitions (SQLAlchemy Core). Migrations in migrations/versions create them;
this module is what the repositories query. Every row carries its tenant."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(128), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("audit_id", sa.String(36), nullable=False),
    sa.Column("occurred_at", sa.String(32), nullable=False),  # RFC 3339 UTC, hashed as written
    sa.Column("principal", sa.String(256), nullable=False),
    sa.Column("method", sa.String(256), nullable=False),
    sa.Column("status_code", sa.String(32), nullable=False),
    sa.Column("note_hmac", sa.String(64), nullable=False),  # keyed hash of the note, never the text
    sa.Column("details", sa.Text(), nullable=False),  # canonical JSON: counts, backend, latency, ...
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("event_hash", sa.String(64), nullable=False),
    # 1: plain SHA-256 (rows from before keyed hashes); 2: HMAC-SHA256 under the key `key_id`.
    sa.Column("hash_version", sa.SmallInteger(), nullable=False, server_default="1"),
    sa.Column("key_id", sa.String(32), nullable=False, server_default=""),
    sa.UniqueConstraint("tenant", "seq", name="uq_audit_events_tenant_seq"),
)

audit_chain_heads = sa.Table(
    "audit_chain_heads",
    metadata,
    sa.Column("tenant", sa.String(128), primary_key=True),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("event_hash", sa.String(64), nullable=False),
)

usage_ledger = sa.Table(
    "usage_ledger",
    metadata,
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
    # The experiment arm that answered ("" outside experiments) and the service's time on the call.
    sa.Column("experiment_arm", sa.String(64), nullable=False, server_default=""),
    sa.Column("latency_ms", sa.Float(), nullable=False, server_default="0"),
)

# One row per shadow call: the candidate's answer compared with the answer given. Counts and
# timings only; neither answer nor the note's text is kept.
shadow_comparisons = sa.Table(
    "shadow_comparisons",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("tenant", sa.String(128), nullable=False),
    sa.Column("audit_id", sa.String(36), nullable=False),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("live_arm", sa.String(64), nullable=False),  # "" when the live answer was outside any arm
    sa.Column("live_backend", sa.String(64), nullable=False),
    sa.Column("live_model", sa.String(128), nullable=False),
    sa.Column("live_prompt_version", sa.String(64), nullable=False),
    sa.Column("shadow_arm", sa.String(64), nullable=False),
    sa.Column("shadow_model", sa.String(128), nullable=False),
    sa.Column("shadow_prompt_version", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),  # "ok" or the failure label
    sa.Column("phi_egress", sa.String(16), nullable=False),  # how the note left for the shadow call
    sa.Column("live_latency_ms", sa.Float(), nullable=False),
    sa.Column("shadow_latency_ms", sa.Float(), nullable=False),
    sa.Column("shadow_cost_micros", sa.BigInteger(), nullable=False),
    sa.Column("agreement", sa.Text(), nullable=False),  # JSON {item type: [tp, fp, fn]}
)

result_cache = sa.Table(
    "result_cache",
    metadata,
    sa.Column("tenant", sa.String(128), primary_key=True),
    sa.Column("cache_key", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("payload", sa.Text(), nullable=False),  # FieldEncryptor output: key_id:nonce:ciphertext
)

review_tasks = sa.Table(
    "review_tasks",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("tenant", sa.String(128), nullable=False),
    sa.Column("note_id", sa.String(128), nullable=False),
    sa.Column("source_audit_id", sa.String(36), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    # Comma-framed names (",low_confidence,degraded,") so one LIKE filters by one value.
    sa.Column("reasons", sa.String(256), nullable=False),
    sa.Column("item_types", sa.String(128), nullable=False),
    sa.Column("items", sa.Text(), nullable=False),  # JSON: type, index, reasons, confidence (no PHI)
    sa.Column("item_counts", sa.Text(), nullable=False),  # JSON: items per type (no PHI)
    sa.Column("backend", sa.String(64), nullable=False),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("prompt_version", sa.String(64), nullable=False),
    sa.Column("etag", sa.String(32), nullable=False),
    sa.Column("claimed_by", sa.String(256), nullable=False),
    sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    # AES-GCM (storage/crypto.py), bound to tenant, task and column. note_text is cleared when
    # the retention period ends; content (extracted data and decisions) stays as evaluation data.
    sa.Column("note_text", sa.Text(), nullable=True),
    sa.Column("content", sa.Text(), nullable=False),
    # JSON counts of decisions per type and kind (no PHI): override rates without decrypting.
    sa.Column("decision_counts", sa.Text(), nullable=False),
)
