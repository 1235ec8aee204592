"""The human review queue: routing answers to reviewers, and what reviewers decide."""
