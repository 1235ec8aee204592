"""Storage: one layer, two engines (SQLite default, PostgreSQL production)."""
