"""Evaluation of backends against golden sets."""
