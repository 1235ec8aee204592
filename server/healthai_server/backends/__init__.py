"""Backends: one async interface, several implementations, and the resilience wrapper."""
