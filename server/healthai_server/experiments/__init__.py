"""A/B experiments and shadow mode: arms, keyed assignment, the off-path shadow runner,
agreement between two answers, and the per-arm report."""
