from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from healthai_server.domain.clinical import FhirRequest, NoteContext
from healthai_server.engine import ENGINE_VERSION, ClinicalEngine
from healthai_server.fhir import build_bundle

RECORDED_AT = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)
Bundler = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def engine() -> ClinicalEngine:
    return ClinicalEngine()


@pytest.fixture(scope="session")
def bundle_of(engine: ClinicalEngine) -> Bundler:
    """note -> the bundle as parsed JSON; keyword arguments go to NoteContext / FhirRequest."""

    def make(note: str, *, note_id: str = "note-1", include_refuted: bool = False, **context: str) -> dict[str, Any]:
        request = FhirRequest(
            note_text=note,
            document_id=note_id,
            engine_version=ENGINE_VERSION,
            recorded_at=RECORDED_AT,
            context=NoteContext(**context),
            include_refuted=include_refuted,
        )
        return json.loads(build_bundle(engine.extract(note), request))  # type: ignore[no-any-return]

    return make


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]
