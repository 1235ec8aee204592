"""Per-request stages between the servicer and the backends."""
