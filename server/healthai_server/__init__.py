"""HealthAI clinical-note service."""

__version__ = "0.1.0"
