"""A caching wrapper for any ExtractionBackend (usually the resilient chain).

A hit costs nothing: Provenance.cache_hit is set, token usage cleared, cost 0. Only answers of
the preferred backend that are not degraded are stored, so a fallback answer never hides the
LLM's once it is back. Keys never contain note text (see cache_key).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from healthai_server.backends.base import BackendRequest, BackendResult, ExtractionBackend
from healthai_server.cache.base import ResultCache, cache_key
from healthai_server.cache.codec import UndecodablePayload, decode_result, encode_result


class CacheObserver(Protocol):
    def on_cache(self, hit: bool) -> None: ...


class _NoCacheObserver:
    def on_cache(self, hit: bool) -> None:
        return None


class CachingBackend:
    def __init__(
        self,
        inner: ExtractionBackend,
        cache: ResultCache,
        *,
        fingerprint: Callable[[str], str],
        model: str,
        prompt_version: str,
        ttl_s: float = 24 * 3600.0,
        observer: CacheObserver | None = None,
    ) -> None:
        """`fingerprint` is the keyed note HMAC (pipeline.hashing.NoteHasher.fingerprint); `model` and
        `prompt_version` are the preferred backend's, so a new prompt or model starts a fresh cache."""
        self._inner = inner
        self._cache = cache
        self._fingerprint = fingerprint
        self._model = model
        self._prompt_version = prompt_version
        self._ttl_s = ttl_s
        self._observer: CacheObserver = observer or _NoCacheObserver()

    @property
    def name(self) -> str:
        return self._inner.name

    def key_for(self, request: BackendRequest) -> str:
        return cache_key(
            self._fingerprint(request.text), self._inner.name, self._model, self._prompt_version, request.options
        )

    async def extract(self, request: BackendRequest) -> BackendResult:
        started = time.perf_counter()
        key = self.key_for(request)
        payload = await self._cache.get(request.tenant, key)
        if payload is not None:
            try:
                cached = decode_result(payload)
            except UndecodablePayload:
                cached = None
            if cached is not None:
                self._observer.on_cache(True)
                provenance = replace(
                    cached.provenance,
                    cache_hit=True,
                    token_usage=None,
                    cost_micros=0,
                    latency_s=time.perf_counter() - started,
                )
                return replace(cached, provenance=provenance)
        self._observer.on_cache(False)
        result = await self._inner.extract(request)
        if not result.provenance.degraded and result.provenance.backend == self._inner.name:
            await self._cache.put(request.tenant, key, encode_result(result), self._ttl_s)
        return result

    async def close(self) -> None:
        await self._inner.close()
