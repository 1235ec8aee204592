from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.server import ServerProcess, running_server


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server for the suite: SQLite, local engine, auth on, a 20,000-character note limit."""
    with running_server(tmp_path_factory.mktemp("state"), max_note_chars="20000") as process:
        yield process
