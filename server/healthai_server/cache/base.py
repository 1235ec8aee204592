"""The ResultCache protocol and its key."""

from __future__ import annotations

import hashlib
import json
from typing import Protocol

from healthai_server.domain.clinical import ExtractionOptions


class ResultCache(Protocol):
    async def get(self, tenant: str, key: str) -> bytes | None: ...

    async def put(self, tenant: str, key: str, payload: bytes, ttl_s: float) -> None: ...


def cache_key(note_hmac: str, backend: str, model: str, prompt_version: str, options: ExtractionOptions) -> str:
    """SHA-256 (hex) over what determines a result; the note enters only as its keyed HMAC."""
    canonical = json.dumps(
        {
            "note": note_hmac,
            "backend": backend,
            "model": model,
            "prompt": prompt_version,
            "entity_types": sorted(kind.value for kind in options.entity_types),
            "include_fhir": options.include_fhir,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
