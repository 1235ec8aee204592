"""The result cache: an interface, an in-memory TTL implementation, and a caching backend.

Entries are bytes keyed by (tenant, key), where the key is a SHA-256 fingerprint of the note's
HMAC, the backend, the model, the prompt version and the options: never note text. The SQL
implementation (storage/result_cache.py, AES-GCM at rest) has the same shape.
"""

from healthai_server.cache.base import ResultCache, cache_key
from healthai_server.cache.caching import CachingBackend
from healthai_server.cache.codec import decode_result, encode_result
from healthai_server.cache.memory import MemoryResultCache

__all__ = ["CachingBackend", "MemoryResultCache", "ResultCache", "cache_key", "decode_result", "encode_result"]
