"""Contract checks: buf, stubs, the SDK on its own, FHIR conformance."""
