from __future__ import annotations

import pytest
from healthai_server.phi import Deidentifier

KEY = b"unit-test-key-0123456789abcdef!!"


@pytest.fixture(scope="session")
def deid() -> Deidentifier:
    return Deidentifier(secret_key=KEY)


@pytest.fixture(scope="session")
def deid_orgs() -> Deidentifier:
    return Deidentifier(secret_key=KEY, include_organizations=True)
