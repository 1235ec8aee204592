from __future__ import annotations

import pytest
from healthai_server.engine import ClinicalEngine


@pytest.fixture(scope="session")
def engine() -> ClinicalEngine:
    return ClinicalEngine()
