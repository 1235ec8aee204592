"""LLM cost: token prices to exact micro-dollars, and per-tenant budgets."""
