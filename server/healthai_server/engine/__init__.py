"""The local clinical NLP engine (rules and lexicons as data; no network, no model download).

engine = ClinicalEngine()                  # loads rules once (about 50 ms)
data = engine.extract(text, options)       # pure, thread-safe
"""

from __future__ import annotations

from healthai_server.engine.core import ClinicalEngine

ENGINE_VERSION = "local-rules-1.0.0"

__all__ = ["ENGINE_VERSION", "ClinicalEngine"]
