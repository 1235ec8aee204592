"""Authentication (JWT bearer) and role-based authorization."""
