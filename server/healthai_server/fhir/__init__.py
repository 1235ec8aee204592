"""FHIR R4 mapping of extracted clinical data (built and validated with fhir.resources R4B models)."""

from __future__ import annotations

from healthai_server.fhir.bundle import FhirValueSetError, build_bundle, build_bundle_resource

__all__ = ["FhirValueSetError", "build_bundle", "build_bundle_resource"]
